//! Reading a numeric CSV file in chunks, in constant memory, on several threads.
//!
//! The format is [`data`]'s (header row, comma-separated numbers, double quotes,
//! empty/`NaN`/`NA`/`N/A` cells as missing values), but the file is never held whole: a reader
//! thread fills a fixed pool of buffers with chunks that end at a newline, worker threads parse
//! them into a [`Sink`] each, and the calling thread merges the sinks **in file order** (so
//! order-dependent state, like the first unexpected values, is that of one pass over the file).
//! Memory is the buffer pool (`2 × threads + 1` chunks of [`ScanOptions::chunk_bytes`]) plus
//! the sinks of the chunks in flight, whatever the file's size. A line longer than a chunk
//! grows that buffer.
//!
//! Parsing avoids per-field allocation: lines are split on bytes, and a number is read by a
//! fast path (Clinger's: a decimal with at most 19 significant digits whose integer mantissa is
//! below 2⁵³ and with at most 22 fraction digits is `m / 10ᵏ`, one correctly rounded IEEE
//! division, so the same `f64` as `str::parse`). Anything else (exponents, long mantissas,
//! spaces, missing-value markers, quoted fields) goes through [`data::parse_cell`] and
//! [`data::split_fields`], so both readers accept the same cells.
//!
//! Errors name the file, the 1-based line and the 1-based column, as the loader's do.

use crate::data;
use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, mpsc};

/// What a worker fills from the rows of a chunk; merged in file order.
pub trait Sink: Send + Sized {
    /// A value of column `column` of the current row (`NaN` when missing).
    fn value(&mut self, column: usize, x: f64);
    /// The current row is complete.
    fn row(&mut self);
    /// Appends the state of the chunk that follows in the file.
    fn merge(&mut self, later: Self);
}

/// How to read.
#[derive(Clone, Copy, Debug)]
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

/// The header row of a file, read before the rows are scanned.
#[derive(Debug)]
pub struct Scanner {
    path: PathBuf,
    file: std::fs::File,
    /// Column names, in file order.
    pub names: Vec<String>,
    /// 1-based line of the header.
    pub header_line: u64,
    /// Bytes read past the header line.
    rest: Vec<u8>,
}

