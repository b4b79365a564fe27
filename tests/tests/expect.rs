//! End-to-end tests of `mlprobe expect` and `mlprobe profile`: every expectation type on data
//! with missing values, out-of-range values and a missing column, each count checked against a
//! direct computation over the same file.

use mlprobe_tests::{code, data, json, run, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A file with missing values (`a` every 13th row, `b` every 17th), out-of-range values and an
/// out-of-set class (`b = 7`).
fn write_data(dir: &Path) -> PathBuf {
    let mut text = String::from("a,b,c\n");
    for i in 0..500u32 {
        let a = if i % 13 == 5 {
            String::new()
        } else {
            format!("{}", f64::from(i * 37 % 101) / 10.0 - 2.0)
        };
        let b = if i % 17 == 3 {
            "NaN".to_string()
        } else if i == 250 {
            "7".to_string()
        } else {
            format!("{}", i % 4)
        };
        let c = f64::from(i) * 0.5;
        text.push_str(&format!("{a},{b},{c}\n"));
    }
    let path = dir.join("d.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// The file's columns read directly (NaN for missing).
fn columns(path: &Path) -> Vec<Vec<f64>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let width = lines.next().unwrap().split(',').count();
    let mut cols = vec![Vec::new(); width];
    for line in lines {
        for (i, cell) in line.split(',').enumerate() {
            cols[i].push(cell.parse::<f64>().unwrap_or(f64::NAN));
        }
    }
    cols
}

const SUITE: &str = r#"
name = "e2e"

[[expectations]]
type = "expect_table_row_count_to_be_between"
min_value = 400
max_value = 600

[[expectations]]
type = "expect_table_columns_to_match_ordered_list"
column_list = ["a", "b", "c"]

[[expectations]]
type = "expect_column_to_exist"
column = "a"

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "a"
mostly = 0.9

[[expectations]]
type = "expect_column_values_to_be_between"
column = "a"
min_value = 0.0
max_value = 5.0
mostly = 0.5

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "b"
value_set = [0, 1, 2, 3]

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "a"
min_value = 2.0
max_value = 4.0

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "a"
min_value = 0.0
max_value = 1.0

[[expectations]]
type = "expect_column_min_to_be_between"
column = "a"
min_value = -2.0
max_value = -1.0

[[expectations]]
type = "expect_column_max_to_be_between"
column = "a"
max_value = 7.0

[[expectations]]
type = "expect_column_quantile_values_to_be_between"
column = "c"
quantile_ranges = { quantiles = [0.1, 0.5, 0.9], value_ranges = [[-inf, 30.0], [120.0, 130.0], [200.0, inf]] }

[[expectations]]
type = "expect_column_psi_to_be_less_than"
column = "c"
partition_object = { bins = [0.0, 50.0, 100.0, 250.0], weights = [0.25, 0.25, 0.5] }
threshold = 0.1

[[expectations]]
type = "expect_column_to_exist"
column = "zzz"

[[expectations]]
type = "expect_column_values_to_be_between"
column = "zzz"
min_value = 0

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "zzz"
min_value = 0

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "zzz"

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "zzz"
value_set = [1]

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "zzz"
min_value = 0

[[expectations]]
type = "expect_column_min_to_be_between"
column = "zzz"
min_value = 0

[[expectations]]
type = "expect_column_max_to_be_between"
column = "zzz"
min_value = 0

[[expectations]]
type = "expect_column_quantile_values_to_be_between"
column = "zzz"
quantile_ranges = { quantiles = [0.5], value_ranges = [[-inf, inf]] }

[[expectations]]
type = "expect_column_psi_to_be_less_than"
column = "zzz"
partition_object = { bins = [0.0, 1.0], weights = [1.0] }
"#;

/// Expectations in [`SUITE`].
const EXPECTATIONS: u64 = 22;

fn setup() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = write_data(dir.path());
    let suite = dir.path().join("s.toml");
    std::fs::write(&suite, SUITE).unwrap();
    (dir, data, suite)
}

fn run_json(suite: &Path, data: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "expect".to_string(),
        "--suite".into(),
        suite.display().to_string(),
        "--data".into(),
        data.display().to_string(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = run(&args);
    (code(&o), json(&o))
}

fn result<'a>(doc: &'a Value, ty: &str, column: Option<&str>) -> &'a Value {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["expectation_type"] == ty && r["column"].as_str() == column)
        .unwrap_or_else(|| panic!("no result {ty} {column:?}"))
}

