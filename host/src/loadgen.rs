//! The std shell around [`mlprobe_core::load`]: a clock on `Instant`, worker threads sharing an
//! atomic claim, targets (the in-process model, a device [`Session`]), and per-interval
//! tallies. The schedule, drop rule and accounting are core's; nothing here decides when a
//! request is due or how it is counted.

use crate::data::{self, Dataset, Labels};
use crate::device::Session;
use crate::error::{Error, Result};
use crate::http1::{Client, Endpoint};
use crate::model_io::{HostModel, bind};
use mlprobe_core::chaos::normal;
use mlprobe_core::load::{Claim, Clock, Plan, Record, Tally, Target, drive};
use mlprobe_core::protocol::{MAX_FEATURES, Request, Response};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `Instant` in nanoseconds since the clock was made; waits sleep, then spin the last stretch
/// (a thread sleep overshoots by 50–100 µs on Linux, more than a request's period at high rates).
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    origin: Instant,
}

impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

impl StdClock {
    /// A clock starting now.
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
        }
    }
}

/// Below this wait the clock spins instead of sleeping.
const SPIN_NS: u64 = 200_000;

impl Clock for StdClock {
    fn now(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    fn sleep_until(&self, deadline: u64) {
        loop {
            let now = self.now();
            if now >= deadline {
                return;
            }
            let left = deadline - now;
            if left > SPIN_NS {
                std::thread::sleep(Duration::from_nanos(left - SPIN_NS / 2));
            } else {
                std::hint::spin_loop();
            }
        }
    }
}

/// A [`Claim`] shared by threads.
#[derive(Debug, Default)]
pub struct AtomicClaim {
    next: AtomicU64,
    limit: Option<u64>,
}

impl AtomicClaim {
    /// Hands out `limit` indices (unbounded for `None`).
    pub fn new(limit: Option<u64>) -> Self {
        Self {
            next: AtomicU64::new(0),
            limit,
        }
    }
}

impl Claim for AtomicClaim {
    fn claim(&self) -> Option<u64> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.limit {
            Some(l) if i >= l => None,
            _ => Some(i),
        }
    }

    fn claim_below(&self, end: u64) -> u64 {
        let end = self.limit.map_or(end, |l| end.min(l));
        // `fetch_max` hands `[previous, end)` to this caller alone: a concurrent `claim`
        // either came first (and `previous` is past its index) or sees `end` or more.
        end.saturating_sub(self.next.fetch_max(end, Ordering::Relaxed))
    }
}

/// Records into a tally behind a mutex, which the reporter swaps out once per interval.
struct Shared<'a>(&'a Mutex<Tally>);

impl Record for Shared<'_> {
    fn record(&mut self, outcome: mlprobe_core::load::Outcome, late_ns: u64) {
        if let Ok(mut t) = self.0.lock() {
            t.record(outcome, late_ns);
        }
    }

    fn record_dropped(&mut self, count: u64) {
        if let Ok(mut t) = self.0.lock() {
            t.record_dropped(count);
        }
    }
}

/// The rows of `path` (features, and labels when the `label` column is there) as request
/// inputs for `model`: they must fit it, and there must be at least one.
pub fn dataset_for(model: &HostModel, path: &Path, label: &str) -> Result<Dataset> {
    let d = bind(model, data::load(path, Labels::Optional(label))?)?;
    if d.rows() == 0 {
        return Err(Error::file(path, "has no rows"));
    }
    Ok(d)
}

/// Request inputs: rows of a dataset, or seeded random rows.
#[derive(Clone, Debug)]
pub struct Inputs {
    values: Vec<f32>,
    width: usize,
    /// `data` or `random`.
    pub source: &'static str,
}

impl Inputs {
    /// The rows of a dataset (already checked to fit the model).
    pub fn from_rows(values: Vec<f32>, width: usize) -> Self {
        Self {
            values,
            width,
            source: "data",
        }
    }

