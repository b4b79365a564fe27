//! The gate's verdicts (core's [`Verdict`]s on a run and on each slice) as data for people and
//! tools: the `violations` sentences, the `gate` JSON of `mlprobe eval --json`, and a
//! [`Report`] (suites `thresholds`, `regression` and one per slice) for JUnit and Markdown.

use super::baseline::Baseline;
use super::policy::Policy;
use crate::report::{Case, Report, Status, Suite};
use mlprobe_core::validate::{
    Change, Comparison, Metrics, Outcome, RegressionReport, ThresholdCheck, ThresholdReport,
    Verdict,
};
use serde::Serialize;

/// The gate's verdict on a run and its slices.
#[derive(Clone, Debug, PartialEq)]
pub struct GateReport {
    /// The whole data.
    pub overall: Verdict,
    /// Each slice: its expression, its row count and its verdict.
    pub slices: Vec<(String, usize, Verdict)>,
    /// Rows with a non-finite feature or logit, when the policy does not allow them: the
    /// sentence that says which (issue 15). They fail the gate.
    pub nonfinite: Option<String>,
    /// Checks that could not be run, one sentence each with the reason: a limit on latency or
    /// memory, or a baseline's latency or memory, when a predictions file was evaluated (no
    /// model ran here). Neither passed nor failed: reported as skipped in the JSON, JUnit,
    /// Markdown and the human report, never counted as a pass.
    pub skipped: Vec<String>,
}

impl GateReport {
    /// Checks a run (`overall`) and its slices (expression, row count, metrics).
    pub fn new(
        policy: &Policy,
        overall: &Metrics,
        slices: &[(String, usize, Metrics)],
        baseline: Option<&Baseline>,
    ) -> Self {
        let base = baseline.map(Baseline::metrics);
        let slice_gate = policy.gate.for_slice();
        Self {
            overall: policy.gate.check(overall, base.as_ref()),
            slices: slices
                .iter()
                .map(|(expr, n, m)| {
                    let b = baseline.and_then(|b| b.slice(expr));
                    (expr.clone(), *n, slice_gate.check(m, b.as_ref()))
                })
                .collect(),
            nonfinite: None,
            skipped: Vec::new(),
        }
    }

    /// True when every check passed; a slice that matched no row fails (its expression is
    /// wrong, or the data lacks what it asks about), and so do rows that could not be scored.
    pub fn passed(&self) -> bool {
        self.overall.passed()
            && self.slices.iter().all(|(_, n, c)| *n > 0 && c.passed())
            && self.nonfinite.is_none()
    }

