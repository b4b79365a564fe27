//! The pipeline behind `mlprobe run`: the whole testing pyramid of the seed notebook on one dataset, from data
//! expectations to an A/B analysis, into a report directory (`report.html`, `report.json`,
//! `junit.xml`, `summary.md`).
//!
//! Stages, in order (each says what it did, how long it took and whether it passed):
//! 1. `expect` — the data against its expectation suite (`core::expect`);
//! 2. `train` — the classifier, stratified split, held-out rows kept aside;
//! 3. `eval` — held-out metrics against the policy's thresholds, slices, and a baseline (the
//!    previous model's metrics on the same rows unless a baseline file is given);
//!    Then `slices` — the new model's weak segments on the held-out rows (`mlprobe slices`):
//!    fails when a segment's accuracy is significantly below the rest's;
//! 4. `device` — the new model compiled into the Cortex-M4 firmware and validated bit for bit in
//!    QEMU (skipped, with a note, when `qemu-system-arm` is missing or `--no-device` is given);
//! 5. `load` and 6. `chaos` — when the configuration enables them (see `mlprobe load`,
//!    `mlprobe chaos`);
//! 7. `ab` — the previous model against the new one on the held-out rows, paired as in
//!    `mlprobe compare` (McNemar's test, the accuracy difference's interval), with each
//!    model's Beta posterior of its accuracy.
//!
//! Paths in the configuration are relative to the configuration file.
//!
//! ```no_run
//! use mlprobe::pipeline::{Config, RunOptions, run};
//! # fn main() -> mlprobe::error::Result<()> {
//! let opts = RunOptions::new(Config::load("mlprobe.toml".as_ref())?, "mlprobe.toml".into());
//! let report = run(&opts, |stage| eprintln!("{}: {}", stage.name, stage.summary))?;
//! println!("passed: {}", report.passed());
//! # Ok(()) }
//! ```

mod config;
mod device;
mod slices;
mod stages;

pub use config::{
    AbConfig, ChaosConfig, Config, DeviceConfig, GateConfig, LoadConfig, REFERENCE, REFERENCE_PATH,
    SlicesConfig, TrainConfig,
};

use crate::error::{Error, Result};
use crate::model_io;
use crate::report::{Case, Report, RunInfo, StageStatus, Suite as Stage};
use crate::train;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

/// A pipeline run: the configuration, where the report goes, whether the device may be used.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// The configuration (paths already relative to its file).
    pub config: Config,
    /// The configuration file (recorded in the report).
    pub config_path: PathBuf,
    /// The report directory.
    pub out: PathBuf,
    /// Skip the on-device stages even when QEMU is installed.
    pub no_device: bool,
}

impl RunOptions {
    /// `config` (read from `config_path`) into its own `out` directory, device stages on.
    pub fn new(config: Config, config_path: PathBuf) -> Self {
        let out = config.out.clone();
        Self {
            config,
            config_path,
            out,
            no_device: false,
        }
    }
}

/// What the stages hand each other.
pub(crate) struct State {
    pub(crate) fitted: Option<train::Fitted>,
    pub(crate) model_path: PathBuf,
    pub(crate) previous: Option<model_io::HostModel>,
    /// Whether the device halves of the stages run, and why not: QEMU missing, the firmware
    /// crate missing, `--no-device`, or the device stage itself errored.
    pub(crate) device: std::result::Result<(), String>,
}

fn stage_of(
    name: &str,
    start: Instant,
    result: Result<Stage>,
    progress: &mut impl FnMut(&Stage),
) -> Stage {
    let mut st = result.unwrap_or_else(|e| Stage {
        properties: Vec::new(),
        name: name.into(),
        status: Some(StageStatus::Error),
        duration_s: 0.0,
        summary: keys_for_flags(&e.to_string()),
        cases: Vec::new(),
        notes: Vec::new(),
        details: serde_json::Value::Null,
    });
    st.duration_s = start.elapsed().as_secs_f64();
    progress(&st);
    st
}

/// The configuration keys that stand for the subcommands' flags, as `mlprobe run` sets them.
const FLAG_KEYS: [(&str, &str); 13] = [
    ("--hidden", "[train] hidden"),
    ("--epochs", "[train] epochs"),
    ("--lr", "[train] lr"),
    ("--batch", "[train] batch"),
    ("--split-seed", "[train] split_seed"),
    ("--seed", "[train] seed"),
    ("--test-split", "[train] test_split"),
    ("--val-split", "[train] val_split"),
    ("--tol", "[train] tol"),
    ("--firmware", "[device] firmware"),
    ("--policy", "[gate] policy"),
    ("--baseline", "[gate] baseline"),
    ("--label", "label"),
];

