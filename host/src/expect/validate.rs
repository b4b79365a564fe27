//! The check itself: a suite resolved against a header ([`Plan`]), per-chunk state fed row by
//! row ([`State`], a [`Sink`] of the file scanner), and the states evaluated by core.

mod dictionary;
mod stream;

pub use stream::{ExpectState, validate_batches};

use super::text::{self, CellState, ColumnText, TextKind};
use super::{ExceptionInfo, ExpectationResult, ResultFields, Statistics, Validation};
use crate::data::arrow::TextCells;
use crate::data::cell::parse_number;
use crate::data::scan::Batch;
use crate::data::{self, Dataset, Rejected, ScanOptions, Scanner, Sink};
use crate::error::{Error, Result};
use crate::limits::{excerpt, excerpt_list};
use crate::suite::{Check, Suite};
use mlprobe_core::expect::{
    CheckState, ColumnState, Kind, Outcome, columns_match_ordered_list, evaluate,
};
use serde_json::Map;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// What an expectation is, resolved: core's, text's, or the header's.
enum Item {
    Core(Box<Kind>),
    Text(Box<TextKind>),
    Header,
}

/// The suite resolved against the data's header.
struct Plan {
    /// Per expectation: what it is and its column's index (if present).
    items: Vec<(Item, Option<usize>)>,
    /// Per data column: the core expectations that must see its values.
    by_column: Vec<Vec<usize>>,
    /// Per data column: the text expectations that judge its cells one by one.
    text_by_column: Vec<Vec<usize>>,
    /// Per data column: `None` unless it is read as text; then whether a check needs its
    /// distinct values, and whether one needs its census (`of_type`).
    text: Vec<Option<(bool, bool)>>,
    /// Per data column: whether an expectation names it (the others are not parsed, and not
    /// decoded from a Parquet file).
    read: Vec<bool>,
    /// Per data column: whether a core expectation on it reads its numbers (its text cells
    /// are parsed only then).
    numeric: Vec<bool>,
}

impl Plan {
    fn new(suite: &Suite, names: &[String]) -> Self {
        let position =
            |c: &Option<String>| c.as_ref().and_then(|c| names.iter().position(|n| n == c));
        let items: Vec<(Item, Option<usize>)> = suite
            .expectations
            .iter()
            .map(|e| {
                let item = match &e.check {
                    Check::Core(k) => Item::Core(k.clone()),
                    Check::Text(k) => Item::Text(k.clone()),
                    Check::ColumnList(_) => Item::Header,
                };
                (item, position(&e.column))
            })
            .collect();
        let mut by_column = vec![Vec::new(); names.len()];
        let mut text_by_column = vec![Vec::new(); names.len()];
        let mut text: Vec<Option<(bool, bool)>> = vec![None; names.len()];
        let mut read = vec![false; names.len()];
        let mut numeric = vec![false; names.len()];
        for (i, (item, col)) in items.iter().enumerate() {
            if let Some(c) = col {
                read[*c] = true;
                if let Item::Core(k) = item {
                    numeric[*c] |= reads_numbers(k);
                }
            }
            match (item, col) {
                (Item::Core(k), Some(c)) if k.needs_values() => by_column[*c].push(i),
                (Item::Text(k), Some(c)) => {
                    text_by_column[*c].push(i);
                    let (counts, census) = text[*c].unwrap_or((false, false));
                    text[*c] = Some((
                        counts || k.needs_counts(),
                        census || matches!(**k, TextKind::OfType { .. }),
                    ));
                }
                _ => {}
            }
        }
        Self {
            items,
            by_column,
            text_by_column,
            text,
            read,
            numeric,
        }
    }
}

/// Whether a core expectation reads a column's numbers (it raises on a column of text).
fn reads_numbers(kind: &Kind) -> bool {
    !matches!(
        kind,
        Kind::ColumnToExist | Kind::ValuesToNotBeNull { .. } | Kind::TableRowCountToBeBetween(_)
    )
}

/// Per-chunk state: one [`ColumnState`] per data column, one [`CheckState`] per expectation,
/// and for the columns read as text their [`ColumnText`] and the [`CellState`] of their
/// checks.
struct State {
    plan: Arc<Plan>,
    columns: Vec<ColumnState>,
    checks: Vec<CheckState>,
    texts: Vec<Option<ColumnText>>,
    cells: Vec<CellState>,
    /// Per column: whether the row's cell is present text (from [`Sink::text`], taken by
    /// the row's value).
    present: Vec<bool>,
    /// Per column: its first cell that is text and not a number, and that cell's line (in
    /// this part of the input; [`NO_LINE`] until its row's value comes).
    first_text: Vec<Option<(u64, Box<[u8]>)>>,
    /// Per column: its last dictionary's values, judged ([`State::dictionary`]).
    dictionaries: Vec<Option<dictionary::Judged>>,
}

