//! The configuration of `mlprobe run` (`mlprobe.toml`): the data, its suite, and one table per
//! stage. Paths are relative to the configuration file. Every key, with its default, is in
//! `docs/mlprobe.reference.toml`, which `mlprobe run --help` prints (a test keeps the two in
//! step).

use crate::error::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize};
use std::path::{Path, PathBuf};

/// Values checked against the ranges of the flags they stand for while the file is read, so a
/// value out of range is an error at its file, line and column (the span of the value).
mod range {
    use super::{Deserialize, Deserializer};
    use serde::de::Error as _;

    fn check<'de, D, T>(d: D, ok: impl Fn(&T) -> bool, range: &str) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + std::fmt::Display,
    {
        let v = T::deserialize(d)?;
        if ok(&v) {
            Ok(v)
        } else {
            Err(D::Error::custom(format!(
                "{v} is out of range: expected {range}"
            )))
        }
    }

    macro_rules! ranged {
        ($($(#[$doc:meta])* $name:ident: $t:ty, |$v:ident| $ok:expr, $range:expr;)*) => {$(
            $(#[$doc])*
            pub fn $name<'de, D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                check(d, |&$v: &$t| $ok, $range)
            }
        )*};
    }

    use crate::load::{MAX_P99_US, MAX_RPS};
    use crate::train::{MAX_LR, MAX_TOL};

    /// `hidden`: one width (`32`) or a list of them (`[64, 32]`), each 1 to 256, 1 to 7 layers.
    pub fn hidden<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u16>, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Widths {
            One(u16),
            Many(Vec<u16>),
        }
        let v = match Widths::deserialize(d)
            .map_err(|_| D::Error::custom("expected a number of units or a list of them"))?
        {
            Widths::One(w) => vec![w],
            Widths::Many(v) => v,
        };
        let widths: Vec<usize> = v.iter().map(|&w| w.into()).collect();
        crate::train::check_hidden(&widths)
            .map_err(|m| D::Error::custom(m.replacen("--hidden", "hidden =", 1)))?;
        Ok(v)
    }

    ranged! {
        /// A count of at least one.
        at_least_one_usize: usize, |v| v >= 1, "1 or more";
        /// A count of at least one.
        at_least_one_u32: u32, |v| v >= 1, "1 or more";
        /// A count of at least one.
        at_least_one_u64: u64, |v| v >= 1, "1 or more";
        /// `lr`: above 0, at most `MAX_LR`.
        lr: f32, |v| v > 0.0 && v <= MAX_LR, &format!("a number above 0 and at most {MAX_LR}");
        /// `tol`: 0 to `MAX_TOL`.
        tol: f32, |v| (0.0..=MAX_TOL).contains(&v), &format!("a number from 0 to {MAX_TOL}");
        /// `test_split`: 0 to below 1.
        test_split: f64, |v| (0.0..1.0).contains(&v), "a number from 0 to below 1";
        /// `val_split`: 0 to below 1.
        val_split: f64, |v| (0.0..1.0).contains(&v), "a number from 0 to below 1";
        /// A fraction: 0 to 1.
        fraction: f64, |v| (0.0..=1.0).contains(&v), "a number from 0 to 1";
        /// A rate: above 0, at most `MAX_RPS`.
        rps: f64, |v| v > 0.0 && v <= MAX_RPS, &format!("a number above 0 and at most {MAX_RPS}");
        /// A p99 limit in µs: 0 to `MAX_P99_US`.
        p99_us: f64, |v| (0.0..=MAX_P99_US).contains(&v), &format!("a number from 0 to {MAX_P99_US}");
        /// A significance level: strictly between 0 and 1.
        alpha: f64, |v| v > 0.0 && v < 1.0, "a number above 0 and below 1";
        /// A non-inferiority margin: 0 to below 1.
        margin: f64, |v| (0.0..1.0).contains(&v), "a number from 0 to below 1";
    }

    /// Optional `latency_samples`: 1 or more.
    pub fn latency_samples<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        at_least_one_usize(d).map(Some)
    }

    /// Optional `margin`.
    pub fn opt_margin<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        margin(d).map(Some)
    }

    /// Optional `alpha`.
    pub fn opt_alpha<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        alpha(d).map(Some)
    }

    /// Bit-error rates: each 0 to 1.
    pub fn bers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        let v = Vec::<f64>::deserialize(d)?;
        match v.iter().find(|b| !(0.0..=1.0).contains(*b)) {
            Some(b) => Err(D::Error::custom(format!(
                "bit-error rate {b} is out of range: expected a number from 0 to 1"
            ))),
            None => Ok(v),
        }
    }
}

