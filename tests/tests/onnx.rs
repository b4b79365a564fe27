//! End-to-end tests of ONNX in and out (issue #16, item 5): graphs built outside mlprobe with
//! the `onnx` Python package (tests/fixtures/onnx/, written by tests/reference/make_onnx.py)
//! import and predict the logits ONNX Runtime computed for them; `export --format onnx` of a
//! model trained here runs in ONNX Runtime (the reference venv, at test time) to mlprobe's
//! logits; bad graphs are exit 2 naming the node and its operator.

use mlprobe_tests::{code, data, json, require, root, run, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/onnx").join(name)
}

/// The expected logits: a CSV of floats with a header row.
fn read_csv(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// max |a − b| / max |b| over a row, the worst row.
fn worst_row_relative(got: &[Vec<f64>], want: &[Vec<f64>]) -> f64 {
    assert_eq!(got.len(), want.len(), "row count");
    got.iter()
        .zip(want)
        .map(|(a, b)| {
            assert_eq!(a.len(), b.len(), "logits per row");
            let scale = b.iter().fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
            a.iter()
                .zip(b)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
                / scale
        })
        .fold(0.0, f64::max)
}

fn import(onnx: &Path, out: &Path) -> std::process::Output {
    run([
        "import".as_ref(),
        onnx.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

/// `predict --json`'s logits of every row of `csv`.
fn predict_logits(model: &Path, csv: &Path) -> Vec<Vec<f64>> {
    let o = run([
        "predict".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        csv.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "predict: {}", stderr(&o));
    json(&o)["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect()
        })
        .collect()
}

/// Imports fixture `name`.onnx and checks its logits on input.csv against ONNX Runtime's.
fn imports_to_onnx_runtime_logits(name: &str, warning: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.mlpb");
    let o = import(&fixture(&format!("{name}.onnx")), &model);
    assert_eq!(code(&o), 0, "import {name}: {}", stderr(&o));
    match warning {
        Some(w) => assert!(stderr(&o).contains(w), "{name}: {}", stderr(&o)),
        None => assert!(!stderr(&o).contains("warning"), "{name}: {}", stderr(&o)),
    }
    let got = predict_logits(&model, &fixture("input.csv"));
    let want = read_csv(&fixture(&format!("{name}.logits.csv")));
    let err = worst_row_relative(&got, &want);
    assert!(err <= 1e-5, "{name}: row-relative error {err:e}");
}

#[test]
fn onnx_2_layer_graphs_import_and_predict_onnx_runtime_logits() {
    imports_to_onnx_runtime_logits("mlp2", None);
    imports_to_onnx_runtime_logits("mlp2_transb0", None);
    imports_to_onnx_runtime_logits("mlp2_matmul", Some("no-op nodes skipped"));
    imports_to_onnx_runtime_logits("mlp2_softmax", Some("(Softmax) is dropped"));
    imports_to_onnx_runtime_logits("mlp2_plain", Some("no Sub/Div normaliser"));
}

#[test]
fn onnx_3_layer_graph_imports_and_predicts_onnx_runtime_logits() {
    imports_to_onnx_runtime_logits("mlp3", None);
}

fn expect_exit_2(file: &Path, needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.mlpb");
    let o = import(file, &out);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&file.display().to_string()), "{err}");
    for n in needles {
        assert!(err.contains(n), "missing `{n}` in: {err}");
    }
    assert!(!out.exists(), "no model is written");
}

#[test]
fn bad_onnx_files_are_exit_2_naming_the_node_and_operator() {
    expect_exit_2(
        &fixture("bad_sigmoid.onnx"),
        &["node `act1` (Sigmoid)", "unsupported operator `Sigmoid`"],
    );
    expect_exit_2(
        &fixture("bad_conv.onnx"),
        &["node #0 (Conv, unnamed)", "unsupported operator `Conv`"],
    );
    expect_exit_2(
        &fixture("bad_gemm_shape.onnx"),
        &[
            "node `fc2` (Gemm)",
            "`fc2.weight` has shape [3, 6]",
            "do not chain",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("x.onnx");
    std::fs::write(&garbage, "label,x\n0,1\n").unwrap();
    expect_exit_2(&garbage, &["not an ONNX model"]);
}

fn train_wine(out: &Path, hidden: &str) {
    let o = run([
        "train".as_ref(),
        "--data".as_ref(),
        data("wine.csv").as_os_str(),
        "--seed".as_ref(),
        "3".as_ref(),
        "--hidden".as_ref(),
        hidden.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "train: {}", stderr(&o));
}

fn export_onnx(model: &Path, out: &Path) {
    let o = run([
        "export".as_ref(),
        model.as_os_str(),
        "--format".as_ref(),
        "onnx".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "export: {}", stderr(&o));
}

/// The reference Python with onnxruntime (by the `require` policy: CI must have it).
fn onnx_python() -> Option<PathBuf> {
    let python = std::env::var_os("MLPROBE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let present = Command::new(&python)
        .args(["-c", "import numpy, onnx, onnxruntime"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        "the reference Python (.venv with onnx and onnxruntime)",
        present,
        "./scripts/venv.sh creates it",
    )
    .then_some(python)
}

/// ONNX Runtime runs an exported model: the logits of wine.csv's feature columns.
const ORT_RUN: &str = r#"
import json, sys
import numpy as np, onnx, onnxruntime as ort
model, csv = sys.argv[1], sys.argv[2]
onnx.checker.check_model(onnx.load(model), full_check=True)
x = np.loadtxt(csv, delimiter=",", skiprows=1)[:, :-1].astype(np.float32)
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
assert [i.name for i in sess.get_inputs()] == ["input"], sess.get_inputs()
assert [o.name for o in sess.get_outputs()] == ["logits"], sess.get_outputs()
(logits,) = sess.run(["logits"], {"input": x})
print(json.dumps(logits.astype(float).tolist()))
"#;

#[test]
fn onnx_export_of_a_trained_model_runs_in_onnx_runtime_to_mlprobes_logits() {
    for hidden in ["32", "16,8"] {
        export_runs_in_onnx_runtime(hidden);
    }
}

fn export_runs_in_onnx_runtime(hidden: &str) {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("wine.mlpb");
    train_wine(&model, hidden);
    let onnx = dir.path().join("wine.onnx");
    export_onnx(&model, &onnx);
    // Deterministic bytes, and a bit-exact round trip (names included) through import.
    let again = dir.path().join("again.onnx");
    export_onnx(&model, &again);
    assert!(std::fs::read(&onnx).unwrap() == std::fs::read(&again).unwrap());
    let back = dir.path().join("back.mlpb");
    let o = import(&onnx, &back);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::read(&model).unwrap() == std::fs::read(&back).unwrap());

    let Some(python) = onnx_python() else { return };
    let o = Command::new(python)
        .args(["-c", ORT_RUN])
        .arg(&onnx)
        .arg(data("wine.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let ort: Vec<Vec<f64>> = serde_json::from_slice(&o.stdout).unwrap();
    let ours = predict_logits(&model, &data("wine.csv"));
    let err = worst_row_relative(&ort, &ours);
    eprintln!(
        "--hidden {hidden}: ONNX Runtime vs mlprobe predict on wine.csv, worst row-relative \
         error {err:e}"
    );
    assert!(err <= 1e-5, "--hidden {hidden}: row-relative error {err:e}");
}
