//! Text expectations against pandas: tests/reference/text_expectations.py writes a 150,000-row
//! table of id, city, code, flag and amount columns (nulls, commas and quotes in cells, `NA`
//! markers), a suite of every text expectation on it, and the result fields Great Expectations
//! computes for each on pandas 3.1 (and scipy 1.17's `entropy` for the KL divergence). Every
//! field must match, on the CSV file, its gzip and zstd copies and pyarrow's Parquet file.

use mlprobe_tests::{code, json, python, root, run, stderr};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Command;

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) if !(a.is_u64() && b.is_u64()) => {
            (x - y).abs() <= 1e-12 * y.abs().max(1e-300)
        }
        _ => a == b,
    }
}

#[test]
fn text_expectations_match_pandas_in_every_format() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(python)
        .arg(root().join("tests/reference/text_expectations.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read(dir.path().join("data.csv")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&csv).unwrap();
    std::fs::write(dir.path().join("data.csv.gz"), gz.finish().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("data.csv.zst"),
        zstd::encode_all(csv.as_slice(), 3).unwrap(),
    )
    .unwrap();
    let expected: Vec<Value> =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap()).unwrap();
    let suite = dir.path().join("suite.toml");
    let mut first: Option<Value> = None;
    for name in ["data.csv", "data.csv.gz", "data.csv.zst", "data.parquet"] {
        let data = dir.path().join(name);
        for threads in ["1", "2"] {
            let o = run([
                "expect".as_ref(),
                "--suite".as_ref(),
                suite.as_os_str(),
                "--data".as_ref(),
                data.as_os_str(),
                "--threads".as_ref(),
                threads.as_ref(),
                "--json".as_ref(),
            ]);
            assert_eq!(code(&o), 1, "{name}: {}", stderr(&o));
            let got = json(&o);
            check(&got, &expected, name);
            // Every format and thread count gives the same document.
            let mut results = got["results"].clone();
            for r in results.as_array_mut().unwrap() {
                r.as_object_mut().unwrap().remove("suite_line");
            }
            match &first {
                None => first = Some(results),
                Some(f) => assert_eq!(&results, f, "{name} on {threads} threads"),
            }
        }
    }
    only_the_named_column(dir.path());
}

/// A suite about one numeric column reads only it: the text, boolean and id columns beside it
/// are not parsed from the CSV file nor decoded from the Parquet file.
fn only_the_named_column(dir: &Path) {
    let suite = dir.join("amount.toml");
    std::fs::write(
        &suite,
        "[[expectations]]\ntype = \"expect_column_values_to_be_between\"\ncolumn = \"amount\"\n\
         min_value = -100\nmax_value = 200\n",
    )
    .unwrap();
    for name in ["data.csv", "data.parquet"] {
        let data = dir.join(name);
        let o = run([
            "expect".as_ref(),
            "--suite".as_ref(),
            suite.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
            "--json".as_ref(),
        ]);
        assert_eq!(code(&o), 0, "{name}: {}", stderr(&o));
        let doc = json(&o);
        assert_eq!(doc["rows"], 150_000);
        assert_eq!(doc["results"][0]["result"]["element_count"], 150_000);
    }
}

fn check(got: &Value, expected: &[Value], name: &str) {
    let results = got["results"].as_array().unwrap();
    assert_eq!(results.len(), expected.len());
    for (r, want) in results.iter().zip(expected) {
        let what = format!("{name}: {} on {}", want["expectation_type"], want["column"]);
        assert_eq!(r["expectation_type"], want["expectation_type"], "{what}");
        assert_eq!(r["success"], want["success"], "{what}: {r}");
        if want.get("raised_exception").is_some() {
            assert_eq!(r["exception_info"]["raised_exception"], true, "{what}");
            continue;
        }
        let fields = want.as_object().unwrap();
        for (k, v) in fields {
            if ["expectation_type", "column", "success"].contains(&k.as_str()) {
                continue;
            }
            let g = &r["result"][k];
            if k == "partial_unexpected_list"
                && want["expectation_type"] == "expect_column_values_to_be_unique"
            {
                // The duplicated values, in order of first appearance (DESIGN.md): the same
                // multiset as the first rows pandas flags when there are at most 20.
                let mut a: Vec<String> = g
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect();
                let mut b: Vec<String> = v
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect();
                a.sort();
                b.sort();
                assert_eq!(a, b, "{what}");
                continue;
            }
            assert!(close(g, v), "{what}: {k} is {g}, pandas says {v}");
        }
    }
}

/// Suite errors name the line: a regex that does not compile, an unknown dtype, weights that
/// do not sum to 1.
#[test]
fn bad_text_parameters_are_located_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    std::fs::write(&data, "a\nx\n").unwrap();
    for (body, line, message) in [
        ("regex = \"(\"", 5, "`regex` is not a regular expression"),
        ("type_ = \"int8\"", 5, "is not a type mlprobe infers"),
        (
            "partition_object = { values = [\"x\"], weights = [0.5] }\nthreshold = 0.1",
            5,
            "sum to 1",
        ),
    ] {
        let ty = match line {
            _ if body.starts_with("regex") => "expect_column_values_to_match_regex",
            _ if body.starts_with("type_") => "expect_column_values_to_be_of_type",
            _ => "expect_column_kl_divergence_to_be_less_than",
        };
        let suite = dir.path().join("s.toml");
        std::fs::write(
            &suite,
            format!("[[expectations]]\ntype = \"{ty}\"\ncolumn = \"a\"\n\n{body}\n"),
        )
        .unwrap();
        let o = run([
            "expect".as_ref(),
            "--suite".as_ref(),
            suite.as_os_str(),
            "--data".as_ref(),
            data.as_os_str(),
        ]);
        assert_eq!(code(&o), 2, "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(&format!("s.toml:{line}:")), "{e}");
        assert!(e.contains(message), "{e}");
    }
}