/// `[train]` of the configuration (the flags of `mlprobe train`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Units of each hidden layer: `32` or `[64, 32]`; 1 to 7 layers of 1 to 256 units.
    #[serde(deserialize_with = "range::hidden")]
    pub hidden: Vec<u16>,
    /// Maximum epochs, 1 or more.
    #[serde(deserialize_with = "range::at_least_one_usize")]
    pub epochs: usize,
    /// Learning rate, above 0 and at most 10.
    #[serde(deserialize_with = "range::lr")]
    pub lr: f32,
    /// Batch size, 1 or more (clamped to the training rows).
    #[serde(deserialize_with = "range::at_least_one_u32")]
    pub batch: u32,
    /// Seed of the weights and shuffles.
    pub seed: u64,
    /// Seed of the split.
    pub split_seed: u64,
    /// Held-out fraction, 0 to below 1.
    #[serde(deserialize_with = "range::test_split")]
    pub test_split: f64,
    /// Fraction of the training rows held out as the validation part that early stopping
    /// watches, 0 (stop on the training loss) to below 1.
    #[serde(deserialize_with = "range::val_split")]
    pub val_split: f64,
    /// Early-stopping tolerance (0: every epoch), 0 to 1e6.
    #[serde(deserialize_with = "range::tol")]
    pub tol: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            hidden: vec![32],
            epochs: 200,
            lr: 0.01,
            batch: 32,
            seed: 0,
            split_seed: 42,
            test_split: 0.3,
            val_split: 0.1,
            tol: 1e-4,
        }
    }
}

/// `[gate]` of the configuration.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateConfig {
    /// Policy file (thresholds, regression allowance, slices).
    pub policy: Option<PathBuf>,
    /// Baseline file; without it, the previous model's metrics on the same rows.
    pub baseline: Option<PathBuf>,
    /// Extra slices.
    pub slices: Vec<String>,
    /// Timed single-row inferences for latency, 1 or more.
    #[serde(deserialize_with = "range::latency_samples")]
    pub latency_samples: Option<usize>,
}

/// `[device]` of the configuration.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoadConfig {
    /// Run the load stage.
    pub enabled: bool,
    /// Open-model arrival rate on the host (requests per second), above 0, at most 1e7.
    #[serde(deserialize_with = "range::rps")]
    pub rps: f64,
    /// Requests on the host, 1 or more.
    #[serde(deserialize_with = "range::at_least_one_u64")]
    pub requests: u64,
    /// Gate on the host's p99 latency (µs, measured from each request's due time), 0 to 3.6e9.
    #[serde(deserialize_with = "range::p99_us")]
    pub max_p99_us: f64,
    /// Arrival rate against the QEMU device, above 0, at most 1e7.
    #[serde(deserialize_with = "range::rps")]
    pub device_rps: f64,
    /// Requests against the QEMU device, 1 or more.
    #[serde(deserialize_with = "range::at_least_one_u64")]
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
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChaosConfig {
    /// Run the chaos stage.
    pub enabled: bool,
    /// Bit-error rates of the bit-flip sweep, each 0 to 1.
    #[serde(deserialize_with = "range::bers")]
    pub ber: Vec<f64>,
    /// Gate on the bit-flip resilience score (agreement with the fault-free model, averaged
    /// over the sweep), 0 to 1.
    #[serde(deserialize_with = "range::fraction")]
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
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AbConfig {
    /// The previous model, compared with the new one.
    pub previous: Option<PathBuf>,
    /// Significance level of the paired comparison (McNemar's exact test; the accuracy
    /// difference's interval is at `1 - alpha`), above 0 and below 1 (0.05).
    #[serde(deserialize_with = "range::opt_alpha")]
    pub alpha: Option<f64>,
    /// Non-inferiority margin on the accuracy difference, 0 to below 1: when set, the new
    /// model must also be shown no more than this much worse (`mlprobe compare --margin`).
    #[serde(deserialize_with = "range::opt_margin")]
    pub margin: Option<f64>,
}

/// `[slices]` of the configuration: the search of `mlprobe slices` on the new model's
/// held-out rows (all rows, with a note, when fewer than `2 × min_size` are held out).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlicesConfig {
    /// Run the slices stage (true).
    pub enabled: bool,
    /// The fewest rows of a segment, 1 or more (20); also sets the number of quantile bins,
    /// `clamp(⌊n / (2 · min_size)⌋, 2, 10)`.
    #[serde(deserialize_with = "range::at_least_one_usize")]
    pub min_size: usize,
    /// False discovery rate, above 0 and below 1 (0.05): the stage fails when a segment's
    /// Benjamini–Hochberg adjusted p-value is below it.
    #[serde(deserialize_with = "range::alpha")]
    pub alpha: f64,
}

