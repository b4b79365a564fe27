//! Evaluation and the quality gate: the library behind `mlprobe eval` and the `eval` stage of
//! `mlprobe run`.
//!
//! [`evaluate`] measures a model on a labelled CSV file ([`EvalReport`]: accuracy, macro and
//! per-class precision/recall/F1, confusion, latency, memory) and gates it: thresholds from a
//! TOML [`Policy`] and from options, regression against a JSON [`Baseline`], [slices](Predicate)
//! each gated on its own, and CI reports (JUnit, Markdown). The rules (which metric is checked
//! which way, the allowed band, what a slice is held to) are core's
//! ([`mlprobe_core::validate`]); this module reads and writes the files around them.
//!
//! [`search()`] looks for the weak segments among one- and two-feature subgroups of the rows
//! (`mlprobe slices`): which slices are worth gating.
//!
//! The figures can also come from any other model's predictions: a CSV file of labels,
//! predictions and optionally probabilities ([`Predictions`], [`Source::Predictions`],
//! `mlprobe eval --predictions`), gated the same way; it has no latency or memory, so a limit on
//! them is a skipped check with its reason.
//!
//! ```no_run
//! use mlprobe::eval::{EvalOptions, evaluate};
//! use mlprobe_core::validate::Metric;
//! let mut opts = EvalOptions::new("wine.mlpb", "data/wine.csv");
//! opts.gate.thresholds.set(Metric::Accuracy, 0.9).unwrap();
//! opts.gate.slices.push("alcohol > 13".parse()?);
//! let report = evaluate(&opts)?;
//! println!("{}", report.human());
//! assert!(report.passed);
//! # Ok::<(), mlprobe::error::Error>(())
//! ```

mod baseline;
mod gate;
mod metrics;
mod policy;
mod predictions;
pub mod search;
mod slices;

pub use baseline::{Baseline, baseline_of};
pub use gate::{
    ComparisonJson, GateJson, GateReport, RegressionJson, SliceJson, ThresholdJson, num,
    regression_suite, threshold_case_name, threshold_suite,
};
pub use metrics::{
    ClassReport, EvalReport, Memory, NonFiniteRows, SliceReport, confusion, evaluate_rows,
    measure_latency, memory, metrics_of, predicted, report_of,
};
pub use policy::Policy;
pub use predictions::{
    PREDICTION_COLUMN, PROBABILITY_PREFIX, PROBABILITY_SUM_TOLERANCE, Predictions,
};
pub use search::{SearchOptions, SearchReport, Segment, SlicesOptions, search, slices};
pub use slices::{BoundCondition, BoundPredicate, CmpOp, Condition, Predicate};

use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::model_io::{self, HostModel};
use crate::output;
use crate::report::{Exporter, Junit, Markdown};
use mlprobe_core::metrics::ConfusionMatrix;
use mlprobe_core::mlp::MAX_CLASSES;
use mlprobe_core::validate::{Metric, Metrics, RegressionPolicy, Thresholds};
use std::path::{Path, PathBuf};

/// Where the predictions come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A model of ours run on a labelled CSV file (`--model M --data D`).
    Model {
        /// The model file.
        model: PathBuf,
        /// The labelled CSV file.
        data: PathBuf,
    },
    /// Another model's predictions: a CSV file with the label, `prediction` and optionally
    /// `p_0` … columns (`--predictions FILE`); see [`Predictions`].
    Predictions(PathBuf),
}

impl Source {
    /// The files read, and their roles for reports (`model`, `data`, `predictions`).
    pub fn files(&self) -> Vec<(&'static str, &Path)> {
        match self {
            Self::Model { model, data } => vec![("model", model), ("data", data)],
            Self::Predictions(p) => vec![("predictions", p)],
        }
    }
}

/// What to evaluate, and how to gate it.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// The model and its data, or a predictions file.
    pub source: Source,
    /// Name of the label column (`label`).
    pub label: String,
    /// Single-row inferences timed for the latency percentiles (10 000; 0 counts as 1).
    pub latency_samples: usize,
    /// The quality gate.
    pub gate: GateOptions,
}

impl EvalOptions {
    /// `model` on `data` with the defaults of `mlprobe eval` and no gate.
    pub fn new(model: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        Self::of(Source::Model {
            model: model.into(),
            data: data.into(),
        })
    }

