//! Parquet data files (the `parquet` crate's Arrow reader), for every command that reads a
//! table: `expect`, `profile`, `train`, `eval`, `predict`, `run`.
//!
//! [`ParquetTable::scan`] is what [`Scanner`](super::Scanner) does for a Parquet file: row
//! groups on several threads, each column converted from its Arrow type straight to the
//! sink's values, the sinks merged in file order (as the CSV scanner merges its chunks), with
//! the meaning the table's CSV text would have: a null is a missing value; numbers keep their
//! exact values (a `double` becomes a model's `f32` by rounding); a text cell is parsed as the
//! CSV reader parses a cell (`NA`, spaces and markers included); a boolean, date or binary
//! column where numbers are expected is an error at its first value. Line `n` in a message is
//! row `n − 1` (line 1 holds the column names, as in the CSV text). Only the columns the sink
//! reads ([`Sink::reads_column`]) are decoded (a `ProjectionMask`). Memory is a row group's
//! column chunks and a batch of 8,192 rows per thread, whatever the file's size.
//!
//! [`ParquetCsv`] is the same table as CSV text (the `arrow-csv` writer; a `float` column
//! widened to `double` first, so the text is its exact value, as pandas' `astype(float)` gives
//! it), for the readers of text: A/B event files, and `profile`'s copy of a table on stdin.
//!
//! A column of lists, structs, maps or unions is an error naming it: mlprobe reads flat tables.

