//! Load tests: a model under a constant arrival rate (open model, latency from each request's
//! due time: no coordinated omission) or back to back (closed model), on the host or on a
//! device, with every request accounted for: successful + failed + dropped = total.
//!
//! The schedule and the accounting are [`mlprobe_core::load`]'s; [`crate::loadgen`] runs the
//! worker threads and the targets; a device is reached through a [`Session`].
//!
//! ```no_run
//! use mlprobe::load::{LoadOptions, execute};
//! # fn main() -> mlprobe::error::Result<()> {
//! let mut opts = LoadOptions::new("wine.mlpb".into());
//! opts.rps = Some(5000.0);
//! opts.requests = Some(10_000);
//! let report = execute(&opts, |_, _| {})?;
//! print!("{}", report.human());
//! # Ok(()) }
//! ```

use crate::device::{Session, TargetReport, TargetSpec};
use crate::error::{Error, Result};
use crate::loadgen::{
    self, DeviceTarget, HostTarget, HttpTarget, Inputs, IntervalLine, Stall, dataset_for,
};
use crate::measure::{Latency, latency_of};
use crate::model_io;
use mlprobe_core::load::{Mode, Plan, Tally, Target};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// What to load, where and how; [`LoadOptions::new`] has the command line's defaults.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The model file.
    pub model: PathBuf,
    /// Where requests go.
    pub target: TargetSpec,
    /// Open model at this many requests per second; `None`: closed model.
    pub rps: Option<f64>,
    /// Worker threads (closed model: requests in flight); 1 on a device.
    pub concurrency: usize,
    /// Stop after this many requests (wins over `duration_s`).
    pub requests: Option<u64>,
    /// Stop after this many seconds (10 when neither is given).
    pub duration_s: Option<f64>,
    /// Requests before the measured run, not counted.
    pub warmup: u64,
    /// Seconds between interval lines (0: none).
    pub interval_s: f64,
    /// Request inputs: rows of this CSV file (cycled); `None`: seeded random rows.
    pub data: Option<PathBuf>,
    /// The label column of `data` (left out of the inputs).
    pub label: String,
    /// Seed of the random inputs.
    pub seed: u64,
    /// Open model: a request not sent within this many ms of its due time is dropped.
    pub max_lateness_ms: f64,
    /// Open model: a request sent more than this many ms after its due time is late.
    pub late_ms: f64,
    /// Inject a stall into every N-th request (0: never).
    pub stall_every: u64,
    /// Length of an injected stall in ms.
    pub stall_ms: u64,
    /// Fail when the p99 latency exceeds this many µs.
    pub max_p99_us: Option<f64>,
    /// Fail when (failed + dropped) / total exceeds this.
    pub max_error_rate: Option<f64>,
    /// A firmware ELF already built for the model (QEMU).
    pub elf: Option<PathBuf>,
    /// Baud rate of a serial target.
    pub baud: u32,
}

/// The highest `--rps` (ten million a second, about twice what the generator sustains on two
/// host threads): far above it the due times come faster than a worker can even count them as
/// dropped, and a run outlasts its `--duration` (1e9 for one second ran 102 s).
pub const MAX_RPS: f64 = 1e7;
/// The most `--concurrency` workers.
pub const MAX_CONCURRENCY: usize = 1024;
/// The longest `--duration` and `--interval`, seconds (a week).
pub const MAX_DURATION_S: f64 = 604_800.0;
/// The largest `--max-lateness-ms` and `--late-ms` (an hour).
pub const MAX_MS: f64 = 3_600_000.0;
/// The largest `--max-p99-us` (an hour).
pub const MAX_P99_US: f64 = 3.6e9;

impl LoadOptions {
    /// Closed load of `model` on the host for 10 s, the command line's defaults.
    pub fn new(model: PathBuf) -> Self {
        Self {
            model,
            target: TargetSpec::Host,
            rps: None,
            concurrency: 1,
            requests: None,
            duration_s: None,
            warmup: 100,
            interval_s: 1.0,
            data: None,
            label: "label".into(),
            seed: 0,
            max_lateness_ms: 1000.0,
            late_ms: 1.0,
            stall_every: 0,
            stall_ms: 0,
            max_p99_us: None,
            max_error_rate: None,
            elf: None,
            baud: 115_200,
        }
    }