/// The line of a first text cell whose row has not come yet.
const NO_LINE: u64 = u64::MAX;

impl State {
    fn new(plan: &Arc<Plan>) -> Self {
        Self {
            plan: plan.clone(),
            columns: vec![ColumnState::new(); plan.by_column.len()],
            checks: plan
                .items
                .iter()
                .map(|(item, col)| match (item, col) {
                    (Item::Core(k), Some(_)) => CheckState::new(k),
                    _ => CheckState::Nothing,
                })
                .collect(),
            texts: plan
                .text
                .iter()
                .map(|t| t.map(|(counts, census)| ColumnText::new(counts, census)))
                .collect(),
            cells: vec![CellState::default(); plan.items.len()],
            present: vec![false; plan.text.len()],
            first_text: vec![None; plan.text.len()],
            dictionaries: (0..plan.text.len()).map(|_| None).collect(),
        }
    }

    /// One row, a value per column (`NaN` missing or, in a column read as text, not a number:
    /// `present` then says which).
    #[inline]
    fn push_row(&mut self, values: &[f64], line: u64) {
        for (column, &x) in values.iter().enumerate() {
            self.push_value(column, x, line);
        }
    }

    /// The value of `column` in the current row.
    #[inline]
    fn push_value(&mut self, column: usize, x: f64, line: u64) {
        let c = &mut self.columns[column];
        let present = std::mem::take(&mut self.present[column]);
        if x.is_nan() {
            if present {
                c.push_text();
                if let Some((at, _)) = &mut self.first_text[column]
                    && *at == NO_LINE
                {
                    *at = line;
                }
            } else {
                c.push(x);
            }
            return;
        }
        c.push(x);
        for &i in &self.plan.by_column[column] {
            if let (Some(check), (Item::Core(kind), _)) =
                (self.checks.get_mut(i), &self.plan.items[i])
            {
                check.push(kind, x);
            }
        }
    }

    /// The cell of a column read as text.
    #[inline]
    fn push_text(&mut self, column: usize, cell: Option<&[u8]>) {
        self.present[column] = cell.is_some();
        let Some(cell) = cell else { return };
        if self.plan.numeric[column]
            && self.first_text[column].is_none()
            && parse_number::<f64>(cell).is_none()
        {
            self.first_text[column] = Some((NO_LINE, cell.into()));
        }
        if let Some(Some(t)) = self.texts.get_mut(column) {
            t.push(cell);
        }
        for &i in &self.plan.text_by_column[column] {
            if let (Item::Text(kind), _) = &self.plan.items[i] {
                self.cells[i].push(kind, cell);
            }
        }
    }
}

impl Sink for State {
    type Value = f64;

    #[inline]
    fn row(&mut self, values: &[f64], line: u64) -> std::result::Result<(), Rejected> {
        self.push_row(values, line);
        Ok(())
    }

    fn merge(&mut self, mut later: Self, lines_before: u64) {
        for (a, b) in self.first_text.iter_mut().zip(&mut later.first_text) {
            if a.is_none() {
                *a = b.take().map(|(line, cell)| (line + lines_before, cell));
            }
        }
        for (a, b) in self.columns.iter_mut().zip(&later.columns) {
            a.merge(b);
        }
        for (a, b) in self.checks.iter_mut().zip(&later.checks) {
            a.merge(b);
        }
        for (a, b) in self.texts.iter_mut().zip(&later.texts) {
            if let (Some(a), Some(b)) = (a, b) {
                a.merge(b);
            }
        }
        for (a, b) in self.cells.iter_mut().zip(&later.cells) {
            a.merge(b);
        }
    }

    fn reads_text(&self, column: usize) -> bool {
        self.plan.text.get(column).is_some_and(Option::is_some)
    }

    fn reads_column(&self, column: usize) -> bool {
        self.plan.read.get(column).copied().unwrap_or(false)
    }

    /// A text column's numbers only matter to a core check that reads them.
    fn parses_text(&self, column: usize) -> bool {
        self.plan.numeric.get(column).copied().unwrap_or(true)
    }

