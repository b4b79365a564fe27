//! `chaos --experiment bitflip`: single-event upsets in the weights ([`mlprobe_core::chaos`]).
//! A sweep over the bit-error rate (or numbers of flips), then one class of bits at a time
//! (sign, exponent, mantissa) and one tensor at a time; each point is the agreement with the
//! fault-free model's predictions over `trials` random trials. The score is the sweep's mean
//! agreement: it needs no labels (accuracy is reported when there are labels).

use super::{Ctx, Measured, Scored, at_least_one, probability};
use crate::data::Dataset;
use crate::error::Result;
use crate::model_io::HostModel;
use mlprobe_core::chaos::{BitClass, Layer, flips_for_ber, inject};
use mlprobe_core::mlp::argmax;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// The sweep's points.
#[derive(Clone, Debug, PartialEq)]
pub enum Sweep {
    /// Bit-error rates: fractions of all weight bits (`--ber`).
    Ber(Vec<f64>),
    /// Numbers of flips (`--flips`).
    Flips(Vec<u64>),
}

/// Options of the bitflip experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct BitflipOptions {
    /// The sweep.
    pub sweep: Sweep,
    /// Random trials per point, averaged (`--trials`).
    pub trials: u32,
    /// Flips per trial in the per-class and per-tensor breakdowns (`--class-flips`).
    pub class_flips: u64,
}

impl Default for BitflipOptions {
    fn default() -> Self {
        Self {
            sweep: Sweep::Ber(vec![0.00001, 0.0001, 0.001, 0.01]),
            trials: 20,
            class_flips: 1,
        }
    }
}

impl BitflipOptions {
    /// Rejects what no run can use, naming the flag.
    pub fn validate(&self) -> Result<()> {
        if let Sweep::Ber(rates) = &self.sweep {
            for &b in rates {
                probability("--ber", b)?;
            }
        }
        at_least_one("--trials", u64::from(self.trials))
    }
}

/// One point: agreement (and accuracy) under flips.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Point {
    /// The bit-error rate (the sweep).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ber: Option<f64>,
    /// The class of bits (`sign`, `exponent`, `mantissa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits: Option<&'static str>,
    /// The tensor (`fc1.weight`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    /// Flips per trial, averaged.
    pub flips_mean: f64,
    /// Share of rows predicted as the fault-free model predicts, averaged over trials.
    pub agreement: f64,
    /// The worst trial's agreement.
    pub agreement_min: f64,
    /// Accuracy against the labels, when there are labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// Share of rows with a non-finite logit.
    pub non_finite: f64,
}

/// What the bitflip experiment measured.
#[derive(Clone, Debug, Serialize)]
pub struct BitflipResult {
    /// Rows predicted.
    pub rows: usize,
    /// Parameters of the model.
    pub parameters: usize,
    /// Their bits.
    pub weight_bits: u64,
    /// Trials per point.
    pub trials: u32,
    /// The fault-free model's accuracy (null without labels).
    pub clean_accuracy: Option<f64>,
    /// The sweep over the bit-error rate or the number of flips.
    pub sweep: Vec<Point>,
    /// Flips per trial in the breakdowns.
    pub flips_per_trial: u64,
    /// By class of bits.
    pub by_bits: Vec<Point>,
    /// By tensor.
    pub by_tensor: Vec<Point>,
}

/// Predicted classes of `model` on every row (`None` where a logit is not finite).
fn predictions(model: &HostModel, d: &Dataset, scratch: &mut [f32]) -> Vec<Option<usize>> {
    (0..d.rows())
        .map(|r| {
            let l = model.infer(d.row(r), scratch).ok()?;
            l.iter().all(|v| v.is_finite()).then(|| argmax(l))
        })
        .collect()
}

