//! `mlprobe eval`: metrics of a model on a labelled CSV file, and the quality gate.
//!
//! The gate (issue 3): thresholds from flags or a TOML policy (`--policy`), regression against
//! a JSON baseline (`--baseline`, `--save-baseline`), slices (`--slice EXPR`, each gated by
//! the same thresholds), and CI reports (`--junit`, `--markdown`). Exit 1 when a check fails.
//!
//! Latency is measured on this host through core's [`Model::infer`](mlprobe_core::mlp::Model):
//! a warm-up, then `--latency-samples` single-row calls (cycling over the rows), each timed
//! with [`Instant`] and recorded in nanoseconds into a [`Sketch`] (relative error ≤ 1/128;
//! max exact). Memory is the model's bytes (normalizer and weights, `f32`) plus the inference
//! scratch, and the process's peak RSS (`VmHWM` of `/proc/self/status`, Linux only).

use crate::commands::{Outcome, emit};
use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::gate::{Baseline, GateJson, GateReport, Policy, Predicate};
pub use crate::measure::{Latency, latency_of, peak_rss_bytes};
pub use crate::model_io::check_fit;
use crate::model_io::{self, HostModel};
use crate::output;
use crate::report::Report;
use mlprobe_core::metrics::ConfusionMatrix;
use mlprobe_core::mlp::MAX_CLASSES;
use mlprobe_core::sketch::Sketch;
use mlprobe_core::validate::{Metric, Metrics};
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Evaluate a model on a labelled CSV file.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe eval --model wine.mlpb --data data/wine.csv --json\n  \
        mlprobe eval --model wine.mlpb --data data/wine.csv --min-accuracy 0.9 \\\n      \
        --baseline baseline.json --slice 'alcohol > 13' --junit report.xml --markdown summary.md"
)]
pub struct Args {
    /// The model file (written by `mlprobe train` or `mlprobe import`).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// CSV file with a header row, the model's feature columns in its training order, and a
    /// label column.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Print one JSON document on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Single-row inferences timed for the latency percentiles (cycling over the rows).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub latency_samples: usize,
    /// The quality gate's flags (boxed: they are many and mostly absent).
    #[command(flatten)]
    pub gate: Box<GateArgs>,
}

/// The quality gate: thresholds, baseline, slices and CI reports.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Quality gate")]
pub struct GateArgs {
    /// TOML policy: `[thresholds]` (`min_accuracy = 0.9`, `max_latency_p99_us = 500` …),
    /// `[regression] allowed_pct = 5.0`, `slices = ["alcohol > 13"]`. Flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub policy: Option<PathBuf>,
    /// Fail when accuracy is below this.
    #[arg(long, value_name = "X")]
    pub min_accuracy: Option<f64>,
    /// Fail when macro precision is below this.
    #[arg(long, value_name = "X")]
    pub min_precision: Option<f64>,
    /// Fail when macro recall is below this.
    #[arg(long, value_name = "X")]
    pub min_recall: Option<f64>,
    /// Fail when macro F1 is below this.
    #[arg(long, value_name = "X")]
    pub min_f1: Option<f64>,
    /// Fail when the p99 latency per inference (µs, this host) is above this.
    #[arg(long, value_name = "US")]
    pub max_latency_p99_us: Option<f64>,
    /// Fail when model bytes plus inference scratch are above this.
    #[arg(long, value_name = "BYTES")]
    pub max_memory_bytes: Option<f64>,
    /// Fail when the process's peak RSS is above this (Linux).
    #[arg(long, value_name = "BYTES")]
    pub max_peak_rss_bytes: Option<f64>,
    /// Compare with a baseline saved by `--save-baseline`: every metric in it may worsen by at
    /// most the allowed percentage.
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,
    /// Allowed regression against the baseline, percent, for every metric (default: the
    /// policy's, else 5).
    #[arg(long, value_name = "PCT")]
    pub allowed_regression_pct: Option<f64>,
    /// Record this run's metrics (and its slices') as a baseline.
    #[arg(long, value_name = "FILE.json")]
    pub save_baseline: Option<PathBuf>,
    /// Also record latency percentiles and peak RSS in the saved baseline (they depend on the
    /// machine and its load; by default a baseline holds quality metrics and model memory).
    #[arg(long, requires = "save_baseline")]
    pub baseline_latency: bool,
    /// A subgroup to evaluate and gate on its own: `COLUMN OP NUMBER` with <, <=, >, >=, ==,
    /// != (e.g. 'alcohol > 13', 'label == 2'). Repeatable.
    #[arg(long = "slice", value_name = "EXPR")]
    pub slices: Vec<String>,
    /// Write a JUnit XML report (each threshold, regression and slice check a testcase).
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary table (for a CI job summary).
    #[arg(long, value_name = "FILE.md")]
    pub markdown: Option<PathBuf>,
}

