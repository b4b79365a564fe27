//! `mlprobe chaos`: resilience experiments, each with a score in [0, 1] and what it measured.
//!
//! - `latency` / `failure`: the seed notebook's `ChaosEngineer.inject_latency` /
//!   `inject_failure` around inference (on the host or a device), with a seeded RNG. Latency
//!   is scored against an SLO (the seed's score is always 1 for latency: nothing fails), failure
//!   as the seed does (successes / iterations), with optional retries.
//! - `bitflip`: single-event upsets in the weights ([`mlprobe_core::chaos`]): a sweep over the
//!   bit-error rate (or the number of flips), then one class of bits at a time (sign, exponent,
//!   mantissa) and one tensor at a time; agreement with the fault-free model on a dataset.
//! - `input`: NaN, ±Inf, stuck-at, noise and out-of-range features; how often predictions
//!   change, and whether an expectation suite (`--suite`) catches each fault.
//! - `link`: damaged frames mixed into valid traffic on a device link (or core's server in
//!   process for `--target host`); every valid request must be answered exactly once and
//!   bit-exactly, every bad frame rejected once, and nothing lost.

use crate::commands::load::TargetReport;
use crate::commands::{Outcome, emit};
use crate::data::{self, Dataset, Labels};
use crate::error::{Error, Result};
use crate::link::{Client, Link};
use crate::loadgen::{self, Device, DeviceOptions, DeviceTarget, HostTarget, Inputs, TargetSpec};
use crate::measure::latency_of;
use crate::model_io::check_fit;
use crate::model_io::{self, HostModel};
use mlprobe_core::chaos::{BitClass, InputFault, Layer, below, chance, flips_for_ber, inject};
use mlprobe_core::load::Target;
use mlprobe_core::mlp::argmax;
use mlprobe_core::protocol::{CostUnit, DeviceError, MAX_FRAME, Request, Response, ResponseFrame};
use mlprobe_core::server::{self, Ident, Server, StackMeter};
use mlprobe_core::sketch::Sketch;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The experiments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Experiment {
    /// Injected latency around inference, scored against --slo-ms.
    Latency,
    /// Injected failures around inference (the seed's resilience score), with --retries.
    Failure,
    /// Random bit flips in the weights: accuracy against the fault-free model.
    Bitflip,
    /// NaN, ±Inf, stuck-at, noise, out-of-range input features.
    Input,
    /// Damaged frames on the device link.
    Link,
}

/// `mlprobe chaos`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    mlprobe chaos --model wine.mlpb --experiment failure --failure-rate 0.1\n  \
    mlprobe chaos --model wine.mlpb --experiment bitflip --data data/wine.csv\n  \
    mlprobe chaos --model wine.mlpb --experiment input --data data/wine.csv --suite data/wine.suite.toml\n  \
    mlprobe chaos --model firmware/models/wine.mlpb --experiment link --target qemu --faults 1000")]
pub struct Args {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Which experiment.
    #[arg(long, value_enum)]
    pub experiment: Experiment,
    /// host, qemu, serial:PATH or tcp:HOST:PORT (bitflip runs on the host model only: a
    /// device's weights are in flash).
    #[arg(long, default_value = "host", value_name = "TARGET")]
    pub target: String,
    /// CSV rows (bitflip and input need them; latency, failure and link use them as inputs
    /// when given, else seeded random rows).
    #[arg(long, value_name = "FILE.csv")]
    pub data: Option<PathBuf>,
    /// Name of the label column of --data.
    #[arg(long, default_value = "label", value_name = "COL")]
    pub label: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// latency / failure: calls.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub iterations: u64,
    /// latency: injected delay.
    #[arg(long, default_value_t = 20.0, value_name = "MS")]
    pub latency_ms: f64,
    /// latency: probability of a delay.
    #[arg(long, default_value_t = 0.1, value_name = "P")]
    pub probability: f64,
    /// latency: a call slower than this misses the SLO (default: half of --latency-ms).
    #[arg(long, value_name = "MS")]
    pub slo_ms: Option<f64>,
    /// failure: probability that an attempt fails.
    #[arg(long, default_value_t = 0.1, value_name = "P")]
    pub failure_rate: f64,
    /// failure: attempts after a failed one.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// bitflip: bit-error rates to sweep (fraction of all weight bits).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.00001,0.0001,0.001,0.01",
        value_name = "BER,…"
    )]
    pub ber: Vec<f64>,
    /// bitflip: sweep these numbers of flips instead of --ber.
    #[arg(long, value_delimiter = ',', value_name = "N,…")]
    pub flips: Option<Vec<u64>>,
    /// bitflip: random trials per point (averaged).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub trials: u32,
    /// bitflip: flips per trial in the per-class and per-tensor breakdowns.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub class_flips: u64,
    /// input: an expectation suite (TOML) run on each damaged dataset.
    #[arg(long, value_name = "SUITE.toml")]
    pub suite: Option<PathBuf>,
    /// input: noise in standard deviations of the feature.
    #[arg(long, default_value_t = 1.0, value_name = "SIGMA")]
    pub noise: f32,
    /// input: out-of-range values this many standard deviations from the mean.
    #[arg(long, default_value_t = 10.0, value_name = "K")]
    pub out_of_range: f32,
    /// input: the stuck-at value (raw units).
    #[arg(long, default_value_t = 0.0, value_name = "X")]
    pub stuck_at: f32,
    /// link: damaged frames to send (each followed by a valid request).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub faults: u64,
    /// link: a pause of this many ms in the middle of every 10th valid request.
    #[arg(long, default_value_t = 5, value_name = "MS")]
    pub silence_ms: u64,
    /// link: steps (damaged frame + valid request) sent before reading the answers.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub window: usize,
    /// Fail (exit 1) when the resilience score is below this.
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f64>,
    /// How to reach a device (ELF for QEMU, baud rate for a serial port).
    #[command(flatten)]
    pub device: DeviceOptions,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The `chaos` JSON document: common fields, then the experiment's measurements.
