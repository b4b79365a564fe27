//! The table of units behind `ab ttest` and `ab ratio`: one row per unit (user, session), a
//! column naming its variant and numeric columns, in any data file mlprobe reads (CSV,
//! compressed or not, Parquet; `-` for stdin).
//!
//! [`read_arms`] streams it once: each chunk of the file fills a [`CoMoments`] per variant
//! (the metric with its covariate, or a ratio's numerator with its denominator), merged in
//! file order, so memory is the scanner's buffers plus a few numbers per variant whatever the
//! number of rows. A row whose variant, metric or covariate is missing is left out and
//! counted; a guardrail's missing value leaves out only that value. An infinite value is an
//! error at its line and column.

use super::means::Guardrail;
use crate::data::{Rejected, ScanOptions, Scanner, Sink};
use crate::error::{Error, Result};
use mlprobe_core::means::CoMoments;
use std::path::{Path, PathBuf};

/// The most variants a table may hold (a column with more is not an experiment's arms).
pub const MAX_ARMS: usize = 64;

/// Where the units are and which columns to read.
#[derive(Clone, Debug, PartialEq)]
pub struct TableSpec {
    /// The data file (`-` for stdin).
    pub path: PathBuf,
    /// The column naming each unit's variant.
    pub variant: String,
    /// The metric's column (a ratio's numerator).
    pub metric: String,
    /// A pre-experiment covariate's column (CUPED), or a ratio's denominator.
    pub covariate: Option<String>,
    /// Guardrail metrics.
    pub guardrails: Vec<Guardrail>,
    /// Parsing threads (`None`: every core).
    pub threads: Option<usize>,
    /// The flags that name `metric` and `covariate`, for messages (`--metric`, `--covariate`;
    /// `--numerator`, `--denominator`).
    pub flags: [&'static str; 2],
}

/// One variant's accumulated values.
#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    /// The variant's name, as the file writes it.
    pub name: String,
    /// `(metric, covariate)` per unit (the covariate 0 without one).
    pub metric: CoMoments,
    /// Each guardrail's values (`x` unused).
    pub guardrails: Vec<CoMoments>,
}

/// The arms of a table, in order of first appearance.
#[derive(Clone, Debug, PartialEq)]
pub struct Arms {
    /// The file, as messages name it.
    pub path: PathBuf,
    /// The variants.
    pub arms: Vec<Arm>,
    /// Data rows read.
    pub rows: u64,
    /// Rows left out: variant, metric or covariate missing.
    pub skipped: u64,
}

/// The scanner's sink: per chunk, the arms seen in it.
struct ArmSink {
    variant: usize,
    metric: usize,
    covariate: Option<usize>,
    guardrails: Vec<usize>,
    /// The flags naming the metric and its pair, for messages.
    flags: [&'static str; 2],
    arms: Vec<(Vec<u8>, Arm)>,
    /// The current row's arm (set by `text`, taken by `row`).
    current: Option<usize>,
    skipped: u64,
    /// More than [`MAX_ARMS`] variants.
    overflow: bool,
}

impl ArmSink {
    fn arm_index(&mut self, name: &[u8]) -> Option<usize> {
        if let Some(i) = self.arms.iter().position(|(n, _)| n == name) {
            return Some(i);
        }
        if self.arms.len() >= MAX_ARMS {
            self.overflow = true;
            return None;
        }
        self.arms.push((
            name.to_vec(),
            Arm {
                name: String::from_utf8_lossy(name).into_owned(),
                metric: CoMoments::new(),
                guardrails: vec![CoMoments::new(); self.guardrails.len()],
            },
        ));
        Some(self.arms.len() - 1)
    }
}

/// A value that is infinite: the row is refused at its column (`name`: the flag naming it).
fn finite(x: f64, column: usize, name: &str) -> std::result::Result<f64, Rejected> {
    if x.is_infinite() {
        return Err(Rejected {
            column: column + 1,
            message: format!("the {name} column's value is {x}: it must be a finite number"),
        });
    }
    Ok(x)
}

impl Sink for ArmSink {
    type Value = f64;