    /// `rows` random rows, each feature drawn from N(mean, std) of the model's normalizer, so
    /// that the inputs look like the data the model was fitted on.
    pub fn random(model: &HostModel, rows: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mean, std) = (model.norm.mean(), model.norm.std());
        let mut values = Vec::with_capacity(rows * mean.len());
        for _ in 0..rows {
            for (m, s) in mean.iter().zip(std) {
                values.push(m + s * normal(&mut rng) as f32);
            }
        }
        Self {
            values,
            width: mean.len(),
            source: "random",
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// The row for request `i` (cycling).
    pub fn row(&self, i: u64) -> &[f32] {
        let r = (i % self.rows().max(1) as u64) as usize;
        &self.values[r * self.width..(r + 1) * self.width]
    }
}

/// The model in this process: one per worker (its own scratch).
pub struct HostTarget {
    model: Arc<HostModel>,
    inputs: Arc<Inputs>,
    scratch: Vec<f32>,
    /// Sum of predicted classes: keeps the optimiser from removing the inference.
    pub sink: u64,
}

impl HostTarget {
    /// A worker's target.
    pub fn new(model: Arc<HostModel>, inputs: Arc<Inputs>) -> Self {
        let scratch = vec![0.0; model.dims().scratch_len()];
        Self {
            model,
            inputs,
            scratch,
            sink: 0,
        }
    }
}

impl Target for HostTarget {
    #[inline]
    fn call(&mut self, index: u64) -> bool {
        match self.model.infer(self.inputs.row(index), &mut self.scratch) {
            Ok(logits) => {
                self.sink += mlprobe_core::mlp::argmax(logits) as u64;
                true
            }
            Err(_) => false,
        }
    }
}

/// A device behind a link: one request at a time.
pub struct DeviceTarget<'d> {
    device: &'d mut Session,
    inputs: Arc<Inputs>,
    /// The first error, for the report.
    pub first_error: Option<String>,
}

impl<'d> DeviceTarget<'d> {
    /// A target on `device`, its counters reset.
    pub fn new(device: &'d mut Session, inputs: Arc<Inputs>) -> Result<Self> {
        if inputs.width > MAX_FEATURES {
            return Err(Error::Usage(format!(
                "the model has {} inputs; the device protocol carries at most {MAX_FEATURES}",
                inputs.width
            )));
        }
        device.reset()?;
        Ok(Self {
            device,
            inputs,
            first_error: None,
        })
    }
}

impl Target for DeviceTarget<'_> {
    fn call(&mut self, index: u64) -> bool {
        let features = self.inputs.row(index).iter().copied().collect();
        match self.device.client().call(Request::Infer { features }) {
            Ok(Response::Inference(_)) => true,
            Ok(other) => {
                self.first_error
                    .get_or_insert_with(|| format!("device answered {other:?}"));
                false
            }
            Err(e) => {
                self.first_error.get_or_insert_with(|| e.to_string());
                false
            }
        }
    }
}

/// A model server speaking the Open Inference Protocol v2 over HTTP/1.1: one keep-alive
/// connection per worker ([`crate::http1::Client`]), one row per request, each request's bytes
/// prepared once. A request succeeds when the server answers 200 with a JSON body holding
/// `outputs`; anything else fails it, and the first failure is kept for the report.
pub struct HttpTarget {
    client: Client,
    requests: Arc<Vec<Vec<u8>>>,
    /// The first failure, for the report.
    pub first_error: Option<String>,
}

/// What an answer must hold to count as one.
#[derive(serde::Deserialize)]
struct Answer {
    #[allow(dead_code, reason = "present is all that is checked")]
    outputs: Vec<serde::de::IgnoredAny>,
}

impl HttpTarget {
    /// The requests to `url`, one per input row, head and body: `{"inputs": [{"name":
    /// "input", "shape": [1, F], "datatype": "FP32", "data": [...]}]}`.
    pub fn requests(url: &str, inputs: &Inputs) -> std::result::Result<Vec<Vec<u8>>, String> {
        let endpoint = Endpoint::parse(url)?;
        Ok((0..inputs.rows() as u64)
            .map(|i| {
                let row = inputs.row(i);
                let body = serde_json::to_vec(&serde_json::json!({
                    "inputs": [{"name": "input", "shape": [1, row.len()], "datatype": "FP32", "data": row}]
                }))
                .unwrap_or_default();
                endpoint.post("application/json", &body)
            })
            .collect())
    }

    /// A worker's target: its own connection to `url`.
    pub fn new(url: &str, requests: Arc<Vec<Vec<u8>>>) -> std::result::Result<Self, String> {
        Ok(Self {
            client: Client::new(Endpoint::parse(url)?, Duration::from_secs(30)),
            requests,
            first_error: None,
        })
    }

    fn request(&mut self, index: u64) -> std::result::Result<(), String> {
        let request = &self.requests[(index % self.requests.len().max(1) as u64) as usize];
        let answer = self.client.exchange(request).map_err(|e| e.message)?;
        if answer.status != 200 {
            return Err(format!(
                "HTTP {}: {}",
                answer.status,
                crate::limits::excerpt_bytes(answer.body)
            ));
        }
        serde_json::from_slice::<Answer>(answer.body)
            .map(drop)
            .map_err(|e| {
                format!(
                    "the answer is not an inference response ({e}): {}",
                    crate::limits::excerpt_bytes(answer.body)
                )
            })
    }
}