#[derive(Debug, Serialize)]
pub struct ChaosReport {
    /// The experiment's name.
    pub experiment: &'static str,
    /// Where it ran.
    pub target: TargetReport,
    /// The seed.
    pub seed: u64,
    /// In [0, 1]; how it is defined depends on the experiment (`score_definition`).
    pub resilience_score: f64,
    /// What the score is.
    pub score_definition: &'static str,
    /// The experiment's own checks passed (link: nothing lost or wrong) and --min-score held.
    pub passed: bool,
    /// What failed.
    pub violations: Vec<String>,
    /// The measurements.
    pub measured: Value,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

fn prob(flag: &str, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(usage(format!("{flag} {p}: must be within [0, 1]")))
    }
}

struct Ctx {
    model: Arc<HostModel>,
    data: Option<Dataset>,
    spec: TargetSpec,
}

/// Runs the chaos experiment of `a` and returns its report.
pub fn execute(a: &Args) -> Result<ChaosReport> {
    let spec: TargetSpec = a
        .target
        .parse()
        .map_err(|e| usage(format!("--target: {e}")))?;
    prob("--probability", a.probability)?;
    prob("--failure-rate", a.failure_rate)?;
    for &b in &a.ber {
        prob("--ber", b)?;
    }
    if a.trials == 0 || a.iterations == 0 || a.window == 0 {
        return Err(usage(
            "--trials, --iterations and --window must be at least 1",
        ));
    }
    let model = Arc::new(model_io::load(&a.model)?);
    let data = match &a.data {
        Some(p) => {
            let d = data::load(p, Labels::Optional(&a.label))?;
            check_fit(&model, &d)?;
            if d.rows() == 0 {
                return Err(Error::file(p, "has no rows"));
            }
            Some(d)
        }
        None => None,
    };
    let ctx = Ctx { model, data, spec };
    let host_report = || TargetReport {
        kind: "host".into(),
        board: "host".into(),
        link: None,
    };
    let (target, (score, definition, measured, mut violations)) = match a.experiment {
        Experiment::Bitflip if ctx.spec != TargetSpec::Host => {
            return Err(usage(format!(
                "--experiment bitflip --target {}: bit flips are made in the host's copy of the \
                 weights (a device's are in flash); use --target host",
                a.target
            )));
        }
        Experiment::Bitflip => (host_report(), bitflip(a, &ctx)?),
        Experiment::Link if ctx.spec == TargetSpec::Host => {
            let mut client = Client::new(Loopback::new(&ctx.model)?);
            let r = link(a, &ctx, &mut client)?;
            let mut t = host_report();
            t.link = Some("in-process core::server".into());
            (t, r)
        }
        _ if ctx.spec == TargetSpec::Host => {
            let r = match a.experiment {
                Experiment::Input => input(a, &ctx, None)?,
                _ => {
                    let inputs = inputs(a, &ctx);
                    let mut t = HostTarget::new(ctx.model.clone(), inputs);
                    inject_around(a, &mut t)?
                }
            };
            (host_report(), r)
        }
        _ => {
            let mut device = loadgen::open_device(&ctx.spec, &a.model, &a.device)?;
            let target = TargetReport {
                kind: ctx.spec.kind().into(),
                board: device.info.board.to_string(),
                link: Some(device.link.clone()),
            };
            let r = match a.experiment {
                Experiment::Link => link(a, &ctx, &mut device.client),
                Experiment::Input => input(a, &ctx, Some(&mut device)),
                _ => {
                    let inputs = inputs(a, &ctx);
                    let mut t = DeviceTarget::new(&mut device, inputs)?;
                    inject_around(a, &mut t)
                }
            };
            if let Some(q) = device.qemu.take() {
                q.stop();
            }
            (target, r?)
        }
    };
    if let Some(min) = a.min_score
        && score < min
    {
        violations.push(format!("resilience score {score:.4} < {min}"));
    }
    let report = ChaosReport {
        experiment: name(a.experiment),
        target,
        seed: a.seed,
        resilience_score: score,
        score_definition: definition,
        passed: violations.is_empty(),
        violations,
        measured,
    };
    Ok(report)
}

