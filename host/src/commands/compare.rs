//! `mlprobe compare`: may a candidate model replace the baseline? A paired comparison on the
//! same rows (issue 18). The library behind it is [`crate::compare`].

use crate::commands::{Outcome, emit_to};
use crate::compare::{CompareOptions, CompareReport, Settings, compare};
use crate::error::Result;
use std::path::PathBuf;

/// Compare two models (or their predictions) on the same labelled rows.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Compare two models (or their predictions) on the same labelled rows: may the \
        candidate replace the baseline?\n\n\
        Both models score every row, so the test is paired: McNemar's test on the rows only one \
        of them gets right (exact binomial, and chi-square with continuity correction, as \
        statsmodels computes them), and Newcombe's hybrid score interval for the difference in \
        accuracy (candidate - baseline). The candidate passes when it is not significantly \
        worse (McNemar exact p >= alpha, or it wins more of those rows) and non-inferior: the \
        interval's lower end is above -MARGIN. Exit 1 otherwise.\n\n\
        Each side is a model file (`mlprobe train`, `import`, `quantize`) or a predictions CSV \
        file (the label column, `prediction`, optional `p_0`.. columns: `mlprobe eval \
        --predictions`'s format) listing the data's rows in the same order. `ab ztest` is for \
        independent groups; use this for two models on the same rows.",
    after_help = "Examples:\n  mlprobe compare --baseline wine_v1.mlpb --candidate wine_v2.mlpb --data data/wine.csv\n  \
        mlprobe compare --baseline wine.mlpb --candidate wine.int8.mlpb --data data/wine.csv \\\n      \
        --margin 0.02 --slice 'alcohol > 13' --disagreements disagreements.csv --json\n  \
        mlprobe compare --baseline sklearn_preds.csv --candidate torch_preds.csv"
)]
pub struct Args {
    /// The model in place: a model file or a predictions CSV file.
    #[arg(long, value_name = "MODEL|FILE.csv")]
    pub baseline: PathBuf,
    /// The model that would replace it: a model file or a predictions CSV file.
    #[arg(long, value_name = "MODEL|FILE.csv")]
    pub candidate: PathBuf,
    /// Labelled CSV file both are scored on (needed when a side is a model; without it, the
    /// baseline's predictions file holds the rows).
    #[arg(long, value_name = "FILE.csv")]
    pub data: Option<PathBuf>,
    /// Name of the label column.
    #[arg(long, value_name = "COL", default_value = "label")]
    pub label: String,
    /// Non-inferiority margin on the accuracy difference (0 to below 1; 0.01 is one point):
    /// the candidate must be shown no more than this much worse.
    #[arg(long, value_name = "M", default_value_t = 0.01)]
    pub margin: f64,
    /// Significance level of McNemar's test; the interval is at 1 - alpha, so non-inferiority
    /// is tested one-sided at alpha/2 (0.05: a 95% interval).
    #[arg(long, value_name = "A", default_value_t = 0.05)]
    pub alpha: f64,
    /// A subgroup reported on its own: `COLUMN OP NUMBER` with <, <=, >, >=, ==, !=, or
    /// several joined by `and` (e.g. 'alcohol > 13', 'alcohol > 13 and hue <= 0.8').
    /// Repeatable.
    #[arg(long = "slice", value_name = "EXPR")]
    pub slices: Vec<String>,
    /// Write the rows the two models predict differently (line, label, both predictions, the
    /// data's columns) to this CSV file.
    #[arg(long, value_name = "OUT.csv")]
    pub disagreements: Option<PathBuf>,
    /// Pass when rows were left out because a model's features or logits are not finite (they
    /// are counted in `nonfinite_rows` either way).
    #[arg(long)]
    pub allow_nonfinite: bool,
    /// Print one JSON document on stdout instead of the text report.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The library's options.
    pub fn options(self) -> Result<CompareOptions> {
        Ok(CompareOptions {
            baseline: self.baseline,
            candidate: self.candidate,
            data: self.data,
            label: self.label,
            settings: Settings {
                alpha: self.alpha,
                margin: Some(self.margin),
                slices: self
                    .slices
                    .iter()
                    .map(|s| s.parse())
                    .collect::<Result<_>>()?,
                allow_nonfinite: self.allow_nonfinite,
            },
            disagreements: self.disagreements,
        })
    }
}

/// Runs `mlprobe compare`.
pub fn run(args: Args) -> Result<Outcome> {
    let json = args.json;
    let to =
        crate::output::claim_stdout(json, &[("--disagreements", args.disagreements.as_deref())])?;
    let report = compare(&args.options()?)?;
    emit_to(to, json, &report, CompareReport::human, report.passed)
}
