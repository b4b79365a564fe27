//! Predictions: the library behind `mlprobe predict`. Class, probabilities and logits of every
//! row of a CSV file, through core's [`Model::infer`](mlprobe_core::mlp::Model), `softmax` and
//! `argmax`.
//!
//! ```no_run
//! use mlprobe::predict::{PredictOptions, predict};
//! let report = predict(&PredictOptions::new("wine.mlpb", "data/wine.csv"))?;
//! assert_eq!(report.predictions.len(), report.logits.len());
//! # Ok::<(), mlprobe::error::Error>(())
//! ```

use crate::data::{self, Labels};
use crate::error::{Error, Result};
use crate::model_io::{self, check_fit};
use mlprobe_core::mlp::{argmax, softmax};
use serde::Serialize;
use std::path::PathBuf;

/// What to predict.
#[derive(Clone, Debug)]
pub struct PredictOptions {
    /// The model file.
    pub model: PathBuf,
    /// CSV file with a header row and the model's feature columns in training order.
    pub data: PathBuf,
    /// A label column to leave out of the features, if the file has one (`label`).
    pub label: String,
}

impl PredictOptions {
    /// `model` on `data`, a column `label` left out if present.
    pub fn new(model: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        Self {
            model: model.into(),
            data: data.into(),
            label: "label".into(),
        }
    }
}

/// The `predict` JSON document (DESIGN.md).
#[derive(Clone, Debug, Default, Serialize)]
pub struct PredictReport {
    /// Predicted class of each row.
    pub predictions: Vec<usize>,
    /// Softmax probabilities of each row.
    pub probabilities: Vec<Vec<f32>>,
    /// Raw logits of each row (f32, exact: they parse back to the same bits).
    pub logits: Vec<Vec<f32>>,
    /// The file line of each row.
    #[serde(skip)]
    pub lines: Vec<u64>,
}

impl PredictReport {
    /// A table for people: row, file line, prediction and its probability.
    pub fn human(&self) -> String {
        let mut s = String::from("row  line  prediction  probability\n");
        for (i, (&c, p)) in self.predictions.iter().zip(&self.probabilities).enumerate() {
            let line = self.lines.get(i).copied().unwrap_or_default();
            s += &format!("{:<4} {:<5} {:<11} {:.4}\n", i, line, c, p[c]);
        }
        s
    }
}

/// Predicts every row of the file.
pub fn predict(opts: &PredictOptions) -> Result<PredictReport> {
    let model = model_io::load(&opts.model)?;
    let mut data = data::load(&opts.data, Labels::Ignored(&opts.label))?;
    data.labels = None;
    check_fit(&model, &data)?;
    let d = model.dims();
    let mut scratch = vec![0.0f32; d.scratch_len()];
    let mut out = PredictReport {
        lines: data.lines.clone(),
        ..PredictReport::default()
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
    Ok(out)
}
