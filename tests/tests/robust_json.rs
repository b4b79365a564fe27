//! Issue 15, "one JSON document" and presentation: `--json` never shares stdout with an output
//! file, `report --json`, progress on stderr, the report's times, bins and titles, the text
//! confusion matrix at 5+ digits, and the spread of a column holding ±∞. Each test is named after
//! the behaviour it pins; those marked "(regression)" passed before the fixes already and
//! keep it that way.

use mlprobe_tests::{code, data, json, mlprobe, root, run, stderr, stdout};
use serde_json::Value;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A wine model trained for a few epochs into `dir`.
fn wine_model(dir: &Path) -> std::path::PathBuf {
    let model = dir.join("wine.mlpb");
    let o = run([
        "train",
        "--data",
        s(&data("wine.csv")),
        "--out",
        s(&model),
        "--epochs",
        "20",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    model
}

#[test]
fn json_with_an_output_on_stdout_is_one_usage_error_document() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let model = wine_model(d);
    let wine = data("wine.csv");
    let suite = data("wine.suite.toml");
    let st = d.join("wine.safetensors");
    let o = run(["export", s(&model), "--out", s(&st)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let eval = |flag: &'static str| {
        vec![
            "eval".to_string(),
            "--model".into(),
            s(&model).into(),
            "--data".into(),
            s(&wine).into(),
            flag.into(),
            "-".into(),
        ]
    };
    let strs = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "--out",
            strs(&["train", "--data", s(&wine), "--epochs", "2", "--out", "-"]),
        ),
        ("--out", strs(&["export", s(&model), "--out", "-"])),
        ("--out", strs(&["import", s(&st), "--out", "-"])),
        (
            "--out",
            strs(&["profile", "--data", s(&wine), "--out", "-"]),
        ),
        (
            "--junit",
            strs(&[
                "expect",
                "--suite",
                s(&suite),
                "--data",
                s(&wine),
                "--junit",
                "-",
            ]),
        ),
        ("--junit", eval("--junit")),
        ("--markdown", eval("--markdown")),
        ("--save-baseline", eval("--save-baseline")),
    ];
    for (flag, mut args) in cases {
        args.push("--json".into());
        let o = run(&args);
        let what = args.join(" ");
        // Before: exit 0 and the output followed by the JSON summary (two documents).
        assert_eq!(code(&o), 2, "{what}: {}", stderr(&o));
        let doc = json(&o);
        assert_eq!(doc["error"]["kind"], "usage", "{what}");
        let message = doc["error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("--json and {flag} - both write to stdout")),
            "{what}: {message}"
        );
        assert!(
            stderr(&o).contains(message),
            "{what}: the message on stderr"
        );
    }
    assert!(!d.join("-").exists() && !d.join("-.history.json").exists());
}

#[test]
fn two_outputs_on_stdout_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let model = wine_model(dir.path());
    let o = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&data("wine.csv")),
        "--junit",
        "-",
        "--markdown",
        "-",
    ]);
    // Before: exit 0, JUnit XML, then Markdown, then the table, all on stdout.
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--junit - and --markdown - both write to stdout"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn with_one_output_on_stdout_the_text_summary_goes_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // `expect --junit -`: stdout is the JUnit XML alone.
    let o = run([
        "expect",
        "--suite",
        s(&data("wine.suite.toml")),
        "--data",
        s(&data("wine.csv")),
        "--junit",
        "-",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let xml = stdout(&o);
    // Before: the table followed the XML on stdout ("junk after document element").
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}:\n{xml}"));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    assert!(
        stderr(&o).contains("98 expectations: 98 passed"),
        "{}",
        stderr(&o)
    );

    // `train --out -`: stdout is the model, byte for byte; the summary is on stderr. Run in the
    // temporary directory: before, the history went to `-.history.json` in the working
    // directory; now there is none.
    let o = mlprobe([
        "train",
        "--data",
        s(&data("wine.csv")),
        "--epochs",
        "5",
        "--out",
        "-",
    ])
    .current_dir(d)
    .output()
    .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!d.join("-.history.json").exists());
    assert!(stderr(&o).contains("no history file"), "{}", stderr(&o));
    let model = d.join("piped.mlpb");
    std::fs::write(&model, &o.stdout).unwrap();
    // Before: the text report was appended to the model's bytes, which no longer loaded.
    let e = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&data("wine.csv")),
        "--json",
    ]);
    assert_eq!(code(&e), 0, "{}", stderr(&e));
    assert_eq!(json(&e)["n"], 178);
    assert!(stderr(&o).contains("epochs"), "{}", stderr(&o));
}

