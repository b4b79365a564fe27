//! `mlprobe ab sequential --metric COL`: the mixture SPRT over a stream of units with a numeric
//! metric (latency, revenue), looked at every `--look-every` units: the difference of means
//! with its plug-in variance ([`mlprobe_core::means::msprt_estimate`]) in the normal mixture
//! of [`mlprobe_core::abtest::Msprt`]. An always-valid p-value: peeking after every look keeps
//! the false-positive rate at alpha (core's A/A simulation checks it).

use super::sequential::{SequentialMethod, SequentialOptions, parse_variant};
use super::usage;
use crate::error::{Error, Result};
use mlprobe_core::abtest::Msprt;
use mlprobe_core::means::{CoMoments, msprt_estimate};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One unit: its arm (treatment or control) and its metric.
pub type MetricEvent = (bool, f64);

/// Reads a CSV of units in arrival order with a header row naming the columns `variant`
/// (`control`/`treatment` or `A`/`B`) and `metric`; other columns are ignored. A missing
/// metric leaves the unit out; a metric that is not a finite number is exit 2 at its line.
pub fn read_metric_events(path: &Path, metric: &str) -> Result<Vec<MetricEvent>> {
    let mut columns: Option<(usize, usize)> = None;
    let mut events = Vec::new();
    crate::data::read_records(path, |line, record| {
        let parse_err = |column: usize, message: String| Error::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        };
        let Some((v, m)) = columns else {
            let find = |name: &str| record.iter().position(|c| c.trim() == name);
            let (Some(v), Some(m)) = (find("variant"), find(metric)) else {
                return Err(parse_err(
                    1,
                    format!(
                        "the header row must name the columns `variant` and `{metric}` \
                         (--metric), found '{}'",
                        crate::limits::excerpt(&record.join(","))
                    ),
                ));
            };
            columns = Some((v, m));
            return Ok(());
        };
        let (Some(variant), Some(value)) = (record.get(v), record.get(m)) else {
            return Err(parse_err(
                record.len() + 1,
                format!("expected a field in column {}", v.max(m) + 1),
            ));
        };
        let treatment = parse_variant(variant).map_err(|e| parse_err(v + 1, e))?;
        if crate::data::cell::is_missing(value.trim().as_bytes()) {
            return Ok(());
        }
        match value.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => {
                events.push((treatment, x));
                Ok(())
            }
            _ => Err(parse_err(
                m + 1,
                format!(
                    "`{metric}` must be a finite number, got '{}'",
                    crate::limits::excerpt(value)
                ),
            )),
        }
    })?;
    if events.is_empty() {
        return Err(Error::file(path, "no units with a metric value"));
    }
    Ok(events)
}

/// An arm in the report.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MeanArm {
    /// Units.
    pub n: u64,
    /// The metric's mean.
    pub mean: f64,
    /// Its sample standard deviation (`null` below two units).
    pub sd: Option<f64>,
}

impl From<&CoMoments> for MeanArm {
    fn from(m: &CoMoments) -> Self {
        Self {
            n: m.count(),
            mean: m.mean_y(),
            sd: (m.count() >= 2).then(|| m.variance_y().sqrt()),
        }
    }
}

/// The report of `ab sequential --metric` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MeansSequentialReport {
    /// Always `msprt`.
    pub method: SequentialMethod,
    /// The metric's column.
    pub metric: String,
    /// The level.
    pub alpha: f64,
    /// The mixing scale, in the metric's units.
    pub tau: f64,
    /// Units between looks.
    pub look_every: u64,
    /// Units read.
    pub events: u64,
    /// Looks made (a look before 30 units per arm has no estimate yet).
    pub looks: u64,
    /// Whether the test rejected at a look.
    pub stopped: bool,
    /// The unit at which it stopped.
    pub stopped_at_event: Option<u64>,
    /// The look at which it stopped.
    pub stopped_at_look: Option<u64>,
    /// The always-valid p-value at the stop, or after the last look.
    pub p_value: f64,
    /// `mean_t - mean_c` at the stop, or at the end.
    pub difference: Option<f64>,
    /// The control at the stop, or at the end.
    pub control: MeanArm,
    /// The treatment.
    pub treatment: MeanArm,
}

/// Runs the mixture SPRT for means over `events`, stopping at the first look that rejects.
pub fn sequential_means(
    events: &[MetricEvent],
    metric: &str,
    options: &SequentialOptions,
) -> Result<MeansSequentialReport> {
    options.validate()?;
    if options.method != SequentialMethod::Msprt {
        return Err(usage(
            "--method",
            "a metric (--metric) is tested by the mixture SPRT only: use --method msprt",
        ));
    }
    let mut test = Msprt::new(options.tau, options.alpha).map_err(|e| usage("--tau", e))?;
    let (mut c, mut t) = (CoMoments::new(), CoMoments::new());
    let (mut looks, mut stop) = (0u64, None);
    for (i, &(treated, y)) in events.iter().enumerate() {
        if treated {
            t.push(y, 0.0);
        } else {
            c.push(y, 0.0);
        }
        let seen = i as u64 + 1;
        if seen.is_multiple_of(options.look_every) || seen == events.len() as u64 {
            looks += 1;
            if let Some((theta, v)) = msprt_estimate(&c, &t)
                && test.update_normal(theta, v) <= options.alpha
            {
                stop = Some((seen, looks));
                break;
            }
        }
    }
    Ok(MeansSequentialReport {
        method: SequentialMethod::Msprt,
        metric: metric.to_string(),
        alpha: options.alpha,
        tau: options.tau,
        look_every: options.look_every,
        events: events.len() as u64,
        looks,
        stopped: stop.is_some(),
        stopped_at_event: stop.map(|s| s.0),
        stopped_at_look: stop.map(|s| s.1),
        p_value: test.p_value(),
        difference: (c.count() > 0 && t.count() > 0).then(|| t.summary().mean_minus(&c.summary())),
        control: MeanArm::from(&c),
        treatment: MeanArm::from(&t),
    })
}

impl MeansSequentialReport {
    /// The text report.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Mixture SPRT of the mean of {} (alpha {}, tau {}), a look every {} units",
            self.metric, self.alpha, self.tau, self.look_every
        );
        for (name, a) in [("control  ", &self.control), ("treatment", &self.treatment)] {
            let sd = a.sd.map_or("n/a".into(), |v| format!("{v:.6}"));
            let _ = writeln!(s, "  {name} n = {}  mean = {:.6}  sd = {sd}", a.n, a.mean);
        }
        match (self.stopped_at_event, self.stopped_at_look) {
            (Some(e), Some(l)) => {
                let _ = writeln!(
                    s,
                    "  stopped at unit {e} (look {l}): difference {:+.6}, always-valid p = {:.6}",
                    self.difference.unwrap_or(f64::NAN),
                    self.p_value
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "  did not stop in {} units ({} looks): always-valid p = {:.6}",
                    self.events, self.looks, self.p_value
                );
            }
        }
        s
    }
}
