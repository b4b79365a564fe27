//! `mlprobe compare` (issue 18): the paired comparison of two models on the same rows.
//!
//! Where the expected values come from:
//! - McNemar's test: statsmodels 0.15.0's `mcnemar` (exact, and chi-square with continuity
//!   correction), computed afresh each run by `tests/reference/paired.py` on random tables
//!   (seed printed, `MLPROBE_REFERENCE_SEED` replays it); every table through core, and the
//!   small ones end to end through `mlprobe compare` on predictions files built from them.
//! - Newcombe's interval (method 10): R 4.2.2 with `contingencytables` 3.0.0
//!   (`Newcombe_square_and_add_CI_paired_2x2`, Fagerland, Lydersen and Laake's package) and
//!   `ratesci` 1.1.0.9000 (`moverpairci(type = "wilson", corc = TRUE)`), which agree with each
//!   other to 5e-13; and the values printed in Newcombe 1998 (*Stat Med* 17:2635–2650,
//!   Table III, 4 decimals) and in Fagerland, Lydersen and Laake 2014 (*Stat Med*
//!   33:2850–2875, 3–4 decimals) for the tables they list.

use mlprobe_core::paired::{self, PairedCounts};
use mlprobe_tests::{code, data, json, run, stderr};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// `(a, b, c, d)`: a both right, b baseline only, c candidate only, d both wrong.
type Table = (u64, u64, u64, u64);

/// The R packages' interval at alpha 0.05.
const R_NEWCOMBE: &[(Table, f64, f64)] = &[
    ((1, 7, 1, 12), -0.506920226686141, -0.0255591241648598),
    ((59, 16, 6, 80), -0.11862119563871, -0.00462511393305006),
    ((20, 2, 12, 16), 0.0561564248417484, 0.329206995400141),
    ((18, 2, 12, 18), 0.0561718439882532, 0.328975968885801),
    ((36, 2, 12, 0), 0.0569295840, 0.3404276030),
    ((35, 0, 14, 1), 0.1460739059, 0.4174624742),
    ((18, 0, 14, 18), 0.1440826162, 0.3963252817),
    ((36, 0, 14, 0), 0.1528395179, 0.4166512370),
    ((2, 1, 97, 0), 0.8721164783, 0.9853664502),
    ((1, 1, 97, 1), 0.8736721762, 0.9850257704),
    ((0, 1, 29, 0), 0.6665921802, 0.9881828192),
    ((1, 0, 98, 1), 0.9170870180, 0.9916426092),
    ((0, 0, 30, 0), 0.8394678199, 1.0),
    ((54, 0, 0, 0), -0.0664135881, 0.0664135881),
    ((53, 0, 0, 1), -0.0729381455, 0.0729381455),
    ((27, 0, 0, 27), -0.0350696630, 0.0350696630),
    ((8, 1, 3, 2), -0.1574372495, 0.4136394171),
    ((14, 0, 5, 22), 0.0114832414, 0.2264926844),
    ((10, 5, 15, 20), 0.0258384165, 0.3569365717),
    ((70, 5, 12, 13), -0.0127968058, 0.1535969064),
    ((85, 3, 9, 3), -0.0121212153, 0.1373287687),
    ((0, 0, 0, 10), -0.2775327999, 0.2775327999),
    ((0, 3, 0, 0), -1.0, -0.2059232825),
    ((5, 0, 0, 5), -0.1665931571, 0.1665931571),
    ((2, 1, 1, 1), -0.4648683508, 0.4648683508),
];

