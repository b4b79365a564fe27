//! The one report model of mlprobe, and its exporters.
//!
//! A [`Report`] holds [`Suite`]s of [`Case`]s: one check each, which passed, failed (a check
//! said no), errored (the check could not run) or was skipped. The commands that check things
//! fill one: the `eval` gate (a suite per threshold group and slice), `expect` (a suite of
//! expectations) and `run` (a suite per pipeline stage, with the stage's verdict, time,
//! summary, notes and figures; the report then also carries the run's [`RunInfo`] and its
//! [`Charts`]).
//!
//! An [`Exporter`] turns a report into a file, one format per file of this folder:
//! [`Json`] (`report.json`, read back by [`json::load`]), [`Html`] (a self-contained page with
//! inline SVG charts), [`Junit`] (JUnit XML for GitHub Actions, GitLab and Jenkins) and
//! [`Markdown`] (a summary table for a job summary or a pull-request comment).
//!
//! ```
//! use mlprobe::report::{Case, Exporter, Junit, Markdown, Report, Suite};
//! let mut suite = Suite::new("thresholds");
//! suite.push(Case::passed("accuracy >= 0.9", "mlprobe.eval").with_property("actual", "0.95"));
//! suite.push(Case::failed("latency_p99_us <= 100", "mlprobe.eval", "120 > 100", "threshold"));
//! let report = Report::new("mlprobe eval").with_suite(suite);
//! assert_eq!((report.tests(), report.failures()), (2, 1));
//! let xml = String::from_utf8(Junit.export(&report).unwrap()).unwrap();
//! assert!(xml.contains("<failure message=\"120 &gt; 100\""));
//! let md = String::from_utf8(Markdown.export(&report).unwrap()).unwrap();
//! assert!(md.contains("| thresholds |"));
//! ```

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod render;
pub mod sections;
pub mod svg;

pub use html::Html;
pub use json::Json;
pub use junit::Junit;
pub use markdown::Markdown;
pub use render::{RENDERED, RenderOptions, Rendered, StageVerdict, render};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::path::Path;

/// A format a [`Report`] can be written in.
pub trait Exporter {
    /// The file's name in a report directory (`report.json`, `junit.xml` …).
    fn file_name(&self) -> &'static str;

    /// The report in this format.
    fn export(&self, report: &Report) -> Result<Vec<u8>>;
}

/// How a test case ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Status {
    /// The check held.
    Passed,
    /// The check did not hold (a threshold, a regression, an expectation).
    Failed {
        /// One-line message (the JUnit `message` attribute).
        message: String,
        /// Kind of failure (the JUnit `type` attribute), e.g. `threshold`, `regression`.
        kind: String,
        /// Longer text, may be empty.
        detail: String,
    },
    /// The check could not be evaluated (a metric was not measured, an input was missing).
    Error {
        /// One-line message.
        message: String,
        /// Kind of error.
        kind: String,
    },
    /// The check was not run.
    Skipped {
        /// Why.
        message: String,
    },
}

/// One check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(into = "json::CaseJson", from = "json::CaseJson")]
pub struct Case {
    /// What was checked, e.g. `accuracy >= 0.9`.
    pub name: String,
    /// Group of the check, dotted, e.g. `mlprobe.gate.thresholds`; empty: the report's name
    /// and the suite's, `mlprobe.run.eval`.
    pub classname: String,
    /// Seconds spent, 0 when not timed.
    pub time_s: f64,
    /// How it ended.
    pub status: Status,
    /// One line for humans on what was observed (the Markdown "details"), may be empty.
    pub summary: String,
    /// Name/value pairs (metric, limit, actual …), in insertion order.
    pub properties: Vec<(String, String)>,
}

impl Case {
    /// A case with a status.
    pub fn new(name: impl Into<String>, classname: impl Into<String>, status: Status) -> Self {
        Self {
            name: name.into(),
            classname: classname.into(),
            time_s: 0.0,
            status,
            summary: String::new(),
            properties: Vec::new(),
        }
    }

