//! `mlprobe report`: render the HTML report and the Markdown summary again from a saved
//! `report.json` (after editing it, or with a newer mlprobe).

use crate::commands::Outcome;
use crate::error::{Error, Result};
use crate::report::html;
use crate::run_report::{RunReport, VERSION};
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
}

/// Runs `mlprobe report`.
pub fn run(args: Args) -> Result<Outcome> {
    let text = std::fs::read_to_string(&args.from).map_err(|e| Error::io(&args.from, e))?;
    let report: RunReport = serde_json::from_str(&text).map_err(|e| Error::Parse {
        path: args.from.clone(),
        line: e.line() as u64,
        column: e.column(),
        message: format!("not a report.json of mlprobe run: {e}"),
    })?;
    if report.version != VERSION {
        return Err(Error::file(
            &args.from,
            format!(
                "report format version {} (this mlprobe reads {VERSION})",
                report.version
            ),
        ));
    }
    let dir = args.out.unwrap_or_else(|| {
        args.from
            .parent()
            .map(PathBuf::from)
            .unwrap_or_else(|| ".".into())
    });
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    for (name, content) in [
        ("report.html", html::render(&report)),
        ("summary.md", report.to_markdown()),
        ("junit.xml", report.to_report().to_junit()),
    ] {
        let p = dir.join(name);
        std::fs::write(&p, content).map_err(|e| Error::io(&p, e))?;
    }
    eprintln!(
        "wrote report.html, summary.md and junit.xml in {}",
        dir.display()
    );
    Ok(if report.passed {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}
