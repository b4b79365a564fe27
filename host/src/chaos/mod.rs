//! Resilience experiments, each with a score in [0, 1] and typed measurements:
//!
//! - [`latency`] / [`failure`]: the seed notebook's `ChaosEngineer.inject_latency` /
//!   `inject_failure` around inference (on the host or a device), with a seeded RNG. Latency
//!   is scored against an SLO (the seed's score is always 1 for latency: nothing fails),
//!   failure as the seed does (successes / iterations), with optional retries.
//! - [`bitflip`]: single-event upsets in the weights ([`mlprobe_core::chaos`]): a sweep over the
//!   bit-error rate (or the number of flips), then one class of bits at a time (sign, exponent,
//!   mantissa) and one tensor at a time; agreement with the fault-free model on a dataset.
//! - [`input`]: NaN, ±Inf, stuck-at, noise and out-of-range features; how often predictions
//!   change, and whether an expectation suite catches each fault.
//! - [`link`]: damaged frames mixed into valid traffic on a device link (or core's server in
//!   process on the host); every valid request must be answered exactly once and bit-exactly,
//!   every bad frame rejected once, and nothing lost ([`mlprobe_core::chaos::link`]).
//!
//! A new experiment is a file here with its options, its result (`Serialize`, `human`) and a
//! `run`, plus one variant in [`Experiment`] and one in [`Measured`]: every `match` on them
//! is exhaustive, so the compiler lists what is left to write.
//!
//! ```no_run
//! use mlprobe::chaos::{ChaosOptions, Experiment, FailureOptions, execute};
//! # fn main() -> mlprobe::error::Result<()> {
//! let failure = FailureOptions { failure_rate: 0.2, ..FailureOptions::default() };
//! let report = execute(&ChaosOptions::new("wine.mlpb".into(), Experiment::Failure(failure)))?;
//! print!("{}", report.human());
//! # Ok(()) }
//! ```

pub mod bitflip;
pub mod failure;
pub mod input;
pub mod latency;
pub mod link;

pub use bitflip::{BitflipOptions, BitflipResult, Point, Sweep};
pub use failure::{FailureOptions, FailureResult};
pub use input::{InputOptions, InputResult, InputRow};
pub use latency::{LatencyOptions, LatencyResult};
pub use link::{FaultCounts, LinkOptions, LinkResult, Loopback};

use crate::data::Dataset;
use crate::device::{Session, TargetReport, TargetSpec};
use crate::error::{Error, Result};
use crate::loadgen::{DeviceTarget, HostTarget, Inputs, dataset_for};
use crate::model_io::{self, HostModel};
use mlprobe_core::load::Target;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// An experiment and its own options.
#[derive(Clone, Debug)]
pub enum Experiment {
    /// Injected latency around inference, scored against an SLO.
    Latency(LatencyOptions),
    /// Injected failures around inference (the seed's resilience score), with retries.
    Failure(FailureOptions),
    /// Random bit flips in the weights: agreement with the fault-free model.
    Bitflip(BitflipOptions),
    /// NaN, ±Inf, stuck-at, noise, out-of-range input features.
    Input(InputOptions),
    /// Damaged frames on the device link.
    Link(LinkOptions),
}

/// A chaos run: the model, the experiment, where it runs.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// The model file.
    pub model: PathBuf,
    /// Which experiment, with its options.
    pub experiment: Experiment,
    /// Where it runs (bitflip: the host only; a device's weights are in flash).
    pub target: TargetSpec,
    /// CSV rows (bitflip and input need them; the others use them as inputs when given, else
    /// seeded random rows).
    pub data: Option<PathBuf>,
    /// The label column of `data`.
    pub label: String,
    /// Seed of every random choice.
    pub seed: u64,
    /// Fail when the resilience score is below this.
    pub min_score: Option<f64>,
    /// A firmware ELF already built for the model (QEMU).
    pub elf: Option<PathBuf>,
    /// Baud rate of a serial target.
    pub baud: u32,
}

/// Rejects a probability outside [0, 1], naming the flag.
pub(crate) fn probability(flag: &str, p: f64) -> Result<()> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::Usage(format!("{flag} {p}: must be within [0, 1]")))
    }
}

/// Rejects a count of zero, naming the flag.
pub(crate) fn at_least_one(flag: &str, n: u64) -> Result<()> {
    if n == 0 {
        return Err(Error::Usage(format!("{flag} 0: must be at least 1")));
    }
    Ok(())
}

impl ChaosOptions {
    /// `experiment` on the host, seed 0, no data, the command line's defaults.
    pub fn new(model: PathBuf, experiment: Experiment) -> Self {
        Self {
            model,
            experiment,
            target: TargetSpec::Host,
            data: None,
            label: "label".into(),
            seed: 0,
            min_score: None,
            elf: None,
            baud: 115_200,
        }
    }

