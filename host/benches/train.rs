//! Training throughput: a 200-epoch fit on wine and digits, whole process included, against
//! baselines measured in the same run:
//! - scikit-learn's `MLPClassifier` fit with the same settings held to 200 epochs, on the
//!   rows `mlprobe train` splits off, when `python3` with scikit-learn is on the PATH (the
//!   issue's reference; both test accuracies are means over seeds, on the same held-out rows);
//! - the per-example core path (`Mlp::train_step` + `Adam::step`, dot-product forward pass)
//!   that the vectorised `Trainer` replaced;
//! - nalgebra's matrix product for a batch forward pass, against core's per-row forward pass,
//!   to decide whether nalgebra earns its place (DESIGN.md, "Packages").
//!
//! - with `MLPROBE_BASELINE_BIN=/path/to/mlprobe`, another build of mlprobe (an earlier commit:
//!   `git worktree add /tmp/old <rev> && cargo build --release --manifest-path
//!   /tmp/old/Cargo.toml -p mlprobe`), timed the same way on the same data, so that a change can
//!   be shown not to slow the seed's shape down (issue #16);
//! - a deeper network (`--hidden 64,32`) on digits, against the seed's shape in the same run.
//!
//! Run: `cargo bench -p mlprobe --bench train`.

use mlprobe::data::{self, Labels};
use mlprobe::train::{Hyper, stratified_split, train};
use mlprobe_core::mlp::{Adam, Dims, Mlp};
use mlprobe_core::transform::Fill;
use rand::SeedableRng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Seconds for `mlprobe train … --tol 0 --val-split 0` (200 epochs held, every training row), whole process, median of `reps`
/// runs with seeds `0..reps`, and the mean test accuracy over those seeds.
fn time_cli(dataset: &str, reps: usize) -> (f64, f64) {
    time_cli_with(Path::new(env!("CARGO_BIN_EXE_mlprobe")), dataset, reps, &[])
}

/// [`time_cli`] with another mlprobe binary and extra flags.
fn time_cli_with(bin: &Path, dataset: &str, reps: usize, extra: &[&str]) -> (f64, f64) {
    let out = std::env::temp_dir().join("mlprobe-bench.mlpb");
    let mut times = Vec::new();
    let mut accs = Vec::new();
    for seed in 0..reps {
        let start = Instant::now();
        let o = Command::new(bin)
            .args(["train", "--data"])
            .arg(root().join("data").join(dataset))
            .args(extra)
            .args([
                "--tol",
                "0",
                "--val-split",
                "0",
                "--epochs",
                "200",
                "--json",
                "--seed",
            ])
            .arg(seed.to_string())
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run mlprobe");
        times.push(start.elapsed().as_secs_f64());
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        accs.push(j["test"]["accuracy"].as_f64().unwrap());
    }
    (median(times), mean(&accs))
}

/// `mlprobe train`'s split of a dataset (its defaults: 30 % held out, `--split-seed 42`), so
/// that scikit-learn fits and scores the same rows.
fn cli_split(dataset: &str) -> mlprobe::train::Split {
    let d = data::load(
        &root().join("data").join(dataset),
        Labels::Required("label"),
    )
    .unwrap();
    stratified_split(d.labels.as_ref().unwrap(), 0.3, 42)
}

