//! `mlprobe expect`: check a CSV file against an expectation suite ([`crate::expect`]).

use crate::commands::{Outcome, emit_to};
use crate::error::Result;
use crate::expect::{self, ExpectOptions, Validation};
use crate::output;
use crate::report::{self, Exporter};
use std::path::PathBuf;

/// Check a data file (CSV, compressed CSV, Parquet) against an expectation suite.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe expect --suite data/wine.suite.toml --data data/wine.csv\n  \
        mlprobe expect --suite suite.toml --data big.csv --json --junit expect.xml\n\n\
        Write a starting suite from data known to be good with `mlprobe profile`."
)]
pub struct Args {
    /// The expectation suite (TOML, Great Expectations types and parameters).
    #[arg(long, value_name = "SUITE.toml")]
    pub suite: PathBuf,
    /// The data: a CSV file with a header row; columns of numbers, or of text where the suite
    /// has text expectations (sets of strings, regex, lengths, of_type…).
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Print one JSON document (success, statistics, results) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report to this file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Parsing threads, 1 to 256 (default: every core).
    #[arg(long, value_name = "N", value_parser = crate::cli::parse::usize_in(1, crate::data::scan::MAX_THREADS))]
    pub threads: Option<usize>,
}

/// Runs `mlprobe expect`.
pub fn run(args: Args) -> Result<Outcome> {
    let opts = ExpectOptions {
        threads: args.threads,
        ..ExpectOptions::new(args.suite, args.data)
    };
    let to = output::claim_stdout(args.json, &[("--junit", args.junit.as_deref())])?;
    let inputs = [opts.suite.as_path(), &opts.data];
    if let Some(path) = &args.junit {
        output::check_output(path, &inputs)?;
    }
    let v = expect::expect(&opts)?;
    if let Some(path) = &args.junit {
        output::write_new(path, &report::Junit.export(&v.to_report())?, &inputs)?;
    }
    emit_to(to, args.json, &v, Validation::human, v.success)
}
