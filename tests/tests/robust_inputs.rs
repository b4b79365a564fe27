//! Issue #15, inputs: every file read has a stated size limit or is streamed; a FIFO works
//! where a file does; messages quote a bounded prefix of a cell or header; the CSV dialect
//! (RFC 4180 quoted newlines, CR-only line endings, binary files, 1-based columns); one CSV
//! reader for A/B events; `predict` ignores its label column.
//!
//! Each test names what the old main did. The limits are the constants of `mlprobe::limits`
//! (README "Limits").

use mlprobe_tests::{data, json, mlprobe, root};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The longest any of these runs may take (a debug build reads 128 MiB of `/dev/zero` in well
/// under a second); the old main ran until it had read 4 GB or forever.
const BOUND: Duration = Duration::from_secs(60);

/// Runs `cmd` with `stdin` as its input, killing it past [`BOUND`] (a failure: it hung).
fn bounded(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run mlprobe");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin); // a broken pipe when it stopped reading early
    });
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > BOUND {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

fn go(args: &[&str]) -> Output {
    bounded(mlprobe(args), b"")
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Expects exit 2 with every one of `want` in stderr.
#[track_caller]
fn refused(o: &Output, want: &[&str]) {
    let e = err(o);
    assert_eq!(o.status.code(), Some(2), "stderr:\n{e}");
    for w in want {
        assert!(e.contains(w), "stderr should contain {w:?}:\n{e}");
    }
    assert!(!e.contains("panicked"), "{e}");
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn model() -> String {
    s(&root().join("firmware/models/wine.mlpb"))
}

fn wine() -> String {
    s(&data("wine.csv"))
}

fn suite() -> String {
    s(&data("wine.suite.toml"))
}

/// A suite that reads column `b` as numbers (a column no expectation names is not parsed).
fn suite_b(dir: &Path) -> String {
    s(&write(
        dir,
        "b.toml",
        b"[[expectations]]\ntype = \"expect_column_values_to_be_between\"\ncolumn = \"b\"\nmin_value = 0\n",
    ))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn dev_zero_as_any_input_file_is_refused_at_its_limit() {
    // The old main read each of these whole: the process grew to 4 GB, or (CSV) never ended.
    let dir = tempfile::tempdir().unwrap();
    let out = s(&dir.path().join("p.toml"));
    let z = "/dev/zero";
    let (m, w) = (model(), wine());
    let cases: [(&[&str], &str); 9] = [
        (
            &["predict", "--model", z, "--data", &w],
            "larger than 128 MiB, the limit for a model file",
        ),
        (
            &["expect", "--suite", z, "--data", &w],
            "larger than 16 MiB, the limit for a suite",
        ),
        (
            &["run", "--config", z],
            "larger than 16 MiB, the limit for a run configuration",
        ),
        (
            &["report", "--from", z],
            "larger than 256 MiB, the limit for a report",
        ),
        (
            &["ab", "sequential", "--events", z],
            "/dev/zero:1:1: not a CSV file: found a NUL byte",
        ),
        (
            &["expect", "--suite", &suite(), "--data", z],
            "/dev/zero:1:1: not a CSV file",
        ),
        (
            &["profile", "--data", z, "--out", &out],
            "/dev/zero:1:1: not a CSV file",
        ),
        (
            &["predict", "--model", &m, "--data", z],
            "/dev/zero:1:1: not a CSV file",
        ),
        (
            &["eval", "--model", &m, "--data", z],
            "/dev/zero:1:1: not a CSV file",
        ),
    ];
    for (args, want) in cases {
        let o = go(args);
        refused(&o, &["/dev/zero", want]);
    }
}

#[test]
fn a_csv_line_that_never_ends_stops_at_the_record_limit() {
    // A header, then 17 MiB of digits without a newline: the old main grew a buffer for it.
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"a,b\n1,2\n".to_vec();
    text.resize(text.len() + (17 << 20), b'7');
    let p = s(&write(dir.path(), "long.csv", &text));
    let o = go(&["expect", "--suite", &suite(), "--data", &p]);
    refused(&o, &["long.csv:3:1: a record longer than 16 MiB"]);
}

#[test]
fn profile_reads_a_fifo_and_stdin_once() {
    // The old main opened the file a second time for its second pass: a FIFO or /dev/stdin was
    // empty then ("no data rows" or a hang).
    let dir = tempfile::tempdir().unwrap();
    let rows = std::fs::read(data("wine.csv")).unwrap();
    let from_file = s(&dir.path().join("file.toml"));
    let o = go(&[
        "profile",
        "--data",
        &wine(),
        "--out",
        &from_file,
        "--name",
        "w",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let want = std::fs::read_to_string(&from_file).unwrap();

    let from_stdin = s(&dir.path().join("stdin.toml"));
    let args = [
        "profile",
        "--data",
        "/dev/stdin",
        "--out",
        &from_stdin,
        "--name",
        "w",
    ];
    let o = bounded(mlprobe(args), &rows);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    // The same suite, but for the data's path in its comment.
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&std::fs::read_to_string(&from_stdin).unwrap()),
        strip(&want)
    );

    let fifo = dir.path().join("rows.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped the FIFO half: no mkfifo");
        return;
    }
    let from_fifo = s(&dir.path().join("fifo.toml"));
    let args = [
        "profile",
        "--data",
        &s(&fifo),
        "--out",
        &from_fifo,
        "--name",
        "w",
    ];
    let child = bounded_spawn(mlprobe(args));
    // The writer end: opening blocks until mlprobe opens the FIFO to read.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(&rows)
        .unwrap();
    let o = child.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        strip(&std::fs::read_to_string(&from_fifo).unwrap()),
        strip(&want)
    );
}

fn bounded_spawn(cmd: Command) -> std::thread::JoinHandle<Output> {
    std::thread::spawn(move || bounded(cmd, b""))
}

#[test]
fn messages_quote_a_bounded_prefix_of_a_huge_header() {
    // One 10 MB column name: the old main quoted the whole header in the message of every
    // expectation about a missing column (830 MB of `expect --json` output).
    let dir = tempfile::tempdir().unwrap();
    let name = "n".repeat(10 << 20);
    let p = s(&write(
        dir.path(),
        "wide.csv",
        format!("{name}\n1\n").as_bytes(),
    ));
    let o = go(&["expect", "--suite", &suite(), "--data", &p, "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    let doc = json(&o);
    let message = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["exception_info"]["exception_message"].as_str())
        .expect("a missing-column message")
        .to_string();
    assert!(
        message.contains(&format!("{}…", "n".repeat(64))),
        "{message:.200}"
    );
    assert!(message.len() < 400, "{message:.200}");
    // The document holds the name once (the observed column list), not once per expectation.
    assert!(o.stdout.len() < 11 << 20, "{} bytes", o.stdout.len());
    // A 1 MB cell that is not a number, where a check reads numbers: quoted by its first 64
    // characters.
    let cell = "x".repeat(1 << 20);
    let p = s(&write(
        dir.path(),
        "cell.csv",
        format!("a,b\n1,{cell}\n").as_bytes(),
    ));
    let o = go(&[
        "expect",
        "--suite",
        &suite_b(dir.path()),
        "--data",
        &p,
        "--json",
    ]);
    let message = raised(&o, &[&format!("`{}…` on line 2, column 2", "x".repeat(64))]);
    assert!(message.len() < 400, "{message:.500}");
}

/// `expect --json` output `o` failed a check whose exception message holds each of `want`;
/// returns that message.
fn raised(o: &Output, want: &[&str]) -> String {
    assert_eq!(o.status.code(), Some(1), "stderr:\n{}", err(o));
    let doc = json(o);
    let message = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["exception_info"]["exception_message"].as_str())
        .expect("a check that raised")
        .to_string();
    for w in want {
        assert!(
            message.contains(w),
            "the message should hold {w:?}: {message:.500}"
        );
    }
    message
}

#[test]
fn a_quoted_field_may_hold_a_newline() {
    // RFC 4180: the old main said "t.csv:2:0: unterminated double quote (a quoted field cannot
    // span lines)" for a quoted newline anywhere, a header name included.
    let dir = tempfile::tempdir().unwrap();
    let wine = std::fs::read_to_string(data("wine.csv")).unwrap();
    let (header, rows) = wine.split_once('\n').unwrap();
    // The last name quoted with a newline in it: every row is read, at its own line.
    let quoted = header.replacen(",label", ",\"label\n(class)\"", 1);
    let p = s(&write(
        dir.path(),
        "t.csv",
        format!("{quoted}\n{rows}").as_bytes(),
    ));
    let o = go(&["expect", "--suite", &suite(), "--data", &p, "--json"]);
    let doc = json(&o);
    assert_eq!(doc["rows"], 178, "{}", err(&o));
    let missing = doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|r| r["exception_info"]["exception_message"].as_str())
        .unwrap()
        .to_string();
    assert!(missing.contains("proline, label\\n(class)"), "{missing}");
    // Where a check reads numbers it is a cell that is not one, at the record's first line.
    let p = s(&write(dir.path(), "n.csv", b"a,b\n1,2\n3,\"4\n5\"\n"));
    let o = go(&[
        "expect",
        "--suite",
        &suite_b(dir.path()),
        "--data",
        &p,
        "--json",
    ]);
    raised(&o, &["the first `4\\n5` on line 3, column 2"]);
    // A quote never closed is located where it opens.
    let p = s(&write(dir.path(), "q.csv", b"a,b\n1,2\n3,\"4\n5,6\n"));
    let o = go(&["expect", "--suite", &suite(), "--data", &p]);
    refused(&o, &["q.csv:3:2: unterminated double quote"]);
}

#[test]
fn old_mac_line_endings_are_named() {
    // The old main read a CR-only file as one header line of odd names and no rows.
    let dir = tempfile::tempdir().unwrap();
    let p = s(&write(dir.path(), "mac.csv", b"a,b\r1,2\r3,4\r"));
    let o = go(&["expect", "--suite", &suite(), "--data", &p]);
    refused(
        &o,
        &[
            "mac.csv:1:2: a carriage return (CR) without a line feed",
            "LF or CRLF",
        ],
    );
    let o = go(&["predict", "--model", &model(), "--data", &p]);
    refused(&o, &["mac.csv:1:2: a carriage return (CR)"]);
}

#[test]
fn a_binary_file_is_not_a_csv_file() {
    // A Parquet file's first bytes and no more: the old main read a header of odd names and 0
    // rows, and `expect` judged the empty batch. Parquet is read now (tests/tests/formats.rs),
    // so this one is a Parquet file that cannot be read.
    let dir = tempfile::tempdir().unwrap();
    let mut parquet = b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00".to_vec();
    parquet.extend_from_slice(b"\n\x08\x1c\x00\x00\x00PAR1");
    let p = s(&write(dir.path(), "t.parquet", &parquet));
    let o = go(&["expect", "--suite", &suite(), "--data", &p]);
    refused(&o, &["t.parquet: not a readable Parquet file"]);
    // Binary data with no magic number mlprobe knows: the CSV reader finds its NUL byte.
    let mut binary = b"\x07\x08ab".to_vec();
    binary.extend_from_slice(&[0, 1, 2, 3, b'\n', 9]);
    let p = s(&write(dir.path(), "t.bin", &binary));
    let o = go(&[
        "profile",
        "--data",
        &p,
        "--out",
        &s(&dir.path().join("x.toml")),
    ]);
    refused(
        &o,
        &["t.bin:1:1: not a CSV file: found a NUL byte (binary data) at byte 5"],
    );
    // NUL bytes after a good header: located at their row and column.
    let p = s(&write(dir.path(), "z.csv", b"a,b\n1,2\n3,\x00\x00\n"));
    let o = go(&["expect", "--suite", &suite(), "--data", &p]);
    refused(&o, &["z.csv:3:2: not a CSV file: found a NUL byte"]);
}

#[test]
fn locations_never_have_column_0() {
    // The old main printed column 0 for "no label column", a label out of the model's range, a
    // header that is not UTF-8, a row of the wrong width in an events file, and an empty
    // report file.
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let nolabel = s(&write(dir.path(), "nolabel.csv", b"a,b\n1,2\n"));
    let o = go(&["eval", "--model", &m, "--data", &nolabel]);
    refused(&o, &["nolabel.csv:1:1: no label column `label`"]);
    // The label (column 14 of 14) is a class the 3-class model does not have.
    let wine = std::fs::read_to_string(data("wine.csv")).unwrap();
    let (header, rows) = wine.split_once('\n').unwrap();
    let first = rows.lines().next().unwrap();
    let (features, _) = first.rsplit_once(',').unwrap();
    let p = s(&write(
        dir.path(),
        "c.csv",
        format!("{header}\n{features},9\n").as_bytes(),
    ));
    let o = go(&["eval", "--model", &m, "--data", &p]);
    refused(
        &o,
        &["c.csv:2:14: label 9 in column `label` is out of range"],
    );
    let p = s(&write(dir.path(), "u.csv", b"a,\xff\xfe\n1,2\n"));
    let o = go(&["expect", "--suite", &suite(), "--data", &p]);
    refused(&o, &["u.csv:1:2: the header is not UTF-8 text"]);
    let p = s(&write(dir.path(), "e.csv", b"A,1\nB\n"));
    let o = go(&["ab", "sequential", "--events", &p]);
    refused(&o, &["e.csv:2:2: expected two fields"]);
    let p = s(&write(dir.path(), "r.json", b""));
    let o = go(&["report", "--from", &p]);
    refused(&o, &["r.json:1:1:"]);
}

#[test]
fn ab_events_are_read_as_every_other_csv() {
    // One CSV reader: a BOM, quoted fields, CRLF, a quoted field with a newline located at its
    // first line, binary data refused (the old main used the `csv` crate's own reader here).
    let dir = tempfile::tempdir().unwrap();
    let p = s(&write(
        dir.path(),
        "e.csv",
        b"\xef\xbb\xbf\"variant\",\"converted\"\r\n\"A\",\"1\"\r\nB,0\r\n\r\n\"b\",\"yes\"\r\n",
    ));
    let o = go(&["ab", "sequential", "--events", &p, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(json(&o)["events"], 3);
    let p = s(&write(dir.path(), "n.csv", b"A,1\n\"B\nC\",0\nA,1\n"));
    let o = go(&["ab", "sequential", "--events", &p]);
    refused(
        &o,
        &["n.csv:2:1: variant must be control/treatment or A/B, got 'B\\nC'"],
    );
}

#[test]
fn predict_ignores_the_label_column() {
    // `predict --help` says the label column is left out; the old main still parsed it and
    // refused "t.csv:2:14: label column `label`: `cat` is not a class number".
    let dir = tempfile::tempdir().unwrap();
    let table = std::fs::read_to_string(data("wine.csv")).unwrap();
    let mut text = String::new();
    for (i, line) in table.lines().enumerate() {
        let (features, label) = line.rsplit_once(',').unwrap();
        let label = match i {
            0 => label.to_string(),
            1 => "cat".into(),
            2 => "\"big\ncat\"".into(),
            3 => String::new(),
            _ => "1e99".into(),
        };
        text.push_str(&format!("{features},{label}\n"));
    }
    let p = s(&write(dir.path(), "t.csv", text.as_bytes()));
    let got = go(&["predict", "--model", &model(), "--data", &p, "--json"]);
    assert_eq!(got.status.code(), Some(0), "{}", err(&got));
    let want = go(&["predict", "--model", &model(), "--data", &wine(), "--json"]);
    assert_eq!(json(&got)["predictions"], json(&want)["predictions"]);
    // A bad feature cell is still an error.
    let bad = text.replacen("\n14.23,", "\nx,", 1);
    assert_ne!(bad, text);
    let p = s(&write(dir.path(), "b.csv", bad.as_bytes()));
    let o = go(&["predict", "--model", &model(), "--data", &p]);
    refused(&o, &["b.csv:2:1: `x` in column"]);
}