    /// The experiment's name (`--experiment`).
    pub fn name(&self) -> &'static str {
        match self.experiment {
            Experiment::Latency(_) => "latency",
            Experiment::Failure(_) => "failure",
            Experiment::Bitflip(_) => "bitflip",
            Experiment::Input(_) => "input",
            Experiment::Link(_) => "link",
        }
    }

    /// Rejects what no run can use, naming the flag: the experiment's own values, bit flips
    /// on a device, an experiment that needs data without it.
    pub fn validate(&self) -> Result<()> {
        match &self.experiment {
            Experiment::Latency(o) => o.validate(),
            Experiment::Failure(o) => o.validate(),
            Experiment::Bitflip(o) => o.validate(),
            Experiment::Input(o) => o.validate(),
            Experiment::Link(o) => o.validate(),
        }?;
        if let Some(min) = self.min_score {
            probability("--min-score", min)?;
        }
        if let TargetSpec::Http(url) = &self.target {
            return Err(Error::Usage(format!(
                "--target {url}: chaos experiments run on the host or on a device; an HTTP \
                 server is a load target (`mlprobe load --target {url}`)"
            )));
        }
        if matches!(self.experiment, Experiment::Bitflip(_)) && self.target != TargetSpec::Host {
            return Err(Error::Usage(format!(
                "--experiment bitflip --target {}: bit flips are made in the host's copy of the \
                 weights (a device's are in flash); use --target host",
                self.target
            )));
        }
        let needs_data = matches!(
            self.experiment,
            Experiment::Bitflip(_) | Experiment::Input(_)
        );
        if needs_data && self.data.is_none() {
            return Err(Error::Usage(format!(
                "--experiment {} needs --data FILE.csv",
                self.name()
            )));
        }
        Ok(())
    }
}

/// One experiment's measurements (the `measured` object of the JSON document).
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Measured {
    /// `latency`.
    Latency(LatencyResult),
    /// `failure`.
    Failure(FailureResult),
    /// `bitflip`.
    Bitflip(BitflipResult),
    /// `input`.
    Input(InputResult),
    /// `link`.
    Link(LinkResult),
}

impl Measured {
    /// The measurements as text.
    pub fn human(&self) -> String {
        match self {
            Measured::Latency(m) => m.human(),
            Measured::Failure(m) => m.human(),
            Measured::Bitflip(m) => m.human(),
            Measured::Input(m) => m.human(),
            Measured::Link(m) => m.human(),
        }
    }
}

/// The `chaos` JSON document: common fields, then the experiment's measurements.
#[derive(Clone, Debug, Serialize)]
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
    pub measured: Measured,
}

/// What an experiment hands back: its measurements, score and failed checks.
pub struct Scored {
    /// The measurements.
    pub measured: Measured,
    /// In [0, 1].
    pub score: f64,
    /// What the score means.
    pub definition: &'static str,
    /// The experiment's own failed checks.
    pub violations: Vec<String>,
}

/// The model and data an experiment runs with.
pub struct Ctx {
    /// The model.
    pub model: Arc<HostModel>,
    /// The rows of `--data`, checked to fit the model.
    pub data: Option<Dataset>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Steps done so far (calls, trials), for a progress line; see [`progress_unit`].
    pub progress: Arc<AtomicU64>,
}

impl Ctx {
    /// Request inputs: the data's rows, else 1,024 seeded random rows.
    pub fn inputs(&self) -> Arc<Inputs> {
        Arc::new(match &self.data {
            Some(d) => Inputs::from_rows(d.features.clone(), d.width()),
            None => Inputs::random(&self.model, 1024, self.seed),
        })
    }

    /// The data (validated to be there for the experiments that need it).
    pub fn data(&self) -> Result<&Dataset> {
        self.data
            .as_ref()
            .ok_or_else(|| Error::Internal("an experiment that needs data has none".into()))
    }
}

/// Runs the chaos experiment of `opts` and returns its report.
pub fn execute(opts: &ChaosOptions) -> Result<ChaosReport> {
    execute_with_progress(opts, Arc::default())
}

/// What `progress` of [`execute_with_progress`] counts for `experiment`: `calls` (latency,
/// failure: every call of the target, retries included) or `trials` (bitflip); `None` for the
/// experiments that count nothing (input, link).
pub fn progress_unit(experiment: &Experiment) -> Option<&'static str> {
    match experiment {
        Experiment::Latency(_) | Experiment::Failure(_) => Some("calls"),
        Experiment::Bitflip(_) => Some("trials"),
        Experiment::Input(_) | Experiment::Link(_) => None,
    }
}