/// The intervals as printed: Newcombe 1998 Table III (his cells e, f, g, h are our a, c, b, d)
/// and Fagerland et al. 2014's two examples. 4 decimals, so within 5e-5; Table III prints
/// 0.8736 for (1, 97, 1, 1), where its own method 8 column (equal to method 10 for this table)
/// prints 0.8737: a misprint, checked within 1e-4.
const PUBLISHED: &[(Table, f64, f64, f64)] = &[
    ((1, 7, 1, 12), -0.507, -0.026, 5e-4), // Fagerland 2014: 3 decimals
    ((59, 16, 6, 80), -0.1186, -0.0046, 5e-5),
    ((20, 2, 12, 16), 0.0562, 0.3292, 5e-5),
    ((18, 2, 12, 18), 0.0562, 0.3290, 5e-5),
    ((36, 2, 12, 0), 0.0569, 0.3404, 5e-5),
    ((35, 0, 14, 1), 0.1461, 0.4175, 5e-5),
    ((18, 0, 14, 18), 0.1441, 0.3963, 5e-5),
    ((36, 0, 14, 0), 0.1528, 0.4167, 5e-5),
    ((2, 1, 97, 0), 0.8721, 0.9854, 5e-5),
    ((1, 1, 97, 1), 0.8736, 0.9850, 1e-4),
    ((0, 1, 29, 0), 0.6666, 0.9882, 5e-5),
    ((1, 0, 98, 1), 0.9171, 0.9916, 5e-5),
    ((0, 0, 30, 0), 0.8395, 1.0, 5e-5),
    ((54, 0, 0, 0), -0.0664, 0.0664, 5e-5),
    ((53, 0, 0, 1), -0.0729, 0.0729, 5e-5),
    ((27, 0, 0, 27), -0.0351, 0.0351, 5e-5),
];

#[test]
fn newcombe_matches_the_r_packages_and_the_published_tables() {
    for &((a, b, c, d), low, high) in R_NEWCOMBE {
        let ci = paired::newcombe(&PairedCounts::from_table(a, b, c, d), 0.05).unwrap();
        assert!(
            (ci.low - low).abs() < 1e-9 && (ci.high - high).abs() < 1e-9,
            "({a}, {b}, {c}, {d}): mlprobe [{}, {}], R [{low}, {high}]",
            ci.low,
            ci.high
        );
        // Swapping the models mirrors the interval.
        let m = paired::newcombe(&PairedCounts::from_table(a, c, b, d), 0.05).unwrap();
        assert!((m.low + ci.high).abs() < 1e-15 && (m.high + ci.low).abs() < 1e-15);
    }
    for &((a, b, c, d), low, high, tol) in PUBLISHED {
        let ci = paired::newcombe(&PairedCounts::from_table(a, b, c, d), 0.05).unwrap();
        assert!(
            (ci.low - low).abs() <= tol && (ci.high - high).abs() <= tol,
            "({a}, {b}, {c}, {d}): mlprobe [{}, {}], published [{low}, {high}]",
            ci.low,
            ci.high
        );
    }
}

/// Relative 1e-10, or both below 1e-300.
fn agrees(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-10 * want.abs() || (got.abs() < 1e-300 && want.abs() < 1e-300)
}