/// Runs `mlprobe chaos`.
pub fn run(a: Args) -> Result<Outcome> {
    let report = execute(&a)?;
    emit(a.json, &report, render, report.passed)
}

fn name(e: Experiment) -> &'static str {
    match e {
        Experiment::Latency => "latency",
        Experiment::Failure => "failure",
        Experiment::Bitflip => "bitflip",
        Experiment::Input => "input",
        Experiment::Link => "link",
    }
}

fn inputs(a: &Args, ctx: &Ctx) -> Arc<Inputs> {
    Arc::new(match &ctx.data {
        Some(d) => Inputs::from_rows(d.features.clone(), d.width()),
        None => Inputs::random(&ctx.model, 1024, a.seed),
    })
}

type Measured = (f64, &'static str, Value, Vec<String>);

/// The seed's `inject_latency` and `inject_failure` wrappers around `target`.
fn inject_around(a: &Args, target: &mut dyn Target) -> Result<Measured> {
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let mut sketch = Sketch::new();
    match a.experiment {
        Experiment::Latency => {
            let slo = a.slo_ms.unwrap_or(a.latency_ms / 2.0);
            let (mut injected, mut within, mut errors) = (0u64, 0u64, 0u64);
            for i in 0..a.iterations {
                let start = Instant::now();
                if chance(&mut rng, a.probability) {
                    injected += 1;
                    std::thread::sleep(Duration::from_secs_f64(a.latency_ms / 1e3));
                }
                let ok = target.call(i);
                let took = start.elapsed();
                sketch.record(u32::try_from(took.as_nanos()).unwrap_or(u32::MAX));
                if !ok {
                    errors += 1;
                } else if took.as_secs_f64() * 1e3 <= slo {
                    within += 1;
                }
            }
            let score = within as f64 / a.iterations as f64;
            Ok((
                score,
                "calls answered within --slo-ms / iterations",
                json!({
                    "iterations": a.iterations,
                    "injected": injected,
                    "latency_ms": a.latency_ms,
                    "probability": a.probability,
                    "slo_ms": slo,
                    "within_slo": within,
                    "errors": errors,
                    "latency_us": latency_of(&sketch),
                }),
                vec![],
            ))
        }
        _ => {
            let (mut successes, mut failures, mut injected, mut retried) = (0u64, 0u64, 0u64, 0u64);
            let mut target_errors = 0u64;
            for i in 0..a.iterations {
                let start = Instant::now();
                let mut ok = false;
                for attempt in 0..=a.retries {
                    if attempt > 0 {
                        retried += 1;
                    }
                    if chance(&mut rng, a.failure_rate) {
                        injected += 1;
                        continue;
                    }
                    if target.call(i) {
                        ok = true;
                        break;
                    }
                    target_errors += 1;
                }
                sketch.record(u32::try_from(start.elapsed().as_nanos()).unwrap_or(u32::MAX));
                if ok {
                    successes += 1;
                } else {
                    failures += 1;
                }
            }
            // Without retries a call fails with probability r; with k retries, r^(k+1).
            let expected = 1.0 - a.failure_rate.powi(a.retries as i32 + 1);
            Ok((
                successes as f64 / a.iterations as f64,
                "successful calls / iterations (the seed's resilience_score)",
                json!({
                    "iterations": a.iterations,
                    "successes": successes,
                    "failures": failures,
                    "failure_rate": a.failure_rate,
                    "retries": a.retries,
                    "injected_failures": injected,
                    "retry_attempts": retried,
                    "target_errors": target_errors,
                    "expected_score": expected,
                    "errors": { "Injected chaos failure": injected },
                    "latency_us": latency_of(&sketch),
                }),
                vec![],
            ))
        }
    }
}

fn need_data<'c>(ctx: &'c Ctx, what: &str) -> Result<&'c Dataset> {
    ctx.data
        .as_ref()
        .ok_or_else(|| usage(format!("--experiment {what} needs --data FILE.csv")))
}

/// Predicted classes of `model` on every row (`None` where a logit is not finite).
fn predictions(model: &HostModel, d: &Dataset, scratch: &mut [f32]) -> Vec<Option<usize>> {
    (0..d.rows())
        .map(|r| {
            let l = model.infer(d.row(r), scratch).ok()?;
            l.iter().all(|v| v.is_finite()).then(|| argmax(l))
        })
        .collect()
}