/// Runs the experiment on the host's copy of the model.
pub fn run(ctx: &Ctx, o: &BitflipOptions) -> Result<Scored> {
    let d = ctx.data()?;
    let model = &*ctx.model;
    let dims = model.dims();
    let mut scratch = vec![0.0; dims.scratch_len()];
    let clean = predictions(model, d, &mut scratch);
    let labels = d.labels.as_ref();
    let acc_of = |p: &[Option<usize>]| {
        labels.map(|l| {
            p.iter()
                .zip(l)
                .filter(|(p, l)| **p == Some(usize::from(**l)))
                .count() as f64
                / p.len() as f64
        })
    };
    let clean_accuracy = acc_of(&clean);
    let bits_total = (dims.param_count() * 32) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    let mut faulty = model.clone();
    // One point: `trials` runs of `flips(rng)` flips in `layer` on bits of `class`.
    let mut point = |flips: &mut dyn FnMut(&mut ChaCha8Rng) -> u64,
                     layer: Layer,
                     class: BitClass,
                     rng: &mut ChaCha8Rng| {
        let (mut agree_sum, mut agree_min, mut acc_sum, mut nf_sum, mut flips_sum) =
            (0.0, 1.0f64, 0.0, 0.0, 0u64);
        for _ in 0..o.trials {
            ctx.progress
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            faulty.mlp.params_mut().copy_from_slice(model.mlp.params());
            let n = flips(rng);
            flips_sum += n;
            inject(faulty.mlp.params_mut(), layer.range(&dims), class, n, rng);
            let p = predictions(&faulty, d, &mut scratch);
            let agree =
                p.iter().zip(&clean).filter(|(x, y)| x == y).count() as f64 / p.len() as f64;
            agree_sum += agree;
            agree_min = agree_min.min(agree);
            acc_sum += acc_of(&p).unwrap_or(0.0);
            nf_sum += p.iter().filter(|x| x.is_none()).count() as f64 / p.len() as f64;
        }
        let t = f64::from(o.trials);
        Point {
            flips_mean: flips_sum as f64 / t,
            agreement: agree_sum / t,
            agreement_min: agree_min,
            accuracy: labels.map(|_| acc_sum / t),
            non_finite: nf_sum / t,
            ..Point::default()
        }
    };
    let sweep: Vec<Point> = match &o.sweep {
        Sweep::Flips(list) => list
            .iter()
            .map(|&n| Point {
                ber: Some(n as f64 / bits_total as f64),
                ..point(&mut |_| n, Layer::All, BitClass::Any, &mut rng)
            })
            .collect(),
        Sweep::Ber(rates) => rates
            .iter()
            .map(|&ber| Point {
                ber: Some(ber),
                ..point(
                    &mut |r| flips_for_ber(r, bits_total, ber),
                    Layer::All,
                    BitClass::Any,
                    &mut rng,
                )
            })
            .collect(),
    };
    let k = o.class_flips;
    let by_bits = [BitClass::Sign, BitClass::Exponent, BitClass::Mantissa]
        .into_iter()
        .map(|class| Point {
            bits: Some(class.name()),
            ..point(&mut |_| k, Layer::All, class, &mut rng)
        })
        .collect();
    let by_tensor = Layer::tensors(&dims)
        .map(|layer| Point {
            tensor: Some(layer.to_string()),
            ..point(&mut |_| k, layer, BitClass::Any, &mut rng)
        })
        .collect();
    let score = sweep.iter().map(|p| p.agreement).sum::<f64>() / sweep.len().max(1) as f64;
    Ok(Scored {
        score,
        definition: "agreement with the fault-free model's predictions, averaged over the sweep",
        violations: Vec::new(),
        measured: Measured::Bitflip(BitflipResult {
            rows: d.rows(),
            parameters: dims.param_count(),
            weight_bits: bits_total,
            trials: o.trials,
            clean_accuracy,
            sweep,
            flips_per_trial: k,
            by_bits,
            by_tensor,
        }),
    })
}

impl BitflipResult {
    /// The measurements as text: the sweep as a table, then the breakdowns.
    pub fn human(&self) -> String {
        let clean = self
            .clean_accuracy
            .map_or_else(|| "null".into(), |a| format!("{a:?}"));
        let mut s = format!(
            "{} rows, {} parameters ({} bits), {} trials per point; clean accuracy {clean}\n",
            self.rows, self.parameters, self.weight_bits, self.trials
        );
        s += "bit-error rate   flips   agreement (min)     accuracy   non-finite\n";
        for p in &self.sweep {
            s += &format!(
                "{:<14.2e} {:>7.2}   {:.4} ({:.4})    {:>8}   {:.4}\n",
                p.ber.unwrap_or(f64::NAN),
                p.flips_mean,
                p.agreement,
                p.agreement_min,
                p.accuracy.map_or("-".into(), |a| format!("{a:.4}")),
                p.non_finite
            );
        }
        s += &format!("{} flip(s) per trial, by bits:", self.flips_per_trial);
        for p in &self.by_bits {
            s += &format!("  {} {:.4}", p.bits.unwrap_or(""), p.agreement);
        }
        s += "\nby tensor:";
        for p in &self.by_tensor {
            s += &format!("  {} {:.4}", p.tensor.as_deref().unwrap_or(""), p.agreement);
        }
        s += "\n";
        s
    }
}
