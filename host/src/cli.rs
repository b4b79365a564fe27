//! The command line: one clap definition, and the dispatch from subcommand to module.
//!
//! Each subcommand lives in `commands/<name>.rs` with its `Args` (clap) and a
//! `run(args) -> Result<Outcome>`; this file only wires them together and turns the outcome
//! into the exit code of DESIGN.md.

use crate::commands::{self, Outcome};
use crate::error::exit;
use clap::{Parser, Subcommand};

/// Test ML models from the host down to the microcontroller.
#[derive(Debug, Parser)]
#[command(
    name = "mlprobe",
    version,
    about = "Test ML models from the host down to the microcontroller",
    long_about = "Test ML models from the host down to the microcontroller.\n\n\
        Train the seed notebook's classifier on a CSV file, evaluate it against thresholds, \
        and export or import it in PyTorch's safetensors layout. The same no_std core runs \
        on the host and on a Cortex-M4, so the host's numbers are the device's numbers.\n\n\
        Every --data takes CSV, gzip- or zstd-compressed CSV (.csv.gz, .csv.zst) or Parquet, \
        read from what the file holds (a name that says otherwise is an error); `-` reads \
        stdin.\n\n\
        Exit codes: 0 success, 1 a check failed, 2 bad input or usage, 3 internal error, 4 the device, its link or its emulator failed.\n\
        Every subcommand takes --json for one JSON document on stdout (on failure: \
        {\"error\": {\"kind\", \"message\", \"location\"}}).",
    after_help = "Quick start:\n  mlprobe train --data data/wine.csv --out wine.mlpb\n  mlprobe eval --model wine.mlpb --data data/wine.csv"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train the classifier on a CSV file and write a model file.
    Train(commands::train::Args),
    /// Print predictions, probabilities and logits for every row of a CSV file.
    Predict(commands::predict::Args),
    /// Evaluate a model on a labelled CSV file: accuracy, precision, recall, F1, latency.
    Eval(commands::eval::Args),
    /// Compare two models (or their predictions) on the same rows: McNemar's test, the paired
    /// accuracy difference and a non-inferiority verdict.
    Compare(commands::compare::Args),
    /// Serve a model over HTTP (Open Inference Protocol v2: KServe, Triton), with a shadow, a
    /// canary rolled back automatically when worse, and Prometheus metrics.
    Serve(commands::serve::Args),
    /// Write a model in another format (safetensors with PyTorch state_dict names, ONNX, or
    /// TFLite).
    Export(commands::export::Args),
    /// Read a model from safetensors (PyTorch state_dict names), ONNX or TFLite into an mlprobe
    /// model file.
    Import(commands::import::Args),
    /// Quantize a model to int8 (TensorFlow Lite's scheme) and compare it with the float one:
    /// agreement, accuracies, per-class change, largest logit error.
    Quantize(commands::quantize::Args),
    /// Check a table (CSV, compressed CSV or Parquet) against an expectation suite (Great
    /// Expectations types, streaming).
    Expect(commands::expect::Args),
    /// Write a starting expectation suite (with a drift reference) from data known to be good.
    Profile(commands::profile::Args),
    /// Compare each column of a table with a reference table: KS, Wasserstein and PSI for
    /// numbers, chi-square and PSI for categories, Benjamini-Hochberg across columns.
    Drift(commands::drift::Args),
    /// Find the one- and two-feature segments where a model's accuracy is significantly below
    /// the rest (Fisher exact, Benjamini-Hochberg), each as a ready-to-use --slice.
    Slices(commands::slices::Args),
    /// A/B tests of conversion rates: z-test, sample size, power, Bayesian, SRM, corrections,
    /// sequential.
    #[command(subcommand_required = true)]
    Ab(commands::ab::Args),
    /// Firmware on a device: build it for a model, run it in QEMU, validate it bit for bit.
    #[command(subcommand_required = true)]
    Device(commands::device::Args),
    /// Load a model on the host or a device: open model at a constant rate (latency from each
    /// request's due time) or closed model; every request accounted for.
    Load(commands::load::Args),
    /// Resilience experiments: injected latency and failures, weight bit flips, damaged
    /// inputs, damaged frames on a device link.
    Chaos(commands::chaos::Args),
    /// Start a project on your data: write mlprobe.toml, a profiled expectation suite and a
    /// starting gate policy, so that `mlprobe run` runs the whole pyramid on it.
    Init(commands::init::Args),
    /// The whole testing pyramid on one dataset (expectations, training, gate, weak segments,
    /// device, load, chaos, A/B) into a report directory: report.html, report.json, junit.xml,
    /// summary.md, with the provenance of every input.
    Run(commands::run::Args),
    /// Render report.html and summary.md again from a saved report.json.
    Report(commands::report::Args),
}

