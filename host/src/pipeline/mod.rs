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
    AbConfig, ChaosConfig, Config, DeviceConfig, GateConfig, LoadConfig, SlicesConfig, TrainConfig,
};

use crate::error::{Error, Result};
use crate::model_io;
use crate::report::{Case, Report, RunInfo, StageStatus, Suite as Stage};
use crate::train;
use std::path::PathBuf;
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
        summary: e.to_string(),
        cases: Vec::new(),
        notes: Vec::new(),
        details: serde_json::Value::Null,
    });
    st.duration_s = start.elapsed().as_secs_f64();
    progress(&st);
    st
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

/// Runs every stage in order (a stage that cannot run is `error`, and the others still run),
/// writes `report.json`, `report.html`, `junit.xml` and `summary.md` into `opts.out`, and
/// returns the report. `progress` sees each stage as it ends.
pub fn run(opts: &RunOptions, mut progress: impl FnMut(&Stage)) -> Result<Report> {
    let cfg = &opts.config;
    let out = &opts.out;
    check_inputs(cfg)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let previous = cfg.ab.previous.as_deref().map(model_io::load).transpose()?;
    let mut report = Report {
        name: "mlprobe run".into(),
        run: Some(RunInfo {
            mlprobe: env!("CARGO_PKG_VERSION").into(),
            started_unix_s: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            config: opts.config_path.display().to_string(),
            dataset: cfg.data.display().to_string(),
        }),
        suites: Vec::new(),
        charts: Default::default(),
    };
    let mut state = State {
        fitted: None,
        model_path: out.join("model.mlpb"),
        previous,
    };
    let p = &mut progress;
    let t = Instant::now();
    let st = stage_of("expect", t, stages::stage_expect(cfg), p);
    report.suites.push(st);
    let t = Instant::now();
    let r = stages::stage_train(cfg, out, &mut state, &mut report);
    report.suites.push(stage_of("train", t, r, p));
    let t = Instant::now();
    let r = stages::stage_eval(cfg, &mut state, &mut report);
    report.suites.push(stage_of("eval", t, r, p));
    let t = Instant::now();
    let r = slices::stage_slices(cfg, &state);
    report.suites.push(stage_of("slices", t, r, p));
    let t = Instant::now();
    let r = device::stage_device(cfg, opts, &state, &mut report);
    report.suites.push(stage_of("device", t, r, p));
    let t = Instant::now();
    let r = device::stage_load(cfg, opts, &state);
    report.suites.push(stage_of("load", t, r, p));
    let t = Instant::now();
    let r = device::stage_chaos(cfg, opts, &state, &mut report);
    report.suites.push(stage_of("chaos", t, r, p));
    let t = Instant::now();
    let r = stages::stage_ab(cfg, &state, &mut report);
    report.suites.push(stage_of("ab", t, r, p));
    report.write_dir(out, &crate::report::ALL)?;
    Ok(report)
}
