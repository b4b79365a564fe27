//! End-to-end tests of TFLite in and out (issue #17, item 4): `export --format tflite` of models
//! trained here runs in TFLite's own Python interpreter (ai-edge-litert, pinned in
//! tests/reference/requirements.txt) with its REFERENCE kernels
//! (`OpResolverType.BUILTIN_REF`) on every row of a bundled dataset, and its outputs are
//! compared with `mlprobe predict --json`'s logits; exported files import back to the same
//! model file; models built outside mlprobe (tests/fixtures/tflite/, written by
//! tests/reference/make_tflite.py) import, and bad ones are exit 2 naming the operator.
//!
//! Float: TFLite's reference FULLY_CONNECTED sums each unit from zero over its inputs in order
//! and adds the bias last; mlprobe's forward pass starts each sum from the bias. That order is
//! the one difference, and the test proves it: the interpreter's logits equal, bit for bit, a
//! NumPy emulation of the reference order over the file's own constants, and `predict`'s equal
//! the same emulation in mlprobe's order. Between the two the logits differ by a few units in
//! the last place of the row's largest logit (the bound is [`FLOAT_ULPS`], measured below).

use mlprobe_tests::{code, data, json, require, root, run, stderr};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The largest float difference allowed between TFLite's and mlprobe's logits of one row, in
/// units in the last place of the row's largest |logit|. Measured over wine, breast_cancer and
/// digits, one and two hidden layers (`--nocapture` prints each figure): 6 at most; the bound
/// leaves room for other seeds.
const FLOAT_ULPS: f64 = 16.0;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/tflite").join(name)
}

