//! `mlprobe report`: render the HTML report and the Markdown summary again from a saved
//! `report.json` (after editing it, or with a newer mlprobe).

use crate::commands::Outcome;
use crate::error::Result;
use crate::report::{RenderOptions, Rendered, render};
use std::path::PathBuf;

/// Render report.html and summary.md again from a report.json.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  mlprobe report --from out/report/report.json")]
pub struct Args {
    /// The report.json written by `mlprobe run`.
    #[arg(long, value_name = "report.json")]
    pub from: PathBuf,
    /// Directory for report.html, summary.md and junit.xml (default: beside report.json).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print one JSON document on stdout: the files written, the report's verdict, its stages
    /// and counts.
    #[arg(long)]
    pub json: bool,
}

/// Runs `mlprobe report`: the line naming the files goes to stderr, `--json` to stdout.
pub fn run(args: Args) -> Result<Outcome> {
    let opts = RenderOptions {
        from: args.from,
        out: args.out,
    };
    let report = render(&opts)?;
    let done = Rendered::new(&opts, &report);
    if args.json {
        crate::output::print_json(&done)?;
    } else {
        crate::output::eprint(&done.human());
    }
    Ok(Outcome::from_passed(done.passed))
}