impl Scanner {
    /// Opens `path` and reads its header row.
    pub fn open(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let err = |line: u64, column: usize, message: String| Error::Parse {
            path: path.into(),
            line,
            column,
            message,
        };
        let mut buf = Vec::new();
        let mut block = vec![0u8; 1 << 16];
        let mut line_no = 1u64;
        // Skips blank lines before the header.
        loop {
            let nl = buf.iter().position(|&b| b == b'\n');
            let end = match nl {
                Some(i) => i,
                None => {
                    let n = file.read(&mut block).map_err(|e| Error::io(path, e))?;
                    if n > 0 {
                        buf.extend_from_slice(&block[..n]);
                        continue;
                    }
                    buf.len()
                }
            };
            let line = &buf[..end];
            let line = line
                .strip_prefix(b"\xef\xbb\xbf".as_slice())
                .unwrap_or(line);
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                if nl.is_none() {
                    return Err(err(
                        1,
                        1,
                        "the file is empty: expected a header row of column names, then rows \
                         of numbers"
                            .into(),
                    ));
                }
                buf.drain(..=end);
                line_no += 1;
                continue;
            }
            let text = std::str::from_utf8(line)
                .map_err(|_| err(line_no, 0, "the header is not UTF-8 text".into()))?;
            let names = data::parse_header(text).map_err(|(column, m)| err(line_no, column, m))?;
            let rest = match nl {
                Some(i) => buf.split_off(i + 1),
                None => Vec::new(),
            };
            return Ok(Self {
                path: path.to_path_buf(),
                file,
                names,
                header_line: line_no,
                rest,
            });
        }
    }

    /// Scans every row: `make` builds an empty sink (one per chunk), the sinks are merged in
    /// file order. Returns the merged sink and the number of data rows (possibly 0: an empty
    /// batch is for the caller to judge, e.g. by `expect_table_row_count_to_be_between`).
    pub fn scan<S, F>(self, options: ScanOptions, make: F) -> Result<(S, u64)>
    where
        S: Sink,
        F: Fn() -> S + Sync,
    {
        let Scanner {
            path,
            mut file,
            names,
            header_line,
            rest,
        } = self;
        let width = names.len();
        let threads = options.threads.max(1);
        let chunk = options.chunk_bytes.max(1 << 12);
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
            // Reader: fills free buffers with chunks ending at a newline.
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
                    loop {
                        if buf.len() >= chunk && buf.contains(&b'\n') {
                            break;
                        }
                        let old = buf.len();
                        let want = chunk.max(old + (1 << 16));
                        buf.resize(want, 0);
                        let n = file
                            .read(&mut buf[old..])
                            .map_err(|e| Error::io(&reader_path, e))?;
                        buf.truncate(old + n);
                        if n == 0 {
                            eof = true;
                            break;
                        }
                    }
                    if !eof && let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
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
            let mut merged: Option<S> = None;
            let mut lines_before = header_line;
            let mut rows = 0u64;
            let mut failure: Option<Error> = None;
            for done in done_rx.iter() {
                pending.insert(done.seq, done);
                while let Some(d) = pending.remove(&next) {
                    next += 1;
                    match d.parsed {
                        Ok(counts) => {
                            lines_before += counts.lines;
                            rows += counts.rows;
                            match merged.as_mut() {
                                Some(m) => m.merge(d.sink),
                                None => merged = Some(d.sink),
                            }
                            let _ = free_tx.send(d.buf);
                        }
                        Err(e) => {
                            failure = Some(Error::Parse {
                                path: path.clone(),
                                line: lines_before + e.line,
                                column: e.column,
                                message: e.message,
                            });
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
            let sink = merged.unwrap_or_else(&make);
            Ok((sink, rows))
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
    let mut row = vec![0.0f64; width];
    let mut pos = 0;
    while pos < chunk.len() {
        counts.lines += 1;
        // One pass over the bytes of a plain line; anything unusual (a blank or ragged line,
        // quotes, a bad cell) is handled line by line below, with the loader's rules.
        match fast_row(chunk, pos, &mut row) {
            Some(next) => {
                for (c, &x) in row.iter().enumerate() {
                    sink.value(c, x);
                }
                sink.row();
                counts.rows += 1;
                pos = next;
            }
            None => {
                let end = memchr_newline(&chunk[pos..]).map_or(chunk.len(), |i| pos + i);
                if slow_row(&chunk[pos..end], counts.lines, width, names, sink)? {
                    counts.rows += 1;
                }
                pos = end + 1;
            }
        }
    }
    Ok(counts)
}

/// Parses the line at `pos` into `row` when it is exactly `row.len()` plain fields; returns
/// the position after its newline, or `None` to take the line-by-line path.
#[inline]
fn fast_row(chunk: &[u8], mut pos: usize, row: &mut [f64]) -> Option<usize> {
    let n = chunk.len();
    let width = row.len();
    let mut field = 0;
    loop {
        let start = pos;
        let (mut negative, mut i) = (false, pos);
        if let Some(&b) = chunk.get(i)
            && (b == b'-' || b == b'+')
        {
            negative = b == b'-';
            i += 1;
        }
        let digits_start = i;
        let mut mantissa: u64 = 0;
        let mut significant = 0u32;
        let mut fraction = 0usize;
        let mut point = false;
        while i < n {
            let b = chunk[i];
            let d = b.wrapping_sub(b'0');
            if d < 10 {
                if significant < 19 {
                    mantissa = mantissa * 10 + u64::from(d);
                    if mantissa != 0 {
                        significant += 1;
                    }
                } else {
                    significant = u32::MAX; // too long: the slow path
                }
                fraction += usize::from(point);
            } else if b == b'.' && !point {
                point = true;
            } else {
                break;
            }
            i += 1;
        }
        let stop = chunk.get(i).copied().unwrap_or(b'\n');
        let value = if stop == b',' || stop == b'\n' || stop == b'\r' {
            let len = i - digits_start;
            if i == start {
                if field == 0 && stop != b',' {
                    return None; // a blank line: skipped, as the loader does
                }
                f64::NAN // empty cell
            } else if len > usize::from(point)
                && significant != u32::MAX
                && mantissa <= (1 << 53)
                && fraction <= 22
            {
                let v = mantissa as f64 / POW10[fraction];
                if negative { -v } else { v }
            } else {
                return None;
            }
        } else {
            return None;
        };
        *row.get_mut(field)? = value;
        field += 1;
        match stop {
            b',' => pos = i + 1,
            b'\r' => {
                return (chunk.get(i + 1).is_none_or(|&b| b == b'\n') && field == width)
                    .then_some(i + 2);
            }
            _ => return (field == width).then_some(i + 1),
        }
    }
}

/// One line through the loader's rules; `Ok(true)` when it was a row, `Ok(false)` when blank.
fn slow_row<S: Sink>(
    raw: &[u8],
    line_no: u64,
    width: usize,
    names: &[String],
    sink: &mut S,
) -> std::result::Result<bool, RowError> {
    let line = raw.strip_suffix(b"\r").unwrap_or(raw);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(false);
    }
    let at = |column: usize, message: String| RowError {
        line: line_no,
        column,
        message,
    };
    let mut values = Vec::with_capacity(width);
    if line.contains(&b'"') {
        let text =
            std::str::from_utf8(line).map_err(|_| at(0, "the line is not UTF-8 text".into()))?;
        let cells = data::split_fields(text).map_err(|m| at(0, m))?;
        if cells.len() != width {
            return Err(ragged(at, cells.len(), width));
        }
        for (i, cell) in cells.iter().enumerate() {
            let x = parse_number(cell.as_bytes())
                .ok_or_else(|| not_a_number(at, i, cell.as_bytes(), names))?;
            values.push(x);
        }
    } else {
        for cell in line.split(|&b| b == b',') {
            if values.len() == width {
                let n = line.iter().filter(|&&b| b == b',').count() + 1;
                return Err(ragged(at, n, width));
            }
            let x =
                parse_number(cell).ok_or_else(|| not_a_number(at, values.len(), cell, names))?;
            values.push(x);
        }
    }
    if values.len() != width {
        return Err(ragged(at, values.len(), width));
    }
    for (c, x) in values.into_iter().enumerate() {
        sink.value(c, x);
    }
    sink.row();
    Ok(true)
}

fn ragged(at: impl Fn(usize, String) -> RowError, fields: usize, width: usize) -> RowError {
    at(
        fields.min(width) + 1,
        format!("the row has {fields} fields but the header has {width} columns"),
    )
}

fn not_a_number(
    at: impl Fn(usize, String) -> RowError,
    i: usize,
    cell: &[u8],
    names: &[String],
) -> RowError {
    at(
        i + 1,
        format!(
            "`{}` in column `{}` is not a number (empty cells and NaN mark missing values)",
            String::from_utf8_lossy(cell).trim(),
            names.get(i).map_or("?", String::as_str)
        ),
    )
}

#[inline]
fn memchr_newline(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// Powers of ten exactly representable as `f64`.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a cell: `Some(NaN)` for a missing value, `None` for text that is not a number.
#[inline]
pub fn parse_number(cell: &[u8]) -> Option<f64> {
    if cell.is_empty() {
        return Some(f64::NAN);
    }
    fast_decimal(cell).or_else(|| slow_number(cell))
}

/// Clinger's fast path: `[+-]digits[.digits]` with at most 19 significant digits, a mantissa
/// below 2⁵³ and at most 22 fraction digits is exactly `m / 10ᵏ` correctly rounded.
#[inline]
fn fast_decimal(s: &[u8]) -> Option<f64> {
    let (negative, s) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let mut mantissa: u64 = 0;
    let mut digits = 0u32;
    let mut fraction = 0usize;
    let mut seen_point = false;
    for &b in s {
        match b {
            b'0'..=b'9' => {
                if digits >= 19 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(b - b'0');
                if mantissa != 0 {
                    digits += 1;
                }
                if seen_point {
                    fraction += 1;
                }
            }
            b'.' if !seen_point => seen_point = true,
            _ => return None,
        }
    }
    // At least one digit ("." and "-" are not numbers).
    if s.len() == usize::from(seen_point) || mantissa > (1 << 53) || fraction > 22 {
        return None;
    }
    let v = mantissa as f64 / POW10[fraction];
    Some(if negative { -v } else { v })
}

fn slow_number(cell: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(cell).ok()?;
    // The loader's rules decide what is missing and what is a number.
    let as_f32 = data::parse_cell(text)?;
    if as_f32.is_nan() {
        return Some(f64::NAN);
    }
    text.trim().parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_equals_std_parse() {
        for s in [
            "0",
            "-0",
            "1",
            "14.23",
            "-3.5",
            "+2.25",
            "0.1",
            "1065.0",
            ".5",
            "5.",
            "123456789.123",
            "0.000001",
            "9007199254740992",
            "3.14159265358979",
        ] {
            let want: f64 = s.parse().unwrap();
            let got = parse_number(s.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        for s in [
            "1e5",
            " 7 ",
            "12345678901234567890.5",
            "inf",
            "0.1234567890123456789012345",
        ] {
            let want: f64 = s.trim().parse().unwrap();
            assert_eq!(parse_number(s.as_bytes()), Some(want), "{s}");
        }
        for s in ["", "NaN", "nan", "NA", "N/A", " "] {
            assert!(parse_number(s.as_bytes()).unwrap().is_nan(), "{s:?}");
        }
        for s in ["x", "-", ".", "1.2.3", "1,2", "--1"] {
            assert_eq!(parse_number(s.as_bytes()), None, "{s}");
        }
    }

    #[derive(Debug, Default)]
    struct Collect {
        values: Vec<(usize, f64)>,
        rows: usize,
    }

    impl Sink for Collect {
        fn value(&mut self, column: usize, x: f64) {
            self.values.push((column, x));
        }
        fn row(&mut self) {
            self.rows += 1;
        }
        fn merge(&mut self, later: Self) {
            self.values.extend(later.values);
            self.rows += later.rows;
        }
    }

    fn scan_text(text: &str, chunk: usize, threads: usize) -> Result<(Collect, u64)> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        Scanner::open(&path)?.scan(
            ScanOptions {
                threads,
                chunk_bytes: chunk,
            },
            Collect::default,
        )
    }

    #[test]
    fn chunks_merge_in_file_order_for_any_chunk_size() {
        let mut text = String::from("\n\u{feff}a,b\n");
        for i in 0..5000 {
            text.push_str(&format!("{i},\"{}\"\r\n", i * 2));
            if i % 7 == 0 {
                text.push('\n');
            }
        }
        text.push_str("1,");
        let (one, rows) = scan_text(&text, 1 << 20, 1).unwrap();
        assert_eq!(rows, 5001);
        for threads in [1, 2, 4] {
            let (many, rows) = scan_text(&text, 4096, threads).unwrap();
            assert_eq!(rows, 5001);
            assert_eq!(many.rows, 5001);
            assert_eq!(
                many.values
                    .iter()
                    .map(|v| v.1.to_bits())
                    .collect::<Vec<_>>(),
                one.values.iter().map(|v| v.1.to_bits()).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn fast_and_line_by_line_paths_agree() {
        let cells = [
            "1",
            "-0",
            "+2.5",
            "",
            "NaN",
            " 7 ",
            "1e3",
            "\"4.25\"",
            "12345678901234567890",
            "0.1",
            ".5",
            "5.",
            "N/A",
            "9007199254740993",
        ];
        let mut text = String::from("x,y\n");
        for (i, c) in cells.iter().enumerate() {
            text.push_str(&format!("{c},{i}\r\n"));
            text.push_str(&format!("{i},{c}\n\n"));
        }
        let (got, rows) = scan_text(&text, 4096, 1).unwrap();
        assert_eq!(rows, 2 * cells.len() as u64);
        let mut want = Vec::new();
        for (i, c) in cells.iter().enumerate() {
            let v = c
                .trim()
                .trim_matches('"')
                .parse::<f64>()
                .unwrap_or(f64::NAN);
            want.extend([v, i as f64, i as f64, v]);
        }
        let got: Vec<u64> = got.values.iter().map(|v| v.1.to_bits()).collect();
        let want: Vec<u64> = want.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);
        // One column: a blank line is skipped, an empty cell is not possible.
        let (one, rows) = scan_text("x\n1\n\n2\n", 4096, 1).unwrap();
        assert_eq!((rows, one.values.len()), (2, 2));
    }

    #[test]
    fn errors_name_the_line_across_chunks() {
        let mut text = String::from("a,b\n");
        for i in 0..3000 {
            text.push_str(&format!("{i},1\n"));
        }
        text.push_str("1,x7\n");
        let e = scan_text(&text, 4096, 2).unwrap_err().to_string();
        assert!(e.ends_with("t.csv:3002:2: `x7` in column `b` is not a number (empty cells and NaN mark missing values)"), "{e}");
        let e = scan_text("a,b\n1,2,3\n", 4096, 2).unwrap_err().to_string();
        assert!(
            e.ends_with("t.csv:2:3: the row has 3 fields but the header has 2 columns"),
            "{e}"
        );
        let e = scan_text("a,b\n1\n", 4096, 2).unwrap_err().to_string();
        assert!(
            e.ends_with("t.csv:2:2: the row has 1 fields but the header has 2 columns"),
            "{e}"
        );
        let e = scan_text("", 4096, 2).unwrap_err().to_string();
        assert!(e.contains("t.csv:1:1: the file is empty"), "{e}");
        let (empty, rows) = scan_text("a,b\n\n", 4096, 2).unwrap();
        assert_eq!((rows, empty.rows), (0, 0));
        let e = scan_text("a,a\n1,2\n", 4096, 2).unwrap_err().to_string();
        assert!(e.contains("appears twice"), "{e}");
    }
}
