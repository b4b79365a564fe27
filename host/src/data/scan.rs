//! Reading a numeric CSV file in chunks, in constant memory, on several threads: mlprobe's one
//! path for numeric tables (the [`Dataset`](super::Dataset) of training and evaluation,
//! `mlprobe expect` and `profile`).
//!
//! The format is [`data`](super)'s: a header row, comma-separated numbers, RFC 4180 double
//! quotes, empty/`NaN`/`NA`/`N/A` cells as missing values. The file is never held whole: a
//! reader thread fills a fixed pool of buffers with chunks that end at a newline, worker threads
//! parse them into a [`Sink`] each, and the calling thread merges the sinks **in file order**
//! (so order-dependent state, like the first unexpected values, is that of one pass over the
//! file). Memory is the buffer pool (`2 × threads + 1` chunks of [`ScanOptions::chunk_bytes`])
//! plus the sinks of the chunks in flight, whatever the file's size. A record longer than a
//! chunk grows that buffer, up to [`CSV_RECORD_BYTES`]: a longer one is an error at its line (so
//! `/dev/zero` or a file without newlines ends).
//!
//! A plain line (numbers and commas) is parsed in one pass over its bytes, splitting and
//! reading numbers together ([`cell`](mod@super::cell)'s fast path), with no copy: this loop is
//! what `cargo bench -p mlprobe --bench expect` measures, and where a general CSV parser would
//! cost a copy of every field. Any other line (quotes, spaces, exponents, missing-value
//! markers, a ragged or bad row) is split by `csv-core` ([`split`](super::split); RFC 4180:
//! quoted fields with commas, doubled quotes, CRLF) and its cells parsed one by one. A quoted
//! field may hold newlines (RFC 4180): chunks end at newlines outside quotes ([`Quotes`]), so a
//! record is never split between two chunks; its line is the one it starts on. Such a field is
//! text: in a numeric column it is a cell that is not a number, in a label column that
//! `predict` ignores or in the header it is read.
//!
//! A NUL byte (a binary file [`source`] does not recognise, or a Parquet file inside a gzip
//! one) and a carriage return that ends no CRLF line (old Mac line endings) are errors at their
//! line and column, not a row of odd numbers or one giant line. Errors name the file, the
//! 1-based line and the 1-based column.

use super::arrow::TextCells;
use super::cell::{Decimal, Number, is_missing, parse_number};
use super::parquet::ParquetTable;
use super::records::Records;
use super::source::{self, Body, Input};
use super::split::{
    Quotes, Splitter, check_bytes, field_of, lines_before, parse_header, unclosed_quote,
};
use crate::error::{Error, Result};
use crate::limits::{CSV_RECORD_BYTES, excerpt, excerpt_bytes, size};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

/// How a column is read for a sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Numbers: a cell that is not one is an error.
    Number,
    /// Text: cells go to [`Sink::text`]; a number's value still to [`Sink::row`].
    Text,
    /// Text only: cells go to [`Sink::text`], values are missing (not parsed:
    /// [`Sink::parses_text`]).
    Cells,
    /// Numbers, and a cell that is not one goes to [`Sink::text`] (its value missing) instead
    /// of being an error ([`Sink::tolerates_text`]).
    Tolerant,
    /// Not read: values missing ([`Sink::reads_column`]).
    Skip,
}

impl Mode {
    /// How `sink` reads each of `width` columns.
    pub(crate) fn of<S: Sink>(sink: &S, width: usize) -> Vec<Mode> {
        (0..width)
            .map(|c| {
                if !sink.reads_column(c) {
                    Mode::Skip
                } else if (sink.reads_text(c) || sink.tolerates_text(c)) && !sink.parses_text(c) {
                    // Nothing needs the numbers: every cell is taken as text, none parsed.
                    Mode::Cells
                } else if sink.reads_text(c) {
                    Mode::Text
                } else if sink.tolerates_text(c) {
                    Mode::Tolerant
                } else {
                    Mode::Number
                }
            })
            .collect()
    }
}

