//! Input formats wherever `--data` is taken: CSV, gzip- and zstd-compressed CSV, Parquet, and
//! `-` for stdin. The same table in every format gives the same suite (`profile`), the same
//! validation (`expect`) and the same metrics (`eval`); a file whose content is not what its
//! name says, a corrupt one, or one in a format mlprobe does not read is exit 2 saying what was
//! found.
//!
//! The table is the bundled wine data. The compressed copies are made here (flate2, zstd); the
//! Parquet files by pyarrow (tests/reference/make_parquet.py: as pandas, Spark and pyarrow
//! users have them, snappy with several row groups, zstd, gzip), whose float32 file's expected
//! extremes are numpy's float64 of its float32 values.

use mlprobe_tests::{code, data, json, python, root, run, stderr};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn wine() -> PathBuf {
    data("wine.csv")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// The CSV file gzip-compressed as two members (as `cat a.gz b.gz` makes): both are read.
fn gzip_two_members(bytes: &[u8]) -> Vec<u8> {
    let half = bytes.len() / 2;
    let mut out = gzip(&bytes[..half]);
    out.extend(gzip(&bytes[half..]));
    out
}

fn write(path: &Path, bytes: &[u8]) -> PathBuf {
    std::fs::write(path, bytes).unwrap();
    path.to_path_buf()
}

/// pyarrow's Parquet files of the wine table, in `dir`.
fn parquet_files(dir: &Path) -> Option<()> {
    let python = python()?;
    let o = Command::new(python)
        .arg(root().join("tests/reference/make_parquet.py"))
        .arg(wine())
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "make_parquet.py: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(())
}

/// Every copy of the wine table.
fn copies(dir: &Path) -> Vec<PathBuf> {
    let csv = std::fs::read(wine()).unwrap();
    let mut files = vec![
        wine(),
        write(&dir.join("wine.csv.gz"), &gzip_two_members(&csv)),
        write(
            &dir.join("wine.csv.zst"),
            &zstd::encode_all(csv.as_slice(), 3).unwrap(),
        ),
        // A name that says nothing: read as what it holds.
        write(&dir.join("wine.data"), &gzip(&csv)),
    ];
    if parquet_files(dir).is_some() {
        for name in ["table.parquet", "table.zstd.parquet", "table.gzip.parquet"] {
            files.push(dir.join(name));
        }
    }
    files
}

/// `mlprobe profile` of `data` into `out` (named `name`), which must succeed.
fn profile(data: &Path, out: &Path, name: Option<&str>) {
    let mut args = vec![
        "profile",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(name.iter().flat_map(|n| ["--name", *n]));
    let o = run(&args);
    assert_eq!(code(&o), 0, "{}: {}", data.display(), stderr(&o));
}

/// A suite as JSON (its comments, which name the data file, left out).
fn suite_json(path: &Path) -> Value {
    let suite: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::to_value(suite).unwrap()
}

/// Equal, but for floating-point numbers that differ by the order of a sum: a Parquet table is
/// summed row group by row group, a CSV file chunk by chunk (each merged in file order, so
/// neither depends on the number of threads), and the last digits of a mean or a standard
/// deviation follow (within 1e-10, relative above 1 and absolute below: 80,000 values summed
/// in another order move a mean near 0 by 1.4e-15). Every count, verdict, name and other
/// value must be equal.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.fract() != 0.0 || y.fract() != 0.0 => {
                (x - y).abs() <= 1e-10 * x.abs().max(y.abs()).max(1.0)
            }
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn the_same_table_in_every_format_gives_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let files = copies(dir.path());
    let suite = dir.path().join("wine.suite.toml");
    profile(&wine(), &suite, Some("wine"));
    let reference_suite = suite_json(&suite);
    let model = root().join("firmware/models/wine.mlpb");
    let mut first: Option<(Value, Value)> = None;
    for file in &files {
        let f = file.to_str().unwrap();
        // The suite a profile of this copy writes is the CSV's.
        let other = dir.path().join("other.suite.toml");
        profile(file, &other, Some("wine"));
        assert!(
            same(&suite_json(&other), &reference_suite),
            "{f}: the suite differs from the CSV's"
        );
        let o = run([
            "expect",
            "--suite",
            suite.to_str().unwrap(),
            "--data",
            f,
            "--json",
        ]);
        assert_eq!(code(&o), 0, "{f}: {}", stderr(&o));
        let report = json(&o);
        let expect = serde_json::json!({
            "rows": report["rows"],
            "statistics": report["statistics"],
            "results": report["results"],
        });
        let o = run([
            "eval",
            "--model",
            model.to_str().unwrap(),
            "--data",
            f,
            "--json",
            "--latency-samples",
            "1",
        ]);
        assert_eq!(code(&o), 0, "{f}: {}", stderr(&o));
        let report = json(&o);
        let eval = serde_json::json!({
            "n": report["n"],
            "accuracy": report["accuracy"],
            "f1_macro": report["f1_macro"],
            "per_class": report["per_class"],
            "confusion": report["confusion"],
        });
        assert_eq!(eval["n"], 178, "{f}");
        match &first {
            None => first = Some((expect, eval)),
            Some((e, v)) => {
                assert!(same(&expect, e), "{f}: expect differs from the CSV's");
                assert!(
                    same(&eval, v),
                    "{f}: eval differs from the CSV's:\n{eval}\n{v}"
                );
            }
        }
    }
}

