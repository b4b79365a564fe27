//! The check itself: a suite resolved against a header ([`Plan`]), per-chunk state fed row by
//! row ([`State`], a [`Sink`] of the file scanner), and the states evaluated by core.

use super::{
    ExceptionInfo, ExpectationResult, ObservedValue, ResultFields, Statistics, Validation,
};
use crate::data::{self, Dataset, Rejected, ScanOptions, Scanner, Sink};
use crate::error::{Error, Result};
use crate::suite::{Check, Suite};
use mlprobe_core::expect::{CheckState, ColumnState, Kind, columns_match_ordered_list, evaluate};
use std::path::Path;
use std::time::Instant;

/// The suite resolved against the data's header.
struct Plan<'s> {
    /// Per expectation: its core kind (if any) and its column's index (if present).
    items: Vec<(Option<&'s Kind>, Option<usize>)>,
    /// Per data column: the expectations that must see its values.
    by_column: Vec<Vec<usize>>,
}

impl<'s> Plan<'s> {
    fn new(suite: &'s Suite, names: &[String]) -> Self {
        let position =
            |c: &Option<String>| c.as_ref().and_then(|c| names.iter().position(|n| n == c));
        let items: Vec<(Option<&Kind>, Option<usize>)> = suite
            .expectations
            .iter()
            .map(|e| {
                let kind = match &e.check {
                    Check::Core(k) => Some(&**k),
                    Check::ColumnList(_) => None,
                };
                (kind, position(&e.column))
            })
            .collect();
        let mut by_column = vec![Vec::new(); names.len()];
        for (i, (kind, col)) in items.iter().enumerate() {
            if let (Some(k), Some(c)) = (kind, col)
                && k.needs_values()
            {
                by_column[*c].push(i);
            }
        }
        Self { items, by_column }
    }
}

/// Per-chunk state: one [`ColumnState`] per data column, one [`CheckState`] per expectation.
struct State<'p> {
    plan: &'p Plan<'p>,
    columns: Vec<ColumnState>,
    checks: Vec<CheckState>,
}

impl<'p> State<'p> {
    fn new(plan: &'p Plan<'p>) -> Self {
        Self {
            plan,
            columns: vec![ColumnState::new(); plan.by_column.len()],
            checks: plan
                .items
                .iter()
                .map(|(k, col)| match (k, col) {
                    (Some(k), Some(_)) => CheckState::new(k),
                    _ => CheckState::Nothing,
                })
                .collect(),
        }
    }

    /// One row, a value per column (`NaN` missing).
    #[inline]
    fn push_row(&mut self, values: &[f64]) {
        for ((c, &x), by_column) in self
            .columns
            .iter_mut()
            .zip(values)
            .zip(&self.plan.by_column)
        {
            c.push(x);
            if x.is_nan() {
                continue;
            }
            for &i in by_column {
                if let (Some(check), (Some(kind), _)) = (self.checks.get_mut(i), self.plan.items[i])
                {
                    check.push(kind, x);
                }
            }
        }
    }
}

impl Sink for State<'_> {
    type Value = f64;

    #[inline]
    fn row(
        &mut self,
        values: &[f64],
        _raw: &[u8],
        _line: u64,
    ) -> std::result::Result<(), Rejected> {
        self.push_row(values);
        Ok(())
    }

    fn merge(&mut self, later: Self, _lines_before: u64) {
        for (a, b) in self.columns.iter_mut().zip(&later.columns) {
            a.merge(b);
        }
        for (a, b) in self.checks.iter_mut().zip(&later.checks) {
            a.merge(b);
        }
    }
}

/// Checks the CSV file `data` against `suite`, streaming it.
pub fn validate(suite: &Suite, data: &Path, options: ScanOptions) -> Result<Validation> {
    let start = Instant::now();
    let scanner = Scanner::open(data)?;
    let names = scanner.names.clone();
    let plan = Plan::new(suite, &names);
    let (state, rows) = scanner.scan(options, || State::new(&plan))?;
    Ok(finish(suite, &names, &state, rows, data, start))
}