    /// A predictions file (`mlprobe eval --predictions`) with the defaults and no gate.
    pub fn predictions(file: impl Into<PathBuf>) -> Self {
        Self::of(Source::Predictions(file.into()))
    }

    fn of(source: Source) -> Self {
        Self {
            source,
            label: "label".into(),
            latency_samples: 10_000,
            gate: GateOptions::default(),
        }
    }

    /// The files the evaluation reads (the model and the data or the predictions, the policy,
    /// the baseline): no output may replace one of them.
    pub fn inputs(&self) -> Vec<&Path> {
        let mut v: Vec<&Path> = self.source.files().into_iter().map(|(_, p)| p).collect();
        v.extend(self.gate.policy.as_deref());
        v.extend(self.gate.baseline.as_deref());
        v
    }
}

/// The quality gate's options: the policy (a file, then thresholds, allowed regression and
/// slices over it), the baseline, and the files to write.
#[derive(Clone, Debug, Default)]
pub struct GateOptions {
    /// TOML policy file, read first (`--policy`).
    pub policy: Option<PathBuf>,
    /// Limits over the policy's (`--min-accuracy` …).
    pub thresholds: Thresholds,
    /// Allowed regression of every metric against the baseline, percent, over the policy's
    /// (`--allowed-regression-pct`; default: the policy's, else 5).
    pub allowed_regression_pct: Option<f64>,
    /// Slices added to the policy's (`--slice`).
    pub slices: Vec<Predicate>,
    /// A baseline to compare with (`--baseline`).
    pub baseline: Option<PathBuf>,
    /// Where to record this run's metrics as a baseline (`--save-baseline`).
    pub save_baseline: Option<PathBuf>,
    /// Also record latency and peak RSS in the saved baseline (`--baseline-latency`).
    pub baseline_latency: bool,
    /// Where to write a JUnit XML report (`--junit`).
    pub junit: Option<PathBuf>,
    /// Where to write a Markdown summary (`--markdown`).
    pub markdown: Option<PathBuf>,
    /// Pass rows with non-finite features or logits (left out of the metrics) instead of
    /// failing (`--allow-nonfinite`).
    pub allow_nonfinite: bool,
}

impl GateOptions {
    /// The policy: the file's (if any), then the options over it.
    pub fn policy(&self) -> Result<Policy> {
        let mut policy = match &self.policy {
            Some(p) => Policy::load(p)?,
            None => Policy::default(),
        };
        for m in Metric::ALL {
            if let Some(limit) = self.thresholds.get(m) {
                policy
                    .gate
                    .thresholds
                    .set(m, limit)
                    .map_err(|e| Error::Internal(e.to_string()))?;
            }
        }
        if let Some(pct) = self.allowed_regression_pct {
            policy.gate.regression = RegressionPolicy::new(pct)
                .map_err(|e| Error::Usage(format!("--allowed-regression-pct: {e}")))?;
        }
        for s in &self.slices {
            policy.add_slice(s.clone());
        }
        policy.allow_nonfinite = self.allow_nonfinite;
        Ok(policy)
    }

    /// True when any check or report of the gate was asked for: then `gate` is in the JSON.
    pub fn requested(&self, policy: &Policy) -> bool {
        !policy.gate.thresholds.is_empty()
            || !policy.slices.is_empty()
            || self.baseline.is_some()
            || self.junit.is_some()
            || self.markdown.is_some()
            || self.policy.is_some()
    }
}

