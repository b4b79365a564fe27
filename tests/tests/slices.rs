//! `mlprobe slices` (issue 23, part 5): the search for weak segments, and `--slice`
//! conjunctions.
//!
//! Where the expected values come from:
//! - Fisher p-values: `tests/reference/slices.py fisher` (scipy 1.17.1
//!   `scipy.stats.fisher_exact(table, alternative="less"/"greater")` on random tables from a
//!   seed printed by the test) against `mlprobe_core::fisher`;
//! - the whole search on wine: `tests/reference/slices.py search` repeats it in numpy, pandas,
//!   scipy and statsmodels (`multipletests(method="fdr_bh")`) from its definition, given which
//!   rows the model gets right (from `mlprobe predict`);
//! - the planted segment: the test flips the labels of the top quantile bin of `flavanoids`
//!   (its edge from the library's own `bin_edges`, the rule the search uses), so that bin must
//!   come first;
//! - the conjunction's rows and accuracy: counted here from the CSV and `mlprobe predict`.

use mlprobe::data::{self, Labels};
use mlprobe::eval::search::{bin_count, bin_edges};
use mlprobe_tests::{code, data as bundled, json, run, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A wine model trained with seed 0 on the untouched data, in `dir`.
fn wine_model(dir: &Path) -> PathBuf {
    let model = dir.join("wine.mlpb");
    let o = run([
        "train",
        "--data",
        s(&bundled("wine.csv")),
        "--seed",
        "0",
        "--out",
        s(&model),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    model
}

fn slices_json(model: &Path, data: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["slices", "--model", s(model), "--data", s(data), "--json"];
    args.extend_from_slice(extra);
    let o = run(&args);
    (code(&o), json(&o))
}

#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    let ok = (got - want).abs() <= 1e-9 * want.abs() || (got - want).abs() <= 1e-300;
    assert!(ok, "{what}: mlprobe {got:e}, scipy {want:e}");
}

#[test]
fn fisher_p_values_match_scipy_on_random_tables() {
    let Some(python) = mlprobe_tests::python() else {
        return;
    };
    let seed = mlprobe_tests::reference_seed();
    let out = Command::new(python)
        .arg(mlprobe_tests::root().join("tests/reference/slices.py"))
        .args(["fisher", "--cases", "400", "--seed", &seed.to_string()])
        .output()
        .expect("run tests/reference/slices.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cases = 0;
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let t: Vec<u64> = v["table"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()))
            .collect();
        let table = [[t[0], t[1]], [t[2], t[3]]];
        let what = format!("{table:?} (seed {seed})");
        close(
            &format!("less {what}"),
            mlprobe_core::fisher::fisher_less(table),
            v["less"].as_f64().unwrap(),
        );
        close(
            &format!("greater {what}"),
            mlprobe_core::fisher::fisher_greater(table),
            v["greater"].as_f64().unwrap(),
        );
        cases += 1;
    }
    assert_eq!(cases, 400);
}

/// Which rows of `data` the model gets right, from `mlprobe predict`.
fn right_of(model: &Path, data: &Path) -> Vec<bool> {
    let o = run(["predict", "--model", s(model), "--data", s(data), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let predictions = json(&o)["predictions"].as_array().unwrap().clone();
    let labels = data::load(data, Labels::Required("label"))
        .unwrap()
        .labels
        .unwrap();
    predictions
        .iter()
        .zip(labels)
        .map(|(p, l)| p.as_u64().unwrap() == u64::from(l))
        .collect()
}

#[test]
fn untouched_wine_has_no_weak_segment_and_matches_the_reference_search() {
    let dir = tempfile::tempdir().unwrap();
    let model = wine_model(dir.path());
    let wine = bundled("wine.csv");
    let (c, r) = slices_json(&model, &wine, &["--top", "100000"]);
    assert_eq!(c, 0, "{r:#}");
    assert_eq!(r["rows"], 178);
    assert_eq!(r["bins"], 4);
    assert_eq!(r["significant"], 0);
    let m = r["segments_searched"].as_u64().unwrap();
    let top3 = Value::from(r["segments"].as_array().unwrap()[..3].to_vec());
    eprintln!("wine: {m} segments searched; top: {top3:#}");
    assert!(
        r["segments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["p_adjusted"].as_f64().unwrap() >= 0.05)
    );
    // The same search in numpy/scipy/statsmodels, from which rows the model gets right.
    let Some(python) = mlprobe_tests::python() else {
        return;
    };
    let right = dir.path().join("right.txt");
    let bits: Vec<&str> = right_of(&model, &wine)
        .iter()
        .map(|&r| if r { "1" } else { "0" })
        .collect();
    std::fs::write(&right, bits.join("\n")).unwrap();
    let out = Command::new(python)
        .arg(mlprobe_tests::root().join("tests/reference/slices.py"))
        .args(["search", "--data", s(&wine), "--right", s(&right)])
        .output()
        .expect("run tests/reference/slices.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want: Value = serde_json::from_slice(&out.stdout).unwrap();
    for k in [
        "bins",
        "segments_searched",
        "hidden_redundant",
        "significant",
    ] {
        assert_eq!(r[k], want[k], "{k}");
    }
    // The listed segments as (rows, errors, p, p_adjusted), in one order.
    let key = |v: &Value| {
        let mut x: Vec<(u64, u64, f64, f64)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                (
                    g["rows"].as_u64().unwrap(),
                    g["errors"].as_u64().unwrap(),
                    g["p_value"].as_f64().unwrap(),
                    g["p_adjusted"].as_f64().unwrap(),
                )
            })
            .collect();
        x.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
        x
    };
    let (got, exp) = (key(&r["segments"]), key(&want["segments"]));
    assert_eq!(got.len(), exp.len());
    for (g, w) in got.iter().zip(&exp) {
        assert_eq!((g.0, g.1), (w.0, w.1));
        close("p", g.2, w.2);
        close("p_adjusted", g.3, w.3);
    }
}

#[test]
fn a_planted_weak_segment_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    let model = wine_model(dir.path());
    // Flip y → (y + 1) mod 3 in the top quantile bin of flavanoids, the bin rule of the search.
    let mut d = data::load(&bundled("wine.csv"), Labels::Required("label")).unwrap();
    let j = d
        .feature_names
        .iter()
        .position(|c| c == "flavanoids")
        .unwrap();
    let values: Vec<f32> = (0..d.rows()).map(|i| d.row(i)[j]).collect();
    let edges = bin_edges(&values, bin_count(d.rows(), 20));
    let edge = *edges.last().unwrap();
    let flipped: Vec<usize> = (0..d.rows()).filter(|&i| values[i] > edge).collect();
    let labels = d.labels.as_mut().unwrap();
    for &i in &flipped {
        labels[i] = (labels[i] + 1) % 3;
    }
    let planted = dir.path().join("planted.csv");
    d.write_csv(&planted, 0..d.rows()).unwrap();

    let (c, r) = slices_json(&model, &planted, &[]);
    assert_eq!(c, 1, "{r:#}");
    let top = &r["segments"][0];
    eprintln!("planted ({} rows flipped): top {top:#}", flipped.len());
    assert_eq!(top["slice"], format!("flavanoids > {edge}"));
    assert_eq!(top["rows"], flipped.len());
    assert!(top["p_adjusted"].as_f64().unwrap() < 0.05, "{top}");
    assert!(top["difference"].as_f64().unwrap() < -0.5, "{top}");
    assert!(r["hidden_redundant"].as_u64().unwrap() > 0);

    // The human table hands out the same slice, quoted for the shell.
    let o = run(["slices", "--model", s(&model), "--data", s(&planted)]);
    assert_eq!(code(&o), 1);
    let text = mlprobe_tests::stdout(&o);
    assert!(
        text.contains(&format!("--slice 'flavanoids > {edge}' *")),
        "{text}"
    );
}

#[test]
fn conjunction_slices_select_the_right_rows_in_eval() {
    let dir = tempfile::tempdir().unwrap();
    let model = wine_model(dir.path());
    let wine = bundled("wine.csv");
    let expr = "alcohol > 13 AND hue <= 0.9";
    let o = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&wine),
        "--latency-samples",
        "10",
        "--slice",
        expr,
        "--json",
    ]);
    assert!(matches!(code(&o), 0 | 1), "{}", stderr(&o));
    let r = json(&o);
    let slice = &r["slices"][0];
    assert_eq!(slice["slice"], expr);
    let d = data::load(&wine, Labels::Required("label")).unwrap();
    let (a, h) = (
        d.feature_names.iter().position(|c| c == "alcohol").unwrap(),
        d.feature_names.iter().position(|c| c == "hue").unwrap(),
    );
    let right = right_of(&model, &wine);
    let rows: Vec<usize> = (0..d.rows())
        .filter(|&i| d.row(i)[a] > 13.0 && d.row(i)[h] <= 0.9)
        .collect();
    assert!(rows.len() > 5 && rows.len() < 60, "{}", rows.len());
    assert_eq!(slice["n"], rows.len());
    let acc = rows.iter().filter(|&&i| right[i]).count() as f64 / rows.len() as f64;
    assert!((slice["accuracy"].as_f64().unwrap() - acc).abs() < 1e-12);
    // A bad conjunction is a usage error at its character.
    let o = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&wine),
        "--slice",
        "alcohol > 13 or hue <= 0.9",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("(at character 14)"), "{}", stderr(&o));
}