    /// Rejects values no run can use, naming the flag.
    pub fn validate(&self) -> Result<()> {
        let usage = |m: String| Err(Error::Usage(m));
        if let Some(r) = self.rps
            && !(r > 0.0 && r <= MAX_RPS)
        {
            return usage(format!("--rps {r}: must be above 0 and at most {MAX_RPS}"));
        }
        if !(1..=MAX_CONCURRENCY).contains(&self.concurrency) {
            return usage(format!(
                "--concurrency {}: must be from 1 to {MAX_CONCURRENCY}",
                self.concurrency
            ));
        }
        if self.target.is_device() && self.concurrency > 1 {
            return usage(format!(
                "--concurrency {}: a device link serves one request at a time; use 1 with --target {}",
                self.concurrency, self.target
            ));
        }
        if let Some(d) = self.duration_s
            && !(d > 0.0 && d <= MAX_DURATION_S)
        {
            return usage(format!(
                "--duration {d}: must be above 0 and at most {MAX_DURATION_S} seconds"
            ));
        }
        if self.requests == Some(0) {
            return usage("--requests 0: at least one request".into());
        }
        for (flag, v, hi) in [
            ("--max-lateness-ms", self.max_lateness_ms, MAX_MS),
            ("--late-ms", self.late_ms, MAX_MS),
            ("--interval", self.interval_s, MAX_DURATION_S),
            ("--max-p99-us", self.max_p99_us.unwrap_or(0.0), MAX_P99_US),
            ("--max-error-rate", self.max_error_rate.unwrap_or(0.0), 1.0),
        ] {
            if !(0.0..=hi).contains(&v) {
                return usage(format!("{flag} {v}: must be from 0 to {hi}"));
            }
        }
        Ok(())
    }

