//! `mlprobe import` of PyTorch MLPs made outside mlprobe, and `export --format safetensors`
//! (issue #16, item 4). The fixtures in tests/fixtures/safetensors/ are written by
//! tests/reference/make_safetensors.py with numpy and the `safetensors` package's numpy API
//! (`nn.Sequential` names `0.weight`, `0.bias`, `2.weight`, …); the expected logits there are
//! numpy's, in float64 from the same float32 weights and inputs.

use mlprobe_tests::{code, json, root, run, stderr};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use std::path::{Path, PathBuf};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/safetensors").join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The rows of a CSV of numbers (header skipped).
fn numbers(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// `mlprobe import FILE --out DIR/NAME.mlpb [extra…]`: its output and the model path.
fn import(st: &Path, dir: &Path, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let out = dir.join(format!(
        "{}.mlpb",
        st.file_stem().unwrap().to_str().unwrap()
    ));
    let mut args = vec!["import", s(st), "--out", s(&out)];
    args.extend(extra);
    (run(args), out)
}

/// Imports `name`.safetensors, predicts tests/fixtures/safetensors/inputs.csv and compares the
/// logits with numpy's: the largest error in a row, relative to the row's largest logit,
/// at most 1e-5.
fn imports_to_numpys_logits(name: &str, widths: &[usize]) {
    let dir = tmp();
    let (o, model) = import(
        &fixture(&format!("{name}.safetensors")),
        dir.path(),
        &["--json"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["inputs"], widths[0]);
    assert_eq!(
        report["hidden"],
        serde_json::json!(widths[1..widths.len() - 1])
    );
    assert_eq!(report["outputs"], widths[widths.len() - 1]);
    assert_eq!(
        report["features"],
        serde_json::json!(["alpha", "beta", "gamma", "delta"])
    );
    assert_eq!(report["warnings"], serde_json::json!([]));
    let o = run([
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&fixture("inputs.csv")),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let got: Vec<Vec<f64>> = serde_json::from_value(json(&o)["logits"].clone()).unwrap();
    let want = numbers(&fixture(&format!("{name}.logits.csv")));
    assert_eq!(got.len(), want.len());
    let mut worst = 0.0f64;
    for (row, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), w.len(), "row {row}");
        let scale = w.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = g
            .iter()
            .zip(w)
            .fold(0.0f64, |m, (g, w)| m.max((g - w).abs()));
        let rel = err / scale;
        worst = worst.max(rel);
        assert!(
            rel <= 1e-5,
            "row {row}: {g:?} vs numpy {w:?} (relative {rel:e})"
        );
    }
    eprintln!("{name}: largest row-relative error {worst:e}");
}

#[test]
fn a_2_layer_sequential_from_numpy_predicts_numpys_logits() {
    imports_to_numpys_logits("mlp2", &[4, 8, 3]);
}

#[test]
fn a_3_layer_sequential_from_numpy_predicts_numpys_logits() {
    imports_to_numpys_logits("mlp3", &[4, 8, 6, 3]);
}

/// Import, export, import: the same model file, and the export's bytes are the same each time.
fn round_trips_bit_for_bit(name: &str, tensors: &[&str]) {
    let dir = tmp();
    let (o, model) = import(&fixture(&format!("{name}.safetensors")), dir.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let st = dir.path().join("exported.safetensors");
    let o = run([
        "export",
        s(&model),
        "--format",
        "safetensors",
        "--out",
        s(&st),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let bytes = std::fs::read(&st).unwrap();
    let parsed = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = parsed.names();
    names.sort_unstable();
    assert_eq!(names, tensors);
    let (o, back) = import(&st, dir.path(), &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&back).unwrap(),
        std::fs::read(&model).unwrap()
    );
    let again = dir.path().join("again.safetensors");
    let o = run([
        "export",
        s(&back),
        "--format",
        "safetensors",
        "--out",
        s(&again),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(std::fs::read(&again).unwrap() == bytes);
}

#[test]
fn a_2_layer_import_exports_as_fc1_fc2_and_round_trips_bit_for_bit() {
    round_trips_bit_for_bit(
        "mlp2",
        &[
            "fc1.bias",
            "fc1.weight",
            "fc2.bias",
            "fc2.weight",
            "normalizer.mean",
            "normalizer.std",
        ],
    );
}

#[test]
fn a_3_layer_import_exports_as_fc1_to_fc3_and_round_trips_bit_for_bit() {
    round_trips_bit_for_bit(
        "mlp3",
        &[
            "fc1.bias",
            "fc1.weight",
            "fc2.bias",
            "fc2.weight",
            "fc3.bias",
            "fc3.weight",
            "normalizer.mean",
            "normalizer.std",
        ],
    );
}

/// A tensor as `safetensors::serialize` takes it.
type Raw = (String, Dtype, Vec<usize>, Vec<u8>);

/// The tensors and metadata of a fixture.
fn tensors_of(name: &str) -> (Vec<Raw>, Option<std::collections::HashMap<String, String>>) {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let (_, meta) = SafeTensors::read_metadata(&bytes).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                v.dtype(),
                v.shape().to_vec(),
                v.data().to_vec(),
            )
        })
        .collect();
    (t, meta.metadata().clone())
}

fn write(path: &Path, t: &[Raw], meta: Option<std::collections::HashMap<String, String>>) {
    let views: Vec<(&str, TensorView<'_>)> = t
        .iter()
        .map(|(n, d, s, b)| (n.as_str(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, meta).unwrap()).unwrap();
}

/// The 2-layer fixture changed by `edit`, imported: exit 2, the file and every `needle` named
/// on stderr, no model written.
fn refused(edit: impl Fn(&mut Vec<Raw>), needles: &[&str]) {
    let dir = tmp();
    let (mut t, meta) = tensors_of("mlp2.safetensors");
    edit(&mut t);
    let st = dir.path().join("bad.safetensors");
    write(&st, &t, meta);
    let (o, model) = import(&st, dir.path(), &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(s(&st)), "names the file: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(!model.exists(), "nothing is written");
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn an_extra_tensor_is_exit_2_naming_it() {
    // A third Linear weight without its bias: dropping it would make another model.
    refused(
        |t| t.push(("4.weight".into(), Dtype::F32, vec![3, 3], f32s(&[0.5; 9]))),
        &["tensor `4.weight` has no `4.bias`"],
    );
    // A BatchNorm's running statistics between the layers.
    refused(
        |t| {
            t.push((
                "1.running_mean".into(),
                Dtype::F32,
                vec![8],
                f32s(&[0.0; 8]),
            ))
        },
        &["unexpected tensor `1.running_mean`", "change the model"],
    );
    // A second scheme next to the Sequential one.
    refused(
        |t| {
            t.push((
                "fc1.weight".into(),
                Dtype::F32,
                vec![8, 4],
                f32s(&[0.0; 32]),
            ))
        },
        &["two key schemes", "`0.weight`", "`fc1.weight`", "--prefix"],
    );
}

#[test]
fn a_dtype_other_than_f32_or_f64_is_exit_2_naming_the_tensor() {
    refused(
        |t| {
            let b = t.iter_mut().find(|r| r.0 == "2.bias").unwrap();
            *b = ("2.bias".into(), Dtype::F16, vec![3], vec![0; 6]);
        },
        &["tensor `2.bias` has dtype F16", "F32 or F64"],
    );
}

#[test]
fn shapes_that_do_not_chain_are_exit_2_naming_both_tensors() {
    refused(
        |t| {
            let w = t.iter_mut().find(|r| r.0 == "2.weight").unwrap();
            *w = ("2.weight".into(), Dtype::F32, vec![3, 5], f32s(&[0.5; 15]));
        },
        &[
            "shapes do not chain",
            "`0.weight` [8, 4]",
            "`2.weight` [3, 5]",
        ],
    );
    refused(
        |t| {
            let w = t.iter_mut().find(|r| r.0 == "0.weight").unwrap();
            *w = ("0.weight".into(), Dtype::F32, vec![32], f32s(&[0.5; 32]));
        },
        &["tensor `0.weight` has shape [32]; a Linear weight is 2-D"],
    );
}

/// Other names with `--prefix` (taken literally); names from `--features`, which win over the
/// metadata; a count that does not match the inputs is exit 2.
#[test]
fn prefix_and_features_flags() {
    let dir = tmp();
    let (mut t, _) = tensors_of("mlp2.safetensors");
    for r in &mut t {
        if !r.0.starts_with("normalizer.") {
            r.0 = format!("model.mlp.{}", r.0);
        }
    }
    let st = dir.path().join("prefixed.safetensors");
    write(&st, &t, None);
    let (o, _) = import(&st, dir.path(), &[]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("no dense layers"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--prefix"), "{}", stderr(&o));
    let (o, _) = import(&st, dir.path(), &["--prefix", "model.mlp"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did you mean --prefix model.mlp.?"),
        "{}",
        stderr(&o)
    );
    let (o, model) = import(
        &st,
        dir.path(),
        &["--prefix", "model.mlp.", "--features", "a,b,c,d", "--json"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["features"], serde_json::json!(["a", "b", "c", "d"]));
    assert_eq!(report["hidden"], serde_json::json!([8]));
    // The same model file as the fixture's own names give, with the names of --features in it
    // (they bind the columns: inputs.csv has alpha, beta, gamma, delta).
    let other = tmp();
    let (o, reference) = import(
        &fixture("mlp2.safetensors"),
        other.path(),
        &["--features", "a,b,c,d"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(reference).unwrap()
    );
    let o = run([
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&fixture("inputs.csv")),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("`a`"), "{}", stderr(&o));
    // No metadata and no normaliser: a warning says the inputs are used as they are.
    t.retain(|r| !r.0.starts_with("normalizer."));
    write(&st, &t, None);
    let out = dir.path().join("bare.mlpb");
    let o = run([
        "import",
        s(&st),
        "--out",
        s(&out),
        "--prefix",
        "model.mlp.",
        "--features",
        "a,b,c",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "--features gives 3 names but the network has 4 inputs (`model.mlp.0.weight` [8, 4])"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let o = run(["import", s(&st), "--out", s(&out), "--prefix", "model.mlp."]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: no normalizer.mean"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_teaches_the_key_schemes() {
    let o = run(["import", "--help"]);
    assert_eq!(code(&o), 0);
    let help = mlprobe_tests::stdout(&o);
    for needle in [
        "0.weight, 0.bias, 2.weight",
        "fc1.weight",
        "layers.0.weight",
        "net.0.weight",
        "--prefix",
        "--features",
        "mlprobe.features",
        "ReLU is assumed",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}
