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
    /// Write a model in another format (safetensors with PyTorch state_dict names).
    Export(commands::export::Args),
    /// Read a model from safetensors (PyTorch state_dict names) into an mlprobe model file.
    Import(commands::import::Args),
    /// Check a CSV file against an expectation suite (Great Expectations types, streaming).
    Expect(commands::expect::Args),
    /// Write a starting expectation suite (with a drift reference) from data known to be good.
    Profile(commands::profile::Args),
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
    /// The whole testing pyramid on one dataset (expectations, training, gate, device, load,
    /// chaos, A/B) into a report directory: report.html, report.json, junit.xml, summary.md.
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
        Command::Export(a) => commands::export::run(a),
        Command::Import(a) => commands::import::run(a),
        Command::Device(a) => commands::device::run(a),
        Command::Ab(a) => commands::ab::run(a),
        Command::Load(a) => commands::load::run(a),
        Command::Chaos(a) => commands::chaos::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Expect(a) => commands::expect::run(a),
        Command::Profile(a) => commands::profile::run(a),
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
