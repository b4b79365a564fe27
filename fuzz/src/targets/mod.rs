//! The fuzz targets' bodies, one module per target, each a `run(&[u8])` that must not panic.
//!
//! Two callers: the cargo-fuzz binaries in `fuzz/fuzz_targets/` (coverage-guided, nightly,
//! `scripts/fuzz.sh`) and the stable smoke test `tests/tests/fuzz_smoke.rs` of the workspace,
//! which includes this directory by path and runs every target on its committed corpus and on
//! seeded mutations of it in every CI run. Each module names only crates that both callers have:
//! `mlprobe`, `mlprobe_core`, `cobs` and `serde`.

mod common;
pub mod config;
pub mod csv;
pub mod frame;
pub mod import;
pub mod model;
pub mod onnx;
pub mod server;
pub mod suite;
pub mod tflite;
