//! The configuration of `mlprobe run` (`mlprobe.toml`): the data, its suite, and one table per
//! stage. Paths are relative to the configuration file.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// `[train]` of the configuration (the flags of `mlprobe train`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Hidden units.
    pub hidden: u16,
    /// Maximum epochs.
    pub epochs: usize,
    /// Learning rate.
    pub lr: f32,
    /// Batch size.
    pub batch: u32,
    /// Seed of the weights and shuffles.
    pub seed: u64,
    /// Seed of the split.
    pub split_seed: u64,
    /// Held-out fraction.
    pub test_split: f64,
    /// Early-stopping tolerance (0: every epoch).
    pub tol: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: 32,
            epochs: 200,
            lr: 0.01,
            batch: 32,
            seed: 0,
            split_seed: 42,
            test_split: 0.3,
            tol: 1e-4,
        }
    }
}

/// `[gate]` of the configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateConfig {
    /// Policy file (thresholds, regression allowance, slices).
    pub policy: Option<PathBuf>,
    /// Baseline file; without it, the previous model's metrics on the same rows.
    pub baseline: Option<PathBuf>,
    /// Extra slices.
    pub slices: Vec<String>,
    /// Timed single-row inferences for latency.
    pub latency_samples: Option<usize>,
}

/// `[device]` of the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceConfig {
    /// Run the on-device stage (when QEMU is installed).
    pub enabled: bool,
    /// The firmware directory.
    pub firmware: Option<PathBuf>,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            firmware: None,
        }
    }
}

/// `[load]` of the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Run the load stage.
    pub enabled: bool,
    /// Open-model arrival rate on the host (requests per second).
    pub rps: f64,
    /// Requests on the host.
    pub requests: u64,
    /// Gate on the host's p99 latency (µs, measured from each request's due time).
    pub max_p99_us: f64,
    /// Arrival rate against the QEMU device.
    pub device_rps: f64,
    /// Requests against the QEMU device.
    pub device_requests: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rps: 2000.0,
            requests: 4000,
            max_p99_us: 50_000.0,
            device_rps: 50.0,
            device_requests: 200,
        }
    }
}

/// `[chaos]` of the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChaosConfig {
    /// Run the chaos stage.
    pub enabled: bool,
    /// Bit-error rates of the bit-flip sweep.
    pub ber: Vec<f64>,
    /// Gate on the bit-flip resilience score (agreement with the fault-free model, averaged
    /// over the sweep).
    pub min_bitflip_score: f64,
    /// Damaged frames mixed into valid traffic on the QEMU link.
    pub link_faults: u64,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            ber: vec![1e-5, 1e-4, 1e-3, 1e-2],
            min_bitflip_score: 0.5,
            link_faults: 200,
        }
    }
}

/// `[ab]` of the configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbConfig {
    /// The previous model, compared with the new one.
    pub previous: Option<PathBuf>,
    /// Significance level of the z-test.
    pub alpha: Option<f64>,
}

/// The configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The dataset (CSV).
    pub data: PathBuf,
    /// Its label column.
    #[serde(default = "default_label")]
    pub label: String,
    /// Its expectation suite.
    pub suite: Option<PathBuf>,
    /// Report directory.
    #[serde(default = "default_out")]
    pub out: PathBuf,
    /// Training.
    #[serde(default)]
    pub train: TrainConfig,
    /// The gate.
    #[serde(default)]
    pub gate: GateConfig,
    /// The device.
    #[serde(default)]
    pub device: DeviceConfig,
    /// Load tests.
    #[serde(default)]
    pub load: LoadConfig,
    /// Chaos experiments.
    #[serde(default)]
    pub chaos: ChaosConfig,
    /// The A/B analysis.
    #[serde(default)]
    pub ab: AbConfig,
}

fn default_label() -> String {
    "label".into()
}

fn default_out() -> PathBuf {
    PathBuf::from("out/report")
}

impl Config {
    /// Reads a configuration; relative paths become relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses a configuration's text (what [`load`](Self::load) does after reading `path`,
    /// which names the file in errors and anchors relative paths).
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let mut c: Config = toml::from_str(text).map_err(|e| Error::toml(path, text, &e))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        fix(&mut c.data);
        fix(&mut c.out);
        for p in [
            &mut c.suite,
            &mut c.gate.policy,
            &mut c.gate.baseline,
            &mut c.device.firmware,
            &mut c.ab.previous,
        ]
        .into_iter()
        .flatten()
        {
            fix(p);
        }
        Ok(c)
    }
}
