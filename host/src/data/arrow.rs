//! Arrow columns into a [`Sink`]: what a Parquet file's row groups
//! ([`ParquetTable`](super::parquet::ParquetTable)) and a stream of record batches from memory
//! ([`scan_batches`]: a pyarrow table, a pandas or polars DataFrame handed over through the
//! Arrow C stream interface) are both read with.
//!
//! Each column is converted from its Arrow type straight to the sink's values, with the
//! meaning the table's CSV text would have: a null is a missing value; numbers keep their
//! exact values (a `double` becomes a model's `f32` by rounding); a text cell is parsed as the
//! CSV reader parses a cell (`NA`, spaces and markers included); a boolean, date or binary
//! column where numbers are expected is an error at its first value. A column of lists,
//! structs, maps or unions is an error naming it: mlprobe reads flat tables.

use super::cell::{Number, is_missing, parse_number};
use super::scan::{Batch, Mode, Sink};
use crate::error::{Error, Result};
use crate::limits::excerpt;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Int32Array, LargeStringArray, RecordBatch,
    StringArray, StringViewArray,
};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, Field, Schema};
use std::path::Path;
use std::sync::Arc;

/// How a sink reads each column of a table with `schema` ([`Mode::of`]): a column of numbers
/// holds no text, so where text is only tolerated (or taken as cells) it is read as numbers
/// unless the sink reads it as text; a column that tolerates text and holds other types is
/// given as text.
pub(crate) fn modes<S: Sink>(sink: &S, schema: &Schema) -> Vec<Mode> {
    Mode::of(sink, schema.fields().len())
        .into_iter()
        .zip(schema.fields())
        .enumerate()
        .map(|(c, (m, f))| match m {
            Mode::Tolerant | Mode::Cells if f.data_type().is_numeric() && !sink.reads_text(c) => {
                Mode::Number
            }
            Mode::Tolerant => Mode::Text,
            m => m,
        })
        .collect()
}

/// What went wrong feeding a batch: Arrow's error (a corrupt page, a failed cast), or a cell's
/// at a row of the batch (0-based, as counted by [`Feeder::feed`]'s `before`) and a column
/// (0-based).
pub(crate) enum Fault {
    /// Arrow's error.
    Arrow(ArrowError),
    /// A cell's.
    Cell {
        /// 0-based row.
        row: usize,
        /// 0-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl From<ArrowError> for Fault {
    fn from(e: ArrowError) -> Self {
        Self::Arrow(e)
    }
}

/// Feeds batches of Arrow columns into a sink as [`Sink::batch`] takes them, reusing its
/// buffers of converted values from one batch to the next.
pub(crate) struct Feeder<V> {
    modes: Vec<Mode>,
    columns: Vec<Vec<V>>,
}

impl<V: Number> Feeder<V> {
    /// A feeder for columns read as `modes` says ([`modes`]).
    pub(crate) fn new(modes: Vec<Mode>) -> Self {
        let columns = vec![Vec::new(); modes.len()];
        Self { modes, columns }
    }

    /// How each column is read.
    pub(crate) fn modes(&self) -> &[Mode] {
        &self.modes
    }

    /// The columns read as text (their cells go to [`Sink::text`]).
    pub(crate) fn text_columns(&self) -> Vec<usize> {
        (0..self.modes.len())
            .filter(|&c| matches!(self.modes[c], Mode::Text | Mode::Cells))
            .collect()
    }