/// One class's row of the report.
#[derive(Clone, Debug, Serialize)]
pub struct ClassReport {
    /// The class label.
    pub label: usize,
    /// Precision (0 when the class was never predicted).
    pub precision: f64,
    /// Recall (0 when the class has no example).
    pub recall: f64,
    /// F1.
    pub f1: f64,
    /// Examples of the class.
    pub support: u32,
}

/// The `eval` JSON document (DESIGN.md).
#[derive(Clone, Debug, Serialize)]
pub struct EvalReport {
    /// Rows evaluated.
    pub n: usize,
    /// Fraction predicted right.
    pub accuracy: f64,
    /// Macro precision (scikit-learn semantics).
    pub precision_macro: f64,
    /// Macro recall.
    pub recall_macro: f64,
    /// Macro F1: the mean of per-class F1.
    pub f1_macro: f64,
    /// Per-class figures, for labels present in truth or prediction.
    pub per_class: Vec<ClassReport>,
    /// Confusion matrix, rows = true label, columns = predicted label, `classes × classes`.
    pub confusion: Vec<Vec<u32>>,
    /// Per-inference latency on this host.
    pub latency_us: Latency,
    /// Model and process memory.
    pub memory: Memory,
    /// True when every check passed.
    pub passed: bool,
    /// The failed checks, one sentence each.
    pub violations: Vec<String>,
    /// Metrics of each `--slice`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub slices: Vec<SliceReport>,
    /// Every check of the gate (thresholds, regression, slices), when any was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateJson>,
}

/// Memory of the model and of the process.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Memory {
    /// Normalizer and weights, `f32`.
    pub model_bytes: usize,
    /// Inference scratch (`Dims::scratch_len` `f32`).
    pub scratch_bytes: usize,
    /// `model_bytes + scratch_bytes`: the `memory_bytes` metric.
    pub total_bytes: usize,
    /// Peak resident set size of this process (`VmHWM`), when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// Metrics of one slice.
#[derive(Clone, Debug, Serialize)]
pub struct SliceReport {
    /// The expression.
    pub slice: String,
    /// Rows in the slice.
    pub n: usize,
    /// Accuracy on the slice.
    pub accuracy: f64,
    /// Macro precision on the slice.
    pub precision_macro: f64,
    /// Macro recall on the slice.
    pub recall_macro: f64,
    /// Macro F1 on the slice.
    pub f1_macro: f64,
}

/// Single-row inferences before timing starts (caches, branch predictors, CPU frequency).
const WARM_UP: usize = 256;

/// The confusion matrix of `model` on the given rows of `data` (which must have labels).
pub fn confusion(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
) -> Result<Box<ConfusionMatrix<MAX_CLASSES>>> {
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| Error::Internal("evaluate needs labels".into()))?;
    let mut scratch = vec![0.0f32; model.dims().scratch_len()];
    let mut cm = Box::new(ConfusionMatrix::<MAX_CLASSES>::new());
    for &i in rows {
        let pred = model
            .predict(data.row(i), &mut scratch)
            .map_err(infer_err)?;
        cm.record(usize::from(labels[i]), pred)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    Ok(cm)
}

fn infer_err(e: mlprobe_core::mlp::MlpError) -> Error {
    Error::Internal(format!("inference: {e}"))
}