/// What a worker fills from the rows of a chunk; merged in file order.
pub trait Sink: Send + Sized {
    /// What cells parse to: `f64` for statistics, `f32` for a model's features.
    type Value: Number;
    /// One data row: its values in column order (missing values `NaN`) and the line's number
    /// within its chunk (1-based; the file's line is `lines_before` of [`Sink::merge`] plus
    /// this).
    fn row(&mut self, values: &[Self::Value], line: u64) -> std::result::Result<(), Rejected>;
    /// Appends the state of the chunk that follows in the file; `lines_before` is the file's
    /// line number just before that chunk.
    fn merge(&mut self, later: Self, lines_before: u64);
    /// Whether the sink reads column `column` as text: a cell there that is not a number is
    /// then `NaN` in `values`, not an error, and the cell itself goes to [`Sink::text`] (a
    /// label column, a column of categories).
    fn reads_text(&self, _column: usize) -> bool {
        false
    }
    /// Whether the cells of a column [read as text](Sink::reads_text) (or that [tolerates
    /// text](Sink::tolerates_text)) are parsed for their values too; when not, every cell goes
    /// to [`Sink::text`] and its value is `NaN` (a sink that counts cells only).
    fn parses_text(&self, _column: usize) -> bool {
        true
    }
    /// Whether a cell of column `column` that is neither a number nor a missing value goes to
    /// [`Sink::text`] (its value `NaN` in [`Sink::row`]) rather than being an error. Unlike a
    /// column [read as text](Sink::reads_text), numbers and missing values are not given as
    /// cells: the column is read as fast as numbers are. (`expect`: a check on the column
    /// says what text there means.)
    fn tolerates_text(&self, _column: usize) -> bool {
        false
    }
    /// Whether the sink reads column `column` at all. A column it does not read is not parsed:
    /// its values are missing, whatever its cells hold (no error for text there), and a
    /// Parquet file's column of it is not even decoded. The table's other checks (its width,
    /// its quotes, its lines) hold as ever.
    fn reads_column(&self, _column: usize) -> bool {
        true
    }
    /// Rows given column by column (a Parquet batch). The default hands them to
    /// [`Sink::text`] and [`Sink::row`] one by one; a sink may take each column whole instead,
    /// provided what it computes does not depend on the order of columns within a row. An
    /// error names the row within the batch.
    fn batch(
        &mut self,
        batch: &Batch<'_, Self::Value>,
    ) -> std::result::Result<(), (usize, Rejected)> {
        let mut row = vec![Self::Value::MISSING; batch.values.len()];
        for r in 0..batch.rows {
            for (c, cells) in batch.text {
                self.text(*c, cells.cell(r));
            }
            for (slot, values) in row.iter_mut().zip(batch.values) {
                *slot = values[r];
            }
            self.row(&row, batch.line + r as u64).map_err(|e| (r, e))?;
        }
        Ok(())
    }
    /// The cell of a column the sink [reads as text](Sink::reads_text), before the
    /// [`row`](Sink::row) it belongs to: its bytes unquoted (RFC 4180), or `None` for a missing
    /// value ([`is_missing`]: empty, `NaN`, `NA`, `N/A`; a Parquet null). Called in column
    /// order. For a column that [tolerates text](Sink::tolerates_text), only with the cells
    /// that are not numbers (every cell of such a Parquet column that is not of a numeric
    /// type).
    fn text(&mut self, _column: usize, _cell: Option<&[u8]>) {}
}

/// Rows given column by column ([`Sink::batch`]).
pub struct Batch<'a, V> {
    /// How many.
    pub rows: usize,
    /// The first row's line within the sink's part of the file (as [`Sink::row`]'s).
    pub line: u64,
    /// Per column, its `rows` values (missing `NaN`; all missing for a column not read).
    pub values: &'a [&'a [V]],
    /// The columns read as text: their index and cells.
    pub text: &'a [(usize, TextCells<'a>)],
}

