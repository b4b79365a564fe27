//! `mlprobe run`: the whole testing pyramid of the seed notebook on one dataset, from data
//! expectations to an A/B analysis, into a report directory (`report.html`, `report.json`,
//! `junit.xml`, `summary.md`).
//!
//! Stages, in order (each says what it did, how long it took and whether it passed):
//! 1. `expect` — the data against its expectation suite (`core::expect`);
//! 2. `train` — the classifier, stratified split, held-out rows kept aside;
//! 3. `eval` — held-out metrics against the policy's thresholds, slices, and a baseline (the
//!    previous model's metrics on the same rows unless a baseline file is given);
//! 4. `device` — the new model compiled into the Cortex-M4 firmware and validated bit for bit in
//!    QEMU (skipped, with a note, when `qemu-system-arm` is missing or `--no-device` is given);
//! 5. `load` and 6. `chaos` — when the configuration enables them (see `mlprobe load`,
//!    `mlprobe chaos`);
//! 7. `ab` — the previous model against the new one on the held-out rows (correct predictions
//!    as conversions): z-test and Bayesian posteriors.
//!
//! Paths in the configuration are relative to the configuration file.

use crate::commands::Outcome;
use crate::commands::{chaos, device, eval, load, train};
use crate::error::{Error, Result};
use crate::gate::{Baseline, Policy, Predicate};
use crate::report::{Status, html};
use crate::run_report::{
    BetaParams, Check, LatencyChart, Line, Posteriors, RunReport, Stage, StageStatus,
};
use crate::{bayes, data::ScanOptions, expect, model_io, output, qemu, suite::Suite};
use mlprobe_core::abtest::{self, Alternative, Variant};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

/// Run the whole testing pyramid and write a report.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The configuration (TOML) names the data, its expectation suite, the \
    training settings, the gate policy and the previous model; the repository's mlprobe.toml runs \
    everything on the bundled wine data.\n\nExit codes: 0 every gate passed, 1 a gate failed, 2 bad \
    configuration.\n\nExample:\n  mlprobe run --config mlprobe.toml --out out/report"
)]
pub struct Args {
    /// Pipeline configuration.
    #[arg(long, value_name = "FILE.toml", default_value = "mlprobe.toml")]
    pub config: PathBuf,
    /// Report directory (overrides the configuration's `out`).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Skip the on-device stage even when QEMU is installed.
    #[arg(long)]
    pub no_device: bool,
    /// Print report.json on stdout instead of the stage lines.
    #[arg(long)]
    pub json: bool,
}

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
        let mut c: Config = toml::from_str(&text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(&text, s.start));
            Error::Parse {
                path: path.into(),
                line,
                column,
                message: e.message().to_string(),
            }
        })?;
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