#[derive(Default, Serialize, Clone)]
struct Point {
    #[serde(skip_serializing_if = "Option::is_none")]
    ber: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bits: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tensor: Option<&'static str>,
    flips_mean: f64,
    /// Share of rows predicted as the fault-free model predicts, averaged over trials.
    agreement: f64,
    agreement_min: f64,
    /// Accuracy against the labels, when there are labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy: Option<f64>,
    /// Share of rows with a non-finite logit.
    non_finite: f64,
}

fn bitflip(a: &Args, ctx: &Ctx) -> Result<Measured> {
    let d = need_data(ctx, "bitflip")?;
    let model = &*ctx.model;
    let dims = model.dims();
    let mut scratch = vec![0.0; dims.scratch_len()];
    let clean = predictions(model, d, &mut scratch);
    let labels = d.labels.as_ref();
    let acc_of = |p: &[Option<usize>]| {
        labels.map(|l| {
            p.iter()
                .zip(l)
                .filter(|(p, l)| **p == Some(usize::from(**l)))
                .count() as f64
                / p.len() as f64
        })
    };
    let clean_accuracy = acc_of(&clean);
    let bits_total = (dims.param_count() * 32) as u64;
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let mut faulty = model.clone();
    // One point: `trials` runs of `flips(rng)` flips in `layer` on bits of `class`.
    let mut point = |flips: &mut dyn FnMut(&mut ChaCha8Rng) -> u64,
                     layer: Layer,
                     class: BitClass,
                     rng: &mut ChaCha8Rng| {
        let (mut agree_sum, mut agree_min, mut acc_sum, mut nf_sum, mut flips_sum) =
            (0.0, 1.0f64, 0.0, 0.0, 0u64);
        for _ in 0..a.trials {
            faulty.mlp.params_mut().copy_from_slice(model.mlp.params());
            let n = flips(rng);
            flips_sum += n;
            inject(faulty.mlp.params_mut(), layer.range(&dims), class, n, rng);
            let p = predictions(&faulty, d, &mut scratch);
            let agree =
                p.iter().zip(&clean).filter(|(x, y)| x == y).count() as f64 / p.len() as f64;
            agree_sum += agree;
            agree_min = agree_min.min(agree);
            acc_sum += acc_of(&p).unwrap_or(0.0);
            nf_sum += p.iter().filter(|x| x.is_none()).count() as f64 / p.len() as f64;
        }
        let t = f64::from(a.trials);
        Point {
            flips_mean: flips_sum as f64 / t,
            agreement: agree_sum / t,
            agreement_min: agree_min,
            accuracy: labels.map(|_| acc_sum / t),
            non_finite: nf_sum / t,
            ..Point::default()
        }
    };
    let mut sweep = Vec::new();
    match &a.flips {
        Some(list) => {
            for &n in list {
                let mut p = point(&mut |_| n, Layer::All, BitClass::Any, &mut rng);
                p.ber = Some(n as f64 / bits_total as f64);
                sweep.push(p);
            }
        }
        None => {
            for &ber in &a.ber {
                let mut p = point(
                    &mut |r| flips_for_ber(r, bits_total, ber),
                    Layer::All,
                    BitClass::Any,
                    &mut rng,
                );
                p.ber = Some(ber);
                sweep.push(p);
            }
        }
    }
    let k = a.class_flips;
    let mut by_bits = Vec::new();
    for class in [BitClass::Sign, BitClass::Exponent, BitClass::Mantissa] {
        let mut p = point(&mut |_| k, Layer::All, class, &mut rng);
        p.bits = Some(class.name());
        by_bits.push(p);
    }
    let mut by_tensor = Vec::new();
    for layer in Layer::TENSORS {
        let mut p = point(&mut |_| k, layer, BitClass::Any, &mut rng);
        p.tensor = Some(layer.name());
        by_tensor.push(p);
    }
    let score = sweep.iter().map(|p| p.agreement).sum::<f64>() / sweep.len().max(1) as f64;
    Ok((
        score,
        "agreement with the fault-free model's predictions, averaged over the sweep",
        json!({
            "rows": d.rows(),
            "parameters": dims.param_count(),
            "weight_bits": bits_total,
            "trials": a.trials,
            "clean_accuracy": clean_accuracy,
            "sweep": sweep,
            "flips_per_trial": k,
            "by_bits": by_bits,
            "by_tensor": by_tensor,
        }),
        vec![],
    ))
}

#[derive(Serialize)]
struct InputRow {
    fault: &'static str,
    rows: usize,
    changed: usize,
    changed_rate: f64,
    non_finite: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caught_by_suite: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failed_expectations: Vec<String>,
}