/// Times `samples` single-row calls of core's `Model::infer`, cycling over `rows`, after a
/// warm-up; nanoseconds into a sketch (a call over `u32::MAX` ns, 4.29 s, is pinned there).
pub fn measure_latency(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
    samples: usize,
) -> Result<Box<Sketch>> {
    let mut sketch = Box::new(Sketch::new());
    let mut scratch = vec![0.0f32; model.dims().scratch_len()];
    if rows.is_empty() {
        return Ok(sketch);
    }
    let cycle = rows.iter().cycle();
    for &i in cycle.clone().take(WARM_UP.min(samples.max(rows.len()))) {
        std::hint::black_box(model.infer(data.row(i), &mut scratch).map_err(infer_err)?);
    }
    for &i in cycle.take(samples) {
        let x = std::hint::black_box(data.row(i));
        let start = Instant::now();
        let logits = model.infer(x, &mut scratch).map_err(infer_err)?;
        std::hint::black_box(logits);
        let ns = start.elapsed().as_nanos();
        sketch.record(u32::try_from(ns).unwrap_or(u32::MAX));
    }
    Ok(sketch)
}

/// Memory of the model (normalizer mean and std, weights), of its inference scratch, and the
/// process's peak RSS.
pub fn memory(model: &HostModel) -> Memory {
    let d = model.dims();
    let f32s = 2 * d.inputs + d.param_count();
    let model_bytes = f32s * size_of::<f32>();
    let scratch_bytes = d.scratch_len() * size_of::<f32>();
    Memory {
        model_bytes,
        scratch_bytes,
        total_bytes: model_bytes + scratch_bytes,
        peak_rss_bytes: peak_rss_bytes(),
    }
}

/// Evaluates `model` on the given rows of `data` (which must have labels and fit the model),
/// timing one single-row inference per row.
pub fn evaluate(model: &HostModel, data: &Dataset, rows: &[usize]) -> Result<EvalReport> {
    evaluate_with(model, data, rows, rows.len())
}

/// [`evaluate`] with `latency_samples` timed inferences.
pub fn evaluate_with(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
    latency_samples: usize,
) -> Result<EvalReport> {
    let d = model.dims();
    let cm = confusion(model, data, rows)?;
    let sketch = measure_latency(model, data, rows, latency_samples)?;
    let m = cm.macro_stats();
    let per_class = (0..d.outputs)
        .filter(|&k| cm.is_present(k))
        .map(|k| {
            let s = cm.class_stats(k);
            ClassReport {
                label: k,
                precision: s.precision,
                recall: s.recall,
                f1: s.f1,
                support: s.support,
            }
        })
        .collect();
    let confusion = cm.counts()[..d.outputs]
        .iter()
        .map(|row| row[..d.outputs].to_vec())
        .collect();
    Ok(EvalReport {
        n: rows.len(),
        accuracy: cm.accuracy(),
        precision_macro: m.precision,
        recall_macro: m.recall,
        f1_macro: m.f1,
        per_class,
        confusion,
        latency_us: latency_of(&sketch),
        memory: memory(model),
        passed: true,
        violations: Vec::new(),
        slices: Vec::new(),
        gate: None,
    })
}

/// The gate's metrics of an evaluation.
pub fn metrics_of(r: &EvalReport) -> Metrics {
    let mut m = Metrics::new()
        .with(Metric::Accuracy, r.accuracy)
        .with(Metric::Precision, r.precision_macro)
        .with(Metric::Recall, r.recall_macro)
        .with(Metric::F1, r.f1_macro)
        .with(Metric::MemoryBytes, r.memory.total_bytes as f64);
    if r.n > 0 {
        let l = &r.latency_us;
        m.set(Metric::LatencyP50, l.p50);
        m.set(Metric::LatencyP95, l.p95);
        m.set(Metric::LatencyP99, l.p99);
        m.set(Metric::LatencyP999, l.p999);
    }
    if let Some(rss) = r.memory.peak_rss_bytes {
        m.set(Metric::PeakRssBytes, rss as f64);
    }
    m
}

