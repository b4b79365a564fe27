//! `mlprobe load`: load a model at a constant arrival rate (open model, latency from each
//! request's due time: no coordinated omission) or back to back (closed model), on the host or
//! on a device, and report every request: successful + failed + dropped = total.
//!
//! The schedule and the accounting are [`mlprobe_core::load`]'s; [`crate::loadgen`] runs the
//! worker threads and the targets.

use crate::commands::{Outcome, emit};
use crate::data::{self, Labels};
use crate::error::{Error, Result};
use crate::loadgen::{
    self, DeviceOptions, DeviceTarget, HostTarget, Inputs, IntervalLine, Stall, TargetSpec,
};
use crate::measure::{Latency, latency_of};
use crate::model_io;
use crate::model_io::check_fit;
use crate::output;
use indicatif::{ProgressBar, ProgressStyle};
use mlprobe_core::load::{Mode, Plan, Tally, Target};
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// `mlprobe load`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    mlprobe load --model wine.mlpb --rps 5000 --duration 10\n  \
    mlprobe load --model wine.mlpb --concurrency 2 --requests 1000000\n  \
    mlprobe load --model wine.mlpb --target qemu --rps 200 --requests 2000 --data data/wine.csv")]
pub struct Args {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Where requests go: host (in process), qemu (the firmware for the model, started here),
    /// serial:PATH (a flashed board) or tcp:HOST:PORT (e.g. `mlprobe device run`).
    #[arg(long, default_value = "host", value_name = "TARGET")]
    pub target: String,
    /// Open model: requests per second, due at a constant rate; latency counts from each
    /// request's due time. Without it the load is closed (workers back to back).
    #[arg(long, value_name = "RATE")]
    pub rps: Option<f64>,
    /// Worker threads (closed model: requests in flight). A device link serves one at a time.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub concurrency: usize,
    /// Stop after N requests.
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    pub requests: Option<u64>,
    /// Stop after S seconds (default 10 when --requests is not given).
    #[arg(long, value_name = "S")]
    pub duration: Option<f64>,
    /// Requests before the measured run, not counted.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub warmup: u64,
    /// Seconds between interval lines (0: none).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub interval: f64,
    /// Request inputs: rows of this CSV file (cycled). Default: seeded random rows drawn from
    /// the model normalizer's mean and standard deviation.
    #[arg(long, value_name = "FILE.csv")]
    pub data: Option<PathBuf>,
    /// Name of the label column of --data (left out of the inputs).
    #[arg(long, default_value = "label", value_name = "COL")]
    pub label: String,
    /// Seed of the random inputs.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Open model: a request not sent within this many ms of its due time is dropped.
    #[arg(long, default_value_t = 1000.0, value_name = "MS")]
    pub max_lateness_ms: f64,
    /// Open model: a request sent more than this many ms after its due time counts as late.
    #[arg(long, default_value_t = 1.0, value_name = "MS")]
    pub late_ms: f64,
    /// Inject a stall into every N-th request (tests the accounting; see --stall-ms).
    #[arg(long, value_name = "N", requires = "stall_ms")]
    pub stall_every: Option<u64>,
    /// Length of an injected stall.
    #[arg(long, value_name = "MS")]
    pub stall_ms: Option<u64>,
    /// Fail (exit 1) when the p99 latency exceeds this many µs.
    #[arg(long, value_name = "US")]
    pub max_p99_us: Option<f64>,
    /// Fail (exit 1) when (failed + dropped) / total exceeds this.
    #[arg(long, value_name = "RATE")]
    pub max_error_rate: Option<f64>,
    /// How to reach a device (ELF for QEMU, baud rate for a serial port).
    #[command(flatten)]
    pub device: DeviceOptions,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Which target a run went to.
#[derive(Clone, Debug, Serialize)]
pub struct TargetReport {
    /// `host`, `qemu`, `serial` or `tcp`.
    pub kind: String,
    /// The board a device reported (`qemu-mps2-an386`), or `host`.
    pub board: String,
    /// The link (`tcp://127.0.0.1:…`), absent on the host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// The `load` JSON document (DESIGN.md fields first).
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Requests accounted for: successful + failed + dropped.
    pub total: u64,
    /// Answered.
    pub successful: u64,
    /// Failed by the target.
    pub failed: u64,
    /// Not sent: later than --max-lateness-ms (open model).
    pub dropped: u64,
    /// Latency of answered requests, µs: from the due time (open) or the send (closed).
    pub latency_us: Latency,
    /// Answered requests per second of the run.
    pub throughput_rps: f64,
    /// From the first due time to the last answer.
    pub duration_s: f64,
    /// (failed + dropped) / total.
    pub error_rate: f64,
    /// Sent more than --late-ms after they were due (among successful and failed).
    pub late: u64,
    /// How late requests were sent (due → sent), µs.
    pub lateness_us: Latency,
    /// `open` or `closed`.
    pub mode: &'static str,
    /// The open model's rate; null for closed.
    pub target_rps: Option<f64>,
    /// Worker threads.
    pub concurrency: usize,
    /// Where the requests went.
    pub target: TargetReport,
    /// `data` or `random`.
    pub inputs: &'static str,
    /// Warm-up requests (not counted).
    pub warmup: u64,
    /// Per-interval lines.
    pub intervals: Vec<IntervalLine>,
    /// Every --max-* check passed.
    pub passed: bool,
    /// Failed checks.
    pub violations: Vec<String>,
    /// The first error a device reported, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

fn check(a: &Args) -> Result<(TargetSpec, Plan)> {
    let spec: TargetSpec = a
        .target
        .parse()
        .map_err(|e| usage(format!("--target: {e}")))?;
    if let Some(r) = a.rps
        && !(r.is_finite() && r > 0.0)
    {
        return Err(usage(format!("--rps {r}: must be a positive number")));
    }
    if a.concurrency == 0 {
        return Err(usage("--concurrency 0: at least one worker"));
    }
    if spec != TargetSpec::Host && a.concurrency > 1 {
        return Err(usage(format!(
            "--concurrency {}: a device link serves one request at a time; use 1 with --target {}",
            a.concurrency, a.target
        )));
    }
    if let Some(d) = a.duration
        && !(d.is_finite() && d > 0.0)
    {
        return Err(usage(format!(
            "--duration {d}: must be a positive number of seconds"
        )));
    }
    if a.requests == Some(0) {
        return Err(usage("--requests 0: at least one request"));
    }
    for (flag, v) in [
        ("--max-lateness-ms", a.max_lateness_ms),
        ("--late-ms", a.late_ms),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(usage(format!("{flag} {v}: must be ≥ 0")));
        }
    }
    if !(a.interval.is_finite() && a.interval >= 0.0) {
        return Err(usage(format!("--interval {}: must be ≥ 0", a.interval)));
    }
    let duration = match (a.requests, a.duration) {
        (Some(_), _) => None,
        (None, d) => Some((d.unwrap_or(10.0) * 1e9) as u64),
    };
    let mode = a.rps.map_or(Mode::Closed, Mode::open);
    let mut plan = Plan::new(mode, a.requests, duration);
    plan.max_lateness_ns = (a.max_lateness_ms * 1e6) as u64;
    plan.late_ns = (a.late_ms * 1e6) as u64;
    Ok((spec, plan))
}

/// Runs the load test of `a` and returns its report (nothing printed but the interval lines
/// and progress of a terminal run).
pub fn execute(a: &Args) -> Result<LoadReport> {
    let (spec, plan) = check(a)?;
    let model = Arc::new(model_io::load(&a.model)?);
    let inputs = Arc::new(match &a.data {
        Some(path) => {
            let d = data::load(path, Labels::Optional(&a.label))?;
            check_fit(&model, &d)?;
            if d.rows() == 0 {
                return Err(Error::file(path, "has no rows"));
            }
            Inputs::from_rows(d.features, d.feature_names.len())
        }
        None => Inputs::random(&model, 4096, a.seed),
    });
    let interval = (a.interval > 0.0).then(|| Duration::from_secs_f64(a.interval));
    let bar = progress_bar(a, &plan);
    let json = a.json;
    let print_line = |l: &IntervalLine, total: &Tally| {
        if let Some(b) = &bar {
            b.set_position(match plan.requests {
                Some(_) => total.total(),
                None => l.t_s as u64,
            });
        }
        if !json {
            let text = format!(
                "{:>7.1}s  {:>9} req  {:>11.1} req/s  p99 {:>10.1} µs  failed {}  dropped {}\n",
                l.t_s, l.total, l.rps, l.p99_us, l.failed, l.dropped
            );
            match &bar {
                Some(b) => b.suspend(|| output::print(&text)).ok(),
                None => output::print(&text).ok(),
            };
        }
    };
    let (run, target, first_error) = match &spec {
        TargetSpec::Host => {
            let targets: Vec<_> = (0..a.concurrency)
                .map(|_| {
                    let mut t = HostTarget::new(model.clone(), inputs.clone());
                    for i in 0..a.warmup {
                        t.call(i);
                    }
                    Stall {
                        inner: t,
                        every: a.stall_every.unwrap_or(0),
                        ms: a.stall_ms.unwrap_or(0),
                    }
                })
                .collect();
            let run = loadgen::run(&plan, targets, interval, print_line);
            let target = TargetReport {
                kind: "host".into(),
                board: "host".into(),
                link: None,
            };
            (run, target, None)
        }
        device_spec => {
            let mut device = loadgen::open_device(device_spec, &a.model, &a.device)?;
            let target = TargetReport {
                kind: spec.kind().into(),
                board: device.info.board.to_string(),
                link: Some(device.link.clone()),
            };
            let mut t = DeviceTarget::new(&mut device, inputs.clone())?;
            for i in 0..a.warmup {
                t.call(i);
            }
            let mut stalled = Stall {
                inner: t,
                every: a.stall_every.unwrap_or(0),
                ms: a.stall_ms.unwrap_or(0),
            };
            let run = loadgen::run(&plan, vec![&mut stalled], interval, print_line);
            let first_error = stalled.inner.first_error.take();
            drop(stalled);
            if let Some(q) = device.qemu.take() {
                q.stop();
            }
            (run, target, first_error)
        }
    };
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let t = &run.tally;
    let secs = run.duration.as_secs_f64();
    let latency = latency_of(&t.latency);
    let mut violations = Vec::new();
    if let Some(max) = a.max_p99_us
        && (latency.p99 > max || t.successful == 0)
    {
        violations.push(format!("p99 latency {:.1} µs > {max} µs", latency.p99));
    }
    if let Some(max) = a.max_error_rate
        && t.error_rate() > max
    {
        violations.push(format!("error rate {:.4} > {max}", t.error_rate()));
    }
    let report = LoadReport {
        total: t.total(),
        successful: t.successful,
        failed: t.failed,
        dropped: t.dropped,
        latency_us: latency,
        throughput_rps: if secs > 0.0 {
            t.successful as f64 / secs
        } else {
            0.0
        },
        duration_s: secs,
        error_rate: t.error_rate(),
        late: t.late,
        lateness_us: latency_of(&t.lateness),
        mode: if a.rps.is_some() { "open" } else { "closed" },
        target_rps: a.rps,
        concurrency: a.concurrency,
        target,
        inputs: inputs.source,
        warmup: a.warmup,
        intervals: run.intervals,
        passed: violations.is_empty(),
        violations,
        first_error,
    };
    Ok(report)
}

/// Runs `mlprobe load`.
pub fn run(a: Args) -> Result<Outcome> {
    let report = execute(&a)?;
    emit(a.json, &report, render, report.passed)
}

fn progress_bar(a: &Args, plan: &Plan) -> Option<ProgressBar> {
    if a.json || !std::io::stderr().is_terminal() {
        return None;
    }
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

/// The human summary.
pub fn render(r: &LoadReport) -> String {
    let l = &r.latency_us;
    let rate = r
        .target_rps
        .map_or_else(String::new, |x| format!(" at {x} req/s"));
    let link = r
        .target
        .link
        .as_deref()
        .map_or_else(String::new, |l| format!(" via {l}"));
    let mut s = format!(
        "{} load{rate} on {} ({}{link}), {} worker(s), {} inputs\n",
        r.mode, r.target.kind, r.target.board, r.concurrency, r.inputs
    );
    s += &format!(
        "requests {}  successful {}  failed {}  dropped {}  late {}  error rate {:.4}\n",
        r.total, r.successful, r.failed, r.dropped, r.late, r.error_rate
    );
    s += &format!(
        "throughput {:.1} req/s over {:.3} s\n",
        r.throughput_rps, r.duration_s
    );
    s += &format!(
        "latency µs  p50 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}{}\n",
        l.p50,
        l.p95,
        l.p99,
        l.p999,
        l.max,
        if r.mode == "open" {
            "  (from each request's due time)"
        } else {
            "  (service time: a closed loop hides queueing)"
        }
    );
    if r.mode == "open" {
        s += &format!(
            "sent late  p99 {:.2} µs  max {:.2} µs\n",
            r.lateness_us.p99, r.lateness_us.max
        );
    }
    if let Some(e) = &r.first_error {
        s += &format!("first error: {e}\n");
    }
    for v in &r.violations {
        s += &format!("check failed: {v}\n");
    }
    s
}