/// `-` reads stdin, plain, compressed or Parquet; `profile` reads it once (it keeps a copy for
/// its second pass).
#[test]
fn stdin_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let files = copies(dir.path());
    let suite = dir.path().join("s.toml");
    profile(&wine(), &suite, Some("wine"));
    let reference = suite_json(&suite);
    for file in &files {
        let piped = |args: &[&str]| {
            let mut child = mlprobe_tests::mlprobe(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let bytes = std::fs::read(file).unwrap();
            let mut stdin = child.stdin.take().unwrap();
            let feeder = std::thread::spawn(move || {
                let _ = stdin.write_all(&bytes);
            });
            let o = child.wait_with_output().unwrap();
            feeder.join().unwrap();
            o
        };
        let o = piped(&[
            "expect",
            "--suite",
            suite.to_str().unwrap(),
            "--data",
            "-",
            "--json",
        ]);
        assert_eq!(code(&o), 0, "{}: {}", file.display(), stderr(&o));
        assert_eq!(json(&o)["success"], true, "{}", file.display());
        let out = dir.path().join("stdin.toml");
        let o = piped(&[
            "profile",
            "--data",
            "-",
            "--out",
            out.to_str().unwrap(),
            "--name",
            "wine",
        ]);
        assert_eq!(code(&o), 0, "{}: {}", file.display(), stderr(&o));
        assert!(
            same(&suite_json(&out), &reference),
            "{}: the suite differs from the CSV's",
            file.display()
        );
    }
}

/// Exit 2 naming the file and saying what was found.
fn refused(file: &Path, says: &[&str]) {
    let o = run(["profile", "--data", file.to_str().unwrap(), "--out", "-"]);
    assert_eq!(code(&o), 2, "{}: {}", file.display(), stderr(&o));
    let e = stderr(&o);
    assert!(e.contains(&file.display().to_string()), "{e}");
    for s in says {
        assert!(e.contains(s), "{}: `{s}` not in: {e}", file.display());
    }
}

#[test]
fn a_file_that_is_not_what_its_name_says_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = std::fs::read(wine()).unwrap();
    refused(
        &write(&d.join("text.csv.gz"), &csv),
        &[
            "the name says gzip-compressed CSV, but the file holds CSV text",
            "alcohol,malic",
        ],
    );
    refused(
        &write(&d.join("gz.csv"), &gzip(&csv)),
        &[
            "the name says CSV text, but the file holds gzip-compressed CSV",
            ".csv.gz",
        ],
    );
    refused(
        &write(&d.join("gz.csv.zst"), &gzip(&csv)),
        &["the name says zstd-compressed CSV, but the file holds gzip-compressed CSV"],
    );
    refused(
        &write(&d.join("text.parquet"), &csv),
        &["the name says a Parquet file, but the file holds CSV text"],
    );
    refused(
        &write(&d.join("x.csv.xz"), b"\xfd7zXZ\0\0\x04"),
        &["xz-compressed data", "xz -d"],
    );
    refused(
        &write(&d.join("x.zip"), b"PK\x03\x04\x14\0"),
        &["a ZIP archive", "unzip"],
    );
    // Cut short: the error says which compression.
    let gz = gzip(&csv);
    refused(
        &write(&d.join("cut.csv.gz"), &gz[..gz.len() / 2]),
        &["gzip data is corrupt or truncated"],
    );
    let zst = zstd::encode_all(csv.as_slice(), 3).unwrap();
    refused(
        &write(&d.join("cut.csv.zst"), &zst[..zst.len() / 2]),
        &["zstd data is corrupt or truncated"],
    );
    let mut bad = gz.clone();
    bad[20] ^= 0xff;
    bad[21] ^= 0xff;
    refused(
        &write(&d.join("bad.csv.gz"), &bad),
        &["gzip data is corrupt"],
    );
    // A directory.
    refused(d, &["a directory"]);
}