/// A row a [`Sink`] refuses: the 1-based column at fault and why.
#[derive(Debug)]
pub struct Rejected {
    /// 1-based column.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// How to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScanOptions {
    /// Parsing threads (at least 1).
    pub threads: usize,
    /// Bytes per chunk.
    pub chunk_bytes: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            chunk_bytes: 1 << 21,
        }
    }
}

/// The most parsing threads (`--threads`): more than the cores only adds buffers.
pub const MAX_THREADS: usize = 256;

impl ScanOptions {
    /// The defaults with `threads` parsing threads (`None`: every core); 0 is a usage error
    /// naming `--threads`.
    pub fn with_threads(threads: Option<usize>) -> Result<Self> {
        match threads {
            None => Ok(Self::default()),
            Some(0) => Err(Error::Usage("--threads: must be at least 1".into())),
            Some(n) if n > MAX_THREADS => Err(Error::Usage(format!(
                "--threads {n}: at most {MAX_THREADS}"
            ))),
            Some(threads) => Ok(Self {
                threads,
                ..Self::default()
            }),
        }
    }
}

/// The header row of a file, read before the rows are scanned.
#[derive(Debug)]
pub struct Scanner<R = Box<dyn Read + Send>> {
    path: PathBuf,
    source: R,
    /// Column names, in file order.
    pub names: Vec<String>,
    /// 1-based line of the header.
    pub header_line: u64,
    /// Lines before the first data row (the header's last line: a quoted name may hold a
    /// newline).
    body_line: u64,
    /// Bytes read past the header line.
    rest: Vec<u8>,
    /// The source's size, when known (a small file gets one small chunk).
    size: Option<u64>,
    /// A Parquet file, read column by column instead of `source` ([`ParquetTable::scan`]).
    parquet: Option<ParquetTable>,
}

impl Scanner {
    /// Opens `path` (`-` for stdin; compressed or not: [`source::open`]) and reads its header
    /// row.
    pub fn open(path: &Path) -> Result<Self> {
        Self::from_input(source::open(path)?)
    }

    /// Reads the header row of an opened data file (a Parquet file's column names).
    pub fn from_input(input: Input) -> Result<Self> {
        let (path, size) = (input.path().to_path_buf(), input.size());
        match input.into_body() {
            Body::Text(reader) => {
                let mut scanner = Self::from_reader(&path, reader)?;
                scanner.size = size;
                Ok(scanner)
            }
            // Line 1 holds the column names, as in the CSV text of the table.
            Body::Parquet(table) => Ok(Self {
                path,
                source: Box::new(std::io::empty()),
                names: table.names().to_vec(),
                header_line: 1,
                body_line: 1,
                rest: Vec::new(),
                size: None,
                parquet: Some(table),
            }),
        }
    }
}

impl Scanner<std::fs::File> {
    /// Reads the header row of CSV text in `file` (already open, e.g. a spooled copy); `path`
    /// names it in messages.
    pub fn from_file(path: &Path, file: std::fs::File) -> Result<Self> {
        // Only a regular file's length is its size (`/dev/zero` and a FIFO say 0).
        let size = file
            .metadata()
            .ok()
            .filter(std::fs::Metadata::is_file)
            .map(|m| m.len());
        let mut scanner = Self::from_reader(path, file)?;
        scanner.size = size;
        Ok(scanner)
    }
}