fn line_col(text: &str, offset: usize) -> (u64, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() as u64 + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// What the stages hand each other.
struct State {
    fitted: Option<train::Fitted>,
    model_path: PathBuf,
    previous: Option<model_io::HostModel>,
}

fn stage_of(name: &str, start: Instant, result: Result<Stage>) -> Stage {
    let mut st = result.unwrap_or_else(|e| Stage {
        name: name.into(),
        status: StageStatus::Error,
        duration_s: 0.0,
        summary: e.to_string(),
        checks: Vec::new(),
        notes: Vec::new(),
        details: serde_json::Value::Null,
    });
    st.duration_s = start.elapsed().as_secs_f64();
    eprintln!(
        "mlprobe run: [{:<6}] {:<7} {:>6.2}s  {}",
        st.name,
        st.status.word(),
        st.duration_s,
        st.summary
    );
    for n in &st.notes {
        eprintln!("mlprobe run:          note: {n}");
    }
    st
}

fn verdict(checks: &[Check]) -> StageStatus {
    if checks.iter().all(|c| c.passed) {
        StageStatus::Passed
    } else {
        StageStatus::Failed
    }
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

fn stage_expect(cfg: &Config) -> Result<Stage> {
    let Some(suite_path) = &cfg.suite else {
        return Ok(Stage {
            name: "expect".into(),
            status: StageStatus::Skipped,
            duration_s: 0.0,
            summary: "no expectation suite configured".into(),
            checks: Vec::new(),
            notes: vec!["set `suite = \"FILE.toml\"` (write one with `mlprobe profile`)".into()],
            details: serde_json::Value::Null,
        });
    };
    let suite = Suite::load(suite_path)?;
    let v = expect::validate(&suite, &cfg.data, ScanOptions::default())?;
    let checks: Vec<Check> = v
        .results
        .iter()
        .map(|r| Check {
            name: match &r.column {
                Some(c) => format!("{} ({c})", r.expectation_type),
                None => r.expectation_type.clone(),
            },
            passed: r.success,
            detail: serde_json::to_string(&r.result).unwrap_or_default(),
        })
        .collect();
    Ok(Stage {
        name: "expect".into(),
        status: verdict(&checks),
        duration_s: 0.0,
        summary: format!(
            "{} rows against suite `{}`: {} of {} expectations met",
            v.rows, v.suite, v.statistics.successful, v.statistics.evaluated
        ),
        checks,
        notes: Vec::new(),
        details: json(&v),
    })
}

fn stage_train(
    cfg: &Config,
    out: &Path,
    state: &mut State,
    report: &mut RunReport,
) -> Result<Stage> {
    let t = &cfg.train;
    let args = train::Args {
        data: cfg.data.clone(),
        label: cfg.label.clone(),
        hidden: t.hidden,
        epochs: t.epochs,
        lr: t.lr,
        batch: t.batch,
        seed: t.seed,
        split_seed: t.split_seed,
        test_split: t.test_split,
        fill_na: "mean".into(),
        tol: t.tol,
        n_iter_no_change: 10,
        out: out.join("model.mlpb"),
        json: true,
    };
    let fitted = train::fit(&args)?;
    let r = &fitted.report;
    let d = fitted.model.dims();
    report.charts.training = vec![
        Line {
            name: "loss".into(),
            points: fitted
                .history
                .iter()
                .map(|e| (e.epoch as f64, f64::from(e.loss)))
                .collect(),
        },
        Line {
            name: "accuracy (training rows)".into(),
            points: fitted
                .history
                .iter()
                .map(|e| (e.epoch as f64, f64::from(e.accuracy)))
                .collect(),
        },
    ];
    let summary = format!(
        "{}-{}-{} on {} rows ({} held out), {} epochs, final loss {:.4}, held-out accuracy {:.4}",
        d.inputs,
        d.hidden,
        d.outputs,
        fitted.split.train.len(),
        fitted.split.test.len(),
        r.epochs,
        r.final_loss,
        r.test.as_ref().map_or(f64::NAN, |t| t.accuracy)
    );
    let details = json(r);
    state.model_path = args.out.clone();
    state.fitted = Some(fitted);
    Ok(Stage {
        name: "train".into(),
        status: StageStatus::Passed,
        duration_s: 0.0,
        summary,
        checks: Vec::new(),
        notes: Vec::new(),
        details,
    })
}

fn checks_of(r: &crate::report::Report) -> Vec<Check> {
    r.suites
        .iter()
        .flat_map(|s| {
            s.cases.iter().map(move |c| Check {
                name: if s.name.is_empty() {
                    c.name.clone()
                } else {
                    format!("{}: {}", s.name, c.name)
                },
                passed: c.is_ok(),
                detail: match &c.status {
                    Status::Failed { message, .. } | Status::Error { message, .. } => {
                        message.clone()
                    }
                    _ => c.summary.clone(),
                },
            })
        })
        .collect()
}

fn stage_eval(cfg: &Config, state: &mut State, report: &mut RunReport) -> Result<Stage> {
    let fitted = state
        .fitted
        .as_ref()
        .ok_or_else(|| Error::Usage("no model: the train stage failed".into()))?;
    let mut policy = match &cfg.gate.policy {
        Some(p) => Policy::load(p)?,
        None => Policy::default(),
    };
    for s in &cfg.gate.slices {
        let p: Predicate = s.parse()?;
        if !policy.slices.iter().any(|q| q.expr == p.expr) {
            policy.slices.push(p);
        }
    }
    let samples = cfg.gate.latency_samples.unwrap_or(10_000).max(1);
    let rows = &fitted.split.test;
    let mut notes = Vec::new();
    let baseline = match (&cfg.gate.baseline, &state.previous) {
        (Some(p), _) => Some(Baseline::load(p)?),
        (None, Some(prev)) => {
            eval::check_fit(prev, &fitted.data)?;
            let g = eval::evaluate_gated(prev, &fitted.data, rows, &cfg.label, &policy, None, 1)?;
            notes.push("baseline: the previous model's metrics on the same held-out rows".into());
            Some(eval::baseline_of(&g.overall, &g.slice_metrics, false))
        }
        (None, None) => {
            notes.push("no baseline file and no previous model: regression not checked".into());
            None
        }
    };
    let g = eval::evaluate_gated(
        &fitted.model,
        &fitted.data,
        rows,
        &cfg.label,
        &policy,
        baseline.as_ref(),
        samples,
    )?;
    report.charts.confusion = g.report.confusion.clone();
    let l = &g.report.latency_us;
    report.charts.latency.push(LatencyChart {
        target: "host".into(),
        unit: "µs".into(),
        percentiles: vec![
            ("p50".into(), l.p50),
            ("p95".into(), l.p95),
            ("p99".into(), l.p99),
            ("p99.9".into(), l.p999),
            ("max".into(), l.max),
        ],
        histogram: latency_histogram(&fitted.model, &fitted.data, rows, samples)?,
    });
    let checks = checks_of(&g.gate.to_report("eval"));
    let summary = format!(
        "{} held-out rows: accuracy {:.4}, macro F1 {:.4}, p99 {:.2} µs; {} of {} checks passed",
        g.report.n,
        g.report.accuracy,
        g.report.f1_macro,
        l.p99,
        checks.iter().filter(|c| c.passed).count(),
        checks.len()
    );
    Ok(Stage {
        name: "eval".into(),
        status: if g.gate.passed() {
            StageStatus::Passed
        } else {
            StageStatus::Failed
        },
        duration_s: 0.0,
        summary,
        checks,
        notes,
        details: json(&g.report),
    })
}

/// A histogram of single-row latency on the host (µs), from the same sketch the gate uses.
fn latency_histogram(
    model: &model_io::HostModel,
    data: &crate::data::Dataset,
    rows: &[usize],
    samples: usize,
) -> Result<Vec<(f64, u64)>> {
    let sketch = eval::measure_latency(model, data, rows, samples)?;
    let p999 = sketch.quantile(0.999).unwrap_or(0);
    let lo = sketch.min().unwrap_or(0);
    // 24 equal-width bins between the minimum and p99.9 (the rest in the last bin).
    let width = (f64::from(p999.saturating_sub(lo)) / 24.0).max(1.0);
    let mut bins = [0u64; 24];
    for (low, high, count) in sketch.buckets() {
        let mid = low / 2 + high / 2;
        let k = (f64::from(mid.saturating_sub(lo)) / width) as usize;
        bins[k.min(23)] += u64::from(count);
    }
    Ok(bins
        .iter()
        .enumerate()
        .map(|(k, &c)| ((f64::from(lo) + width * (k + 1) as f64) / 1000.0, c))
        .collect())
}

fn skipped(name: &str, summary: &str, note: String) -> Stage {
    Stage {
        name: name.into(),
        status: StageStatus::Skipped,
        duration_s: 0.0,
        summary: summary.into(),
        checks: Vec::new(),
        notes: vec![note],
        details: serde_json::Value::Null,
    }
}

fn stage_device(cfg: &Config, args: &Args, state: &State, report: &mut RunReport) -> Result<Stage> {
    if let Err(why) = device_available(cfg, args) {
        return Ok(skipped("device", "on-device validation not run", why));
    }
    let fitted = state
        .fitted
        .as_ref()
        .ok_or_else(|| Error::Usage("no model: the train stage failed".into()))?;
    let fw = device::firmware_dir(cfg.device.firmware.as_deref());
    let elf = device::build_firmware(Some(&state.model_path), device::Board::Qemu, &fw)?;
    let (q, link) = qemu::Qemu::start(&elf, false).map_err(|e| Error::Internal(e.to_string()))?;
    let mut client = crate::link::Client::new(link);
    // Validate on the held-out rows: write them to a CSV beside the report.
    let held_out = state.model_path.with_file_name("held_out.csv");
    write_rows(&fitted.data, &fitted.split.test, &cfg.label, &held_out)?;
    let result = device::validate(&mut client, &state.model_path, &held_out, &cfg.label);
    drop(client);
    let _ = q.stop();
    let (mut v, _info) = result?;
    let sizes = device::elf_sizes(&elf)?;
    v.flash_bytes = Some(sizes.flash_bytes);
    v.ram_bytes = Some(sizes.ram_bytes);
    v.elf = Some(elf.clone());
    if let Some(c) = &v.instructions_per_inference {
        report.charts.latency.push(LatencyChart {
            target: "qemu (mps2-an386, Cortex-M4F)".into(),
            unit: "instructions".into(),
            percentiles: vec![
                ("p50".into(), f64::from(c.p50)),
                ("max".into(), f64::from(c.max)),
            ],
            histogram: v
                .cost_histogram
                .iter()
                .map(|&(value, n)| (f64::from(value), u64::from(n)))
                .collect(),
        });
    }
    let checks = vec![
        Check {
            name: "bit-exact logits".into(),
            passed: v.bit_exact,
            detail: format!("{} mismatching logits over {} rows", v.mismatches, v.n),
        },
        Check {
            name: "device accuracy equals host accuracy".into(),
            passed: v.device_accuracy == v.host_accuracy,
            detail: format!("device {:?}, host {:?}", v.device_accuracy, v.host_accuracy),
        },
    ];
    let summary = format!(
        "{} rows in QEMU: {}, {} instructions per inference (p50), flash {} B, RAM {} B, stack peak {} B",
        v.n,
        if v.bit_exact {
            "bit-exact"
        } else {
            "MISMATCHES"
        },
        v.instructions_per_inference.as_ref().map_or(0, |c| c.p50),
        v.flash_bytes.unwrap_or(0),
        v.ram_bytes.unwrap_or(0),
        v.stack_peak_bytes
    );
    Ok(Stage {
        name: "device".into(),
        status: verdict(&checks),
        duration_s: 0.0,
        summary,
        checks,
        notes: Vec::new(),
        details: json(&v),
    })
}

/// Writes `rows` of `data` (features, then the label) as CSV.
fn write_rows(data: &crate::data::Dataset, rows: &[usize], label: &str, path: &Path) -> Result<()> {
    let mut s = data.feature_names.join(",");
    s += ",";
    s += label;
    s += "\n";
    let labels = data.labels.as_deref().unwrap_or_default();
    for &i in rows {
        let row: Vec<String> = data
            .row(i)
            .iter()
            .map(|v| {
                if v.is_nan() {
                    String::new()
                } else {
                    format!("{v:?}")
                }
            })
            .collect();
        s += &row.join(",");
        s += &format!(",{}\n", labels.get(i).copied().unwrap_or(0));
    }
    std::fs::write(path, s).map_err(|e| Error::io(path, e))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

fn stage_ab(cfg: &Config, state: &State, report: &mut RunReport) -> Result<Stage> {
    let (Some(prev), Some(fitted)) = (&state.previous, &state.fitted) else {
        return Ok(skipped(
            "ab",
            "no previous model to compare with",
            "set [ab] previous = \"MODEL\"".into(),
        ));
    };
    let rows = &fitted.split.test;
    let n = rows.len() as u64;
    let correct = |m: &model_io::HostModel| -> Result<u64> {
        Ok(eval::confusion(m, &fitted.data, rows)?.correct())
    };
    let (c_prev, c_new) = (correct(prev)?, correct(&fitted.model)?);
    let ab_err = |e: abtest::AbError| Error::Usage(format!("A/B analysis: {e}"));
    let control = Variant::from_counts(c_prev, n).map_err(ab_err)?;
    let treatment = Variant::from_counts(c_new, n).map_err(ab_err)?;
    let alpha = cfg.ab.alpha.unwrap_or(0.05);
    // "Is the new model worse?": one-sided, treatment smaller than control.
    let worse = abtest::ztest(&control, &treatment, alpha, Alternative::Smaller).map_err(ab_err)?;
    let two = abtest::ztest(&control, &treatment, alpha, Alternative::TwoSided).map_err(ab_err)?;
    let bayes = bayes::analyze(
        &control,
        &treatment,
        &bayes::Options {
            seed: cfg.train.seed,
            ..bayes::Options::default()
        },
    )
    .map_err(|e| Error::Usage(format!("A/B analysis: {e}")))?;
    report.charts.posteriors = Some(Posteriors {
        control: (
            "previous".into(),
            BetaParams {
                alpha: bayes.control.posterior.alpha,
                beta: bayes.control.posterior.beta,
            },
        ),
        treatment: (
            "new".into(),
            BetaParams {
                alpha: bayes.treatment.posterior.alpha,
                beta: bayes.treatment.posterior.beta,
            },
        ),
    });
    let checks = vec![Check {
        name: "new model not significantly worse than the previous one".into(),
        passed: !worse.significant,
        detail: format!(
            "one-sided z = {:.3}, p = {:.4} at alpha {alpha}",
            worse.z, worse.p_value
        ),
    }];
    let summary = format!(
        "previous {c_prev}/{n} vs new {c_new}/{n} correct: z = {:.3}, p = {:.4} (two-sided), P(new better) = {:.4}, decision: {:?}",
        two.z, two.p_value, bayes.prob_treatment_better, bayes.decision
    );
    Ok(Stage {
        name: "ab".into(),
        status: verdict(&checks),
        duration_s: 0.0,
        summary,
        checks,
        notes: vec!["conversions are correct predictions on the held-out rows; both models see the same rows".into()],
        details: serde_json::json!({
            "control": { "model": "previous", "conversions": c_prev, "total": n },
            "treatment": { "model": "new", "conversions": c_new, "total": n },
            "ztest": { "z": two.z, "p_value": two.p_value, "significant": two.significant, "alpha": alpha,
                       "absolute_lift": two.absolute_lift, "relative_lift": two.relative_lift },
            "ztest_new_worse": { "z": worse.z, "p_value": worse.p_value, "significant": worse.significant },
            "bayes": json(&bayes),
        }),
    })
}

/// Parses the flags of a subcommand into its `Args`, so a stage runs it exactly as the command
/// line would (defaults included).
fn args_of<A: clap::Args>(name: &str, flags: &[String]) -> Result<A> {
    #[derive(clap::Parser)]
    struct Wrap<A: clap::Args> {
        #[command(flatten)]
        inner: A,
    }
    <Wrap<A> as clap::Parser>::try_parse_from(
        std::iter::once(name.to_string()).chain(flags.iter().cloned()),
    )
    .map(|w| w.inner)
    .map_err(|e| Error::Internal(format!("{name} flags: {e}")))
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Whether the device stages run, and why not.
fn device_available(cfg: &Config, args: &Args) -> std::result::Result<(), String> {
    if args.no_device || !cfg.device.enabled {
        return Err("disabled by --no-device or [device] enabled = false".into());
    }
    if which(qemu::QEMU).is_none() {
        return Err(format!(
            "{} not found on PATH: install it (Debian/Ubuntu: apt-get install qemu-system-arm, or ./scripts/setup.sh)",
            qemu::QEMU
        ));
    }
    Ok(())
}

fn accounted(r: &load::LoadReport) -> bool {
    r.successful + r.failed + r.dropped == r.total
}

fn stage_load(cfg: &Config, args: &Args, state: &State) -> Result<Stage> {
    if !cfg.load.enabled {
        return Ok(skipped(
            "load",
            "load tests not run",
            "[load] enabled = false".into(),
        ));
    }
    let model = state.model_path.display().to_string();
    let data = cfg.data.display().to_string();
    let l = &cfg.load;
    let base = strings(&[
        "--model", &model, "--data", &data, "--label", &cfg.label, "--json",
    ]);
    let host = load::execute(&args_of::<load::Args>(
        "load",
        &[
            base.clone(),
            strings(&["--target", "host"]),
            vec![
                "--rps".into(),
                l.rps.to_string(),
                "--requests".into(),
                l.requests.to_string(),
            ],
        ]
        .concat(),
    )?)?;
    let mut checks = vec![
        Check {
            name: "host: every request accounted for".into(),
            passed: accounted(&host),
            detail: format!(
                "{} = {} ok + {} failed + {} dropped",
                host.total, host.successful, host.failed, host.dropped
            ),
        },
        Check {
            name: format!(
                "host: p99 latency <= {} µs at {} req/s (open model)",
                l.max_p99_us, l.rps
            ),
            passed: host.latency_us.p99 <= l.max_p99_us && host.successful > 0,
            detail: format!(
                "p99 {:.1} µs, throughput {:.0} req/s",
                host.latency_us.p99, host.throughput_rps
            ),
        },
        Check {
            name: "host: no failed or dropped requests".into(),
            passed: host.failed == 0 && host.dropped == 0,
            detail: format!("error rate {:.4}", host.error_rate),
        },
    ];
    let mut notes = Vec::new();
    let mut summary = format!(
        "host {} requests at {} req/s: p99 {:.1} µs from due time",
        host.total, l.rps, host.latency_us.p99
    );
    let device = match device_available(cfg, args) {
        Ok(()) => {
            let d = load::execute(&args_of::<load::Args>(
                "load",
                &[
                    base.clone(),
                    strings(&["--target", "qemu", "--warmup", "5"]),
                    vec![
                        "--rps".into(),
                        l.device_rps.to_string(),
                        "--requests".into(),
                        l.device_requests.to_string(),
                    ],
                ]
                .concat(),
            )?)?;
            checks.push(Check {
                name: "qemu: every request accounted for".into(),
                passed: accounted(&d),
                detail: format!(
                    "{} = {} ok + {} failed + {} dropped",
                    d.total, d.successful, d.failed, d.dropped
                ),
            });
            checks.push(Check {
                name: "qemu: no failed requests".into(),
                passed: d.failed == 0,
                detail: format!("{} failed, {} late", d.failed, d.late),
            });
            summary += &format!(
                "; qemu {} requests at {} req/s: p99 {:.0} µs",
                d.total, l.device_rps, d.latency_us.p99
            );
            notes.push("qemu latency is the emulator's UART round trip, not the model's cost (see the device stage)".into());
            json(&d)
        }
        Err(why) => {
            notes.push(format!("device load not run: {why}"));
            serde_json::Value::Null
        }
    };
    Ok(Stage {
        name: "load".into(),
        status: verdict(&checks),
        duration_s: 0.0,
        summary,
        checks,
        notes,
        details: serde_json::json!({ "host": json(&host), "qemu": device }),
    })
}

fn stage_chaos(cfg: &Config, args: &Args, state: &State, report: &mut RunReport) -> Result<Stage> {
    if !cfg.chaos.enabled {
        return Ok(skipped(
            "chaos",
            "chaos experiments not run",
            "[chaos] enabled = false".into(),
        ));
    }
    let model = state.model_path.display().to_string();
    let data = cfg.data.display().to_string();
    let c = &cfg.chaos;
    let ber: Vec<String> = c.ber.iter().map(|b| b.to_string()).collect();
    let base = strings(&[
        "--model", &model, "--data", &data, "--label", &cfg.label, "--json",
    ]);
    let mut checks = Vec::new();
    let mut details = serde_json::Map::new();
    let mut parts = Vec::new();

    let bitflip = chaos::execute(&args_of::<chaos::Args>(
        "chaos",
        &[
            base.clone(),
            vec![
                "--experiment".into(),
                "bitflip".into(),
                "--ber".into(),
                ber.join(","),
            ],
            vec!["--min-score".into(), c.min_bitflip_score.to_string()],
        ]
        .concat(),
    )?)?;
    if let Some(sweep) = bitflip.measured.get("sweep").and_then(|v| v.as_array()) {
        for (key, name) in [
            ("accuracy", "accuracy against the labels"),
            ("agreement", "agreement with the fault-free model"),
        ] {
            let points = sweep
                .iter()
                .filter_map(|p| Some((p.get("ber")?.as_f64()?, p.get(key)?.as_f64()?)))
                .collect();
            report.charts.bitflip.push(Line {
                name: name.into(),
                points,
            });
        }
    }
    checks.push(Check {
        name: format!("bitflip: resilience score >= {}", c.min_bitflip_score),
        passed: bitflip.passed,
        detail: format!(
            "{:.4}: {}",
            bitflip.resilience_score, bitflip.score_definition
        ),
    });
    parts.push(format!("bitflip score {:.3}", bitflip.resilience_score));
    details.insert("bitflip".into(), json(&bitflip));

    let mut input_flags = [base.clone(), strings(&["--experiment", "input"])].concat();
    if let Some(suite) = &cfg.suite {
        input_flags.extend(strings(&["--suite", &suite.display().to_string()]));
    }
    let input = chaos::execute(&args_of::<chaos::Args>("chaos", &input_flags)?)?;
    checks.push(Check {
        name: "input: every fault ran".into(),
        passed: input.passed,
        detail: format!("{:.4}: {}", input.resilience_score, input.score_definition),
    });
    parts.push(format!("input score {:.3}", input.resilience_score));
    details.insert("input".into(), json(&input));

    let mut notes = Vec::new();
    match device_available(cfg, args) {
        Ok(()) => {
            let link = chaos::execute(&args_of::<chaos::Args>(
                "chaos",
                &[
                    base.clone(),
                    strings(&[
                        "--experiment",
                        "link",
                        "--target",
                        "qemu",
                        "--min-score",
                        "1",
                    ]),
                    vec!["--faults".into(), c.link_faults.to_string()],
                ]
                .concat(),
            )?)?;
            checks.push(Check {
                name: "link (qemu): every valid request answered once and right, every bad frame rejected".into(),
                passed: link.passed,
                detail: format!("{:.4}: {}", link.resilience_score, link.score_definition),
            });
            parts.push(format!("link score {:.3}", link.resilience_score));
            details.insert("link".into(), json(&link));
        }
        Err(why) => notes.push(format!("link experiment not run: {why}")),
    }
    Ok(Stage {
        name: "chaos".into(),
        status: verdict(&checks),
        duration_s: 0.0,
        summary: parts.join(", "),
        checks,
        notes,
        details: serde_json::Value::Object(details),
    })
}

/// Writes `report.json`, `report.html`, `junit.xml` and `summary.md` into `dir`.
pub fn write_report(report: &RunReport, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))
    };
    write(
        "report.json",
        serde_json::to_string_pretty(report)
            .map_err(|e| Error::Internal(e.to_string()))?
            .as_bytes(),
    )?;
    write("report.html", html::render(report).as_bytes())?;
    write("junit.xml", report.to_report().to_junit().as_bytes())?;
    write("summary.md", report.to_markdown().as_bytes())?;
    Ok(())
}

/// Runs `mlprobe run`.
pub fn run(args: Args) -> Result<Outcome> {
    let cfg = Config::load(&args.config)?;
    let out = args.out.clone().unwrap_or_else(|| cfg.out.clone());
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let previous = cfg.ab.previous.as_deref().map(model_io::load).transpose()?;
    let mut report = RunReport {
        version: crate::run_report::VERSION,
        mlprobe: env!("CARGO_PKG_VERSION").into(),
        started_unix_s: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        config: args.config.display().to_string(),
        dataset: cfg.data.display().to_string(),
        passed: true,
        stages: Vec::new(),
        charts: Default::default(),
    };
    let mut state = State {
        fitted: None,
        model_path: out.join("model.mlpb"),
        previous,
    };

    let t = Instant::now();
    let st = stage_of("expect", t, stage_expect(&cfg));
    report.stages.push(st);
    let t = Instant::now();
    let st = stage_of("train", t, stage_train(&cfg, &out, &mut state, &mut report));
    report.stages.push(st);
    let t = Instant::now();
    let st = stage_of("eval", t, stage_eval(&cfg, &mut state, &mut report));
    report.stages.push(st);
    let t = Instant::now();
    let st = stage_of("device", t, stage_device(&cfg, &args, &state, &mut report));
    report.stages.push(st);
    let t = Instant::now();
    let st = stage_of("load", t, stage_load(&cfg, &args, &state));
    report.stages.push(st);
    let t = Instant::now();
    let st = stage_of("chaos", t, stage_chaos(&cfg, &args, &state, &mut report));
    report.stages.push(st);
    let t = Instant::now();
    let st = stage_of("ab", t, stage_ab(&cfg, &state, &mut report));
    report.stages.push(st);

    report.passed = report
        .stages
        .iter()
        .all(|s| matches!(s.status, StageStatus::Passed | StageStatus::Skipped));
    write_report(&report, &out)?;
    if args.json {
        output::print_json(&report)?;
    } else {
        output::print(&format!(
            "{}: report in {} (report.html, report.json, junit.xml, summary.md)\n",
            if report.passed {
                "every gate passed"
            } else {
                "A GATE FAILED"
            },
            out.display()
        ))?;
    }
    Ok(if report.passed {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}
