//! `mlprobe drift` (issue 20, item 4): per-column drift of a current table against a
//! reference table.
//!
//! Where the expected values come from: `tests/reference/drift_reference.py` (numpy seed 20)
//! writes the tables and computes, with the venv's scipy 1.17.1 and statsmodels 0.15.0:
//! `scipy.stats.ks_2samp(method="asymp")` (KS statistic and p-value),
//! `scipy.stats.wasserstein_distance`, `scipy.stats.chi2_contingency` (statistic, p-value,
//! dof), `statsmodels.stats.multitest.multipletests(method="fdr_bh")` (adjusted p-values) and
//! PSI in numpy by mlprobe's definition (reference deciles, right-closed bins open at both
//! ends, proportions floored at 1e-4), and `scipy.stats.kstwo.sf` on a grid of `(d, n)`.

use mlprobe::drift::{self, DriftOptions};
use mlprobe_tests::{code, json, run, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes the reference tables and values into a temporary directory (`None`: no reference
/// Python, by the `require` policy).
fn reference() -> Option<(tempfile::TempDir, Value)> {
    let python = mlprobe_tests::python()?;
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(python)
        .arg(mlprobe_tests::root().join("tests/reference/drift_reference.py"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("run tests/reference/drift_reference.py");
    assert!(
        out.status.success(),
        "drift_reference.py failed (does .venv have statsmodels? ./scripts/venv.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(dir.path().join("expected.json")).unwrap();
    Some((dir, serde_json::from_slice(&expected).unwrap()))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{name}_ref.csv")),
        dir.join(format!("{name}_cur.csv")),
    )
}

#[track_caller]
fn close(what: &str, got: &Value, want: &Value, rel: f64) {
    let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
    let err = if w == 0.0 {
        g.abs()
    } else {
        ((g - w) / w).abs()
    };
    assert!(
        err <= rel,
        "{what}: mlprobe {g:e}, reference {w:e} (relative error {err:e})"
    );
}

fn column<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["column"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {report}"))
}

/// Every statistic of every column of the three table pairs, against scipy and statsmodels.
#[test]
fn statistics_match_scipy_and_statsmodels() {
    let Some((dir, expected)) = reference() else {
        return;
    };
    for (name, want_code) in [("big", 1), ("small", 0), ("same", 0)] {
        let (r, c) = pair(dir.path(), name);
        let o = run(["drift", "--reference", s(&r), "--current", s(&c), "--json"]);
        assert_eq!(code(&o), want_code, "{name}: {}", stderr(&o));
        let got = json(&o);
        let want = &expected["pairs"][name];
        let order: Vec<&str> = want["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let names: Vec<&str> = got["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["column"].as_str().unwrap())
            .collect();
        assert_eq!(names, order, "{name}: columns in the reference's order");
        for col in order {
            let (g, w) = (column(&got, col), &want["columns"][col]);
            let at = |what: &str| format!("{name}.{col}.{what}");
            assert_eq!(g["kind"], w["kind"], "{}", at("kind"));
            assert_eq!(g["reference"]["values"], w["values"][0], "{}", at("values"));
            assert_eq!(g["current"]["values"], w["values"][1], "{}", at("values"));
            assert_eq!(
                g["reference"]["missing"],
                w["missing"][0],
                "{}",
                at("missing")
            );
            assert_eq!(
                g["current"]["missing"],
                w["missing"][1],
                "{}",
                at("missing")
            );
            assert_eq!(g["reference"]["exact"], true);
            close(&at("p_value"), &g["p_value"], &w["p_value"], 1e-10);
            close(
                &at("adjusted_p_value"),
                &g["adjusted_p_value"],
                &w["adjusted_p_value"],
                1e-10,
            );
            assert_eq!(g["drifted"], w["drifted"], "{}", at("drifted"));
            close(&at("psi"), &g["psi"], &w["psi"], 1e-10);
            if w["kind"] == "numeric" {
                assert_eq!(g["test"], "ks");
                close(&at("ks"), &g["ks"]["statistic"], &w["ks_statistic"], 1e-12);
                assert_eq!(g["ks"]["statistic_error"], 0.0);
                close(
                    &at("w1"),
                    &g["wasserstein"]["value"],
                    &w["wasserstein"],
                    1e-10,
                );
                for (k, (a, b)) in g["deciles"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(w["deciles"].as_array().unwrap())
                    .enumerate()
                {
                    close(&at(&format!("decile {k}")), a, b, 1e-15);
                }
            } else {
                assert_eq!(g["test"], "chi2");
                close(&at("chi2"), &g["chi2"]["statistic"], &w["chi2"], 1e-10);
                assert_eq!(g["chi2"]["dof"], w["dof"], "{}", at("dof"));
                assert_eq!(g["chi2"]["yates"], w["dof"] == 1);
                let cats: Vec<&Value> = g["categories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| &c["value"])
                    .collect();
                let want_cats: Vec<&Value> = w["categories"].as_array().unwrap().iter().collect();
                assert_eq!(cats, want_cats, "{}", at("categories"));
            }
        }
        let drifted: Vec<&str> = got["drifted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(got["passed"], drifted.is_empty());
    }
}

/// The port of `kstwo.sf` (every branch of scipy's `_kolmogn`, n from 1 to 5e6).
#[test]
fn kstwo_sf_matches_scipy_on_a_grid() {
    let Some((dir, _)) = reference() else {
        return;
    };
    let grid: Vec<(f64, f64, f64)> =
        serde_json::from_slice(&std::fs::read(dir.path().join("kstwo.json")).unwrap()).unwrap();
    assert!(grid.len() > 200);
    let mut worst = (0.0f64, 0.0, 0.0);
    for &(d, n, want) in &grid {
        let got = drift::ks::kstwo_sf(d, n);
        // Relative, or absolute below 1e-300 (denormal tails).
        let err = if want.abs() < 1e-300 {
            (got - want).abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(
            err <= 1e-10,
            "kstwo.sf({d}, {n}): mlprobe {got:e}, scipy {want:e} ({err:e})"
        );
        if err > worst.0 {
            worst = (err, d, n);
        }
    }
    eprintln!(
        "kstwo.sf: worst relative error {:e} at d {} n {} over {} points",
        worst.0,
        worst.1,
        worst.2,
        grid.len()
    );
}

/// Exit codes: 1 drift, 0 none, 2 bad input with its location.
#[test]
fn exit_codes_and_bad_input() {
    let Some((dir, _)) = reference() else {
        return;
    };
    let d = dir.path();
    let (r, c) = pair(d, "big");
    assert_eq!(
        code(&run(["drift", "--reference", s(&r), "--current", s(&c)])),
        1
    );
    let (sr, sc) = pair(d, "same");
    let o = run(["drift", "--reference", s(&sr), "--current", s(&sc)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(mlprobe_tests::stdout(&o).contains("no drift in 6 columns"));
    // Only the columns asked for.
    let o = run([
        "drift",
        "--reference",
        s(&r),
        "--current",
        s(&c),
        "--columns",
        "same,flag",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(json(&o)["columns"].as_array().unwrap().len(), 2);

    // A column named in --columns that is not there: the file, then the name.
    let o = run([
        "drift",
        "--reference",
        s(&r),
        "--current",
        s(&c),
        "--columns",
        "same,nope",
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(&format!("{}: no column `nope`", r.display())),
        "{}",
        stderr(&o)
    );
    // A column in one file only.
    let extra = d.join("extra.csv");
    let text = std::fs::read_to_string(&c).unwrap();
    let mut lines = text.lines();
    let mut with_extra = format!("{},more\n", lines.next().unwrap());
    for l in lines {
        with_extra += &format!("{l},1\n");
    }
    std::fs::write(&extra, with_extra).unwrap();
    let o = run([
        "drift",
        "--reference",
        s(&r),
        "--current",
        s(&extra),
        "--json",
    ]);
    assert_eq!(code(&o), 2);
    // The current file's header is at fault: its line and the column's.
    assert!(
        stderr(&o).contains(":1:7: column `more` is not in the reference"),
        "{}",
        stderr(&o)
    );
    assert_eq!(json(&o)["error"]["location"]["path"], s(&extra));
    // An empty file: its path, line 1.
    let empty = d.join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = run(["drift", "--reference", s(&r), "--current", s(&empty)]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(&format!("{}:1:1:", empty.display())),
        "{}",
        stderr(&o)
    );
    // A header without rows.
    let header = d.join("header.csv");
    std::fs::write(&header, text.lines().next().unwrap()).unwrap();
    let o = run(["drift", "--reference", s(&header), "--current", s(&c)]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no data rows"), "{}", stderr(&o));
    // Text in a column that is numeric in the reference: its line and column.
    let bad = d.join("bad.csv");
    std::fs::write(
        &bad,
        format!("{}\nabc,1,1,red,yes,true\n", text.lines().next().unwrap()),
    )
    .unwrap();
    let o = run(["drift", "--reference", s(&r), "--current", s(&bad)]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(&format!("{}:2:1:", bad.display())),
        "{}",
        stderr(&o)
    );
    // Usage.
    let o = run([
        "drift",
        "--reference",
        s(&r),
        "--current",
        s(&c),
        "--alpha",
        "2",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--alpha"));
}

/// `--report DIR`: drift.html with one chart per column, drift.json the `--json` document.
#[test]
fn report_has_one_chart_per_column() {
    let Some((dir, _)) = reference() else {
        return;
    };
    let (r, c) = pair(dir.path(), "big");
    let out = dir.path().join("report");
    let o = run([
        "drift",
        "--reference",
        s(&r),
        "--current",
        s(&c),
        "--report",
        s(&out),
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("drift.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 6, "one chart per column");
    for name in ["shift", "same", "ties", "colour", "answer", "flag"] {
        assert!(html.contains(&format!("<title>{name}")), "{name}");
    }
    assert!(html.contains("<title>shift (drift)</title>"));
    let saved: Value =
        serde_json::from_slice(&std::fs::read(out.join("drift.json")).unwrap()).unwrap();
    assert_eq!(saved, json(&o));
}

/// Past the exact limit (forced small through the library option) a column is sketched: the
/// report says so, and the exact statistics lie within the stated bounds.
#[test]
fn sketched_columns_state_a_bound_that_holds() {
    let Some((dir, expected)) = reference() else {
        return;
    };
    let (r, c) = pair(dir.path(), "big");
    let options = DriftOptions {
        exact_values: 500,
        sketch_bins: 64,
        threads: Some(2),
        ..DriftOptions::new(&r, &c)
    };
    let report = drift::drift(&options).unwrap();
    let exact = drift::drift(&DriftOptions::new(&r, &c)).unwrap();
    for (col, ex) in report.columns.iter().zip(&exact.columns) {
        let want = &expected["pairs"]["big"]["columns"][&col.column];
        if want["kind"] != "numeric" {
            continue;
        }
        assert!(!col.reference.exact && !col.current.exact, "{}", col.column);
        assert!(col.reference.sketch_bin_mass > 0.0);
        let (ks, ks_exact) = (col.ks.as_ref().unwrap(), ex.ks.as_ref().unwrap());
        let d = want["ks_statistic"].as_f64().unwrap();
        assert_eq!(ks_exact.statistic, d);
        assert!(
            (ks.statistic - d).abs() <= ks.statistic_error + 1e-15,
            "{}: sketch D {} ± {}, exact {d}",
            col.column,
            ks.statistic,
            ks.statistic_error
        );
        // The bound is tight enough to be useful: about two bins' mass.
        assert!(
            ks.statistic_error
                <= col.reference.sketch_bin_mass + col.current.sketch_bin_mass + 1e-12,
            "{}: error {}",
            col.column,
            ks.statistic_error
        );
        let p = want["p_value"].as_f64().unwrap();
        assert!(
            ks.p_value_range[0] <= p * (1.0 + 1e-9) && p <= ks.p_value_range[1] * (1.0 + 1e-9),
            "{}: p {p} outside {:?}",
            col.column,
            ks.p_value_range
        );
        let w = want["wasserstein"].as_f64().unwrap();
        let sw = col.wasserstein.unwrap();
        assert!(
            (sw.value - w).abs() <= sw.error * (1.0 + 1e-9) + 1e-12,
            "{}: sketch W1 {} ± {}, exact {w}",
            col.column,
            sw.value,
            sw.error
        );
    }
    // The sketch is the same whatever the threads (merged in file order).
    let one = drift::drift(&DriftOptions {
        threads: Some(1),
        ..options.clone()
    })
    .unwrap();
    assert_eq!(one.columns, report.columns);
}