/// (regression) `run --json`: stdout is report.json's document alone; the stage lines are on
/// stderr.
#[test]
fn run_json_prints_one_document_and_its_stage_lines_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = small_run_config(d);
    let o = run(["run", "--config", s(&config), "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["name"], "mlprobe run");
    assert!(
        stderr(&o).contains("mlprobe run: [expect] PASSED"),
        "{}",
        stderr(&o)
    );
    assert!(!stdout(&o).contains("mlprobe run:"));
}

/// A configuration of the stages that need no device, load or chaos time, into `d/report`.
fn small_run_config(d: &Path) -> std::path::PathBuf {
    let config = d.join("mlprobe.toml");
    std::fs::write(
        &config,
        format!(
            "data = {:?}\nlabel = \"label\"\nsuite = {:?}\nout = {:?}\n\
             [train]\nepochs = 20\n[device]\nenabled = false\n[load]\nenabled = false\n\
             [chaos]\nenabled = false\n[ab]\nprevious = {:?}\n",
            s(&data("wine.csv")),
            s(&data("wine.suite.toml")),
            s(&d.join("report")),
            s(&data("wine.previous.mlpb")),
        ),
    )
    .unwrap();
    config
}

/// A saved report.json with what the presentation fixes are about: a start time, a host latency
/// histogram (µs bins, the last one open), an instruction-count histogram (QEMU) and stage
/// durations of -0.0 and below 0 (an edited file).
fn crafted_report(path: &Path) {
    let doc = serde_json::json!({
        "version": 1, "name": "mlprobe run", "mlprobe": "0.1.0",
        "started_unix_s": 1_796_019_193u64, "config": "mlprobe.toml", "dataset": "data/wine.csv",
        "passed": true,
        "stages": [
            {"name": "expect", "status": "passed", "duration_s": -0.0, "summary": "ok",
             "checks": [{"name": "x", "passed": true, "detail": "fine"}], "notes": [],
             "details": null},
            {"name": "eval", "status": "passed", "duration_s": -1.5, "summary": "ok",
             "checks": [], "notes": [], "details": null},
            {"name": "device", "status": "skipped", "duration_s": 0.0, "summary": "",
             "checks": [], "notes": ["no QEMU"], "details": null}
        ],
        "charts": {
            "training": [], "confusion": [], "bitflip": [], "posteriors": null,
            "latency": [
                {"target": "host", "unit": "µs",
                 "percentiles": [["p50", 0.5], ["p99.9", 1.25], ["max", 6564.905]],
                 "histogram": [[0.75, 10], [1.0, 5], [1.25, 2]]},
                {"target": "qemu (mps2-an386, Cortex-M4F)", "unit": "instructions",
                 "percentiles": [["p50", 1480.0], ["max", 1520.0]],
                 "histogram": [[1480.0, 40], [1520.0, 13]]}
            ]
        }
    });
    std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
}

#[test]
fn report_json_summarises_what_it_rendered() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from = d.join("report.json");
    crafted_report(&from);
    let out = d.join("html");
    let o = run(["report", "--from", s(&from), "--out", s(&out), "--json"]);
    // Before: exit 2, "unexpected argument '--json'".
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["from"], s(&from));
    assert_eq!(doc["dir"], s(&out));
    assert_eq!(
        doc["files"],
        serde_json::json!(["report.html", "summary.md", "junit.xml"])
    );
    // python3 -c "import datetime as d; print(d.datetime.fromtimestamp(1796019193,
    //   d.timezone.utc).isoformat())" → 2026-11-30T06:13:13+00:00
    assert_eq!(doc["started"], "2026-11-30T06:13:13Z");
    assert_eq!(doc["passed"], true);
    assert_eq!(
        doc["stages"],
        serde_json::json!([
            {"name": "expect", "status": "passed"},
            {"name": "eval", "status": "passed"},
            {"name": "device", "status": "skipped"}
        ])
    );
    // expect: its one check; eval and device: one case of the stage each (JUnit's counts).
    let counts: Vec<u64> = ["tests", "failures", "errors", "skipped"]
        .iter()
        .map(|k| doc[*k].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [3, 0, 0, 1]);
    for f in ["report.html", "summary.md", "junit.xml"] {
        assert!(out.join(f).is_file(), "{f}");
    }
}

