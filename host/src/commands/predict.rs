//! `mlprobe predict`: class, probabilities and logits for every row of a CSV file.

use crate::commands::{Outcome, emit};
use crate::error::Result;
use crate::predict::{PredictOptions, PredictReport, predict};
use std::path::PathBuf;

/// Predict every row of a CSV file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "A label column, if present, is ignored.\n\nExample:\n  mlprobe predict --model wine.mlpb --data data/wine.csv --json"
)]
pub struct Args {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// CSV file with a header row and the model's feature columns in training order.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Name of a label column to leave out of the features, if the file has one.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Print one JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe predict`.
pub fn run(args: Args) -> Result<Outcome> {
    let report = predict(&PredictOptions {
        model: args.model,
        data: args.data,
        label: args.label,
    })?;
    emit(args.json, &report, PredictReport::human, true)
}