/// scikit-learn's fit time (seconds, median of `reps` with seeds `0..reps`) and mean test
/// accuracy, same settings held to 200 epochs, on `mlprobe train`'s split (standardisation
/// fitted on the training rows, as mlprobe does); `None` without python3 + scikit-learn.
fn time_sklearn(dataset: &str, reps: usize) -> Option<(f64, f64)> {
    let split = cli_split(dataset);
    let list = |rows: &[usize]| {
        rows.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let script = format!(
        r#"
import time, warnings, numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
warnings.filterwarnings("ignore")
a = np.loadtxt("{path}", delimiter=",", skiprows=1); X, y = a[:, :-1], a[:, -1].astype(int)
train, test = [{train}], [{test}]
Xtr, Xte, ytr, yte = X[train], X[test], y[train], y[test]
sc = StandardScaler().fit(Xtr); Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
ts, accs = [], []
for r in range({reps}):
    m = MLPClassifier(hidden_layer_sizes=(32,), solver="adam", learning_rate_init=0.01, batch_size=32,
                      max_iter=200, n_iter_no_change=10**9, random_state=r)
    t = time.perf_counter(); m.fit(Xtr, ytr); ts.append(time.perf_counter() - t)
    accs.append(m.score(Xte, yte))
print(sorted(ts)[len(ts) // 2], sum(accs) / len(accs))
"#,
        path = root().join("data").join(dataset).display(),
        train = list(&split.train),
        test = list(&split.test),
    );
    let o = Command::new("python3")
        .args(["-c", &script])
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>());
    Some((it.next()?.ok()?, it.next()?.ok()?))
}

/// The per-example core path the `Trainer` replaced, in-process (seconds for 200 epochs).
fn time_per_example_path(dataset: &str) -> f64 {
    let d = data::load(
        &root().join("data").join(dataset),
        Labels::Required("label"),
    )
    .unwrap();
    let labels = d.labels.clone().unwrap();
    let split = stratified_split(&labels, 0.3, 42);
    let w = d.width();
    let dims = Dims::new(w, 32, d.classes()).unwrap();
    let xs: Vec<f32> = split
        .train
        .iter()
        .flat_map(|&i| d.row(i).to_vec())
        .collect();
    let ys: Vec<usize> = split
        .train
        .iter()
        .map(|&i| usize::from(labels[i]))
        .collect();
    let mut mlp = Mlp::new(dims, vec![0.0; dims.param_count()]).unwrap();
    mlp.init(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
    let p = dims.param_count();
    let (mut g, mut m, mut v) = (vec![0.0; p], vec![0.0; p], vec![0.0; p]);
    let mut scratch = vec![0.0; dims.train_scratch_len()];
    let mut adam = Adam::new(0.01);
    let start = Instant::now();
    for _ in 0..200 {
        for batch in (0..ys.len()).collect::<Vec<_>>().chunks(32) {
            g.fill(0.0);
            for &i in batch {
                mlp.train_step(
                    &xs[i * w..(i + 1) * w],
                    ys[i],
                    1.0 / batch.len() as f32,
                    &mut g,
                    &mut scratch,
                )
                .unwrap();
            }
            adam.step(mlp.params_mut(), &g, &mut m, &mut v).unwrap();
        }
    }
    start.elapsed().as_secs_f64()
}

/// In-process 200-epoch fit through `mlprobe::train::train` (seconds, median of `reps`).
fn time_in_process(dataset: &str, reps: usize) -> f64 {
    let d = data::load(
        &root().join("data").join(dataset),
        Labels::Required("label"),
    )
    .unwrap();
    let labels = d.labels.clone().unwrap();
    let split = cli_split(dataset);
    let xs: Vec<f32> = split
        .train
        .iter()
        .flat_map(|&i| d.row(i).to_vec())
        .collect();
    let ys: Vec<u8> = split.train.iter().map(|&i| labels[i]).collect();
    let opts = Hyper {
        hidden: vec![32],
        epochs: 200,
        lr: 0.01,
        batch: 32,
        seed: 0,
        fill: Fill::Mean,
        convergence: None,
    };
    let times = (0..reps)
        .map(|_| {
            let start = Instant::now();
            train(&xs, &ys, d.width(), d.classes(), &opts, |_| {}).unwrap();
            start.elapsed().as_secs_f64()
        })
        .collect();
    median(times)
}

/// Batch forward pass (1,258 digits rows, 64 → 32): nalgebra `DMatrix` product against core's
/// per-row forward pass. Returns (core seconds, nalgebra seconds).
fn nalgebra_vs_core() -> (f64, f64) {
    let dims = Dims::new(64, 32, 10).unwrap();
    let mut mlp = Mlp::new(dims, vec![0.0; dims.param_count()]).unwrap();
    mlp.init(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1));
    let n = 1258;
    let xs: Vec<f32> = (0..n * 64)
        .map(|k| ((k * 7919) % 17) as f32 / 17.0 - 0.5)
        .collect();
    let reps = 200;
    let mut scratch = vec![0.0; 42];
    let mut sink = 0.0f32;
    let start = Instant::now();
    for _ in 0..reps {
        for x in xs.chunks_exact(64) {
            sink += mlp.forward(x, &mut scratch).unwrap()[0];
        }
    }
    let t_core = start.elapsed().as_secs_f64();
    let (l1, l2) = (mlp.layer(0), mlp.layer(1));
    let w1 = nalgebra::DMatrix::from_row_slice(32, 64, l1.weight);
    let b1 = nalgebra::DVector::from_column_slice(l1.bias);
    let w2 = nalgebra::DMatrix::from_row_slice(10, 32, l2.weight);
    let b2 = nalgebra::DVector::from_column_slice(l2.bias);
    let x = nalgebra::DMatrix::from_column_slice(64, n, &xs);
    let start = Instant::now();
    for _ in 0..reps {
        let mut h = &w1 * &x;
        for mut col in h.column_iter_mut() {
            col += &b1;
            col.apply(|v| *v = v.max(0.0));
        }
        let mut z = &w2 * &h;
        for mut col in z.column_iter_mut() {
            col += &b2;
        }
        sink += z[(0, 0)];
    }
    let t_na = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    (t_core, t_na)
}

fn main() {
    println!("mlprobe training benchmark: 200 epochs held (--tol 0), hidden 32, batch 32, lr 0.01");
    let baseline = std::env::var_os("MLPROBE_BASELINE_BIN").map(PathBuf::from);
    for (dataset, reps) in [("wine.csv", 9), ("digits.csv", 7)] {
        let (cli, acc) = time_cli(dataset, reps);
        println!("{dataset}:");
        if let Some(bin) = &baseline {
            // Alternating one run of each build, so that both see the same machine load.
            let this = Path::new(env!("CARGO_BIN_EXE_mlprobe"));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let mut old_acc = 0.0;
            for _ in 0..3 * reps {
                a.push(time_cli_with(this, dataset, 1, &[]).0);
                let (t, acc) = time_cli_with(bin, dataset, 1, &[]);
                b.push(t);
                old_acc = acc;
            }
            let (a, b) = (median(a), median(b));
            println!(
                "  baseline build {} (seed shape, runs alternating with this build's)\n    \
                 this build {:.1} ms, baseline {:.1} ms (seed 0: accuracy {old_acc:.4}): this build / baseline {:.3}",
                bin.display(),
                a * 1e3,
                b * 1e3,
                a / b
            );
        }
        let in_proc = time_in_process(dataset, reps);
        let naive = time_per_example_path(dataset);
        println!(
            "  mlprobe train (whole process)   {:>8.1} ms   test accuracy {acc:.4} (mean of seeds 0-{})",
            cli * 1e3,
            reps - 1
        );
        println!(
            "  in-process fit (Trainer)        {:>8.1} ms",
            in_proc * 1e3
        );
        println!(
            "  per-example core path           {:>8.1} ms   Trainer speed-up {:.2}x",
            naive * 1e3,
            naive / in_proc
        );
        let sk_reps = reps.min(5);
        match time_sklearn(dataset, sk_reps) {
            Some((t, a)) => println!(
                "  scikit-learn MLPClassifier.fit  {:>8.1} ms   test accuracy {a:.4} (mean of seeds 0-{}, same split)   mlprobe is {:.1}x faster (target 20x)",
                t * 1e3,
                sk_reps - 1,
                t / cli
            ),
            None => println!(
                "  scikit-learn: not available (pip install scikit-learn for the reference baseline)"
            ),
        }
    }
    let (seed, acc) = time_cli("digits.csv", 7);
    let (deep, acc_deep) = time_cli_with(
        Path::new(env!("CARGO_BIN_EXE_mlprobe")),
        "digits.csv",
        7,
        &["--hidden", "64,32"],
    );
    println!(
        "digits, hidden 64,32: {:>8.1} ms   test accuracy {acc_deep:.4}   (hidden 32: {:.1} ms, accuracy {acc:.4}; ratio {:.2})",
        deep * 1e3,
        seed * 1e3,
        deep / seed
    );
    let (t_core, t_na) = nalgebra_vs_core();
    println!(
        "batch forward 1258x(64-32-10), 200 reps: core per-row {:.1} ms, nalgebra DMatrix {:.1} ms (core/nalgebra {:.2})",
        t_core * 1e3,
        t_na * 1e3,
        t_core / t_na
    );
}
