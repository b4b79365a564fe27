//! The fuzz targets' smoke run, on stable Rust in every test run (and so in CI).
//!
//! The bodies of the cargo-fuzz targets (`fuzz/src/targets/`) are included here by path and run
//! on every committed seed (`fuzz/corpus/<target>/`) and then, for a few seconds per target, on
//! seeded mutations of them: bit flips, byte and token substitutions, insertions, deletions,
//! duplications, truncations and splices of two inputs, stacked one to four deep, as libFuzzer
//! mutates. It is not coverage-guided (that is `scripts/fuzz.sh`, which needs nightly and a
//! separately instrumented build of every dependency: minutes that CI does not spend); it
//! checks, every run, that no target panics on its corpus and on inputs near it.
//!
//! The seed is random on every run and printed; `MLPROBE_FUZZ_SEED=<n>` replays it and
//! `MLPROBE_FUZZ_SECONDS=<s>` sets the time per target (default 3). A failing input is written
//! to `target/tmp/fuzz-smoke/` with the command that replays it under cargo-fuzz.

#[path = "../../fuzz/src/targets/mod.rs"]
#[allow(dead_code)]
mod targets;

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Tokens that the parsers treat specially: numbers at the edges, separators, TOML and JSON
/// punctuation, the protocol's frame delimiter.
const TOKENS: &[&[u8]] = &[
    b"nan",
    b"inf",
    b"-inf",
    b"1e400",
    b"3.4e38",
    b"-0",
    b"0",
    b"18446744073709551616",
    b",",
    b"\"",
    b"\n",
    b"\r\n",
    b"\r",
    b"=",
    b"[",
    b"]",
    b"[[expectations]]",
    b"{",
    b"}",
    b":",
    b"\0",
    b"\xef\xbb\xbf",
    b"\xff\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"\x7f\xff\xff\xff",
];

fn seed() -> u64 {
    std::env::var("MLPROBE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(15, |d| d.as_nanos() as u64 % 1_000_000_007)
        })
}

fn budget() -> Duration {
    let s = std::env::var("MLPROBE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(3.0);
    Duration::from_secs_f64(s)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = mlprobe_tests::root().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// One mutation of `x` in place; `other` is a second input for splices.
fn mutate(x: &mut Vec<u8>, other: &[u8], rng: &mut ChaCha8Rng) {
    let at = |rng: &mut ChaCha8Rng, len: usize| rng.random_range(0..=len);
    match rng.random_range(0..9u32) {
        0 if !x.is_empty() => {
            let i = rng.random_range(0..x.len());
            x[i] ^= 1 << rng.random_range(0..8u32);
        }
        1 if !x.is_empty() => {
            let i = rng.random_range(0..x.len());
            x[i] = rng.random();
        }
        2 => {
            let i = at(rng, x.len());
            let n = rng.random_range(1..=8usize);
            let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            x.splice(i..i, bytes);
        }
        3 if !x.is_empty() => {
            let i = rng.random_range(0..x.len());
            let n = rng.random_range(1..=(x.len() - i).min(16));
            x.drain(i..i + n);
        }
        4 if !x.is_empty() => {
            // Duplicate a range: repeated rows, fields, frames.
            let i = rng.random_range(0..x.len());
            let n = rng.random_range(1..=(x.len() - i).min(64));
            let copy = x[i..i + n].to_vec();
            let j = at(rng, x.len());
            x.splice(j..j, copy);
        }
        5 => {
            let t = TOKENS[rng.random_range(0..TOKENS.len())];
            let i = at(rng, x.len());
            if rng.random_bool(0.5) || i == x.len() {
                x.splice(i..i, t.iter().copied());
            } else {
                let end = (i + t.len()).min(x.len());
                x.splice(i..end, t.iter().copied());
            }
        }
        6 => x.truncate(at(rng, x.len())),
        7 if !other.is_empty() => {
            // Splice: a prefix of this input and a suffix of the other.
            let i = at(rng, x.len());
            let j = rng.random_range(0..other.len());
            x.truncate(i);
            x.extend_from_slice(&other[j..]);
        }
        _ => {
            // A little-endian integer at the edges (lengths, counts, dimensions).
            let v: u32 = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, u32::MAX]
                [rng.random_range(0..8usize)];
            let i = at(rng, x.len());
            let end = (i + 4).min(x.len());
            x.splice(i..end, v.to_le_bytes());
        }
    }
}

/// Runs `run` on every seed, then on mutations until the time budget is spent.
fn smoke(target: &str, run: fn(&[u8]), max_len: usize) {
    let seeds = corpus(target);
    let (seed, budget) = (seed(), budget());
    let failed = |input: &[u8], case: &str| -> ! {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-smoke");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("{target}-{seed}-{case}"));
        std::fs::write(&file, input).unwrap();
        panic!(
            "fuzz target `{target}` panicked on {case} (seed {seed}); the input is {}\n\
             replay: cargo +nightly fuzz run {target} {}",
            file.display(),
            file.display()
        );
    };
    for (i, s) in seeds.iter().enumerate() {
        if catch_unwind(AssertUnwindSafe(|| run(s))).is_err() {
            failed(s, &format!("seed{i}"));
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ fxhash(target));
    let start = Instant::now();
    let mut execs = 0u64;
    while start.elapsed() < budget {
        let mut x = seeds[rng.random_range(0..seeds.len())].clone();
        let other = &seeds[rng.random_range(0..seeds.len())];
        for _ in 0..rng.random_range(1..=4u32) {
            mutate(&mut x, other, &mut rng);
        }
        x.truncate(max_len);
        if catch_unwind(AssertUnwindSafe(|| run(&x))).is_err() {
            failed(&x, &format!("case{execs}"));
        }
        execs += 1;
        // Rarely, a fresh random input instead of a mutant.
        if rng.next_u32() % 64 == 0 {
            let n = rng.random_range(0..256usize);
            let x: Vec<u8> = (0..n).map(|_| rng.random()).collect();
            if catch_unwind(AssertUnwindSafe(|| run(&x))).is_err() {
                failed(&x, &format!("random{execs}"));
            }
            execs += 1;
        }
    }
    eprintln!(
        "fuzz smoke {target}: {} seeds and {execs} mutants in {:.1} s, no panic \
         (seed {seed}; replay: MLPROBE_FUZZ_SEED={seed})",
        seeds.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(execs > 0 || budget.is_zero(), "no mutant ran in {budget:?}");
}

/// A per-target stream: the same seed fuzzes each target differently.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[test]
fn model() {
    smoke("model", targets::model::run, 4096);
}

#[test]
fn frame() {
    smoke("frame", targets::frame::run, 4096);
}

#[test]
fn server() {
    smoke("server", targets::server::run, 4096);
}

#[test]
fn csv() {
    smoke("csv", targets::csv::run, 16384);
}

#[test]
fn suite() {
    smoke("suite", targets::suite::run, 4096);
}

#[test]
fn config() {
    smoke("config", targets::config::run, 4096);
}

#[test]
fn import() {
    smoke("import", targets::import::run, 4096);
}

#[test]
fn onnx() {
    smoke("onnx", targets::onnx::run, 8192);
}

#[test]
fn tflite() {
    smoke("tflite", targets::tflite::run, 8192);
}
