//! `mlprobe eval`: metrics of a model on a labelled CSV file.

use crate::commands::Outcome;
use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::model_io::{self, HostModel};
use crate::output;
use mlprobe_core::metrics::ConfusionMatrix;
use mlprobe_core::mlp::MAX_CLASSES;
use serde::Serialize;
use std::path::PathBuf;
use std::time::Instant;

/// Evaluate a model on a labelled CSV file.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  mlprobe eval --model wine.mlpb --data data/wine.csv --json")]
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

/// Latency percentiles in microseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
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
    /// True when every check passed.
    pub passed: bool,
    /// The failed checks, one sentence each.
    pub violations: Vec<String>,
}

/// Checks that a dataset fits a model: same number of features, labels within the classes.
pub fn check_fit(model: &HostModel, data: &Dataset) -> Result<()> {
    let d = model.dims();
    if data.width() != d.inputs {
        return Err(Error::file(
            &data.path,
            format!(
                "has {} feature columns but the model takes {} inputs",
                data.width(),
                d.inputs
            ),
        ));
    }
    if let (Some(labels), Some(name)) = (&data.labels, &data.label_name) {
        if let Some(i) = labels.iter().position(|&l| usize::from(l) >= d.outputs) {
            return Err(Error::Parse {
                path: data.path.clone(),
                line: data.lines[i],
                column: 0,
                message: format!(
                    "label {} in column `{name}` is out of range for a model of {} classes",
                    labels[i], d.outputs
                ),
            });
        }
    }
    Ok(())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    // Nearest-rank percentile: the smallest value with at least q of the data at or below it.
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// Evaluates `model` on the given rows of `data` (which must have labels and fit the model).
pub fn evaluate(model: &HostModel, data: &Dataset, rows: &[usize]) -> Result<EvalReport> {
    let labels = data
        .labels
        .as_ref()
        .ok_or_else(|| Error::Internal("evaluate needs labels".into()))?;
    let d = model.dims();
    let mut scratch = vec![0.0f32; d.scratch_len()];
    let mut cm = Box::new(ConfusionMatrix::<MAX_CLASSES>::new());
    let infer_err = |e: mlprobe_core::mlp::MlpError| Error::Internal(format!("inference: {e}"));
    // Warm-up pass (caches, branch predictors), then one timed call per row.
    for &i in rows.iter().take(256) {
        model
            .predict(data.row(i), &mut scratch)
            .map_err(infer_err)?;
    }
    let mut times = Vec::with_capacity(rows.len());
    for &i in rows {
        let start = Instant::now();
        let pred = model
            .predict(data.row(i), &mut scratch)
            .map_err(infer_err)?;
        times.push(start.elapsed().as_secs_f64() * 1e6);
        cm.record(usize::from(labels[i]), pred)
            .map_err(|e| Error::Internal(e.to_string()))?;
    }
    times.sort_by(f64::total_cmp);
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
        latency_us: Latency {
            p50: percentile(&times, 0.50),
            p95: percentile(&times, 0.95),
            p99: percentile(&times, 0.99),
            p999: percentile(&times, 0.999),
            max: times.last().copied().unwrap_or(0.0),
        },
        passed: true,
        violations: Vec::new(),
    })
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
    if !r.violations.is_empty() {
        s += "FAILED:\n";
        for v in &r.violations {
            s += &format!("  - {v}\n");
        }
    }
    s
}

/// Runs `mlprobe eval`.
pub fn run(args: Args) -> Result<Outcome> {
    let model = model_io::load(&args.model)?;
    let data = data::load(&args.data, Labels::Required(&args.label))?;
    check_fit(&model, &data)?;
    let rows: Vec<usize> = (0..data.rows()).collect();
    let report = evaluate(&model, &data, &rows)?;
    if args.json {
        output::print_json(&report)?;
    } else {
        output::print(&render(&report))?;
    }
    Ok(if report.passed {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}
