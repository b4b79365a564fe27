//! Classification metrics with scikit-learn's semantics.
//!
//! A fixed-size [`ConfusionMatrix<K>`] (rows are true labels, columns predictions) counts
//! outcomes one at a time, so it runs on a device as well as over a file. From it:
//! accuracy, and per-class and macro-averaged precision, recall and F1 as
//! `sklearn.metrics.precision_recall_fscore_support(average=None / "macro")` computes them:
//! - macro averages run over the labels present in the truth **or** the predictions;
//! - the macro F1 is the mean of the per-class F1 scores (not the F1 of the macro precision
//!   and recall, which the seed notebook computes and scikit-learn does not);
//! - a zero denominator (no prediction of a class, or no example of it) gives 0
//!   (`zero_division=0`).

use core::fmt;

/// Errors of the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MetricsError {
    /// A label is not below the matrix size.
    LabelOutOfRange {
        /// The label.
        label: usize,
        /// The number of classes the matrix holds.
        classes: usize,
    },
}

impl fmt::Display for MetricsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LabelOutOfRange { label, classes } => {
                write!(
                    f,
                    "label {label} is out of range for a matrix of {classes} classes"
                )
            }
        }
    }
}

impl core::error::Error for MetricsError {}

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClassStats {
    /// `tp / (tp + fp)`, 0 when nothing was predicted as this class.
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 when the class has no example.
    pub recall: f64,
    /// `2·tp / (2·tp + fp + fn)`, 0 when the denominator is 0.
    pub f1: f64,
    /// Examples of this class in the truth.
    pub support: u32,
}

/// Macro averages over the labels present in the truth or the predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MacroStats {
    /// Mean per-class precision.
    pub precision: f64,
    /// Mean per-class recall.
    pub recall: f64,
    /// Mean per-class F1.
    pub f1: f64,
    /// How many labels were averaged.
    pub labels: usize,
}

/// A `K × K` confusion matrix: `counts[truth][prediction]`.
///
/// ```
/// use mlprobe_core::metrics::ConfusionMatrix;
/// let mut cm = ConfusionMatrix::<3>::new();
/// for (t, p) in [(0, 0), (1, 1), (2, 1)] { cm.record(t, p).unwrap(); }
/// assert_eq!(cm.total(), 3);
/// assert!((cm.accuracy() - 2.0 / 3.0).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix<const K: usize> {
    counts: [[u32; K]; K],
}

impl<const K: usize> Default for ConfusionMatrix<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const K: usize> ConfusionMatrix<K> {
    /// An empty matrix.
    pub const fn new() -> Self {
        Self {
            counts: [[0; K]; K],
        }
    }

    /// Counts one outcome.
    pub fn record(&mut self, truth: usize, prediction: usize) -> Result<(), MetricsError> {
        for label in [truth, prediction] {
            if label >= K {
                return Err(MetricsError::LabelOutOfRange { label, classes: K });
            }
        }
        self.counts[truth][prediction] = self.counts[truth][prediction].saturating_add(1);
        Ok(())
    }

    /// Adds another matrix's counts.
    pub fn merge(&mut self, other: &Self) {
        for (row, orow) in self.counts.iter_mut().zip(&other.counts) {
            for (c, o) in row.iter_mut().zip(orow) {
                *c = c.saturating_add(*o);
            }
        }
    }

    /// The counts, `[truth][prediction]`.
    pub fn counts(&self) -> &[[u32; K]; K] {
        &self.counts
    }

