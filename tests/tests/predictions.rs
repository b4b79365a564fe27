//! End-to-end tests of `mlprobe eval --predictions` (issue 16, item 6): any model's predictions
//! gated like a model of ours.
//!
//! The expected figures come from scikit-learn: `tests/reference/make_predictions.py` wrote
//! `data/wine.predictions.csv` (a LogisticRegression's cross-validated predictions on wine) and
//! `data/wine.predictions.sklearn.json` with, for all rows and for the slice `alcohol > 13`:
//! `accuracy_score(y, p)`, `precision_recall_fscore_support(y, p, labels=present,
//! average=None, zero_division=0)` (per class, over the labels present in truth or
//! prediction) and its `average="macro"`, and `confusion_matrix(y, p, labels=range(3))`.

use mlprobe_tests::{code, data, json, run, stderr, stdout};
use serde_json::Value;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn sklearn() -> Value {
    let text = std::fs::read_to_string(data("wine.predictions.sklearn.json")).expect("fixture");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn close(got: &Value, want: &Value, what: &str) {
    let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
    assert!(
        (g - w).abs() <= 1e-12,
        "{what}: mlprobe {g}, scikit-learn {w}"
    );
}

/// Compares an `eval` report (or a slice of it) with scikit-learn's figures.
fn same_metrics(got: &Value, want: &Value, per_class: bool) {
    assert_eq!(got["n"], want["n"]);
    for k in ["accuracy", "precision_macro", "recall_macro", "f1_macro"] {
        close(&got[k], &want[k], k);
    }
    if per_class {
        assert_eq!(got["confusion"], want["confusion"]);
        let (g, w) = (
            got["per_class"].as_array().unwrap(),
            want["per_class"].as_array().unwrap(),
        );
        assert_eq!(g.len(), w.len(), "per-class rows");
        for (g, w) in g.iter().zip(w) {
            assert_eq!(g["label"], w["label"]);
            assert_eq!(g["support"], w["support"]);
            for k in ["precision", "recall", "f1"] {
                close(&g[k], &w[k], &format!("class {} {k}", w["label"]));
            }
        }
    }
}

#[test]
fn eval_predictions_gives_the_metrics_scikit_learn_gives() {
    let want = sklearn();
    let preds = data("wine.predictions.csv");
    let o = run([
        "eval",
        "--predictions",
        s(&preds),
        "--slice",
        "alcohol > 13",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let got = json(&o);
    same_metrics(&got, &want["all"], true);
    let slice = &got["slices"][0];
    assert_eq!(slice["slice"], "alcohol > 13");
    same_metrics(slice, &want["slices"]["alcohol > 13"], false);
    // The fixture's model is weak on purpose: the figures are not trivially 1.
    assert!(got["accuracy"].as_f64().unwrap() < 0.9);
    // No model ran: latency and memory are absent, not zero.
    assert!(got["latency_us"].is_null(), "{got}");
    assert!(got["memory"].is_null(), "{got}");

    let human = run(["eval", "--predictions", s(&preds)]);
    assert_eq!(code(&human), 0, "{}", stderr(&human));
    assert!(
        stdout(&human).contains("not measured"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn a_failed_threshold_on_predictions_is_exit_1_with_junit_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, md) = (dir.path().join("r.xml"), dir.path().join("r.md"));
    let want = sklearn();
    let acc = want["all"]["accuracy"].as_f64().unwrap();
    let slice_acc = want["slices"]["alcohol > 13"]["accuracy"].as_f64().unwrap();
    let limit = format!("{:.4}", acc + 0.01);
    let o = run([
        "eval",
        "--predictions",
        s(&data("wine.predictions.csv")),
        "--min-accuracy",
        &limit,
        "--slice",
        "alcohol > 13",
        "--junit",
        s(&junit),
        "--markdown",
        s(&md),
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["passed"], false);
    let v = j["violations"].as_array().unwrap();
    assert!(
        v.iter()
            .any(|v| v.as_str().unwrap().starts_with("accuracy")),
        "{v:?}"
    );
    // The slice is held to the same limit: it fails or passes by scikit-learn's figure.
    let slice_failed = v.iter().any(|v| {
        v.as_str()
            .unwrap()
            .starts_with("[slice alcohol > 13] accuracy")
    });
    assert_eq!(slice_failed, slice_acc < acc + 0.01, "{v:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuites"), "{xml}");
    assert!(xml.contains(&format!("accuracy &gt;= {limit}")), "{xml}");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("slice: alcohol &gt; 13"), "{xml}");
    assert!(
        xml.contains("wine.predictions.csv"),
        "predictions named: {xml}"
    );
    assert!(std::fs::read_to_string(&md).unwrap().contains("accuracy"));
}

#[test]
fn a_latency_or_memory_limit_on_predictions_is_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let o = run([
        "eval",
        "--predictions",
        s(&data("wine.predictions.csv")),
        "--min-accuracy",
        "0.5",
        "--max-latency-p99-us",
        "100",
        "--max-memory-bytes",
        "1000",
        "--junit",
        s(&junit),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let skipped = j["gate"]["skipped"].as_array().expect("gate.skipped");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for (m, sk) in ["latency_p99_us", "memory_bytes"].iter().zip(skipped) {
        let sk = sk.as_str().unwrap();
        assert!(sk.starts_with(m), "{sk}");
        assert!(sk.contains("predictions file"), "{sk}");
    }
    // Only the accuracy limit was checked.
    assert_eq!(j["gate"]["thresholds"].as_array().unwrap().len(), 1);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<skipped"), "{xml}");
    assert!(xml.contains("skipped=\"2\""), "{xml}");
    // A model's baseline (it records memory_bytes): the quality metrics are compared, memory
    // is skipped with the reason, not failed as missing.
    let base = dir.path().join("model-baseline.json");
    std::fs::write(
        &base,
        r#"{"version": 1, "metrics": {"accuracy": 0.78, "memory_bytes": 2484}}"#,
    )
    .unwrap();
    let o = run([
        "eval",
        "--predictions",
        s(&data("wine.predictions.csv")),
        "--baseline",
        s(&base),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let g = &json(&o)["gate"];
    assert_eq!(g["regression"]["unchanged"][0]["metric"], "accuracy", "{g}");
    assert_eq!(
        g["regression"]["missing"].as_array().unwrap().len(),
        0,
        "{g}"
    );
    let sk = g["skipped"][0].as_str().unwrap();
    assert!(
        sk.starts_with("memory_bytes within 5 % of baseline: skipped"),
        "{sk}"
    );
    // The human report says it too.
    let h = run([
        "eval",
        "--predictions",
        s(&data("wine.predictions.csv")),
        "--max-latency-p99-us",
        "100",
    ]);
    assert_eq!(code(&h), 0, "{}", stderr(&h));
    assert!(
        stdout(&h).contains("latency_p99_us <= 100: skipped: "),
        "{}",
        stdout(&h)
    );
}

#[test]
fn a_baseline_of_predictions_round_trips_and_catches_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let preds = data("wine.predictions.csv");
    let o = run([
        "eval",
        "--predictions",
        s(&preds),
        "--slice",
        "alcohol > 13",
        "--save-baseline",
        s(&base),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    assert!(saved["metrics"].get("memory_bytes").is_none(), "{saved}");
    assert!(saved["metrics"].get("accuracy").is_some(), "{saved}");
    let same = run([
        "eval",
        "--predictions",
        s(&preds),
        "--baseline",
        s(&base),
        "--json",
    ]);
    assert_eq!(code(&same), 0, "{}", stderr(&same));

    // Worse predictions: every prediction of class 0 becomes 1.
    let text = std::fs::read_to_string(&preds).unwrap();
    let mut worse = String::new();
    for (i, line) in text.lines().enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if i > 0 && cells[2] == "0" {
            cells[2] = "1".into();
        }
        worse += &cells.join(",");
        worse += "\n";
    }
    // The probabilities still say class 0: they are checked, not matched to the prediction.
    let worse_path = dir.path().join("worse.csv");
    std::fs::write(&worse_path, worse).unwrap();
    let o = run([
        "eval",
        "--predictions",
        s(&worse_path),
        "--baseline",
        s(&base),
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let j = json(&o);
    assert!(
        j["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str().unwrap().starts_with("regression: accuracy")),
        "{j}"
    );
}

#[test]
fn bad_predictions_are_exit_2_naming_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str); 5] = [
        ("label,score\n0,1\n", "p.csv:1:1: no `prediction` column"),
        (
            "label,prediction\n0,1\n1,1.5\n",
            "p.csv:3:2: `prediction` is `1.5`",
        ),
        (
            "label,prediction,p_0,p_1\n0,0,0.7,0.7\n",
            "p.csv:2:3: the probabilities p_0 … p_1 sum to 1.4",
        ),
        (
            "label,prediction,p_0,p_1\n0,0,1.5,-0.5\n",
            "p.csv:2:3: probability `p_0` is `1.5`",
        ),
        (
            "label,prediction,p_0,p_1\n2,0,0.5,0.5\n",
            "p.csv:2:1: label 2 is not a class of the 2 probability columns",
        ),
    ];
    for (text, want) in cases {
        let p = dir.path().join("p.csv");
        std::fs::write(&p, text).unwrap();
        let o = run(["eval", "--predictions", s(&p)]);
        assert_eq!(code(&o), 2, "{text}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{text}: {}", stderr(&o));
    }
    // A model's flags do not mix with --predictions.
    let o = run([
        "eval",
        "--predictions",
        s(&data("wine.predictions.csv")),
        "--model",
        "m.mlpb",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
