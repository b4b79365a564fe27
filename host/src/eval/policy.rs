//! The gate's policy: thresholds, the allowed regression and the slices, from a TOML file
//! (`--policy FILE`):
//!
//! ```toml
//! slices = ["alcohol > 13", "label == 2"]   # before the first table
//!
//! [thresholds]
//! min_accuracy = 0.9          # min_<metric> for higher-is-better metrics
//! min_f1 = 0.85
//! max_latency_p99_us = 500    # max_<metric> for lower-is-better metrics
//! max_memory_bytes = 65536
//!
//! [regression]
//! allowed_pct = 5.0           # default for every metric (the seed's 5 %)
//! [regression.metrics]
//! latency_p99_us = 50.0       # per-metric override: latency is noisy
//! ```
//!
//! Metric names are [`Metric::name`]s (`accuracy`, `precision_macro` or `precision`,
//! `recall_macro` or `recall`, `f1_macro` or `f1`, `latency_p50_us` … `latency_p999_us`,
//! `memory_bytes`, `peak_rss_bytes`); which key a threshold takes is core's rule
//! ([`Metric::from_threshold_key`]). Errors name the file, line and column.

use super::slices::Predicate;
use crate::error::{Error, Result};
use mlprobe_core::validate::{Gate, Metric, RegressionPolicy, ValidateError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// What the gate checks: thresholds and the allowed regression (core's [`Gate`]), and the
/// slices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    /// Limits on metrics and the allowed regression against a baseline.
    pub gate: Gate,
    /// Subgroups gated by the same quality thresholds.
    pub slices: Vec<Predicate>,
    /// Leave rows with non-finite features or logits out of the metrics and pass; by default
    /// any such row fails the gate (issue 15). Set by `--allow-nonfinite`, not by the file.
    pub allow_nonfinite: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    slices: Vec<toml::Spanned<String>>,
    #[serde(default)]
    thresholds: BTreeMap<toml::Spanned<String>, toml::Spanned<f64>>,
    regression: Option<RawRegression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegression {
    allowed_pct: Option<toml::Spanned<f64>>,
    #[serde(default)]
    metrics: BTreeMap<toml::Spanned<String>, toml::Spanned<f64>>,
}

impl Policy {
    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::limits::read_text(path, crate::limits::TOML_BYTES, "gate policy")?;
        Self::parse(path, &text)
    }

    /// Parses a policy; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let at = |offset: usize, message: String| parse_error(path, text, offset, message);
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            at(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        let mut policy = Policy::default();
        for (key, value) in &raw.thresholds {
            let metric = Metric::from_threshold_key(key.get_ref()).map_err(|e| {
                let message = match e {
                    ValidateError::WrongDirection { metric } => format!(
                        "`{}` has the wrong direction: write `{}`",
                        key.get_ref(),
                        metric.threshold_key()
                    ),
                    _ => format!(
                        "unknown threshold `{}`: expected min_<metric> or max_<metric> with a \
                         metric among {}",
                        key.get_ref(),
                        metric_names()
                    ),
                };
                at(key.span().start, message)
            })?;
            policy
                .gate
                .thresholds
                .set(metric, *value.get_ref())
                .map_err(|e| at(value.span().start, e.to_string()))?;
        }
        if let Some(reg) = &raw.regression {
            if let Some(pct) = &reg.allowed_pct {
                policy.gate.regression = RegressionPolicy::new(*pct.get_ref())
                    .map_err(|e| at(pct.span().start, e.to_string()))?;
            }
            for (key, pct) in &reg.metrics {
                let metric = Metric::from_name(key.get_ref()).ok_or_else(|| {
                    let message = format!(
                        "unknown metric `{}`: expected one of {}",
                        key.get_ref(),
                        metric_names()
                    );
                    at(key.span().start, message)
                })?;
                policy
                    .gate
                    .regression
                    .set_allowed(metric, *pct.get_ref())
                    .map_err(|e| at(pct.span().start, e.to_string()))?;
            }
        }
        for s in &raw.slices {
            let p = s
                .get_ref()
                .parse::<Predicate>()
                .map_err(|e| at(s.span().start, e.to_string()))?;
            policy.slices.push(p);
        }
        Ok(policy)
    }

    /// Adds a slice unless the policy has one with the same expression.
    pub fn add_slice(&mut self, slice: Predicate) {
        if !self.slices.iter().any(|q| q.expr == slice.expr) {
            self.slices.push(slice);
        }
    }
}