#[test]
fn bad_inputs_exit_2_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    let model = wine_model(dir.path());
    let wine = bundled("wine.csv");
    let narrow = dir.path().join("narrow.csv");
    std::fs::write(&narrow, "a,b,label\n1,2,0\n3,4,1\n").unwrap();
    let missing = dir.path().join("missing.csv");
    for (args, needle) in [
        (
            vec!["--model", s(&model), "--data", s(&missing)],
            s(&missing).to_string(),
        ),
        (
            vec!["--model", s(&missing), "--data", s(&wine)],
            s(&missing).to_string(),
        ),
        (
            vec!["--model", s(&model), "--data", s(&wine), "--label", "nope"],
            s(&wine).to_string(),
        ),
        (
            vec!["--model", s(&model), "--data", s(&narrow)],
            s(&narrow).to_string(),
        ),
        (
            vec!["--model", s(&model), "--data", s(&wine), "--min-size", "0"],
            "--min-size".into(),
        ),
        (
            vec!["--model", s(&model), "--data", s(&wine), "--alpha", "1"],
            "--alpha".into(),
        ),
        (
            vec!["--model", s(&model), "--data", s(&wine), "--alpha", "0"],
            "--alpha".into(),
        ),
    ] {
        let mut all = vec!["slices"];
        all.extend(args);
        let o = run(&all);
        assert_eq!(code(&o), 2, "{all:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(&needle), "{all:?}: {}", stderr(&o));
    }
}
