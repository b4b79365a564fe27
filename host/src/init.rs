//! Onboarding (`mlprobe init`): from a user's labelled CSV file to a directory where `mlprobe
//! run` runs the whole pyramid.
//!
//! [`init`] writes three files into a directory: `mlprobe.toml` (the configuration of `mlprobe
//! run`, with the stages that work on any host: expect, train, eval, load and chaos on the
//! host; the device stage off, its comment saying how to turn it on), `STEM.suite.toml` (an
//! expectation suite profiled from the data, [`crate::expect::profile_suite`]) and
//! `STEM.policy.toml` (a starting gate [`Policy`]: limits just above what always predicting the
//! commonest class scores, to be tightened). Every file is checked by the parser that will read
//! it ([`Config::parse`], [`Policy::parse`], [`Suite::parse`](crate::suite::Suite::parse)), and
//! none is written unless all can be: an existing file is never replaced (exit 2 naming it), and
//! each file is written whole or not at all ([`crate::output::stage`]).
//!
//! ```no_run
//! use mlprobe::init::{InitOptions, init};
//! let report = init(&InitOptions::new("data/breast_cancer.csv", "label", "my-project"))?;
//! println!("{}", report.human());
//! # Ok::<(), mlprobe::error::Error>(())
//! ```

use crate::data::{self, Labels, ScanOptions};
use crate::error::{Error, Result};
use crate::eval::Policy;
use crate::output;
use crate::pipeline::{ChaosConfig, Config, LoadConfig, TrainConfig};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The configuration file's name, as `mlprobe run` looks for it.
pub const CONFIG_FILE: &str = "mlprobe.toml";

/// What to initialise.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The user's labelled CSV file.
    pub data: PathBuf,
    /// Its label column.
    pub label: String,
    /// Where to write the files (created if missing).
    pub dir: PathBuf,
}

impl InitOptions {
    /// `data` labelled by column `label`, files into `dir`.
    pub fn new(
        data: impl Into<PathBuf>,
        label: impl Into<String>,
        dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            data: data.into(),
            label: label.into(),
            dir: dir.into(),
        }
    }
}

/// What `init` wrote (the `init --json` document).
#[derive(Clone, Debug, Serialize)]
pub struct InitReport {
    /// The configuration of `mlprobe run`.
    pub config: PathBuf,
    /// The profiled expectation suite.
    pub suite: PathBuf,
    /// The starting gate policy.
    pub policy: PathBuf,
    /// Data rows.
    pub rows: usize,
    /// Feature columns (the label left out).
    pub features: usize,
    /// Classes the labels imply (largest label + 1).
    pub classes: usize,
    /// Expectations in the suite.
    pub expectations: usize,
    /// The command to run next.
    pub next: String,
}

impl InitReport {
    /// The report for people: the files written and the next command.
    pub fn human(&self) -> String {
        format!(
            "wrote {}  (mlprobe run configuration: expect, train, eval, load, chaos on this host)\n\
             wrote {}  ({} expectations profiled from {} rows)\n\
             wrote {}  (starting gate: review and tighten the limits)\n\
             next: {}\n",
            self.config.display(),
            self.suite.display(),
            self.expectations,
            self.rows,
            self.policy.display(),
            self.next
        )
    }
}

