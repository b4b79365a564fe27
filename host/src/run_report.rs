//! The results of `mlprobe run`: every stage's verdict and figures, and the data behind the
//! report's charts. Saved as `report.json`; `mlprobe report --from report.json` renders the
//! HTML and Markdown again from it.

use crate::report::{Case, Report, Status, Suite};
use serde::{Deserialize, Serialize};

/// Format version of `report.json`.
pub const VERSION: u32 = 1;

/// How a stage ended.
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

/// One check of a stage.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Check {
    /// What was checked, e.g. `accuracy >= 0.9`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was observed.
    pub detail: String,
}

/// One stage of the pipeline.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stage {
    /// Short name, e.g. `train`.
    pub name: String,
    /// Verdict.
    pub status: StageStatus,
    /// Wall-clock seconds.
    pub duration_s: f64,
    /// One line: what the stage did and found.
    pub summary: String,
    /// The checks (gates) of the stage.
    pub checks: Vec<Check>,
    /// Notes for the reader (why a stage was skipped, warnings).
    pub notes: Vec<String>,
    /// The stage's full figures (the JSON of the matching subcommand).
    pub details: serde_json::Value,
}

/// A named line of points.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Line {
    /// Legend text.
    pub name: String,
    /// `(x, y)` points.
    pub points: Vec<(f64, f64)>,
}

/// Latency of one target: percentiles and a histogram.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LatencyChart {
    /// Where it was measured (`host`, `qemu`).
    pub target: String,
    /// Unit of the values (`µs` on the host, `instructions` under QEMU).
    pub unit: String,
    /// `(name, value)` percentiles, e.g. `("p99", 0.4)`.
    pub percentiles: Vec<(String, f64)>,
    /// `(bucket upper bound, count)`.
    pub histogram: Vec<(f64, u64)>,
}

/// Parameters of a Beta posterior.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct BetaParams {
    /// α.
    pub alpha: f64,
    /// β.
    pub beta: f64,
}

/// The A/B analysis' posteriors.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Posteriors {
    /// Control arm's label and posterior.
    pub control: (String, BetaParams),
    /// Treatment arm's label and posterior.
    pub treatment: (String, BetaParams),
}

/// Data behind the charts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
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

/// Everything `mlprobe run` found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunReport {
    /// Format version ([`VERSION`]).
    pub version: u32,
    /// mlprobe's version.
    pub mlprobe: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix_s: u64,
    /// The configuration file used.
    pub config: String,
    /// The dataset.
    pub dataset: String,
    /// True when every stage that ran passed.
    pub passed: bool,
    /// The stages, in order.
    pub stages: Vec<Stage>,
    /// Chart data.
    pub charts: Charts,
}

impl RunReport {
    /// The stages as a test report (one suite per stage, one case per check; a stage without
    /// checks is one case), for JUnit XML and the Markdown summary.
    pub fn to_report(&self) -> Report {
        let suites = self
            .stages
            .iter()
            .map(|st| {
                let mut suite = Suite::new(&st.name);
                let class = format!("mlprobe.run.{}", st.name);
                if st.checks.is_empty() {
                    let mut case = match st.status {
                        StageStatus::Passed => Case::passed(&st.name, &class),
                        StageStatus::Failed => Case::failed(&st.name, &class, &st.summary, "gate"),
                        StageStatus::Skipped => Case::new(
                            &st.name,
                            &class,
                            Status::Skipped {
                                message: st.notes.join("; "),
                            },
                        ),
                        StageStatus::Error => Case::new(
                            &st.name,
                            &class,
                            Status::Error {
                                message: st.summary.clone(),
                                kind: "error".into(),
                            },
                        ),
                    };
                    case.time_s = st.duration_s;
                    case.summary = st.summary.clone();
                    suite.push(case);
                }
                for c in &st.checks {
                    // A failed case carries the detail as its message; a passed one as summary.
                    suite.push(if c.passed {
                        Case::passed(&c.name, &class).with_summary(&c.detail)
                    } else {
                        Case::failed(&c.name, &class, &c.detail, "gate")
                    });
                }
                suite
            })
            .collect();
        Report {
            name: "mlprobe run".into(),
            suites,
        }
    }

    /// The Markdown summary: a stage table, then the checks.
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "# mlprobe run: {}\n\n{} on `{}` (mlprobe {})\n\n| stage | verdict | seconds | summary |\n|---|---|---|---|\n",
            if self.passed { "passed" } else { "FAILED" },
            if self.passed {
                "Every gate passed"
            } else {
                "A gate failed"
            },
            self.dataset.replace('|', "\\|"),
            self.mlprobe
        );
        for st in &self.stages {
            s += &format!(
                "| {} | {} | {:.2} | {} |\n",
                st.name,
                st.status.word(),
                st.duration_s,
                st.summary.replace('|', "\\|")
            );
        }
        s += "\n";
        s += &self.to_report().to_markdown();
        s
    }
}
