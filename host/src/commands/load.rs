//! `mlprobe load`: the flags of [`crate::load`], its interval lines and progress bar on a
//! terminal, and its report.

use crate::cli::{DeviceArgs, parse};
use crate::commands::{Outcome, emit};
use crate::error::{Error, Result};
use crate::load::{
    self, LoadOptions, LoadReport, MAX_CONCURRENCY, MAX_DURATION_S, MAX_MS, MAX_P99_US, MAX_RPS,
};
use crate::loadgen::IntervalLine;
use crate::output;
use indicatif::{ProgressBar, ProgressStyle};
use mlprobe_core::load::Tally;
use std::io::IsTerminal;
use std::path::PathBuf;

/// `mlprobe load`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    mlprobe load --model wine.mlpb --rps 5000 --duration 10\n  \
    mlprobe load --model wine.mlpb --concurrency 2 --requests 1000000\n  \
    mlprobe load --model wine.mlpb --target qemu --rps 200 --requests 2000 --data data/wine.csv\n  \
    mlprobe load --model wine.mlpb --target http://127.0.0.1:8080/v2/models/wine/infer \\\n      \
    --data data/wine.csv --concurrency 2 --duration 10")]
pub struct Args {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Where requests go: host (in process), qemu (the firmware for the model, started here),
    /// serial:PATH (a flashed board), tcp:HOST:PORT (e.g. `mlprobe device run`), or
    /// http://HOST:PORT/v2/models/NAME/infer (a model server speaking the Open Inference
    /// Protocol v2: `mlprobe serve`, KServe, Triton; one keep-alive connection per worker; the
    /// model file gives the input width).
    #[arg(long, default_value = "host", value_name = "TARGET")]
    pub target: String,
    /// Open model: requests per second, due at a constant rate; latency counts from each
    /// request's due time. Without it the load is closed (workers back to back). Above 0, at
    /// most 10000000.
    #[arg(long, value_name = "RATE", value_parser = parse::f64_positive(MAX_RPS))]
    pub rps: Option<f64>,
    /// Worker threads (closed model: requests in flight), 1 to 1024; against an HTTP target,
    /// one keep-alive connection each (`--connections` is the same flag). A device link serves
    /// one at a time.
    #[arg(long, visible_alias = "connections", default_value_t = 1, value_name = "N",
          value_parser = parse::usize_in(1, MAX_CONCURRENCY))]
    pub concurrency: usize,
    /// Stop after N requests.
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Stop after S seconds (default 10 when --requests is not given): above 0, at most 604800
    /// (a week).
    #[arg(long, value_name = "S", value_parser = parse::f64_positive(MAX_DURATION_S))]
    pub duration: Option<f64>,
    /// Requests before the measured run, not counted.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub warmup: u64,
    /// Seconds between interval lines (0: none), 0 to 604800.
    #[arg(long, default_value_t = 1.0, value_name = "S",
          value_parser = parse::f64_in(0.0, MAX_DURATION_S))]
    pub interval: f64,
    /// Request inputs: rows of this CSV file (cycled). Default: seeded random rows drawn from
    /// the model normalizer's mean and standard deviation.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Name of the label column of --data (left out of the inputs).
    #[arg(long, default_value = "label", value_name = "COL")]
    pub label: String,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Open model: a request not sent within this many ms of its due time is dropped, 0 to
    /// 3600000.
    #[arg(long, default_value_t = 1000.0, value_name = "MS", value_parser = parse::f64_in(0.0, MAX_MS))]
    pub max_lateness_ms: f64,
    /// Open model: a request sent more than this many ms after its due time counts as late, 0
    /// to 3600000.
    #[arg(long, default_value_t = 1.0, value_name = "MS", value_parser = parse::f64_in(0.0, MAX_MS))]
    pub late_ms: f64,
    /// Inject a stall into every N-th request (tests the accounting; see --stall-ms).
    #[arg(long, value_name = "N", requires = "stall_ms")]
    pub stall_every: Option<u64>,
    /// Length of an injected stall.
    #[arg(long, value_name = "MS")]
    pub stall_ms: Option<u64>,
    /// Fail (exit 1) when the p99 latency exceeds this many µs, 0 to 3600000000 (an hour).
    #[arg(long, value_name = "US", value_parser = parse::f64_in(0.0, MAX_P99_US))]
    pub max_p99_us: Option<f64>,
    /// Fail (exit 1) when (failed + dropped) / total exceeds this, 0 to 1.
    #[arg(long, value_name = "RATE", value_parser = parse::f64_in(0.0, 1.0))]
    pub max_error_rate: Option<f64>,
    /// How to reach a device (ELF for QEMU, baud rate for a serial port).
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The library's options (the target parsed; every other value checked by
    /// [`LoadOptions::validate`]).
    pub fn options(&self) -> Result<LoadOptions> {
        let target = self
            .target
            .parse()
            .map_err(|e| Error::Usage(format!("--target: {e}")))?;
        let opts = LoadOptions {
            model: self.model.clone(),
            target,
            rps: self.rps,
            concurrency: self.concurrency,
            requests: self.requests,
            duration_s: self.duration,
            warmup: self.warmup,
            interval_s: self.interval,
            data: self.data.clone(),
            label: self.label.clone(),
            seed: self.seed,
            max_lateness_ms: self.max_lateness_ms,
            late_ms: self.late_ms,
            stall_every: self.stall_every.unwrap_or(0),
            stall_ms: self.stall_ms.unwrap_or(0),
            max_p99_us: self.max_p99_us,
            max_error_rate: self.max_error_rate,
            elf: self.device.elf.clone(),
            baud: self.device.baud,
        };
        opts.validate()?;
        Ok(opts)
    }
}

/// Runs `mlprobe load`.
pub fn run(a: Args) -> Result<Outcome> {
    let opts = a.options()?;
    let bar = progress_bar(&a, &opts);
    let requests = opts.requests.is_some();
    let report = load::execute(&opts, |l: &IntervalLine, total: &Tally| {
        if let Some(b) = &bar {
            b.set_position(if requests {
                total.total()
            } else {
                l.t_s as u64
            });
        }
        if !a.json {
            let text = format!(
                "{:>7.1}s  {:>9} req  {:>11.1} req/s  p99 {:>10.1} µs  failed {}  dropped {}\n",
                l.t_s, l.total, l.rps, l.p99_us, l.failed, l.dropped
            );
            match &bar {
                Some(b) => b.suspend(|| output::print(&text)).ok(),
                None => output::print(&text).ok(),
            };
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let report = report?;
    emit(a.json, &report, LoadReport::human, report.passed)
}

fn progress_bar(a: &Args, opts: &LoadOptions) -> Option<ProgressBar> {
    if a.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let plan = opts.plan();
    let (len, unit) = match (plan.requests, plan.duration_ns) {
        (Some(n), _) => (n, "req"),
        (None, Some(d)) => (d / 1_000_000_000, "s"),
        _ => return None,
    };
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit} {{elapsed}}"))
    {
        bar.set_style(style);
    }
    Some(bar)
}