    fn row(&mut self, values: &[f64], _line: u64) -> std::result::Result<(), Rejected> {
        let Some(arm) = self.current.take() else {
            self.skipped += 1;
            return Ok(());
        };
        let y = finite(values[self.metric], self.metric, self.flags[0])?;
        let x = match self.covariate {
            Some(c) => finite(values[c], c, self.flags[1])?,
            None => 0.0,
        };
        for &g in &self.guardrails {
            finite(values[g], g, "--guardrail")?;
        }
        if y.is_nan() || x.is_nan() {
            self.skipped += 1;
            return Ok(());
        }
        let arm = &mut self.arms[arm].1;
        arm.metric.push(y, x);
        for (acc, &g) in arm.guardrails.iter_mut().zip(&self.guardrails) {
            if !values[g].is_nan() {
                acc.push(values[g], 0.0);
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self, _lines_before: u64) {
        self.skipped += later.skipped;
        self.overflow |= later.overflow;
        for (name, arm) in later.arms {
            let Some(i) = self.arm_index(&name) else {
                return;
            };
            let mine = &mut self.arms[i].1;
            mine.metric.merge(&arm.metric);
            for (m, t) in mine.guardrails.iter_mut().zip(&arm.guardrails) {
                m.merge(t);
            }
        }
    }

    fn reads_column(&self, column: usize) -> bool {
        column == self.variant
            || column == self.metric
            || self.covariate == Some(column)
            || self.guardrails.contains(&column)
    }

    fn reads_text(&self, column: usize) -> bool {
        column == self.variant
    }

    fn parses_text(&self, _column: usize) -> bool {
        false
    }

    fn text(&mut self, column: usize, cell: Option<&[u8]>) {
        if column == self.variant {
            self.current = cell.and_then(|c| self.arm_index(c));
        }
    }
}

/// Finds a column by name, or says which columns there are.
fn column(names: &[String], name: &str, flag: &str, path: &Path) -> Result<usize> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        Error::file(
            path,
            format!(
                "{flag} {name}: no such column (its columns: {})",
                crate::limits::excerpt(&names.join(", "))
            ),
        )
    })
}

/// Reads the table of `spec` in one streamed pass.
pub fn read_arms(spec: &TableSpec) -> Result<Arms> {
    let options = ScanOptions::with_threads(spec.threads)?;
    let scanner = Scanner::open(&spec.path)?;
    let path = scanner.path().to_path_buf();
    let names = &scanner.names;
    let variant = column(names, &spec.variant, "--variant", &path)?;
    let metric = column(names, &spec.metric, spec.flags[0], &path)?;
    let covariate = (spec.covariate.as_deref())
        .map(|c| column(names, c, spec.flags[1], &path))
        .transpose()?;
    let guardrails = (spec.guardrails.iter())
        .map(|g| column(names, &g.column, "--guardrail", &path))
        .collect::<Result<Vec<_>>>()?;
    let make = || ArmSink {
        variant,
        metric,
        covariate,
        guardrails: guardrails.clone(),
        flags: spec.flags,
        arms: Vec::new(),
        current: None,
        skipped: 0,
        overflow: false,
    };
    let (sink, rows) = scanner.scan(options, make)?;
    if sink.overflow {
        return Err(Error::file(
            &path,
            format!(
                "--variant {}: more than {MAX_ARMS} distinct values; it should name each unit's \
                 variant (control, treatment, …)",
                spec.variant
            ),
        ));
    }
    Ok(Arms {
        path,
        arms: sink.arms.into_iter().map(|(_, a)| a).collect(),
        rows,
        skipped: sink.skipped,
    })
}

impl Arms {
    /// The arms with the control first (`control`, else the variant named `control`, else the
    /// first in the file) and the treatments in order of appearance; at least two.
    pub fn control_first(&self, variant: &str, control: Option<&str>) -> Result<Vec<&Arm>> {
        let found = || {
            let names: Vec<&str> = self.arms.iter().map(|a| a.name.as_str()).collect();
            crate::limits::excerpt(&names.join(", ")).to_string()
        };
        let at = match control {
            Some(c) => self.arms.iter().position(|a| a.name == c).ok_or_else(|| {
                Error::file(
                    &self.path,
                    format!(
                        "--control {c}: no unit has this variant in column `{variant}` (its \
                         variants: {})",
                        found()
                    ),
                )
            })?,
            None => self
                .arms
                .iter()
                .position(|a| a.name == "control")
                .unwrap_or(0),
        };
        if self.arms.len() < 2 {
            return Err(Error::file(
                &self.path,
                format!(
                    "--variant {variant}: a test needs two variants, found {} ({})",
                    self.arms.len(),
                    found()
                ),
            ));
        }
        let mut order = vec![&self.arms[at]];
        order.extend(
            (self.arms.iter().enumerate())
                .filter(|&(i, _)| i != at)
                .map(|(_, a)| a),
        );
        Ok(order)
    }

    /// An error naming `flag` unless every arm has two units with a value.
    pub fn two_units_each(&self, arms: &[&Arm], flag: &str) -> Result<()> {
        match arms.iter().find(|a| a.metric.count() < 2) {
            Some(a) => Err(Error::file(
                &self.path,
                format!(
                    "{flag}: variant `{}` has {} unit(s) with a value; a test needs at least 2 \
                     per variant",
                    a.name,
                    a.metric.count()
                ),
            )),
            None => Ok(()),
        }
    }
}
