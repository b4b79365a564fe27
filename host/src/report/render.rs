//! `mlprobe report`: a saved `report.json` rendered again into `report.html`, `summary.md` and
//! `junit.xml`, and what that did (its `--json` document).

use super::{Exporter, Html, Junit, Markdown, Report, StageStatus, iso8601_utc, json};
use crate::error::Result;
use serde::Serialize;
use std::path::PathBuf;

/// What `mlprobe report` renders again: from a saved `report.json`, into a directory.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// The `report.json` written by `mlprobe run`.
    pub from: PathBuf,
    /// Directory for the files; `None`: beside `report.json`.
    pub out: Option<PathBuf>,
}

impl RenderOptions {
    /// The directory the files go to.
    pub fn dir(&self) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| match self.from.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => ".".into(),
            })
    }
}

/// The formats `mlprobe report` renders again.
pub const RENDERED: [&dyn Exporter; 3] = [&Html, &Markdown, &Junit];

/// Reads a saved `report.json` and writes `report.html`, `summary.md` and `junit.xml` again;
/// returns the report.
pub fn render(opts: &RenderOptions) -> Result<Report> {
    let report = json::load(&opts.from)?;
    report.write_dir(&opts.dir(), &RENDERED)?;
    Ok(report)
}

/// What `mlprobe report` did, its `--json` document: where it wrote which files, and the
/// report's verdict and counts.
#[derive(Clone, Debug, Serialize)]
pub struct Rendered {
    /// The `report.json` read.
    pub from: PathBuf,
    /// The directory written to.
    pub dir: PathBuf,
    /// The files written in `dir`, in order.
    pub files: Vec<&'static str>,
    /// The report's name (`mlprobe run`).
    pub name: String,
    /// When the run started, ISO 8601 UTC (`2026-11-30T06:00:00Z`); `null` without run
    /// information.
    pub started: Option<String>,
    /// Every stage passed or was skipped (the exit code: 0, else 1).
    pub passed: bool,
    /// Each stage's name and verdict, in order.
    pub stages: Vec<StageVerdict>,
    /// Reported test cases (as in `junit.xml`).
    pub tests: usize,
    /// Failed cases.
    pub failures: usize,
    /// Cases that could not be evaluated.
    pub errors: usize,
    /// Skipped cases.
    pub skipped: usize,
}

/// A stage's name and verdict.
#[derive(Clone, Debug, Serialize)]
pub struct StageVerdict {
    /// The stage (suite) name.
    pub name: String,
    /// How it ended.
    pub status: StageStatus,
}

impl Rendered {
    /// The summary of rendering `report` as `opts` says.
    pub fn new(opts: &RenderOptions, report: &Report) -> Self {
        Self {
            from: opts.from.clone(),
            dir: opts.dir(),
            files: RENDERED.iter().map(|e| e.file_name()).collect(),
            name: report.name.clone(),
            started: report.run.as_ref().map(|r| iso8601_utc(r.started_unix_s)),
            passed: report.passed(),
            stages: report
                .suites
                .iter()
                .map(|s| StageVerdict {
                    name: s.name.clone(),
                    status: s.status(),
                })
                .collect(),
            tests: report.tests(),
            failures: report.failures(),
            errors: report.errors(),
            skipped: report.skipped(),
        }
    }

    /// The line for people: which files went where.
    pub fn human(&self) -> String {
        format!(
            "wrote {} in {}\n",
            self.files.join(", "),
            self.dir.display()
        )
    }
}