    /// One batch of `rows` rows into `sink`: `arrays[c]` is column `c` (`None` for a column
    /// the sink does not read), `names` the columns' names for messages, `before` the rows
    /// this sink has been given already (a cell's error names its row counting them).
    pub(crate) fn feed<S: Sink<Value = V>>(
        &mut self,
        sink: &mut S,
        arrays: Vec<Option<ArrayRef>>,
        rows: usize,
        before: usize,
        names: &[String],
    ) -> std::result::Result<(), Fault> {
        let modes = &self.modes;
        let arrays = arrays
            .into_iter()
            .enumerate()
            .map(|(c, a)| {
                let text = matches!(modes[c], Mode::Text | Mode::Cells);
                a.filter(|_| modes[c] != Mode::Skip)
                    .map(|a| int32_keys(a, text))
                    .transpose()
            })
            .collect::<std::result::Result<Vec<Option<ArrayRef>>, _>>()?;
        // A column of doubles without nulls is read in place where the sink takes doubles.
        let doubles = |c: usize| {
            arrays[c]
                .as_ref()
                .filter(|a| modes[c] == Mode::Number && a.null_count() == 0)
                .and_then(|a| a.as_primitive_opt::<Float64Type>())
                .and_then(|a| V::of_doubles(a.values()))
        };
        for (c, values) in self.columns.iter_mut().enumerate() {
            if doubles(c).is_some() {
                continue;
            }
            let Some(array) = arrays[c].as_ref().filter(|_| modes[c] != Mode::Cells) else {
                values.clear();
                values.resize(rows, V::MISSING);
                continue;
            };
            numbers(array, modes[c] == Mode::Text, values, &names[c]).map_err(
                |(row, message)| Fault::Cell {
                    row: before + row,
                    column: c,
                    message,
                },
            )?;
        }
        // Text columns as strings when they are strings (a dictionary's once per
        // dictionary), as booleans when they are booleans, through Arrow's formatter
        // otherwise.
        let text_cells = self
            .text_columns()
            .into_iter()
            .filter_map(|c| Some((c, arrays[c].as_ref()?)))
            .map(|(c, a)| TextCells::of(a).formatted().map(|t| (c, t)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let values: Vec<&[V]> = (0..self.columns.len())
            .map(|c| doubles(c).unwrap_or(&self.columns[c]))
            .collect();
        sink.batch(&Batch {
            rows,
            line: before as u64 + 1,
            values: &values,
            text: &text_cells,
        })
        .map_err(|(r, e)| Fault::Cell {
            row: before + r,
            column: e.column - 1,
            message: e.message,
        })
    }
}

/// Reads a stream of record batches with `schema` into `sink`, as a Parquet file's rows are
/// read ([`ParquetTable::scan`](super::parquet::ParquetTable::scan)), on this thread; `label`
/// names the table in messages (`DataFrame`), `before` is the rows `sink` was given already.
/// The sink is given row `r` of the stream on line `before + r + 2`, its line in the table's
/// CSV text (line 1 the column names), and an error names that line. Returns the sink and the
/// number of rows read. A batch whose schema is not `schema` is an error.
pub fn scan_batches<S, I>(
    label: &Path,
    schema: &Schema,
    batches: I,
    mut sink: S,
    before: u64,
) -> Result<(S, u64)>
where
    S: Sink,
    I: IntoIterator<Item = std::result::Result<RecordBatch, ArrowError>>,
{
    for field in schema.fields() {
        if is_nested(field.data_type()) {
            return Err(nested(label, field));
        }
    }
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut feeder = Feeder::new(modes(&sink, schema));
    let mut rows = 0usize;
    for batch in batches {
        let batch = batch.map_err(|e| Error::file(label, format!("reading its batches: {e}")))?;
        if batch.schema().fields() != schema.fields() {
            return Err(Error::file(
                label,
                format!(
                    "a batch has the columns {}, not the table's {}",
                    batch.schema(),
                    schema
                ),
            ));
        }
        let arrays = batch.columns().iter().cloned().map(Some).collect();
        let n = batch.num_rows();
        // The sink sees each row on its line in the table's CSV text (after `before` rows).
        let first = 1 + before as usize + rows;
        feeder
            .feed(&mut sink, arrays, n, first, &names)
            .map_err(|f| match f {
                Fault::Arrow(e) => Error::file(label, format!("converting its columns: {e}")),
                Fault::Cell {
                    row,
                    column,
                    message,
                } => Error::Parse {
                    path: label.to_path_buf(),
                    line: row as u64 + 1,
                    column: column + 1,
                    message,
                },
            })?;
        rows += n;
    }
    Ok((sink, rows as u64))
}

/// Whether a column of type `t` is not flat (lists, structs, maps, unions).
pub(crate) fn is_nested(t: &DataType) -> bool {
    match t {
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::Struct(_)
        | DataType::Map(..)
        | DataType::Union(..)
        | DataType::RunEndEncoded(..) => true,
        DataType::Dictionary(_, values) => is_nested(values),
        _ => false,
    }
}

/// How the cells of a text column that holds no strings (numbers, booleans, dates) are
/// written for a sink that reads them as text.
const FORMAT: FormatOptions<'static> = FormatOptions::new();

/// The values of one column of a batch as `T` (nulls missing): numbers as they are (a
/// `double` rounded to `f32` for a model's features), text parsed as the CSV reader parses a
/// cell. Any other type (booleans, dates, binary) is an error at its first value, unless the
/// sink reads the column as text (`as_text`: its values are then missing). Errors are the row
/// within the batch and the message.
fn numbers<T: Number>(
    column: &ArrayRef,
    as_text: bool,
    out: &mut Vec<T>,
    name: &str,
) -> std::result::Result<(), (usize, String)> {
    out.clear();
    let n = column.len();
    match column.data_type() {
        t if t.is_numeric() => {
            let doubles = arrow_cast::cast(column, &DataType::Float64)
                .map_err(|e| (0, format!("column `{}`: {e}", excerpt(name))))?;
            let doubles = doubles.as_primitive::<Float64Type>();
            if doubles.null_count() == 0 {
                out.extend(doubles.values().iter().map(|&x| T::from_f64(x)));
            } else {
                out.extend(doubles.iter().map(|x| x.map_or(T::MISSING, T::from_f64)));
            }
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let strings = TextCells::of(column);
            for row in 0..n {
                let value = match strings.get(row) {
                    None => T::MISSING,
                    Some(cell) => match parse_number::<T>(cell) {
                        Some(x) => x,
                        None if as_text => T::MISSING,
                        None => return Err((row, not_a_number(cell, name))),
                    },
                };
                out.push(value);
            }
        }
        DataType::Dictionary(..) => {
            // Each entry once, then each row's entry (keys are `Int32`: `int32_keys`).
            let dict = column.as_dictionary::<Int32Type>();
            let mut entries: Vec<T> = Vec::new();
            numbers(dict.values(), true, &mut entries, name)?;
            let strings = TextCells::of(dict.values());
            let other = dict.values().data_type();
            if !as_text && !other.is_numeric() && matches!(strings, TextCells::Other(_)) {
                // Dates, binary: as such a column without a dictionary.
                if let Some(row) = (0..n).find(|&r| column.is_valid(r)) {
                    return Err((
                        row,
                        format!(
                            "column `{}` holds {other} values, not numbers",
                            excerpt(name)
                        ),
                    ));
                }
            }
            let word = |k: usize| strings.get(k).filter(|c| parse_number::<T>(c).is_none());
            // Where numbers are expected: the entries that are words.
            let words: Vec<bool> = match as_text {
                true => Vec::new(),
                false => (0..entries.len()).map(|k| word(k).is_some()).collect(),
            };
            for (row, key) in dict.keys().iter().enumerate() {
                let value = match key {
                    None => T::MISSING,
                    Some(k) => {
                        let k = k as usize;
                        if words.get(k) == Some(&true)
                            && let Some(cell) = word(k)
                        {
                            return Err((row, not_a_number(cell, name)));
                        }
                        entries[k]
                    }
                };
                out.push(value);
            }
        }
        _ if as_text => out.resize(n, T::MISSING),
        other => {
            // Nulls are missing values in any column; the first value is the error.
            match (0..n).find(|&r| column.is_valid(r)) {
                None => out.resize(n, T::MISSING),
                Some(row) => {
                    return Err((
                        row,
                        format!(
                            "column `{}` holds {other} values, not numbers",
                            excerpt(name)
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The message of a text cell where a number is expected.
fn not_a_number(cell: &[u8], name: &str) -> String {
    format!(
        "`{}` in column `{}` is not a number (empty cells and NaN mark missing values)",
        excerpt(String::from_utf8_lossy(cell).trim()),
        excerpt(name)
    )
}

/// A dictionary column with keys of another integer type (pandas writes `int8` keys for a
/// few categories) as one with `Int32` keys, the one key type [`TextCells`] and [`numbers`]
/// read; a boolean column read as text (`text`) as a dictionary of `false` and `true` (so a
/// sink judges two cells, not every row); any other column as it is.
fn int32_keys(
    column: ArrayRef,
    text: bool,
) -> std::result::Result<ArrayRef, arrow_schema::ArrowError> {
    match column.data_type() {
        DataType::Dictionary(key, values) if **key != DataType::Int32 => arrow_cast::cast(
            &column,
            &DataType::Dictionary(Box::new(DataType::Int32), values.clone()),
        ),
        DataType::Boolean if text => {
            let flags = column.as_boolean();
            let keys = Int32Array::new(
                flags.values().iter().map(i32::from).collect(),
                flags.nulls().cloned(),
            );
            let values: ArrayRef = Arc::new(StringArray::from(vec!["false", "true"]));
            Ok(Arc::new(DictionaryArray::try_new(keys, values)?))
        }
        _ => Ok(column),
    }
}

/// The cells of a text column of a batch as bytes, without a copy: strings as they are,
/// booleans as `true` / `false`, a dictionary's keys and its values' cells, other types
/// (`Other`) through Arrow's formatter (`Formatted`, once per batch).
pub enum TextCells<'a> {
    /// `Utf8`.
    Utf8(&'a StringArray),
    /// `LargeUtf8`.
    Large(&'a LargeStringArray),
    /// `Utf8View`.
    View(&'a StringViewArray),
    /// `Boolean`.
    Bool(&'a BooleanArray),
    /// A dictionary: each row's key, and the cells of its values (batches of one row group
    /// share `values`: a sink may judge each value once per dictionary, by its identity).
    Dict {
        /// Per row, the index of its value (null: a null).
        keys: &'a Int32Array,
        /// The dictionary's values.
        values: &'a ArrayRef,
        /// Their cells.
        cells: Box<TextCells<'a>>,
    },
    /// Another type, before formatting.
    Other(&'a ArrayRef),
    /// Another type's cells formatted (`None`: null).
    Formatted(Vec<Option<String>>),
}

impl<'a> TextCells<'a> {
    /// Row `r`'s cell as [`Sink::text`] takes it: `None` for a null or a missing-value marker.
    #[inline]
    pub fn cell(&self, r: usize) -> Option<&[u8]> {
        let cell = match self {
            Self::Formatted(v) => v[r].as_deref().map(str::as_bytes),
            Self::Dict { keys, cells, .. } => {
                return if keys.is_valid(r) {
                    cells.cell(keys.value(r) as usize)
                } else {
                    None
                };
            }
            other => other.get(r),
        };
        cell.filter(|c| !is_missing(c))
    }

    /// The cells of `column` (dictionary keys `Int32`: [`int32_keys`]).
    fn of(column: &'a ArrayRef) -> Self {
        match column.data_type() {
            DataType::Utf8 => Self::Utf8(column.as_string::<i32>()),
            DataType::LargeUtf8 => Self::Large(column.as_string::<i64>()),
            DataType::Utf8View => Self::View(column.as_string_view()),
            DataType::Boolean => Self::Bool(column.as_boolean()),
            DataType::Dictionary(key, _) if **key == DataType::Int32 => {
                let dict = column.as_dictionary::<Int32Type>();
                Self::Dict {
                    keys: dict.keys(),
                    values: dict.values(),
                    cells: Box::new(Self::of(dict.values())),
                }
            }
            _ => Self::Other(column),
        }
    }

    /// `Other` cells (a dictionary's values too) formatted by Arrow, once.
    fn formatted(self) -> std::result::Result<Self, arrow_schema::ArrowError> {
        Ok(match self {
            Self::Other(a) => {
                let format = ArrayFormatter::try_new(a.as_ref(), &FORMAT)?;
                Self::Formatted(
                    (0..a.len())
                        .map(|r| a.is_valid(r).then(|| format.value(r).to_string()))
                        .collect(),
                )
            }
            Self::Dict {
                keys,
                values,
                cells,
            } => Self::Dict {
                keys,
                values,
                cells: Box::new(cells.formatted()?),
            },
            cells => cells,
        })
    }

    /// Row `r`'s cell; `None` for a null (and for `Other`, `Formatted` and `Dict`, which
    /// [`TextCells::cell`] reads).
    #[inline]
    fn get(&self, r: usize) -> Option<&'a [u8]> {
        match self {
            Self::Utf8(a) => a.is_valid(r).then(|| a.value(r).as_bytes()),
            Self::Large(a) => a.is_valid(r).then(|| a.value(r).as_bytes()),
            Self::View(a) => a.is_valid(r).then(|| a.value(r).as_bytes()),
            Self::Bool(a) => a
                .is_valid(r)
                .then(|| if a.value(r) { &b"true"[..] } else { b"false" }),
            Self::Other(_) | Self::Formatted(_) | Self::Dict { .. } => None,
        }
    }
}

/// The error for a column that is not flat.
pub(crate) fn nested(path: &Path, field: &Field) -> Error {
    Error::file(
        path,
        format!(
            "column `{}` holds {}: mlprobe reads flat tables of numbers and text; flatten or \
             drop the column",
            excerpt(field.name()),
            field.data_type()
        ),
    )
}
