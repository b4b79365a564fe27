//! Outputs (issue #15): every file is written whole (temporary file, synced, renamed) or not at
//! all; an output is never an input; a failed command leaves every existing file as it was;
//! `-` is stdout byte for byte; a closed stdout or stderr ends printing, not the command.
//! Expected values are the files' own bytes before the command (nothing may change them).

use mlprobe_tests::{code, data, mlprobe, run, stderr};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A directory with a copy of the wine data and a small model trained on it.
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("wine.csv");
    std::fs::copy(data("wine.csv"), &csv).unwrap();
    let model = dir.path().join("m.mlpb");
    let o = run([
        "train",
        "--data",
        s(&csv),
        "--out",
        s(&model),
        "--epochs",
        "3",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    (dir, csv, model)
}

/// Exit 2, a message naming `what`, and `files` unchanged.
fn refused(o: &Output, what: &str, files: &[(&Path, &[u8])]) {
    for (p, before) in files {
        assert!(read(p) == *before, "{} changed", p.display());
    }
    assert_eq!(code(o), 2, "{}", stderr(o));
    assert!(stderr(o).contains(what), "{what} not in: {}", stderr(o));
}

/// Only the files named are in `dir`: no temporary file is left behind.
fn only(dir: &Path, names: &[&str]) {
    let mut found: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    names.sort();
    assert_eq!(found, names);
}

#[test]
fn an_output_that_is_an_input_is_refused_before_any_work() {
    let (dir, csv, model) = workspace();
    let d = dir.path();
    let data0 = read(&csv);
    let model0 = read(&model);
    // The suite is profiled from the data, then named as `expect`'s JUnit report.
    let suite = d.join("wine.suite.toml");
    let o = run(["profile", "--data", s(&csv), "--out", s(&suite)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let suite0 = read(&suite);
    let same_suite = d.join(".").join("wine.suite.toml");
    let o = run([
        "expect",
        "--suite",
        s(&suite),
        "--data",
        s(&csv),
        "--junit",
        s(&same_suite),
    ]);
    refused(&o, "is an input", &[(&suite, &suite0)]);
    let o = run([
        "expect",
        "--suite",
        s(&suite),
        "--data",
        s(&csv),
        "--junit",
        s(&csv),
    ]);
    refused(&o, "is an input", &[(&csv, &data0)]);

    let o = run(["train", "--data", s(&csv), "--out", s(&csv)]);
    refused(&o, "is an input", &[(&csv, &data0)]);
    let o = run([
        "profile",
        "--data",
        s(&csv),
        "--out",
        s(&d.join("./wine.csv")),
    ]);
    refused(&o, "data file", &[(&csv, &data0)]);
    let o = run(["export", s(&model), "--out", s(&model)]);
    refused(&o, "is an input", &[(&model, &model0)]);
    let st = d.join("m.safetensors");
    let o = run(["export", s(&model), "--out", s(&st)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let st0 = read(&st);
    let o = run(["import", s(&st), "--out", s(&st)]);
    refused(&o, "is an input", &[(&st, &st0)]);
    for flag in ["--save-baseline", "--junit", "--markdown"] {
        for input in [&model, &csv] {
            let o = run([
                "eval",
                "--model",
                s(&model),
                "--data",
                s(&csv),
                flag,
                s(input),
            ]);
            refused(&o, "is an input", &[(&model, &model0), (&csv, &data0)]);
        }
    }
    // Two outputs of one command on the same file: one would replace the other.
    let o = run([
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&csv),
        "--junit",
        s(&d.join("r")),
        "--markdown",
        s(&d.join("r")),
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("two outputs"), "{}", stderr(&o));
    assert!(!d.join("r").exists());
}

#[test]
fn the_history_replaces_only_a_history() {
    let (dir, csv, model) = workspace();
    let d = dir.path();
    // A previous history of the model is replaced (this is retraining).
    let hist = d.join("m.history.json");
    let before = read(&hist);
    let o = run([
        "train",
        "--data",
        s(&csv),
        "--out",
        s(&model),
        "--epochs",
        "2",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_ne!(read(&hist), before);
    // Any other file where the history goes is left alone, and so is the old model.
    let other = d.join("x.history.json");
    std::fs::write(&other, "{\"mine\": 1}\n").unwrap();
    let x = d.join("x.mlpb");
    std::fs::copy(&model, &x).unwrap();
    let x0 = read(&x);
    let o = run(["train", "--data", s(&csv), "--out", s(&x), "--epochs", "2"]);
    refused(
        &o,
        "is not a training history",
        &[(&other, b"{\"mine\": 1}\n"), (&x, &x0)],
    );
    // The data itself named `<stem>.history.json`.
    let data_hist = d.join("y.history.json");
    std::fs::copy(&csv, &data_hist).unwrap();
    let data0 = read(&data_hist);
    let o = run([
        "train",
        "--data",
        s(&data_hist),
        "--out",
        s(&d.join("y.mlpb")),
        "--epochs",
        "2",
    ]);
    refused(&o, "is an input", &[(&data_hist, &data0)]);
    assert!(!d.join("y.mlpb").exists());
}

#[test]
fn a_failed_train_leaves_the_old_model_as_it_was() {
    let (dir, csv, model) = workspace();
    let d = dir.path();
    let model0 = read(&model);
    std::fs::remove_file(d.join("m.history.json")).unwrap();
    std::fs::create_dir(d.join("m.history.json")).unwrap();
    let o = run([
        "train",
        "--data",
        s(&csv),
        "--out",
        s(&model),
        "--epochs",
        "5",
        "--seed",
        "7",
    ]);
    refused(&o, "m.history.json: is a directory", &[(&model, &model0)]);
    only(d, &["m.history.json", "m.mlpb", "wine.csv"]);
    // A missing directory fails before training too, and writes nothing.
    let o = run([
        "train",
        "--data",
        s(&csv),
        "--out",
        s(&d.join("no/such/m.mlpb")),
        "--epochs",
        "5",
    ]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    only(d, &["m.history.json", "m.mlpb", "wine.csv"]);
}

#[test]
fn export_to_stdout_is_byte_exact_and_imports_again() {
    let (dir, _csv, model) = workspace();
    let d = dir.path();
    let file = d.join("m.safetensors");
    let o = run(["export", s(&model), "--out", s(&file)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let o = run(["export", s(&model), "--out", "-"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let piped = d.join("piped.safetensors");
    std::fs::write(&piped, &o.stdout).unwrap();
    let back = d.join("back.mlpb");
    let o = run(["import", s(&piped), "--out", s(&back)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The model's bytes come back exactly (the safetensors header's key order may differ).
    assert_eq!(read(&back), read(&model));
    assert_eq!(
        std::fs::metadata(&piped).unwrap().len(),
        read(&file).len() as u64
    );
}

#[test]
fn a_reader_never_sees_half_a_model_while_it_is_rewritten() {
    let (dir, csv, model) = workspace();
    let d = dir.path();
    let st = d.join("m.safetensors");
    let o = run(["export", s(&model), "--out", s(&st)]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let target = d.join("t.mlpb");
    std::fs::copy(&model, &target).unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for _ in 0..40 {
                let o = run(["import", s(&st), "--out", s(&target)]);
                assert_eq!(code(&o), 0, "{}", stderr(&o));
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut reads = 0;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) || reads < 10 {
            let o = run(["predict", "--model", s(&target), "--data", s(&csv)]);
            assert_eq!(code(&o), 0, "read {reads}: {}", stderr(&o));
            reads += 1;
        }
    });
    only(
        d,
        &[
            "m.history.json",
            "m.mlpb",
            "m.safetensors",
            "t.mlpb",
            "wine.csv",
        ],
    );
}

/// Runs `mlprobe args…` with stdout and stderr on a pipe whose reader is already closed.
fn closed_pipe(args: &[&str]) -> i32 {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = mlprobe(args)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().unwrap())
        .stderr(writer)
        .output()
        .unwrap();
    code(&o)
}

#[test]
fn a_closed_pipe_stops_printing_not_the_command() {
    let (dir, _csv, model) = workspace();
    let d = dir.path();
    let st = d.join("m.safetensors");
    assert_eq!(closed_pipe(&["export", s(&model), "--out", s(&st)]), 0);
    assert!(st.exists());
    let back = d.join("back.mlpb");
    assert_eq!(closed_pipe(&["import", s(&st), "--out", s(&back)]), 0);
    assert_eq!(read(&back), read(&model));
    // An error still exits with its code.
    assert_eq!(closed_pipe(&["import", s(&st), "--out", s(&st)]), 2);
    let out = d.join("report");
    let code = closed_pipe(&[
        "run",
        "--config",
        "mlprobe.toml",
        "--no-device",
        "--out",
        s(&out),
    ]);
    assert_eq!(code, 0);
    for f in [
        "report.html",
        "report.json",
        "junit.xml",
        "summary.md",
        "model.mlpb",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
}
