//! When training stops, and the figures it stops on: scikit-learn `MLPClassifier`'s two rules
//! (`_update_no_improvement_count` in `sklearn/neural_network/_multilayer_perceptron.py`) and
//! the loss and accuracy of the network on the validation rows.
//!
//! Without a validation part the rule watches the mean training loss ([`LossPlateau`]); with
//! one (`early_stopping=True` in scikit-learn) it watches the accuracy on the validation rows
//! ([`EarlyStopping`]), remembers the best epoch's weights, and the fit ends with them.

use mlprobe_core::mlp::{Mlp, MlpError, argmax, softmax_cross_entropy};
use serde::Serialize;

/// What [`EarlyStopping::update`] says after an epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// The score is the best so far (strictly above every earlier one): keep these weights.
    pub improved: bool,
    /// The score has not beaten the best by `tol` for more than `n_iter_no_change` epochs in
    /// a row: stop.
    pub stop: bool,
}

/// scikit-learn's rule with `early_stopping=True`, on a validation score (higher is better).
///
/// After each epoch: a score below `best + tol` counts one more epoch without improvement,
/// any other score resets the count to 0; a score above `best` becomes the best (its weights
/// are the ones the fit ends with); training stops once the count exceeds `n_iter_no_change`.
/// The best starts at −∞, so the first epoch always improves. A `NaN` score compares false
/// both ways, as in Python: it resets the count and never becomes the best.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    tol: f64,
    n_iter_no_change: usize,
    best: f64,
    no_improvement: usize,
    epochs: usize,
    best_epoch: Option<usize>,
}

impl EarlyStopping {
    /// The rule with scikit-learn's `tol` and `n_iter_no_change`.
    pub fn new(tol: f64, n_iter_no_change: usize) -> Self {
        Self {
            tol,
            n_iter_no_change,
            best: f64::NEG_INFINITY,
            no_improvement: 0,
            epochs: 0,
            best_epoch: None,
        }
    }

    /// Takes the score of the next epoch.
    pub fn update(&mut self, score: f64) -> Step {
        self.epochs += 1;
        if score < self.best + self.tol {
            self.no_improvement += 1;
        } else {
            self.no_improvement = 0;
        }
        let improved = score > self.best;
        if improved {
            self.best = score;
            self.best_epoch = Some(self.epochs);
        }
        Step {
            improved,
            stop: self.no_improvement > self.n_iter_no_change,
        }
    }

    /// The best score so far (−∞ before any).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// The 1-based epoch of the best score, `None` before any score beat −∞.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}

/// scikit-learn's rule without early stopping, on the mean training loss (lower is better):
/// a loss above `best − tol` counts one more epoch without improvement, any other resets the
/// count; the best is the lowest loss yet; stop once the count exceeds `n_iter_no_change`.
#[derive(Clone, Debug)]
pub struct LossPlateau {
    tol: f32,
    n_iter_no_change: usize,
    best: f32,
    no_improvement: usize,
}

impl LossPlateau {
    /// The rule with scikit-learn's `tol` and `n_iter_no_change`.
    pub fn new(tol: f32, n_iter_no_change: usize) -> Self {
        Self {
            tol,
            n_iter_no_change,
            best: f32::INFINITY,
            no_improvement: 0,
        }
    }

    /// Takes the next epoch's loss; true when training should stop.
    pub fn update(&mut self, loss: f32) -> bool {
        if loss > self.best - self.tol {
            self.no_improvement += 1;
        } else {
            self.no_improvement = 0;
        }
        self.best = self.best.min(loss);
        self.no_improvement > self.n_iter_no_change
    }
}

/// Why a fit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Every epoch of `--epochs` ran.
    MaxEpochs,
    /// The mean training loss stopped improving by `--tol` (no validation part).
    TrainingLoss,
    /// The accuracy on the validation rows stopped improving by `--tol`.
    ValidationAccuracy,
}

impl StopReason {
    /// The reason in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::MaxEpochs => "ran every epoch",
            Self::TrainingLoss => "stopped: the training loss stopped improving",
            Self::ValidationAccuracy => "stopped early: the validation accuracy stopped improving",
        }
    }
}

/// The validation rows, standardised once, and the scratch of their forward passes.
pub(super) struct Validation<'a> {
    xs: Vec<f32>,
    y: &'a [u8],
    width: usize,
    scratch: Vec<f32>,
    dlogits: Vec<f32>,
}

impl<'a> Validation<'a> {
    /// `xs` holds `y.len()` standardised rows of `width` features.
    pub(super) fn new(xs: Vec<f32>, y: &'a [u8], width: usize, mlp: &Mlp<Vec<f32>>) -> Self {
        let d = mlp.dims();
        Self {
            xs,
            y,
            width,
            scratch: vec![0.0; d.hidden_total() + d.outputs()],
            dlogits: vec![0.0; d.outputs()],
        }
    }

    /// Mean cross-entropy and accuracy of `mlp` on the rows: core's forward pass
    /// ([`Mlp::forward`], the logits of inference) and the trainer's cross-entropy
    /// ([`softmax_cross_entropy`]).
    pub(super) fn evaluate(&mut self, mlp: &Mlp<Vec<f32>>) -> Result<(f64, f64), MlpError> {
        let (mut loss, mut right) = (0.0f64, 0usize);
        for (x, &label) in self.xs.chunks_exact(self.width).zip(self.y) {
            let logits = mlp.forward(x, &mut self.scratch)?;
            right += usize::from(argmax(logits) == usize::from(label));
            loss += f64::from(softmax_cross_entropy(
                logits,
                label.into(),
                0.0,
                &mut self.dlogits,
            ));
        }
        let n = self.y.len() as f64;
        Ok((loss / n, right as f64 / n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_score_improves_and_patience_counts_epochs_below_best_plus_tol() {
        let mut r = EarlyStopping::new(0.01, 2);
        assert_eq!(
            r.update(0.5),
            Step {
                improved: true,
                stop: false
            }
        );
        // 0.505 beats the best but not by tol: counted, yet remembered as the best.
        assert_eq!(
            r.update(0.505),
            Step {
                improved: true,
                stop: false
            }
        );
        assert_eq!(
            r.update(0.5),
            Step {
                improved: false,
                stop: false
            }
        );
        assert_eq!(
            r.update(0.5),
            Step {
                improved: false,
                stop: true
            }
        );
        assert_eq!((r.best(), r.best_epoch()), (0.505, Some(2)));
        let mut r = EarlyStopping::new(0.0, 0);
        assert!(!r.update(f64::NAN).improved);
        assert_eq!(r.best_epoch(), None);
        assert_eq!(
            r.update(0.1),
            Step {
                improved: true,
                stop: false
            }
        );
        assert_eq!(
            r.update(0.1),
            Step {
                improved: false,
                stop: false
            }
        );
        assert_eq!(
            r.update(0.05),
            Step {
                improved: false,
                stop: true
            }
        );
    }

    #[test]
    fn the_loss_rule_is_the_one_training_used() {
        let mut r = LossPlateau::new(0.1, 1);
        assert!(!r.update(1.0));
        assert!(!r.update(0.95));
        assert!(r.update(0.92));
    }
}
