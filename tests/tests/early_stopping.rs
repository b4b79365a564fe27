//! Early stopping on a validation part (issue 23): mlprobe's rule
//! (`mlprobe::train::stopping::EarlyStopping`) against scikit-learn's own, and `mlprobe train
//! --val-split` end to end.
//!
//! The expected values come from scikit-learn itself: `tests/reference/early_stopping.py`
//! calls `MLPClassifier._update_no_improvement_count` (with `early_stopping=True`) on random
//! sequences of validation scores and applies `_fit_stochastic`'s stopping test; the epoch it
//! stops at, the epoch whose weights it keeps (`_best_coefs`) and its best score must be ours.

use mlprobe::train::stopping::EarlyStopping;
use mlprobe_tests::{code, data, json, run, stderr};
use serde_json::Value;
use std::process::Command;

#[test]
fn the_rule_stops_and_keeps_the_epoch_scikit_learn_does() {
    let Some(python) = mlprobe_tests::python() else {
        return;
    };
    let seed = mlprobe_tests::reference_seed();
    let cases = std::env::var("MLPROBE_REFERENCE_CASES").unwrap_or_else(|_| "500".into());
    let out = Command::new(&python)
        .arg(mlprobe_tests::root().join("tests/reference/early_stopping.py"))
        .args(["--cases", &cases, "--seed", &seed.to_string()])
        .output()
        .expect("run tests/reference/early_stopping.py");
    assert!(
        out.status.success(),
        "early_stopping.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut checked, mut stopped) = (0, 0);
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let want: Value = serde_json::from_str(line).unwrap();
        let tol: f64 = want["tol"].as_str().unwrap().parse().unwrap();
        let patience = want["n_iter_no_change"].as_u64().unwrap() as usize;
        let mut rule = EarlyStopping::new(tol, patience);
        let (mut stop, mut best_epoch) = (None, None);
        for (i, s) in want["scores"].as_array().unwrap().iter().enumerate() {
            let score = match s.as_array() {
                Some(kn) => kn[0].as_f64().unwrap() / kn[1].as_f64().unwrap(),
                None => f64::NAN,
            };
            let step = rule.update(score);
            if step.improved {
                best_epoch = Some(i + 1);
            }
            if step.stop {
                stop = Some(i + 1);
                break;
            }
        }
        let n = |v: &Value| v.as_u64().map(|e| e as usize);
        assert_eq!(stop, n(&want["stop_epoch"]), "stopping epoch: {line}");
        assert_eq!(best_epoch, n(&want["best_epoch"]), "best epoch: {line}");
        assert_eq!(rule.best_epoch(), best_epoch, "{line}");
        let best = want["best"].as_f64().unwrap_or(f64::NEG_INFINITY);
        assert_eq!(rule.best().to_bits(), best.to_bits(), "best score: {line}");
        checked += 1;
        stopped += usize::from(stop.is_some());
    }
    assert!(checked >= 1, "no case");
    // The draw must exercise both endings.
    if checked >= 100 {
        assert!(stopped > 0 && stopped < checked, "{stopped} of {checked}");
    }
}

fn train(extra: &[&str]) -> (std::process::Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.mlpb");
    let mut args = vec![
        "train".to_string(),
        "--data".into(),
        data("wine.csv").to_string_lossy().into_owned(),
        "--out".into(),
        out.to_string_lossy().into_owned(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    (run(&args), dir)
}

#[test]
fn train_holds_out_a_validation_part_and_keeps_the_best_epoch() {
    let (o, dir) = train(&[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    // wine: 178 rows (classes of 59, 71, 48), 53 held out for testing (30 %, stratified), 125
    // training rows (41, 50, 34) of which 12 are the validation part (round(4.1) + round(5.0)
    // + round(3.4) = 4 + 5 + 3).
    assert_eq!(j["val_rows"], 12, "{j}");
    assert_eq!(j["test"]["n"], 53, "{j}");
    let best = j["best_epoch"].as_u64().unwrap() as usize;
    let epochs = j["epochs"].as_u64().unwrap() as usize;
    let hist: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("m.history.json")).unwrap())
            .unwrap();
    assert_eq!(
        (hist["val_split"].as_f64(), hist["val_rows"].as_u64()),
        (Some(0.1), Some(12))
    );
    let records = hist["epochs"].as_array().unwrap();
    assert_eq!(records.len(), epochs);
    let acc = |r: &Value| r["val_accuracy"].as_f64().unwrap();
    // The best epoch is the first with the highest validation accuracy, and the report's
    // validation accuracy is its (the f32 of the history, within its rounding).
    let top = records.iter().map(acc).fold(f64::NEG_INFINITY, f64::max);
    let first = records.iter().position(|r| acc(r) == top).unwrap() + 1;
    assert_eq!(best, first, "{hist}");
    assert!(
        (j["val_accuracy"].as_f64().unwrap() - top).abs() < 1e-6,
        "{j}"
    );
    assert!(
        records
            .iter()
            .all(|r| r["val_loss"].as_f64().unwrap() > 0.0)
    );
    match j["stop_reason"].as_str().unwrap() {
        // scikit-learn's rule: a new best beats the old by at least 1/12 (12 rows), far more
        // than tol (1e-4), so it resets the count; each later epoch is at most the best, below
        // best + tol, and the 11th such (more than n_iter_no_change = 10) stops.
        "validation_accuracy" => assert_eq!(epochs, best + 11, "{j}"),
        "max_epochs" => assert_eq!(epochs, 200, "{j}"),
        other => panic!("{other}: {j}"),
    }

    // --val-split 0 is the fit without a validation part: no validation figures.
    let (o, dir) = train(&["--val-split", "0"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["val_rows"], 0);
    assert!(
        j["best_epoch"].is_null() && j["val_accuracy"].is_null(),
        "{j}"
    );
    assert_ne!(j["stop_reason"], "validation_accuracy");
    let hist = std::fs::read_to_string(dir.path().join("m.history.json")).unwrap();
    assert!(!hist.contains("val_loss") && !hist.contains("val_accuracy"));
}

#[test]
fn a_validation_part_too_small_or_out_of_range_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    // A class of 3 rows and one of 1 row: 0.1 of each rounds to 0, the stratified split
    // keeps one row of the class of 3 (a single-row class stays with the fitting rows): a
    // validation part of 1 row, fewer than scikit-learn's 2.
    let tiny = dir.path().join("tiny.csv");
    std::fs::write(&tiny, "a,label\n1,0\n2,0\n3,0\n4,1\n").unwrap();
    let model = dir.path().join("m.mlpb");
    let o = run([
        "train",
        "--data",
        tiny.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--test-split",
        "0",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("--val-split"), "{}", stderr(&o));
    assert!(!model.exists());
    let ok = run([
        "train",
        "--data",
        tiny.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--test-split",
        "0",
        "--val-split",
        "0",
    ]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    for bad in ["1", "-0.1", "nan"] {
        let (o, _d) = train(&["--val-split", bad]);
        assert_eq!(code(&o), 2, "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--val-split"), "{bad}: {}", stderr(&o));
    }
}
