//! Cost of the Bayesian A/B computations: the exact P(treatment > control) and the whole exact
//! analysis (P, both expected losses, both credible intervals) for counts up to 10^6, under a
//! uniform and a Jeffreys prior, and one million Monte-Carlo draws.
//!
//! Run with `cargo bench -p mlprobe --bench ab`. Each figure is the median of several timed
//! batches, printed with its ratio to a baseline measured in the same run (one `ln_beta` call
//! for the exact probability, one million uniform draws for the Monte-Carlo), so the numbers
//! compare across machines.

use mlprobe::ab::bayes::monte_carlo;
use mlprobe_core::abtest::Variant;
use mlprobe_core::bayes::{self, BetaDist, prob_greater};
use mlprobe_core::special::ln_beta;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median seconds per call of `f`, over 7 batches of at least `min` each.
fn time<T>(min: Duration, mut f: impl FnMut() -> T) -> f64 {
    // Calibrate the batch size.
    let mut reps = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..reps {
            black_box(f());
        }
        if start.elapsed() >= min || reps >= 1 << 30 {
            break;
        }
        reps *= 2;
    }
    let mut samples: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                black_box(f());
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    samples[3]
}

fn fmt(seconds: f64) -> String {
    if seconds < 1e-6 {
        format!("{:8.1} ns", seconds * 1e9)
    } else if seconds < 1e-3 {
        format!("{:8.2} µs", seconds * 1e6)
    } else {
        format!("{:8.2} ms", seconds * 1e3)
    }
}

fn main() {
    let min = Duration::from_millis(20);
    let baseline = time(min, || ln_beta(black_box(123_456.0), black_box(876_544.0)));
    println!("exact P(treatment > control) and the whole exact analysis (bayes::exact)");
    println!("baseline: one ln_beta call {}", fmt(baseline));
    println!(
        "{:>7} {:>9} {:>7} {:>7}  {:>11} {:>9}  {:>11} {:>9}  P",
        "prior", "n/arm", "rate c", "rate t", "P", "× ln_beta", "exact", "× ln_beta"
    );
    for prior in [1.0, 0.5] {
        for n in [100u64, 10_000, 1_000_000] {
            for (rc, rt) in [
                (0.10, 0.11),
                (0.50, 0.505),
                (0.001, 0.0012),
                (0.999, 0.9992),
            ] {
                let cc = (rc * n as f64).round() as u64;
                let ct = (rt * n as f64).round() as u64;
                let (c, t) = (
                    Variant::from_counts(cc, n).unwrap(),
                    Variant::from_counts(ct, n).unwrap(),
                );
                let pr = BetaDist::new(prior, prior).unwrap();
                let (a, b) = (pr.posterior(&c), pr.posterior(&t));
                let tp = time(min, || prob_greater(black_box(&a), black_box(&b)));
                let te = time(min, || bayes::exact(black_box(&c), black_box(&t), pr, 0.95));
                println!(
                    "{prior:>7} {n:>9} {rc:>7} {rt:>7}  {} {:>9.0}  {} {:>9.0}  {:.10}",
                    fmt(tp),
                    tp / baseline,
                    fmt(te),
                    te / baseline,
                    prob_greater(&a, &b)
                );
            }
        }
    }

    println!("\nMonte-Carlo, one million paired Beta draws (statrs, ChaCha8)");
    let draws = 1_000_000u64;
    let uniform = time(Duration::from_millis(200), || {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut s = 0.0;
        for _ in 0..2 * draws {
            s += rng.random::<f64>();
        }
        s
    });
    println!("baseline: 2·10^6 uniform f64 draws {}", fmt(uniform));
    for n in [1_000u64, 1_000_000] {
        let a = BetaDist::new(1.0 + 0.10 * n as f64, 1.0 + 0.90 * n as f64).unwrap();
        let b = BetaDist::new(1.0 + 0.11 * n as f64, 1.0 + 0.89 * n as f64).unwrap();
        let t = time(Duration::from_millis(200), || {
            monte_carlo(black_box(&a), black_box(&b), draws, 7, 0.95).unwrap()
        });
        let exact = time(min, || prob_greater(black_box(&a), black_box(&b)));
        println!(
            "n/arm {n:>9}: {}  ({:.1} × uniform draws; {:.1} × the exact P)",
            fmt(t),
            t / uniform,
            t / exact
        );
    }
}