#[test]
fn the_report_shows_iso_times_an_open_last_bin_and_instruction_titles() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let from = d.join("report.json");
    crafted_report(&from);
    let o = run(["report", "--from", s(&from)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let html = std::fs::read_to_string(d.join("report.html")).unwrap();
    let md = std::fs::read_to_string(d.join("summary.md")).unwrap();
    // Before: "started 1796019193 (Unix seconds)"; the summary had no time. A report.json of
    // an earlier mlprobe (no `started` text) shows its start time from the Unix seconds.
    assert!(
        html.contains("<td>started</td><td>2026-11-30T06:13:13Z</td>"),
        "{html}"
    );
    assert!(!html.contains("Unix seconds"));
    assert!(md.contains("| started | 2026-11-30T06:13:13Z |"), "{md}");
    // Before: the last bin, which holds everything above 1.0 µs up to the max, read "≤1.250".
    assert!(html.contains("≤0.750") && html.contains("≤1.000"), "{html}");
    assert!(html.contains("&gt;1.000"), "the last bin is open:\n{html}");
    assert!(!html.contains("≤1.250"), "{html}");
    // Before: "Latency on qemu … (instructions)".
    assert!(
        html.contains("Instructions per inference on qemu (mps2-an386, Cortex-M4F)"),
        "{html}"
    );
    assert!(!html.contains("Latency on qemu"));
    assert!(html.contains("Latency on host (µs)"));
    // (regression) JUnit times are never negative, -0 included.
    let xml = std::fs::read_to_string(d.join("junit.xml")).unwrap();
    assert!(!xml.contains("time=\"-"), "{xml}");
    assert!(xml.contains("time=\"0.000\""), "{xml}");
}

#[test]
fn the_text_confusion_matrix_keeps_five_digit_counts_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Train on a separable sign: x < 0 is class 0, x > 0 class 1.
    let mut train = String::from("x,label\n");
    for i in 1..=100 {
        train += &format!("{},0\n{},1\n", -f64::from(i) / 100.0, f64::from(i) / 100.0);
    }
    let train_csv = d.join("train.csv");
    std::fs::write(&train_csv, train).unwrap();
    let model = d.join("sign.mlpb");
    let o = run([
        "train",
        "--data",
        s(&train_csv),
        "--out",
        s(&model),
        "--test-split",
        "0",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // 20,000 rows all labelled 0, half of them positive: the row of class 0 is
    // [10000, 10000] (counted by construction), class 1's [0, 0].
    let mut eval = String::from("x,label\n");
    for _ in 0..10_000 {
        eval += "-1,0\n1,0\n";
    }
    let eval_csv = d.join("eval.csv");
    std::fs::write(&eval_csv, eval).unwrap();
    let o = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&eval_csv),
        "--latency-samples",
        "100",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip_while(|l| !l.starts_with("confusion"))
        .skip(1)
        .take(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    // Before: "  1000010000" (one token).
    assert_eq!(rows, [["10000", "10000"], ["0", "0"]], "{text}");
}

#[test]
fn a_column_holding_infinity_has_no_stdev_of_zero() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = d.join("inf.csv");
    std::fs::write(&csv, "a,b,c\n1,2,1\n2,inf,inf\n3,4,-inf\n-inf,5,2\n").unwrap();
    let suite = d.join("suite.toml");
    let mut text = String::from("name = \"s\"\n");
    for (kind, col) in [
        ("stdev", "b"),
        ("stdev", "a"),
        ("mean", "a"),
        ("mean", "c"),
        ("stdev", "c"),
    ] {
        text += &format!(
            "[[expectations]]\ntype = \"expect_column_{kind}_to_be_between\"\ncolumn = \"{col}\"\n\
             min_value = -1e300\nmax_value = 1e300\n"
        );
    }
    std::fs::write(&suite, text).unwrap();
    let o = run(["expect", "--suite", s(&suite), "--data", s(&csv), "--json"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let doc = json(&o);
    let results = doc["results"].as_array().unwrap();
    // /work/venv-json/bin/python -c "import numpy as np, pandas as pd;
    //   print(pd.Series([2, np.inf, 4, 5]).std(), pd.Series([1, 2, 3, -np.inf]).std(),
    //   pd.Series([1, 2, 3, -np.inf]).mean(), pd.Series([1, np.inf, -np.inf, 2]).mean(),
    //   pd.Series([1, np.inf, -np.inf, 2]).std())"  → nan nan -inf nan nan
    // (pandas is what Great Expectations computes with): no finite value, so JSON's null, and
    // every one of these fails its range. Before: the stdevs were 0.0 and passed.
    for r in results {
        assert_eq!(r["success"], false, "{r}");
        assert_eq!(r["result"]["observed_value"], Value::Null, "{r}");
    }
    assert_eq!(results.len(), 5);
    let o = run(["expect", "--suite", s(&suite), "--data", s(&csv)]);
    let table = stdout(&o);
    assert_eq!(
        table.matches("observed NaN").count(),
        4,
        "the three stdevs and the mean of +∞ and -∞:\n{table}"
    );
    assert!(table.contains("observed -inf"), "{table}");
}

#[test]
fn a_long_chaos_experiment_shows_progress_on_stderr_and_stdout_keeps_the_report() {
    let model = root().join("firmware/models/wine.mlpb");
    // 55 calls, each delayed by 100 ms: 5.5 s, one progress line at 5 s.
    let o = run([
        "chaos",
        "--model",
        s(&model),
        "--experiment",
        "latency",
        "--iterations",
        "55",
        "--latency-ms",
        "100",
        "--probability",
        "1",
        "--json",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let doc = json(&o);
    assert_eq!(doc["measured"]["iterations"], 55);
    let err = stderr(&o);
    // Before: nothing on stderr for as long as it ran.
    let line = err
        .lines()
        .find(|l| l.starts_with("mlprobe chaos: latency running, 5 s, "))
        .unwrap_or_else(|| panic!("no progress line:\n{err}"));
    let calls: u64 = line
        .trim_start_matches("mlprobe chaos: latency running, 5 s, ")
        .trim_end_matches(" calls so far")
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {line}"));
    assert!((40..=55).contains(&calls), "{line}");
    // A short run prints none.
    let o = run([
        "chaos",
        "--model",
        s(&model),
        "--experiment",
        "latency",
        "--iterations",
        "5",
        "--latency-ms",
        "1",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("running"), "{}", stderr(&o));
}
