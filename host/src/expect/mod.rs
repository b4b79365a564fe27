//! Expectation suites checked against data: the library behind `mlprobe expect` and
//! `mlprobe profile`.
//!
//! [`expect`] checks a CSV file against a suite file ([`ExpectOptions`]); [`validate`] checks a
//! file against a parsed [`Suite`], streaming it in chunks on every core in constant memory;
//! [`validate_dataset`] checks rows already in memory (the damaged datasets of `mlprobe chaos
//! --experiment input --suite …`) and gives exactly what [`validate`] gives on the same rows
//! written by [`data::write_csv`](crate::data::write_csv). [`profile`] writes a starting suite
//! from data known to be good.
//!
//! What each expectation type means, reads and reports is [`mlprobe_core::expect`]'s; this
//! module streams values into it and turns its [`Outcome`]s into the JSON of DESIGN.md.

mod profile;
pub mod text;
mod validate;

pub use profile::{ProfileOptions, ProfileReport, ProfileState, profile, profile_suite};
pub use validate::{ExpectState, validate, validate_batches, validate_dataset};

use crate::data::ScanOptions;
use crate::error::Result;
use crate::report::{self, Case, Report};
use crate::suite::Suite;
use mlprobe_core::expect::Outcome;
use serde::Serialize;
use std::path::PathBuf;

/// What `mlprobe expect` checks, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectOptions {
    /// The expectation suite (TOML, Great Expectations types and parameters).
    pub suite: PathBuf,
    /// The data: a CSV file with a header row; columns of numbers, or of text where the suite
    /// has text expectations (sets of strings, regex, lengths, of_type…).
    pub data: PathBuf,
    /// Parsing threads (`None`: every core).
    pub threads: Option<usize>,
}

impl ExpectOptions {
    /// Checks `data` against `suite` on every core.
    pub fn new(suite: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        Self {
            suite: suite.into(),
            data: data.into(),
            threads: None,
        }
    }

    /// The scan these options ask for; `threads = Some(0)` is a usage error (`--threads`).
    pub fn scan(&self) -> Result<ScanOptions> {
        ScanOptions::with_threads(self.threads)
    }
}

/// Checks a CSV file against a suite file: `mlprobe expect`.
pub fn expect(opts: &ExpectOptions) -> Result<Validation> {
    let scan = opts.scan()?;
    let suite = Suite::load(&opts.suite)?;
    validate(&suite, &opts.data, scan)
}

/// The report of `mlprobe expect --json` (DESIGN.md, "JSON").
#[derive(Clone, Debug, Serialize)]
pub struct Validation {
    /// Every expectation held.
    pub success: bool,
    /// Counts of expectations.
    pub statistics: Statistics,
    /// One entry per expectation, in suite order.
    pub results: Vec<ExpectationResult>,
    /// The suite's name.
    pub suite: String,
    /// The data file.
    pub data: PathBuf,
    /// Data rows read.
    pub rows: u64,
    /// Seconds spent reading and checking.
    pub seconds: f64,
    /// Peak resident set size of this process (`VmHWM`, Linux), when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// Counts of expectations (Great Expectations' `statistics`).
#[derive(Clone, Debug, Serialize)]
pub struct Statistics {
    /// Expectations evaluated.
    pub evaluated: usize,
    /// That held.
    pub successful: usize,
    /// That did not.
    pub unsuccessful: usize,
    /// `100 · successful / evaluated`.
    pub success_percent: f64,
}

/// One expectation's result.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectationResult {
    /// The Great Expectations type.
    pub expectation_type: String,
    /// The column, `null` for table expectations.
    pub column: Option<String>,
    /// Whether it held.
    pub success: bool,
    /// The Great Expectations result fields that apply.
    pub result: ResultFields,
    /// When the expectation could not be evaluated (its column is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_info: Option<ExceptionInfo>,
    /// Line of the expectation in the suite file.
    pub suite_line: usize,
    /// One line for humans.
    #[serde(skip)]
    pub summary: String,
}

/// Great Expectations' result fields that apply to the expectation.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ResultFields {
    /// A core expectation's: core's [`Outcome`] says which fields apply and serialises them.
    Outcome(Box<Outcome>),
    /// `expect_table_columns_to_match_ordered_list`'s.
    Columns {
        /// The data's header.
        observed_value: Vec<String>,
    },
    /// A text expectation's ([`text::evaluate`]).
    Text(serde_json::Map<String, serde_json::Value>),
}

/// Great Expectations' `exception_info`.
#[derive(Clone, Debug, Serialize)]
pub struct ExceptionInfo {
    /// Always true when present.
    pub raised_exception: bool,
    /// What went wrong.
    pub exception_message: String,
}

impl Validation {
    /// The table `mlprobe expect` prints: one line per expectation, then the counts.
    pub fn human(&self) -> String {
        let mut s = format!(
            "suite `{}` on {} ({} rows, {:.3} s)\n\n",
            self.suite,
            self.data.display(),
            self.rows,
            self.seconds
        );
        let type_w = self
            .results
            .iter()
            .map(|r| r.expectation_type.len())
            .max()
            .unwrap_or(0);
        let col_w = self
            .results
            .iter()
            .map(|r| r.column.as_deref().map_or(1, str::len))
            .max()
            .unwrap_or(0);
        for r in &self.results {
            s.push_str(&format!(
                "  {}  {:type_w$}  {:col_w$}  {}\n",
                if r.success { "pass" } else { "FAIL" },
                r.expectation_type,
                r.column.as_deref().unwrap_or("-"),
                r.summary
            ));
        }
        s.push_str(&format!(
            "\n{} expectations: {} passed, {} failed\n",
            self.statistics.evaluated, self.statistics.successful, self.statistics.unsuccessful
        ));
        s
    }

    /// The results as a test report (one case per expectation) for `--junit`.
    pub fn to_report(&self) -> Report {
        let mut suite = report::Suite::new(self.suite.clone());
        suite
            .properties
            .push(("data".into(), self.data.display().to_string()));
        suite
            .properties
            .push(("rows".into(), self.rows.to_string()));
        for r in &self.results {
            let name = match &r.column {
                Some(c) => format!("{}({c})", r.expectation_type),
                None => r.expectation_type.clone(),
            };
            let classname = format!("mlprobe.expect.{}", self.suite);
            let case = if r.success {
                Case::passed(name, classname)
            } else {
                Case::failed(name, classname, r.summary.clone(), "expectation")
            };
            suite.push(
                case.with_summary(r.summary.clone())
                    .with_property("suite_line", r.suite_line),
            );
        }
        Report::new("mlprobe expect").with_suite(suite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn options_are_checked_and_name_the_flag() {
        let opts = ExpectOptions {
            threads: Some(0),
            ..ExpectOptions::new("s.toml", "d.csv")
        };
        let e = expect(&opts).unwrap_err();
        assert!(
            matches!(&e, Error::Usage(m) if m == "--threads: must be at least 1"),
            "{e}"
        );
        assert_eq!(
            ExpectOptions::new("s.toml", "d.csv").scan().unwrap(),
            ScanOptions::default()
        );
        let same = ProfileOptions::new("dir/d.csv", "dir/d.csv");
        assert!(matches!(profile(&same), Err(Error::Usage(m)) if m.starts_with("--out: ")));
        let p = ProfileOptions {
            threads: Some(0),
            ..ProfileOptions::new("dir/d.csv", "-")
        };
        assert!(matches!(p.validate(), Err(Error::Usage(m)) if m.starts_with("--threads")));
        assert_eq!(p.suite_name(), "d");
    }
}
