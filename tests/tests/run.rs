//! `mlprobe run` end to end: the whole pipeline on the bundled wine data with the repository's
//! mlprobe.toml, every file of the report, every stage's verdict; a failing gate; re-rendering
//! with `mlprobe report`; and the HTML in headless Chromium when it is installed.

use mlprobe_tests::{code, mlprobe, qemu, require, root, run, stderr, stdout};
use std::path::Path;
use std::process::Command;

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn chromium() -> Option<&'static str> {
    let found = [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists());
    let usable = require(
        "chromium",
        found.is_some(),
        "./scripts/setup.sh --browser installs it",
    );
    if usable { found } else { None }
}

/// The DOM of `page` as headless Chromium renders it, when Chromium is installed (.ci/run
/// installs it).
fn rendered(page: &Path) -> Option<String> {
    let browser = chromium()?;
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// SHA-256 of a file by coreutils' `sha256sum`, the reference for the report's digests.
fn sha256sum(p: &Path) -> String {
    let o = Command::new("sha256sum")
        .arg(p)
        .output()
        .expect("sha256sum");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn the_main_job_writes_every_report_file_and_every_gate_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let o = run([
        "run",
        "--config",
        "mlprobe.toml",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    for f in [
        "report.html",
        "report.json",
        "junit.xml",
        "summary.md",
        "model.mlpb",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("report.json"))).unwrap();
    assert_eq!(report["passed"], true);
    let stages: Vec<(String, String)> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "expect", "train", "eval", "slices", "device", "load", "chaos", "ab"
        ]
    );
    for (name, status) in &stages {
        let expected = if name == "device" && !qemu() {
            "skipped"
        } else {
            "passed"
        };
        assert_eq!(status, expected, "stage {name}");
    }
    // Every stage says how long it took and what it found.
    for s in report["stages"].as_array().unwrap() {
        assert!(s["duration_s"].as_f64().unwrap() >= 0.0);
        assert!(!s["summary"].as_str().unwrap().is_empty());
    }
    if qemu() {
        let device = &report["stages"][4]["details"];
        assert_eq!(device["bit_exact"], true);
        assert_eq!(device["mismatches"], 0);
    }
    // Chart data.
    let charts = &report["charts"];
    // Loss and accuracy on the training rows: mlprobe.toml fits every training row
    // (val_split = 0; the curves of a validation part are checked below, with the defaults).
    assert_eq!(
        training_curves(&report),
        ["loss (training rows)", "accuracy (training rows)"]
    );
    assert_eq!(charts["confusion"].as_array().unwrap().len(), 3);
    assert_eq!(charts["bitflip"].as_array().unwrap().len(), 2);
    // Load: every request accounted for, on the host and (with QEMU) the device.
    let load = &report["stages"][5]["details"];
    for target in ["host", "qemu"] {
        let t = &load[target];
        if t.is_null() {
            assert!(!qemu() && target == "qemu");
            continue;
        }
        let sum = t["successful"].as_u64().unwrap()
            + t["failed"].as_u64().unwrap()
            + t["dropped"].as_u64().unwrap();
        assert_eq!(sum, t["total"].as_u64().unwrap(), "{target}");
    }
    assert!(charts["posteriors"].is_object());
    // The A/B stage is the paired comparison of `mlprobe compare` on the held-out rows.
    let ab = &report["stages"][7];
    let cmp = &ab["details"]["compare"];
    let n = cmp["n"].as_u64().unwrap();
    let table = cmp["concordant"][0].as_u64().unwrap()
        + cmp["concordant"][1].as_u64().unwrap()
        + cmp["discordant"]["baseline_only"].as_u64().unwrap()
        + cmp["discordant"]["candidate_only"].as_u64().unwrap();
    assert!(n > 0 && table == n, "{cmp}");
    assert!(cmp["mcnemar"]["exact_p_value"].as_f64().is_some());
    assert!(ab["summary"].as_str().unwrap().contains("McNemar exact p"));
    assert!(ab["notes"].to_string().contains("paired comparison"));

    // JUnit: one testsuite per stage, failures = 0.
    let junit = read(&out.join("junit.xml"));
    let doc = roxmltree::Document::parse(&junit).expect("junit.xml is XML");
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 8);
    assert!(suites.iter().all(|s| s.attribute("failures") == Some("0")));
    // Markdown: a table of the stages.
    let md = read(&out.join("summary.md"));
    assert!(md.contains("| stage | verdict | seconds | summary |"));
    assert!(md.contains("| eval | PASSED |"));
    // HTML: self-contained, one SVG per chart.
    let html = read(&out.join("report.html"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    // No network references: the only URL is the SVG namespace.
    assert_eq!(
        html.matches("http").count(),
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("<script"));
    // loss, accuracy, confusion, host latency, [device latency], p99 over the load run, bit
    // flips, posteriors
    let charts_expected = 7 + usize::from(qemu());
    assert_eq!(
        html.matches("<svg").count(),
        charts_expected,
        "charts in the HTML"
    );

    // Provenance: every input's SHA-256 (coreutils agrees), the commit, ISO 8601 times.
    let files = report["provenance"]["files"].as_array().unwrap();
    let digest = |role: &str| {
        let f = files.iter().find(|f| f["role"] == role).unwrap();
        let path = Path::new(f["path"].as_str().unwrap()).to_path_buf();
        (f["sha256"].as_str().unwrap().to_string(), path)
    };
    for role in [
        "config",
        "data",
        "suite",
        "policy",
        "previous model",
        "model",
    ] {
        let (sha, path) = digest(role);
        assert_eq!(sha, sha256sum(&root().join(&path)), "{role}");
    }
    let head = Command::new("git")
        .args(["-C", root().to_str().unwrap(), "rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    if let Some(h) = head {
        let commit = String::from_utf8_lossy(&h.stdout).trim().to_string();
        assert_eq!(report["provenance"]["git"]["commit"], commit.as_str());
    }
    for key in ["started", "finished"] {
        let t = report[key].as_str().unwrap();
        assert!(
            t.len() == 20 && t.ends_with('Z') && &t[10..11] == "T",
            "{key}: {t}"
        );
    }
    assert!(report["provenance"]["machine"]["cores"].as_u64().unwrap() >= 1);
    // The figures as tables, in both the HTML and the Markdown.
    let mut tables = vec![
        "Inputs",
        "Per-class metrics (held-out rows)",
        "Slices named by the policy and the configuration",
        "Weakest segments of",
        "Expectations met (98 of 98)",
        "Load: requests and latency",
        "Weight bit flips",
        "Input faults",
        "Previous model against the new one",
    ];
    if qemu() {
        tables.push("Link faults (QEMU)");
    }
    for t in &tables {
        assert!(html.contains(t), "{t} in report.html");
        assert!(md.contains(t), "{t} in summary.md");
    }
    assert!(html.contains("p99 latency over the load run"));

    if let Some(dom) = rendered(&out.join("report.html")) {
        assert_eq!(
            dom.matches("<svg").count(),
            charts_expected,
            "charts in the rendered DOM"
        );
        assert!(
            dom.contains("Provenance") && dom.contains(&sha256sum(&root().join("data/wine.csv")))
        );
        for t in &tables {
            assert!(dom.contains(t), "{t} in the rendered DOM");
        }
    }
}

/// A configuration for a quick run on the bundled wine data (as mlprobe.toml, every training
/// row fitted: see its `val_split`): `extra` is appended.
fn quick_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let config = dir.join("mlprobe.toml");
    let data = root().join("data");
    std::fs::write(
        &config,
        format!(
            "data = \"{0}/wine.csv\"\nsuite = \"{0}/wine.suite.toml\"\nout = \"report\"\n[gate]\npolicy = \"{0}/wine.policy.toml\"\nlatency_samples = 100\n[train]\nval_split = 0\n[load]\nrequests = 400\nrps = 1000\n[ab]\nprevious = \"{0}/wine.previous.mlpb\"\n{extra}",
            data.display(),
        ),
    )
    .unwrap();
    config
}

#[test]
fn without_qemu_or_firmware_the_device_stage_is_skipped_and_the_host_results_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    // No QEMU: PATH holds nothing. No firmware: [device] firmware names a directory without
    // the crate (QEMU is looked for first, so with QEMU installed the firmware is the reason).
    let config = quick_config(
        dir.path(),
        &format!(
            "[device]\nfirmware = \"{}\"\n",
            empty.path().join("no-firmware").display()
        ),
    );
    let cases: Vec<(Option<&Path>, &str)> = if qemu() {
        vec![
            (Some(empty.path()), "qemu-system-arm not found on PATH"),
            (None, "no firmware crate at"),
        ]
    } else {
        vec![(Some(empty.path()), "qemu-system-arm not found on PATH")]
    };
    for (path, reason) in cases {
        let mut cmd = mlprobe(["run", "--config", config.to_str().unwrap()]);
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        let o = cmd.output().unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let banner = format!("1 stage skipped (device: {reason}");
        assert!(stdout(&o).starts_with("passed, "), "{}", stdout(&o));
        assert!(stdout(&o).contains(&banner), "{}", stdout(&o));
        let out = dir.path().join("report");
        let report: serde_json::Value =
            serde_json::from_str(&read(&out.join("report.json"))).unwrap();
        let stage = |name: &str| {
            report["stages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name)
                .unwrap()
                .clone()
        };
        let device = stage("device");
        assert_eq!(device["status"], "skipped");
        assert!(device["notes"][0].as_str().unwrap().starts_with(reason));
        // Load and chaos ran on the host and were judged; their device halves say why not.
        let load = stage("load");
        assert_eq!(load["status"], "passed", "{load}");
        assert_eq!(load["details"]["host"]["total"], 400);
        assert!(load["checks"].as_array().unwrap().len() >= 3);
        assert!(load["details"]["qemu"].is_null());
        assert!(load["notes"].to_string().contains(reason));
        let chaos = stage("chaos");
        assert_eq!(chaos["status"], "passed", "{chaos}");
        assert!(
            chaos["details"]["bitflip"]["resilience_score"]
                .as_f64()
                .is_some()
        );
        assert!(
            chaos["details"]["input"]["resilience_score"]
                .as_f64()
                .is_some()
        );
        assert!(chaos["details"]["link"].is_null());
        assert!(chaos["notes"].to_string().contains(reason));
        let md = read(&out.join("summary.md"));
        assert!(md.contains(&banner), "{md}");
        if let Some(dom) = rendered(&out.join("report.html")) {
            assert!(dom.contains(&banner));
            assert!(dom.contains("Load: requests and latency") && dom.contains("Input faults"));
        }
    }
}

/// The names of the report's training curves.
fn training_curves(report: &serde_json::Value) -> Vec<String> {
    report["charts"]["training"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_failing_gate_exits_1_and_says_which_and_report_re_renders() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("strict.toml");
    std::fs::write(&policy, "[thresholds]\nmin_accuracy = 0.999\n").unwrap();
    let config = dir.path().join("mlprobe.toml");
    let data = root().join("data");
    std::fs::write(
        &config,
        format!(
            "data = \"{0}/wine.csv\"\nsuite = \"{0}/wine.suite.toml\"\nout = \"report\"\n[gate]\npolicy = \"{1}\"\nlatency_samples = 100\n[device]\nenabled = false\n[load]\nenabled = false\n[chaos]\nenabled = false\n[ab]\nprevious = \"{0}/wine.previous.mlpb\"\n",
            data.display(),
            policy.display()
        ),
    )
    .unwrap();
    let o = run(["run", "--config", config.to_str().unwrap()]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("[eval  ] FAILED"), "{}", stderr(&o));
    let out = dir.path().join("report");
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("report.json"))).unwrap();
    assert_eq!(report["passed"], false);
    assert_eq!(report["stages"][2]["status"], "failed");
    // device, load, chaos (after slices).
    for skipped in [4, 5, 6] {
        assert_eq!(report["stages"][skipped]["status"], "skipped");
    }
    let checks = report["stages"][2]["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .any(|c| c["passed"] == false && c["name"].as_str().unwrap().contains("accuracy"))
    );
    // [train] defaults: a validation part of 0.1, its curves beside the training rows'.
    assert_eq!(
        training_curves(&report),
        [
            "loss (training rows)",
            "loss (validation rows)",
            "accuracy (training rows)",
            "accuracy (validation rows)"
        ]
    );
    let summary = report["stages"][1]["summary"].as_str().unwrap();
    assert!(
        summary.contains("12 of them for validation") && summary.contains("best epoch"),
        "{summary}"
    );
    let junit = read(&out.join("junit.xml"));
    assert!(junit.contains("<failure"));
    // The banner names the failed gate and the skipped stages with their reasons, in the page
    // as a browser renders it; the failed checks are open.
    let banner = "FAILED, 1 stage failed (eval), 3 stages skipped (device: disabled by [device] enabled = false in the configuration; load: [load] enabled = false; chaos: [chaos] enabled = false)";
    assert!(stdout(&o).starts_with(banner), "{}", stdout(&o));
    if let Some(dom) = rendered(&out.join("report.html")) {
        assert!(dom.contains(banner), "{dom}");
        assert!(dom.contains("<details open=\"\"><summary><b>eval</b>"));
        assert!(dom.contains("Per-class metrics (held-out rows)"));
        // The defaults hold a validation part out: its curves beside the training rows'.
        for curve in ["loss (validation rows)", "accuracy (validation rows)"] {
            assert!(dom.contains(curve), "{curve} in the rendered DOM");
        }
    }

    // Re-render from report.json into another directory.
    std::fs::remove_file(out.join("report.html")).unwrap();
    let again = dir.path().join("again");
    let o = run([
        "report",
        "--from",
        out.join("report.json").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "a failed run stays failed: {}", stderr(&o));
    assert!(read(&again.join("report.html")).contains("FAILED, 1 stage failed (eval)"));
    assert!(read(&again.join("summary.md")).contains("| eval | FAILED |"));
}

#[test]
fn bad_configuration_is_an_input_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "data = \"x.csv\"\n[train]\nepochz = 3\n").unwrap();
    let o = run(["run", "--config", config.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.toml:3:"), "{}", stderr(&o));
    let o = run(["report", "--from", config.to_str().unwrap()]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}