    /// The failed checks, one sentence each (DESIGN.md's `violations`); slices prefixed
    /// `[slice EXPR]`.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let all = std::iter::once((None, &self.overall))
            .chain(self.slices.iter().map(|(e, _, c)| (Some(e.as_str()), c)));
        for (slice, c) in all {
            let prefix = slice.map_or(String::new(), |e| format!("[slice {e}] "));
            out.extend(c.thresholds.violations().map(|v| format!("{prefix}{v}")));
            if let Some(r) = &c.regression {
                out.extend(
                    r.iter()
                        .filter(|c| !c.passed())
                        .map(|c| format!("{prefix}regression: {c}")),
                );
            }
        }
        for (expr, n, _) in &self.slices {
            if *n == 0 {
                out.push(format!("[slice {expr}] no row matches `{expr}`"));
            }
        }
        out.extend(self.nonfinite.clone());
        out
    }

    /// The JUnit/Markdown report: suites `thresholds`, `regression` (with a baseline) and one
    /// `slice: EXPR` suite per slice.
    pub fn to_report(&self, name: &str) -> Report {
        let mut report = Report::new(name);
        let mut thresholds = threshold_suite(
            "thresholds",
            "mlprobe.gate.thresholds",
            &self.overall.thresholds,
        );
        if let Some(m) = &self.nonfinite {
            thresholds.push(Case::new(
                "rows have finite features",
                "mlprobe.gate.thresholds",
                Status::Failed {
                    message: m.clone(),
                    kind: "nonfinite_rows".into(),
                    detail: String::new(),
                },
            ));
        }
        for why in &self.skipped {
            let name = why.split(':').next().unwrap_or(why).to_string();
            thresholds.push(Case::new(
                name,
                "mlprobe.gate.thresholds",
                Status::Skipped {
                    message: why.clone(),
                },
            ));
        }
        report.suites.push(thresholds);
        if let Some(r) = &self.overall.regression {
            report
                .suites
                .push(regression_suite("regression", "mlprobe.gate.regression", r));
        }
        for (expr, n, c) in &self.slices {
            let mut suite = threshold_suite(
                &format!("slice: {expr}"),
                "mlprobe.gate.slice",
                &c.thresholds,
            );
            suite.properties.push(("rows".into(), n.to_string()));
            if let Some(r) = &c.regression {
                suite
                    .cases
                    .extend(regression_suite("", "mlprobe.gate.slice.regression", r).cases);
            }
            if *n == 0 {
                suite.push(Case::new(
                    "slice has rows",
                    "mlprobe.gate.slice",
                    Status::Failed {
                        message: format!("no row matches `{expr}`"),
                        kind: "empty_slice".into(),
                        detail: String::new(),
                    },
                ));
            }
            report.suites.push(suite);
        }
        report
    }

    /// The JSON form (`gate` in `mlprobe eval --json`).
    pub fn to_json(&self) -> GateJson {
        GateJson {
            passed: self.passed(),
            thresholds: self
                .overall
                .thresholds
                .iter()
                .map(ThresholdJson::from)
                .collect(),
            regression: self.overall.regression.as_ref().map(RegressionJson::from),
            slices: self
                .slices
                .iter()
                .map(|(expr, n, c)| SliceJson {
                    slice: expr.clone(),
                    n: *n,
                    passed: *n > 0 && c.passed(),
                    thresholds: c.thresholds.iter().map(ThresholdJson::from).collect(),
                    regression: c.regression.as_ref().map(RegressionJson::from),
                })
                .collect(),
            skipped: self.skipped.clone(),
        }
    }
}

/// A number for humans: at most 6 decimals, trailing zeros dropped (`0.988764`, `2484`).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The name of a threshold test case: `accuracy >= 0.9`.
pub fn threshold_case_name(c: &ThresholdCheck) -> String {
    format!("{} {} {}", c.metric, c.operator(), c.limit)
}

/// One test case per threshold check.
pub fn threshold_suite(name: &str, classname: &str, report: &ThresholdReport) -> Suite {
    let mut suite = Suite::new(name);
    for c in report.iter() {
        let case_name = threshold_case_name(c);
        let status = match c.outcome {
            Outcome::Passed => Status::Passed,
            Outcome::Failed => Status::Failed {
                message: c.to_string(),
                kind: "threshold".into(),
                detail: String::new(),
            },
            Outcome::Missing => Status::Error {
                message: c.to_string(),
                kind: "missing_metric".into(),
            },
        };
        let actual = c
            .actual
            .map_or_else(|| "not measured".to_string(), |a| a.to_string());
        let shown = c.actual.map_or_else(|| "not measured".to_string(), num);
        suite.push(
            Case::new(case_name, classname, status)
                .with_summary(format!("{} = {shown}", c.metric))
                .with_property("metric", c.metric)
                .with_property(c.kind(), c.limit)
                .with_property("actual", actual),
        );
    }
    suite
}

