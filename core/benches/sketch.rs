//! Cost, size and accuracy of `mlprobe_core::sketch::Sketch`.
//!
//! Run: `cargo bench -p mlprobe-core --bench sketch`
//!
//! Prints the cost per recorded value next to two baselines measured in the same run on the
//! same values (summing them, and pushing them into a pre-allocated `Vec`), the sketch's size,
//! and the worst relative error of p50/p95/p99/p99.9 (and a fine quantile grid) against exact
//! order statistics. Targets (issue 3): < 20 ns per record, ≤ 8 KiB, ≤ 1 % error.
use std::hint::black_box;
use std::time::Instant;

use mlprobe_core::sketch::{Sketch, nearest_rank};

const N: usize = 1 << 20;
const ROUNDS: usize = 15;

/// SplitMix64 (Steele, Lea & Flood 2014): a dependency-free, reproducible generator.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// Latency-like values in nanoseconds: log-normal around 20 µs with rare huge outliers.
fn values(seed: u64) -> Vec<u32> {
    let mut rng = SplitMix(seed);
    (0..N)
        .map(|i| {
            if i % 100_000 == 99_999 {
                4_000_000_000
            } else {
                (10.0 + 1.5 * rng.normal())
                    .exp()
                    .clamp(0.0, u32::MAX as f64) as u32
            }
        })
        .collect()
}

/// Best-of-`ROUNDS` nanoseconds per value of `f` over `data`.
fn per_value(data: &[u32], mut f: impl FnMut(&[u32])) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let t = Instant::now();
            f(data);
            t.elapsed().as_secs_f64() * 1e9 / data.len() as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let data = values(42);

    let sum_ns = per_value(&data, |d| {
        let mut s = 0u64;
        for &v in d {
            s = s.wrapping_add(u64::from(black_box(v)));
        }
        black_box(s);
    });
    let mut vec = Vec::with_capacity(N);
    let vec_ns = per_value(&data, |d| {
        vec.clear();
        for &v in d {
            vec.push(black_box(v));
        }
        black_box(&vec);
    });
    let mut sketch = Box::new(Sketch::new());
    let sketch_ns = per_value(&data, |d| {
        sketch.clear();
        for &v in d {
            sketch.record(black_box(v));
        }
        black_box(&sketch);
    });

    // Accuracy against exact order statistics.
    let mut sorted = data.clone();
    sorted.sort_unstable();
    let mut s = Sketch::new();
    data.iter().for_each(|&v| s.record(v));
    let mut worst = 0.0f64;
    let mut usual = Vec::new();
    let grid = (0..=1000).map(|i| i as f64 / 1000.0);
    for q in grid.chain([0.95, 0.99, 0.999]) {
        let exact = sorted[(nearest_rank(q, N as u64) - 1) as usize];
        let est = s.quantile(q).expect("non-empty");
        let err = est.abs_diff(exact) as f64 / (exact.max(1)) as f64;
        worst = worst.max(err);
        if [0.5, 0.95, 0.99, 0.999].contains(&q) && !usual.iter().any(|&(u, _, _)| u == q) {
            usual.push((q, exact, est));
        }
    }

    println!(
        "sketch bench: {N} log-normal latency values (ns) with huge outliers, best of {ROUNDS}"
    );
    println!("  sum (baseline)          {sum_ns:7.2} ns/value");
    println!("  Vec::push (baseline)    {vec_ns:7.2} ns/value");
    println!(
        "  Sketch::record          {sketch_ns:7.2} ns/value  ({:.2}x sum, {:.2}x Vec::push)  target < 20 ns",
        sketch_ns / sum_ns,
        sketch_ns / vec_ns
    );
    println!(
        "  size_of::<Sketch>()     {} bytes ({} buckets)  target <= 8192",
        std::mem::size_of::<Sketch>(),
        Sketch::BUCKETS
    );
    for (q, exact, est) in usual {
        println!("  q={q:<6} exact {exact:>10}  sketch {est:>10}");
    }
    println!(
        "  worst relative error    {:.4} %  (stated bound {:.4} %, target <= 1 %)",
        worst * 100.0,
        Sketch::RELATIVE_ERROR * 100.0
    );
    assert!(worst <= Sketch::RELATIVE_ERROR, "bound violated");
}
