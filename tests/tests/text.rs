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

/// Parquet columns of strings read as their dictionaries (each distinct value judged once,
/// each row counted by its key) give what the row-by-row reading of the same table as CSV
/// gives: counts, the first unexpected values in row order, the distinct values in order of
/// first appearance, the first text cell's line, numbers among the strings. The table has three
/// row groups of 15,000 rows (two batches and a part each) written by the parquet crate:
/// strings of numbers with `NA` and nulls, categories as pandas writes them (a dictionary with
/// `int8` keys), a boolean column with nulls, and codes whose dictionary overflows into plain
/// pages (read as strings).
#[test]
fn dictionary_columns_give_what_their_csv_text_gives() {
    use arrow_array::types::Int8Type;
    use arrow_array::{ArrayRef, BooleanArray, DictionaryArray, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use rand::{RngExt, SeedableRng};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let rows = 45_000;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let (mut n, mut cat, mut flag, mut codes) = (vec![], vec![], vec![], vec![]);
    for r in 0..rows {
        n.push(match rng.random_range(0..50u32) {
            0 => None,
            1 => Some("NA".to_string()),
            _ => Some(rng.random_range(0..60u32).to_string()),
        });
        cat.push(match rng.random_range(0..400u32) {
            0 => None,
            1 => Some("Atlantis"),
            // A number among the categories, late: the first text cell is the first row's.
            2 if r > 20_000 => Some("42"),
            k => Some(["red", "green", "blue", "cyan"][k as usize % 4]),
        });
        flag.push((r % 97 != 5).then(|| rng.random_range(0..3u32) == 0));
        codes.push(format!("C{:05}", rng.random_range(0..30_000u32)));
    }
    let cats: DictionaryArray<Int8Type> = cat.iter().copied().collect();
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("n", Arc::new(StringArray::from(n.clone()))),
        ("cat", Arc::new(cats)),
        ("flag", Arc::new(BooleanArray::from(flag.clone()))),
        ("code", Arc::new(StringArray::from(codes.clone()))),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let parquet = dir.path().join("t.parquet");
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(15_000))
        .set_dictionary_page_size_limit(16 << 10)
        .build();
    let mut w = ArrowWriter::try_new(
        std::fs::File::create(&parquet).unwrap(),
        batch.schema(),
        Some(props),
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let mut csv = String::from("n,cat,flag,code\n");
    for r in 0..rows {
        csv += &format!(
            "{},{},{},{}\n",
            n[r].as_deref().unwrap_or(""),
            cat[r].unwrap_or(""),
            flag[r].map_or(String::new(), |b| b.to_string()),
            codes[r]
        );
    }
    let csv_path = dir.path().join("t.csv");
    std::fs::write(&csv_path, csv).unwrap();
    let suite = dir.path().join("s.toml");
    std::fs::write(&suite, DICTIONARY_SUITE).unwrap();
    let mut first: Option<Value> = None;
    for data in [&csv_path, &parquet] {
        for threads in ["1", "2"] {
            let o = run([
                "expect".as_ref(),
                "--suite".as_ref(),
                suite.as_os_str(),
                "--data".as_ref(),
                data.as_os_str(),
                "--json".as_ref(),
                "--threads".as_ref(),
                threads.as_ref(),
            ]);
            assert!(code(&o) <= 1, "{}", stderr(&o));
            let results = json(&o)["results"].clone();
            match &first {
                None => first = Some(results),
                Some(f) => {
                    for (a, b) in results
                        .as_array()
                        .unwrap()
                        .iter()
                        .zip(f.as_array().unwrap())
                    {
                        let what = format!("{} on {threads} threads: {}", data.display(), b);
                        assert_eq!(a["success"], b["success"], "{what}");
                        assert_eq!(a["exception_info"], b["exception_info"], "{what}");
                        for (k, v) in b["result"].as_object().unwrap() {
                            assert!(
                                close(&a["result"][k], v),
                                "{what}: {k} is {}",
                                a["result"][k]
                            );
                        }
                    }
                }
            }
        }
    }
    // What the table holds, so that the comparison above compares something.
    let f = first.unwrap();
    let r = |i: usize| &f[i]["result"];
    assert!(
        r(0)["unexpected_count"].as_u64().unwrap() > 1000,
        "{}",
        r(0)
    );
    assert!(r(2)["unexpected_count"].as_u64().unwrap() > 20, "{}", r(2));
    assert_eq!(r(2)["partial_unexpected_list"][0], "Atlantis", "{}", r(2));
    let m = f[4]["exception_info"]["exception_message"]
        .as_str()
        .unwrap();
    assert!(
        m.contains("the first `red` on line")
            || m.contains("the first `green` on line")
            || m.contains("the first `blue` on line")
            || m.contains("the first `cyan` on line"),
        "{m}"
    );
    assert_eq!(r(6)["observed_value"], "object", "{}", r(6));
    assert!(r(8)["unexpected_count"].as_u64().unwrap() > 100, "{}", r(8));
}

const DICTIONARY_SUITE: &str = r#"
[[expectations]]
type = "expect_column_values_to_be_between"
column = "n"
min_value = 0
max_value = 40
mostly = 0.5

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "n"
value_set = ["1", "2", "3", 4]
mostly = 0.01

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "cat"
value_set = ["red", "green", "blue", "cyan"]
mostly = 0.9

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "n"
min_value = 0
max_value = 100

[[expectations]]
type = "expect_column_max_to_be_between"
column = "cat"
max_value = 100

[[expectations]]
type = "expect_column_distinct_values_to_be_in_set"
column = "cat"
value_set = ["red", "green", "blue", "cyan"]

[[expectations]]
type = "expect_column_values_to_be_of_type"
column = "cat"
type_ = "str"

[[expectations]]
type = "expect_column_most_common_value_to_be_in_set"
column = "flag"
value_set = ["false"]

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "flag"
value_set = ["false"]
mostly = 0.5

[[expectations]]
type = "expect_column_unique_value_count_to_be_between"
column = "code"
min_value = 1

[[expectations]]
type = "expect_column_values_to_be_unique"
column = "code"
mostly = 0.1

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "flag"
mostly = 0.5

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "n"
min_value = 0
"#;