    /// Text in a column no text check names is counted (so `not_be_null` holds on it, and a
    /// numeric check raises, as Great Expectations' do on a column of strings).
    fn tolerates_text(&self, _column: usize) -> bool {
        true
    }

    #[inline]
    fn text(&mut self, column: usize, cell: Option<&[u8]>) {
        self.push_text(column, cell);
    }

    /// A column at a time: every state here is per column (and per expectation on one
    /// column), so the rows' order within each column is all that matters.
    fn batch(&mut self, batch: &Batch<'_, f64>) -> std::result::Result<(), (usize, Rejected)> {
        let mut cells = vec![None; batch.values.len()];
        for (c, t) in batch.text {
            cells[*c] = Some(t);
        }
        for (c, values) in batch.values.iter().enumerate() {
            if !self.plan.read[c] {
                continue;
            }
            match cells[c] {
                Some(TextCells::Dict {
                    keys,
                    values,
                    cells,
                }) => self.dictionary(c, keys, values, cells, batch.line),
                Some(text) => {
                    for (r, &x) in values.iter().enumerate() {
                        self.push_text(c, text.cell(r));
                        self.push_value(c, x, batch.line + r as u64);
                    }
                }
                None => {
                    self.columns[c].extend(values);
                    for &i in &self.plan.by_column[c] {
                        if let (Some(check), (Item::Core(kind), _)) =
                            (self.checks.get_mut(i), &self.plan.items[i])
                        {
                            check.extend(kind, values);
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// Checks the CSV file `data` against `suite`, streaming it.
pub fn validate(suite: &Suite, data: &Path, options: ScanOptions) -> Result<Validation> {
    let start = Instant::now();
    let scanner = Scanner::open(data)?;
    let names = scanner.names.clone();
    let plan = Arc::new(Plan::new(suite, &names));
    let (state, rows) = scanner.scan(options, || State::new(&plan))?;
    Ok(finish(
        suite,
        &names,
        &state,
        rows,
        data,
        start.elapsed().as_secs_f64(),
    ))
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
    let plan = Arc::new(Plan::new(suite, &names));
    let mut state = State::new(&plan);
    let mut row = vec![0.0; names.len()];
    for r in 0..rows {
        for (x, &v) in row.iter_mut().zip(&values[r * w..(r + 1) * w]) {
            *x = data::as_written(v);
        }
        if let Some(l) = labels {
            row[w] = f64::from(l[r]);
        }
        // Columns read as text see the cells the file would hold.
        for (c, _) in plan.text.iter().enumerate().filter(|(_, t)| t.is_some()) {
            let cell = match (c < w, labels) {
                (true, _) => data::cell_text(values[r * w + c]),
                (false, Some(l)) => l[r].to_string(),
                (false, None) => String::new(),
            };
            let cell = cell.as_bytes();
            state.push_text(c, (!crate::data::cell::is_missing(cell)).then_some(cell));
        }
        state.push_row(&row, r as u64 + 2);
    }
    Ok(finish(
        suite,
        &names,
        &state,
        rows as u64,
        &data.path,
        start.elapsed().as_secs_f64(),
    ))
}

/// Evaluates the merged state of `rows` rows with header `names`.
fn finish(
    suite: &Suite,
    names: &[String],
    state: &State,
    rows: u64,
    data: &Path,
    seconds: f64,
) -> Validation {
    let mut results = Vec::with_capacity(suite.expectations.len());
    let missing = |e: &crate::suite::Expectation| {
        format!(
            "column `{}` is not in the data (its columns: {})",
            excerpt(e.column.as_deref().unwrap_or("")),
            excerpt_list(names)
        )
    };
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
                        excerpt_list(expected),
                        excerpt_list(names)
                    )
                };
                let result = ResultFields::Columns {
                    observed_value: names.to_vec(),
                };
                (ok, result, summary, None)
            }
            Check::Core(kind) => {
                let column = state.plan.items[i].1.map(|c| &state.columns[c]);
                let out = evaluate(kind, rows, column, &state.checks[i]);
                let summary = if out.column_missing {
                    missing(e)
                } else {
                    kind.summary(&out).to_string()
                };
                let exception = out.exception.then(|| missing(e));
                match column.filter(|c| reads_numbers(kind) && c.text_count() > 0) {
                    // As Great Expectations raises comparing strings with numbers.
                    Some(c) => {
                        let index = state.plan.items[i].1.unwrap_or(0);
                        let first = match &state.first_text[index] {
                            // The data's line and column, as a CSV reader's error has them
                            // (not its path: the results of one table in every format match).
                            Some((line, cell)) => format!(
                                ", the first `{}` on line {line}, column {}",
                                excerpt(String::from_utf8_lossy(cell).trim()),
                                index + 1
                            ),
                            None => String::new(),
                        };
                        let m = format!(
                            "column `{}` holds text ({} of {} values are not numbers{first}): \
                             `{}` reads numbers",
                            excerpt(e.column.as_deref().unwrap_or("")),
                            c.text_count(),
                            c.nonmissing_count(),
                            kind.name()
                        );
                        let out = Outcome::missing_column(true);
                        (
                            false,
                            ResultFields::Outcome(Box::new(out)),
                            m.clone(),
                            Some(m),
                        )
                    }
                    None => (
                        out.success,
                        ResultFields::Outcome(Box::new(out)),
                        summary,
                        exception,
                    ),
                }
            }
            Check::Text(kind) => {
                let column = state.plan.items[i].1;
                match column.and_then(|c| Some((&state.columns[c], state.texts[c].as_ref()?))) {
                    None => {
                        let m = missing(e);
                        (false, ResultFields::Text(Map::new()), m.clone(), Some(m))
                    }
                    Some((col, text)) => {
                        let out = text::evaluate(
                            kind,
                            col.element_count(),
                            col.missing_count(),
                            text,
                            &state.cells[i],
                        );
                        (
                            out.success,
                            ResultFields::Text(out.result),
                            out.summary,
                            out.exception,
                        )
                    }
                }
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
        seconds,
        peak_rss_bytes: crate::measure::peak_rss_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Labels;

    /// The results as JSON, without what differs between two runs (time, memory, the data's
    /// path).
    fn comparable(v: &Validation) -> serde_json::Value {
        let mut doc = serde_json::to_value(v).unwrap();
        for k in ["seconds", "peak_rss_bytes", "data"] {
            doc[k] = serde_json::Value::Null;
        }
        doc
    }

    fn assert_same(a: &Validation, b: &Validation) {
        let (a, b) = (comparable(a), comparable(b));
        for (x, y) in a["results"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["results"].as_array().unwrap())
        {
            assert_eq!(x, y);
        }
        assert_eq!(a, b);
    }

    #[test]
    fn rows_in_memory_give_what_the_same_rows_written_as_csv_give() {
        let dir = tempfile::tempdir().unwrap();
        let text =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/wine.csv"))
                .unwrap();
        let path = dir.path().join("wine.csv");
        let data = crate::data::parse(&path, &text, Labels::Required("label")).unwrap();
        let suite =
            Suite::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/wine.suite.toml"))
                .unwrap();
        // Damaged values: missing, infinite, tiny, negative zero, values whose f32 and f64
        // decimals differ (0.1).
        let mut values = data.features.clone();
        for (i, v) in values.iter_mut().enumerate() {
            match i % 11 {
                0 => *v = f32::NAN,
                1 => *v = f32::INFINITY,
                2 => *v *= 1e-30,
                3 => *v = -0.0,
                4 => *v = 0.1,
                5 => *v = -*v * 1e7,
                _ => {}
            }
        }
        for values in [&data.features, &values] {
            let in_memory = validate_dataset(&suite, &data, values).unwrap();
            let written = Dataset {
                features: values.clone(),
                ..data.clone()
            };
            let file = dir.path().join("rows.csv");
            written.write_csv(&file, 0..data.rows()).unwrap();
            for threads in [1, 2] {
                let options = ScanOptions {
                    threads,
                    chunk_bytes: 4096,
                };
                let from_file = validate(&suite, &file, options).unwrap();
                assert_same(&in_memory, &from_file);
            }
            assert_eq!(in_memory.rows, 178);
        }
        // Without labels, and a suite that names a column the rows lack.
        let no_labels = Dataset {
            labels: None,
            label_name: None,
            features: values.clone(),
            ..data.clone()
        };
        let v = validate_dataset(&suite, &no_labels, &values).unwrap();
        let file = dir.path().join("nolabels.csv");
        no_labels.write_csv(&file, 0..data.rows()).unwrap();
        let from_file = validate(&suite, &file, ScanOptions::default()).unwrap();
        assert_same(&v, &from_file);
        assert!(v.results.iter().any(|r| r.exception_info.is_some()));
        assert!(validate_dataset(&suite, &data, &values[1..]).is_err());
    }
}