use super::arrow::{Fault, Feeder, is_nested, modes, nested};
use super::scan::{Mode, ScanOptions, Sink};
use crate::error::{Error, Result};
use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::basic::Encoding;
use parquet::file::reader::{ChunkReader, Length};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

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
    /// The rows of `table` as CSV text.
    pub fn new(table: ParquetTable) -> Result<Self> {
        let ParquetTable {
            path,
            file,
            metadata,
            ..
        } = table;
        let schema = metadata.schema().clone();
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
        let batches = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| Error::file(&path, format!("not a readable Parquet file: {e}")))?;
        Ok(Self {
            path,
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

/// A Parquet file read column by column into a [`Sink`]: row groups in parallel, each value
/// converted from its Arrow type (no text in between), merged in file order. What
/// [`Scanner`](super::Scanner) does for a Parquet file.
pub struct ParquetTable {
    path: PathBuf,
    file: Positioned,
    metadata: ArrowReaderMetadata,
    names: Vec<String>,
}

impl std::fmt::Debug for ParquetTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetTable")
            .field("path", &self.path)
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// An error at a row of a row group (0-based within it) and a column (0-based).
struct CellError {
    row: usize,
    column: usize,
    message: String,
}

impl ParquetTable {
    /// Opens the Parquet file `file` (`path` names it in messages): its footer, and a check
    /// that its columns are flat.
    pub fn open(path: &Path, file: std::fs::File) -> Result<Self> {
        let file = Positioned(Arc::new(file));
        let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
            .map_err(|e| Error::file(path, format!("not a readable Parquet file: {e}")))?;
        let schema = metadata.schema().clone();
        for field in schema.fields() {
            if is_nested(field.data_type()) {
                return Err(nested(path, field));
            }
        }
        Ok(Self {
            path: path.to_path_buf(),
            file,
            metadata,
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
        })
    }

    /// The column names, in file order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Reads every row into sinks made by `make`, one per row group (on `options.threads`
    /// threads), merged in file order with line numbers as the CSV text would have them (line
    /// 1 the column names, row `r` on line `r + 1`). Returns the merged sink and the number of
    /// rows.
    pub fn scan<S, F>(&self, options: ScanOptions, make: F) -> Result<(S, u64)>
    where
        S: Sink,
        F: Fn() -> S + Sync,
    {
        let groups = self.metadata.metadata().row_groups();
        let starts: Vec<u64> = groups
            .iter()
            .scan(0u64, |before, g| {
                let start = *before;
                *before += g.num_rows().max(0) as u64;
                Some(start)
            })
            .collect();
        let total: u64 = groups.iter().map(|g| g.num_rows().max(0) as u64).sum();
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let threads = options.threads.clamp(1, groups.len().max(1));
        let (tx, rx) = mpsc::channel::<(usize, Result<S>)>();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let tx = tx.clone();
                let (next, stop, make, starts) = (&next, &stop, &make, &starts);
                scope.spawn(move || {
                    loop {
                        let g = next.fetch_add(1, Ordering::Relaxed);
                        if g >= groups.len() || stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let done = self.scan_group(g, make).map_err(|e| {
                            // Row `r` of the group is on line `start + r + 2`.
                            Error::Parse {
                                path: self.path.clone(),
                                line: starts[g] + e.row as u64 + 2,
                                column: e.column + 1,
                                message: e.message,
                            }
                        });
                        if tx.send((g, done.and_then(|d| d))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let mut pending = BTreeMap::new();
            let (mut next_group, mut merged) = (0, make());
            for (g, done) in rx.iter() {
                pending.insert(g, done);
                while let Some(done) = pending.remove(&next_group) {
                    match done {
                        Ok(sink) => merged.merge(sink, 1 + starts[next_group]),
                        Err(e) => {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    next_group += 1;
                }
            }
            Ok((merged, total))
        })
    }

    /// The reader's metadata for row group `g`: the string columns among `text` whose every
    /// page there is dictionary-encoded are read as dictionaries (Arrow's `Dictionary(Int32,
    /// _)`: each distinct string once, then a key per row), the rest as the file has them. (A
    /// chunk whose dictionary overflowed into plain pages is read as strings: Arrow would hash
    /// every string to rebuild a dictionary.)
    fn dictionaries(
        &self,
        g: usize,
        text: &[usize],
    ) -> std::result::Result<ArrowReaderMetadata, parquet::errors::ParquetError> {
        let group = self.metadata.metadata().row_group(g);
        let schema = self.metadata.schema();
        let dictionary = |c: usize| {
            let chunk = group.column(c);
            chunk.dictionary_page_offset().is_some()
                && chunk.page_encoding_stats_mask().is_some_and(|m| {
                    m.is_only(Encoding::PLAIN_DICTIONARY) || m.is_only(Encoding::RLE_DICTIONARY)
                })
                && matches!(
                    schema.field(c).data_type(),
                    DataType::Utf8 | DataType::LargeUtf8
                )
        };
        if !text.iter().any(|&c| dictionary(c)) {
            return Ok(self.metadata.clone());
        }
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(c, f)| {
                if text.contains(&c) && dictionary(c) {
                    let t = DataType::Dictionary(
                        Box::new(DataType::Int32),
                        Box::new(f.data_type().clone()),
                    );
                    f.as_ref().clone().with_data_type(t)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect();
        let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new_with_metadata(
            fields,
            schema.metadata().clone(),
        )));
        ArrowReaderMetadata::try_new(self.metadata.metadata().clone(), options)
    }

    /// One row group into a fresh sink: `Ok(Err(_))` is a Parquet error, `Err(_)` a cell's.
    fn scan_group<S, F>(&self, g: usize, make: &F) -> std::result::Result<Result<S>, CellError>
    where
        S: Sink,
        F: Fn() -> S,
    {
        let bad = |e: &dyn std::fmt::Display| {
            Error::file(
                &self.path,
                format!("the Parquet data is corrupt (row group {}): {e}", g + 1),
            )
        };
        let mut sink = make();
        let width = self.names.len();
        let mut feeder = Feeder::new(modes(&sink, self.metadata.schema()));
        let text = feeder.text_columns();
        // Only the columns the sink reads are decoded; `slot[c]` is column c's place in a
        // batch.
        let read: Vec<usize> = (0..width)
            .filter(|&c| feeder.modes()[c] != Mode::Skip)
            .collect();
        let mut slot = vec![None; width];
        for (k, &c) in read.iter().enumerate() {
            slot[c] = Some(k);
        }
        let mask = ProjectionMask::roots(
            self.metadata.metadata().file_metadata().schema_descr(),
            read.iter().copied(),
        );
        let metadata = match self.dictionaries(g, &text) {
            Ok(m) => m,
            Err(e) => return Ok(Err(bad(&e))),
        };
        let reader =
            ParquetRecordBatchReaderBuilder::new_with_metadata(self.file.clone(), metadata)
                .with_row_groups(vec![g])
                .with_projection(mask)
                .with_batch_size(BATCH_ROWS)
                .build();
        let reader = match reader {
            Ok(r) => r,
            Err(e) => return Ok(Err(bad(&e))),
        };
        let mut before = 0usize;
        for batch in reader {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => return Ok(Err(bad(&e))),
            };
            let arrays = slot
                .iter()
                .map(|s| s.map(|k| batch.column(k).clone()))
                .collect();
            let rows = batch.num_rows();
            match feeder.feed(&mut sink, arrays, rows, before, &self.names) {
                Ok(()) => {}
                Err(Fault::Arrow(e)) => return Ok(Err(bad(&e))),
                Err(Fault::Cell {
                    row,
                    column,
                    message,
                }) => {
                    return Err(CellError {
                        row,
                        column,
                        message,
                    });
                }
            }
            before += rows;
        }
        Ok(Ok(sink))
    }
}

/// A file read at positions (`pread`), so that the readers of several row groups on several
/// threads share no offset. (The parquet crate's reader of a `File` seeks a handle whose
/// offset every clone shares: two threads read each other's pages.)
#[derive(Clone)]
struct Positioned(Arc<std::fs::File>);

impl Length for Positioned {
    fn len(&self) -> u64 {
        self.0.metadata().map_or(0, |m| m.len())
    }
}

impl ChunkReader for Positioned {
    type T = std::io::BufReader<At>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::new(At {
            file: self.0.clone(),
            pos: start,
        }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buf = vec![0; length];
        let mut at = At {
            file: self.0.clone(),
            pos: start,
        };
        at.read_exact(&mut buf)?;
        Ok(Bytes::from(buf))
    }
}

/// A reader of a [`Positioned`] file from a position.
struct At {
    file: Arc<std::fs::File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file.as_ref(), buf, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file.as_ref(), buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
