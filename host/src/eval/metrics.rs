//! The figures of a model on labelled rows: confusion matrix, accuracy, macro and per-class
//! precision/recall/F1 (scikit-learn semantics, from core's [`ConfusionMatrix`]), latency and
//! memory: the `eval` JSON document of DESIGN.md.
//!
//! Latency is measured on this host through core's [`Model::infer`](mlprobe_core::mlp::Model):
//! a warm-up, then single-row calls (cycling over the rows), each timed with [`Instant`] and
//! recorded in nanoseconds into a [`Sketch`] (relative error ≤ 1/128; max exact). Memory is the
//! model's bytes (normalizer and weights, `f32`) plus the inference scratch, and the process's
//! peak RSS (`VmHWM` of `/proc/self/status`, Linux only).

use super::gate::GateJson;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::measure::{Latency, latency_of, peak_rss_bytes};
use crate::model_io::HostModel;
use mlprobe_core::metrics::ConfusionMatrix;
use mlprobe_core::mlp::{MAX_CLASSES, argmax};
use mlprobe_core::sketch::Sketch;
use mlprobe_core::validate::{Metric, Metrics};
use serde::Serialize;
use std::time::Instant;

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
    /// Rows scored: the rows evaluated but those with non-finite features or logits.
    pub n: usize,
    /// Rows left out of the figures because a feature is infinite (or overflows when
    /// standardised) or a logit is not finite: their prediction is not one. The gate fails
    /// when there is any, unless the policy allows them (`--allow-nonfinite`).
    pub nonfinite_rows: usize,
    /// Which rows (indices into the data) were left out, and why.
    #[serde(skip)]
    pub nonfinite: NonFiniteRows,
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
    /// Per-inference latency on this host; `None` (JSON `null`) for a predictions file
    /// (`eval --predictions`): no model ran here.
    pub latency_us: Option<Latency>,
    /// Model and process memory; `None` (JSON `null`) for a predictions file.
    pub memory: Option<Memory>,
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

/// Rows left out of an evaluation (indices into the data), each with the reason.
pub type NonFiniteRows = Vec<(usize, String)>;

/// The class `model` predicts for each of the given rows of `data`, `None` for a row whose
/// features or logits are not finite (core's `Model::infer_checked`), and those rows with the
/// reason: their predicted class would be noise.
pub fn predicted(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
) -> Result<(Vec<Option<usize>>, NonFiniteRows)> {
    let mut scratch = vec![0.0f32; model.dims().scratch_len()];
    let mut nonfinite = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for &i in rows {
        let (logits, bad) = model
            .infer_checked(data.row(i), &mut scratch)
            .map_err(infer_err)?;
        if let Some(why) = bad {
            nonfinite.push((i, crate::predict::describe(why, &data.feature_names)));
            out.push(None);
        } else {
            out.push(Some(argmax(logits)));
        }
    }
    Ok((out, nonfinite))
}

/// The confusion matrix of `model` on the given rows of `data` (which must have labels), and
/// the rows left out of it because their features or logits are not finite ([`predicted`]).
pub fn confusion(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
) -> Result<(Box<ConfusionMatrix<MAX_CLASSES>>, NonFiniteRows)> {
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| Error::Internal("evaluate needs labels".into()))?;
    let (predictions, nonfinite) = predicted(model, data, rows)?;
    let mut cm = Box::new(ConfusionMatrix::<MAX_CLASSES>::new());
    for (&i, p) in rows.iter().zip(predictions) {
        if let Some(p) = p {
            cm.record(usize::from(labels[i]), p)
                .map_err(|e| Error::Internal(e.to_string()))?;
        }
    }
    Ok((cm, nonfinite))
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
        crate::measure::record_ns(&mut sketch, start.elapsed());
    }
    Ok(sketch)
}