impl Target for HttpTarget {
    fn call(&mut self, index: u64) -> bool {
        match self.request(index) {
            Ok(()) => true,
            Err(e) => {
                self.first_error.get_or_insert(e);
                false
            }
        }
    }
}

/// Injected stalls (a test of the generator's accounting): request `i` takes `ms` longer when
/// `i % every == every - 1`.
pub struct Stall<T> {
    /// The target.
    pub inner: T,
    /// Every how many requests.
    pub every: u64,
    /// How long.
    pub ms: u64,
}

impl<T: Target> Target for Stall<T> {
    fn call(&mut self, index: u64) -> bool {
        if self.every > 0 && index % self.every == self.every - 1 {
            std::thread::sleep(Duration::from_millis(self.ms));
        }
        self.inner.call(index)
    }
}

/// One interval's line.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IntervalLine {
    /// Seconds since the start, at the end of the interval.
    pub t_s: f64,
    /// Requests accounted for in the interval.
    pub total: u64,
    /// Answered.
    pub successful: u64,
    /// Failed.
    pub failed: u64,
    /// Dropped.
    pub dropped: u64,
    /// Answered per second in the interval.
    pub rps: f64,
    /// p99 latency in µs (0 when nothing was answered).
    pub p99_us: f64,
}

/// The result of a run.
pub struct LoadRun {
    /// Everything, merged.
    pub tally: Tally,
    /// Per interval.
    pub intervals: Vec<IntervalLine>,
    /// From the start to the last worker's end.
    pub duration: Duration,
}

/// Runs `plan` with one worker thread per target, calling `on_interval` (from this thread)
/// every `interval` with the interval's line and the running total.
pub fn run<T: Target + Send>(
    plan: &Plan,
    targets: Vec<T>,
    interval: Option<Duration>,
    mut on_interval: impl FnMut(&IntervalLine, &Tally),
) -> LoadRun {
    let clock = StdClock::new();
    let claim = AtomicClaim::new(plan.requests);
    let slots: Vec<Mutex<Tally>> = targets.iter().map(|_| Mutex::new(Tally::new())).collect();
    let running = AtomicU64::new(targets.len() as u64);
    let end_ns = AtomicU64::new(0);
    let mut total = Tally::new();
    let mut intervals = Vec::new();
    // A common start a little ahead, so every worker is up before the first due time.
    let start = clock.now() + 2_000_000;
    std::thread::scope(|s| {
        for (mut target, slot) in targets.into_iter().zip(&slots) {
            let (clock, claim, running, end_ns) = (&clock, &claim, &running, &end_ns);
            s.spawn(move || {
                // Every worker waits for the common start, in the closed model too: a closed
                // run measured from `start` would otherwise begin before it (and a short one
                // end before it, reporting a duration of 0).
                clock.sleep_until(start);
                drive(plan, start, clock, claim, &mut target, &mut Shared(slot));
                end_ns.fetch_max(clock.now(), Ordering::Relaxed);
                running.fetch_sub(1, Ordering::Release);
            });
        }
        let take = |total: &mut Tally| {
            let mut t = Tally::new();
            for slot in &slots {
                if let Ok(mut g) = slot.lock() {
                    t.merge(&g);
                    *g = Tally::new();
                }
            }
            total.merge(&t);
            t
        };
        let mut next = start + interval.map_or(u64::MAX / 2, |d| d.as_nanos() as u64);
        let mut last = start;
        while running.load(Ordering::Acquire) > 0 {
            std::thread::sleep(Duration::from_millis(5));
            let now = clock.now();
            if interval.is_some() && now >= next {
                let t = take(&mut total);
                let secs = (now - last) as f64 / 1e9;
                let line = IntervalLine {
                    t_s: (now - start) as f64 / 1e9,
                    total: t.total(),
                    successful: t.successful,
                    failed: t.failed,
                    dropped: t.dropped,
                    rps: t.successful as f64 / secs,
                    p99_us: t.latency.quantile(0.99).map_or(0.0, |v| f64::from(v) / 1e3),
                };
                on_interval(&line, &total);
                intervals.push(line);
                last = now;
                next += interval.map_or(0, |d| d.as_nanos() as u64);
            }
        }
        take(&mut total);
    });
    let end = end_ns.load(Ordering::Relaxed).max(start);
    LoadRun {
        tally: total,
        intervals,
        duration: Duration::from_nanos(end - start),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_clock_waits_at_least_until_the_deadline() {
        let c = StdClock::new();
        let d = c.now() + 1_000_000;
        c.sleep_until(d);
        assert!(c.now() >= d);
    }
}