    /// The run's plan (of valid options).
    pub fn plan(&self) -> Plan {
        let duration = match (self.requests, self.duration_s) {
            (Some(_), _) => None,
            (None, d) => Some((d.unwrap_or(10.0) * 1e9) as u64),
        };
        let mode = self.rps.map_or(Mode::Closed, Mode::open);
        let mut plan = Plan::new(mode, self.requests, duration);
        plan.max_lateness_ns = (self.max_lateness_ms * 1e6) as u64;
        plan.late_ns = (self.late_ms * 1e6) as u64;
        plan
    }
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

/// Runs the load test of `opts`, calling `on_interval` with each interval's line and the
/// running total (nothing is printed here).
pub fn execute(
    opts: &LoadOptions,
    mut on_interval: impl FnMut(&IntervalLine, &Tally),
) -> Result<LoadReport> {
    opts.validate()?;
    let plan = opts.plan();
    let model = Arc::new(model_io::load(&opts.model)?);
    let inputs = Arc::new(match &opts.data {
        Some(path) => {
            let d = dataset_for(&model, path, &opts.label)?;
            let width = d.width();
            Inputs::from_rows(d.features, width)
        }
        None => Inputs::random(&model, 4096, opts.seed),
    });
    let interval = (opts.interval_s > 0.0).then(|| Duration::from_secs_f64(opts.interval_s));
    let session = opts
        .target
        .session(&opts.model, opts.elf.as_deref(), opts.baud);
    let (run, target, first_error) = match session {
        None if let TargetSpec::Http(url) = &opts.target => {
            let requests = Arc::new(HttpTarget::requests(url, &inputs).map_err(Error::Usage)?);
            let mut targets = Vec::with_capacity(opts.concurrency);
            for _ in 0..opts.concurrency {
                let mut t = HttpTarget::new(url, requests.clone()).map_err(Error::Usage)?;
                warm_up(&mut t, opts.warmup);
                targets.push(stall(t, opts));
            }
            let run = loadgen::run(
                &plan,
                targets.iter_mut().collect(),
                interval,
                &mut on_interval,
            );
            let first_error = targets.iter_mut().find_map(|t| t.inner.first_error.take());
            (run, TargetReport::http(url), first_error)
        }
        None => {
            let targets: Vec<_> = (0..opts.concurrency)
                .map(|_| {
                    let mut t = HostTarget::new(model.clone(), inputs.clone());
                    warm_up(&mut t, opts.warmup);
                    stall(t, opts)
                })
                .collect();
            let run = loadgen::run(&plan, targets, interval, &mut on_interval);
            (run, TargetReport::host(), None)
        }
        Some(session) => {
            let mut device = Session::open(&session)?;
            let target = TargetReport::device(&opts.target, &device);
            let mut t = DeviceTarget::new(&mut device, inputs.clone())?;
            warm_up(&mut t, opts.warmup);
            let mut stalled = stall(t, opts);
            let run = loadgen::run(&plan, vec![&mut stalled], interval, &mut on_interval);
            let first_error = stalled.inner.first_error.take();
            drop(stalled);
            device.stop();
            (run, target, first_error)
        }
    };
    let t = &run.tally;
    let secs = run.duration.as_secs_f64();
    let latency = latency_of(&t.latency);
    let mut violations = Vec::new();
    if let Some(max) = opts.max_p99_us
        && (latency.p99 > max || t.successful == 0)
    {
        violations.push(format!("p99 latency {:.1} µs > {max} µs", latency.p99));
    }
    if let Some(max) = opts.max_error_rate
        && t.error_rate() > max
    {
        violations.push(format!("error rate {:.4} > {max}", t.error_rate()));
    }
    Ok(LoadReport {
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
        mode: if opts.rps.is_some() { "open" } else { "closed" },
        target_rps: opts.rps,
        concurrency: opts.concurrency,
        target,
        inputs: inputs.source,
        warmup: opts.warmup,
        intervals: run.intervals,
        passed: violations.is_empty(),
        violations,
        first_error,
    })
}

/// `inner` with the injected stalls of `opts`.
fn stall<T>(inner: T, opts: &LoadOptions) -> Stall<T> {
    Stall {
        inner,
        every: opts.stall_every,
        ms: opts.stall_ms,
    }
}

/// `n` requests on `target` before the measured run, not counted.
fn warm_up(target: &mut impl Target, n: u64) {
    for i in 0..n {
        target.call(i);
    }
}

impl LoadReport {
    /// The human summary.
    pub fn human(&self) -> String {
        let (r, l) = (self, &self.latency_us);
        let rate = r
            .target_rps
            .map_or_else(String::new, |x| format!(" at {x} req/s"));
        let mut s = format!(
            "{} load{rate} on {} ({}{}), {} worker(s), {} inputs\n",
            r.mode,
            r.target.kind,
            r.target.board,
            r.target.via(),
            r.concurrency,
            r.inputs
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
            "latency µs  {}{}\n",
            percentiles(l),
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
}

/// `p50 …  p95 …  p99 …  p99.9 …  max …` with two decimals.
pub fn percentiles(l: &Latency) -> String {
    format!(
        "p50 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        l.p50, l.p95, l.p99, l.p999, l.max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_of(opts: &LoadOptions) -> String {
        match opts.validate() {
            Err(Error::Usage(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_name_the_flag_they_reject() {
        let ok = LoadOptions::new("m.mlpb".into());
        assert!(ok.validate().is_ok());
        let with = |f: fn(&mut LoadOptions)| {
            let mut o = ok.clone();
            f(&mut o);
            usage_of(&o)
        };
        assert!(with(|o| o.rps = Some(0.0)).starts_with("--rps 0"));
        assert!(with(|o| o.rps = Some(f64::NAN)).starts_with("--rps"));
        assert!(with(|o| o.concurrency = 0).starts_with("--concurrency 0"));
        let device = with(|o| {
            o.target = TargetSpec::Serial("/dev/x".into());
            o.concurrency = 2;
        });
        assert!(device.contains("one request at a time") && device.contains("serial:/dev/x"));
        assert!(with(|o| o.duration_s = Some(-1.0)).starts_with("--duration"));
        assert!(with(|o| o.requests = Some(0)).starts_with("--requests 0"));
        assert!(with(|o| o.late_ms = -1.0).starts_with("--late-ms"));
        assert!(with(|o| o.max_lateness_ms = f64::INFINITY).starts_with("--max-lateness-ms"));
        assert!(with(|o| o.interval_s = -0.5).starts_with("--interval"));
    }

    #[test]
    fn the_plan_stops_after_requests_or_ten_seconds() {
        let mut o = LoadOptions::new("m.mlpb".into());
        assert_eq!(o.plan().duration_ns, Some(10_000_000_000));
        assert_eq!(o.plan().mode, Mode::Closed);
        o.requests = Some(5);
        o.duration_s = Some(1.0);
        o.rps = Some(1000.0);
        o.late_ms = 2.0;
        let p = o.plan();
        assert_eq!((p.requests, p.duration_ns), (Some(5), None));
        assert_eq!(p.mode, Mode::open(1000.0));
        assert_eq!(p.late_ns, 2_000_000);
    }
}