/// Memory of the model (normalizer mean and std, weights), of its inference scratch, and the
/// process's peak RSS.
pub fn memory(model: &HostModel) -> Memory {
    let d = model.dims();
    let f32s = 2 * d.inputs() + d.param_count();
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
/// timing `latency_samples` single-row inferences (cycling over the rows).
pub fn evaluate_rows(
    model: &HostModel,
    data: &Dataset,
    rows: &[usize],
    latency_samples: usize,
) -> Result<EvalReport> {
    let (cm, nonfinite) = confusion(model, data, rows)?;
    let sketch = measure_latency(model, data, rows, latency_samples)?;
    let mut report = report_of(&cm, model.dims().outputs(), rows.len() - nonfinite.len());
    report.nonfinite_rows = nonfinite.len();
    report.nonfinite = nonfinite;
    report.latency_us = Some(latency_of(&sketch));
    report.memory = Some(memory(model));
    Ok(report)
}

/// The quality figures of a confusion matrix over `classes` classes (`n` rows scored), with no
/// latency, no memory, no row left out and nothing gated yet: what a predictions file yields,
/// and the part of a model's evaluation that does not depend on the model.
pub fn report_of(cm: &ConfusionMatrix<MAX_CLASSES>, classes: usize, n: usize) -> EvalReport {
    let m = cm.macro_stats();
    let per_class = (0..classes)
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
    let confusion = cm.counts()[..classes]
        .iter()
        .map(|row| row[..classes].to_vec())
        .collect();
    EvalReport {
        n,
        nonfinite_rows: 0,
        nonfinite: Vec::new(),
        accuracy: cm.accuracy(),
        precision_macro: m.precision,
        recall_macro: m.recall,
        f1_macro: m.f1,
        per_class,
        confusion,
        latency_us: None,
        memory: None,
        passed: true,
        violations: Vec::new(),
        slices: Vec::new(),
        gate: None,
    }
}

/// The gate's metrics of an evaluation.
pub fn metrics_of(r: &EvalReport) -> Metrics {
    let mut m = Metrics::new()
        .with(Metric::Accuracy, r.accuracy)
        .with(Metric::Precision, r.precision_macro)
        .with(Metric::Recall, r.recall_macro)
        .with(Metric::F1, r.f1_macro);
    if let Some(mem) = &r.memory {
        m.set(Metric::MemoryBytes, mem.total_bytes as f64);
        if let Some(rss) = mem.peak_rss_bytes {
            m.set(Metric::PeakRssBytes, rss as f64);
        }
    }
    if let Some(l) = r.latency_us.as_ref().filter(|_| r.n > 0) {
        m.set(Metric::LatencyP50, l.p50);
        m.set(Metric::LatencyP95, l.p95);
        m.set(Metric::LatencyP99, l.p99);
        m.set(Metric::LatencyP999, l.p999);
    }
    m
}

impl EvalReport {
    /// The report for people: the figures, per-class table, confusion matrix, latency,
    /// memory, slices and the gate's verdict.
    pub fn human(&self) -> String {
        let r = self;
        let mut s = format!(
            "rows {}  accuracy {:.4}  precision {:.4}  recall {:.4}  f1 {:.4}  (macro)\n",
            r.n, r.accuracy, r.precision_macro, r.recall_macro, r.f1_macro
        );
        if r.nonfinite_rows > 0 {
            s += &format!(
                "left out: {} rows with non-finite features or logits\n",
                r.nonfinite_rows
            );
        }
        s += "class  precision  recall  f1      support\n";
        for c in &r.per_class {
            s += &format!(
                "{:<5}  {:<9.4}  {:<6.4}  {:<6.4}  {}\n",
                c.label, c.precision, c.recall, c.f1, c.support
            );
        }
        s += "confusion (rows = true label):\n";
        // Columns as wide as the widest count, one space apart at least: counts never run
        // together, whatever their size.
        let width = r
            .confusion
            .iter()
            .flatten()
            .map(|c| c.to_string().len())
            .max()
            .unwrap_or(1)
            .max(4);
        for row in &r.confusion {
            s += "  ";
            for c in row {
                s += &format!(" {c:>width$}");
            }
            s += "\n";
        }
        match &r.latency_us {
            Some(l) => {
                s += &format!(
                    "latency µs  p50 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}\n",
                    l.p50, l.p95, l.p99, l.p999, l.max
                )
            }
            None => s += "latency, memory: not measured (predictions file: no model ran here)\n",
        }
        if let Some(mem) = &r.memory {
            s += &format!(
                "memory  model {} B + scratch {} B = {} B",
                mem.model_bytes, mem.scratch_bytes, mem.total_bytes
            );
            if let Some(rss) = mem.peak_rss_bytes {
                s += &format!("  peak RSS {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
            }
            s += "\n";
        }
        for sl in &r.slices {
            s += &format!(
                "slice {:<24} rows {:<5} accuracy {:.4}  precision {:.4}  recall {:.4}  f1 {:.4}\n",
                sl.slice, sl.n, sl.accuracy, sl.precision_macro, sl.recall_macro, sl.f1_macro
            );
        }
        if let Some(g) = &r.gate {
            let checks = g.checks();
            s += &format!(
                "gate: {} ({checks} checks{})\n",
                if g.passed { "passed" } else { "FAILED" },
                if checks == 0 {
                    ": no threshold, baseline or slice was given, so nothing was gated"
                } else {
                    ""
                }
            );
            for why in &g.skipped {
                s += &format!("  {why}\n");
            }
        }
        if !r.violations.is_empty() {
            s += "FAILED:\n";
            for v in &r.violations {
                s += &format!("  - {v}\n");
            }
        }
        s
    }
}