/// [`execute`], counting its steps into `progress` as it goes (see [`progress_unit`]), for a
/// progress line while a long experiment runs.
pub fn execute_with_progress(opts: &ChaosOptions, progress: Arc<AtomicU64>) -> Result<ChaosReport> {
    opts.validate()?;
    let model = Arc::new(model_io::load(&opts.model)?);
    let data = match &opts.data {
        Some(p) => Some(dataset_for(&model, p, &opts.label)?),
        None => None,
    };
    let ctx = Ctx {
        model,
        data,
        seed: opts.seed,
        progress,
    };
    let session = opts
        .target
        .session(&opts.model, opts.elf.as_deref(), opts.baud);
    let (target, scored) = match session {
        None => {
            let mut target = TargetReport::host();
            if matches!(opts.experiment, Experiment::Link(_)) {
                target.link = Some(Loopback::NAME.into());
            }
            (target, run_on(&ctx, &opts.experiment, None)?)
        }
        Some(s) => {
            let mut session = Session::open(&s)?;
            let target = TargetReport::device(&opts.target, &session);
            let scored = run_on(&ctx, &opts.experiment, Some(&mut session));
            session.stop();
            (target, scored?)
        }
    };
    let Scored {
        measured,
        score,
        definition,
        mut violations,
    } = scored;
    if let Some(min) = opts.min_score
        && score < min
    {
        violations.push(format!("resilience score {score:.4} < {min}"));
    }
    Ok(ChaosReport {
        experiment: opts.name(),
        target,
        seed: opts.seed,
        resilience_score: score,
        score_definition: definition,
        passed: violations.is_empty(),
        violations,
        measured,
    })
}

fn run_on(ctx: &Ctx, experiment: &Experiment, device: Option<&mut Session>) -> Result<Scored> {
    // Latency and failure wrap a target (the seed's `ChaosEngineer` wrappers).
    type Wrapped<'a> = &'a mut dyn FnMut(&mut dyn Target, &mut ChaCha8Rng) -> Scored;
    let inject = |device: Option<&mut Session>, f: Wrapped| {
        let (inputs, mut rng) = (ctx.inputs(), ChaCha8Rng::seed_from_u64(ctx.seed));
        let done = ctx.progress.clone();
        match device {
            None => Ok(f(
                &mut Counted(HostTarget::new(ctx.model.clone(), inputs), done),
                &mut rng,
            )),
            Some(s) => Ok(f(
                &mut Counted(DeviceTarget::new(s, inputs)?, done),
                &mut rng,
            )),
        }
    };
    match experiment {
        Experiment::Latency(o) => inject(device, &mut |t, rng| latency::run(o, t, rng)),
        Experiment::Failure(o) => inject(device, &mut |t, rng| failure::run(o, t, rng)),
        Experiment::Bitflip(o) => bitflip::run(ctx, o),
        Experiment::Input(o) => input::run(ctx, o, device),
        Experiment::Link(o) => link::run(ctx, o, device),
    }
}

/// A target that counts its calls (the progress of latency and failure).
struct Counted<T>(T, Arc<AtomicU64>);

impl<T: Target> Target for Counted<T> {
    fn call(&mut self, index: u64) -> bool {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.call(index)
    }
}

