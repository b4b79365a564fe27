//! `mlprobe profile`: write a starting expectation suite from data known to be good
//! ([`crate::expect::profile`]).

use crate::commands::{Outcome, emit_to};
use crate::error::Result;
use crate::expect::{self, ProfileOptions, ProfileReport};
use std::path::PathBuf;

/// Write a starting expectation suite from data known to be good.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  mlprobe profile --data data/wine.csv --out wine.suite.toml\n  \
        mlprobe expect --suite wine.suite.toml --data new_batch.csv"
)]
pub struct Args {
    /// The reference data: a CSV file with a header row; each column's type (numbers, booleans,
    /// text) is inferred, and text columns get text expectations.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Where to write the suite (TOML; `-` for stdout).
    #[arg(long, value_name = "SUITE.toml")]
    pub out: PathBuf,
    /// The suite's name (default: the data file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Print a JSON summary (`out`, `rows`, `columns`, `expectations`).
    #[arg(long)]
    pub json: bool,
    /// Parsing threads, 1 to 256 (default: every core).
    #[arg(long, value_name = "N", value_parser = crate::cli::parse::usize_in(1, crate::data::scan::MAX_THREADS))]
    pub threads: Option<usize>,
}

/// Runs `mlprobe profile`.
pub fn run(args: Args) -> Result<Outcome> {
    let to = crate::output::claim_stdout(args.json, &[("--out", Some(&args.out))])?;
    let opts = ProfileOptions {
        name: args.name,
        threads: args.threads,
        ..ProfileOptions::new(args.data, args.out)
    };
    let report = expect::profile(&opts)?;
    emit_to(to, args.json, &report, ProfileReport::human, true)
}