impl Default for SlicesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            min_size: 20,
            alpha: 0.05,
        }
    }
}

/// The configuration file.
#[derive(Clone, Debug, Deserialize, Serialize)]
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
    /// The weak-segment search.
    #[serde(default)]
    pub slices: SlicesConfig,
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

/// Where the reference page of every key is (`docs/mlprobe.reference.toml`).
pub const REFERENCE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/mlprobe.reference.toml"
);

/// The reference page of every key, as `mlprobe run --help` prints it.
pub const REFERENCE: &str = include_str!("../../../docs/mlprobe.reference.toml");

fn default_label() -> String {
    "label".into()
}

fn default_out() -> PathBuf {
    PathBuf::from("out/report")
}

impl Config {
    /// Reads a configuration; relative paths become relative to the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(Error::file(
                path,
                format!(
                    "no such file: `mlprobe run` reads its configuration from it. Write one for \
                     your data with `mlprobe init --data FILE.csv --label COL{}`, or give \
                     --config FILE",
                    path.parent()
                        .filter(|d| !d.as_os_str().is_empty())
                        .map_or_else(String::new, |d| format!(" --dir {}", d.display()))
                ),
            ));
        }
        let text = crate::limits::read_text(path, crate::limits::TOML_BYTES, "run configuration")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn located(text: &str) -> (u64, String) {
        let path = Path::new("mlprobe.toml");
        let e = toml::from_str::<Config>(text)
            .map_err(|e| Error::toml(path, text, &e))
            .unwrap_err();
        match e {
            Error::Parse { line, message, .. } => (line, message),
            e => panic!("{e}"),
        }
    }

    /// Dotted paths of every key of a TOML table (a table's own path is not a key).
    fn keys(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in t {
            let path = format!("{prefix}{k}");
            match v {
                toml::Value::Table(t) => keys(t, &format!("{path}."), out),
                _ => out.push(path),
            }
        }
    }

    #[test]
    fn the_reference_page_documents_every_key_and_only_real_ones() {
        let path = Path::new(REFERENCE_PATH);
        let text = std::fs::read_to_string(path).unwrap();
        assert_eq!(text, REFERENCE, "the help prints the page as it is");
        // Unknown keys are errors: every key on the page is real.
        let c = Config::parse(path, &text).unwrap();
        // Every field, written back, is a key on the page (the page sets every optional one).
        let (mut page, mut fields) = (Vec::new(), Vec::new());
        keys(&toml::from_str(&text).unwrap(), "", &mut page);
        keys(&toml::Table::try_from(&c).unwrap(), "", &mut fields);
        page.sort();
        fields.sort();
        assert_eq!(page, fields);
    }

    #[test]
    fn values_out_of_range_are_errors_at_their_line() {
        for (table, key, value) in [
            ("train", "lr", "nan"),
            ("train", "lr", "1e20"),
            ("train", "hidden", "0"),
            ("train", "hidden", "[64, 300]"),
            ("train", "hidden", "[1, 1, 1, 1, 1, 1, 1, 1]"),
            ("train", "hidden", "\"64,32\""),
            ("train", "test_split", "1.5"),
            ("train", "val_split", "1"),
            ("train", "val_split", "-0.1"),
            ("train", "tol", "-1"),
            ("train", "epochs", "0"),
            ("load", "rps", "0"),
            ("load", "max_p99_us", "nan"),
            ("chaos", "ber", "[0.1, nan]"),
            ("chaos", "min_bitflip_score", "inf"),
            ("ab", "alpha", "1"),
            ("ab", "margin", "1"),
            ("gate", "latency_samples", "0"),
            ("slices", "min_size", "0"),
            ("slices", "alpha", "0"),
            ("slices", "alpha", "1"),
        ] {
            let text = format!("data = \"wine.csv\"\n\n[{table}]\n{key} = {value}\n");
            let (line, message) = located(&text);
            assert_eq!(line, 4, "{key} = {value}: {message}");
            assert!(message.contains("expected"), "{key} = {value}: {message}");
        }
        let ok = "data = \"wine.csv\"\n[train]\nlr = 10\ntest_split = 0\nhidden = [64, 32]\n[ab]\nalpha = 0.05\n";
        let c: Config = toml::from_str(ok).unwrap();
        assert_eq!((c.train.lr, c.ab.alpha), (10.0, Some(0.05)));
        assert_eq!(c.train.hidden, [64, 32]);
        assert_eq!(c.gate.latency_samples, None);
        assert!(c.slices.enabled);
        assert_eq!((c.slices.min_size, c.slices.alpha), (20, 0.05));
    }
}
