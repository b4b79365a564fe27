//! A small test-report model, filled by the commands that check things (the `eval` gate,
//! expectations, the pipeline) and written for CI by one writer per format:
//! [`junit`] (JUnit XML for GitHub Actions, GitLab and Jenkins) and [`markdown`] (a summary
//! table for a job summary or a pull-request comment).
//!
//! A [`Report`] holds [`Suite`]s of [`Case`]s; a case passed, failed (a check said no), errored
//! (the check could not run) or was skipped.
//!
//! ```
//! use mlprobe::report::{Case, Report, Suite};
//! let mut suite = Suite::new("thresholds");
//! suite.push(Case::passed("accuracy >= 0.9", "mlprobe.eval").with_property("actual", "0.95"));
//! suite.push(Case::failed("latency_p99_us <= 100", "mlprobe.eval", "120 > 100", "threshold"));
//! let report = Report { name: "mlprobe eval".into(), suites: vec![suite] };
//! assert_eq!((report.tests(), report.failures()), (2, 1));
//! assert!(report.to_junit().contains("<failure message=\"120 &gt; 100\""));
//! assert!(report.to_markdown().contains("| thresholds |"));
//! ```

pub mod html;
pub mod junit;
pub mod markdown;
pub mod svg;

/// How a test case ended.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// What was checked, e.g. `accuracy >= 0.9`.
    pub name: String,
    /// Group of the check, dotted, e.g. `mlprobe.eval.thresholds`.
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
}

/// A named group of cases (a JUnit `<testsuite>`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Suite {
    /// Name, e.g. `thresholds`, `regression`, `slice: alcohol > 13`.
    pub name: String,
    /// The cases, in order.
    pub cases: Vec<Case>,
    /// Name/value pairs of the whole suite (model, data file …).
    pub properties: Vec<(String, String)>,
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

    /// Number of cases.
    pub fn tests(&self) -> usize {
        self.cases.len()
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

    /// Total time of the cases, seconds.
    pub fn time_s(&self) -> f64 {
        self.cases.iter().map(|c| c.time_s).sum()
    }

    /// True when no case failed or errored.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(Case::is_ok)
    }

    fn count(&self, f: impl Fn(&Status) -> bool) -> usize {
        self.cases.iter().filter(|c| f(&c.status)).count()
    }
}

/// A whole report (a JUnit `<testsuites>`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Name, e.g. `mlprobe eval`.
    pub name: String,
    /// The suites, in order.
    pub suites: Vec<Suite>,
}

impl Report {
    /// An empty report.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            suites: Vec::new(),
        }
    }

    /// Number of cases.
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

    /// True when no case failed or errored.
    pub fn passed(&self) -> bool {
        self.suites.iter().all(Suite::passed)
    }

    /// The report as JUnit XML.
    pub fn to_junit(&self) -> String {
        junit::render(self)
    }

    /// The report as a Markdown summary.
    pub fn to_markdown(&self) -> String {
        markdown::render(self)
    }
}
