//! A check fed batch by batch, and merged across processes: [`ExpectState`] (what
//! `mlprobe.ExpectState` and `mlprobe.spark.expect` of the Python package hold), and
//! [`validate_batches`] for a table in memory.

use super::super::text::{CellState, ColumnText};
use super::{Plan, State, finish};
use crate::data::Sink;
use crate::data::arrow::scan_batches;
use crate::error::{Error, Result};
use crate::suite::Suite;
use arrow_array::RecordBatch;
use arrow_schema::{ArrowError, Schema};
use mlprobe_core::expect::{CheckState, ColumnState};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// Checks a table given as Arrow record batches with `schema` (a pyarrow table, a pandas or
/// polars DataFrame) against `suite`: what [`validate`](super::validate) gives on the same
/// table written as CSV or Parquet. `label` names the table in messages and in the result's
/// `data`.
pub fn validate_batches<I>(
    suite: &Suite,
    label: &Path,
    schema: &Schema,
    batches: I,
) -> Result<super::super::Validation>
where
    I: IntoIterator<Item = std::result::Result<RecordBatch, ArrowError>>,
{
    let start = Instant::now();
    let names = names_of(schema);
    let plan = Arc::new(Plan::new(suite, &names));
    let (state, rows) = scan_batches(label, schema, batches, State::new(&plan), 0)?;
    Ok(finish(
        suite,
        &names,
        &state,
        rows,
        label,
        start.elapsed().as_secs_f64(),
    ))
}