/// One test case per compared metric.
pub fn regression_suite(name: &str, classname: &str, report: &RegressionReport) -> Suite {
    let mut suite = Suite::new(name);
    for c in report.iter() {
        let status = match c.change {
            Change::Regressed => Status::Failed {
                message: c.to_string(),
                kind: "regression".into(),
                detail: String::new(),
            },
            Change::Missing => Status::Error {
                message: c.to_string(),
                kind: "missing_metric".into(),
            },
            Change::Improved | Change::Unchanged => Status::Passed,
        };
        let change = c
            .change_pct
            .map_or_else(|| "infinite".to_string(), |p| format!("{p:+.2} %"));
        let current = c
            .current
            .map_or_else(|| "not measured".to_string(), |v| v.to_string());
        let shown = c.current.map_or_else(|| "not measured".to_string(), num);
        suite.push(
            Case::new(
                format!("{} within {} % of baseline", c.metric, c.allowed_pct),
                classname,
                status,
            )
            .with_summary(format!(
                "{} → {shown} ({change}, {})",
                num(c.baseline),
                c.change.name()
            ))
            .with_property("metric", c.metric)
            .with_property("baseline", c.baseline)
            .with_property("current", current)
            .with_property("change_pct", change)
            .with_property("allowed_pct", c.allowed_pct),
        );
    }
    suite
}

/// A threshold check as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ThresholdJson {
    /// Metric name.
    pub metric: &'static str,
    /// `min` or `max`.
    pub kind: &'static str,
    /// The limit.
    pub limit: f64,
    /// The measured value (`null` when not measured or not finite).
    pub actual: Option<f64>,
    /// True when the check held.
    pub passed: bool,
}

impl From<&ThresholdCheck> for ThresholdJson {
    fn from(c: &ThresholdCheck) -> Self {
        Self {
            metric: c.metric.name(),
            kind: c.kind(),
            limit: c.limit,
            actual: c.actual.filter(|v| v.is_finite()),
            passed: c.passed(),
        }
    }
}

/// A comparison with the baseline as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ComparisonJson {
    /// Metric name.
    pub metric: &'static str,
    /// Baseline value.
    pub baseline: f64,
    /// Current value (`null` when not measured).
    pub current: Option<f64>,
    /// Relative change in percent (`null` when infinite: a zero baseline).
    pub change_pct: Option<f64>,
    /// The allowed regression, percent.
    pub allowed_pct: f64,
    /// `regressed`, `improved`, `unchanged` or `missing`.
    pub change: &'static str,
}

impl From<&Comparison> for ComparisonJson {
    fn from(c: &Comparison) -> Self {
        Self {
            metric: c.metric.name(),
            baseline: c.baseline,
            current: c.current.filter(|v| v.is_finite()),
            change_pct: c.change_pct,
            allowed_pct: c.allowed_pct,
            change: c.change.name(),
        }
    }
}

/// A regression report as JSON: the comparisons grouped by verdict.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RegressionJson {
    /// True when nothing regressed or went missing.
    pub passed: bool,
    /// Worse by more than allowed.
    pub regressions: Vec<ComparisonJson>,
    /// Better by more than allowed.
    pub improvements: Vec<ComparisonJson>,
    /// Within the allowed band.
    pub unchanged: Vec<ComparisonJson>,
    /// In the baseline, not measured now.
    pub missing: Vec<ComparisonJson>,
}

impl RegressionJson {
    /// Number of comparisons.
    pub fn len(&self) -> usize {
        self.regressions.len() + self.improvements.len() + self.unchanged.len() + self.missing.len()
    }

    /// True when the baseline held no metric.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&RegressionReport> for RegressionJson {
    fn from(r: &RegressionReport) -> Self {
        let group = |c| r.with_change(c).map(ComparisonJson::from).collect();
        Self {
            passed: r.passed(),
            regressions: group(Change::Regressed),
            improvements: group(Change::Improved),
            unchanged: group(Change::Unchanged),
            missing: group(Change::Missing),
        }
    }
}

/// A slice's verdict as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SliceJson {
    /// The slice expression.
    pub slice: String,
    /// Rows in the slice.
    pub n: usize,
    /// True when every check of the slice passed.
    pub passed: bool,
    /// Threshold checks.
    pub thresholds: Vec<ThresholdJson>,
    /// Comparison with the baseline's slice, if any.
    pub regression: Option<RegressionJson>,
}

