//! One module per subcommand: `Args` (clap) and `run`.

pub mod ab;
pub mod chaos;
pub mod compare;
pub mod device;
pub mod drift;
pub mod eval;
pub mod expect;
pub mod export;
pub mod import;
pub mod init;
pub mod load;
pub mod predict;
pub mod profile;
pub mod quantize;
pub mod report;
pub mod run;
pub mod serve;
pub mod slices;
pub mod train;

use crate::output::ReportTo;

/// How a command that ran ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed (exit 0).
    Pass,
    /// The run worked and a check failed (exit 1).
    Fail,
}

impl Outcome {
    /// `Pass` when `passed`, else `Fail`.
    pub fn from_passed(passed: bool) -> Self {
        if passed { Self::Pass } else { Self::Fail }
    }
}

/// A command's report rendered both ways, and whether its checks passed: what a command
/// prints ([`Rendered::emit`]), and what a front end other than the command line (the Python
/// package) returns.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The report as `--json` prints it.
    pub json: serde_json::Value,
    /// The report as text.
    pub human: String,
    /// Whether every check passed.
    pub passed: bool,
}

/// Renders a report: its JSON, and the text `human` makes of it.
pub fn render<T: serde::Serialize>(
    report: &T,
    human: impl FnOnce(&T) -> String,
    passed: bool,
) -> crate::error::Result<Rendered> {
    let json = serde_json::to_value(report)
        .map_err(|e| crate::error::Error::Internal(format!("a report as JSON: {e}")))?;
    Ok(Rendered {
        json,
        human: human(report),
        passed,
    })
}

impl Rendered {
    /// Prints the report on stdout, as JSON (`json`) or as text, and returns the outcome of
    /// its checks.
    pub fn emit(self, json: bool) -> crate::error::Result<Outcome> {
        emit(json, &self.json, |_| self.human.clone(), self.passed)
    }
}

/// Prints a command's report, as JSON (`--json`) or as the text `human` renders, and returns
/// the outcome of its checks.
pub fn emit<T: serde::Serialize>(
    json: bool,
    report: &T,
    human: impl FnOnce(&T) -> String,
    passed: bool,
) -> crate::error::Result<Outcome> {
    emit_to(ReportTo::Stdout, json, report, human, passed)
}

/// [`emit`] for a command with output files: `to` comes from
/// [`claim_stdout`](crate::output::claim_stdout), so with an output on stdout the text goes to
/// stderr (and `--json` never meets such an output).
pub fn emit_to<T: serde::Serialize>(
    to: ReportTo,
    json: bool,
    report: &T,
    human: impl FnOnce(&T) -> String,
    passed: bool,
) -> crate::error::Result<Outcome> {
    match (json, to) {
        (true, _) => crate::output::print_json(report)?,
        (false, ReportTo::Stdout) => crate::output::print(&human(report))?,
        (false, ReportTo::Stderr) => crate::output::eprint(&human(report)),
    }
    Ok(Outcome::from_passed(passed))
}