impl ChaosReport {
    /// The human report.
    pub fn human(&self) -> String {
        let mut s = format!(
            "chaos {} on {} ({}{}), seed {}\n",
            self.experiment,
            self.target.kind,
            self.target.board,
            self.target.via(),
            self.seed
        );
        s += &self.measured.human();
        s += &format!(
            "resilience score {:.4}: {}\n",
            self.resilience_score, self.score_definition
        );
        for v in &self.violations {
            s += &format!("check failed: {v}\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
    }

    fn opts(experiment: Experiment) -> ChaosOptions {
        let mut o = ChaosOptions::new(root().join("firmware/models/wine.mlpb"), experiment);
        o.data = Some(root().join("data/wine.csv"));
        o
    }

    fn usage(o: &ChaosOptions) -> String {
        match o.validate() {
            Err(Error::Usage(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn options_name_the_flag_they_reject() {
        let failure = |failure_rate, iterations| {
            opts(Experiment::Failure(FailureOptions {
                failure_rate,
                iterations,
                retries: 0,
            }))
        };
        assert!(failure(0.5, 1).validate().is_ok());
        assert!(usage(&failure(2.0, 1)).starts_with("--failure-rate 2"));
        assert!(usage(&failure(0.5, 0)).starts_with("--iterations 0"));
        let latency = |probability, latency_ms| {
            opts(Experiment::Latency(LatencyOptions {
                probability,
                latency_ms,
                ..LatencyOptions::default()
            }))
        };
        assert!(usage(&latency(-0.1, 1.0)).starts_with("--probability"));
        assert!(usage(&latency(0.1, -1.0)).starts_with("--latency-ms"));
        let bitflip = |sweep, trials| {
            opts(Experiment::Bitflip(BitflipOptions {
                sweep,
                trials,
                class_flips: 1,
            }))
        };
        assert!(usage(&bitflip(Sweep::Ber(vec![0.1, 1.5]), 1)).starts_with("--ber 1.5"));
        assert!(bitflip(Sweep::Flips(vec![u64::MAX]), 1).validate().is_ok());
        assert!(usage(&bitflip(Sweep::Flips(vec![1]), 0)).starts_with("--trials 0"));
        let mut on_device = bitflip(Sweep::Flips(vec![1]), 1);
        on_device.target = TargetSpec::Qemu;
        assert!(usage(&on_device).contains("use --target host"));
        let mut no_data = opts(Experiment::Input(InputOptions::default()));
        no_data.data = None;
        assert_eq!(usage(&no_data), "--experiment input needs --data FILE.csv");
        let link = |window, faults| {
            opts(Experiment::Link(LinkOptions {
                faults,
                window,
                silence_ms: 0,
                ..LinkOptions::default()
            }))
        };
        assert!(usage(&link(0, 1)).starts_with("--window 0"));
        assert!(usage(&link(1, u64::MAX)).starts_with("--faults"));
    }

    fn keys(v: &serde_json::Value) -> Vec<&str> {
        let mut k: Vec<_> = v.as_object().unwrap().keys().map(String::as_str).collect();
        k.sort_unstable();
        k
    }

    /// The `measured` fields of every experiment, as the untyped reports had them.
    #[test]
    fn each_experiment_measures_the_fields_it_always_had() {
        let quick = [
            (
                Experiment::Latency(LatencyOptions {
                    iterations: 5,
                    latency_ms: 0.0,
                    ..LatencyOptions::default()
                }),
                "errors injected iterations latency_ms latency_us probability slo_ms within_slo",
            ),
            (
                Experiment::Failure(FailureOptions {
                    iterations: 5,
                    ..FailureOptions::default()
                }),
                "errors expected_score failure_rate failures injected_failures iterations \
                 latency_us retries retry_attempts successes target_errors",
            ),
            (
                Experiment::Bitflip(BitflipOptions {
                    sweep: Sweep::Flips(vec![1]),
                    trials: 1,
                    class_flips: 1,
                }),
                "by_bits by_tensor clean_accuracy flips_per_trial parameters rows sweep trials \
                 weight_bits",
            ),
            (
                Experiment::Input(InputOptions::default()),
                "faults features_damaged_per_row rows suite suite_passes_clean_data",
            ),
            (
                Experiment::Link(LinkOptions {
                    faults: 40,
                    silence_ms: 1,
                    window: 16,
                    ..LinkOptions::default()
                }),
                "answered_correctly bad_frames bad_frames_by_kind device_rejected device_served \
                 duplicates frames_sent lost rejected seconds silence_ms silences tolerance \
                 unexpected valid_requests window wrong",
            ),
        ];
        for (experiment, fields) in quick {
            let o = opts(experiment);
            let r = execute(&o).unwrap();
            let v = serde_json::to_value(&r).unwrap();
            assert_eq!(v["experiment"], o.name());
            assert_eq!(
                keys(&v),
                [
                    "experiment",
                    "measured",
                    "passed",
                    "resilience_score",
                    "score_definition",
                    "seed",
                    "target",
                    "violations"
                ]
            );
            let want: Vec<_> = fields.split_whitespace().collect();
            assert_eq!(keys(&v["measured"]), want, "{}", o.name());
            assert!(
                r.human()
                    .starts_with(&format!("chaos {} on host", o.name()))
            );
        }
    }

    #[test]
    fn link_faults_on_the_in_process_server_are_all_accounted_for() {
        let o = opts(Experiment::Link(LinkOptions {
            faults: 100,
            silence_ms: 0,
            window: 7,
            ..LinkOptions::default()
        }));
        let r = execute(&o).unwrap();
        let Measured::Link(m) = &r.measured else {
            panic!("{:?}", r.measured)
        };
        assert_eq!(
            (m.valid_requests, m.bad_frames, m.frames_sent),
            (100, 100, 200)
        );
        assert_eq!((m.answered_correctly, m.rejected), (100, 100));
        assert_eq!((m.lost, m.wrong, m.duplicates, m.unexpected), (0, 0, 0, 0));
        assert_eq!((m.device_served, m.device_rejected), (100, 100));
        let k = m.bad_frames_by_kind;
        assert_eq!(k.corrupted + k.garbage + k.oversized + k.truncated, 100);
        assert_eq!(r.target.link.as_deref(), Some(Loopback::NAME));
        assert!(r.passed && r.violations.is_empty());
        assert_eq!(r.resilience_score, 1.0);
    }
}
