//! `mlprobe predict`: class, probabilities and logits for every row of a CSV file.

use crate::commands::{Outcome, emit};
use crate::error::Result;
use crate::predict::{PredictOptions, PredictReport, predict};
use std::path::PathBuf;

/// Predict every row of a CSV file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "A label column, if present, is ignored. A row with an infinite feature (`inf`, \
        `1e400`), one that overflows when standardised (`3.4e38`) or non-finite logits has no \
        prediction: it is flagged (`finite` in the JSON), counted (`nonfinite_rows`) and named \
        on stderr, and the exit code is 1 unless --allow-nonfinite is given.\n\nExample:\n  mlprobe predict --model wine.mlpb --data data/wine.csv --json"
)]
pub struct Args {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// CSV file with a header row and the model's feature columns in training order.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Name of a label column to leave out of the features, if the file has one.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Print one JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 even when rows have non-finite features or logits (they are still flagged,
    /// counted and named on stderr).
    #[arg(long)]
    pub allow_nonfinite: bool,
}

/// Runs `mlprobe predict`.
pub fn run(args: Args) -> Result<Outcome> {
    let data = args.data.clone();
    let report = predict(&PredictOptions {
        model: args.model,
        data: args.data,
        label: args.label,
    })?;
    let outcome = emit(
        args.json,
        &report,
        PredictReport::human,
        report.nonfinite_rows == 0 || args.allow_nonfinite,
    )?;
    if let Some(m) = report.nonfinite_message(&data) {
        let advice = if args.allow_nonfinite {
            ""
        } else {
            " (--allow-nonfinite to exit 0 anyway)"
        };
        crate::output::eprintln(&format!("mlprobe: {m}{advice}"));
    }
    Ok(outcome)
}