/// The human-readable report.
pub fn render(r: &EvalReport) -> String {
    let mut s = format!(
        "rows {}  accuracy {:.4}  precision {:.4}  recall {:.4}  f1 {:.4}  (macro)\n",
        r.n, r.accuracy, r.precision_macro, r.recall_macro, r.f1_macro
    );
    s += "class  precision  recall  f1      support\n";
    for c in &r.per_class {
        s += &format!(
            "{:<5}  {:<9.4}  {:<6.4}  {:<6.4}  {}\n",
            c.label, c.precision, c.recall, c.f1, c.support
        );
    }
    s += "confusion (rows = true label):\n";
    for row in &r.confusion {
        s += &format!(
            "  {}\n",
            row.iter().map(|c| format!("{c:>5}")).collect::<String>()
        );
    }
    let l = &r.latency_us;
    s += &format!(
        "latency µs  p50 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}\n",
        l.p50, l.p95, l.p99, l.p999, l.max
    );
    let mem = &r.memory;
    s += &format!(
        "memory  model {} B + scratch {} B = {} B",
        mem.model_bytes, mem.scratch_bytes, mem.total_bytes
    );
    if let Some(rss) = mem.peak_rss_bytes {
        s += &format!("  peak RSS {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
    }
    s += "\n";
    for sl in &r.slices {
        s += &format!(
            "slice {:<24} rows {:<5} accuracy {:.4}  precision {:.4}  recall {:.4}  f1 {:.4}\n",
            sl.slice, sl.n, sl.accuracy, sl.precision_macro, sl.recall_macro, sl.f1_macro
        );
    }
    if let Some(g) = &r.gate {
        let checks = g.thresholds.len()
            + g.regression.as_ref().map_or(0, regression_len)
            + g.slices
                .iter()
                .map(|s| s.thresholds.len() + s.regression.as_ref().map_or(0, regression_len))
                .sum::<usize>();
        s += &format!(
            "gate: {} ({checks} checks)\n",
            if g.passed { "passed" } else { "FAILED" }
        );
    }
    if !r.violations.is_empty() {
        s += "FAILED:\n";
        for v in &r.violations {
            s += &format!("  - {v}\n");
        }
    }
    s
}

fn regression_len(r: &crate::gate::RegressionJson) -> usize {
    r.regressions.len() + r.improvements.len() + r.unchanged.len() + r.missing.len()
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
    // Slices see every feature column and the label column.
    let mut header = data.feature_names.clone();
    header.push(label.to_string());
    let bound = policy
        .slices
        .iter()
        .map(|p| p.bind(&header))
        .collect::<std::result::Result<Vec<_>, _>>()?;

    let mut report = evaluate_with(model, data, rows, latency_samples)?;
    let overall = metrics_of(&report);

    let labels = data.labels.as_deref().unwrap_or_default();
    let mut slice_metrics = Vec::new();
    let mut row_buf = Vec::with_capacity(header.len());
    for (pred, b) in policy.slices.iter().zip(&bound) {
        let in_slice: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| {
                row_buf.clear();
                row_buf.extend_from_slice(data.row(i));
                row_buf.push(labels.get(i).map_or(f32::NAN, |&l| f32::from(l)));
                b.matches(&row_buf)
            })
            .collect();
        let mut m = Metrics::new();
        if !in_slice.is_empty() {
            let cm = confusion(model, data, &in_slice)?;
            m.set_classification(&*cm);
            report.slices.push(SliceReport {
                slice: pred.expr.clone(),
                n: in_slice.len(),
                accuracy: cm.accuracy(),
                precision_macro: m.get(Metric::Precision).unwrap_or_default(),
                recall_macro: m.get(Metric::Recall).unwrap_or_default(),
                f1_macro: m.get(Metric::F1).unwrap_or_default(),
            });
        } else {
            report.slices.push(SliceReport {
                slice: pred.expr.clone(),
                n: 0,
                accuracy: 0.0,
                precision_macro: 0.0,
                recall_macro: 0.0,
                f1_macro: 0.0,
            });
        }
        slice_metrics.push((pred.expr.clone(), in_slice.len(), m));
    }

    let gate = GateReport::new(policy, &overall, &slice_metrics, baseline);
    report.passed = gate.passed();
    report.violations = gate.violations();
    Ok(Gated {
        report,
        gate,
        overall,
        slice_metrics,
    })
}