/// A parse error at a byte offset of `text`: file, 1-based line and column (in characters).
pub(crate) fn parse_error(path: &Path, text: &str, offset: usize, message: String) -> Error {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    Error::Parse {
        path: path.to_path_buf(),
        line: before.matches('\n').count() as u64 + 1,
        column: before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1,
        message,
    }
}

/// The metric names, comma-separated, for messages.
pub(crate) fn metric_names() -> String {
    Metric::ALL.map(Metric::name).join(", ")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const POLICY: &str = r#"slices = ["alcohol > 13", "label == 2"]

[thresholds]
min_accuracy = 0.9
min_f1 = 0.8
max_latency_p99_us = 500
max_memory_bytes = 65536

[regression]
allowed_pct = 2.5

[regression.metrics]
latency_p99_us = 50
"#;

    #[test]
    fn policy_parses() {
        let pol = Policy::parse(Path::new("gate.toml"), POLICY).unwrap();
        let t = &pol.gate.thresholds;
        assert_eq!(t.get(Metric::Accuracy), Some(0.9));
        assert_eq!(t.get(Metric::F1), Some(0.8));
        assert_eq!(t.get(Metric::LatencyP99), Some(500.0));
        assert_eq!(t.get(Metric::MemoryBytes), Some(65536.0));
        assert_eq!(t.get(Metric::Recall), None);
        assert_eq!(pol.gate.regression.allowed(Metric::Accuracy), 2.5);
        assert_eq!(pol.gate.regression.allowed(Metric::LatencyP99), 50.0);
        assert_eq!(pol.slices.len(), 2);
        let empty = Policy::parse(Path::new("e.toml"), "").unwrap();
        assert_eq!(empty, Policy::default());
        assert_eq!(empty.gate.regression.allowed(Metric::F1), 5.0);
        let mut p = empty;
        p.add_slice("x > 1".parse().unwrap());
        p.add_slice(" x > 1".parse().unwrap());
        assert_eq!(p.slices.len(), 1);
    }

    #[test]
    fn policy_errors_name_file_line_and_column() {
        let e = |text: &str| {
            Policy::parse(Path::new("gate.toml"), text)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("[thresholds]\nmin_accuracy = 0.9\nmax_accuracy = 1.0\n"),
            "gate.toml:3:1: `max_accuracy` has the wrong direction: write `min_accuracy`"
        );
        assert!(
            e("[thresholds]\nmin_acuracy = 0.9\n")
                .starts_with("gate.toml:2:1: unknown threshold `min_acuracy`")
        );
        assert!(e("[thresholds]\nmin_accuracy = \"high\"\n").starts_with("gate.toml:2:16:"));
        assert!(e("[thresholds\n").starts_with("gate.toml:1:"));
        assert!(
            e("[regresion]\nallowed_pct = 1\n").starts_with("gate.toml:1:"),
            "{}",
            e("[regresion]\n")
        );
        assert!(
            e("[regression]\nallowed_pct = -1\n")
                .starts_with("gate.toml:2:15: an allowed regression")
        );
        assert!(
            e("[regression.metrics]\nspeed = 1\n")
                .starts_with("gate.toml:2:1: unknown metric `speed`")
        );
        assert!(e("slices = [\"a >> 1\"]\n").starts_with("gate.toml:1:11: slice `a >> 1`"));
        assert!(
            e("[thresholds]\nmin_accuracy = nan\n")
                .starts_with("gate.toml:2:16: the threshold for accuracy")
        );
        assert!(matches!(
            Policy::load(Path::new("/no/such/gate.toml")),
            Err(Error::Io { .. })
        ));
    }
}