/// A predictions file of `table`'s rows (label 0; a wrong prediction is class 1), for the
/// baseline (`side` 0) or the candidate (1).
fn predictions_file(path: &Path, (a, b, c, d): Table, side: usize) {
    let mut text = String::from("label,prediction\n");
    for (count, right) in [
        (a, [true, true]),
        (b, [true, false]),
        (c, [false, true]),
        (d, [false, false]),
    ] {
        for _ in 0..count {
            let _ = writeln!(text, "0,{}", u8::from(!right[side]));
        }
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn mcnemar_matches_statsmodels_on_generated_cases() {
    let Some(python) = mlprobe_tests::python() else {
        return;
    };
    let seed = mlprobe_tests::reference_seed();
    let out = Command::new(&python)
        .args(["-W", "ignore"])
        .arg(mlprobe_tests::root().join("tests/reference/paired.py"))
        .args(["--cases", "2000", "--seed", &seed.to_string()])
        .output()
        .expect("run tests/reference/paired.py");
    assert!(
        out.status.success(),
        "paired.py failed (does .venv have statsmodels? ./scripts/venv.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let (mut checked, mut end_to_end) = (0, 0);
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        let t: Vec<u64> = (0..4).map(|i| row["table"][i].as_u64().unwrap()).collect();
        let table = (t[0], t[1], t[2], t[3]);
        let m = paired::mcnemar(t[1], t[2]);
        // statsmodels' value, or the direct sum where scipy's tail underflowed (paired.py).
        let want_p = row
            .get("exact_p_value_sum")
            .unwrap_or(&row["exact_p_value"])
            .as_f64()
            .unwrap();
        assert!(
            agrees(m.exact_p_value, want_p),
            "{table:?}: exact p {} against statsmodels {want_p}",
            m.exact_p_value
        );
        // statsmodels reports inf and p = 0 without discordant rows; mlprobe has no statistic.
        let want_chi2 = row.get("chi2").and_then(serde_json::Value::as_f64);
        let want_chi2_p = row.get("chi2_p_value").and_then(serde_json::Value::as_f64);
        match (m.chi2, m.chi2_p_value, want_chi2, want_chi2_p) {
            (Some(x), Some(p), Some(wx), Some(wp)) => assert!(
                agrees(x, wx) && agrees(p, wp),
                "{table:?}: chi2 {x} p {p} against statsmodels {wx} {wp}"
            ),
            (None, None, None, None) => assert_eq!(t[1] + t[2], 0),
            other => panic!("{table:?}: {other:?}"),
        }
        checked += 1;
        // The small tables end to end: two predictions files, no --data.
        if t.iter().sum::<u64>() <= 200 && end_to_end < 40 {
            let (base, cand) = (dir.path().join("base.csv"), dir.path().join("cand.csv"));
            predictions_file(&base, table, 0);
            predictions_file(&cand, table, 1);
            let o = run([
                "compare",
                "--baseline",
                s(&base),
                "--candidate",
                s(&cand),
                "--json",
            ]);
            assert!(matches!(code(&o), 0 | 1), "{table:?}: {}", stderr(&o));
            let j = json(&o);
            let n = t.iter().sum::<u64>();
            assert_eq!(j["n"], n);
            assert_eq!(j["discordant"]["baseline_only"], t[1]);
            assert_eq!(j["discordant"]["candidate_only"], t[2]);
            assert_eq!(j["concordant"], serde_json::json!([t[0], t[3]]));
            assert!(agrees(
                j["mcnemar"]["exact_p_value"].as_f64().unwrap(),
                want_p
            ));
            match want_chi2 {
                Some(wx) => assert!(agrees(j["mcnemar"]["chi2"].as_f64().unwrap(), wx)),
                None => assert!(j["mcnemar"]["chi2"].is_null()),
            }
            // Both wrong means both predicted class 1: they agree on a and d.
            let agreement = (t[0] + t[3]) as f64 / n as f64;
            assert!((j["agreement"].as_f64().unwrap() - agreement).abs() < 1e-15);
            let estimate = (t[2] as f64 - t[1] as f64) / n as f64;
            assert!((j["difference"]["estimate"].as_f64().unwrap() - estimate).abs() < 1e-15);
            end_to_end += 1;
        }
    }
    assert_eq!(checked, 2000);
    assert!(end_to_end >= 20, "only {end_to_end} tables end to end");
}

/// A model trained on wine (accuracy near 1) against `data/wine.predictions.csv`, a
/// deliberately weak scikit-learn model on two features (tests/reference/make_predictions.py).
#[test]
fn a_much_better_candidate_passes_and_the_reverse_fails() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("wine.mlpb");
    let wine = data("wine.csv");
    let weak = data("wine.predictions.csv");
    let t = run([
        "train",
        "--data",
        s(&wine),
        "--out",
        s(&model),
        "--test-split",
        "0",
    ]);
    assert_eq!(code(&t), 0, "{}", stderr(&t));
    let disagreements = dir.path().join("disagreements.csv");
    let args = |base: &Path, cand: &Path| {
        vec![
            "compare".to_string(),
            "--baseline".into(),
            s(base).into(),
            "--candidate".into(),
            s(cand).into(),
            "--data".into(),
            s(&wine).into(),
            "--slice".into(),
            "alcohol > 13".into(),
            "--json".into(),
        ]
    };
    let mut better = args(&weak, &model);
    better.extend(["--disagreements".into(), s(&disagreements).into()]);
    let o = run(&better);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let j = json(&o);
    assert_eq!(j["n"], 178);
    assert_eq!(j["baseline"]["kind"], "predictions");
    assert_eq!(j["candidate"]["kind"], "model");
    assert!(j["passed"].as_bool().unwrap() && j["non_inferior"].as_bool().unwrap());
    let b = j["discordant"]["baseline_only"].as_u64().unwrap();
    let c = j["discordant"]["candidate_only"].as_u64().unwrap();
    assert!(
        c > b + 10,
        "the trained model wins the discordant rows: {b} vs {c}"
    );
    assert!(j["mcnemar"]["exact_p_value"].as_f64().unwrap() < 1e-3);
    // The classes partition the rows; each class's figures are its rows'.
    let per_class = j["per_class"].as_array().unwrap();
    let sum = |k: &str| {
        per_class
            .iter()
            .map(|g| g[k].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (sum("n"), sum("baseline_only"), sum("candidate_only")),
        (178, b, c)
    );
    assert_eq!(j["slices"][0]["slice"], "alcohol > 13");
    // The disagreement file: one row per disagreeing row, each with two different predictions
    // and the row's own label and alcohol.
    let text = std::fs::read_to_string(&disagreements).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("line,label,baseline,candidate,alcohol,"),
        "{header}"
    );
    let wine_text = std::fs::read_to_string(&wine).unwrap();
    let wine_lines: Vec<&str> = wine_text.lines().collect();
    let mut rows = 0;
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        assert_ne!(cells[2], cells[3], "{l}");
        let line: usize = cells[0].parse().unwrap();
        let source: Vec<&str> = wine_lines[line - 1].split(',').collect();
        assert_eq!(source[0], cells[4], "alcohol of line {line}");
        assert_eq!(*source.last().unwrap(), cells[1], "label of line {line}");
        rows += 1;
    }
    assert_eq!(j["disagreeing_rows"], rows);
    assert!(rows > 0);

    // The other way round: significantly worse, exit 1, said.
    let o = run(args(&model, &weak));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let j = json(&o);
    assert!(j["significantly_worse"].as_bool().unwrap() && !j["passed"].as_bool().unwrap());
    let v = j["violations"].to_string();
    assert!(
        v.contains("significantly worse") && v.contains("non-inferiority"),
        "{v}"
    );

    // The same model twice: identical, so no test statistic; 178 rows cannot show a 1-point
    // margin (the interval is about ±2 points) but do show 5 points.
    let o = run(args(&model, &model));
    let j = json(&o);
    assert_eq!((code(&o), j["agreement"].as_f64()), (1, Some(1.0)));
    assert!(j["mcnemar"]["chi2"].is_null() && j["mcnemar"]["exact_p_value"] == 1.0);
    let mut wide = args(&model, &model);
    wide.extend(["--margin".into(), "0.05".into()]);
    assert_eq!(code(&run(&wide)), 0);
}

