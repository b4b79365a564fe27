//! Reading CSV records one at a time from any byte source, in bounded memory: the header of
//! every numeric table ([`Scanner`](super::Scanner)) and the text records of
//! [`read_records`](super::read_records) (A/B events). The rows of a numeric table take the
//! scanner's chunked path, which ends records by the same rule ([`Quotes`]).
//!
//! A UTF-8 byte order mark before the first record is skipped. A record longer than
//! [`CSV_RECORD_BYTES`] (the source never ends a record, e.g. `/dev/zero`), a NUL byte (a binary
//! file) and a quote still open at the end of the source are errors at their line and column.

use super::split::{Quotes, check_bytes, field_of, lines_before, unclosed_quote};
use crate::error::{Error, Result};
use crate::limits::{CSV_RECORD_BYTES, size};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bytes asked of the source per read.
const BLOCK: usize = 1 << 16;

/// Records read one at a time; see the [module docs](self).
#[derive(Debug)]
pub struct Records<R> {
    path: PathBuf,
    source: R,
    buf: Vec<u8>,
    /// Start of the next record in `buf`.
    start: usize,
    /// 1-based line where the next record starts.
    line: u64,
    eof: bool,
    first: bool,
}

impl<R: Read> Records<R> {
    /// Records of `source`; `path` names it in messages.
    pub fn new(path: &Path, source: R) -> Self {
        Self {
            path: path.to_path_buf(),
            source,
            buf: Vec::new(),
            start: 0,
            line: 1,
            eof: false,
            first: true,
        }
    }

    fn err(&self, line: u64, column: usize, message: String) -> Error {
        Error::Parse {
            path: self.path.clone(),
            line,
            column,
            message,
        }
    }

    /// The next record: its first line (1-based) and its bytes without the line ending (a
    /// trailing CR dropped), or `None` at the end of the source. Blank lines are records too.
    pub fn next_record(&mut self) -> Result<Option<(u64, &[u8])>> {
        let mut quotes = Quotes::default();
        let mut scanned = self.start;
        let end = loop {
            if let Some(i) = quotes.first_end(&self.buf[scanned..]) {
                break scanned + i;
            }
            scanned = self.buf.len();
            if self.buf.len() - self.start > CSV_RECORD_BYTES {
                // A binary file says so; anything else is too long.
                self.check(self.start, self.buf.len())?;
                return Err(self.err(
                    self.line,
                    1,
                    format!(
                        "a record longer than {} (CSV_RECORD_BYTES) without a line end: not a \
                         CSV file, or a double quote left open",
                        size(CSV_RECORD_BYTES as u64)
                    ),
                ));
            }
            if self.eof {
                if self.start == self.buf.len() {
                    return Ok(None);
                }
                break self.buf.len();
            }
            // Records already returned are dropped only when more is read: once per block.
            if self.start > 0 {
                self.buf.drain(..self.start);
                scanned -= self.start;
                self.start = 0;
            }
            let n = (&mut self.source)
                .take(BLOCK as u64)
                .read_to_end(&mut self.buf)
                .map_err(|e| Error::io(&self.path, e))?;
            self.eof = n == 0;
        };
        let mut start = self.start;
        if self.first {
            self.first = false;
            if self.buf[start..].starts_with(b"\xef\xbb\xbf") {
                start = (start + 3).min(end);
            }
        }
        let stop = if end > start && self.buf[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        self.check(start, stop)?;
        let line = self.line;
        self.line += lines_before(&self.buf[start..stop], stop - start) + 1;
        self.start = (end + 1).min(self.buf.len());
        Ok(Some((line, &self.buf[start..stop])))
    }

    /// Checks the record `buf[start..stop]` (starting at `self.line`): a NUL byte, a bare CR,
    /// then a quote left open.
    fn check(&self, start: usize, stop: usize) -> Result<()> {
        let record = &self.buf[start..stop];
        let fault = check_bytes(record).or_else(|| unclosed_quote(record));
        match fault {
            None => Ok(()),
            Some((at, message)) => Err(self.err(
                self.line + lines_before(record, at),
                field_of(record, at),
                message,
            )),
        }
    }

    /// The source, the bytes read past the last record returned, and the line they start at.
    pub fn into_parts(mut self) -> (R, Vec<u8>, u64) {
        let rest = self.buf.split_off(self.start.min(self.buf.len()));
        (self.source, rest, self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8]) -> Result<Vec<(u64, String)>> {
        let mut r = Records::new(Path::new("t.csv"), text);
        let mut out = Vec::new();
        while let Some((line, rec)) = r.next_record()? {
            out.push((line, String::from_utf8_lossy(rec).into_owned()));
        }
        Ok(out)
    }

    #[test]
    fn records_end_at_newlines_outside_quotes() {
        let got = all(b"\xef\xbb\xbfa,b\r\n\"x\ny\",2\n\n3,\"\"\"\"\n4,5").unwrap();
        let want = [
            (1, "a,b"),
            (2, "\"x\ny\",2"),
            (4, ""),
            (5, "3,\"\"\"\""),
            (6, "4,5"),
        ];
        let want: Vec<(u64, String)> = want.iter().map(|&(l, s)| (l, s.into())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn binary_open_quotes_and_endless_records_are_located() {
        let e = all(b"a,b\n1,\"2\n3\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv:2:2: unterminated double quote: the quoted field that starts here never ends"
        );
        let e = all(b"PAR1\x15\x04,\x00\x00").unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv:1:2: not a CSV file: found a NUL byte (binary data) at byte 8 (a Parquet \
             file, compressed: mlprobe reads Parquet uncompressed, as its own pages are)"
        );
        let e = all(b"a,b\r1,2\r").unwrap_err().to_string();
        assert!(
            e.starts_with("t.csv:1:2: a carriage return (CR) without a line feed"),
            "{e}"
        );
        let zeros = std::io::repeat(0).take(1 << 30);
        let e = Records::new(Path::new("z"), zeros)
            .next_record()
            .unwrap_err();
        assert!(e.to_string().starts_with("z:1:1: not a CSV file"), "{e}");
        let endless = std::io::repeat(b'x').take(1 << 30);
        let e = Records::new(Path::new("x"), endless)
            .next_record()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x:1:1: a record longer than 16 MiB"),
            "{e}"
        );
    }
}