    /// A passed case.
    pub fn passed(name: impl Into<String>, classname: impl Into<String>) -> Self {
        Self::new(name, classname, Status::Passed)
    }

    /// A failed case.
    pub fn failed(
        name: impl Into<String>,
        classname: impl Into<String>,
        message: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        let status = Status::Failed {
            message: message.into(),
            kind: kind.into(),
            detail: String::new(),
        };
        Self::new(name, classname, status)
    }

    /// A check of a pipeline stage: passed, with what was observed as its summary, or failed
    /// (kind `gate`), with it as its message. The classname is the suite's (see
    /// [`Case::classname`]).
    pub fn check(name: impl Into<String>, passed: bool, detail: impl Into<String>) -> Self {
        if passed {
            Self::passed(name, "").with_summary(detail)
        } else {
            Self::failed(name, "", detail, "gate")
        }
    }

    /// Adds a property.
    #[must_use]
    pub fn with_property(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.properties.push((name.into(), value.to_string()));
        self
    }

    /// Sets the one-line summary.
    #[must_use]
    pub fn with_summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }

    /// Sets the time spent.
    #[must_use]
    pub fn with_time(mut self, seconds: f64) -> Self {
        self.time_s = seconds;
        self
    }

    /// True when the case passed or was skipped.
    pub fn is_ok(&self) -> bool {
        matches!(self.status, Status::Passed | Status::Skipped { .. })
    }

    /// What was observed, in one line: the message of a failure, an error or a skip, else the
    /// summary.
    pub fn detail(&self) -> &str {
        match &self.status {
            Status::Failed { message, .. }
            | Status::Error { message, .. }
            | Status::Skipped { message } => message,
            Status::Passed => &self.summary,
        }
    }
}

/// How a suite (a pipeline stage) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// It ran and every check held.
    Passed,
    /// It ran and a check failed (a gate).
    Failed,
    /// It did not run (with a note saying why).
    Skipped,
    /// It could not run to the end (bad input, missing tool).
    Error,
}

impl StageStatus {
    /// Upper-case word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Self::Passed => "PASSED",
            Self::Failed => "FAILED",
            Self::Skipped => "SKIPPED",
            Self::Error => "ERROR",
        }
    }
}

/// A named group of cases (a JUnit `<testsuite>`; a stage of `mlprobe run`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "json::SuiteJson", from = "json::SuiteJson")]
pub struct Suite {
    /// Name, e.g. `thresholds`, `slice: alcohol > 13`, `train`.
    pub name: String,
    /// The cases, in order.
    pub cases: Vec<Case>,
    /// Name/value pairs of the whole suite (model, data file …).
    pub properties: Vec<(String, String)>,
    /// How the suite ended when it says so itself (a stage that passed, was skipped or could
    /// not run, with no case to tell); `None`: from its cases (see [`Suite::status`]).
    pub status: Option<StageStatus>,
    /// Wall-clock seconds of a stage.
    pub duration_s: f64,
    /// One line: what the stage did and found.
    pub summary: String,
    /// Notes for the reader (why a stage was skipped, warnings).
    pub notes: Vec<String>,
    /// The stage's full figures (the JSON of the matching subcommand).
    pub details: serde_json::Value,
}

impl Suite {
    /// An empty suite.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Appends a case.
    pub fn push(&mut self, case: Case) {
        self.cases.push(case);
    }

    /// How the suite ended: its own [`status`](Self::status) if set, else failed when a case
    /// failed or errored, skipped when every case was skipped, passed otherwise.
    pub fn status(&self) -> StageStatus {
        if let Some(s) = self.status {
            return s;
        }
        if self.cases.iter().any(|c| !c.is_ok()) {
            StageStatus::Failed
        } else if !self.cases.is_empty()
            && self
                .cases
                .iter()
                .all(|c| matches!(c.status, Status::Skipped { .. }))
        {
            StageStatus::Skipped
        } else {
            StageStatus::Passed
        }
    }