    /// Number of outcomes recorded.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().map(|&c| u64::from(c)).sum()
    }

    /// Number of correct predictions.
    pub fn correct(&self) -> u64 {
        (0..K).map(|k| u64::from(self.counts[k][k])).sum()
    }

    /// Fraction of correct predictions (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        let n = self.total();
        if n == 0 {
            0.0
        } else {
            self.correct() as f64 / n as f64
        }
    }

    /// Examples of class `k` in the truth (row sum).
    pub fn support(&self, k: usize) -> u32 {
        self.counts.get(k).map_or(0, |row| row.iter().sum())
    }

    /// Predictions of class `k` (column sum).
    pub fn predicted(&self, k: usize) -> u32 {
        if k >= K {
            0
        } else {
            self.counts.iter().map(|row| row[k]).sum()
        }
    }

    /// True when class `k` appears in the truth or in the predictions.
    pub fn is_present(&self, k: usize) -> bool {
        self.support(k) > 0 || self.predicted(k) > 0
    }

    /// One plus the largest label present (0 for an empty matrix).
    pub fn classes_seen(&self) -> usize {
        (0..K)
            .rev()
            .find(|&k| self.is_present(k))
            .map_or(0, |k| k + 1)
    }

    /// Precision, recall, F1 and support of class `k`.
    pub fn class_stats(&self, k: usize) -> ClassStats {
        if k >= K {
            return ClassStats::default();
        }
        let tp = f64::from(self.counts[k][k]);
        let support = self.support(k);
        let predicted = self.predicted(k);
        let ratio = |num: f64, den: f64| if den > 0.0 { num / den } else { 0.0 };
        let fp = f64::from(predicted) - tp;
        let fn_ = f64::from(support) - tp;
        ClassStats {
            precision: ratio(tp, f64::from(predicted)),
            recall: ratio(tp, f64::from(support)),
            f1: ratio(2.0 * tp, 2.0 * tp + fp + fn_),
            support,
        }
    }

    /// Macro averages over the labels present in the truth or the predictions.
    pub fn macro_stats(&self) -> MacroStats {
        let mut m = MacroStats::default();
        for k in (0..K).filter(|&k| self.is_present(k)) {
            let s = self.class_stats(k);
            m.precision += s.precision;
            m.recall += s.recall;
            m.f1 += s.f1;
            m.labels += 1;
        }
        if m.labels > 0 {
            let n = m.labels as f64;
            m.precision /= n;
            m.recall /= n;
            m.f1 /= n;
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(truth: &[usize], pred: &[usize]) -> ConfusionMatrix<4> {
        let mut cm = ConfusionMatrix::new();
        for (&t, &p) in truth.iter().zip(pred) {
            cm.record(t, p).unwrap();
        }
        cm
    }

    #[test]
    fn seed_example_against_scikit_learn() {
        // The seed's ModelValidator example. scikit-learn 1.5:
        // precision_recall_fscore_support(y_true, y_pred, average=None)
        //   precision [1, 0.75, 1], recall [1, 1, 2/3], f1 [1, 6/7, 0.8], support [4, 3, 3]
        // average="macro": precision 0.9166…, recall 0.8888…, f1 0.8857142857…
        let cm = matrix(
            &[0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
            &[0, 1, 2, 0, 1, 1, 0, 1, 2, 0],
        );
        assert!((cm.accuracy() - 0.9).abs() < 1e-12);
        let c1 = cm.class_stats(1);
        assert!(
            (c1.precision - 0.75).abs() < 1e-12
                && c1.recall == 1.0
                && (c1.f1 - 6.0 / 7.0).abs() < 1e-12
        );
        let c2 = cm.class_stats(2);
        assert!((c2.recall - 2.0 / 3.0).abs() < 1e-12 && (c2.f1 - 0.8).abs() < 1e-12);
        assert_eq!(c2.support, 3);
        let m = cm.macro_stats();
        assert_eq!(m.labels, 3);
        assert!((m.precision - 11.0 / 12.0).abs() < 1e-12);
        assert!((m.recall - 8.0 / 9.0).abs() < 1e-12);
        assert!((m.f1 - (1.0 + 6.0 / 7.0 + 0.8) / 3.0).abs() < 1e-12);
        // The seed's "F1 of the macro averages" would be 0.9014…: a different number.
        let seed_f1 = 2.0 * m.precision * m.recall / (m.precision + m.recall);
        assert!((seed_f1 - m.f1).abs() > 0.01);
    }

    #[test]
    fn labels_present_only_in_predictions_count_with_zero_division() {
        // y_true = [0, 0, 1], y_pred = [0, 2, 1]: label 2 is predicted but never true.
        // scikit-learn (zero_division=0): precision [1, 1, 0], recall [0.5, 1, 0],
        // f1 [2/3, 1, 0]; macro over 3 labels: precision 2/3, recall 0.5, f1 5/9.
        let cm = matrix(&[0, 0, 1], &[0, 2, 1]);
        let m = cm.macro_stats();
        assert_eq!(m.labels, 3);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.recall - 0.5).abs() < 1e-12);
        assert!((m.f1 - 5.0 / 9.0).abs() < 1e-12);
        // Label 3 is absent everywhere and is not averaged.
        assert!(!cm.is_present(3));
        assert_eq!(cm.classes_seen(), 3);
    }

    #[test]
    fn degenerate_cases() {
        let empty = ConfusionMatrix::<4>::new();
        assert_eq!(empty.accuracy(), 0.0);
        assert_eq!(empty.macro_stats(), MacroStats::default());
        let one_class = matrix(&[1, 1, 1], &[1, 1, 1]);
        assert_eq!(one_class.macro_stats().f1, 1.0);
        assert_eq!(one_class.macro_stats().labels, 1);
        let mut cm = ConfusionMatrix::<2>::new();
        assert_eq!(
            cm.record(2, 0),
            Err(MetricsError::LabelOutOfRange {
                label: 2,
                classes: 2
            })
        );
    }

    #[test]
    fn merge_adds_counts() {
        let mut a = matrix(&[0, 1], &[0, 0]);
        let b = matrix(&[2, 1], &[2, 1]);
        a.merge(&b);
        assert_eq!(a, matrix(&[0, 1, 2, 1], &[0, 0, 2, 1]));
    }
}
