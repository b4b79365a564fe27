//! Parquet data files, read by row group through Arrow (the `parquet` crate) and handed to the
//! CSV scanner as CSV text (the `arrow-csv` writer), so that a Parquet table goes through the
//! same reader, the same checks and the same messages as a CSV one: `expect`, `profile`,
//! `train`, `eval`, `predict` and `run` read either.
//!
//! Memory is one row group's column chunks and one batch of CSV text, whatever the file's
//! size. Numbers keep their exact values: a `float` (32-bit) column is widened to `double`
//! before it is written (so the text is the exact value, as pandas' `astype(float)` gives it,
//! and a model's `f32` features parse back to the same bits), and every value is written in
//! the shortest form that reads back to it. A null is an empty cell (a missing value). Text,
//! booleans (`true`/`false`), dates and times are text cells: a number column that holds them
//! is an error at its line and column, as in CSV. Line `n` of the CSV text is row `n − 1` of
//! the file (line 1 holds the column names) when no text cell holds a line break.
//!
//! A column of lists, structs, maps or unions is an error naming it: mlprobe reads flat tables.

use crate::error::{Error, Result};
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per batch of CSV text.
const BATCH_ROWS: usize = 8192;

/// A Parquet file as CSV text (a header row of its column names, then its rows).
pub struct ParquetCsv {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    /// The schema batches are written with (`float` and `half` columns as `double`).
    widened: Arc<Schema>,
    /// CSV text not yet read, from `pos`.
    text: Vec<u8>,
    pos: usize,
    header: bool,
}

impl ParquetCsv {
    /// Opens the Parquet file `file` (`path` names it in messages) and checks that its columns
    /// are flat.
    pub fn new(path: &Path, file: std::fs::File) -> Result<Self> {
        let bad = |e: parquet::errors::ParquetError| {
            Error::file(path, format!("not a readable Parquet file: {e}"))
        };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?;
        let schema = builder.schema().clone();
        for field in schema.fields() {
            if is_nested(field.data_type()) {
                return Err(Error::file(
                    path,
                    format!(
                        "column `{}` holds {}: mlprobe reads flat tables of numbers and text; \
                         flatten or drop the column",
                        crate::limits::excerpt(field.name()),
                        field.data_type()
                    ),
                ));
            }
        }
        let widened = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| match f.data_type() {
                    DataType::Float16 | DataType::Float32 => {
                        Field::new(f.name(), DataType::Float64, f.is_nullable())
                    }
                    _ => f.as_ref().clone(),
                })
                .collect::<Vec<_>>(),
        ));
        let batches = builder.with_batch_size(BATCH_ROWS).build().map_err(bad)?;
        Ok(Self {
            path: path.to_path_buf(),
            batches,
            widened,
            text: Vec::new(),
            pos: 0,
            header: true,
        })
    }

    /// Writes the next batch as CSV text; false at the end of the file.
    fn next_batch(&mut self) -> std::io::Result<bool> {
        let invalid = |m: String| std::io::Error::new(std::io::ErrorKind::InvalidData, m);
        let batch = match self.batches.next() {
            None if self.header => {
                // No rows: the header alone, so the scanner says "no data rows".
                let empty = RecordBatch::new_empty(self.widened.clone());
                self.write(&empty).map_err(invalid)?;
                return Ok(true);
            }
            None => return Ok(false),
            Some(batch) => batch.map_err(|e| {
                invalid(format!(
                    "{}: the Parquet data is corrupt: {e}",
                    self.path.display()
                ))
            })?,
        };
        let columns = batch
            .columns()
            .iter()
            .zip(self.widened.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c.clone())
                } else {
                    arrow_cast::cast(c, f.data_type())
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .and_then(|c| RecordBatch::try_new(self.widened.clone(), c))
            .map_err(|e| invalid(format!("widening floats: {e}")))?;
        self.write(&columns).map_err(invalid)?;
        Ok(true)
    }

    fn write(&mut self, batch: &RecordBatch) -> std::result::Result<(), String> {
        self.text.clear();
        self.pos = 0;
        let mut writer = arrow_csv::WriterBuilder::new()
            .with_header(self.header)
            .build(&mut self.text);
        writer
            .write(batch)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        self.header = false;
        Ok(())
    }
}

impl Read for ParquetCsv {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.text.len() {
            if !self.next_batch()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.text.len() - self.pos);
        buf[..n].copy_from_slice(&self.text[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn is_nested(t: &DataType) -> bool {
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