    /// The cases as reported: the suite's own, or, for a stage that says how it ended and has
    /// no case, one case of the stage itself (its status, summary and duration).
    pub fn reported_cases(&self) -> Cow<'_, [Case]> {
        let Some(status) = self.status.filter(|_| self.cases.is_empty()) else {
            return Cow::Borrowed(&self.cases);
        };
        let status = match status {
            StageStatus::Passed => Status::Passed,
            StageStatus::Failed => Status::Failed {
                message: self.summary.clone(),
                kind: "gate".into(),
                detail: String::new(),
            },
            StageStatus::Skipped => Status::Skipped {
                message: self.notes.join("; "),
            },
            StageStatus::Error => Status::Error {
                message: self.summary.clone(),
                kind: "error".into(),
            },
        };
        let case = Case::new(&self.name, "", status)
            .with_time(self.duration_s)
            .with_summary(&self.summary);
        Cow::Owned(vec![case])
    }

    /// Number of reported cases.
    pub fn tests(&self) -> usize {
        self.reported_cases().len()
    }

    /// Number of failed cases.
    pub fn failures(&self) -> usize {
        self.count(|s| matches!(s, Status::Failed { .. }))
    }

    /// Number of cases that could not be evaluated.
    pub fn errors(&self) -> usize {
        self.count(|s| matches!(s, Status::Error { .. }))
    }

    /// Number of skipped cases.
    pub fn skipped(&self) -> usize {
        self.count(|s| matches!(s, Status::Skipped { .. }))
    }

    /// Total time of the reported cases, seconds.
    pub fn time_s(&self) -> f64 {
        self.reported_cases().iter().map(|c| c.time_s).sum()
    }

    /// True when the suite passed or was skipped.
    pub fn passed(&self) -> bool {
        matches!(self.status(), StageStatus::Passed | StageStatus::Skipped)
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.reported_cases()
            .iter()
            .filter(|c| f(&c.status))
            .count()
    }
}

/// A named line of points.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
}

/// Latency of one target: percentiles and a histogram.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyChart {
    /// Where it was measured (`host`, `qemu`).
    pub target: String,
    /// Unit of the values (`µs` on the host, `instructions` under QEMU).
    pub unit: String,
    /// `(name, value)` percentiles, e.g. `("p99", 0.4)`.
    pub percentiles: Vec<(String, f64)>,
    /// `(bucket upper bound, count)`; whole-number values (instructions) are values of their
    /// own, and in a binned (fractional, µs) histogram the last bucket is open: it holds every
    /// sample above the bound before it, up to the maximum.
    pub histogram: Vec<(f64, u64)>,
}

/// Parameters of a Beta posterior.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BetaParams {
    /// α.
    pub alpha: f64,
    /// β.
    pub beta: f64,
}

/// The A/B analysis' posteriors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Posteriors {
    /// Control arm's label and posterior.
    pub control: (String, BetaParams),
    /// Treatment arm's label and posterior.
    pub treatment: (String, BetaParams),
}

/// Data behind the charts of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Charts {
    /// Loss and accuracy per epoch.
    pub training: Vec<Line>,
    /// Confusion matrix on the held-out rows (rows = true label).
    pub confusion: Vec<Vec<u32>>,
    /// Latency on each target.
    pub latency: Vec<LatencyChart>,
    /// Accuracy against bit-error rate, one line per bit class.
    pub bitflip: Vec<Line>,
    /// Posteriors of the A/B analysis.
    pub posteriors: Option<Posteriors>,
}

/// What a pipeline run (`mlprobe run`) adds to a report: where and when it ran.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// mlprobe's version.
    pub mlprobe: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    /// The configuration file used.
    pub config: String,
    /// The dataset.
    pub dataset: String,
    /// When the run started, ISO 8601 UTC (`2026-12-01T20:28:50Z`).
    #[serde(default)]
    pub started: String,
    /// When it ended (the report written), ISO 8601 UTC.
    #[serde(default)]
    pub finished: String,
    /// What it judged (every input file's SHA-256), the commit and the machine.
    #[serde(default)]
    pub provenance: crate::provenance::Provenance,
}

