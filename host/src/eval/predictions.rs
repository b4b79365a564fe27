//! Any model's predictions (`mlprobe eval --predictions FILE.csv`): a CSV file of what some
//! other classifier (scikit-learn, XGBoost, TFLite, …) predicted, gated like a model of ours.
//!
//! The file has a header row, a label column (`label`, or the name given), a `prediction`
//! column and optionally one probability column per class, `p_0`, `p_1`, … `p_{K-1}`. Labels
//! and predictions are class numbers `0 ≤ k < 64`, as for a model (the label column is read by
//! [`crate::data`], the same rule). Every other column is read as numbers and can be sliced on
//! (`--slice 'alcohol > 13'`); so can `prediction` and the `p_k` columns.
//!
//! The number of classes `K` is the number of `p_` columns when there are any (every label and
//! prediction must then be below it), else the largest label or prediction + 1. Each
//! probability must be in `[0, 1]` and each row's must sum to 1 within
//! [`PROBABILITY_SUM_TOLERANCE`]. Probabilities are checked, not scored: `eval` reports no
//! log loss or ROC AUC (for a model neither).
//!
//! No model runs here, so there is no latency and no memory: the report has `null` for them,
//! and a limit on them is skipped with the reason ([`GateReport::skipped`](super::GateReport)).
//!
//! ```no_run
//! use mlprobe::eval::Predictions;
//! let p = Predictions::load("preds.csv".as_ref(), "label")?;
//! println!("{} rows, {} classes", p.labels.len(), p.classes);
//! # Ok::<(), mlprobe::error::Error>(())
//! ```

use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use mlprobe_core::metrics::ConfusionMatrix;
use mlprobe_core::mlp::MAX_CLASSES;
use std::path::Path;

/// Name of the column of predicted classes.
pub const PREDICTION_COLUMN: &str = "prediction";

/// Prefix of the probability columns: `p_0`, `p_1`, …
pub const PROBABILITY_PREFIX: &str = "p_";

/// How far a row's probabilities may sum from 1: loose enough for values written with 4
/// decimals over many classes, tight enough to catch logits or scores given as probabilities.
pub const PROBABILITY_SUM_TOLERANCE: f64 = 0.01;

/// A predictions file, checked.
#[derive(Clone, Debug)]
pub struct Predictions {
    /// Every column but the label (as numbers, for slices), with the labels and the lines.
    pub data: Dataset,
    /// The true class of each row.
    pub labels: Vec<u8>,
    /// The predicted class of each row.
    pub predicted: Vec<u8>,
    /// Number of classes `K`.
    pub classes: usize,
    /// Whether the file has probability columns (checked, not scored).
    pub has_probabilities: bool,
}

impl Predictions {
    /// Reads and checks a predictions file; `label` names the label column.
    pub fn load(path: &Path, label: &str) -> Result<Self> {
        Self::check(data::load(path, Labels::Required(label))?)
    }