#[test]
fn bad_inputs_are_refused_with_their_location() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let wine = data("wine.csv");
    let model = mlprobe_tests::root().join("firmware/models/wine.mlpb");
    let weak = data("wine.predictions.csv");
    let refused = |args: &[&str], want: &str| {
        let o = run(args);
        assert_eq!(code(&o), 2, "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    };
    // Two models and no rows to score them on.
    refused(
        &["compare", "--baseline", s(&model), "--candidate", s(&model)],
        "--data",
    );
    // A predictions file whose labels are not the data's, row for row.
    let text = std::fs::read_to_string(&weak).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut cells: Vec<String> = lines[5].split(',').map(String::from).collect();
    cells[1] = if cells[1] == "0" {
        "1".into()
    } else {
        "0".into()
    };
    lines[5] = cells.join(",");
    let shifted = d.join("shifted.csv");
    std::fs::write(&shifted, lines.join("\n") + "\n").unwrap();
    refused(
        &[
            "compare",
            "--baseline",
            s(&shifted),
            "--candidate",
            s(&model),
            "--data",
            s(&wine),
        ],
        &format!("{}:6:2:", s(&shifted)),
    );
    // One row short.
    let short = d.join("short.csv");
    std::fs::write(
        &short,
        text.lines().take(100).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    refused(
        &[
            "compare",
            "--baseline",
            s(&short),
            "--candidate",
            s(&model),
            "--data",
            s(&wine),
        ],
        &format!("{}: 99 rows", s(&short)),
    );
    // The disagreements aimed at an input.
    let copy = d.join("wine.csv");
    std::fs::copy(&wine, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    refused(
        &[
            "compare",
            "--baseline",
            s(&model),
            "--candidate",
            s(&model),
            "--data",
            s(&copy),
            "--disagreements",
            s(&copy),
        ],
        &format!("{}: is an input of this command", s(&copy)),
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "the input is untouched"
    );
    // Settings out of range.
    for (flag, v) in [("--margin", "1"), ("--margin", "-0.01"), ("--alpha", "0")] {
        refused(
            &[
                "compare",
                "--baseline",
                s(&model),
                "--candidate",
                s(&model),
                "--data",
                s(&wine),
                &format!("{flag}={v}"),
            ],
            flag,
        );
    }
}