/// Writes `mlprobe.toml`, a profiled suite and a starting policy for `opts.data` into
/// `opts.dir`; see the [module docs](self).
pub fn init(opts: &InitOptions) -> Result<InitReport> {
    let stem = opts
        .data
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .unwrap_or("data")
        .to_string();
    let config_path = opts.dir.join(CONFIG_FILE);
    let suite_path = opts.dir.join(format!("{stem}.suite.toml"));
    let policy_path = opts.dir.join(format!("{stem}.policy.toml"));
    let outputs = [&config_path, &suite_path, &policy_path];
    for p in outputs {
        if std::fs::symlink_metadata(p).is_ok() {
            return Err(Error::file(
                p,
                "already exists: `mlprobe init` never replaces a file (remove it, or choose \
                 another --dir)",
            ));
        }
    }
    if opts.dir.exists() {
        for p in outputs {
            output::check_output(p, &[&opts.data])?;
        }
    } else if opts.dir.parent().is_some_and(|p| p.exists() && !p.is_dir()) {
        return Err(Error::Usage(format!(
            "--dir {}: its parent is not a directory",
            opts.dir.display()
        )));
    }

    // The data: labels (the same rule as training), then the profile (its own two passes).
    let data = data::load(&opts.data, Labels::Required(&opts.label))?;
    let labels = data.labels.as_deref().unwrap_or_default();
    let classes = data.classes();
    let mut counts = vec![0usize; classes];
    for &l in labels {
        counts[usize::from(l)] += 1;
    }
    let (majority, top) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(k, &c)| (c, std::cmp::Reverse(k)))
        .map(|(k, &c)| (k, c))
        .unwrap_or((0, 0));
    let share = top as f64 / data.rows().max(1) as f64;
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    // Always predicting the commonest class: accuracy = its share; macro F1 = its F1
    // (2p / (1 + p), precision p, recall 1) over the classes present, the others 0.
    let trivial_f1 = 2.0 * share / (1.0 + share) / present as f64;
    let up = |x: f64| ((x * 100.0).ceil() / 100.0).min(1.0);
    let (min_accuracy, min_f1) = (up(share), up(trivial_f1));

    let (suite, rows, _) = crate::expect::profile_suite(&opts.data, &stem, ScanOptions::default())?;
    let suite_text = suite.to_toml(&format!(
        "Generated by `mlprobe init` (as `mlprobe profile --data {}`) from {rows} rows: a starting\n\
         point to review. Tolerances: values within the observed range; mean and stdev within 3\n\
         standard errors; quantiles may move 5 percentile points; drift: PSI < 0.25 on the\n\
         reference deciles.",
        opts.data.display()
    ));

    // A slice to start from: the first feature above its median.
    let first = data.feature_names.first().cloned().unwrap_or_default();
    let mut column: Vec<f32> = (0..data.rows())
        .map(|i| data.row(i)[0])
        .filter(|v| v.is_finite())
        .collect();
    column.sort_by(f32::total_cmp);
    let median = column.get(column.len() / 2).copied().unwrap_or(0.0);
    let slice_hint = if first.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!(
            "# slices = [\"{first} > {median}\"]   # subgroups, each held to the limits below\n"
        )
    } else {
        "# slices = [\"COLUMN > NUMBER\"]   # subgroups, each held to the limits below\n".into()
    };
    let policy_text = format!(
        "# Starting gate policy for {data}, written by `mlprobe init`: review and tighten.\n\
         # The commonest class ({majority}) is {pct:.1} % of the {n} rows: always predicting it\n\
         # scores accuracy {share:.4} and macro F1 {trivial_f1:.4}, so the limits start just above\n\
         # that. Raise them to what your model must keep (`mlprobe eval --help`).\n\
         {slice_hint}\n\
         [thresholds]\n\
         min_accuracy = {min_accuracy}\n\
         min_f1 = {min_f1}\n\
         # max_latency_p99_us = 500    # per inference on this host (machine-dependent)\n\
         # max_memory_bytes = 65536    # model bytes plus inference scratch\n\
         \n\
         [regression]\n\
         allowed_pct = 5.0             # against [gate] baseline or [ab] previous in mlprobe.toml\n",
        data = opts.data.display(),
        pct = share * 100.0,
        n = data.rows(),
    );
    Policy::parse(&policy_path, &policy_text)?;

    let config_text = config_text(
        &relative_to(&opts.data, &opts.dir),
        &opts.label,
        &suite_path,
        &policy_path,
    );
    Config::parse(&config_path, &config_text)?;

    std::fs::create_dir_all(&opts.dir).map_err(|e| Error::io(&opts.dir, e))?;
    let staged = [
        output::stage(&suite_path, suite_text.as_bytes())?,
        output::stage(&policy_path, policy_text.as_bytes())?,
        output::stage(&config_path, config_text.as_bytes())?,
    ];
    for s in staged {
        s.commit()?;
    }
    let next = if opts.dir == Path::new(".") {
        "mlprobe run".to_string()
    } else {
        format!("mlprobe run --config {}", config_path.display())
    };
    Ok(InitReport {
        config: config_path,
        suite: suite_path,
        policy: policy_path,
        rows: data.rows(),
        features: data.width(),
        classes,
        expectations: suite.expectations.len(),
        next,
    })
}