/// A whole report (a JUnit `<testsuites>`; the `report.json` of `mlprobe run`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(into = "json::ReportJson")]
pub struct Report {
    /// Name, e.g. `mlprobe eval`, `mlprobe run`.
    pub name: String,
    /// The suites (stages), in order.
    pub suites: Vec<Suite>,
    /// Where and when a pipeline ran; `None` for one command's checks.
    pub run: Option<RunInfo>,
    /// Chart data (empty but for a run).
    pub charts: Charts,
}

impl Report {
    /// An empty report.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Appends a suite, builder style.
    #[must_use]
    pub fn with_suite(mut self, suite: Suite) -> Self {
        self.suites.push(suite);
        self
    }

    /// Number of reported cases.
    pub fn tests(&self) -> usize {
        self.suites.iter().map(Suite::tests).sum()
    }

    /// Number of failed cases.
    pub fn failures(&self) -> usize {
        self.suites.iter().map(Suite::failures).sum()
    }

    /// Number of cases that could not be evaluated.
    pub fn errors(&self) -> usize {
        self.suites.iter().map(Suite::errors).sum()
    }

    /// Number of skipped cases.
    pub fn skipped(&self) -> usize {
        self.suites.iter().map(Suite::skipped).sum()
    }

    /// Total time, seconds.
    pub fn time_s(&self) -> f64 {
        self.suites.iter().map(Suite::time_s).sum()
    }

    /// True when every suite passed or was skipped.
    pub fn passed(&self) -> bool {
        self.suites.iter().all(Suite::passed)
    }

    /// One line that says how the run ended and counts what was not a plain pass: failed and
    /// errored stages by name, skipped ones with their reason, and stages that passed with no
    /// check at all (`passed, 1 stage skipped (device: qemu-system-arm not found on PATH), 1
    /// without checks (train)`). A pass with skips is still a pass (exit 0), but it says so.
    pub fn banner(&self) -> String {
        // A reason's first clause (`qemu-system-arm not found on PATH: install it …`); an
        // error's message whole, up to 100 characters.
        let why = |s: &Suite, text: &str| {
            let text = match s.status() {
                StageStatus::Skipped => text.split(": ").next().unwrap_or_default().to_string(),
                _ if text.chars().count() > 100 => {
                    format!("{}…", text.chars().take(100).collect::<String>())
                }
                _ => text.to_string(),
            };
            if text.is_empty() {
                s.name.clone()
            } else {
                format!("{}: {text}", s.name)
            }
        };
        let (mut failed, mut errored, mut skipped, mut unchecked) =
            (vec![], vec![], vec![], vec![]);
        for s in &self.suites {
            match s.status() {
                StageStatus::Failed => failed.push(s.name.clone()),
                StageStatus::Error => errored.push(why(s, &s.summary)),
                StageStatus::Skipped => {
                    skipped.push(why(s, s.notes.first().map_or("", String::as_str)))
                }
                StageStatus::Passed if s.cases.is_empty() => unchecked.push(s.name.clone()),
                StageStatus::Passed => {}
            }
        }
        let stages = |n: usize| if n == 1 { "stage" } else { "stages" };
        let mut parts = Vec::new();
        if !failed.is_empty() {
            parts.push(format!(
                "{} {} failed ({})",
                failed.len(),
                stages(failed.len()),
                failed.join(", ")
            ));
        }
        for (list, word) in [(&errored, "errored"), (&skipped, "skipped")] {
            if !list.is_empty() {
                parts.push(format!(
                    "{} {} {word} ({})",
                    list.len(),
                    stages(list.len()),
                    list.join("; ")
                ));
            }
        }
        if !unchecked.is_empty() {
            parts.push(format!(
                "{} without checks ({})",
                unchecked.len(),
                unchecked.join(", ")
            ));
        }
        let head = if self.passed() {
            if parts.is_empty() {
                return format!("every gate passed ({} stages)", self.suites.len());
            }
            "passed"
        } else {
            "FAILED"
        };
        format!("{head}, {}", parts.join(", "))
    }