/// Evaluates and gates a model on a file: reads the inputs (a bad policy, slice or baseline
/// fails before any work), checks every row, writes the baseline and the reports asked for.
/// `passed` and `violations` of the report say whether the gate held.
pub fn evaluate(opts: &EvalOptions) -> Result<EvalReport> {
    if opts.gate.baseline_latency && opts.gate.save_baseline.is_none() {
        return Err(Error::Usage(
            "--baseline-latency: needs --save-baseline".into(),
        ));
    }
    let outputs: Vec<&Path> = [
        &opts.gate.save_baseline,
        &opts.gate.junit,
        &opts.gate.markdown,
    ]
    .into_iter()
    .flatten()
    .map(PathBuf::as_path)
    .collect();
    for out in &outputs {
        output::check_output(out, &opts.inputs())?;
    }
    output::check_distinct(&outputs)?;
    let policy = opts.gate.policy()?;
    let baseline = opts
        .gate
        .baseline
        .as_deref()
        .map(Baseline::load)
        .transpose()?;
    let Gated {
        mut report,
        gate,
        overall,
        slice_metrics,
    } = match &opts.source {
        Source::Model { model, data } => {
            let model = model_io::load(model)?;
            let data = model_io::bind(&model, data::load(data, Labels::Required(&opts.label))?)?;
            let rows: Vec<usize> = (0..data.rows()).collect();
            evaluate_gated(
                &model,
                &data,
                &rows,
                &opts.label,
                &policy,
                baseline.as_ref(),
                opts.latency_samples.max(1),
            )?
        }
        Source::Predictions(file) => {
            if opts.gate.baseline_latency {
                return Err(Error::Usage(format!(
                    "--baseline-latency: a predictions file ({}) has no latency to record",
                    file.display()
                )));
            }
            let p = Predictions::load(file, &opts.label)?;
            evaluate_predictions_gated(&p, &opts.label, &policy, baseline.as_ref())?
        }
    };
    if opts.gate.requested(&policy) {
        report.gate = Some(gate.to_json());
    }

    let inputs = opts.inputs();
    if let Some(path) = &opts.gate.save_baseline {
        let mut b = baseline_of(&overall, &slice_metrics, opts.gate.baseline_latency);
        for (role, file) in opts.source.files() {
            b.info.insert(role.into(), file.display().to_string());
        }
        b.info
            .insert("mlprobe".into(), env!("CARGO_PKG_VERSION").to_string());
        b.save(path, &inputs)?;
    }
    let files: [(&Option<PathBuf>, &dyn Exporter); 2] =
        [(&opts.gate.junit, &Junit), (&opts.gate.markdown, &Markdown)];
    if files.iter().any(|(p, _)| p.is_some()) {
        let mut r = gate.to_report("mlprobe eval");
        for suite in &mut r.suites {
            for (role, file) in opts.source.files() {
                suite
                    .properties
                    .push((role.into(), file.display().to_string()));
            }
        }
        for (path, exporter) in files {
            if let Some(path) = path {
                output::write_new(path, &exporter.export(&r)?, &inputs)?;
            }
        }
    }
    Ok(report)
}

/// An evaluation with its quality gate.
#[derive(Debug)]
pub struct Gated {
    /// The `eval` figures, `passed` and `violations` filled in.
    pub report: EvalReport,
    /// The gate's verdicts.
    pub gate: GateReport,
    /// The metrics the gate saw for all the rows.
    pub overall: Metrics,
    /// Each slice: expression, row count, metrics.
    pub slice_metrics: Vec<(String, usize, Metrics)>,
}

/// Evaluates `model` on `rows` of `data` (labelled with column `label`) and checks the result
/// and each slice of `policy` against its thresholds and, when given, a baseline.
pub fn evaluate_gated(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
    label: &str,
    policy: &Policy,
    baseline: Option<&Baseline>,
    latency_samples: usize,
) -> Result<Gated> {
    let mut report = evaluate_rows(model, data, rows, latency_samples)?;
    let overall = metrics_of(&report);
    let (slices, slice_metrics) = slices_of(data, rows, label, policy, |r| {
        // Non-finite rows are reported once, for the whole evaluation.
        Ok(confusion(model, data, r)?.0)
    })?;
    report.slices = slices;
    let mut gate = GateReport::new(policy, &overall, &slice_metrics, baseline);
    // Issue 15: a row with an infinite feature scored as class 0, silently. It fails the gate
    // (and so JUnit, Markdown and `run`) unless the policy allows it.
    if !policy.allow_nonfinite {
        gate.nonfinite = crate::predict::nonfinite_message(
            &data.path,
            rows.len(),
            &report.nonfinite,
            &data.lines,
        )
        .map(|m| format!("{m}: they are left out of the metrics"));
    }
    report.passed = gate.passed();
    report.violations = gate.violations();
    Ok(Gated {
        report,
        gate,
        overall,
        slice_metrics,
    })
}

