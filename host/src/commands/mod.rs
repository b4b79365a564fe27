//! One module per subcommand: `Args` (clap) and `run`.

pub mod ab;
pub mod chaos;
pub mod device;
pub mod eval;
pub mod expect;
pub mod export;
pub mod import;
pub mod load;
pub mod predict;
pub mod profile;
pub mod report;
pub mod run;
pub mod train;

/// How a command that ran ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every check passed (exit 0).
    Pass,
    /// The run worked and a check failed (exit 1).
    Fail,
}
