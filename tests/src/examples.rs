//! Builds of the firmware examples (`examples/c-firmware`, `examples/rust-firmware`) and of the
//! agent's C library, for the tests that validate them in QEMU and the benchmark that prints
//! what the agent adds to a firmware.

use crate::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cmd`, panicking with its output when it fails.
fn check(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The agent's static library for the Cortex-M4F (`agent/c`, built by cargo when stale).
pub fn agent_c_library() -> PathBuf {
    let mut cargo = Command::new("cargo");
    cargo.current_dir(root().join("agent/c")).args([
        "build",
        "--release",
        "--target",
        "thumbv7em-none-eabihf",
    ]);
    check(cargo, "building the agent's C library (agent/c)");
    root().join("agent/c/target/thumbv7em-none-eabihf/release/libmlprobe_agent.a")
}

/// `mlprobe export MODEL --format c --out HEADER` with the binary under test.
pub fn export_c(model: &Path, header: &Path) {
    let mut export = Command::new(crate::bin());
    export
        .arg("export")
        .arg(model)
        .args(["--format", "c", "--out"])
        .arg(header);
    check(export, "mlprobe export --format c");
}

/// The C example built with `make` into `build` for the model header `header` and the agent
/// library `library`, with extra make variables (`FAULT=1`, `NO_AGENT=1`): its ELF.
pub fn c_firmware(header: &Path, library: &Path, build: &Path, vars: &[&str]) -> PathBuf {
    let mut make = Command::new("make");
    make.current_dir(root().join("examples/c-firmware"))
        .arg(format!("MODEL_H={}", header.display()))
        .arg(format!("AGENT_LIB={}", library.display()))
        .arg(format!("BUILD={}", build.display()))
        .args(vars);
    check(make, &format!("make {vars:?} in examples/c-firmware"));
    build.join("c-firmware.elf")
}

/// The Rust example built by cargo for `model` with `features` (`fault`, `no-agent`), its ELF
/// copied to `out` (the builds share the example's target directory).
pub fn rust_firmware(model: &Path, features: &[&str], out: &Path) -> PathBuf {
    let dir = root().join("examples/rust-firmware");
    let mut cargo = Command::new("cargo");
    cargo
        .current_dir(&dir)
        .env("MLPROBE_MODEL", model)
        .args(["build", "--release"]);
    if !features.is_empty() {
        cargo.arg("--features").arg(features.join(","));
    }
    check(
        cargo,
        &format!("cargo build {features:?} in examples/rust-firmware"),
    );
    let elf = dir.join("target/thumbv7em-none-eabihf/release/rust-firmware");
    std::fs::copy(&elf, out).unwrap_or_else(|e| panic!("copying {}: {e}", elf.display()));
    out.to_path_buf()
}
