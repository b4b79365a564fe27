//! `chaos --experiment failure`: the seed's `inject_failure` around inference. A seeded coin
//! fails each attempt with a probability; a failed call is retried up to `retries` times. The
//! score is the seed's `resilience_score`: successful calls / iterations.

use super::{Measured, Scored, at_least_one, probability};
use crate::error::Result;
use crate::measure::{Latency, latency_of};
use mlprobe_core::chaos::chance;
use mlprobe_core::load::Target;
use mlprobe_core::sketch::Sketch;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::time::Instant;

/// Options of the failure experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureOptions {
    /// Calls (`--iterations`).
    pub iterations: u64,
    /// Probability that an attempt fails (`--failure-rate`).
    pub failure_rate: f64,
    /// Attempts after a failed one (`--retries`).
    pub retries: u32,
}

impl Default for FailureOptions {
    fn default() -> Self {
        Self {
            iterations: 100,
            failure_rate: 0.1,
            retries: 0,
        }
    }
}

impl FailureOptions {
    /// Rejects what no run can use, naming the flag.
    pub fn validate(&self) -> Result<()> {
        probability("--failure-rate", self.failure_rate)?;
        at_least_one("--iterations", self.iterations)
    }
}

/// Errors by message, as the seed's `ChaosEngineer` counts them.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct InjectedErrors {
    /// Injected failures.
    #[serde(rename = "Injected chaos failure")]
    pub injected: u64,
}

/// What the failure experiment measured.
#[derive(Clone, Debug, Serialize)]
pub struct FailureResult {
    /// Calls.
    pub iterations: u64,
    /// Calls that succeeded (within their retries).
    pub successes: u64,
    /// Calls that did not.
    pub failures: u64,
    /// Probability of an injected failure per attempt.
    pub failure_rate: f64,
    /// Retries allowed per call.
    pub retries: u32,
    /// Attempts failed by injection.
    pub injected_failures: u64,
    /// Attempts after a failed one.
    pub retry_attempts: u64,
    /// Attempts the target itself failed.
    pub target_errors: u64,
    /// The score a fault-free target would get on average: 1 − rate^(retries + 1).
    pub expected_score: f64,
    /// Errors by message.
    pub errors: InjectedErrors,
    /// Call latency (retries included), µs.
    pub latency_us: Latency,
}

/// Runs the experiment on `target`, the coin flips drawn from `rng`.
pub fn run(o: &FailureOptions, target: &mut dyn Target, rng: &mut ChaCha8Rng) -> Scored {
    let mut sketch = Sketch::new();
    let (mut successes, mut failures, mut injected, mut retried) = (0u64, 0u64, 0u64, 0u64);
    let mut target_errors = 0u64;
    for i in 0..o.iterations {
        let start = Instant::now();
        let mut ok = false;
        for attempt in 0..=o.retries {
            if attempt > 0 {
                retried += 1;
            }
            if chance(rng, o.failure_rate) {
                injected += 1;
                continue;
            }
            if target.call(i) {
                ok = true;
                break;
            }
            target_errors += 1;
        }
        crate::measure::record_ns(&mut sketch, start.elapsed());
        if ok {
            successes += 1;
        } else {
            failures += 1;
        }
    }
    Scored {
        score: successes as f64 / o.iterations as f64,
        definition: "successful calls / iterations (the seed's resilience_score)",
        violations: Vec::new(),
        measured: Measured::Failure(FailureResult {
            iterations: o.iterations,
            successes,
            failures,
            failure_rate: o.failure_rate,
            retries: o.retries,
            injected_failures: injected,
            retry_attempts: retried,
            target_errors,
            // Without retries a call fails with probability r; with k retries, r^(k+1).
            expected_score: 1.0 - o.failure_rate.powi(o.retries as i32 + 1),
            errors: InjectedErrors { injected },
            latency_us: latency_of(&sketch),
        }),
    }
}

impl FailureResult {
    /// The measurements as text.
    pub fn human(&self) -> String {
        format!(
            "{} calls, {} succeeded, {} failed ({} injected failures, {} retries; expected score {:.4})\n",
            self.iterations,
            self.successes,
            self.failures,
            self.injected_failures,
            self.retry_attempts,
            self.expected_score
        )
    }
}