/// An error message of a library call, its hints naming the configuration keys `mlprobe run`
/// reads instead of the subcommands' flags, which `run` does not have.
fn keys_for_flags(message: &str) -> String {
    let mut out = message.to_string();
    for (flag, key) in FLAG_KEYS {
        // Whole flags only: `--seed` is not the start of `--split-seed`'s replacement.
        let mut from = 0;
        while let Some(k) = out[from..].find(flag).map(|k| k + from) {
            let end = k + flag.len();
            let whole = !out[end..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-');
            if whole && (k == 0 || !out[..k].ends_with(|c: char| c.is_ascii_alphanumeric())) {
                let with = format!("`{key}` in the configuration");
                out.replace_range(k..end, &with);
                from = k + with.len();
            } else {
                from = end;
            }
        }
    }
    out
}

pub(crate) fn verdict(checks: &[Case]) -> StageStatus {
    if checks.iter().all(|c| c.is_ok()) {
        StageStatus::Passed
    } else {
        StageStatus::Failed
    }
}

pub(crate) fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

pub(crate) fn skipped(name: &str, summary: &str, note: String) -> Stage {
    Stage {
        properties: Vec::new(),
        name: name.into(),
        status: Some(StageStatus::Skipped),
        duration_s: 0.0,
        summary: summary.into(),
        cases: Vec::new(),
        notes: vec![note],
        details: serde_json::Value::Null,
    }
}

/// Opens the files `cfg` names before any stage runs: a data file that is missing, a
/// directory, empty or not CSV text (its header row is read), or a suite, policy or baseline
/// that does not load is bad configuration (exit 2, located in that file), not a failed gate
/// (issue #15). A bad row deeper in the data is still the `expect` and `train` stages' error.
fn check_inputs(cfg: &Config) -> Result<()> {
    crate::data::Scanner::open(&cfg.data)?;
    if let Some(p) = &cfg.suite {
        crate::suite::Suite::load(p)?;
    }
    if let Some(p) = &cfg.gate.policy {
        crate::eval::Policy::load(p)?;
    }
    if let Some(p) = &cfg.gate.baseline {
        crate::eval::Baseline::load(p)?;
    }
    Ok(())
}

/// A stage after `train`: each needs the trained model.
type Later = fn(&Config, &RunOptions, &mut State, &mut Report) -> Result<Stage>;

/// The stages after `train`, in order.
const LATER: [(&str, Later); 6] = [
    ("eval", stages::stage_eval),
    ("slices", slices::stage_slices),
    ("device", device::stage_device),
    ("load", device::stage_load),
    ("chaos", device::stage_chaos),
    ("ab", stages::stage_ab),
];

/// The files a run judged, with their roles, for its provenance.
fn inputs<'a>(opts: &'a RunOptions, state: &'a State) -> Vec<(&'a str, &'a Path)> {
    let cfg = &opts.config;
    let mut files = vec![
        ("config", opts.config_path.as_path()),
        ("data", cfg.data.as_path()),
    ];
    for (role, p) in [
        ("suite", &cfg.suite),
        ("policy", &cfg.gate.policy),
        ("baseline", &cfg.gate.baseline),
        ("previous model", &cfg.ab.previous),
    ] {
        if let Some(p) = p {
            files.push((role, p.as_path()));
        }
    }
    if state.fitted.is_some() {
        files.push(("model", state.model_path.as_path()));
    }
    files
}

/// Runs every stage in order and never throws a stage's result away for another's: a stage
/// that cannot run is `error` with its message and the others still run; a stage that needs
/// what an earlier one did not produce (the model, the device) is `skipped` with the reason.
/// Writes `report.json`, `report.html`, `junit.xml` and `summary.md` into `opts.out`, with the
/// run's provenance (every input's SHA-256, the commit, the machine, start and end times), and
/// returns the report. `progress` sees each stage as it ends.
pub fn run(opts: &RunOptions, mut progress: impl FnMut(&Stage)) -> Result<Report> {
    let cfg = &opts.config;
    let out = &opts.out;
    check_inputs(cfg)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let previous = cfg.ab.previous.as_deref().map(model_io::load).transpose()?;
    let started_unix_s = unix_now();
    let mut report = Report {
        name: "mlprobe run".into(),
        run: Some(RunInfo {
            mlprobe: env!("CARGO_PKG_VERSION").into(),
            started_unix_s,
            started: crate::report::iso8601_utc(started_unix_s),
            config: opts.config_path.display().to_string(),
            dataset: cfg.data.display().to_string(),
            ..RunInfo::default()
        }),
        suites: Vec::new(),
        charts: Default::default(),
    };
    let mut state = State {
        fitted: None,
        model_path: out.join("model.mlpb"),
        previous,
        device: device::available(cfg, opts),
    };
    let p = &mut progress;
    let t = Instant::now();
    let st = stage_of("expect", t, stages::stage_expect(cfg), p);
    report.suites.push(st);
    let t = Instant::now();
    let r = stages::stage_train(cfg, out, &mut state, &mut report);
    report.suites.push(stage_of("train", t, r, p));
    for (name, stage) in LATER {
        let t = Instant::now();
        let r = if state.fitted.is_some() {
            stage(cfg, opts, &mut state, &mut report)
        } else {
            Ok(skipped(
                name,
                "not run: no model",
                "needs the trained model, and the train stage did not produce one".into(),
            ))
        };
        let st = stage_of(name, t, r, p);
        if name == "device" && st.status() == StageStatus::Error {
            state.device = Err(format!("the device stage errored: {}", st.summary));
        }
        report.suites.push(st);
    }
    let provenance = crate::provenance::Provenance::collect(inputs(opts, &state));
    if let Some(run) = &mut report.run {
        run.finished = crate::report::iso8601_utc(unix_now());
        run.provenance = provenance;
    }
    report.write_dir(out, &crate::report::ALL)?;
    Ok(report)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_hints_name_configuration_keys_not_flags() {
        assert_eq!(
            keys_for_flags("--split-seed and --seed differ; --test-split 1.5 is out of range"),
            "`[train] split_seed` in the configuration and `[train] seed` in the configuration \
             differ; `[train] test_split` in the configuration 1.5 is out of range"
        );
        assert_eq!(
            keys_for_flags("pass --firmware DIR or set MLPROBE_FIRMWARE"),
            "pass `[device] firmware` in the configuration DIR or set MLPROBE_FIRMWARE"
        );
        assert_eq!(keys_for_flags("--lrx stays"), "--lrx stays");
    }
}