fn input(a: &Args, ctx: &Ctx, mut device: Option<&mut Device>) -> Result<Measured> {
    let d = need_data(ctx, "input")?;
    let model = &*ctx.model;
    let mut scratch = vec![0.0; model.dims().scratch_len()];
    let suite = match &a.suite {
        Some(p) => Some(crate::suite::Suite::load(p)?),
        None => None,
    };
    let run_suite = |values: &[f32]| -> Result<Option<(bool, Vec<String>)>> {
        let Some(s) = &suite else { return Ok(None) };
        let v = crate::expect::validate_dataset(s, d, values)?;
        let failed = v
            .results
            .iter()
            .filter(|r| !r.success)
            .map(|r| match &r.column {
                Some(c) => format!("{} ({c})", r.expectation_type),
                None => r.expectation_type.to_string(),
            })
            .collect();
        Ok(Some((v.success, failed)))
    };
    let clean_suite = run_suite(&d.features)?;
    let mut predict = |row: &[f32]| -> Result<Option<usize>> {
        match device.as_deref_mut() {
            None => Ok(model
                .infer(row, &mut scratch)
                .ok()
                .filter(|l| l.iter().all(|v| v.is_finite()))
                .map(argmax)),
            Some(dev) => {
                let features = row.iter().copied().collect();
                match dev.client.call(Request::Infer { features }) {
                    Ok(Response::Inference(i)) => Ok(i
                        .logits
                        .iter()
                        .all(|v| v.is_finite())
                        .then_some(usize::from(i.class))),
                    Ok(_) => Ok(None),
                    Err(e) => Err(Error::Internal(format!("device: {e}"))),
                }
            }
        }
    };
    let w = d.width();
    let clean: Vec<Option<usize>> = (0..d.rows())
        .map(|r| predict(d.row(r)))
        .collect::<Result<_>>()?;
    let (mean, std) = (model.norm.mean(), model.norm.std());
    let faults = [
        InputFault::Nan,
        InputFault::PosInf,
        InputFault::NegInf,
        InputFault::StuckAt(a.stuck_at),
        InputFault::Noise(a.noise),
        InputFault::OutOfRange(a.out_of_range),
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let mut rows = Vec::new();
    for fault in faults {
        let mut values = d.features.clone();
        // One feature per row, chosen at random: a sensor fails, not the whole row.
        for r in 0..d.rows() {
            let j = below(&mut rng, w as u64) as usize;
            let v = &mut values[r * w + j];
            *v = fault.apply(*v, mean[j], std[j], &mut rng);
        }
        let mut changed = 0;
        let mut non_finite = 0;
        let mut right = 0;
        for r in 0..d.rows() {
            let p = predict(&values[r * w..(r + 1) * w])?;
            if p.is_none() {
                non_finite += 1;
            }
            if p != clean[r] {
                changed += 1;
            }
            if let (Some(l), Some(p)) = (&d.labels, p)
                && usize::from(l[r]) == p
            {
                right += 1;
            }
        }
        let caught = run_suite(&values)?;
        rows.push(InputRow {
            fault: fault.name(),
            rows: d.rows(),
            changed,
            changed_rate: changed as f64 / d.rows() as f64,
            non_finite,
            accuracy: d.labels.as_ref().map(|_| right as f64 / d.rows() as f64),
            caught_by_suite: caught.as_ref().map(|c| !c.0),
            failed_expectations: caught.map(|c| c.1).unwrap_or_default(),
        });
    }
    let score = 1.0 - rows.iter().map(|r| r.changed_rate).sum::<f64>() / rows.len() as f64;
    Ok((
        score,
        "share of predictions unchanged by a damaged feature, averaged over the faults",
        json!({
            "rows": d.rows(),
            "features_damaged_per_row": 1,
            "suite": a.suite,
            "suite_passes_clean_data": clean_suite.map(|c| c.0),
            "faults": rows,
        }),
        vec![],
    ))
}

/// Core's device server in this process, behind a [`Link`]: `chaos link --target host`
/// exercises the same request handler as the firmware without a device.
pub struct Loopback {
    server: Box<Server<SharedModel, NsClock, NoStack, LOOPBACK_SCRATCH>>,
    rx: VecDeque<u8>,
}

/// Scratch of the in-process server (enough for 4,096 hidden units and the protocol's limits).
const LOOPBACK_SCRATCH: usize = 4096 + 64 + 64;

/// Nanoseconds as the cost clock of the in-process server.
pub struct NsClock(Instant);

impl server::Clock for NsClock {
    fn now(&mut self) -> u32 {
        self.0.elapsed().as_nanos() as u32
    }
    fn cost(&self, start: u32, end: u32) -> u32 {
        end.wrapping_sub(start)
    }
    fn unit(&self) -> CostUnit {
        CostUnit::Cycles
    }
    fn hz(&self) -> u32 {
        1_000_000_000
    }
}

/// No stack to measure in process.
pub struct NoStack;

impl StackMeter for NoStack {
    fn peak_bytes(&self) -> u32 {
        0
    }
    fn size_bytes(&self) -> u32 {
        0
    }
}

/// The shared model as core's [`server::Infer`].
pub struct SharedModel(Arc<HostModel>);

impl server::Infer for SharedModel {
    fn dims(&self) -> mlprobe_core::mlp::Dims {
        self.0.dims()
    }
    fn infer<'s>(
        &self,
        raw: &[f32],
        scratch: &'s mut [f32],
    ) -> std::result::Result<&'s [f32], mlprobe_core::mlp::MlpError> {
        self.0.infer(raw, scratch)
    }
}

