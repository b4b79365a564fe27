//! Throughput and peak memory of `mlprobe ab ttest` on a table of 10 million units, beside
//! `scipy.stats.ttest_ind` on the same file loaded by pandas, measured in the same run.
//!
//! Generates `TTEST_BENCH_ROWS` rows (default 10,000,000; about 0.5 GB) of
//! `variant,metric,pre` (two variants, a lognormal metric and a correlated covariate) in a
//! temporary directory, then times, best of three each:
//! - `mlprobe ab ttest --json` (Welch), and with `--covariate pre` (CUPED);
//! - the baseline: pandas `read_csv` of the same columns and `scipy.stats.ttest_ind(
//!   equal_var=False)` in the reference Python (`.venv`, or `MLPROBE_PYTHON`), which prints its
//!   own time and peak RSS.
//!
//! mlprobe's peak RSS is the largest `ru_maxrss` of its runs (`getrusage(RUSAGE_CHILDREN)`),
//! printed after a run on the first tenth of the rows and after the whole: constant memory
//! means the two agree, whatever the file's size.
//!
//! ```text
//! cargo bench -p mlprobe --bench ttest
//! TTEST_BENCH_ROWS=1000000 cargo bench -p mlprobe --bench ttest
//! TTEST_BENCH_DIR=/tmp/tbench cargo bench -p mlprobe --bench ttest   # keeps the tables
//! ```

use rand::{RngExt, SeedableRng};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Writes `rows` units; returns the file's size.
fn generate(path: &Path, rows: usize) -> u64 {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(out, "variant,metric,pre").unwrap();
    for _ in 0..rows {
        let treated = rng.random_range(0..2u32) == 1;
        // A lognormal-ish revenue: e^(N(1, 0.8)) from a Box–Muller normal.
        let (u, v): (f64, f64) = (rng.random_range(1e-12..1.0), rng.random_range(0.0..1.0));
        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        let pre = (1.0 + 0.8 * z).exp();
        let noise: f64 = rng.random_range(-1.0..1.0);
        let metric = 0.8 * pre + noise + if treated { 0.02 } else { 0.0 };
        let name = if treated { "treatment" } else { "control" };
        writeln!(out, "{name},{metric:.6},{pre:.6}").unwrap();
    }
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// The largest resident set of the children waited for so far, in MiB.
fn children_peak_mib() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    usage.ru_maxrss as f64 / 1024.0
}

/// Best seconds of three runs of `mlprobe ab ttest` with `extra` flags; checks the rows.
fn mlprobe(data: &Path, rows: usize, extra: &[&str]) -> f64 {
    let bin = env!("CARGO_BIN_EXE_mlprobe");
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let o = Command::new(bin)
            .args(["ab", "ttest", "--json", "--metric", "metric", "--data"])
            .arg(data)
            .args(extra)
            .output()
            .unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        let doc: serde_json::Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
        assert_eq!(doc["rows"], rows as u64, "{doc}");
    }
    best
}

const BASELINE: &str = r#"
import resource, sys, time
t = time.perf_counter()
import pandas as pd
from scipy import stats
df = pd.read_csv(sys.argv[1], usecols=["variant", "metric"])
c = df.loc[df.variant == "control", "metric"].to_numpy()
t_ = df.loc[df.variant == "treatment", "metric"].to_numpy()
r = stats.ttest_ind(t_, c, equal_var=False)
s = time.perf_counter() - t
print(f"{s:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} {r.statistic!r}")
"#;

/// The reference Python: `MLPROBE_PYTHON`, else the repository's `.venv`.
fn python() -> PathBuf {
    std::env::var_os("MLPROBE_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"),
        PathBuf::from,
    )
}

fn main() {
    let rows: usize = std::env::var("TTEST_BENCH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let kept = std::env::var_os("TTEST_BENCH_DIR").map(PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = kept.clone().unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (small, big) = (
        dir.join(format!("units_{}.csv", rows / 10)),
        dir.join(format!("units_{rows}.csv")),
    );
    let mut sizes = Vec::new();
    for (path, n) in [(&small, rows / 10), (&big, rows)] {
        let bytes = match std::fs::metadata(path) {
            Ok(m) if kept.is_some() => m.len(),
            _ => generate(path, n),
        };
        sizes.push(bytes);
    }
    println!(
        "ab ttest on {rows} units ({:.0} MB CSV), {cores} cores",
        sizes[1] as f64 / 1e6
    );
    let t_small = mlprobe(&small, rows / 10, &[]);
    let peak_small = children_peak_mib();
    let t_welch = mlprobe(&big, rows, &[]);
    let peak_big = children_peak_mib();
    let t_cuped = mlprobe(&big, rows, &["--covariate", "pre"]);
    println!(
        "mlprobe ab ttest, {} rows: best {t_small:.3} s; peak RSS {peak_small:.1} MiB",
        rows / 10
    );
    println!(
        "mlprobe ab ttest, {rows} rows: best {t_welch:.3} s ({:.1} M rows/s, {:.0} MB/s); peak \
         RSS {peak_big:.1} MiB (×{:.2} the tenth's)",
        rows as f64 / t_welch / 1e6,
        sizes[1] as f64 / t_welch / 1e6,
        peak_big / peak_small
    );
    println!("mlprobe ab ttest --covariate pre (CUPED): best {t_cuped:.3} s");
    let script = dir.join("ttest_baseline.py");
    std::fs::write(&script, BASELINE).unwrap();
    let mut runs = Vec::new();
    for _ in 0..3 {
        match Command::new(python()).arg(&script).arg(&big).output() {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout).to_string();
                let v: Vec<f64> = text
                    .split_whitespace()
                    .filter_map(|s| s.parse().ok())
                    .collect();
                if v.len() >= 2 {
                    runs.push((v[0], v[1]));
                }
            }
            _ => break,
        }
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    match runs.first() {
        None => {
            println!("pandas + scipy: not measured (no reference Python with pandas and scipy)")
        }
        Some(&(s, mib)) => println!(
            "pandas read_csv + scipy ttest_ind: best {s:.3} s, peak RSS {mib:.0} MiB; mlprobe is \
             {:.1}× as fast in {:.2}× the memory",
            s / t_welch,
            peak_big / mib
        ),
    }
}
