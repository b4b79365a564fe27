//! End-to-end tests of the foundation: training on the bundled real datasets, prediction,
//! evaluation, model interchange, and every malformed-input case of the CSV and model files.
//! Each drives the real `mlprobe` binary.

use mlprobe_tests::{code, data, json, run, stderr, stdout};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn train(dataset: &str, seed: u64, out: &Path) -> serde_json::Value {
    train_with(dataset, seed, out, &[])
}

fn train_with(dataset: &str, seed: u64, out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args: Vec<OsString> = vec![
        "train".into(),
        "--data".into(),
        data(dataset).into(),
        "--seed".into(),
        seed.to_string().into(),
        "--out".into(),
        out.into(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(OsString::from));
    let o = run(&args);
    assert_eq!(code(&o), 0, "train {dataset} seed {seed}: {}", stderr(&o));
    json(&o)
}

/// Mean held-out accuracy over seeds 0–4 and the worst seed, for each dataset, against the
/// bounds given.
fn reaches(extra: &[&str], bounds: [(&str, f64, f64); 3]) {
    let dir = tmp();
    for (dataset, min_mean, min_seed) in bounds {
        let accs: Vec<f64> = (0..5)
            .map(|seed| {
                let j = train_with(dataset, seed, &dir.path().join("m.mlpb"), extra);
                j["test"]["accuracy"].as_f64().expect("test accuracy")
            })
            .collect();
        let mean = accs.iter().sum::<f64>() / 5.0;
        let worst = accs.iter().cloned().fold(1.0, f64::min);
        eprintln!("{dataset} {extra:?}: accuracies {accs:?}, mean {mean:.4}, worst {worst:.4}");
        assert!(
            mean >= min_mean,
            "{dataset} {extra:?}: mean accuracy {mean} < {min_mean}"
        );
        assert!(
            worst >= min_seed,
            "{dataset} {extra:?}: worst seed {worst} < {min_seed}"
        );
    }
}

/// The acceptance figures: mean held-out accuracy over seeds 0–4 and the worst seed,
/// fitting every training row and stopping on the training loss (`--val-split 0`, the default
/// before issue 23). scikit-learn's MLPClassifier with the same settings (`early_stopping`
/// off, its default) averages 0.970 / 0.977 / 0.971 (shared/datasets/README.md).
#[test]
fn training_without_a_validation_part_reaches_reference_accuracy_on_real_data() {
    reaches(
        &["--val-split", "0"],
        [
            ("wine.csv", 0.96, 0.92),
            ("digits.csv", 0.965, 0.95),
            ("breast_cancer.csv", 0.96, 0.93),
        ],
    );
}

/// The defaults (a validation part of 0.1, early stopping on it) against scikit-learn's
/// MLPClassifier with the same settings and `early_stopping=True` (hidden (32,), lr 0.01,
/// batch 32, max_iter 200, random_state 0–4, on `train_test_split(test_size=0.3,
/// stratify=y, random_state=42)` standardised on the training rows; scikit-learn 1.9.1):
/// held-out accuracy mean / worst 0.907 / 0.833 on wine, 0.964 / 0.944 on digits, 0.970 /
/// 0.947 on breast_cancer. The bounds are those less one point. (mlprobe measured 0.943 /
/// 0.906, 0.960 / 0.956, 0.970 / 0.965 on this machine: on wine the validation part is 12 rows,
/// which any network gets right within two epochs, and the rule keeps those early weights.)
#[test]
fn default_training_reaches_reference_accuracy_on_real_data() {
    reaches(
        &[],
        [
            ("wine.csv", 0.897, 0.823),
            ("digits.csv", 0.954, 0.934),
            ("breast_cancer.csv", 0.96, 0.937),
        ],
    );
}

#[test]
fn train_writes_model_history_and_json_fields() {
    let dir = tmp();
    let model = dir.path().join("wine.mlpb");
    let j = train("wine.csv", 0, &model);
    for key in [
        "model",
        "history",
        "epochs",
        "final_loss",
        "train_accuracy",
        "val_rows",
        "best_epoch",
        "val_accuracy",
        "stop_reason",
        "test",
    ] {
        assert!(j.get(key).is_some(), "train JSON lacks `{key}`: {j}");
    }
    assert!(model.exists());
    let hist_path = PathBuf::from(j["history"].as_str().unwrap());
    assert_eq!(hist_path, dir.path().join("wine.history.json"));
    let hist: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&hist_path).unwrap()).unwrap();
    let epochs = hist["epochs"].as_array().unwrap();
    assert_eq!(epochs.len() as u64, j["epochs"].as_u64().unwrap());
    // The seed's integration test: loss falls.
    let first = epochs[0]["loss"].as_f64().unwrap();
    let last = epochs.last().unwrap()["loss"].as_f64().unwrap();
    assert!(last < first, "loss {first} → {last}");
    for key in [
        "n",
        "accuracy",
        "precision_macro",
        "recall_macro",
        "f1_macro",
        "per_class",
        "confusion",
        "latency_us",
        "passed",
        "violations",
    ] {
        assert!(j["test"].get(key).is_some(), "test JSON lacks `{key}`");
    }
    // Held-out rows: 30 % of 178, stratified.
    assert_eq!(j["test"]["n"], 53);
    // Same seed, same model file, byte for byte (determinism).
    let again = dir.path().join("again.mlpb");
    train("wine.csv", 0, &again);
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn tol_zero_runs_every_epoch() {
    let dir = tmp();
    let o = run([
        "train",
        "--data",
        data("wine.csv").to_str().unwrap(),
        "--epochs",
        "7",
        "--tol",
        "0",
        "--out",
        dir.path().join("m.mlpb").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["epochs"], 7);
}

#[test]
fn predict_range_probabilities_and_unseen_data() {
    let dir = tmp();
    let model = dir.path().join("wine.mlpb");
    train("wine.csv", 1, &model);
    let o = run([
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data("wine.csv").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    let preds = j["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 178);
    assert!(
        preds.iter().all(|p| p.as_u64().unwrap() < 3),
        "prediction range"
    );
    for (p, l) in j["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .zip(j["logits"].as_array().unwrap())
    {
        let p: Vec<f64> = p
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(p.len(), 3);
        assert!(
            (p.iter().sum::<f64>() - 1.0).abs() < 1e-5,
            "probabilities sum to one"
        );
        assert_eq!(l.as_array().unwrap().len(), 3);
    }
    // Unseen data without a label column, with a missing value: predictions for every row.
    let unseen = dir.path().join("unseen.csv");
    let header = std::fs::read_to_string(data("wine.csv"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .replace(",label", "");
    let rows = "13.1,2.0,2.4,19.0,100,2.5,2.0,0.3,1.6,5.0,1.0,2.8,700\n12.0,,2.2,20.0,90,2.0,1.5,0.4,1.2,3.0,0.9,2.5,500\n";
    std::fs::write(&unseen, format!("{header}\n{rows}")).unwrap();
    let o = run([
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        unseen.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["predictions"].as_array().unwrap().len(), 2);
}

#[test]
fn prediction_without_a_trained_model_fails() {
    // The seed's "prediction before training fails": no model file, exit 2 and a message.
    let o = run([
        "predict",
        "--model",
        "no-such-model.mlpb",
        "--data",
        data("wine.csv").to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no-such-model.mlpb"), "{}", stderr(&o));
}

#[test]
fn eval_reports_sklearn_style_metrics() {
    let dir = tmp();
    let model = dir.path().join("bc.mlpb");
    train("breast_cancer.csv", 0, &model);
    let o = run([
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data("breast_cancer.csv").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["n"], 569);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(j["confusion"].clone()).unwrap();
    assert_eq!(confusion.iter().flatten().sum::<u64>(), 569);
    // Macro F1 is the mean of the per-class F1 (scikit-learn), recomputed from the confusion.
    let f1 = |k: usize| {
        let tp = confusion[k][k] as f64;
        let fp = (0..2).map(|t| confusion[t][k]).sum::<u64>() as f64 - tp;
        let fn_ = confusion[k].iter().sum::<u64>() as f64 - tp;
        2.0 * tp / (2.0 * tp + fp + fn_)
    };
    assert!((j["f1_macro"].as_f64().unwrap() - (f1(0) + f1(1)) / 2.0).abs() < 1e-12);
    assert!(j["accuracy"].as_f64().unwrap() > 0.95);
    let human = run([
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data("breast_cancer.csv").to_str().unwrap(),
    ]);
    assert!(stdout(&human).contains("accuracy"));
}

/// A 2-input, 2-hidden, 2-class network with values small enough to check by hand, brought in
/// through safetensors as a PyTorch user would, then run by `predict`.
#[test]
fn predict_logits_equal_a_hand_computed_reference() {
    use safetensors::{Dtype, tensor::TensorView};
    let dir = tmp();
    let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let tensors = [
        ("fc1.weight", vec![2, 2], bytes(&[1.0, 2.0, 3.0, 4.0])),
        ("fc1.bias", vec![2], bytes(&[0.5, -1.0])),
        ("fc2.weight", vec![2, 2], bytes(&[0.5, -1.0, 2.0, 0.0])),
        ("fc2.bias", vec![2], bytes(&[0.0, 1.0])),
        ("normalizer.mean", vec![2], bytes(&[10.0, 20.0])),
        ("normalizer.std", vec![2], bytes(&[2.0, 4.0])),
    ];
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, d)| (*n, TensorView::new(Dtype::F32, s.clone(), d).unwrap()))
        .collect();
    let st = dir.path().join("hand.safetensors");
    std::fs::write(&st, safetensors::serialize(views, None).unwrap()).unwrap();
    let model = dir.path().join("hand.mlpb");
    let o = run([
        "import",
        st.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Row 1: x = [12, 24] → standardised [1, 1]
    //   h = relu([1·1 + 2·1 + 0.5, 3·1 + 4·1 − 1]) = [3.5, 6]
    //   z = [0.5·3.5 − 1·6 + 0, 2·3.5 + 0·6 + 1] = [−4.25, 8]
    // Row 2: x = [12, 16] → [1, −1] → pre-activations [−0.5, −2] → h = [0, 0] → z = [0, 1]
    // Row 3: x = [9, ""] → [−0.5, missing → mean → 0] → h = relu([0, −2.5]) = [0, 0] → z = [0, 1]
    //   (fc1 row 0: 1·(−0.5) + 2·0 + 0.5 = 0)
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "a,b\n12,24\n12,16\n9,\n").unwrap();
    let o = run([
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let logits: Vec<Vec<f32>> = serde_json::from_value(json(&o)["logits"].clone()).unwrap();
    assert_eq!(
        logits,
        vec![vec![-4.25, 8.0], vec![0.0, 1.0], vec![0.0, 1.0]]
    );
    assert_eq!(json(&o)["predictions"], serde_json::json!([1, 1, 1]));
}

#[test]
fn safetensors_export_import_round_trips_bit_for_bit() {
    let dir = tmp();
    let model = dir.path().join("wine.mlpb");
    train("wine.csv", 2, &model);
    let st = dir.path().join("wine.safetensors");
    let o = run([
        "export",
        model.to_str().unwrap(),
        "--format",
        "safetensors",
        "--out",
        st.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // PyTorch names and shapes.
    let bytes = std::fs::read(&st).unwrap();
    let parsed = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(parsed.tensor("fc1.weight").unwrap().shape(), [32, 13]);
    assert_eq!(parsed.tensor("fc2.weight").unwrap().shape(), [3, 32]);
    assert_eq!(parsed.tensor("normalizer.std").unwrap().shape(), [13]);
    let back = dir.path().join("back.mlpb");
    let o = run([
        "import",
        st.to_str().unwrap(),
        "--out",
        back.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&back).unwrap()
    );
}

fn expect_input_error(args: &[&str], needle: &str) {
    let o = run(args);
    assert_eq!(
        code(&o),
        2,
        "{args:?}: expected exit 2; stderr: {}",
        stderr(&o)
    );
    let err = stderr(&o);
    assert!(
        err.contains(needle),
        "{args:?}: stderr lacks `{needle}`:\n{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(&o).is_empty(), "nothing on stdout on error");
}

#[test]
fn malformed_csv_files_are_input_errors_with_file_line_and_column() {
    let dir = tmp();
    let out = dir.path().join("m.mlpb");
    let cases: &[(&str, &str, &str)] = &[
        ("empty.csv", "", "empty.csv:1:1: the file is empty"),
        ("header.csv", "a,b,label\n", "header.csv:2:1: no data rows"),
        (
            "ragged.csv",
            "a,b,label\n1,2,0\n3,1\n",
            "ragged.csv:3:3: the row has 2 fields but the header has 3",
        ),
        (
            "text.csv",
            "a,b,label\n1,2,0\n3,abc,1\n",
            "text.csv:3:2: `abc` in column `b` is not a number",
        ),
        (
            "nolabel.csv",
            "a,b\n1,2\n",
            "nolabel.csv:1:1: no label column `label`; the columns are: a, b",
        ),
        (
            "badlabel.csv",
            "a,b,label\n1,2,0\n1,2,x\n",
            "badlabel.csv:3:3: label column `label`: `x` is not a class number",
        ),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        expect_input_error(
            &[
                "train",
                "--data",
                path.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            needle,
        );
    }
    expect_input_error(
        &[
            "train",
            "--data",
            "missing.csv",
            "--out",
            out.to_str().unwrap(),
        ],
        "missing.csv",
    );
    // Missing values are not errors: empty cells and NaN are filled by the normalizer.
    let holes = dir.path().join("holes.csv");
    std::fs::write(
        &holes,
        "a,b,label\n1,,0\nNaN,2,1\n3,4,0\n5,1,1\n2,2,0\n4,3,1\n",
    )
    .unwrap();
    let o = run([
        "train",
        "--data",
        holes.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--epochs",
        "3",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // --label picks another column.
    expect_input_error(
        &[
            "train",
            "--data",
            data("wine.csv").to_str().unwrap(),
            "--label",
            "class",
            "--out",
            out.to_str().unwrap(),
        ],
        "no label column `class`",
    );
}

#[test]
fn malformed_model_files_are_input_errors() {
    let dir = tmp();
    let good = dir.path().join("good.mlpb");
    train("wine.csv", 0, &good);
    let bytes = std::fs::read(&good).unwrap();
    let mut corrupted = bytes.clone();
    corrupted[100] ^= 0x01;
    let mut version = bytes.clone();
    version[4] = 9;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.mlpb", vec![], "too short"),
        (
            "magic.mlpb",
            b"PK\x03\x04this is a zip file, not a model".to_vec(),
            "not an mlprobe model",
        ),
        (
            "truncated.mlpb",
            bytes[..bytes.len() - 10].to_vec(),
            "truncated",
        ),
        (
            "trailing.mlpb",
            [bytes.clone(), vec![0]].concat(),
            "truncated or trailing data",
        ),
        ("corrupted.mlpb", corrupted, "checksum mismatch"),
        ("version.mlpb", version, "version 9 is not supported"),
    ];
    for (name, content, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        for cmd in ["eval", "predict"] {
            expect_input_error(
                &[
                    cmd,
                    "--model",
                    path.to_str().unwrap(),
                    "--data",
                    data("wine.csv").to_str().unwrap(),
                ],
                needle,
            );
        }
        expect_input_error(
            &[
                "export",
                path.to_str().unwrap(),
                "--out",
                dir.path().join("x.st").to_str().unwrap(),
            ],
            needle,
        );
    }
    // A model and a dataset that do not fit together.
    expect_input_error(
        &[
            "eval",
            "--model",
            good.to_str().unwrap(),
            "--data",
            data("breast_cancer.csv").to_str().unwrap(),
        ],
        "columns the model needs are missing: `alcohol`, `malic_acid`",
    );
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}").unwrap();
    expect_input_error(
        &[
            "import",
            garbage.to_str().unwrap(),
            "--out",
            dir.path().join("g.mlpb").to_str().unwrap(),
        ],
        "not a valid safetensors file",
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    expect_input_error(
        &[
            "train",
            "--data",
            data("wine.csv").to_str().unwrap(),
            "--out",
            "/tmp/x.mlpb",
            "--test-split",
            "1.5",
        ],
        "--test-split",
    );
    expect_input_error(
        &[
            "train",
            "--data",
            data("wine.csv").to_str().unwrap(),
            "--out",
            "/tmp/x.mlpb",
            "--lr",
            "-1",
        ],
        "--lr",
    );
    expect_input_error(
        &[
            "train",
            "--data",
            data("wine.csv").to_str().unwrap(),
            "--out",
            "/tmp/x.mlpb",
            "--fill-na",
            "zero",
        ],
        "--fill-na",
    );
    expect_input_error(&["frobnicate"], "unrecognized subcommand");
}