    /// Parses predictions from CSV text; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str, label: &str) -> Result<Self> {
        Self::check(data::parse(path, text, Labels::Required(label))?)
    }

    fn check(data: Dataset) -> Result<Self> {
        let labels = data.labels.clone().unwrap_or_default();
        // The 1-based file column of feature column `j` (the label column is left out of them).
        let file_column = |j: usize| match data.label_column {
            Some(l) if j + 1 >= l => j + 2,
            _ => j + 1,
        };
        let at = |row: usize, j: usize, message: String| Error::Parse {
            path: data.path.clone(),
            line: data.lines[row],
            column: file_column(j),
            message,
        };
        let header_err = |message: String| Error::Parse {
            path: data.path.clone(),
            line: 1,
            column: 1,
            message,
        };
        let Some(pred_col) = data
            .feature_names
            .iter()
            .position(|n| n == PREDICTION_COLUMN)
        else {
            return Err(header_err(format!(
                "no `{PREDICTION_COLUMN}` column (the predicted class of each row); the columns \
                 are: {}",
                crate::limits::excerpt_list(&data.header())
            )));
        };

        // p_0 … p_{K-1}, each once, none missing.
        let mut probs: Vec<(usize, usize)> = Vec::new(); // (class, feature column)
        for (j, name) in data.feature_names.iter().enumerate() {
            let Some(k) = name.strip_prefix(PROBABILITY_PREFIX) else {
                continue;
            };
            let class = k
                .parse::<usize>()
                .ok()
                .filter(|&c| c < MAX_CLASSES && k == c.to_string());
            let Some(class) = class else {
                return Err(Error::Parse {
                    path: data.path.clone(),
                    line: 1,
                    column: file_column(j),
                    message: format!(
                        "column `{}`: a probability column is `p_K` with a class number \
                         0 ≤ K < {MAX_CLASSES} (rename a column that is not one)",
                        crate::limits::excerpt(name)
                    ),
                });
            };
            probs.push((class, j));
        }
        probs.sort_unstable();
        for (want, &(class, j)) in probs.iter().enumerate() {
            if class != want {
                let message = if class < want {
                    format!("column `p_{class}` appears twice")
                } else {
                    format!(
                        "probability columns must be p_0 … p_{}: `p_{want}` is missing",
                        probs.len() - 1
                    )
                };
                return Err(Error::Parse {
                    path: data.path.clone(),
                    line: 1,
                    column: file_column(j),
                    message,
                });
            }
        }

        let mut predicted = Vec::with_capacity(data.rows());
        for i in 0..data.rows() {
            let v = data.row(i)[pred_col];
            let class = (v.is_finite() && v.fract() == 0.0 && v >= 0.0 && v < MAX_CLASSES as f32)
                .then_some(v as u8)
                .ok_or_else(|| {
                    let shown = if v.is_nan() {
                        "a missing value".to_string()
                    } else {
                        format!("`{v}`")
                    };
                    at(
                        i,
                        pred_col,
                        format!(
                            "`{PREDICTION_COLUMN}` is {shown}: a prediction is a class number \
                             0 ≤ k < {MAX_CLASSES}, as the labels are"
                        ),
                    )
                })?;
            predicted.push(class);
        }

        let classes = if probs.is_empty() {
            labels
                .iter()
                .chain(&predicted)
                .max()
                .map_or(0, |&m| usize::from(m) + 1)
        } else {
            let k = probs.len();
            let label_col = data.label_column.unwrap_or(1);
            for i in 0..data.rows() {
                let (l, p) = (usize::from(labels[i]), usize::from(predicted[i]));
                let bad = if l >= k {
                    Some((label_col, format!("label {l}")))
                } else if p >= k {
                    Some((file_column(pred_col), format!("prediction {p}")))
                } else {
                    None
                };
                if let Some((column, what)) = bad {
                    return Err(Error::Parse {
                        path: data.path.clone(),
                        line: data.lines[i],
                        column,
                        message: format!(
                            "{what} is not a class of the {k} probability columns p_0 … p_{}: \
                             the probability columns and the classes disagree",
                            k - 1
                        ),
                    });
                }
                let mut sum = 0.0f64;
                for &(class, j) in &probs {
                    let v = data.row(i)[j];
                    if !(0.0..=1.0).contains(&v) {
                        let shown = if v.is_nan() {
                            "a missing value".to_string()
                        } else {
                            format!("`{v}`")
                        };
                        return Err(at(
                            i,
                            j,
                            format!("probability `p_{class}` is {shown}: not in [0, 1]"),
                        ));
                    }
                    sum += f64::from(v);
                }
                if (sum - 1.0).abs() > PROBABILITY_SUM_TOLERANCE {
                    return Err(at(
                        i,
                        probs[0].1,
                        format!(
                            "the probabilities p_0 … p_{} sum to {sum:.6}, not 1 (±{}): give \
                             probabilities, not scores or logits",
                            k - 1,
                            PROBABILITY_SUM_TOLERANCE
                        ),
                    ));
                }
            }
            k
        };
        Ok(Self {
            data,
            labels,
            predicted,
            classes,
            has_probabilities: !probs.is_empty(),
        })
    }

    /// The confusion matrix of the given rows.
    pub fn confusion(&self, rows: &[usize]) -> Result<Box<ConfusionMatrix<MAX_CLASSES>>> {
        let mut cm = Box::new(ConfusionMatrix::<MAX_CLASSES>::new());
        for &i in rows {
            cm.record(usize::from(self.labels[i]), usize::from(self.predicted[i]))
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
        Ok(cm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Predictions> {
        Predictions::parse(Path::new("p.csv"), text, "label")
    }

    /// `(line, column, message)` of a parse error.
    fn err(text: &str) -> (u64, usize, String) {
        match parse(text) {
            Err(Error::Parse {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn classes_come_from_the_labels_and_predictions_or_the_probability_columns() {
        let p = parse("x,label,prediction\n1,0,2\n2,1,1\n").unwrap();
        assert_eq!((p.classes, p.predicted.clone()), (3, vec![2, 1]));
        assert_eq!(p.labels, [0, 1]);
        assert!(!p.has_probabilities);
        // A class nobody predicted or holds still counts when it has a probability column.
        let p = parse("label,prediction,p_0,p_1,p_2\n0,0,0.9,0.1,0\n1,1,0.2,0.8,0\n").unwrap();
        assert_eq!(p.classes, 3);
        let cm = p.confusion(&[0, 1]).unwrap();
        assert_eq!(cm.accuracy(), 1.0);
    }

    #[test]
    fn bad_predictions_name_the_line_and_column() {
        let (line, col, m) = err("label,x\n0,1\n");
        assert_eq!((line, col), (1, 1));
        assert!(m.contains("no `prediction` column"), "{m}");
        let (line, col, m) = err("label,prediction\n0,1\n1,0.5\n");
        assert_eq!((line, col), (3, 2));
        assert!(m.contains("`0.5`"), "{m}");
        let (line, col, m) = err("prediction,label\n1,0\n,1\n");
        assert_eq!((line, col), (3, 1));
        assert!(m.contains("missing"), "{m}");
        let (_, _, m) = err("label,prediction\n0,-1\n");
        assert!(m.contains("class number"), "{m}");
    }

    #[test]
    fn bad_probabilities_name_the_line_and_column() {
        let head = "label,prediction,p_0,p_1\n";
        let (line, col, m) = err(&format!("{head}0,0,1.2,-0.2\n"));
        assert_eq!((line, col), (2, 3));
        assert!(m.contains("not in [0, 1]"), "{m}");
        let (line, col, m) = err(&format!("{head}0,0,0.5,0.5\n1,1,0.4,0.4\n"));
        assert_eq!((line, col), (3, 3));
        assert!(m.contains("sum to 0.8"), "{m}");
        // A class beyond the probability columns: they contradict the labels.
        let (line, col, m) = err(&format!("{head}2,0,0.5,0.5\n"));
        assert_eq!((line, col), (2, 1));
        assert!(m.contains("label 2 is not a class"), "{m}");
        let (_, col, m) = err(&format!("{head}0,3,0.5,0.5\n"));
        assert_eq!(col, 2);
        assert!(m.contains("prediction 3"), "{m}");
        let (_, col, m) = err("label,prediction,p_0,p_2\n0,0,1,0\n");
        assert_eq!(col, 4);
        assert!(m.contains("`p_1` is missing"), "{m}");
        let (_, _, m) = err("label,prediction,p_0,p_x\n0,0,1,0\n");
        assert!(m.contains("`p_x`"), "{m}");
        let (_, _, m) = err("label,prediction,p_0,p_00\n0,0,1,0\n");
        assert!(m.contains("`p_00`"), "{m}");
    }

    #[test]
    fn a_missing_label_column_is_the_data_modules_error() {
        let e = parse("y,prediction\n0,1\n").unwrap_err().to_string();
        assert!(e.contains("no label column `label`"), "{e}");
    }
}