/// The configuration `init` writes: every stage that runs on any host on, the device stage
/// off with how to turn it on, the defaults of each table spelled out.
fn config_text(data: &Path, label: &str, suite: &Path, policy: &Path) -> String {
    let name = |p: &Path| {
        p.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    };
    let q = |s: &str| toml_string(s);
    let t = TrainConfig::default();
    let l = LoadConfig::default();
    let c = ChaosConfig::default();
    let bers: Vec<String> = c.ber.iter().map(|b| format!("{b:e}")).collect();
    let mut s = String::new();
    let _ = write!(
        s,
        "# mlprobe run: the testing pyramid on {data}, written by `mlprobe init`.\n\
         # Paths are relative to this file. `mlprobe run --help` explains each stage; the stages\n\
         # here run on this host: expect, train, eval, load, chaos (ab once [ab] previous is set).\n\
         data = {data_q}\n\
         label = {label_q}\n\
         suite = {suite_q}      # expectations profiled from the data (`mlprobe profile`)\n\
         out = \"out/report\"\n\
         \n\
         [train]\n\
         hidden = {hidden}\n\
         epochs = {epochs}\n\
         lr = {lr}\n\
         batch = {batch}\n\
         seed = {seed}\n\
         split_seed = {split_seed}\n\
         test_split = {test_split}\n\
         val_split = {val_split}      # validation part of the training rows: early stopping\n\
         tol = {tol:e}\n\
         \n\
         [gate]\n\
         policy = {policy_q}\n\
         # baseline = \"baseline.json\"   # default: the [ab] previous model's metrics on the same rows\n\
         latency_samples = 10000\n\
         \n\
         [device]\n\
         # The device stage compiles the trained model into the Cortex-M4 firmware and validates it\n\
         # bit for bit in QEMU. To turn it on: install qemu-system-arm and the Rust target\n\
         # thumbv7em-none-eabihf (./scripts/setup.sh in the mlprobe repository does both), set\n\
         # enabled = true and firmware to the repository's firmware/ directory. With it on, the\n\
         # load and chaos stages also drive the device (device_rps, link_faults).\n\
         enabled = false\n\
         # firmware = \"/path/to/mlprobe/firmware\"\n\
         \n\
         [load]\n\
         enabled = true\n\
         rps = {rps}              # open model on the host: latency from each request's due time\n\
         requests = {requests}\n\
         max_p99_us = {p99}      # generous: a loaded machine deschedules workers for milliseconds\n\
         device_rps = {drps}         # with the device stage only\n\
         device_requests = {dreq}\n\
         \n\
         [chaos]\n\
         enabled = true\n\
         ber = [{bers}]   # bit-error rates of the weight bit-flip sweep\n\
         min_bitflip_score = {score}\n\
         link_faults = {faults}                # damaged frames on the device link (device stage only)\n\
         \n\
         [ab]\n\
         # previous = \"previous.mlpb\"   # a model to compare the new one with: the A/B stage and\n\
         #                                the eval stage's baseline (skipped without one)\n\
         alpha = 0.05\n",
        data = data.display(),
        data_q = q(&data.to_string_lossy()),
        label_q = q(label),
        suite_q = q(&name(suite)),
        policy_q = q(&name(policy)),
        // Through TOML, so the value is written as the configuration reads it (a number or
        // a list of widths).
        hidden =
            toml::Value::try_from(t.hidden.clone()).map_or_else(|_| "32".into(), |v| v.to_string()),
        epochs = t.epochs,
        lr = t.lr,
        batch = t.batch,
        seed = t.seed,
        split_seed = t.split_seed,
        test_split = t.test_split,
        val_split = t.val_split,
        tol = t.tol,
        rps = l.rps,
        requests = l.requests,
        p99 = l.max_p99_us,
        drps = l.device_rps,
        dreq = l.device_requests,
        bers = bers.join(", "),
        score = c.min_bitflip_score,
        faults = c.link_faults,
    );
    s
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// `path` as the configuration in `dir` should name it: relative to `dir` when `path` is
/// inside it, else absolute (the configuration's paths are relative to its own directory).
fn relative_to(path: &Path, dir: &Path) -> PathBuf {
    let abs = |p: &Path| {
        std::path::absolute(p)
            .map(|a| a.canonicalize().unwrap_or(a))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let (p, d) = (abs(path), abs(dir));
    p.strip_prefix(&d).map_or(p.clone(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_files_parse_and_nothing_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("tiny.csv");
        let mut text = String::from("a,b,label\n");
        for i in 0..40 {
            text += &format!("{},{},{}\n", i, 40 - i, u8::from(i % 4 == 0));
        }
        std::fs::write(&csv, text).unwrap();
        let out = dir.path().join("proj");
        let r = init(&InitOptions::new(&csv, "label", &out)).unwrap();
        assert_eq!((r.rows, r.features, r.classes), (40, 2, 2));
        let cfg = Config::load(&r.config).unwrap();
        assert!(!cfg.device.enabled);
        // tiny.csv is outside proj/: named absolutely.
        assert_eq!(
            cfg.data,
            std::path::absolute(&csv).unwrap().canonicalize().unwrap()
        );
        let policy = Policy::load(&r.policy).unwrap();
        // 30 of 40 rows are class 0: accuracy 0.75, macro F1 2·0.75/1.75/2 = 0.428…
        let t = policy.gate.thresholds;
        use mlprobe_core::validate::Metric;
        assert_eq!(t.get(Metric::Accuracy), Some(0.75));
        assert_eq!(t.get(Metric::F1), Some(0.43));
        crate::suite::Suite::load(&r.suite).unwrap();

        // A second init refuses, naming the file, and leaves everything as it was.
        let before = std::fs::read(&r.config).unwrap();
        let e = init(&InitOptions::new(&csv, "label", &out)).unwrap_err();
        assert!(
            e.to_string().contains("mlprobe.toml: already exists"),
            "{e}"
        );
        assert_eq!(e.exit_code(), 2);
        assert_eq!(std::fs::read(&r.config).unwrap(), before);

        // Data inside the directory is named relative to it.
        let inside = dir.path().join("tiny2.csv");
        std::fs::copy(&csv, &inside).unwrap();
        let r = init(&InitOptions::new(&inside, "label", dir.path())).unwrap();
        let text = std::fs::read_to_string(&r.config).unwrap();
        assert!(text.contains("data = \"tiny2.csv\""), "{text}");
    }

    #[test]
    fn a_missing_label_column_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("x.csv");
        std::fs::write(&csv, "a,b\n1,2\n").unwrap();
        let out = dir.path().join("proj");
        let e = init(&InitOptions::new(&csv, "label", &out)).unwrap_err();
        assert!(e.to_string().contains("no label column"), "{e}");
        assert!(!out.exists());
    }
}
