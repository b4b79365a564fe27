//! `mlprobe drift`: compare a current table's columns with a reference table's
//! ([`crate::drift`]).

use crate::commands::{Outcome, emit};
use crate::drift::{self, DriftOptions, DriftReport};
use crate::error::{Error, Result};
use crate::output;
use std::path::PathBuf;

/// Compare each column of a current table with a reference table: has its distribution moved?
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Compare each column of a current table with the same column of a reference \
        table (e.g. the training data) and say which columns drifted.\n\n\
        Numeric columns (every non-missing reference cell a number):\n  \
        KS    the two-sample Kolmogorov-Smirnov statistic D, the largest gap between the two \
        empirical CDFs, and its two-sided p-value as scipy.stats.ks_2samp(ref, cur, \
        method=\"asymp\") computes it (kstwo.sf(D, round(m*n/(m+n))));\n  \
        W1    the Wasserstein-1 (earth mover's) distance, in the column's unit, as \
        scipy.stats.wasserstein_distance;\n  \
        PSI   the population stability index on the reference's deciles (numpy.quantile at \
        0.1..0.9; bins (-inf, q1], (q1, q2], ..., (q9, inf); proportions floored at 1e-4): \
        < 0.1 stable, 0.1-0.25 moderate, > 0.25 a large shift.\n\
        Categorical columns (text or booleans): the chi-square test of homogeneity of the \
        2 x k table of category counts, as scipy.stats.chi2_contingency (Yates' correction \
        when there are two categories), and PSI over the categories.\n\n\
        A column drifted when its p-value, adjusted across the columns with \
        Benjamini-Hochberg, is below --alpha. Missing cells (empty, NaN, NA, N/A, nulls) are \
        left out and counted. A column keeps up to 1,000,000 values exactly, then a sketch of \
        4,096 bins whose KS statistic and W1 carry a stated bound (\"statistic_error\" in \
        --json); up to 10,000 categories per column.\n\n\
        Exit codes: 0 no column drifted, 1 a column drifted, 2 bad input or usage (a column \
        missing from a file, an empty file: the message names the file, line and column).",
    after_help = "Examples:\n  mlprobe drift --reference train.csv --current today.csv\n  \
        mlprobe drift --reference train.parquet --current batch.csv.gz --columns age,income \
        --alpha 0.01 --report drift-report --json"
)]
pub struct Args {
    /// The reference table (CSV, gzip/zstd CSV or Parquet; `-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub reference: PathBuf,
    /// The current table, with the same columns.
    #[arg(long, value_name = "FILE")]
    pub current: PathBuf,
    /// The columns to compare, comma-separated (default: every column of the reference).
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// False discovery rate: a column drifted when its Benjamini-Hochberg adjusted p-value is
    /// below it.
    #[arg(long, default_value_t = 0.05, value_name = "ALPHA",
          value_parser = crate::cli::parse::f64_in(1e-12, 0.5))]
    pub alpha: f64,
    /// Also write DIR/drift.html (one chart per column) and DIR/drift.json.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Parsing threads, 1 to 256 (default: every core).
    #[arg(long, value_name = "N", value_parser = crate::cli::parse::usize_in(1, crate::data::scan::MAX_THREADS))]
    pub threads: Option<usize>,
}

/// Runs `mlprobe drift`.
pub fn run(args: Args) -> Result<Outcome> {
    let options = DriftOptions {
        columns: args.columns,
        alpha: args.alpha,
        threads: args.threads,
        ..DriftOptions::new(args.reference, args.current)
    };
    options.validate()?;
    if let Some(dir) = &args.report
        && (output::is_stdout(dir) || dir.is_file())
    {
        return Err(Error::Usage(format!(
            "--report {}: a directory to write drift.html and drift.json into",
            dir.display()
        )));
    }
    let report = drift::drift(&options)?;
    if let Some(dir) = &args.report {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let inputs = [options.reference.as_path(), options.current.as_path()];
        let html = output::stage(
            &dir.join("drift.html"),
            drift::html::render(&report).as_bytes(),
        )?;
        let json = output::to_json(&report)?;
        let json = output::stage(&dir.join("drift.json"), format!("{json}\n").as_bytes())?;
        output::check_output(&dir.join("drift.html"), &inputs)?;
        html.commit()?;
        json.commit()?;
    }
    emit(args.json, &report, DriftReport::human, report.passed)
}
