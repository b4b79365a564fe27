//! `mlprobe predict`: class, probabilities and logits for every row of a CSV file.

use crate::commands::Outcome;
use crate::data::{self, Labels};
use crate::error::{Error, Result};
use crate::model_io;
use crate::model_io::check_fit;
use crate::output;
use mlprobe_core::mlp::{argmax, softmax};
use serde::Serialize;
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

/// The `predict` JSON document (DESIGN.md).
#[derive(Debug, Serialize)]
pub struct Predictions {
    /// Predicted class of each row.
    pub predictions: Vec<usize>,
    /// Softmax probabilities of each row.
    pub probabilities: Vec<Vec<f32>>,
    /// Raw logits of each row (f32, exact: they parse back to the same bits).
    pub logits: Vec<Vec<f32>>,
}

/// Runs `mlprobe predict`.
pub fn run(args: Args) -> Result<Outcome> {
    let model = model_io::load(&args.model)?;
    let mut data = data::load(&args.data, Labels::Optional(&args.label))?;
    data.labels = None;
    check_fit(&model, &data)?;
    let d = model.dims();
    let mut scratch = vec![0.0f32; d.scratch_len()];
    let mut out = Predictions {
        predictions: Vec::new(),
        probabilities: Vec::new(),
        logits: Vec::new(),
    };
    for i in 0..data.rows() {
        let logits = model
            .infer(data.row(i), &mut scratch)
            .map_err(|e| Error::Internal(format!("inference: {e}")))?;
        let mut p = vec![0.0f32; d.outputs];
        softmax(logits, &mut p);
        out.predictions.push(argmax(logits));
        out.logits.push(logits.to_vec());
        out.probabilities.push(p);
    }
    if args.json {
        output::print_json(&out)?;
    } else {
        let mut s = String::from("row  line  prediction  probability\n");
        for (i, (&c, p)) in out.predictions.iter().zip(&out.probabilities).enumerate() {
            s += &format!("{:<4} {:<5} {:<11} {:.4}\n", i, data.lines[i], c, p[c]);
        }
        output::print(&s)?;
    }
    Ok(Outcome::Pass)
}
