//! `chaos --experiment input`: one random feature per row damaged (a failed sensor, not a
//! failed row) by each fault of [`InputFault`] in turn; how many predictions change, and
//! whether an expectation suite catches the damaged data exactly as `mlprobe expect` would.

use super::{Ctx, Measured, Scored};
use crate::device::{Session, link_error};
use crate::error::{Error, Result};
use crate::suite::Suite;
use mlprobe_core::chaos::{InputFault, below};
use mlprobe_core::mlp::argmax;
use mlprobe_core::protocol::{Request, Response};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::PathBuf;

/// The largest `--noise` (standard deviations).
pub const MAX_NOISE: f32 = 1000.0;
/// The largest `--out-of-range` distance, either side (standard deviations).
pub const MAX_OUT_OF_RANGE: f32 = 1e6;
/// The largest `--stuck-at` magnitude (raw units).
pub const MAX_STUCK_AT: f32 = 1e30;

/// Options of the input experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct InputOptions {
    /// An expectation suite run on each damaged dataset (`--suite`).
    pub suite: Option<PathBuf>,
    /// Noise in standard deviations of the feature (`--noise`).
    pub noise: f32,
    /// Out-of-range values this many standard deviations from the mean (`--out-of-range`).
    pub out_of_range: f32,
    /// The stuck-at value in raw units (`--stuck-at`).
    pub stuck_at: f32,
}

impl InputOptions {
    /// Rejects values outside their documented ranges, naming the flag.
    pub fn validate(&self) -> Result<()> {
        for (flag, v, lo, hi) in [
            ("--noise", self.noise, 0.0, MAX_NOISE),
            (
                "--out-of-range",
                self.out_of_range,
                -MAX_OUT_OF_RANGE,
                MAX_OUT_OF_RANGE,
            ),
            ("--stuck-at", self.stuck_at, -MAX_STUCK_AT, MAX_STUCK_AT),
        ] {
            if !(lo..=hi).contains(&v) {
                return Err(Error::Usage(format!(
                    "{flag} {v}: must be from {lo} to {hi}"
                )));
            }
        }
        Ok(())
    }
}

impl Default for InputOptions {
    fn default() -> Self {
        Self {
            suite: None,
            noise: 1.0,
            out_of_range: 10.0,
            stuck_at: 0.0,
        }
    }
}

/// One fault's effect.
#[derive(Clone, Debug, Serialize)]
pub struct InputRow {
    /// The fault (`nan`, `+inf`, `-inf`, `stuck-at`, `noise`, `out-of-range`).
    pub fault: &'static str,
    /// Rows damaged.
    pub rows: usize,
    /// Predictions that changed.
    pub changed: usize,
    /// Their share.
    pub changed_rate: f64,
    /// Rows with a non-finite logit.
    pub non_finite: usize,
    /// Accuracy on the damaged rows, when there are labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    /// The suite failed on the damaged data (with a suite).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caught_by_suite: Option<bool>,
    /// The expectations that failed (`type (column)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed_expectations: Vec<String>,
}

/// What the input experiment measured.
#[derive(Clone, Debug, Serialize)]
pub struct InputResult {
    /// Rows.
    pub rows: usize,
    /// Features damaged per row (1).
    pub features_damaged_per_row: u32,
    /// The suite, if any.
    pub suite: Option<PathBuf>,
    /// The suite passes on the undamaged data (null without a suite).
    pub suite_passes_clean_data: Option<bool>,
    /// One row per fault.
    pub faults: Vec<InputRow>,
}

