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
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

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
            Experiment::Input(_) => Ok(()),
            Experiment::Link(o) => o.validate(),
        }?;
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
    let inject = |device: Option<&mut Session>, f: &mut dyn FnMut(&mut dyn Target) -> Scored| {
        let inputs = ctx.inputs();
        match device {
            None => Ok(f(&mut HostTarget::new(ctx.model.clone(), inputs))),
            Some(s) => Ok(f(&mut DeviceTarget::new(s, inputs)?)),
        }
    };
    match experiment {
        Experiment::Latency(o) => inject(device, &mut |t| latency::run(ctx.seed, o, t)),
        Experiment::Failure(o) => inject(device, &mut |t| failure::run(ctx.seed, o, t)),
        Experiment::Bitflip(o) => bitflip::run(ctx, o),
        Experiment::Input(o) => input::run(ctx, o, device),
        Experiment::Link(o) => link::run(ctx, o, device),
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