/// The reference Python with ai-edge-litert (by the `require` policy: CI must have it).
fn tflite_python() -> Option<PathBuf> {
    let python = std::env::var_os("MLPROBE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let present = Command::new(&python)
        .args(["-c", "import numpy, ai_edge_litert.interpreter"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        "the reference Python (.venv with ai-edge-litert)",
        present,
        "./scripts/venv.sh creates it",
    )
    .then_some(python)
}

/// TFLite's interpreter, reference kernels, runs a model on every row of a CSV (the columns
/// the model's metadata `mlprobe.features` names, in its order), all rows in one batch (the
/// reference kernels compute each row on its own). For a float model it also emulates the
/// network in NumPy from the file's constants, summing each unit in TFLite's reference order
/// (from zero, bias last) and in mlprobe's (from the bias), one f32 rounding per operation.
const TFLITE_RUN: &str = r#"
import csv, json, sys
import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter, OpResolverType
path, data = sys.argv[1], sys.argv[2]
raw = open(path, "rb").read()
m = schema.Model.GetRootAs(raw, 0)
meta = {}
for i in range(m.MetadataLength()):
    e = m.Metadata(i)
    meta[e.Name().decode()] = m.Buffers(e.Buffer()).DataAsNumpy().tobytes().decode()
features = json.loads(meta["mlprobe.features"])
with open(data) as f:
    rows = list(csv.reader(f))
cols = [rows[0].index(n) for n in features]
x = np.array([[float(r[c]) for c in cols] for r in rows[1:]], dtype=np.float32)
it = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
(inp,), (out,) = it.get_input_details(), it.get_output_details()
assert inp["name"] == "input" and out["name"] == "logits", (inp["name"], out["name"])
it.resize_tensor_input(inp["index"], [len(x), x.shape[1]], strict=True)
it.allocate_tensors()
it.set_tensor(inp["index"], x)
it.invoke()
result = {"tflite": it.get_tensor(out["index"]).astype(float).tolist()}
consts = {}
sg = m.Subgraphs(0)
for i in range(sg.TensorsLength()):
    t = sg.Tensors(i)
    b = m.Buffers(t.Buffer()).DataAsNumpy()
    if t.Type() == schema.TensorType.FLOAT32 and not isinstance(b, int) and b.size:
        consts[t.Name().decode()] = np.frombuffer(b.tobytes(), np.float32).reshape(t.ShapeAsNumpy())
if "fc1.weight" in consts:
    def dense(h, w, b, from_bias):
        acc = np.tile(b, (len(h), 1)) if from_bias else np.zeros((len(h), len(b)), np.float32)
        for i in range(w.shape[1]):
            acc = acc + h[:, i:i + 1] * w[:, i]
        return acc if from_bias else acc + b
    for order, from_bias in [("emulated_tflite_order", False), ("emulated_mlprobe_order", True)]:
        h = (x - consts["normalizer.mean"]) / consts["normalizer.std"]
        k = 1
        while f"fc{k}.weight" in consts:
            h = dense(h, consts[f"fc{k}.weight"], consts[f"fc{k}.bias"], from_bias)
            k += 1
            if f"fc{k}.weight" in consts:
                h = np.maximum(h, np.float32(0))
        assert h.dtype == np.float32
        result[order] = h.astype(float).tolist()
print(json.dumps(result))
"#;

/// The rows of a JSON array of arrays of numbers, as f32 (they were f32 written exactly).
fn rows(v: &serde_json::Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

/// `predict --json`'s logits of every row of `csv`.
fn predict_logits(model: &Path, csv: &Path) -> Vec<Vec<f32>> {
    let o = run([
        "predict".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--data".as_ref(),
        csv.as_os_str(),
        "--json".as_ref(),
    ]);
    assert_eq!(code(&o), 0, "predict: {}", stderr(&o));
    rows(&json(&o)["logits"])
}

/// The worst row's largest |difference|, in units in the last place of that row's largest
/// |logit| in `want`.
fn worst_row_ulps(got: &[Vec<f32>], want: &[Vec<f32>]) -> f64 {
    assert_eq!(got.len(), want.len(), "row count");
    got.iter()
        .zip(want)
        .map(|(a, b)| {
            assert_eq!(a.len(), b.len(), "logits per row");
            let top = b.iter().fold(f32::MIN_POSITIVE, |m, v| m.max(v.abs()));
            let ulp = f64::from(top.next_up() - top);
            a.iter()
                .zip(b)
                .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs() / ulp)
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}

fn train(data_file: &Path, out: &Path, hidden: &str, seed: &str) {
    let o = run([
        "train".as_ref(),
        "--data".as_ref(),
        data_file.as_os_str(),
        "--seed".as_ref(),
        seed.as_ref(),
        "--hidden".as_ref(),
        hidden.as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "train: {}", stderr(&o));
}

fn export(model: &Path, out: &Path) {
    let o = run([
        "export".as_ref(),
        model.as_os_str(),
        "--format".as_ref(),
        "tflite".as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code(&o), 0, "export: {}", stderr(&o));
}

fn import(file: &Path, out: &Path) -> std::process::Output {
    run([
        "import".as_ref(),
        file.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

/// Exports `model`, checks that the bytes are deterministic and import back to the same model
/// file, and returns the export.
fn export_round_trip(model: &Path, dir: &Path) -> PathBuf {
    let tfl = dir.join("m.tflite");
    export(model, &tfl);
    let again = dir.join("again.tflite");
    export(model, &again);
    assert!(std::fs::read(&tfl).unwrap() == std::fs::read(&again).unwrap());
    let back = dir.join("back.mlpb");
    let o = import(&tfl, &back);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert!(
        std::fs::read(model).unwrap() == std::fs::read(&back).unwrap(),
        "the imported model file differs from the exported one"
    );
    tfl
}

/// TFLite's interpreter on `tfl` over `csv` (the JSON of [`TFLITE_RUN`]).
fn run_tflite(python: &Path, tfl: &Path, csv: &Path) -> serde_json::Value {
    let o = Command::new(python)
        .args(["-c", TFLITE_RUN])
        .arg(tfl)
        .arg(csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn float_tflite_export_runs_in_the_reference_interpreter_to_mlprobes_logits() {
    let mut worst = 0.0f64;
    for (set, hidden) in [
        ("wine.csv", "32"),
        ("wine.csv", "16,8"),
        ("breast_cancer.csv", "32"),
        ("breast_cancer.csv", "16,8"),
        ("digits.csv", "32"),
        ("digits.csv", "32,16"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.mlpb");
        train(&data(set), &model, hidden, "3");
        let tfl = export_round_trip(&model, dir.path());
        let Some(python) = tflite_python() else {
            return;
        };
        let out = run_tflite(&python, &tfl, &data(set));
        let tflite = rows(&out["tflite"]);
        let ours = predict_logits(&model, &data(set));
        assert_eq!(tflite.len(), ours.len(), "{set}: every row ran");
        // The one difference is the order of the sums: each side equals, bit for bit, the
        // emulation of its own order over the same constants.
        assert!(
            tflite == rows(&out["emulated_tflite_order"]),
            "{set} --hidden {hidden}: TFLite's reference FULLY_CONNECTED is not sum-then-bias"
        );
        assert!(
            ours == rows(&out["emulated_mlprobe_order"]),
            "{set} --hidden {hidden}: mlprobe's logits are not bias-then-sum in f32"
        );
        let ulps = worst_row_ulps(&tflite, &ours);
        let exact = tflite.iter().zip(&ours).filter(|(a, b)| a == b).count();
        eprintln!(
            "{set} --hidden {hidden}: TFLite (reference kernels) vs mlprobe predict, {} rows: \
             {exact} bit-exact, worst row {ulps} ulps of its largest logit",
            ours.len()
        );
        assert!(ulps <= FLOAT_ULPS, "{set} --hidden {hidden}: {ulps} ulps");
        worst = worst.max(ulps);
    }
    eprintln!("worst over all: {worst} ulps");
}

/// `mlp_relu_op.tflite` (no normaliser, a RELU operator, a layer without bias), built outside
/// mlprobe, imports and predicts what TFLite's reference interpreter computed for it.
#[test]
fn a_tflite_model_built_elsewhere_imports_and_predicts_the_interpreters_logits() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.mlpb");
    let o = import(&fixture("mlp_relu_op.tflite"), &model);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no SUB/DIV normaliser"),
        "{}",
        stderr(&o)
    );
    let got = predict_logits(&model, &fixture("input.csv"));
    let want: Vec<Vec<f32>> = std::fs::read_to_string(fixture("mlp_relu_op.logits.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().unwrap() as f32)
                .collect()
        })
        .collect();
    let ulps = worst_row_ulps(&got, &want);
    eprintln!("mlp_relu_op: worst row {ulps} ulps of its largest logit");
    assert!(ulps <= FLOAT_ULPS, "{ulps} ulps");
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
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(!out.exists(), "no model is written");
}

#[test]
fn bad_tflite_files_are_exit_2_naming_the_operator() {
    expect_exit_2(
        &fixture("bad_conv.tflite"),
        &["operator #0 (CONV_2D)", "unsupported operator `CONV_2D`"],
    );
    expect_exit_2(
        &fixture("bad_softmax.tflite"),
        &["operator #1 (SOFTMAX)", "unsupported operator `SOFTMAX`"],
    );
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("w.mlpb");
    train(&data("wine.csv"), &model, "8", "0");
    let tfl = dir.path().join("w.tflite");
    export(&model, &tfl);
    let bytes = std::fs::read(&tfl).unwrap();
    for cut in [bytes.len() / 2, bytes.len() - 9, 7] {
        let truncated = dir.path().join(format!("cut{cut}.tflite"));
        std::fs::write(&truncated, &bytes[..cut]).unwrap();
        expect_exit_2(&truncated, &["not a TFLite model"]);
    }
    let garbage = dir.path().join("x.tflite");
    std::fs::write(&garbage, "label,x\n0,1\n").unwrap();
    expect_exit_2(&garbage, &["not a TFLite model", "TFL3"]);
}

/// What mlprobe's int8 arithmetic has to match, pinned (tests/reference/tflite_int8_probe.py):
/// the reference FULLY_CONNECTED of the pinned ai-edge-litert requantizes with ONE rounding
/// (TFLite's TFLITE_SINGLE_ROUNDING: `(acc · M + 2^(30 − shift)) >> (31 − shift)`), not
/// gemmlowp's two (SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT), and honours
/// per-output-channel weight scales. If an upgrade of the interpreter changes either, this test
/// says which before the int8 export test fails on single values.
#[test]
fn the_reference_int8_fully_connected_rounds_once_and_honours_per_channel_scales() {
    let Some(python) = tflite_python() else {
        return;
    };
    let o = Command::new(python)
        .arg(root().join("tests/reference/tflite_int8_probe.py"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    eprintln!("{r}");
    let (mut double, mut ignored) = (0, 0);
    for case in [
        "per_tensor",
        "per_tensor_relu",
        "per_channel",
        "per_channel_relu",
    ] {
        assert_eq!(r[case]["single"], 0, "{case}: {r}");
        double += r[case]["double"].as_u64().unwrap();
        if case.starts_with("per_channel") {
            ignored += r[case]["per_tensor_scale"].as_u64().unwrap();
        }
    }
    assert!(
        double > 0,
        "the probe no longer tells the roundings apart: {r}"
    );
    assert!(
        ignored > 0,
        "the probe no longer tells per-channel scales apart: {r}"
    );
}

/// The Python of `.venv-tflite-runtime` (tflite-runtime 2.14.0, numpy 1), by the `require`
/// policy.
fn tflite_runtime_python() -> Option<PathBuf> {
    let python = root().join(".venv-tflite-runtime/bin/python");
    let present = Command::new(&python)
        .args(["-c", "import numpy, tflite_runtime.interpreter"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        "the tflite-runtime Python (.venv-tflite-runtime)",
        present,
        "./scripts/venv.sh creates it",
    )
    .then_some(python)
}

/// An interpreter module (`ai_edge_litert.interpreter` or `tflite_runtime.interpreter`) runs a
/// model, reference kernels, on every row of a bundled dataset (every column but the last, the
/// label: the order the model was trained on), all rows in one batch.
const INTERPRETER_RUN: &str = r#"
import importlib, json, sys
import numpy as np
module, path, data = sys.argv[1:4]
m = importlib.import_module(module)
x = np.loadtxt(data, delimiter=",", skiprows=1)[:, :-1].astype(np.float32)
it = m.Interpreter(model_path=path, experimental_op_resolver_type=m.OpResolverType.BUILTIN_REF)
(inp,), (out,) = it.get_input_details(), it.get_output_details()
assert inp["name"] == "input" and out["name"] == "logits", (inp["name"], out["name"])
it.resize_tensor_input(inp["index"], [len(x), x.shape[1]], strict=True)
it.allocate_tensors()
it.set_tensor(inp["index"], x)
it.invoke()
print(json.dumps(it.get_tensor(out["index"]).astype(float).tolist()))
"#;

fn run_interpreter(python: &Path, module: &str, tfl: &Path, csv: &Path) -> Vec<Vec<f32>> {
    let o = Command::new(python)
        .args(["-c", INTERPRETER_RUN, module])
        .arg(tfl)
        .arg(csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{module}: {}", stderr(&o));
    rows(&serde_json::from_slice(&o.stdout).unwrap())
}

/// Int8: `quantize` (per channel, and `--per-tensor`), `export --format tflite`, and TFLite's
/// interpreter computes `predict`'s dequantized logits bit for bit on every row of the three
/// bundled datasets: tflite-runtime 2.14.0, whose reference FULLY_CONNECTED requantizes with
/// gemmlowp's double rounding as `mlprobe_core::quant` does. ai-edge-litert 2.3.0 rounds once
/// (see the probe test above); the rows where it differs are printed, not asserted.
#[test]
fn int8_tflite_export_runs_bit_exact_in_the_reference_interpreter() {
    for (set, hidden) in [
        ("wine.csv", "16,8"),
        ("breast_cancer.csv", "32"),
        ("digits.csv", "32"),
    ] {
        for per_tensor in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let float = dir.path().join("f.mlpb");
            train(&data(set), &float, hidden, "1");
            let model = dir.path().join("q.mlpb");
            let mut args: Vec<std::ffi::OsString> = vec![
                "quantize".into(),
                "--model".into(),
                float.clone().into(),
                "--calibration".into(),
                data(set).into(),
                "--out".into(),
                model.clone().into(),
                "--min-agreement".into(),
                "0".into(),
            ];
            if per_tensor {
                args.push("--per-tensor".into());
            }
            let o = run(&args);
            assert_eq!(code(&o), 0, "quantize: {}", stderr(&o));
            let tfl = export_round_trip(&model, dir.path());
            let ours = predict_logits(&model, &data(set));
            let what = format!(
                "{set} --hidden {hidden} {}",
                if per_tensor {
                    "per tensor"
                } else {
                    "per channel"
                }
            );
            if let Some(python) = tflite_runtime_python() {
                let got = run_interpreter(&python, "tflite_runtime.interpreter", &tfl, &data(set));
                assert_eq!(got.len(), ours.len(), "{what}: every row ran");
                let differ = got.iter().zip(&ours).filter(|(a, b)| a != b).count();
                eprintln!(
                    "{what}: tflite-runtime 2.14.0 vs mlprobe predict: {differ} of {} rows differ",
                    ours.len()
                );
                assert_eq!(differ, 0, "{what}: int8 logits are not bit-exact");
            }
            if let Some(python) = tflite_python() {
                let got = run_interpreter(&python, "ai_edge_litert.interpreter", &tfl, &data(set));
                let differ = got.iter().zip(&ours).filter(|(a, b)| a != b).count();
                eprintln!(
                    "{what}: ai-edge-litert 2.3.0 (single rounding) vs mlprobe predict: {differ} \
                     of {} rows differ",
                    ours.len()
                );
            }
        }
    }
}