impl Loopback {
    /// A server for `model`.
    pub fn new(model: &Arc<HostModel>) -> Result<Self> {
        let server = Server::new(
            SharedModel(model.clone()),
            NsClock(Instant::now()),
            NoStack,
            Ident {
                board: "host-loopback",
                firmware: [0, 0, 0],
                model_crc: 0,
            },
        )
        .map_err(|e| usage(format!("the model does not fit the device protocol: {e}")))?;
        Ok(Self {
            server: Box::new(server),
            rx: VecDeque::new(),
        })
    }
}

impl Link for Loopback {
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut out = [0u8; MAX_FRAME];
        for &b in bytes {
            if let Some(n) = self.server.feed(b, &mut out) {
                self.rx.extend(&out[..n]);
            }
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rx.is_empty() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.rx.len());
        for (b, x) in buf.iter_mut().zip(self.rx.drain(..n)) {
            *b = x;
        }
        Ok(n)
    }
    fn set_timeout(&mut self, _: Duration) -> std::io::Result<()> {
        Ok(())
    }
    fn describe(&self) -> String {
        "in-process core::server".into()
    }
}

/// A damaged frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Fault {
    /// One byte of a valid frame replaced by another non-zero byte.
    Corrupted,
    /// A valid frame cut short (ended by the next frame's leading delimiter).
    Truncated,
    /// Random non-zero bytes.
    Garbage,
    /// More than MAX_FRAME bytes without a delimiter.
    Oversized,
}

const FAULTS: [Fault; 4] = [
    Fault::Corrupted,
    Fault::Truncated,
    Fault::Garbage,
    Fault::Oversized,
];

fn nonzero(rng: &mut ChaCha8Rng) -> u8 {
    1 + below(rng, 255) as u8
}

fn damaged(fault: Fault, valid: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    // `valid` is [0, frame…, 0]: the leading delimiter, the COBS bytes, the trailing one.
    let body = &valid[1..valid.len() - 1];
    let mut out = vec![0u8];
    match fault {
        Fault::Corrupted => {
            let mut b = body.to_vec();
            let i = below(rng, b.len() as u64) as usize;
            let mut x = nonzero(rng);
            while x == b[i] {
                x = nonzero(rng);
            }
            b[i] = x;
            out.extend(b);
            out.push(0);
        }
        Fault::Truncated => {
            let cut = 1 + below(rng, body.len() as u64 - 1) as usize;
            out.extend(&body[..cut]);
        }
        Fault::Garbage => {
            let n = 1 + below(rng, 48) as usize;
            out.extend((0..n).map(|_| nonzero(rng)));
            out.push(0);
        }
        Fault::Oversized => {
            let n = MAX_FRAME + 1 + below(rng, 32) as usize;
            out.extend((0..n).map(|_| nonzero(rng)));
            out.push(0);
        }
    }
    out
}