    /// Writes the report in one format to `path` (`-`: stdout), atomically.
    pub fn write(&self, exporter: &dyn Exporter, path: &Path) -> Result<()> {
        crate::output::write_file(path, &exporter.export(self)?)
    }

    /// Writes the report in each format into `dir` (created if need be) under the format's
    /// file name.
    pub fn write_dir(&self, dir: &Path, exporters: &[&dyn Exporter]) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        for e in exporters {
            self.write(*e, &dir.join(e.file_name()))?;
        }
        Ok(())
    }
}

/// Every format, in the order `mlprobe run` writes them.
pub const ALL: [&dyn Exporter; 4] = [&Json, &Html, &Junit, &Markdown];

/// Seconds since the Unix epoch as ISO 8601 / RFC 3339 UTC, to the second
/// (`1796019193` → `2026-11-30T06:13:13Z`); a time past chrono's range (year 262143) stays a
/// number of seconds.
pub fn iso8601_utc(unix_s: u64) -> String {
    i64::try_from(unix_s)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map_or_else(
            || format!("{unix_s} s after 1970-01-01T00:00:00Z"),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `python3 -c "import datetime as d; print(d.datetime.fromtimestamp(1796019193,
    /// d.timezone.utc).isoformat(), d.datetime.fromtimestamp(951782400, d.timezone.utc))"`
    /// → `2026-11-30T06:13:13+00:00 2000-02-29 00:00:00+00:00`.
    #[test]
    fn times_are_iso_8601_utc() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(1_796_019_193), "2026-11-30T06:13:13Z");
        assert_eq!(iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            iso8601_utc(u64::MAX),
            "18446744073709551615 s after 1970-01-01T00:00:00Z"
        );
    }

    /// A report of each kind of suite: a gate's (status from its cases) and a run's stages.
    pub(crate) fn sample() -> Report {
        let mut t = Suite::new("thresholds");
        t.properties.push(("model".into(), "wine.mlp".into()));
        t.push(
            Case::passed("accuracy >= 0.9", "mlprobe.eval.thresholds")
                .with_property("actual", 0.95),
        );
        t.push(
            Case::failed(
                "latency_p99_us <= 100",
                "mlprobe.eval.thresholds",
                "latency_p99_us 120 violates max 100",
                "threshold",
            )
            .with_summary("p99 <120> & \"quoted\"\nsecond line"),
        );
        t.push(Case::new(
            "memory_bytes <= 10",
            "mlprobe.eval.thresholds",
            Status::Error {
                message: "not measured".into(),
                kind: "missing".into(),
            },
        ));
        let mut s = Suite::new("slice: alcohol > 13 & label != 'x'");
        s.push(Case::new(
            "accuracy >= 0.9",
            "mlprobe.eval.slice",
            Status::Skipped {
                message: "empty slice".into(),
            },
        ));
        s.push(Case::failed("bell\u{7}", "c<l>", "a\nb", "regression").with_time(0.25));
        Report::new("mlprobe eval").with_suite(t).with_suite(s)
    }

    #[test]
    fn counts_and_statuses_come_from_the_cases() {
        let r = sample();
        assert_eq!(
            (r.tests(), r.failures(), r.errors(), r.skipped()),
            (5, 2, 1, 1)
        );
        assert_eq!(r.suites[0].status(), StageStatus::Failed);
        assert!(!r.passed());
        assert_eq!(r.time_s(), 0.25);
        let mut skipped = Suite::new("s");
        skipped.push(Case::new(
            "x",
            "c",
            Status::Skipped {
                message: "why".into(),
            },
        ));
        assert_eq!(skipped.status(), StageStatus::Skipped);
        assert!(skipped.passed());
        assert_eq!(Suite::new("empty").status(), StageStatus::Passed);
        assert_eq!(Suite::new("empty").tests(), 0);
    }

    #[test]
    fn a_stage_without_checks_reports_itself_as_one_case() {
        let mut st = Suite::new("device");
        st.status = Some(StageStatus::Skipped);
        st.duration_s = 1.5;
        st.summary = "not run".into();
        st.notes = vec!["no QEMU".into(), "see setup".into()];
        let cases = st.reported_cases();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].name, "device");
        assert_eq!(
            cases[0].status,
            Status::Skipped {
                message: "no QEMU; see setup".into()
            }
        );
        assert_eq!(
            (cases[0].time_s, cases[0].summary.as_str()),
            (1.5, "not run")
        );
        st.status = Some(StageStatus::Error);
        assert_eq!(st.errors(), 1);
        assert!(!Report::new("r").with_suite(st.clone()).passed());
        // With checks, the checks are the cases; the stage's own status still decides.
        st.status = Some(StageStatus::Failed);
        st.push(Case::check("accuracy >= 0.9", true, "0.95"));
        assert_eq!(st.tests(), 1);
        assert_eq!(st.status(), StageStatus::Failed);
    }

    #[test]
    fn render_writes_the_pages_again_from_report_json() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = sample();
        r.run = Some(RunInfo::default());
        r.write_dir(dir.path(), &ALL).unwrap();
        let out = dir.path().join("again");
        let opts = RenderOptions {
            from: dir.path().join("report.json"),
            out: Some(out.clone()),
        };
        assert_eq!(opts.dir(), out);
        let back = render(&opts).unwrap();
        assert!(!back.passed());
        for e in [&Html as &dyn Exporter, &Markdown, &Junit] {
            let again = std::fs::read(out.join(e.file_name())).unwrap();
            assert_eq!(
                again,
                std::fs::read(dir.path().join(e.file_name())).unwrap()
            );
        }
        assert!(!out.join("report.json").exists());
        let beside = RenderOptions {
            from: "report.json".into(),
            out: None,
        };
        assert_eq!(beside.dir(), std::path::PathBuf::from("."));
    }

    #[test]
    fn the_banner_counts_what_was_not_a_plain_pass() {
        let stage = |name: &str, status: StageStatus, checks: usize, note: &str| {
            let mut s = Suite::new(name);
            s.status = Some(status);
            s.summary = "broke: details".into();
            for k in 0..checks {
                s.push(Case::check(
                    format!("c{k}"),
                    status != StageStatus::Failed,
                    "",
                ));
            }
            if !note.is_empty() {
                s.notes.push(note.into());
            }
            s
        };
        let mut r = Report::new("mlprobe run")
            .with_suite(stage("expect", StageStatus::Passed, 2, ""))
            .with_suite(stage("eval", StageStatus::Passed, 1, ""));
        assert_eq!(r.banner(), "every gate passed (2 stages)");
        r.suites.push(stage("train", StageStatus::Passed, 0, ""));
        r.suites.push(stage(
            "device",
            StageStatus::Skipped,
            0,
            "qemu-system-arm not found on PATH: install it",
        ));
        assert_eq!(
            r.banner(),
            "passed, 1 stage skipped (device: qemu-system-arm not found on PATH), 1 without checks (train)"
        );
        assert!(r.passed());
        r.suites.push(stage("load", StageStatus::Error, 1, ""));
        r.suites.push(stage("ab", StageStatus::Failed, 1, ""));
        assert_eq!(
            r.banner(),
            "FAILED, 1 stage failed (ab), 1 stage errored (load: broke: details), 1 stage skipped (device: qemu-system-arm not found on PATH), 1 without checks (train)"
        );
    }

    #[test]
    fn checks_carry_their_detail() {
        let ok = Case::check("a", true, "observed");
        assert_eq!(
            (ok.is_ok(), ok.detail(), ok.summary.as_str()),
            (true, "observed", "observed")
        );
        let ko = Case::check("b", false, "too low");
        assert_eq!(
            (ko.is_ok(), ko.detail(), ko.summary.as_str()),
            (false, "too low", "")
        );
        assert!(matches!(ko.status, Status::Failed { ref kind, .. } if kind == "gate"));
    }
}
