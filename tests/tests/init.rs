//! End-to-end tests of `mlprobe init` (issue 16, item 7): a fresh directory and the user's data
//! to a passing `mlprobe run`; no file replaced; `run` without a configuration points at
//! `init`.

use mlprobe_tests::{code, data, json, mlprobe, run, stderr, stdout};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// The Done-when of item 7: `init` then `run` on breast_cancer.csv in a fresh directory.
#[test]
fn init_then_run_succeeds_on_breast_cancer_in_a_fresh_directory() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(data("breast_cancer.csv"), d.join("breast_cancer.csv")).unwrap();
    let o = mlprobe(["init", "--data", "breast_cancer.csv", "--label", "label"])
        .current_dir(d)
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for f in [
        "mlprobe.toml",
        "breast_cancer.suite.toml",
        "breast_cancer.policy.toml",
    ] {
        assert!(d.join(f).is_file(), "{f} not written");
        assert!(text.contains(f), "{f} not named: {text}");
    }
    assert!(text.contains("next: mlprobe run"), "{text}");
    let config = std::fs::read_to_string(d.join("mlprobe.toml")).unwrap();
    assert!(config.contains("data = \"breast_cancer.csv\""), "{config}");
    assert!(config.contains("enabled = false"), "device off: {config}");
    assert!(
        config.contains("qemu-system-arm"),
        "how to enable the device: {config}"
    );

    let o = mlprobe(["run", "--json"]).current_dir(d).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let report = json(&o);
    assert_eq!(report["passed"], true);
    let status = |name: &str| {
        report["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|st| st["name"] == name)
            .unwrap_or_else(|| panic!("no stage {name}"))["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for st in ["expect", "train", "eval", "load", "chaos"] {
        assert_eq!(status(st), "passed", "{st}");
    }
    assert_eq!(status("device"), "skipped");
    for f in ["report.json", "report.html", "junit.xml", "summary.md"] {
        assert!(d.join("out/report").join(f).is_file(), "{f}");
    }
}

#[test]
fn init_never_replaces_a_file_and_writes_nothing_when_it_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("proj");
    let wine = data("wine.csv");
    let first = run(["init", "--data", s(&wine), "--dir", s(&proj), "--json"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let j = json(&first);
    assert_eq!(j["classes"], 3);
    assert_eq!(j["rows"], 178);
    // wine.csv is outside proj/: the configuration names it absolutely and runs from anywhere.
    let config = std::fs::read_to_string(proj.join("mlprobe.toml")).unwrap();
    assert!(config.contains("wine.csv"), "{config}");

    // Only the policy is left: init refuses, naming it, and writes none of the others.
    std::fs::remove_file(proj.join("mlprobe.toml")).unwrap();
    std::fs::remove_file(proj.join("wine.suite.toml")).unwrap();
    let policy = std::fs::read(proj.join("wine.policy.toml")).unwrap();
    let again = run(["init", "--data", s(&wine), "--dir", s(&proj)]);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    assert!(
        stderr(&again).contains("wine.policy.toml: already exists"),
        "{}",
        stderr(&again)
    );
    assert!(!proj.join("mlprobe.toml").exists());
    assert!(!proj.join("wine.suite.toml").exists());
    assert_eq!(
        std::fs::read(proj.join("wine.policy.toml")).unwrap(),
        policy
    );

    // A missing label column: exit 2 naming it, no directory made.
    let fresh = dir.path().join("fresh");
    let o = run([
        "init",
        "--data",
        s(&wine),
        "--label",
        "y",
        "--dir",
        s(&fresh),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no label column `y`"), "{}", stderr(&o));
    assert!(!fresh.exists());
}

#[test]
fn run_without_mlprobe_toml_is_exit_2_pointing_at_init() {
    let dir = tempfile::tempdir().unwrap();
    let o = mlprobe(["run"]).current_dir(dir.path()).output().unwrap();
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("mlprobe.toml: no such file"), "{e}");
    assert!(e.contains("mlprobe init --data"), "{e}");
    assert!(!e.contains("os error"), "{e}");
    let o = run(["run", "--config", s(&dir.path().join("sub/cfg.toml"))]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--dir"), "{}", stderr(&o));
}
