//! `mlprobe chaos`: the flags of [`crate::chaos`] (resilience experiments: injected latency
//! and failures, weight bit flips, damaged inputs, damaged frames on a device link) and its
//! report.

use crate::chaos::input::{MAX_NOISE, MAX_OUT_OF_RANGE, MAX_STUCK_AT};
use crate::chaos::latency::MAX_MS;
use crate::chaos::{
    self, BitflipOptions, ChaosOptions, ChaosReport, Experiment, FailureOptions, InputOptions,
    LatencyOptions, LinkOptions, Sweep,
};
use crate::cli::{DeviceArgs, parse};
use crate::commands::{Outcome, emit};
use crate::error::{Error, Result};
use std::path::PathBuf;

/// The experiments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExperimentArg {
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
    pub experiment: ExperimentArg,
    /// host, qemu, serial:PATH or tcp:HOST:PORT (bitflip runs on the host model only: a
    /// device's weights are in flash).
    #[arg(long, default_value = "host", value_name = "TARGET")]
    pub target: String,
    /// CSV rows (bitflip and input need them; latency, failure and link use them as inputs
    /// when given, else seeded random rows).
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
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
    /// latency: injected delay, 0 to 3600000 (one hour).
    #[arg(long, default_value_t = 20.0, value_name = "MS",
          value_parser = parse::f64_in(0.0, MAX_MS))]
    pub latency_ms: f64,
    /// latency: probability of a delay, 0 to 1.
    #[arg(long, default_value_t = 0.1, value_name = "P", value_parser = parse::f64_in(0.0, 1.0))]
    pub probability: f64,
    /// latency: a call slower than this misses the SLO (default: half of --latency-ms), 0 to
    /// 3600000.
    #[arg(long, value_name = "MS", value_parser = parse::f64_in(0.0, MAX_MS))]
    pub slo_ms: Option<f64>,
    /// failure: probability that an attempt fails, 0 to 1.
    #[arg(long, default_value_t = 0.1, value_name = "P", value_parser = parse::f64_in(0.0, 1.0))]
    pub failure_rate: f64,
    /// failure: attempts after a failed one.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub retries: u32,
    /// bitflip: bit-error rates to sweep (fraction of all weight bits, each 0 to 1).
    #[arg(
        long,
        value_parser = parse::f64_in(0.0, 1.0),
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
    /// input: noise in standard deviations of the feature, 0 to 1000.
    #[arg(long, default_value_t = 1.0, value_name = "SIGMA",
          value_parser = parse::f32_in(0.0, MAX_NOISE))]
    pub noise: f32,
    /// input: out-of-range values this many standard deviations from the mean, -1e6 to 1e6.
    #[arg(long, default_value_t = 10.0, value_name = "K", allow_negative_numbers = true,
          value_parser = parse::f32_in(-MAX_OUT_OF_RANGE, MAX_OUT_OF_RANGE))]
    pub out_of_range: f32,
    /// input: the stuck-at value (raw units), -1e30 to 1e30.
    #[arg(long, default_value_t = 0.0, value_name = "X", allow_negative_numbers = true,
          value_parser = parse::f32_in(-MAX_STUCK_AT, MAX_STUCK_AT))]
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
    /// link: an answer is right when each logit is within this absolute difference of the
    /// host's (default 0: bit for bit, unless --ulps), for a firmware with its own inference.
    #[arg(long, value_name = "ABS", default_value_t = 0.0,
          value_parser = parse::f64_in(0.0, f64::MAX))]
    pub atol: f64,
    /// link: … or within this many units in the last place.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub ulps: u64,
    /// Fail (exit 1) when the resilience score (a fraction) is below this, 0 to 1.
    #[arg(long, value_name = "SCORE", value_parser = parse::f64_in(0.0, 1.0))]
    pub min_score: Option<f64>,
    /// How to reach a device (ELF for QEMU, baud rate for a serial port).
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The library's options: the chosen experiment's flags (the others are ignored), checked
    /// by [`ChaosOptions::validate`].
    pub fn options(&self) -> Result<ChaosOptions> {
        let experiment = match self.experiment {
            ExperimentArg::Latency => Experiment::Latency(LatencyOptions {
                iterations: self.iterations,
                latency_ms: self.latency_ms,
                probability: self.probability,
                slo_ms: self.slo_ms,
            }),
            ExperimentArg::Failure => Experiment::Failure(FailureOptions {
                iterations: self.iterations,
                failure_rate: self.failure_rate,
                retries: self.retries,
            }),
            ExperimentArg::Bitflip => Experiment::Bitflip(BitflipOptions {
                sweep: match &self.flips {
                    Some(n) => Sweep::Flips(n.clone()),
                    None => Sweep::Ber(self.ber.clone()),
                },
                trials: self.trials,
                class_flips: self.class_flips,
            }),
            ExperimentArg::Input => Experiment::Input(InputOptions {
                suite: self.suite.clone(),
                noise: self.noise,
                out_of_range: self.out_of_range,
                stuck_at: self.stuck_at,
            }),
            ExperimentArg::Link => Experiment::Link(LinkOptions {
                faults: self.faults,
                silence_ms: self.silence_ms,
                window: self.window,
                tolerance: crate::device::Tolerance {
                    atol: self.atol,
                    ulps: self.ulps,
                },
            }),
        };
        let opts = ChaosOptions {
            model: self.model.clone(),
            experiment,
            target: self
                .target
                .parse()
                .map_err(|e| Error::Usage(format!("--target: {e}")))?,
            data: self.data.clone(),
            label: self.label.clone(),
            seed: self.seed,
            min_score: self.min_score,
            elf: self.device.elf.clone(),
            baud: self.device.baud,
        };
        opts.validate()?;
        Ok(opts)
    }
}

/// Seconds between progress lines on stderr while an experiment runs.
const PROGRESS_EVERY_S: u64 = 5;

/// Runs `mlprobe chaos`: a progress line on stderr every 5 s while the experiment runs (none
/// for a shorter one), then the report.
pub fn run(a: Args) -> Result<Outcome> {
    let opts = a.options()?;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (name, unit, counter) = (
        opts.name(),
        chaos::progress_unit(&opts.experiment),
        done.clone(),
    );
    let ticker =
        crate::output::Ticker::start(std::time::Duration::from_secs(PROGRESS_EVERY_S), move |t| {
            let mut line = format!("mlprobe chaos: {name} running, {:.0} s", t.as_secs_f64());
            if let Some(unit) = unit {
                let n = counter.load(std::sync::atomic::Ordering::Relaxed);
                line += &format!(", {n} {unit} so far");
            }
            line
        });
    let report = chaos::execute_with_progress(&opts, done);
    drop(ticker);
    let report = report?;
    emit(a.json, &report, ChaosReport::human, report.passed)
}
