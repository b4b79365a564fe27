//! `chaos --experiment latency`: the seed's `inject_latency` around inference. A seeded coin
//! decides, per call, whether a delay comes first; the score is the share of calls answered
//! within the SLO.

use super::{Measured, Scored, at_least_one, probability};
use crate::error::{Error, Result};
use crate::measure::{Latency, latency_of};
use mlprobe_core::chaos::chance;
use mlprobe_core::load::Target;
use mlprobe_core::sketch::Sketch;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::{Duration, Instant};

/// The longest injected delay and SLO, ms (one hour): `--latency-ms` and `--slo-ms` are
/// within `[0, MAX_MS]`.
pub const MAX_MS: f64 = 3_600_000.0;

/// Options of the latency experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct LatencyOptions {
    /// Calls (`--iterations`).
    pub iterations: u64,
    /// Injected delay in ms (`--latency-ms`).
    pub latency_ms: f64,
    /// Probability of a delay (`--probability`).
    pub probability: f64,
    /// A call slower than this misses the SLO (`--slo-ms`; default half of `latency_ms`).
    pub slo_ms: Option<f64>,
}

impl Default for LatencyOptions {
    fn default() -> Self {
        Self {
            iterations: 100,
            latency_ms: 20.0,
            probability: 0.1,
            slo_ms: None,
        }
    }
}

impl LatencyOptions {
    /// Rejects what no run can use, naming the flag.
    pub fn validate(&self) -> Result<()> {
        probability("--probability", self.probability)?;
        at_least_one("--iterations", self.iterations)?;
        let in_range = |v: f64| (0.0..=MAX_MS).contains(&v);
        if !in_range(self.latency_ms) {
            return Err(Error::Usage(format!(
                "--latency-ms {}: must be from 0 to {MAX_MS}",
                self.latency_ms
            )));
        }
        if let Some(slo) = self.slo_ms
            && !in_range(slo)
        {
            return Err(Error::Usage(format!(
                "--slo-ms {slo}: must be from 0 to {MAX_MS}"
            )));
        }
        Ok(())
    }
}

/// What the latency experiment measured.
#[derive(Clone, Debug, Serialize)]
pub struct LatencyResult {
    /// Calls.
    pub iterations: u64,
    /// Calls delayed.
    pub injected: u64,
    /// The delay.
    pub latency_ms: f64,
    /// Its probability.
    pub probability: f64,
    /// The SLO.
    pub slo_ms: f64,
    /// Calls answered within the SLO.
    pub within_slo: u64,
    /// Calls the target failed.
    pub errors: u64,
    /// Call latency (delay included), µs.
    pub latency_us: Latency,
}

/// Runs the experiment on `target`, the coin flips drawn from `rng`.
pub fn run(o: &LatencyOptions, target: &mut dyn Target, rng: &mut ChaCha8Rng) -> Scored {
    let mut sketch = Sketch::new();
    let slo = o.slo_ms.unwrap_or(o.latency_ms / 2.0);
    let (mut injected, mut within, mut errors) = (0u64, 0u64, 0u64);
    for i in 0..o.iterations {
        let start = Instant::now();
        if chance(rng, o.probability) {
            injected += 1;
            std::thread::sleep(Duration::from_secs_f64(o.latency_ms / 1e3));
        }
        let ok = target.call(i);
        let took = start.elapsed();
        crate::measure::record_ns(&mut sketch, took);
        if !ok {
            errors += 1;
        } else if took.as_secs_f64() * 1e3 <= slo {
            within += 1;
        }
    }
    Scored {
        score: within as f64 / o.iterations as f64,
        definition: "calls answered within --slo-ms / iterations",
        violations: Vec::new(),
        measured: Measured::Latency(LatencyResult {
            iterations: o.iterations,
            injected,
            latency_ms: o.latency_ms,
            probability: o.probability,
            slo_ms: slo,
            within_slo: within,
            errors,
            latency_us: latency_of(&sketch),
        }),
    }
}

impl LatencyResult {
    /// The measurements as text.
    pub fn human(&self) -> String {
        format!(
            "{} calls, {} delayed by {:?} ms; {} within the {:?} ms SLO\nlatency µs  {}\n",
            self.iterations,
            self.injected,
            self.latency_ms,
            self.within_slo,
            self.slo_ms,
            crate::load::percentiles(&self.latency_us)
        )
    }
}