/// Parses the command line, runs the subcommand and returns the process exit code.
pub fn main() -> u8 {
    // `--json` promises one JSON document on stdout, on failure too (DESIGN.md).
    let json = std::env::args_os().skip(1).any(|a| a == "--json");
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::INPUT
            } else {
                exit::OK
            };
            let _ = e.print();
            if json && code != exit::OK {
                // clap's message without its usage block: the lines before the first blank one.
                let text = e.to_string();
                let message: Vec<&str> = text
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                let usage = crate::error::Error::Usage(
                    message.join(" ").trim_start_matches("error: ").to_string(),
                );
                print_error_json(&usage);
            }
            return code;
        }
    };
    let result = match cli.command {
        Command::Train(a) => commands::train::run(a),
        Command::Predict(a) => commands::predict::run(a),
        Command::Eval(a) => commands::eval::run(a),
        Command::Compare(a) => commands::compare::run(a),
        Command::Serve(a) => commands::serve::run(a),
        Command::Export(a) => commands::export::run(a),
        Command::Import(a) => commands::import::run(a),
        Command::Quantize(a) => commands::quantize::run(a),
        Command::Device(a) => commands::device::run(a),
        Command::Ab(a) => commands::ab::run(a),
        Command::Load(a) => commands::load::run(a),
        Command::Chaos(a) => commands::chaos::run(a),
        Command::Init(a) => commands::init::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Expect(a) => commands::expect::run(a),
        Command::Profile(a) => commands::profile::run(a),
        Command::Drift(a) => commands::drift::run(a),
        Command::Slices(a) => commands::slices::run(a),
    };
    match result {
        Ok(Outcome::Pass) => exit::OK,
        Ok(Outcome::Fail) => exit::CHECK_FAILED,
        Err(e) => {
            crate::output::eprintln(&format!("mlprobe: {e}"));
            if json {
                print_error_json(&e);
            }
            e.exit_code()
        }
    }
}

/// Prints `e` as the `--json` error document (a closed stdout is ignored: the message is on
/// stderr already).
fn print_error_json(e: &crate::error::Error) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", e.to_json());
}

/// How `load` and `chaos` reach a device target.
#[derive(Clone, Debug, clap::Args)]
pub struct DeviceArgs {
    /// A firmware ELF already built for the model (--target qemu).
    #[arg(long, value_name = "ELF")]
    pub elf: Option<std::path::PathBuf>,
    /// Baud rate for --target serial:PATH.
    #[arg(long, default_value_t = 115_200)]
    pub baud: u32,
}

/// Value parsers for numeric flags: each accepts a finite number in a stated range and names the
/// range when it refuses one, so a bad value is a usage error (exit 2) naming the flag before
/// any work starts (`error: invalid value 'nan' for '--latency-ms <MS>': …`).
pub mod parse {
    /// A parser of `T` values; clap calls it on the flag's text.
    pub trait Parser<T>:
        Fn(&str) -> std::result::Result<T, String> + Clone + Send + Sync + 'static
    {
    }
    impl<T, F> Parser<T> for F where
        F: Fn(&str) -> std::result::Result<T, String> + Clone + Send + Sync + 'static
    {
    }

    fn number(s: &str) -> std::result::Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{s}` is not a number"))
    }

    /// A finite `f64` in `[lo, hi]`.
    pub fn f64_in(lo: f64, hi: f64) -> impl Parser<f64> {
        move |s| {
            let v = number(s)?;
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!("expected a number from {lo} to {hi}"))
            }
        }
    }

    /// A finite `f64` in `(0, hi]`.
    pub fn f64_positive(hi: f64) -> impl Parser<f64> {
        move |s| {
            let v = number(s)?;
            if v.is_finite() && v > 0.0 && v <= hi {
                Ok(v)
            } else {
                Err(format!("expected a number above 0 and at most {hi}"))
            }
        }
    }

    /// A finite `f32` in `[lo, hi]`.
    pub fn f32_in(lo: f32, hi: f32) -> impl Parser<f32> {
        move |s| {
            let v = f64_in(f64::from(lo), f64::from(hi))(s)?;
            Ok(v as f32)
        }
    }

    /// A finite `f32` in `(0, hi]`.
    pub fn f32_positive(hi: f32) -> impl Parser<f32> {
        move |s| {
            let v = f64_positive(f64::from(hi))(s)?;
            // A value that rounds to 0 as f32 is not positive.
            match v as f32 {
                x if x > 0.0 => Ok(x),
                _ => Err(format!("expected a number above 0 and at most {hi}")),
            }
        }
    }

    /// An integer in `[lo, hi]`.
    pub fn usize_in(lo: usize, hi: usize) -> impl Parser<usize> {
        move |s| {
            let v: usize = s
                .trim()
                .parse()
                .map_err(|_| format!("`{s}` is not a whole number from {lo} to {hi}"))?;
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!("expected a whole number from {lo} to {hi}"))
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn refuses_non_finite_and_out_of_range_values_and_names_the_range() {
            let p = f64_in(0.0, 1.0);
            assert_eq!(p("0.5"), Ok(0.5));
            assert_eq!(p("0"), Ok(0.0));
            assert_eq!(p("1"), Ok(1.0));
            for bad in ["nan", "NaN", "inf", "-inf", "-1", "1.5", "1e308", "x", ""] {
                assert!(p(bad).is_err(), "{bad}");
            }
            assert_eq!(p("-1"), Err("expected a number from 0 to 1".into()));
            let q = f64_positive(10.0);
            assert!(q("0").is_err() && q("10.5").is_err() && q("nan").is_err());
            assert_eq!(q("10"), Ok(10.0));
            assert!(f32_positive(1.0)("1e-300").is_err());
            assert_eq!(f32_in(-1.0, 1.0)("-1"), Ok(-1.0));
            let u = usize_in(1, 256);
            assert!(u("0").is_err() && u("257").is_err() && u("-1").is_err());
            assert_eq!(u("256"), Ok(256));
        }
    }
}