/// The gate's verdict as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GateJson {
    /// True when every check passed.
    pub passed: bool,
    /// Threshold checks on the whole data.
    pub thresholds: Vec<ThresholdJson>,
    /// Comparison with the baseline, if one was given.
    pub regression: Option<RegressionJson>,
    /// Per-slice verdicts.
    pub slices: Vec<SliceJson>,
    /// Checks not run, each with the reason (a limit on latency or memory for a predictions
    /// file); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

impl GateJson {
    /// Number of checks: thresholds and comparisons, of the run and of every slice, and one
    /// per slice for "the slice has rows".
    pub fn checks(&self) -> usize {
        let one = |t: &[ThresholdJson], r: &Option<RegressionJson>| {
            t.len() + r.as_ref().map_or(0, RegressionJson::len)
        };
        one(&self.thresholds, &self.regression)
            + self
                .slices
                .iter()
                .map(|s| 1 + one(&s.thresholds, &s.regression))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::policy::tests::POLICY;
    use crate::report::{Exporter, Junit};
    use mlprobe_core::validate::Metric;
    use std::path::Path;

    #[test]
    fn gate_report_passes_and_fails_and_renders() {
        let pol = Policy::parse(Path::new("gate.toml"), POLICY).unwrap();
        let good = Metrics::new()
            .with(Metric::Accuracy, 0.95)
            .with(Metric::F1, 0.9)
            .with(Metric::LatencyP99, 10.0)
            .with(Metric::MemoryBytes, 1000.0);
        let base = Baseline::new(&good, &[("label == 2".into(), good)]);
        let r = GateReport::new(&pol, &good, &[("label == 2".into(), 7, good)], Some(&base));
        assert!(r.passed(), "{:?}", r.violations());
        assert!(r.violations().is_empty());

        // Accuracy 0.95 → 0.90 is −5.26 %, beyond the allowed 2.5 % but still ≥ 0.9.
        let worse = good.with(Metric::Accuracy, 0.90);
        let slice_bad = good.with(Metric::F1, 0.5);
        let r = GateReport::new(
            &pol,
            &worse,
            &[
                ("label == 2".into(), 7, slice_bad),
                ("alcohol > 13".into(), 0, Metrics::new()),
            ],
            Some(&base),
        );
        assert!(!r.passed());
        let v = r.violations();
        assert!(
            v[0].starts_with("regression: accuracy 0.95 -> 0.9 (-5.26 %"),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|s| s.starts_with("[slice label == 2] f1_macro 0.5 violates min 0.8")),
            "{v:?}"
        );
        let json = serde_json::to_value(r.to_json()).unwrap();
        assert_eq!(json["passed"], false);
        assert_eq!(json["regression"]["regressions"][0]["metric"], "accuracy");
        assert_eq!(json["regression"]["unchanged"].as_array().unwrap().len(), 3);
        assert_eq!(json["slices"][1]["n"], 0);
        // thresholds 4 + regression 4 + slice (2 quality thresholds + 4 comparisons) + empty
        // slice (2 quality thresholds), and "has rows" for each of the 2 slices; the empty one
        // fails (issue 15).
        assert_eq!(r.to_json().checks(), 4 + 4 + 6 + 2 + 2);
        assert_eq!(json["slices"][1]["passed"], false);
        assert_eq!(
            v.last().map(String::as_str),
            Some("[slice alcohol > 13] no row matches `alcohol > 13`")
        );

        let report = r.to_report("mlprobe eval");
        let names: Vec<_> = report.suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "thresholds",
                "regression",
                "slice: label == 2",
                "slice: alcohol > 13"
            ]
        );
        // thresholds 4 + regression 4 + slice (2 quality thresholds: latency and memory are the
        // model's, not a slice's + 4 regression) + empty slice (2 missing metrics + "has rows").
        assert_eq!(report.tests(), 4 + 4 + 6 + 3);
        // the accuracy regression; the slice's F1 threshold and F1 regression; the empty slice.
        assert_eq!(report.failures(), 1 + 2 + 1);
        assert_eq!(report.errors(), 2);
        roxmltree::Document::parse(&String::from_utf8(Junit.export(&report).unwrap()).unwrap())
            .unwrap();
    }
}
