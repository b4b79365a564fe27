//! `mlprobe slices`: the one- and two-feature segments where a model is significantly worse
//! than on the rest of the rows, each as a ready-to-use `--slice` ([`crate::eval::search()`]).

use crate::commands::{Outcome, emit};
use crate::error::Result;
use crate::eval::{SearchOptions, SearchReport, SlicesOptions, slices};
use std::path::PathBuf;

/// Find the segments of the data where the model's accuracy is significantly below the rest.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Find the segments of a labelled data file where a model's accuracy is \
        significantly below its accuracy on the other rows, and list the worst as \
        ready-to-use --slice expressions for `mlprobe eval` and the policy's slices.\n\n\
        What is searched: each feature column is cut into segments. A column with at most 10 \
        distinct values is categorical (one segment `col == v` per value); any other is cut \
        at its quantiles into B = clamp(floor(n / (2 * min-size)), 2, 10) bins (`col <= e1`, \
        `col > e1 and col <= e2`, ..., `col > e_last`; equal edges collapse). Every bin of \
        every feature and every pair of bins of two different features (`and`) is a segment; \
        those with at least --min-size rows and fewer than all of them are tested.\n\n\
        The test: for each segment, the one-sided Fisher exact test that its accuracy is \
        lower than the rest's (scipy.stats.fisher_exact(alternative=\"less\") on [[right, \
        wrong] in the segment, [right, wrong] in the rest]); the p-values of all the segments \
        are adjusted together with Benjamini-Hochberg, and a segment is significant when its \
        adjusted p-value is below --alpha. A two-feature segment whose one-feature part is \
        significant already is hidden (counted in `hidden_redundant`).\n\n\
        Columns: rows and errors in the segment, its accuracy, the rest's accuracy, the \
        difference (segment - rest), the p-value and the adjusted p-value, and the slice \
        (`*`: significant). Sorted by adjusted p-value, then difference.\n\n\
        Rows whose features or logits are not finite are left out (counted).\n\n\
        Exit codes: 0 no segment is significant, 1 at least one is (like a failed gate), 2 \
        bad input or usage (a missing file, a missing label column, a model and data of \
        different widths: the message names the file, line and column).",
    after_help = "Examples:\n  mlprobe slices --model wine.mlpb --data data/wine.csv\n  \
        mlprobe slices --model wine.mlpb --data data/wine.csv --min-size 30 --top 5 --json\n  \
        # then gate the segment it found:\n  \
        mlprobe eval --model wine.mlpb --data data/wine.csv --slice 'flavanoids <= 0.98' \
        --min-accuracy 0.9"
)]
pub struct Args {
    /// The model (an mlprobe model file, or any format `mlprobe eval` reads).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled data file (CSV, gzip/zstd CSV or Parquet; `-` reads stdin).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// The fewest rows a segment may have (1 or more); also sets the number of bins.
    #[arg(long, value_name = "N", default_value_t = 20,
          value_parser = crate::cli::parse::usize_in(1, usize::MAX / 4))]
    pub min_size: usize,
    /// False discovery rate: a segment is significant when its Benjamini-Hochberg adjusted
    /// p-value is below it (above 0, below 1).
    #[arg(long, value_name = "ALPHA", default_value_t = 0.05)]
    pub alpha: f64,
    /// How many segments to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe slices`.
pub fn run(args: Args) -> Result<Outcome> {
    let opts = SlicesOptions {
        model: args.model,
        data: args.data,
        label: args.label,
        search: SearchOptions {
            min_size: args.min_size,
            alpha: args.alpha,
            top: args.top,
        },
    };
    let report = slices(&opts)?;
    emit(args.json, &report, SearchReport::human, report.passed())
}
