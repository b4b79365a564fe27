//! Run configuration parsing (`mlprobe::pipeline::Config::parse`, `mlprobe.toml`), and the
//! other configuration files `mlprobe run` reads: the gate policy (`eval::Policy::parse`, TOML)
//! and the baseline (`eval::Baseline::parse`, JSON). No panic on any text; errors render.
use mlprobe::eval::{Baseline, Policy};
use mlprobe::pipeline::Config;
use std::path::Path;

/// One execution of the `config` target.
pub fn run(bytes: &[u8]) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Config::parse(Path::new("dir/mlprobe.toml"), text) {
        Ok(c) => assert!(c.data.starts_with("dir") || c.data.is_absolute()),
        Err(e) => drop(e.to_string()),
    }
    if let Err(e) = Policy::parse(Path::new("policy.toml"), text) {
        drop(e.to_string());
    }
    if let Err(e) = Baseline::parse(Path::new("baseline.json"), text) {
        drop(e.to_string());
    }
}
