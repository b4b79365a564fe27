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

use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::model_io::{self, HostModel};
use mlprobe_core::mlp::{NonFinite, argmax, softmax};
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
    /// Predicted class of each row (meaningless where `finite` is false: class 0 when the
    /// logits are `NaN`).
    pub predictions: Vec<usize>,
    /// Softmax probabilities of each row (`null` where they are not numbers).
    pub probabilities: Vec<Vec<f32>>,
    /// Raw logits of each row (f32, exact: they parse back to the same bits).
    pub logits: Vec<Vec<f32>>,
    /// Per row: false when a feature is infinite (or overflows when standardised) or a logit
    /// is not finite, so its prediction is not one (core's `Model::infer_checked`).
    pub finite: Vec<bool>,
    /// Rows whose `finite` is false.
    pub nonfinite_rows: usize,
    /// The file line of each row.
    #[serde(skip)]
    pub lines: Vec<u64>,
    /// Why each non-finite row is one, by row index.
    #[serde(skip)]
    pub nonfinite: Vec<(usize, String)>,
}

impl PredictReport {
    /// A table for people: row, file line, prediction and its probability (the reason
    /// instead, for a row with non-finite features or logits).
    pub fn human(&self) -> String {
        let mut s = String::from("row  line  prediction  probability\n");
        let mut reasons = self.nonfinite.iter().peekable();
        for (i, (&c, p)) in self.predictions.iter().zip(&self.probabilities).enumerate() {
            let line = self.lines.get(i).copied().unwrap_or_default();
            match reasons.next_if(|(r, _)| *r == i) {
                Some((_, why)) => s += &format!("{i:<4} {line:<5} -           non-finite: {why}\n"),
                None => s += &format!("{:<4} {:<5} {:<11} {:.4}\n", i, line, c, p[c]),
            }
        }
        s
    }

    /// The sentence for stderr when rows are non-finite: how many, and the first few lines
    /// with their reasons. `None` when every row is finite.
    pub fn nonfinite_message(&self, path: &std::path::Path) -> Option<String> {
        nonfinite_message(path, self.predictions.len(), &self.nonfinite, &self.lines)
    }
}

/// `N of M rows of PATH have non-finite features or logits (line L: why; …)`, the first three.
pub fn nonfinite_message(
    path: &std::path::Path,
    rows: usize,
    nonfinite: &[(usize, String)],
    lines: &[u64],
) -> Option<String> {
    if nonfinite.is_empty() {
        return None;
    }
    let first: Vec<String> = nonfinite
        .iter()
        .take(3)
        .map(|(r, why)| format!("line {}: {why}", lines.get(*r).copied().unwrap_or_default()))
        .collect();
    Some(format!(
        "{} of {rows} rows of {} have non-finite features or logits, so no prediction ({}{})",
        nonfinite.len(),
        path.display(),
        first.join("; "),
        if nonfinite.len() > 3 { "; …" } else { "" }
    ))
}

/// Why a row is non-finite, for people: the feature by name.
pub fn describe(why: NonFinite, names: &[String]) -> String {
    match why {
        NonFinite::Feature { feature } => {
            let name = names.get(feature).map_or("?", String::as_str);
            let name = match name.char_indices().nth(64) {
                Some((at, _)) => format!("{}…", &name[..at]),
                None => name.to_string(),
            };
            format!("feature `{name}` is infinite or overflows when standardised")
        }
        other => other.to_string(),
    }
}

/// Predicts every row of the file. A row with a non-finite feature or logit is flagged
/// (`finite`, `nonfinite_rows`), not an error: the command decides the exit code.
pub fn predict(opts: &PredictOptions) -> Result<PredictReport> {
    let model = model_io::load(&opts.model)?;
    let mut data = data::load(&opts.data, Labels::Ignored(&opts.label))?;
    data.labels = None;
    predict_rows(&model, model_io::bind(&model, data)?)
}

/// Predicts every row of `data`, which fits the model ([`model_io::bind`]): what [`predict`]
/// does once the file is read.
pub fn predict_rows(model: &HostModel, data: Dataset) -> Result<PredictReport> {
    let d = model.dims();
    let mut scratch = vec![0.0f32; d.scratch_len()];
    let mut out = PredictReport {
        lines: data.lines.clone(),
        ..PredictReport::default()
    };
    for i in 0..data.rows() {
        let (logits, bad) = model
            .infer_checked(data.row(i), &mut scratch)
            .map_err(|e| Error::Internal(format!("inference: {e}")))?;
        let mut p = vec![0.0f32; d.outputs()];
        softmax(logits, &mut p);
        out.predictions.push(argmax(logits));
        out.logits.push(logits.to_vec());
        out.probabilities.push(p);
        out.finite.push(bad.is_none());
        if let Some(why) = bad {
            out.nonfinite.push((i, describe(why, &data.feature_names)));
        }
    }
    out.nonfinite_rows = out.nonfinite.len();
    Ok(out)
}
