//! `mlprobe eval`: metrics of a model on a labelled CSV file, and the quality gate.
//!
//! The gate (issue 3): thresholds from flags or a TOML policy (`--policy`), regression against
//! a JSON baseline (`--baseline`, `--save-baseline`), slices (`--slice EXPR`, each gated by
//! the same thresholds), and CI reports (`--junit`, `--markdown`). Exit 1 when a check fails.
//! `--predictions FILE` evaluates another model's predictions instead of a model (issue 16).
//! The library behind it is [`crate::eval`].

use crate::commands::{Outcome, emit_to};
use crate::error::{Error, Result};
use crate::eval::{EvalOptions, EvalReport, GateOptions, Source, evaluate};
use mlprobe_core::validate::{Metric, Thresholds};
use std::path::PathBuf;

/// Evaluate a model on a labelled CSV file, or any model's predictions.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe eval --model wine.mlpb --data data/wine.csv --json\n  \
        mlprobe eval --model wine.mlpb --data data/wine.csv --min-accuracy 0.9 \\\n      \
        --baseline baseline.json --slice 'alcohol > 13' --junit report.xml --markdown summary.md\n  \
        mlprobe eval --predictions sklearn_preds.csv --min-f1 0.9 --slice 'alcohol > 13'"
)]
pub struct Args {
    /// The model file (written by `mlprobe train` or `mlprobe import`).
    #[arg(long, value_name = "MODEL", required_unless_present = "predictions")]
    pub model: Option<PathBuf>,
    /// CSV file with a header row, the model's feature columns in its training order, and a
    /// label column.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE", required_unless_present = "predictions")]
    pub data: Option<PathBuf>,
    /// Evaluate any model's predictions instead of a model: a CSV file with the label column,
    /// a `prediction` column (class numbers 0..K-1) and optionally probabilities `p_0` …
    /// `p_{K-1}` (each in [0, 1], each row summing to 1); every other column can be sliced on.
    /// No model runs: latency and memory are null, and a limit on them is skipped (said in the
    /// report), never passed.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["model", "data", "latency_samples"]
    )]
    pub predictions: Option<PathBuf>,
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

/// The threshold flags, one line each (field, metric limited, value name, help): the flag
/// `--min-accuracy` of field `min_accuracy` limits [`Metric::Accuracy`].
macro_rules! threshold_flags {
    ($($field:ident: $metric:ident, $value:literal, $help:literal;)*) => {
        /// The gate's thresholds on the command line (over the policy's).
        #[derive(Debug, Default, clap::Args)]
        pub struct ThresholdArgs {
            $(#[doc = $help] #[arg(long, value_name = $value)] pub $field: Option<f64>,)*
        }

        impl ThresholdArgs {
            /// The limits; a value that is not a finite number is an error naming its flag.
            pub fn thresholds(&self) -> Result<Thresholds> {
                let mut t = Thresholds::new();
                $(if let Some(v) = self.$field {
                    let flag = stringify!($field).replace('_', "-");
                    t.set(Metric::$metric, v)
                        .map_err(|e| Error::Usage(format!("--{flag}: {e}")))?;
                })*
                Ok(t)
            }
        }
    };
}

threshold_flags! {
    min_accuracy: Accuracy, "X", "Fail when accuracy is below this (0 to 1).";
    min_precision: Precision, "X", "Fail when macro precision is below this (0 to 1).";
    min_recall: Recall, "X", "Fail when macro recall is below this (0 to 1).";
    min_f1: F1, "X", "Fail when macro F1 is below this (0 to 1).";
    max_latency_p99_us: LatencyP99, "US",
        "Fail when the p99 latency per inference (µs, this host) is above this (0 or more).";
    max_memory_bytes: MemoryBytes, "BYTES",
        "Fail when model bytes plus inference scratch are above this (0 or more).";
    max_peak_rss_bytes: PeakRssBytes, "BYTES",
        "Fail when the process's peak RSS is above this (Linux; 0 or more).";
}

/// The quality gate: thresholds, baseline, slices and CI reports.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Quality gate")]
pub struct GateArgs {
    /// TOML policy: `[thresholds]` (`min_accuracy = 0.9`, `max_latency_p99_us = 500` …),
    /// `[regression] allowed_pct = 5.0`, `slices = ["alcohol > 13"]`. Flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub policy: Option<PathBuf>,
    /// Limits on metrics.
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// Compare with a baseline saved by `--save-baseline`: every metric in it may worsen by at
    /// most the allowed percentage.
    #[arg(long, value_name = "FILE.json")]
    pub baseline: Option<PathBuf>,
    /// Allowed regression against the baseline, percent, for every metric (default: the
    /// policy's, else 5), 0 or more.
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
    /// !=, or several joined by `and` (e.g. 'alcohol > 13', 'label == 2', 'alcohol > 13 and
    /// hue <= 0.8'; `mlprobe slices` finds weak ones). Repeatable.
    #[arg(long = "slice", value_name = "EXPR")]
    pub slices: Vec<String>,
    /// Write a JUnit XML report (each threshold, regression and slice check a testcase).
    #[arg(long, value_name = "FILE.xml")]
    pub junit: Option<PathBuf>,
    /// Write a Markdown summary table (for a CI job summary).
    #[arg(long, value_name = "FILE.md")]
    pub markdown: Option<PathBuf>,
    /// Leave rows with an infinite feature (`inf`, `1e400`), one that overflows when
    /// standardised (`3.4e38`) or non-finite logits out of the metrics and pass; by default
    /// any such row fails the gate (exit 1). They are counted in `nonfinite_rows` either way.
    #[arg(long)]
    pub allow_nonfinite: bool,
}

impl Args {
    /// The library's options: thresholds and slices parsed (errors name the flag or slice).
    pub fn options(self) -> Result<EvalOptions> {
        let g = *self.gate;
        let source = match (self.predictions, self.model, self.data) {
            (Some(p), _, _) => Source::Predictions(p),
            (None, Some(model), Some(data)) => Source::Model { model, data },
            // clap requires both without --predictions.
            _ => {
                return Err(Error::Usage(
                    "give --model and --data, or --predictions".into(),
                ));
            }
        };
        Ok(EvalOptions {
            source,
            label: self.label,
            latency_samples: self.latency_samples,
            gate: GateOptions {
                thresholds: g.thresholds.thresholds()?,
                slices: g.slices.iter().map(|s| s.parse()).collect::<Result<_>>()?,
                policy: g.policy,
                allowed_regression_pct: g.allowed_regression_pct,
                baseline: g.baseline,
                save_baseline: g.save_baseline,
                baseline_latency: g.baseline_latency,
                junit: g.junit,
                markdown: g.markdown,
                allow_nonfinite: g.allow_nonfinite,
            },
        })
    }
}

/// Runs `mlprobe eval`.
pub fn run(args: Args) -> Result<Outcome> {
    let json = args.json;
    let g = &args.gate;
    let to = crate::output::claim_stdout(
        json,
        &[
            ("--junit", g.junit.as_deref()),
            ("--markdown", g.markdown.as_deref()),
            ("--save-baseline", g.save_baseline.as_deref()),
        ],
    )?;
    let report = evaluate(&args.options()?)?;
    emit_to(to, json, &report, EvalReport::human, report.passed)
}