fn names_of(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

/// The state of a suite's check over the rows seen so far, in any number of batches
/// ([`ExpectState::update`]), mergeable with the state of the rows that follow
/// ([`ExpectState::merge`]: the partitions of a Spark DataFrame, checked on its executors) and
/// carried between processes as bytes ([`ExpectState::to_bytes`]). Its
/// [`result`](ExpectState::result) is what [`validate`](super::validate) gives on all the rows
/// in one table: the states are the same streaming states, merged in the same order.
pub struct ExpectState {
    /// The suite file's name, for messages.
    suite_path: PathBuf,
    /// Its text (the bytes carry it: a state is read back without the file).
    suite_text: String,
    suite: Suite,
    /// The table's columns and the state of its rows, from the first batch on.
    table: Option<(Vec<String>, State)>,
    rows: u64,
    /// Seconds spent reading and checking, summed over updates and merges.
    seconds: f64,
}

impl std::fmt::Debug for ExpectState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpectState")
            .field("suite", &self.suite.name)
            .field("columns", &self.table.as_ref().map(|(n, _)| n))
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

/// The first bytes of [`ExpectState::to_bytes`]: a name and the format's version.
const MAGIC: &[u8; 8] = b"mlpES\x00\x00\x01";

/// What [`ExpectState::to_bytes`] writes after [`MAGIC`] (postcard).
#[derive(Serialize, Deserialize)]
struct Wire {
    suite_path: String,
    suite_text: String,
    rows: u64,
    seconds: f64,
    table: Option<WireTable>,
}

#[derive(Serialize, Deserialize)]
struct WireTable {
    names: Vec<String>,
    columns: Vec<ColumnState>,
    checks: Vec<CheckState>,
    texts: Vec<Option<ColumnText>>,
    cells: Vec<CellState>,
    first_text: Vec<Option<(u64, Box<[u8]>)>>,
}

impl ExpectState {
    /// The state of no rows for the suite file `suite`.
    pub fn new(suite: &Path) -> Result<Self> {
        let text = crate::limits::read_text(suite, crate::limits::TOML_BYTES, "suite")?;
        Self::from_suite_text(suite, text)
    }

    /// The state of no rows for the suite `text` (`path` names it in messages).
    pub fn from_suite_text(path: &Path, text: String) -> Result<Self> {
        let suite = Suite::parse(path, &text)?;
        Ok(Self {
            suite_path: path.to_path_buf(),
            suite_text: text,
            suite,
            table: None,
            rows: 0,
            seconds: 0.0,
        })
    }

    /// The suite.
    pub fn suite(&self) -> &Suite {
        &self.suite
    }

    /// The rows seen.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The table's column names (`None` before the first batch).
    pub fn columns(&self) -> Option<&[String]> {
        self.table.as_ref().map(|(n, _)| n.as_slice())
    }

    /// Adds the rows of `batches` (with `schema`; `label` names them in messages): they follow
    /// the rows seen so far, and a message's line counts those (line 2 is the first row ever
    /// seen, as in the table's CSV text). Their columns must be the first batch's. On an
    /// error the state is unchanged. Returns the rows added.
    pub fn update<I>(&mut self, label: &Path, schema: &Schema, batches: I) -> Result<u64>
    where
        I: IntoIterator<Item = std::result::Result<RecordBatch, ArrowError>>,
    {
        let start = Instant::now();
        let names = names_of(schema);
        if let Some((known, _)) = &self.table
            && *known != names
        {
            return Err(Error::file(
                label,
                format!(
                    "its columns [{}] are not those of the rows checked before [{}]",
                    crate::limits::excerpt_list(&names),
                    crate::limits::excerpt_list(known)
                ),
            ));
        }
        let plan = match &self.table {
            Some((_, state)) => state.plan.clone(),
            None => Arc::new(Plan::new(&self.suite, &names)),
        };
        let (fresh, rows) = scan_batches(label, schema, batches, State::new(&plan), self.rows)?;
        match &mut self.table {
            // The fresh state's lines already count the rows before it.
            Some((_, state)) => state.merge(fresh, 0),
            None => self.table = Some((names, fresh)),
        }
        self.rows += rows;
        self.seconds += start.elapsed().as_secs_f64();
        Ok(rows)
    }

    /// Appends the state of the rows that follow (`later`: the next partition's). Both must
    /// be of the same suite, and of tables with the same columns (a state of no rows merges
    /// with any).
    pub fn merge(&mut self, later: ExpectState) -> Result<()> {
        if later.suite_text != self.suite_text {
            return Err(Error::Usage(format!(
                "the states are of different suites ({} and {}): only states of one suite merge",
                self.suite_path.display(),
                later.suite_path.display()
            )));
        }
        let lines_before = self.rows;
        match (&mut self.table, later.table) {
            (_, None) => {}
            (None, Some(t)) => self.table = Some(t),
            (Some((names, state)), Some((later_names, later_state))) => {
                if *names != later_names {
                    return Err(Error::Usage(format!(
                        "the states are of tables with different columns ([{}] and [{}])",
                        crate::limits::excerpt_list(names),
                        crate::limits::excerpt_list(&later_names)
                    )));
                }
                state.merge(later_state, lines_before);
            }
        }
        self.rows += later.rows;
        self.seconds += later.seconds;
        Ok(())
    }

    /// The results over every row seen: what `mlprobe expect --json` reports (`label` is its
    /// `data`).
    pub fn result(&self, label: &Path) -> super::super::Validation {
        match &self.table {
            Some((names, state)) => {
                finish(&self.suite, names, state, self.rows, label, self.seconds)
            }
            None => {
                let plan = Arc::new(Plan::new(&self.suite, &[]));
                finish(&self.suite, &[], &State::new(&plan), 0, label, self.seconds)
            }
        }
    }

    /// The state as bytes: the suite's text, the columns, and every streaming state (for 10
    /// numeric columns, tens of kilobytes; a quantile sketch's non-empty buckets, a text
    /// column's distinct values up to their sketch).
    pub fn to_bytes(&self) -> Vec<u8> {
        let table = self.table.as_ref().map(|(names, s)| WireTable {
            names: names.clone(),
            columns: s.columns.clone(),
            checks: s.checks.clone(),
            texts: s.texts.clone(),
            cells: s.cells.clone(),
            first_text: s.first_text.clone(),
        });
        let wire = Wire {
            suite_path: self.suite_path.display().to_string(),
            suite_text: self.suite_text.clone(),
            rows: self.rows,
            seconds: self.seconds,
            table,
        };
        postcard::to_extend(&wire, MAGIC.to_vec()).expect("a Vec grows")
    }

    /// The state [`to_bytes`](Self::to_bytes) wrote. Bytes of another format or version, or
    /// whose states do not fit their suite and columns, are an error (`label` names them).
    pub fn from_bytes(label: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |m: String| Error::file(label, format!("not an mlprobe expectation state: {m}"));
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| bad("it does not start with the state's magic bytes".into()))?;
        let wire: Wire = postcard::from_bytes(body).map_err(|e| bad(e.to_string()))?;
        let mut state = Self::from_suite_text(Path::new(&wire.suite_path), wire.suite_text)?;
        state.rows = wire.rows;
        state.seconds = wire.seconds;
        if let Some(t) = wire.table {
            let plan = Arc::new(Plan::new(&state.suite, &t.names));
            let mut s = State::new(&plan);
            fits(&s, &t, state.rows).map_err(|m| bad(m.into()))?;
            s.columns = t.columns;
            s.checks = t.checks;
            s.texts = t.texts;
            s.cells = t.cells;
            s.first_text = t.first_text;
            state.table = Some((t.names, s));
        } else if state.rows != 0 {
            return Err(bad(format!("{} rows but no columns", state.rows)));
        }
        Ok(state)
    }
}

/// Whether the states read back have the shape a fresh state of their plan has: one per
/// column and per expectation, of the same kinds.
fn fits(fresh: &State, t: &WireTable, rows: u64) -> std::result::Result<(), &'static str> {
    use std::mem::discriminant;
    let width = t.names.len();
    if t.columns.len() != width || t.texts.len() != width || t.first_text.len() != width {
        return Err("its column states do not match its columns");
    }
    if t.checks.len() != fresh.checks.len() || t.cells.len() != fresh.cells.len() {
        return Err("its expectation states do not match its suite");
    }
    if fresh
        .checks
        .iter()
        .zip(&t.checks)
        .any(|(a, b)| discriminant(a) != discriminant(b))
    {
        return Err("an expectation's state is not of its kind");
    }
    let same_text = fresh.texts.iter().zip(&t.texts).all(|(a, b)| match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.census.is_some() == b.census.is_some() && a.distinct.is_some() == b.distinct.is_some()
        }
        _ => false,
    });
    if !same_text {
        return Err("a text column's state does not match its checks");
    }
    if t.first_text
        .iter()
        .flatten()
        .any(|(line, _)| *line > rows + 1)
    {
        return Err("a column's first text cell is past its last row");
    }
    Ok(())
}
