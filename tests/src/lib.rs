//! Helpers for mlprobe's end-to-end tests: find (or build) the real `mlprobe` binary and the
//! bundled data, and run commands against them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::SystemTime;

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

/// Newest modification time of the files below `dir` (recursively).
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut latest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let t = if path.is_dir() {
            newest(&path)
        } else {
            entry.metadata().ok()?.modified().ok()
        };
        latest = latest.max(t);
    }
    latest
}

/// Path of the `mlprobe` binary of the current profile.
///
/// `cargo test --workspace` builds it first (the `mlprobe` package has integration tests of its
/// own), and that build is the one to use: a nested `cargo build -p mlprobe` resolves features
/// differently from the workspace build and would rebuild the binary. So it is built here only
/// when it is missing or older than the sources of `core/` and `host/` (for example when this
/// package's tests run alone after an edit).
pub fn bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/<test-exe> → target/<profile>/mlprobe
        let exe = std::env::current_exe().expect("current exe");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let path = profile_dir.join(format!("mlprobe{}", std::env::consts::EXE_SUFFIX));
        let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let sources = ["core", "host"]
            .iter()
            .filter_map(|d| newest(&root().join(d)))
            .max();
        if built.is_some() && built >= sources {
            return path;
        }
        let release = profile_dir.file_name().is_some_and(|n| n == "release");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .args(["build", "--quiet", "-p", "mlprobe", "--bin", "mlprobe"])
            .current_dir(root());
        if release {
            cargo.arg("--release");
        }
        if let Some(target_dir) = profile_dir.parent() {
            cargo.env("CARGO_TARGET_DIR", target_dir);
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "cargo build -p mlprobe failed");
        path
    })
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