/// A baseline of an evaluation: its metrics and those of its non-empty slices. Latency and peak
/// RSS depend on the machine and its load, so they are left out unless `machine_metrics`.
pub fn baseline_of(
    overall: &Metrics,
    slices: &[(String, usize, Metrics)],
    machine_metrics: bool,
) -> Baseline {
    let mut keep = *overall;
    if !machine_metrics {
        for m in [
            Metric::LatencyP50,
            Metric::LatencyP95,
            Metric::LatencyP99,
            Metric::LatencyP999,
            Metric::PeakRssBytes,
        ] {
            keep.unset(m);
        }
    }
    let slices: Vec<(String, Metrics)> = slices
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(e, _, m)| (e.clone(), *m))
        .collect();
    Baseline::new(&keep, &slices)
}

/// The policy of the flags: `--policy` first, then the threshold flags over it.
fn policy_of(args: &Args) -> Result<Policy> {
    let mut policy = match &args.gate.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    let flags = [
        ("--min-accuracy", Metric::Accuracy, args.gate.min_accuracy),
        (
            "--min-precision",
            Metric::Precision,
            args.gate.min_precision,
        ),
        ("--min-recall", Metric::Recall, args.gate.min_recall),
        ("--min-f1", Metric::F1, args.gate.min_f1),
        (
            "--max-latency-p99-us",
            Metric::LatencyP99,
            args.gate.max_latency_p99_us,
        ),
        (
            "--max-memory-bytes",
            Metric::MemoryBytes,
            args.gate.max_memory_bytes,
        ),
        (
            "--max-peak-rss-bytes",
            Metric::PeakRssBytes,
            args.gate.max_peak_rss_bytes,
        ),
    ];
    for (flag, metric, value) in flags {
        if let Some(v) = value {
            policy.set_threshold(flag, metric, v)?;
        }
    }
    if let Some(pct) = args.gate.allowed_regression_pct {
        policy.set_allowed_pct("--allowed-regression-pct", pct)?;
    }
    for s in &args.gate.slices {
        let p: Predicate = s.parse()?;
        if !policy.slices.iter().any(|q| q.expr == p.expr) {
            policy.slices.push(p);
        }
    }
    Ok(policy)
}

/// True when the run asked for any check or report of the gate.
fn gate_requested(args: &Args, policy: &Policy) -> bool {
    !policy.thresholds.is_empty()
        || !policy.slices.is_empty()
        || args.gate.baseline.is_some()
        || args.gate.junit.is_some()
        || args.gate.markdown.is_some()
        || args.gate.policy.is_some()
}

/// Runs `mlprobe eval`.
pub fn run(args: Args) -> Result<Outcome> {
    // Inputs first, so a bad policy, slice or baseline fails before any work (exit 2).
    let policy = policy_of(&args)?;
    let baseline = args
        .gate
        .baseline
        .as_deref()
        .map(Baseline::load)
        .transpose()?;
    let model = model_io::load(&args.model)?;
    let data = data::load(&args.data, Labels::Required(&args.label))?;
    check_fit(&model, &data)?;
    let rows: Vec<usize> = (0..data.rows()).collect();
    let Gated {
        mut report,
        gate,
        overall,
        slice_metrics,
    } = evaluate_gated(
        &model,
        &data,
        &rows,
        &args.label,
        &policy,
        baseline.as_ref(),
        args.latency_samples.max(1),
    )?;
    if gate_requested(&args, &policy) {
        report.gate = Some(gate.to_json());
    }

    if let Some(path) = &args.gate.save_baseline {
        let mut b = baseline_of(&overall, &slice_metrics, args.gate.baseline_latency);
        b.info
            .insert("model".into(), args.model.display().to_string());
        b.info
            .insert("data".into(), args.data.display().to_string());
        b.info
            .insert("mlprobe".into(), env!("CARGO_PKG_VERSION").to_string());
        b.save(path)?;
    }
    if args.gate.junit.is_some() || args.gate.markdown.is_some() {
        let mut r: Report = gate.to_report("mlprobe eval");
        for suite in &mut r.suites {
            suite
                .properties
                .push(("model".into(), args.model.display().to_string()));
            suite
                .properties
                .push(("data".into(), args.data.display().to_string()));
        }
        if let Some(path) = &args.gate.junit {
            output::write_file(path, r.to_junit().as_bytes())?;
        }
        if let Some(path) = &args.gate.markdown {
            output::write_file(path, r.to_markdown().as_bytes())?;
        }
    }

    emit(args.json, &report, render, report.passed)
}