#[test]
fn parquet_edges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    if parquet_files(d).is_none() {
        return;
    }
    // A float32 column is read at its exact value: the profile's range is numpy's float64 of
    // the float32 extremes.
    let f32: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("f32.json")).unwrap()).unwrap();
    let out = d.join("f32.toml");
    profile(&d.join("table.f32.parquet"), &out, None);
    let suite: toml::Value = toml::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let mut checked = 0;
    for e in suite["expectations"].as_array().unwrap() {
        if e["type"].as_str() != Some("expect_column_values_to_be_between") {
            continue;
        }
        let column = e["column"].as_str().unwrap();
        let Some(range) = f32.get(column) else {
            continue;
        };
        assert_eq!(e["min_value"].as_float(), range[0].as_f64(), "{column}");
        assert_eq!(e["max_value"].as_float(), range[1].as_f64(), "{column}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked} float32 columns checked");

    // Nulls, integers, text cells of numbers and missing-value markers, a text label: the
    // same suite and expect results as the same table in CSV.
    let typed_suite = d.join("typed.toml");
    profile(&d.join("typed.csv"), &typed_suite, Some("typed"));
    let other = d.join("typed-parquet.toml");
    profile(&d.join("typed.parquet"), &other, Some("typed"));
    assert!(same(&suite_json(&other), &suite_json(&typed_suite)));
    let expect = |data: &str| {
        let o = run([
            "expect",
            "--suite",
            typed_suite.to_str().unwrap(),
            "--data",
            d.join(data).to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code(&o), 0, "{data}: {}", stderr(&o));
        json(&o)["results"].clone()
    };
    assert!(same(&expect("typed.parquet"), &expect("typed.csv")));
    // A boolean column and a column of words are typed columns to profile (their dtype), but
    // not a model's features: exit 2 at their line (row n on line n + 1) and column, as in CSV.
    for (file, dtype, says) in [
        (
            "flag.parquet",
            "bool",
            "flag.parquet:2:2: column `flag` holds Boolean values, not numbers",
        ),
        (
            "words.parquet",
            "object",
            "words.parquet:3:2: `abc` in column `s` is not a number",
        ),
    ] {
        let data = d.join(file);
        let o = run(["profile", "--data", data.to_str().unwrap(), "--out", "-"]);
        assert_eq!(code(&o), 0, "{file}: {}", stderr(&o));
        let suite = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            suite.contains(&format!("type_ = \"{dtype}\"")),
            "{file}: {suite}"
        );
        let model = dir.path().join("m.mlpb");
        let o = run([
            "train",
            "--data",
            data.to_str().unwrap(),
            "--label",
            "a",
            "--out",
            model.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 2, "{file}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{file}: {}", stderr(&o));
    }
    // To `expect` the word is a present value; a check that reads numbers raises naming it.
    let suite = write(
        &d.join("words.toml"),
        b"[[expectations]]\ntype = \"expect_column_values_to_not_be_null\"\ncolumn = \"s\"\n\n\
          [[expectations]]\ntype = \"expect_column_max_to_be_between\"\ncolumn = \"s\"\n\
          max_value = 10\n",
    );
    let o = run([
        "expect",
        "--suite",
        suite.to_str().unwrap(),
        "--data",
        d.join("words.parquet").to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let results = json(&o)["results"].clone();
    assert_eq!(results[0]["success"], true, "{results}");
    let m = results[1]["exception_info"]["exception_message"]
        .as_str()
        .unwrap();
    assert!(
        m.contains("(1 of 2 values are not numbers, the first `abc` on line 3, column 2)"),
        "{m}"
    );

    // 40 row groups on several threads: the results of the CSV text (several chunks), and the
    // same with one thread or two (the row groups are merged in file order).
    let groups_suite = d.join("groups.toml");
    profile(&d.join("groups.csv"), &groups_suite, None);
    let expect = |data: &str, threads: &str| {
        let o = run([
            "expect",
            "--suite",
            groups_suite.to_str().unwrap(),
            "--data",
            d.join(data).to_str().unwrap(),
            "--json",
            "--threads",
            threads,
        ]);
        assert_eq!(code(&o), 0, "{data}: {}", stderr(&o));
        let report = json(&o);
        assert_eq!(report["rows"], 80_000);
        report["results"].clone()
    };
    let two = expect("groups.parquet", "2");
    assert!(same(&two, &expect("groups.csv", "2")));
    assert_eq!(two, expect("groups.parquet", "1"));

    // A list column is named; a table without rows says so; a cut file is exit 2.
    refused(&d.join("nested.parquet"), &["column `tags`", "flat tables"]);
    refused(&d.join("empty.parquet"), &["no data rows"]);
    let bytes = std::fs::read(d.join("table.parquet")).unwrap();
    refused(
        &write(&d.join("cut.parquet"), &bytes[..bytes.len() - 100]),
        &["not a readable Parquet file"],
    );
}
