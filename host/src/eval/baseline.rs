//! Baselines: the metrics of a reference run (and of its slices), as JSON, compared against
//! by later runs (`--save-baseline`, `--baseline`).

use super::policy::metric_names;
use crate::error::{Error, Result};
use mlprobe_core::validate::{Metric, Metrics};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The metrics of a reference run, compared against by later runs (`--baseline`).
///
/// ```json
/// { "version": 1, "metrics": { "accuracy": 0.97, "latency_p99_us": 4.2 },
///   "slices": { "alcohol > 13": { "accuracy": 0.95 } } }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version, 1.
    pub version: u32,
    /// Metric name → value, as [`Metric::name`].
    pub metrics: BTreeMap<String, f64>,
    /// Slice expression → its metrics.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slices: BTreeMap<String, BTreeMap<String, f64>>,
    /// Free-form provenance (model, data, mlprobe version, time), not compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, String>,
}

impl Baseline {
    /// The format version written.
    pub const VERSION: u32 = 1;

    /// A baseline of a run's metrics and its slices' metrics.
    pub fn new(metrics: &Metrics, slices: &[(String, Metrics)]) -> Self {
        Self {
            version: Self::VERSION,
            metrics: to_map(metrics),
            slices: slices.iter().map(|(k, m)| (k.clone(), to_map(m))).collect(),
            info: BTreeMap::new(),
        }
    }

    /// The run's metrics.
    pub fn metrics(&self) -> Metrics {
        // Names are checked on load; an unknown one (built by hand) is skipped.
        from_map(&self.metrics).0
    }

    /// A slice's metrics, if the baseline has the slice.
    pub fn slice(&self, expr: &str) -> Option<Metrics> {
        self.slices.get(expr).map(|m| from_map(m).0)
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::limits::read_text(path, crate::limits::JSON_BYTES, "baseline")?;
        Self::parse(path, &text)
    }

    /// Parses a baseline; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| Error::Parse {
            path: path.to_path_buf(),
            line: e.line() as u64,
            // serde_json counts columns from 1 but says 0 at the end of an empty line (an
            // empty file): the error is then at column 1.
            column: e.column().max(1),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
        let file_err = |message: String| Error::file(path, message);
        if b.version != Self::VERSION {
            return Err(file_err(format!(
                "baseline version {} is not supported (this mlprobe reads version {})",
                b.version,
                Self::VERSION
            )));
        }
        let check = |map: &BTreeMap<String, f64>, place: &str| match from_map(map).1 {
            None => Ok(()),
            Some(key) => Err(file_err(format!(
                "unknown metric `{key}` in {place}: expected one of {}",
                metric_names()
            ))),
        };
        check(&b.metrics, "`metrics`")?;
        for (name, m) in &b.slices {
            check(m, &format!("slice `{name}`"))?;
        }
        Ok(b)
    }

    /// Writes the baseline as pretty JSON, refusing to replace any of `inputs`.
    pub fn save(&self, path: &Path, inputs: &[&Path]) -> Result<()> {
        crate::output::write_new(path, crate::output::to_json(self)?.as_bytes(), inputs)
    }
}

fn to_map(m: &Metrics) -> BTreeMap<String, f64> {
    // JSON has no NaN/infinity: non-finite values are left out (and then fail as missing).
    m.iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (k.name().to_string(), v))
        .collect()
}

/// The metrics of a map, and the first unknown name if any (which is skipped).
fn from_map(map: &BTreeMap<String, f64>) -> (Metrics, Option<String>) {
    let mut m = Metrics::new();
    let mut unknown = None;
    for (k, &v) in map {
        match Metric::from_name(k) {
            Some(metric) => m.set(metric, v),
            None => unknown = unknown.or(Some(k.clone())),
        }
    }
    (m, unknown)
}

/// A baseline of an evaluation: its metrics and those of its non-empty slices. Latency and peak
/// RSS depend on the machine and its load ([`Metric::is_machine_dependent`]), so they are left
/// out unless `machine_metrics`.
pub fn baseline_of(
    overall: &Metrics,
    slices: &[(String, usize, Metrics)],
    machine_metrics: bool,
) -> Baseline {
    let keep = if machine_metrics {
        *overall
    } else {
        overall.without_machine_dependent()
    };
    let slices: Vec<(String, Metrics)> = slices
        .iter()
        .filter(|(_, n, _)| *n > 0)
        .map(|(e, _, m)| (e.clone(), *m))
        .collect();
    Baseline::new(&keep, &slices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_round_trips_and_rejects_unknown_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.json");
        let m = Metrics::new()
            .with(Metric::Accuracy, 0.97)
            .with(Metric::LatencyP99, 4.5);
        let s = vec![(
            "label == 2".to_string(),
            Metrics::new().with(Metric::Accuracy, 0.9),
        )];
        let mut b = Baseline::new(&m, &s);
        b.info.insert("model".into(), "wine.mlp".into());
        b.save(&path, &[]).unwrap();
        let back = Baseline::load(&path).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.metrics(), m);
        assert_eq!(
            back.slice("label == 2").unwrap().get(Metric::Accuracy),
            Some(0.9)
        );
        assert_eq!(back.slice("label == 1"), None);

        let err = |t: &str| {
            Baseline::parse(Path::new("b.json"), t)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(r#"{"version": 1, "metrics": {"acc": 1}}"#)
                .split(':')
                .take(2)
                .collect::<Vec<_>>(),
            ["b.json", " unknown metric `acc` in `metrics`"]
        );
        assert!(err("{\"version\": 1,\n \"metrics\": {\"accuracy\": }}").starts_with("b.json:2:"));
        assert!(err(r#"{"version": 2, "metrics": {}}"#).contains("version 2 is not supported"));
        assert!(matches!(
            Baseline::load(&dir.path().join("none.json")),
            Err(Error::Io { .. })
        ));
        // An input is never overwritten.
        let e = b.save(&path, &[&path]).unwrap_err();
        assert!(matches!(e, Error::Usage(_)), "{e}");
    }

    #[test]
    fn machine_dependent_metrics_stay_out_unless_asked() {
        let m = Metrics::new()
            .with(Metric::Accuracy, 0.9)
            .with(Metric::LatencyP99, 4.0)
            .with(Metric::MemoryBytes, 100.0);
        let slices = [
            ("a > 1".to_string(), 3, m),
            ("a > 9".to_string(), 0, Metrics::new()),
        ];
        let b = baseline_of(&m, &slices, false);
        assert_eq!(
            b.metrics.keys().collect::<Vec<_>>(),
            ["accuracy", "memory_bytes"]
        );
        assert_eq!(b.slices.keys().collect::<Vec<_>>(), ["a > 1"]);
        assert_eq!(b.slices["a > 1"].len(), 3, "a slice keeps what it measured");
        assert_eq!(baseline_of(&m, &slices, true).metrics.len(), 3);
    }

    /// Issue #15: an empty baseline file was located at column 0 (serde_json's column at the
    /// end of an empty line).
    #[test]
    fn an_empty_baseline_is_located_at_line_1_column_1() {
        match Baseline::parse(Path::new("b.json"), "") {
            Err(Error::Parse { line, column, .. }) => assert_eq!((line, column), (1, 1)),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