/// Evaluates a predictions file and checks the result and each slice of `policy` against its
/// thresholds and, when given, a baseline. No model ran, so latency and memory were not
/// measured: their limits, and their values in the baseline, are skipped with the reason
/// ([`GateReport::skipped`]) instead of failing as missing or passing silently.
pub fn evaluate_predictions_gated(
    p: &Predictions,
    label: &str,
    policy: &Policy,
    baseline: Option<&Baseline>,
) -> Result<Gated> {
    let rows: Vec<usize> = (0..p.labels.len()).collect();
    let mut report = report_of(&*p.confusion(&rows)?, p.classes, rows.len());
    let overall = metrics_of(&report);
    let (slices, slice_metrics) = slices_of(&p.data, &rows, label, policy, |r| p.confusion(r))?;
    report.slices = slices;

    let why = format!(
        "{} is a predictions file: no model ran here, so latency and memory were not measured",
        p.data.path.display()
    );
    let mut quality = policy.clone();
    quality.gate.thresholds = policy.gate.thresholds.quality_only();
    let mut skipped: Vec<String> = Metric::ALL
        .into_iter()
        .filter(|m| !m.is_quality())
        .filter_map(|m| {
            let limit = policy.gate.thresholds.get(m)?;
            let op = m.direction().operator();
            Some(format!("{m} {op} {limit}: skipped: {why}"))
        })
        .collect();
    let baseline = baseline.map(|b| {
        let mut b = b.clone();
        b.metrics.retain(|name, _| match Metric::from_name(name) {
            Some(m) if !m.is_quality() => {
                let allowed = policy.gate.regression.allowed(m);
                skipped.push(format!(
                    "{name} within {allowed} % of baseline: skipped: {why}"
                ));
                false
            }
            _ => true,
        });
        for m in b.slices.values_mut() {
            m.retain(|name, _| Metric::from_name(name).is_none_or(Metric::is_quality));
        }
        b
    });
    let mut gate = GateReport::new(&quality, &overall, &slice_metrics, baseline.as_ref());
    gate.skipped = skipped;
    report.passed = gate.passed();
    report.violations = gate.violations();
    Ok(Gated {
        report,
        gate,
        overall,
        slice_metrics,
    })
}

/// The rows of `rows` in each slice, in order. Slices see every feature column of `data` and
/// its label column (named `label`); a slice naming another column is a usage error.
pub fn slice_rows(
    data: &Dataset,
    rows: &[usize],
    label: &str,
    slices: &[Predicate],
) -> Result<Vec<Vec<usize>>> {
    let mut header = data.feature_names.clone();
    header.push(label.to_string());
    let bound = slices
        .iter()
        .map(|p| p.bind(&header))
        .collect::<Result<Vec<_>>>()?;
    let labels = data.labels.as_deref().unwrap_or_default();
    let mut row_buf = Vec::with_capacity(header.len());
    Ok(bound
        .iter()
        .map(|b| {
            rows.iter()
                .copied()
                .filter(|&i| {
                    row_buf.clear();
                    row_buf.extend_from_slice(data.row(i));
                    row_buf.push(labels.get(i).map_or(f32::NAN, |&l| f32::from(l)));
                    b.matches(&row_buf)
                })
                .collect()
        })
        .collect())
}

/// A slice's expression, row count and metrics.
type SliceMetrics = (String, usize, Metrics);

/// The slices of `policy` over `rows` of `data` (labelled with column `label`): each one's
/// report and metrics, from the confusion matrix `confusion_of` gives for its rows.
fn slices_of(
    data: &Dataset,
    rows: &[usize],
    label: &str,
    policy: &Policy,
    mut confusion_of: impl FnMut(&[usize]) -> Result<Box<ConfusionMatrix<MAX_CLASSES>>>,
) -> Result<(Vec<SliceReport>, Vec<SliceMetrics>)> {
    let members = slice_rows(data, rows, label, &policy.slices)?;
    let mut reports = Vec::new();
    let mut slice_metrics = Vec::new();
    for (pred, in_slice) in policy.slices.iter().zip(members) {
        let mut m = Metrics::new();
        let mut slice = SliceReport {
            slice: pred.expr.clone(),
            n: in_slice.len(),
            accuracy: 0.0,
            precision_macro: 0.0,
            recall_macro: 0.0,
            f1_macro: 0.0,
        };
        if !in_slice.is_empty() {
            let cm = confusion_of(&in_slice)?;
            m.set_classification(&*cm);
            slice.accuracy = cm.accuracy();
            slice.precision_macro = m.get(Metric::Precision).unwrap_or_default();
            slice.recall_macro = m.get(Metric::Recall).unwrap_or_default();
            slice.f1_macro = m.get(Metric::F1).unwrap_or_default();
        }
        reports.push(slice);
        slice_metrics.push((pred.expr.clone(), in_slice.len(), m));
    }
    Ok((reports, slice_metrics))
}