fn link<L: Link>(a: &Args, ctx: &Ctx, client: &mut Client<L>) -> Result<Measured> {
    let model = &*ctx.model;
    let inputs = inputs(a, ctx);
    let mut scratch = vec![0.0; model.dims().scratch_len()];
    let mut rng = ChaCha8Rng::seed_from_u64(a.seed);
    let dev = |e: crate::link::LinkError| Error::Internal(format!("device: {e}"));
    client.wait_ready(Duration::from_secs(10)).map_err(dev)?;
    client.call(Request::Reset).map_err(dev)?;
    let timeout = Duration::from_secs(5);
    client.set_timeout(timeout);
    let started = Instant::now();

    // What the device must answer, in order.
    let mut sent_faults: HashMap<Fault, u64> = HashMap::new();
    let (mut valid_sent, mut answered, mut wrong, mut duplicates, mut lost) = (0u64, 0, 0, 0, 0);
    let (mut rejections, mut unexpected, mut silences) = (0u64, 0u64, 0u64);
    let mut seen = std::collections::HashSet::new();
    let base = 1_000_000u32;
    let mut step = 0u64;
    while step < a.faults {
        let n = (a.window as u64).min(a.faults - step);
        let mut outstanding: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut last_id = 0;
        for _ in 0..n {
            let id = base + step as u32;
            let row = inputs.row(step);
            let expect: Vec<u32> = model
                .infer(row, &mut scratch)
                .map_err(|e| Error::Internal(e.to_string()))?
                .iter()
                .map(|v| v.to_bits())
                .collect();
            let frame = Client::<L>::encode(
                id,
                Request::Infer {
                    features: row.iter().copied().collect(),
                },
            )
            .map_err(dev)?;
            let fault = FAULTS[below(&mut rng, FAULTS.len() as u64) as usize];
            // Oversized frames are 300+ bytes: one in four draws of them is kept, so the
            // byte budget on a slow UART goes to many short faults.
            let fault = if fault == Fault::Oversized && below(&mut rng, 4) != 0 {
                Fault::Garbage
            } else {
                fault
            };
            *sent_faults.entry(fault).or_default() += 1;
            client
                .send_raw(&damaged(fault, &frame, &mut rng))
                .map_err(dev)?;
            if step % 10 == 9 && a.silence_ms > 0 {
                // Silence in the middle of a valid frame: it must still be read as one.
                let half = frame.len() / 2;
                client.send_raw(&frame[..half]).map_err(dev)?;
                std::thread::sleep(Duration::from_millis(a.silence_ms));
                client.send_raw(&frame[half..]).map_err(dev)?;
                silences += 1;
            } else {
                client.send_raw(&frame).map_err(dev)?;
            }
            outstanding.insert(id, expect);
            valid_sent += 1;
            last_id = id;
            step += 1;
        }
        // Answers: one error per damaged frame, one inference per valid request, in order.
        let mut done = false;
        while !done {
            match client.recv() {
                Ok(ResponseFrame {
                    id: None,
                    response: Response::Error(DeviceError::Frame(_)),
                }) => rejections += 1,
                Ok(ResponseFrame {
                    id: Some(id),
                    response,
                }) => {
                    match (outstanding.remove(&id), response) {
                        (Some(expect), Response::Inference(i)) => {
                            let bits: Vec<u32> = i.logits.iter().map(|v| v.to_bits()).collect();
                            if bits == expect {
                                answered += 1;
                            } else {
                                wrong += 1;
                            }
                            seen.insert(id);
                        }
                        (Some(_), _) => wrong += 1,
                        (None, _) if seen.contains(&id) => duplicates += 1,
                        (None, _) => unexpected += 1,
                    }
                    done = id == last_id;
                }
                Ok(_) => unexpected += 1,
                Err(crate::link::LinkError::Frame { .. }) => unexpected += 1,
                Err(_) => done = true,
            }
        }
        lost += outstanding.len() as u64;
    }
    // Nothing more may arrive: no late duplicates, no answers to damaged frames.
    client.set_timeout(Duration::from_millis(300));
    while let Ok(f) = client.recv() {
        match f.id {
            Some(id) if seen.contains(&id) => duplicates += 1,
            _ => unexpected += 1,
        }
    }
    client.set_timeout(timeout);
    let stats = match client.call(Request::Stats).map_err(dev)? {
        Response::Stats(s) => s,
        other => return Err(Error::Internal(format!("unexpected answer: {other:?}"))),
    };
    let bad_frames: u64 = sent_faults.values().sum();
    let mut violations = Vec::new();
    if lost > 0 {
        violations.push(format!("{lost} valid requests lost"));
    }
    if wrong > 0 {
        violations.push(format!("{wrong} wrong answers"));
    }
    if duplicates > 0 {
        violations.push(format!("{duplicates} requests answered twice"));
    }
    if rejections != bad_frames {
        violations.push(format!(
            "{rejections} frames rejected for {bad_frames} damaged frames sent"
        ));
    }
    if unexpected > 0 {
        violations.push(format!("{unexpected} unexpected frames from the device"));
    }
    if u64::from(stats.served) != valid_sent || u64::from(stats.rejected) != bad_frames {
        violations.push(format!(
            "device counters: served {} (sent {valid_sent}), rejected {} (sent {bad_frames})",
            stats.served, stats.rejected
        ));
    }
    let score = if valid_sent + bad_frames == 0 {
        1.0
    } else {
        (answered + rejections.min(bad_frames)) as f64 / (valid_sent + bad_frames) as f64
    };
    let by_kind: serde_json::Map<String, Value> = FAULTS
        .iter()
        .map(|f| {
            (
                serde_json::to_value(f)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                json!(sent_faults.get(f).copied().unwrap_or(0)),
            )
        })
        .collect();
    Ok((
        score,
        "(valid requests answered bit-exactly + damaged frames rejected) / frames sent",
        json!({
            "frames_sent": valid_sent + bad_frames,
            "valid_requests": valid_sent,
            "bad_frames": bad_frames,
            "bad_frames_by_kind": by_kind,
            "silences": silences,
            "silence_ms": a.silence_ms,
            "answered_correctly": answered,
            "rejected": rejections,
            "lost": lost,
            "wrong": wrong,
            "duplicates": duplicates,
            "unexpected": unexpected,
            "device_served": stats.served,
            "device_rejected": stats.rejected,
            "seconds": started.elapsed().as_secs_f64(),
            "window": a.window,
        }),
        violations,
    ))
}