impl<R: Read + Send> Scanner<R> {
    /// The file, as messages name it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the header row of CSV text from `source`; `path` names it in messages.
    pub fn from_reader(path: &Path, source: R) -> Result<Self> {
        let mut records = Records::new(path, source);
        // Skips blank lines before the header.
        let (line, names) = loop {
            match records.next_record()? {
                None => {
                    return Err(Error::Parse {
                        path: path.into(),
                        line: 1,
                        column: 1,
                        message: "the file is empty: expected a header row of column names, \
                                  then rows of numbers"
                            .into(),
                    });
                }
                Some((_, r)) if r.iter().all(u8::is_ascii_whitespace) => {}
                Some((line, r)) => {
                    let names = parse_header(r).map_err(|(column, message)| Error::Parse {
                        path: path.into(),
                        line,
                        column,
                        message,
                    })?;
                    break (line, names);
                }
            }
        };
        let (source, rest, next_line) = records.into_parts();
        Ok(Self {
            path: path.to_path_buf(),
            source,
            names,
            header_line: line,
            body_line: next_line - 1,
            rest,
            size: None,
            parquet: None,
        })
    }

    /// Tells the scanner the source's length in bytes, when it is known (as [`Scanner::open`]
    /// knows a regular file's): a source of at most one chunk is then parsed on the calling
    /// thread, with no threads or buffer pool to set up.
    pub fn with_size(mut self, bytes: u64) -> Self {
        self.size = Some(bytes);
        self
    }

    /// Scans every row: `make` builds an empty sink (one per chunk, and the one the others are
    /// merged into), the sinks are merged in file order. Returns the merged sink and the number
    /// of data rows (possibly 0: an empty batch is for the caller to judge, e.g. by
    /// `expect_table_row_count_to_be_between`).
    pub fn scan<S, F>(self, options: ScanOptions, make: F) -> Result<(S, u64)>
    where
        S: Sink,
        F: Fn() -> S + Sync,
    {
        let Scanner {
            path,
            mut source,
            names,
            body_line,
            rest,
            size,
            parquet,
            ..
        } = self;
        if let Some(table) = parquet {
            return table.scan(options, make);
        }
        let width = names.len();
        let threads = options.threads.max(1);
        let chunk = options.chunk_bytes.max(1 << 12);
        let located = |e: RowError, lines_before: u64| Error::Parse {
            path: path.clone(),
            line: lines_before + e.line,
            column: e.column,
            message: e.message,
        };
        if size.is_some_and(|s| s <= chunk as u64) {
            // A file of one chunk (a training set): parsed here, without threads to hand it to.
            let mut buf = rest;
            source
                .read_to_end(&mut buf)
                .map_err(|e| Error::io(&path, e))?;
            let mut sink = make();
            let counts =
                parse_chunk(&buf, width, &names, &mut sink).map_err(|e| located(e, body_line))?;
            let mut merged = make();
            merged.merge(sink, body_line);
            return Ok((merged, counts.rows));
        }
        let buffers = 2 * threads + 1;

        let (free_tx, free_rx) = mpsc::channel::<Vec<u8>>();
        let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<u8>)>(buffers);
        let work_rx = Mutex::new(work_rx);
        let (done_tx, done_rx) = mpsc::channel::<Done<S>>();
        for _ in 0..buffers {
            // The receiver lives until the end of this function.
            let _ = free_tx.send(Vec::with_capacity(chunk + 1024));
        }

