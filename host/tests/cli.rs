//! The binary's own smoke test. Its presence also makes `cargo test --workspace` build the
//! `mlprobe` binary before the end-to-end tests of `mlprobe-tests` run.

use std::process::Command;

#[test]
fn help_lists_the_subcommands() {
    let out = Command::new(env!("CARGO_BIN_EXE_mlprobe"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for sub in ["train", "predict", "eval", "export", "import"] {
        assert!(text.contains(sub), "--help lacks `{sub}`");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_mlprobe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no subcommand is a usage error");
}