/// The human report.
pub fn render(r: &ChaosReport) -> String {
    let link = r
        .target
        .link
        .as_deref()
        .map_or_else(String::new, |l| format!(" via {l}"));
    let mut s = format!(
        "chaos {} on {} ({}{link}), seed {}\n",
        r.experiment, r.target.kind, r.target.board, r.seed
    );
    let m = &r.measured;
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    match r.experiment {
        "latency" => {
            s += &format!(
                "{} calls, {} delayed by {} ms; {} within the {} ms SLO\n",
                m["iterations"], m["injected"], m["latency_ms"], m["within_slo"], m["slo_ms"]
            );
            let l = &m["latency_us"];
            s += &format!(
                "latency µs  p50 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}\n",
                f(&l["p50"]),
                f(&l["p95"]),
                f(&l["p99"]),
                f(&l["p999"]),
                f(&l["max"])
            );
        }
        "failure" => {
            s += &format!(
                "{} calls, {} succeeded, {} failed ({} injected failures, {} retries; expected score {:.4})\n",
                m["iterations"],
                m["successes"],
                m["failures"],
                m["injected_failures"],
                m["retry_attempts"],
                f(&m["expected_score"])
            );
        }
        "bitflip" => {
            s += &format!(
                "{} rows, {} parameters ({} bits), {} trials per point; clean accuracy {}\n",
                m["rows"], m["parameters"], m["weight_bits"], m["trials"], m["clean_accuracy"]
            );
            s += "bit-error rate   flips   agreement (min)     accuracy   non-finite\n";
            for p in m["sweep"].as_array().into_iter().flatten() {
                s += &format!(
                    "{:<14.2e} {:>7.2}   {:.4} ({:.4})    {:>8}   {:.4}\n",
                    f(&p["ber"]),
                    f(&p["flips_mean"]),
                    f(&p["agreement"]),
                    f(&p["agreement_min"]),
                    p.get("accuracy")
                        .map_or("-".into(), |a| format!("{:.4}", f(a))),
                    f(&p["non_finite"])
                );
            }
            s += &format!("{} flip(s) per trial, by bits:", m["flips_per_trial"]);
            for p in m["by_bits"].as_array().into_iter().flatten() {
                s += &format!(
                    "  {} {:.4}",
                    p["bits"].as_str().unwrap_or(""),
                    f(&p["agreement"])
                );
            }
            s += "\nby tensor:";
            for p in m["by_tensor"].as_array().into_iter().flatten() {
                s += &format!(
                    "  {} {:.4}",
                    p["tensor"].as_str().unwrap_or(""),
                    f(&p["agreement"])
                );
            }
            s += "\n";
        }
        "input" => {
            s += "fault          changed   non-finite   accuracy   caught by suite\n";
            for p in m["faults"].as_array().into_iter().flatten() {
                s += &format!(
                    "{:<13} {:>8.4}   {:>10}   {:>8}   {}\n",
                    p["fault"].as_str().unwrap_or(""),
                    f(&p["changed_rate"]),
                    p["non_finite"],
                    p.get("accuracy")
                        .map_or("-".into(), |a| format!("{:.4}", f(a))),
                    p.get("caught_by_suite").map_or("-".into(), |c| {
                        let failed = p["failed_expectations"]
                            .as_array()
                            .map(|v| v.len())
                            .unwrap_or(0);
                        if c.as_bool() == Some(true) {
                            format!("yes ({failed} expectations failed)")
                        } else {
                            "no".into()
                        }
                    })
                );
            }
        }
        _ => {
            s += &format!(
                "{} frames: {} valid requests, {} damaged ({}), {} silences of {} ms\n",
                m["frames_sent"],
                m["valid_requests"],
                m["bad_frames"],
                m["bad_frames_by_kind"],
                m["silences"],
                m["silence_ms"]
            );
            s += &format!(
                "answered correctly {}  rejected {}  lost {}  wrong {}  duplicates {}  unexpected {}  ({:.1} s)\n",
                m["answered_correctly"],
                m["rejected"],
                m["lost"],
                m["wrong"],
                m["duplicates"],
                m["unexpected"],
                f(&m["seconds"])
            );
        }
    }
    s += &format!(
        "resilience score {:.4}: {}\n",
        r.resilience_score, r.score_definition
    );
    for v in &r.violations {
        s += &format!("check failed: {v}\n");
    }
    s
}
