//! `mlprobe init`: a project on the user's data, ready for `mlprobe run` ([`crate::init`]).

use crate::commands::{Outcome, emit};
use crate::error::Result;
use crate::init::{InitOptions, InitReport, init};
use std::path::PathBuf;

/// Start a project on your data: mlprobe.toml, a profiled suite and a starting gate policy.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Writes DIR/mlprobe.toml (the stages of `mlprobe run` that work on any host: \
    expect, train, eval, load, chaos; the device stage off, its comment says how to turn it on), \
    DIR/STEM.suite.toml (expectations profiled from the data, as `mlprobe profile`) and \
    DIR/STEM.policy.toml (a starting gate: limits just above always predicting the commonest \
    class). An existing file is never replaced (exit 2 naming it).\n\nExample:\n  \
    mlprobe init --data data/breast_cancer.csv --label label --dir my-project\n  \
    mlprobe run --config my-project/mlprobe.toml"
)]
pub struct Args {
    /// Your labelled data: a CSV file with a header row, numeric feature columns and a label
    /// column of class numbers 0..K-1.
    /// Also gzip- or zstd-compressed CSV (`.csv.gz`, `.csv.zst`) or Parquet; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Where to write the files (created if missing).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
    /// Print a JSON summary (`config`, `suite`, `policy`, `rows`, `features`, `classes`,
    /// `expectations`, `next`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe init`.
pub fn run(args: Args) -> Result<Outcome> {
    let report = init(&InitOptions::new(args.data, args.label, args.dir))?;
    emit(args.json, &report, InitReport::human, true)
}
