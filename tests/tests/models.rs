//! Issue #16: models of any depth, columns bound by name. A deeper network trains, predicts,
//! evaluates, exports and imports; a model stores its feature columns and every command that
//! feeds it data takes them by name (any order, extra columns ignored and said once, every
//! missing one named); a version 1 model binds by position with a warning.

use mlprobe_tests::{code, data, json, root, run, stderr};
use std::path::{Path, PathBuf};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Trains on `data` into `dir/name` with extra flags; panics unless it exits 0.
fn train(dir: &Path, name: &str, data: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec!["train", "--data", s(data), "--out", s(&out), "--json"];
    args.extend(extra);
    let o = run(&args);
    assert_eq!(code(&o), 0, "train {extra:?}: {}", stderr(&o));
    out
}

/// `predict --json` of `model` on `data`: the predictions and the logits' bits.
fn predict(model: &Path, data: &Path) -> (serde_json::Value, Vec<Vec<u32>>, String) {
    let o = run(["predict", "--model", s(model), "--data", s(data), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let bits = j["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| (v.as_f64().unwrap() as f32).to_bits())
                .collect()
        })
        .collect();
    (j["predictions"].clone(), bits, stderr(&o))
}

/// wine.csv with its columns in another order (the label in the middle) and, when `extra`,
/// one more column the model never saw.
fn shuffled_wine(dir: &Path, drop: Option<&str>, extra: bool) -> PathBuf {
    let mut r = csv::Reader::from_path(data("wine.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    // A fixed permutation: reversed, then the first two swapped.
    let mut order: Vec<usize> = (0..header.len()).rev().collect();
    order.swap(0, 1);
    order.retain(|&i| Some(header[i].as_str()) != drop);
    let path = dir.join("shuffled.csv");
    let mut w = csv::Writer::from_path(&path).unwrap();
    let mut head: Vec<&str> = order.iter().map(|&i| header[i].as_str()).collect();
    if extra {
        head.push("batch_id");
    }
    w.write_record(&head).unwrap();
    for (n, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        let mut row: Vec<String> = order.iter().map(|&i| rec[i].to_string()).collect();
        if extra {
            row.push((n * 7919 % 1000).to_string());
        }
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
    path
}

#[test]
fn shuffled_columns_give_the_same_predictions_and_missing_ones_are_named() {
    let dir = tmp();
    let m = train(dir.path(), "w.mlpb", &data("wine.csv"), &["--epochs", "40"]);
    let (want, want_bits, _) = predict(&m, &data("wine.csv"));
    // Columns in another order, plus one the model does not take: the same logits, bit for
    // bit, and the extra column named once.
    let shuffled = shuffled_wine(dir.path(), None, true);
    let (got, got_bits, err) = predict(&m, &shuffled);
    assert_eq!(got, want);
    assert_eq!(got_bits, want_bits);
    assert_eq!(
        err.matches("ignoring 1 column the model does not take: `batch_id`")
            .count(),
        1,
        "{err}"
    );
    // eval too: the same accuracy as on the original file.
    let acc = |data: &Path| {
        let o = run(["eval", "--model", s(&m), "--data", s(data), "--json"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        json(&o)["accuracy"].as_f64().unwrap()
    };
    assert_eq!(acc(&shuffled), acc(&data("wine.csv")));
    // A missing column: exit 2 naming it (and only it).
    let missing = shuffled_wine(dir.path(), Some("proline"), false);
    for cmd in ["predict", "eval"] {
        let o = run([cmd, "--model", s(&m), "--data", s(&missing)]);
        assert_eq!(code(&o), 2, "{cmd}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("a column the model needs is missing: `proline`"),
            "{cmd}: {e}"
        );
        assert!(e.contains("shuffled.csv"), "{e}");
    }
}

#[test]
fn a_version_1_model_binds_by_position_with_a_warning() {
    // The bundled firmware model is a version 1 file (written before names existed).
    let v1 = root().join("firmware/models/wine.mlpb");
    assert_eq!(&std::fs::read(&v1).unwrap()[4..6], &[1, 0]);
    let (_, _, err) = predict(&v1, &data("wine.csv"));
    assert_eq!(
        err.matches("the model has no feature names").count(),
        1,
        "{err}"
    );
    assert!(err.contains("taken by position"), "{err}");
}

#[test]
fn features_selects_columns_and_the_model_keeps_them() {
    let dir = tmp();
    let cols = "proline,alcohol,flavanoids";
    let m = train(
        dir.path(),
        "three.mlpb",
        &data("wine.csv"),
        &["--features", cols, "--epochs", "30"],
    );
    // Bound by name: the full file (13 feature columns) is fine, 10 of them ignored.
    let (_, _, err) = predict(&m, &data("wine.csv"));
    assert!(
        err.contains("ignoring 10 columns the model does not take"),
        "{err}"
    );
    // A --features name that is not a column: exit 2 naming it.
    let o = run([
        "train",
        "--data",
        s(&data("wine.csv")),
        "--out",
        s(&dir.path().join("x.mlpb")),
        "--features",
        "alcohol,no_such,label",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("`no_such`") && e.contains("`label` is the label column"),
        "{e}"
    );
}

#[test]
fn a_deeper_network_runs_through_every_host_command() {
    let dir = tmp();
    let wine = data("wine.csv");
    let m = train(
        dir.path(),
        "deep.mlpb",
        &wine,
        &["--hidden", "16,8,8", "--epochs", "60"],
    );
    let bytes = std::fs::read(&m).unwrap();
    assert_eq!(&bytes[4..6], &[2, 0], "a version 2 file");
    let o = run(["eval", "--model", s(&m), "--data", s(&wine), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(json(&o)["accuracy"].as_f64().unwrap() > 0.9);
    // safetensors out and back in: the same file, bit for bit (names and all).
    let st = dir.path().join("deep.safetensors");
    let o = run(["export", s(&m), "--format", "safetensors", "--out", s(&st)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let back = dir.path().join("back.mlpb");
    let o = run(["import", s(&st), "--out", s(&back)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(std::fs::read(&back).unwrap(), bytes);

    // Chaos: bit flips per tensor of every layer.
    let o = run([
        "chaos",
        "--experiment",
        "bitflip",
        "--model",
        s(&m),
        "--data",
        s(&wine),
        "--trials",
        "2",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let tensors: Vec<String> = j["measured"]["by_tensor"]
        .as_array()
        .or_else(|| j["results"][0]["measured"]["by_tensor"].as_array())
        .unwrap_or_else(|| panic!("{j}"))
        .iter()
        .map(|p| p["tensor"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        tensors,
        [
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "fc3.weight",
            "fc3.bias",
            "fc4.weight",
            "fc4.bias"
        ]
    );
    // Load in process.
    let o = run([
        "load",
        "--model",
        s(&m),
        "--data",
        s(&wine),
        "--requests",
        "200",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

#[test]
fn hidden_flag_bounds_are_usage_errors() {
    let dir = tmp();
    let out = dir.path().join("m.mlpb");
    for (hidden, says) in [
        ("0", "1..=256"),
        ("300", "1..=256"),
        ("8,8,8,8,8,8,8,8", "1 to 7 hidden layers"),
    ] {
        let o = run([
            "train",
            "--data",
            s(&data("wine.csv")),
            "--out",
            s(&out),
            "--hidden",
            hidden,
        ]);
        assert_eq!(code(&o), 2, "--hidden {hidden}");
        assert!(
            stderr(&o).contains(says),
            "--hidden {hidden}: {}",
            stderr(&o)
        );
        assert!(!out.exists());
    }
}

/// The target: `train --hidden 64,32` on digits reaches a held-out accuracy of at
/// least 0.965, as the mean over seeds 0 to 4 (the split is the same for every seed), fitting
/// every training row as it did when the target was set (`--val-split 0`; with the default
/// validation part of 0.1 the mean is 0.951 on this machine, the rule keeping weights of
/// epochs 2 to 7).
#[test]
fn two_hidden_layers_learn_digits() {
    let dir = tmp();
    let mut accs = Vec::new();
    for seed in 0..5 {
        let seed = seed.to_string();
        let m = dir.path().join(format!("d{seed}.mlpb"));
        let o = run([
            "train",
            "--data",
            s(&data("digits.csv")),
            "--out",
            s(&m),
            "--hidden",
            "64,32",
            "--val-split",
            "0",
            "--seed",
            &seed,
            "--json",
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        accs.push(json(&o)["test"]["accuracy"].as_f64().unwrap());
    }
    let mean = accs.iter().sum::<f64>() / 5.0;
    eprintln!("digits 64,32: held-out accuracies {accs:?}, mean {mean:.4}");
    assert!(mean >= 0.965, "held-out accuracies {accs:?}, mean {mean}");
}