fn close(a: &Value, b: f64, tol: f64) -> bool {
    (a.as_f64().unwrap() - b).abs() <= tol
}

#[test]
fn every_expectation_type_counts_like_a_direct_computation() {
    let (_dir, data, suite) = setup();
    let (rc, doc) = run_json(&suite, &data, &[]);
    assert_eq!(rc, 1, "some expectations fail: exit 1");
    let cols = columns(&data);
    let (a, b, c) = (&cols[0], &cols[1], &cols[2]);
    let present = |v: &[f64]| {
        v.iter()
            .copied()
            .filter(|x| !x.is_nan())
            .collect::<Vec<_>>()
    };
    let (pa, pc) = (present(a), present(c));
    let n = a.len() as u64;

    assert_eq!(doc["statistics"]["evaluated"], EXPECTATIONS);
    let r = result(&doc, "expect_table_row_count_to_be_between", None);
    assert_eq!(r["result"]["observed_value"], n);
    assert_eq!(r["success"], true);
    let r = result(&doc, "expect_table_columns_to_match_ordered_list", None);
    assert_eq!(r["success"], true);
    assert_eq!(
        result(&doc, "expect_column_to_exist", Some("a"))["success"],
        true
    );

    // not null: unexpected = missing, over all values.
    let missing_a = a.iter().filter(|x| x.is_nan()).count() as u64;
    let r = result(&doc, "expect_column_values_to_not_be_null", Some("a"));
    assert_eq!(r["result"]["element_count"], n);
    assert_eq!(r["result"]["unexpected_count"], missing_a);
    assert!(close(
        &r["result"]["unexpected_percent"],
        100.0 * missing_a as f64 / n as f64,
        1e-9
    ));
    assert_eq!(
        r["result"]["partial_unexpected_list"]
            .as_array()
            .unwrap()
            .len() as u64,
        missing_a.min(20)
    );
    assert_eq!(r["success"], true, "{missing_a} of {n} missing, mostly 0.9");

    // between: over non-missing values, the first 20 unexpected in file order.
    let out: Vec<f64> = pa
        .iter()
        .copied()
        .filter(|x| !(0.0..=5.0).contains(x))
        .collect();
    let r = result(&doc, "expect_column_values_to_be_between", Some("a"));
    assert_eq!(r["result"]["element_count"], n);
    assert_eq!(r["result"]["missing_count"], missing_a);
    assert_eq!(r["result"]["unexpected_count"], out.len());
    assert!(close(
        &r["result"]["unexpected_percent"],
        100.0 * out.len() as f64 / pa.len() as f64,
        1e-9
    ));
    let partial: Vec<f64> = r["result"]["partial_unexpected_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(partial, out[..20]);
    let pass_fraction = 1.0 - out.len() as f64 / pa.len() as f64;
    assert_eq!(r["success"], pass_fraction >= 0.5);

    // in set: the one 7 is unexpected; NaN cells are missing, not unexpected.
    let r = result(&doc, "expect_column_values_to_be_in_set", Some("b"));
    let missing_b = b.iter().filter(|x| x.is_nan()).count() as u64;
    assert_eq!(r["result"]["missing_count"], missing_b);
    assert_eq!(r["result"]["unexpected_count"], 1);
    assert_eq!(
        r["result"]["partial_unexpected_list"],
        serde_json::json!([7.0])
    );
    assert_eq!(r["success"], false);

    // Aggregates.
    let mean = pa.iter().sum::<f64>() / pa.len() as f64;
    let var = pa.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (pa.len() - 1) as f64;
    let r = result(&doc, "expect_column_mean_to_be_between", Some("a"));
    assert!(close(&r["result"]["observed_value"], mean, 1e-9));
    assert_eq!(r["success"], (2.0..=4.0).contains(&mean));
    let r = result(&doc, "expect_column_stdev_to_be_between", Some("a"));
    assert!(close(&r["result"]["observed_value"], var.sqrt(), 1e-9));
    assert_eq!(r["success"], false, "stdev {} > 1", var.sqrt());
    let min = pa.iter().copied().fold(f64::INFINITY, f64::min);
    let max = pa.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let r = result(&doc, "expect_column_min_to_be_between", Some("a"));
    assert_eq!(r["result"]["observed_value"], min);
    assert_eq!(r["success"], true);
    let r = result(&doc, "expect_column_max_to_be_between", Some("a"));
    assert_eq!(r["result"]["observed_value"], max);
    assert_eq!(r["success"], max <= 7.0);

    // Quantiles: numpy "nearest" rank, within the sketch's stated relative error 1/128.
    let mut sorted = pc.clone();
    sorted.sort_by(f64::total_cmp);
    let r = result(
        &doc,
        "expect_column_quantile_values_to_be_between",
        Some("c"),
    );
    let values = r["result"]["observed_value"]["values"].as_array().unwrap();
    for (q, v) in [0.1, 0.5, 0.9].iter().zip(values) {
        let rank = (q * (sorted.len() - 1) as f64).round_ties_even() as usize;
        let exact = sorted[rank];
        assert!(close(v, exact, exact.abs() / 128.0), "q{q}: {v} vs {exact}");
    }
    assert_eq!(r["success"], true);

    // PSI on the suite's bins, by hand.
    let edges = [0.0, 50.0, 100.0, 250.0];
    let weights = [0.25, 0.25, 0.5];
    let mut counts = [0u64; 3];
    for &x in &pc {
        let bin = edges[1..3].iter().filter(|&&e| e <= x).count();
        counts[bin] += 1;
    }
    let psi: f64 = counts
        .iter()
        .zip(weights)
        .map(|(&k, e)| {
            let a = (k as f64 / pc.len() as f64).max(1e-4);
            (a - e) * (a / e).ln()
        })
        .sum();
    let r = result(&doc, "expect_column_psi_to_be_less_than", Some("c"));
    assert!(close(&r["result"]["observed_value"], psi, 1e-12));
    assert_eq!(r["success"], psi < 0.1, "psi {psi}");

    // A missing column fails its expectations and the run goes on.
    assert_eq!(
        result(&doc, "expect_column_to_exist", Some("zzz"))["success"],
        false
    );
    for ty in [
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_mean_to_be_between",
        "expect_column_stdev_to_be_between",
        "expect_column_min_to_be_between",
        "expect_column_max_to_be_between",
        "expect_column_quantile_values_to_be_between",
        "expect_column_psi_to_be_less_than",
    ] {
        let r = result(&doc, ty, Some("zzz"));
        assert_eq!(r["result"], serde_json::json!({}), "{ty}");
        assert_eq!(r["success"], false);
        let m = r["exception_info"]["exception_message"].as_str().unwrap();
        assert!(m.contains("column `zzz` is not in the data"), "{m}");
    }
    let ok = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["success"] == true)
        .count();
    assert_eq!(doc["statistics"]["successful"], ok);
    assert_eq!(doc["statistics"]["unsuccessful"], EXPECTATIONS - ok as u64);
    assert_eq!(doc["success"], false);
}