/// Runs the experiment with the host model, or on `device`.
pub fn run(ctx: &Ctx, o: &InputOptions, mut device: Option<&mut Session>) -> Result<Scored> {
    let d = ctx.data()?;
    let model = &*ctx.model;
    let mut scratch = vec![0.0; model.dims().scratch_len()];
    let suite = match &o.suite {
        Some(p) => Some(Suite::load(p)?),
        None => None,
    };
    let run_suite = |values: &[f32]| -> Result<Option<(bool, Vec<String>)>> {
        let Some(s) = &suite else { return Ok(None) };
        let v = crate::expect::validate_dataset(s, d, values)?;
        let failed = v
            .results
            .iter()
            .filter(|r| !r.success)
            .map(|r| match &r.column {
                Some(c) => format!("{} ({c})", r.expectation_type),
                None => r.expectation_type.to_string(),
            })
            .collect();
        Ok(Some((v.success, failed)))
    };
    let clean_suite = run_suite(&d.features)?;
    let mut predict = |row: &[f32]| -> Result<Option<usize>> {
        let Some(dev) = device.as_deref_mut() else {
            return Ok(model
                .infer(row, &mut scratch)
                .ok()
                .filter(|l| l.iter().all(|v| v.is_finite()))
                .map(argmax));
        };
        let features = row.iter().copied().collect();
        match dev.client().call(Request::Infer { features }) {
            Ok(Response::Inference(i)) => Ok(i
                .logits
                .iter()
                .all(|v| v.is_finite())
                .then_some(usize::from(i.class))),
            Ok(_) => Ok(None),
            Err(e) => Err(link_error("inference on the device")(e)),
        }
    };
    let w = d.width();
    let clean: Vec<Option<usize>> = (0..d.rows())
        .map(|r| predict(d.row(r)))
        .collect::<Result<_>>()?;
    let (mean, std) = (model.norm.mean(), model.norm.std());
    let faults = [
        InputFault::Nan,
        InputFault::PosInf,
        InputFault::NegInf,
        InputFault::StuckAt(o.stuck_at),
        InputFault::Noise(o.noise),
        InputFault::OutOfRange(o.out_of_range),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(ctx.seed);
    let mut rows = Vec::new();
    for fault in faults {
        let mut values = d.features.clone();
        // One feature per row, chosen at random: a sensor fails, not the whole row.
        for r in 0..d.rows() {
            let j = below(&mut rng, w as u64) as usize;
            let v = &mut values[r * w + j];
            *v = fault.apply(*v, mean[j], std[j], &mut rng);
        }
        let (mut changed, mut non_finite, mut right) = (0, 0, 0);
        for r in 0..d.rows() {
            let p = predict(&values[r * w..(r + 1) * w])?;
            non_finite += usize::from(p.is_none());
            changed += usize::from(p != clean[r]);
            if let (Some(l), Some(p)) = (&d.labels, p)
                && usize::from(l[r]) == p
            {
                right += 1;
            }
        }
        let caught = run_suite(&values)?;
        rows.push(InputRow {
            fault: fault.name(),
            rows: d.rows(),
            changed,
            changed_rate: changed as f64 / d.rows() as f64,
            non_finite,
            accuracy: d.labels.as_ref().map(|_| right as f64 / d.rows() as f64),
            caught_by_suite: caught.as_ref().map(|c| !c.0),
            failed_expectations: caught.map(|c| c.1).unwrap_or_default(),
        });
    }
    let score = 1.0 - rows.iter().map(|r| r.changed_rate).sum::<f64>() / rows.len() as f64;
    Ok(Scored {
        score,
        definition: "share of predictions unchanged by a damaged feature, averaged over the faults",
        violations: Vec::new(),
        measured: Measured::Input(InputResult {
            rows: d.rows(),
            features_damaged_per_row: 1,
            suite: o.suite.clone(),
            suite_passes_clean_data: clean_suite.map(|c| c.0),
            faults: rows,
        }),
    })
}

impl InputResult {
    /// The measurements as a table, one fault a line.
    pub fn human(&self) -> String {
        let mut s =
            String::from("fault          changed   non-finite   accuracy   caught by suite\n");
        for p in &self.faults {
            let caught = match p.caught_by_suite {
                None => "-".into(),
                Some(true) => format!("yes ({} expectations failed)", p.failed_expectations.len()),
                Some(false) => "no".into(),
            };
            s += &format!(
                "{:<13} {:>8.4}   {:>10}   {:>8}   {caught}\n",
                p.fault,
                p.changed_rate,
                p.non_finite,
                p.accuracy.map_or("-".into(), |a| format!("{a:.4}")),
            );
        }
        s
    }
}