/// Checks `values` (row-major, `data.width()` features per row, `NaN` missing) with `data`'s
/// header and labels against `suite`: exactly what [`validate`] gives on the same rows written
/// by [`Dataset::write_csv`] (each value as [`data::as_written`] reads it back), without the
/// file.
pub fn validate_dataset(suite: &Suite, data: &Dataset, values: &[f32]) -> Result<Validation> {
    let start = Instant::now();
    let (w, rows) = (data.width(), data.rows());
    if values.len() != w * rows {
        return Err(Error::Internal(format!(
            "{} values for {rows} rows of {w} features",
            values.len()
        )));
    }
    let names: Vec<String> = data.header().into_iter().map(str::to_string).collect();
    let labels = data.labels.as_deref().filter(|_| names.len() > w);
    let plan = Plan::new(suite, &names);
    let mut state = State::new(&plan);
    let mut row = vec![0.0; names.len()];
    for r in 0..rows {
        for (x, &v) in row.iter_mut().zip(&values[r * w..(r + 1) * w]) {
            *x = data::as_written(v);
        }
        if let Some(l) = labels {
            row[w] = f64::from(l[r]);
        }
        state.push_row(&row);
    }
    Ok(finish(
        suite,
        &names,
        &state,
        rows as u64,
        &data.path,
        start,
    ))
}

/// Evaluates the merged state of `rows` rows with header `names`.
fn finish(
    suite: &Suite,
    names: &[String],
    state: &State<'_>,
    rows: u64,
    data: &Path,
    start: Instant,
) -> Validation {
    let mut results = Vec::with_capacity(suite.expectations.len());
    for (i, e) in suite.expectations.iter().enumerate() {
        let (success, result, summary, exception) = match &e.check {
            Check::ColumnList(expected) => {
                let ok = columns_match_ordered_list(
                    names.iter().map(String::as_str),
                    expected.iter().map(String::as_str),
                );
                let summary = if ok {
                    format!("{} columns in order", names.len())
                } else {
                    format!(
                        "expected [{}], found [{}]",
                        expected.join(", "),
                        names.join(", ")
                    )
                };
                let result = ResultFields {
                    observed_value: Some(ObservedValue::Columns(names.to_vec())),
                    ..ResultFields::default()
                };
                (ok, result, summary, None)
            }
            Check::Core(kind) => {
                let column = state.plan.items[i].1.map(|c| &state.columns[c]);
                let out = evaluate(kind, rows, column, &state.checks[i]);
                let missing = format!(
                    "column `{}` is not in the data (its columns: {})",
                    e.column.as_deref().unwrap_or(""),
                    names.join(", ")
                );
                let summary = if out.column_missing {
                    missing.clone()
                } else {
                    kind.summary(&out).to_string()
                };
                let exception = out.exception.then_some(missing);
                (out.success, ResultFields::from(&out), summary, exception)
            }
        };
        results.push(ExpectationResult {
            expectation_type: e.type_name().to_string(),
            column: e.column.clone(),
            success,
            result,
            exception_info: exception.map(|m| ExceptionInfo {
                raised_exception: true,
                exception_message: m,
            }),
            suite_line: e.line,
            summary,
        });
    }
    let successful = results.iter().filter(|r| r.success).count();
    let evaluated = results.len();
    Validation {
        success: successful == evaluated,
        statistics: Statistics {
            evaluated,
            successful,
            unsuccessful: evaluated - successful,
            success_percent: if evaluated == 0 {
                100.0
            } else {
                100.0 * successful as f64 / evaluated as f64
            },
        },
        results,
        suite: suite.name.clone(),
        data: data.to_path_buf(),
        rows,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_bytes: crate::measure::peak_rss_bytes(),
    }
}
