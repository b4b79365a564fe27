//! Helpers for mlprobe's end-to-end tests: the real `mlprobe` binary, the bundled data, and one
//! policy for tests that need an external tool.

pub mod examples;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A bundled dataset, `data/<name>`.
pub fn data(name: &str) -> PathBuf {
    root().join("data").join(name)
}

/// Path of the `mlprobe` binary under test.
///
/// The end-to-end tests are integration tests of the `mlprobe` package (`host/Cargo.toml`
/// lists them from this folder), so cargo builds the binary first and names it in
/// `CARGO_BIN_EXE_mlprobe` when it runs them.
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        std::env::var_os("CARGO_BIN_EXE_mlprobe")
            .map(PathBuf::from)
            .expect("CARGO_BIN_EXE_mlprobe is unset: run the tests with `cargo test -p mlprobe`")
    })
}

/// Whether an external `tool` a test needs (QEMU, a browser) can be used: one policy for every
/// test. Present: `true`. Missing under `CI=true`: the test fails, since CI installs every tool
/// (`.ci/run`) and a skipped check there would pass silently. Missing elsewhere: prints why the
/// check is skipped and returns `false`.
pub fn require(tool: &str, present: bool, install: &str) -> bool {
    if present {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{tool} is not installed, and CI must run every check ({install})"
    );
    eprintln!("SKIPPED: {tool} is not installed ({install})");
    false
}

/// QEMU's Arm system emulator, by the [`require`] policy.
pub fn qemu() -> bool {
    let present = Command::new("qemu-system-arm")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    require("qemu-system-arm", present, "./scripts/setup.sh installs it")
}

/// Arm's GCC for bare-metal targets and make (the C firmware example), by the [`require`]
/// policy.
pub fn arm_gcc() -> bool {
    let present = ["arm-none-eabi-gcc", "make"].iter().all(|tool| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    require(
        "arm-none-eabi-gcc and make",
        present,
        "./scripts/setup.sh installs them (Debian: gcc-arm-none-eabi, make)",
    )
}

/// The Python of the reference virtualenv (`.venv/`, made by `./scripts/setup.sh` from
/// `tests/reference/requirements.txt`), by the [`require`] policy: `Some` when it can import
/// scipy and mpmath.
pub fn python() -> Option<PathBuf> {
    let python = std::env::var_os("MLPROBE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv").join("bin").join("python"));
    let present = Command::new(&python)
        .args(["-c", "import numpy, scipy, mpmath"])
        .output()
        .is_ok_and(|o| o.status.success());
    require(
        "the reference Python (.venv with scipy and mpmath)",
        present,
        "./scripts/setup.sh creates it",
    )
    .then_some(python)
}

/// The seed of a randomized reference test: `MLPROBE_REFERENCE_SEED` when set (to replay a
/// run), else from the clock; printed either way.
pub fn reference_seed() -> u64 {
    let seed = std::env::var("MLPROBE_REFERENCE_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(14, |d| d.as_nanos() as u64 % 1_000_000_007)
        });
    eprintln!("reference seed {seed} (replay: MLPROBE_REFERENCE_SEED={seed})");
    seed
}

/// A `Command` for the `mlprobe` binary with `args`.
pub fn mlprobe<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Command::new(bin());
    c.args(args).current_dir(root());
    c
}

/// Runs `mlprobe args…` and returns its output.
pub fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    mlprobe(args).output().expect("run mlprobe")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout parsed as one JSON document (panics with stderr when it is not).
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

/// The exit code (panics when the process was killed by a signal).
pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal; stderr:\n{}", stderr(o)))
}