#[test]
fn one_thread_and_many_give_the_same_results() {
    let (_dir, data, suite) = setup();
    let (_, mut one) = run_json(&suite, &data, &["--threads", "1"]);
    let (_, mut four) = run_json(&suite, &data, &["--threads", "4"]);
    for doc in [&mut one, &mut four] {
        doc["seconds"] = Value::Null;
        doc["peak_rss_bytes"] = Value::Null;
    }
    assert_eq!(one, four);
}

#[test]
fn human_table_and_junit() {
    let (dir, data, suite) = setup();
    let junit = dir.path().join("expect.xml");
    let o = run([
        "expect",
        "--suite",
        suite.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    let text = stdout(&o);
    assert!(
        text.contains("FAIL  expect_column_values_to_be_in_set"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{EXPECTATIONS} expectations:")),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len() as u64, EXPECTATIONS);
    let failed = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .count();
    let (_, j) = run_json(&suite, &data, &[]);
    assert_eq!(
        failed as u64,
        j["statistics"]["unsuccessful"].as_u64().unwrap()
    );
}

#[test]
fn bundled_wine_suite_passes_on_the_wine_data() {
    let o = run([
        "expect",
        "--suite",
        data("wine.suite.toml").to_str().unwrap(),
        "--data",
        data("wine.csv").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stdout(&o));
    let doc = json(&o);
    assert_eq!(doc["success"], true);
    assert_eq!(doc["rows"], 178);
}

#[test]
fn profile_writes_a_suite_that_passes_on_its_data() {
    let (dir, data, _) = setup();
    let out = dir.path().join("p.toml");
    let o = run([
        "profile",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let summary = json(&o);
    assert_eq!(summary["rows"], 500);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("expect_column_psi_to_be_less_than"));
    assert!(
        text.contains("value_set = [0.0, 1.0, 2.0, 3.0, 7.0]"),
        "{text}"
    );
    assert!(
        text.contains("mostly = 0.92"),
        "a: 39 of 500 missing\n{text}"
    );
    let (rc, doc) = run_json(&out, &data, &[]);
    assert_eq!(rc, 0, "{doc:#}");
}

#[test]
fn bad_suites_are_input_errors_naming_the_line() {
    let (dir, data, _) = setup();
    let cases = [
        (
            "[[expectations]]\ntype = \"expect_column_values_to_be_nice\"\ncolumn = \"a\"\n",
            ":2:8: unknown expectation type `expect_column_values_to_be_nice`",
        ),
        (
            "[[expectations]]\ntype = \"expect_column_values_to_be_in_set\"\ncolumn = \"b\"\n",
            ":2:8: `expect_column_values_to_be_in_set` needs the parameter `value_set`",
        ),
        (
            "[[expectations]]\ntype = \"expect_column_to_exist\"\ncolumn = \"a\"\nmostly = 0.5\n",
            ":4:1: `expect_column_to_exist` has no parameter `mostly`",
        ),
        (
            "\n[[expectations]]\ntype = \"expect_column_mean_to_be_between\"\ncolumn = \"a\"\nmin_value = 3\nmax_value = 1\n",
            ":5:13: min_value 3 is greater than max_value 1",
        ),
        (
            "[[expectations]]\ntype = \"expect_column_values_to_not_be_null\"\ncolumn = \"a\"\nmostly = -0.1\n",
            ":4:10: mostly = -0.1: mostly must be within [0, 1]",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let suite = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&suite, text).unwrap();
        let err = input_error(&suite, &data);
        assert!(
            err.contains(&format!("bad{i}.toml{want}")),
            "{err} should contain {want}"
        );
    }
}

/// Text where numbers are expected is what Great Expectations makes of it (pandas reads the
/// column as strings; comparing them with numbers raises), with the first such cell located.
#[test]
fn text_in_a_numeric_column_raises_naming_its_first_cell() {
    let (dir, _, suite) = setup();
    let data = dir.path().join("bad.csv");
    std::fs::write(&data, "a,b,c\n1,2,3\n4,oops,6\n7,,8\n").unwrap();
    let (rc, doc) = run_json(&suite, &data, &[]);
    assert_eq!(rc, 1);
    let r = result(&doc, "expect_column_values_to_be_in_set", Some("b"));
    assert_eq!(r["success"], false);
    let m = r["exception_info"]["exception_message"].as_str().unwrap();
    assert!(
        m.contains("(1 of 2 values are not numbers, the first `oops` on line 3, column 2)"),
        "{m}"
    );
    let r = result(&doc, "expect_column_mean_to_be_between", Some("a"));
    assert_eq!(r["result"]["observed_value"], 4.0, "{r}");
    // A check that reads no numbers sees the text as a present value (formats.rs has the
    // same in a Parquet column of strings): one of three cells missing.
    let nulls = dir.path().join("nulls.toml");
    std::fs::write(
        &nulls,
        "[[expectations]]\ntype = \"expect_column_values_to_not_be_null\"\ncolumn = \"b\"\n",
    )
    .unwrap();
    let (rc, doc) = run_json(&nulls, &data, &[]);
    assert_eq!(rc, 1);
    let r = result(&doc, "expect_column_values_to_not_be_null", Some("b"));
    assert_eq!(r["result"]["unexpected_count"], 1, "{r}");
    assert_eq!(r["result"]["element_count"], 3, "{r}");
}

/// Runs `mlprobe expect` on data it must refuse: exit 2, nothing on stdout; returns stderr.
fn input_error(suite: &Path, data: &Path) -> String {
    let o = run([
        "expect",
        "--suite",
        suite.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    stderr(&o)
}

#[test]
fn an_empty_batch_is_judged_not_rejected() {
    let (dir, _, suite) = setup();
    let data = dir.path().join("empty.csv");
    std::fs::write(&data, "a,b,c\n").unwrap();
    let (rc, doc) = run_json(&suite, &data, &[]);
    assert_eq!(rc, 1);
    let r = result(&doc, "expect_table_row_count_to_be_between", None);
    assert_eq!(
        (&r["success"], &r["result"]["observed_value"]),
        (&Value::Bool(false), &Value::from(0))
    );
    let r = result(&doc, "expect_column_mean_to_be_between", Some("a"));
    assert_eq!(r["result"]["observed_value"], Value::Null);
    assert_eq!(r["success"], false);
    let r = result(&doc, "expect_column_values_to_be_between", Some("a"));
    assert_eq!(r["result"]["unexpected_percent"], Value::Null);
    assert_eq!(r["success"], true, "vacuously, as in Great Expectations");
    let o = run(["profile", "--data", data.to_str().unwrap(), "--out", "-"]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("empty.csv:2:1: no data rows"),
        "{}",
        stderr(&o)
    );
}

/// `doc` without what differs between two runs on the same rows (time, memory, the file).
fn comparable(mut doc: Value) -> Value {
    for k in ["seconds", "peak_rss_bytes", "data"] {
        doc[k] = Value::Null;
    }
    doc
}

#[test]
fn rows_in_memory_are_judged_as_mlprobe_expect_judges_them_written_as_csv() {
    use mlprobe::data::{self, Labels};
    let dir = tempfile::tempdir().unwrap();
    let wine = data::load(&data("wine.csv"), Labels::Required("label")).unwrap();
    let suite = mlprobe::suite::Suite::load(&data("wine.suite.toml")).unwrap();
    let mut damaged = wine.clone();
    for (i, v) in damaged.features.iter_mut().enumerate() {
        match i % 7 {
            0 => *v = f32::NAN,
            1 => *v *= 3.3,
            2 => *v = -*v,
            3 => *v = 0.1,
            _ => {}
        }
    }
    for rows in [&wine, &damaged] {
        let in_memory = mlprobe::expect::validate_dataset(&suite, &wine, &rows.features).unwrap();
        let path = dir.path().join("rows.csv");
        rows.write_csv(&path, 0..rows.rows()).unwrap();
        let (rc, doc) = run_json(&data("wine.suite.toml"), &path, &[]);
        assert_eq!(rc, if in_memory.success { 0 } else { 1 });
        assert_eq!(
            comparable(serde_json::to_value(&in_memory).unwrap()),
            comparable(doc)
        );
    }
}

#[test]
fn quoted_fields_and_crlf_read_as_plain_ones() {
    let (dir, data, suite) = setup();
    let plain = std::fs::read_to_string(&data).unwrap();
    // Every field quoted (the header's too, one name with a doubled quote), CRLF endings.
    let quoted: String = plain
        .lines()
        .map(|l| {
            let cells: Vec<String> = l.split(',').map(|c| format!("\"{c}\"")).collect();
            cells.join(",") + "\r\n"
        })
        .collect();
    let path = dir.path().join("quoted.csv");
    std::fs::write(&path, quoted).unwrap();
    let (_, a) = run_json(&suite, &data, &[]);
    let (_, b) = run_json(&suite, &path, &["--threads", "2"]);
    assert_eq!(comparable(a), comparable(b));
    // A quoted field may hold a newline (RFC 4180): in a numeric column it is a cell that is
    // not a number, at the line its record starts on (robust_inputs.rs has the rest).
    let bad = dir.path().join("multiline.csv");
    std::fs::write(&bad, "a,b,c\n1,2,3\n4,\"5\n6\",7\n").unwrap();
    let (_, doc) = run_json(&suite, &bad, &[]);
    let r = result(&doc, "expect_column_values_to_be_in_set", Some("b"));
    let m = r["exception_info"]["exception_message"].as_str().unwrap();
    assert!(m.contains("the first `5\\n6` on line 3, column 2"), "{m}");
}

#[test]
fn profile_never_writes_over_its_data_and_writes_atomically() {
    let (dir, data, _) = setup();
    let before = std::fs::read(&data).unwrap();
    let profile = |out: &Path| {
        run([
            "profile",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = profile(&data);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--out"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&data).unwrap(), before);
    // Over an existing suite: replaced whole, no temporary file left behind.
    let out = dir.path().join("p.toml");
    std::fs::write(&out, "old").unwrap();
    let o = profile(&out);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("# Generated")
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}"); // d.csv, s.toml, p.toml
}

/// Epoch timestamps, where the mean dwarfs the spread (issue #14, finding 3: the stdev was 1e-8
/// off at mean/sd = 1e10). `t` holds seconds with microseconds within one second (mean/sd ≈
/// 5.9e9), `s` whole seconds within 100 s (mean/sd ≈ 5.9e7); 300,000 rows (8 MB) so that two
/// threads merge several chunk states. The expected means and standard deviations are Python's
/// exact `statistics.mean` / `statistics.stdev` of the same floats:
/// `python3 tests/reference/moments.py csv` (its `csv_row` writes the same cells).
#[test]
fn stdev_of_epoch_timestamps_matches_exact_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("epoch.csv");
    let mut text = String::from("t,s\n");
    for i in 0..300_000u64 {
        text.push_str(&format!(
            "1700000000.{:06},17000000{:02}\n",
            i * 104_729 % 1_000_000,
            i * 7919 % 100
        ));
    }
    std::fs::write(&data, text).unwrap();
    let suite = dir.path().join("s.toml");
    let mut toml = String::from("name = \"epoch\"\n");
    for column in ["t", "s"] {
        for ty in ["mean", "stdev"] {
            toml.push_str(&format!(
                "\n[[expectations]]\ntype = \"expect_column_{ty}_to_be_between\"\n\
                 column = \"{column}\"\nmin_value = 0.0\n"
            ));
        }
    }
    std::fs::write(&suite, toml).unwrap();
    for threads in ["1", "2"] {
        let (rc, doc) = run_json(&suite, &data, &["--threads", threads]);
        assert_eq!(rc, 0, "{doc}");
        for (column, mean, stdev) in [
            ("t", 1700000000.5000756, 0.28867542588060885),
            ("s", 1700000049.5, 28.86611815795914),
        ] {
            let observed = |ty: &str| {
                let r = result(&doc, ty, Some(column));
                r["result"]["observed_value"].as_f64().unwrap()
            };
            let m = observed("expect_column_mean_to_be_between");
            assert!((m - mean).abs() <= 1e-15 * mean, "{column}: mean {m}");
            let s = observed("expect_column_stdev_to_be_between");
            assert!(
                ((s - stdev) / stdev).abs() <= 1e-12,
                "{column} ({threads} threads): stdev {s}, exact {stdev}"
            );
        }
    }
}

/// Issue 15: `profile` on a file with `inf` or `1e400` ended with exit 3 "internal error" and
/// no location; it is an input error at the cell.
#[test]
fn profile_names_an_infinite_cell() {
    let dir = tempfile::tempdir().unwrap();
    for (cell, line) in [("inf", 3), ("1e400", 3), ("-inf", 3)] {
        let csv = dir.path().join("inf.csv");
        std::fs::write(&csv, format!("a,b\n1,2\n{cell},3\n4,5\n")).unwrap();
        let out = dir.path().join("suite.toml");
        let o = mlprobe_tests::run([
            "profile",
            "--data",
            csv.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            mlprobe_tests::code(&o),
            2,
            "{cell}: {}",
            mlprobe_tests::stderr(&o)
        );
        let want = format!("inf.csv:{line}:1:");
        assert!(
            mlprobe_tests::stderr(&o).contains(&want),
            "{cell}: {}",
            mlprobe_tests::stderr(&o)
        );
        assert!(!out.exists(), "{cell}: a suite was written");
    }
}

/// Issue 15: an empty suite passed every batch; it is an input error naming the suite.
#[test]
fn an_empty_suite_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("empty.toml");
    std::fs::write(&suite, "name = \"empty\"\n").unwrap();
    let o = mlprobe_tests::run([
        "expect",
        "--suite",
        suite.to_str().unwrap(),
        "--data",
        mlprobe_tests::data("wine.csv").to_str().unwrap(),
    ]);
    assert_eq!(mlprobe_tests::code(&o), 2, "{}", mlprobe_tests::stderr(&o));
    assert!(mlprobe_tests::stderr(&o).contains("empty.toml: the suite has no [[expectations]]"));
}