        std::thread::scope(|scope| {
            // Reader: fills free buffers with chunks ending at a newline outside quotes.
            let reader_path = path.clone();
            let reader = scope.spawn(move || -> Result<()> {
                let mut carry = rest;
                let mut seq = 0u64;
                let mut eof = false;
                while !eof {
                    let Ok(mut buf) = free_rx.recv() else {
                        return Ok(()); // the merger stopped (an error)
                    };
                    buf.clear();
                    buf.append(&mut carry);
                    // A chunk starts at a record's start: no quote open.
                    let (mut quotes, mut scanned, mut end) = (Quotes::default(), 0, None);
                    loop {
                        if let Some(i) = quotes.last_end(&buf[scanned..]) {
                            end = Some(scanned + i);
                        }
                        scanned = buf.len();
                        if buf.len() >= chunk && end.is_some() {
                            break;
                        }
                        if end.is_none() && buf.len() > CSV_RECORD_BYTES {
                            // One record longer than the limit: the last chunk, where the
                            // worker names its line.
                            eof = true;
                            break;
                        }
                        // The rest of a chunk, or 64 KiB more of a line longer than one, into
                        // the buffer's spare capacity (not zeroed first, unlike `read`'s).
                        let want = chunk.saturating_sub(buf.len()).max(1 << 16);
                        let n = (&mut source)
                            .take(want as u64)
                            .read_to_end(&mut buf)
                            .map_err(|e| Error::io(&reader_path, e))?;
                        if n < want {
                            eof = true;
                            break;
                        }
                    }
                    if !eof && let Some(last) = end {
                        carry.extend_from_slice(&buf[last + 1..]);
                        buf.truncate(last + 1);
                    }
                    if work_tx.send((seq, buf)).is_err() {
                        return Ok(());
                    }
                    seq += 1;
                }
                Ok(())
            });
            for _ in 0..threads {
                let done_tx = done_tx.clone();
                let (work_rx, make, names) = (&work_rx, &make, &names);
                scope.spawn(move || {
                    loop {
                        let next = work_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok((seq, buf))) = next else { break };
                        let mut sink = make();
                        let parsed = parse_chunk(&buf, width, names, &mut sink);
                        if done_tx
                            .send(Done {
                                seq,
                                buf,
                                sink,
                                parsed,
                            })
                            .is_err()
                        {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);

            // Merger: in file order.
            let mut pending: BTreeMap<u64, Done<S>> = BTreeMap::new();
            let mut next = 0u64;
            let mut merged = make();
            let mut lines_before = body_line;
            let mut rows = 0u64;
            let mut failure: Option<Error> = None;
            for done in done_rx.iter() {
                pending.insert(done.seq, done);
                while let Some(d) = pending.remove(&next) {
                    next += 1;
                    match d.parsed {
                        Ok(counts) => {
                            merged.merge(d.sink, lines_before);
                            lines_before += counts.lines;
                            rows += counts.rows;
                            let _ = free_tx.send(d.buf);
                        }
                        Err(e) => {
                            failure = Some(located(e, lines_before));
                            break;
                        }
                    }
                }
                if failure.is_some() {
                    break;
                }
            }
            // Stops the reader (no more free buffers), which stops the workers.
            drop(free_tx);
            drop(done_rx);
            let read = reader
                .join()
                .unwrap_or_else(|_| Err(Error::Internal("the CSV reader thread panicked".into())));
            if let Some(e) = failure {
                return Err(e);
            }
            read?;
            Ok((merged, rows))
        })
    }
}

struct Done<S> {
    seq: u64,
    buf: Vec<u8>,
    sink: S,
    parsed: std::result::Result<Counts, RowError>,
}

struct Counts {
    lines: u64,
    rows: u64,
}

/// An error at a line of a chunk (1-based within the chunk).
struct RowError {
    line: u64,
    column: usize,
    message: String,
}

fn parse_chunk<S: Sink>(
    chunk: &[u8],
    width: usize,
    names: &[String],
    sink: &mut S,
) -> std::result::Result<Counts, RowError> {
    let mut counts = Counts { lines: 0, rows: 0 };
    let mut row = vec![S::Value::MISSING; width];
    let mut splitter = None;
    let mut pos = 0;
    // How each column is read, and where each cell of a plain line is.
    let modes = Mode::of(sink, width);
    let any_text = modes
        .iter()
        .any(|m| matches!(m, Mode::Text | Mode::Cells | Mode::Skip));
    let mut cells = vec![(0usize, 0usize); if any_text { width } else { 0 }];
    while pos < chunk.len() {
        counts.lines += 1;
        let line = counts.lines;
        let rejected = |r: Rejected| RowError {
            line,
            column: r.column,
            message: r.message,
        };
        // One pass over the bytes of a plain line; anything unusual (a blank or ragged line,
        // quotes, a bad cell) is handled record by record below.
        let plain = if any_text {
            fast_text_row(chunk, pos, &mut row, &modes, &mut cells)
        } else {
            fast_row(chunk, pos, &mut row)
        };
        match plain {
            Some((end, next)) if end - pos <= CSV_RECORD_BYTES => {
                if any_text {
                    for (c, &(start, stop)) in cells.iter().enumerate() {
                        if matches!(modes[c], Mode::Text | Mode::Cells) {
                            let cell = &chunk[start..stop];
                            sink.text(c, (!is_missing(cell)).then_some(cell));
                        }
                    }
                }
                sink.row(&row, line).map_err(rejected)?;
                counts.rows += 1;
                pos = next;
            }
            _ => {
                let end = Quotes::default()
                    .first_end(&chunk[pos..])
                    .map_or(chunk.len(), |i| pos + i);
                let raw = &chunk[pos..end];
                let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
                // A record over quoted newlines counts its lines.
                counts.lines += lines_before(raw, raw.len());
                check_record(raw, line)?;
                if !raw.iter().all(u8::is_ascii_whitespace) {
                    let splitter = splitter.get_or_insert_with(Splitter::new);
                    slow_row(raw, line, names, &mut row, splitter, &modes, sink)?;
                    sink.row(&row, line).map_err(rejected)?;
                    counts.rows += 1;
                }
                pos = end + 1;
            }
        }
    }
    Ok(counts)
}

/// The checks of a record taken line by line, before its cells: binary data, a bare CR, a
/// quote never closed, a record over [`CSV_RECORD_BYTES`].
fn check_record(raw: &[u8], line: u64) -> std::result::Result<(), RowError> {
    let fault = check_bytes(raw)
        .or_else(|| unclosed_quote(raw))
        .or_else(|| {
            (raw.len() > CSV_RECORD_BYTES).then(|| {
                (
                    0,
                    format!(
                        "a record longer than {} (CSV_RECORD_BYTES): not a CSV file, or a \
                         double quote left open",
                        size(CSV_RECORD_BYTES as u64)
                    ),
                )
            })
        });
    match fault {
        None => Ok(()),
        Some((at, message)) => Err(RowError {
            line: line + lines_before(raw, at),
            column: field_of(raw, at),
            message,
        }),
    }
}

/// Parses the line at `pos` into `row` when it is exactly `row.len()` plain fields; returns
/// the end of its content and the position after its newline, or `None` to take the
/// line-by-line path.
#[inline]
fn fast_row<T: Number>(chunk: &[u8], mut pos: usize, row: &mut [T]) -> Option<(usize, usize)> {
    let mut field = 0;
    loop {
        let d = Decimal::read(chunk, pos);
        let value = if d.end == d.start {
            T::MISSING // empty cell
        } else {
            d.value()?
        };
        match end_field(chunk, d.start, d.end, value, row, &mut field)? {
            Step::Next(next) => pos = next,
            Step::Line(end, next) => return Some((end, next)),
        }
    }
}

/// Where a plain line goes after a field.
enum Step {
    /// The next field starts here.
    Next(usize),
    /// The line's content ends at the first position, the next line starts at the second.
    Line(usize, usize),
}

/// Stores `value`, the plain field `start..i`, as `row[field]` when `i` ends a field; `None`
/// sends the line to the line-by-line path (an odd byte, a blank line, a ragged row).
#[inline(always)]
fn end_field<T: Number>(
    chunk: &[u8],
    start: usize,
    i: usize,
    value: T,
    row: &mut [T],
    field: &mut usize,
) -> Option<Step> {
    let stop = chunk.get(i).copied().unwrap_or(b'\n');
    if !(stop == b',' || stop == b'\n' || stop == b'\r') {
        return None;
    }
    if i == start && *field == 0 && stop != b',' {
        return None; // a blank line: skipped
    }
    *row.get_mut(*field)? = value;
    *field += 1;
    let width = row.len();
    match stop {
        b',' => Some(Step::Next(i + 1)),
        b'\r' => (chunk.get(i + 1).is_none_or(|&b| b == b'\n') && *field == width)
            .then_some(Step::Line(i, i + 2)),
        _ => (*field == width).then_some(Step::Line(i, i + 1)),
    }
}

/// [`fast_row`] for a sink that reads some columns as text or not at all (`modes`): the cells
/// of those columns are found by their commas (a quote or a NUL byte sends the line to the
/// line-by-line path, which unquotes or refuses it); a text cell's span goes in `cells` and its
/// value is parsed when it is a number (`NaN` otherwise); a skipped cell is missing.
#[inline]
fn fast_text_row<T: Number>(
    chunk: &[u8],
    mut pos: usize,
    row: &mut [T],
    modes: &[Mode],
    cells: &mut [(usize, usize)],
) -> Option<(usize, usize)> {
    let mut field = 0;
    loop {
        let mode = *modes.get(field)?;
        let (value, start, i) = if matches!(mode, Mode::Text | Mode::Cells | Mode::Skip) {
            let rest = chunk.get(pos..)?;
            let len = rest
                .iter()
                .position(|&b| matches!(b, b',' | b'\n' | b'\r' | b'"' | 0))
                .unwrap_or(rest.len());
            if mode != Mode::Skip {
                cells[field] = (pos, pos + len);
            }
            let value = match mode {
                Mode::Text => parse_number(&rest[..len]).unwrap_or(T::MISSING),
                _ => T::MISSING,
            };
            (value, pos, pos + len)
        } else {
            let d = Decimal::read(chunk, pos);
            let value = if d.end == d.start {
                T::MISSING
            } else {
                d.value()?
            };
            (value, d.start, d.end)
        };
        match end_field(chunk, start, i, value, row, &mut field)? {
            Step::Next(next) => pos = next,
            Step::Line(end, next) => return Some((end, next)),
        }
    }
}

/// One non-blank line (without its line ending) split by `csv-core` into `row`; the cells of
/// the columns read as text go to [`Sink::text`], those of columns not read are missing.
fn slow_row<S: Sink>(
    line: &[u8],
    line_no: u64,
    names: &[String],
    row: &mut [S::Value],
    splitter: &mut Splitter,
    modes: &[Mode],
    sink: &mut S,
) -> std::result::Result<(), RowError> {
    let at = |column: usize, message: String| RowError {
        line: line_no,
        column,
        message,
    };
    splitter.split(line).map_err(|(byte, m)| RowError {
        line: line_no + lines_before(line, byte),
        column: field_of(line, byte),
        message: m,
    })?;
    let (fields, width) = (splitter.len(), row.len());
    if fields != width {
        return Err(at(
            fields.min(width) + 1,
            format!("the row has {fields} fields but the header has {width} columns"),
        ));
    }
    for (i, (cell, slot)) in splitter.fields().zip(row.iter_mut()).enumerate() {
        match modes[i] {
            Mode::Skip => {
                *slot = S::Value::MISSING;
                continue;
            }
            Mode::Cells => {
                sink.text(i, (!is_missing(cell)).then_some(cell));
                *slot = S::Value::MISSING;
                continue;
            }
            Mode::Text => sink.text(i, (!is_missing(cell)).then_some(cell)),
            Mode::Number | Mode::Tolerant => {}
        }
        *slot = match parse_number(cell) {
            Some(x) => x,
            None if modes[i] == Mode::Text => S::Value::MISSING,
            None if modes[i] == Mode::Tolerant => {
                sink.text(i, Some(cell));
                S::Value::MISSING
            }
            None => {
                return Err(at(
                    i + 1,
                    format!(
                        "`{}` in column `{}` is not a number (empty cells and NaN mark missing \
                         values)",
                        excerpt_bytes(cell.trim_ascii()),
                        excerpt(names.get(i).map_or("?", String::as_str))
                    ),
                ));
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests;
