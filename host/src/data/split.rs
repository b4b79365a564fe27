//! Splitting a CSV record into fields with `csv-core` (RFC 4180: comma-separated fields,
//! double quotes around a field that holds commas, quotes or newlines, `""` for a quote, LF or
//! CRLF line endings), and finding where records end ([`Quotes`]).
//!
//! A record ends at the first newline outside double quotes. Quotes are counted as `csv-core`
//! counts them inside a quoted field (`""` twice, so the state does not change); a quote in the
//! middle of an unquoted field (`ab"c`), which `csv-core` keeps as a character, is refused by
//! [`Splitter::split`] instead of being read differently by the two.

use crate::limits::excerpt_bytes;
use std::cell::Cell;

/// Splits and checks a header record: trimmed names, none empty, none twice. On error, the
/// 1-based column at fault and the message.
pub fn parse_header(line: &[u8]) -> std::result::Result<Vec<String>, (usize, String)> {
    let mut splitter = Splitter::new();
    splitter
        .split(line)
        .map_err(|(at, m)| (field_of(line, at), m))?;
    let names = splitter
        .fields()
        .enumerate()
        .map(|(i, f)| {
            std::str::from_utf8(f)
                .map(|s| s.trim().to_string())
                .map_err(|_| {
                    (
                        i + 1,
                        format!(
                            "the header is not UTF-8 text (column {}: `{}`)",
                            i + 1,
                            excerpt_bytes(f)
                        ),
                    )
                })
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err((i + 1, "empty column name in the header".into()));
        }
        if let Some(j) = names[..i].iter().position(|n| n == name) {
            return Err((
                i + 1,
                format!(
                    "column `{}` appears twice (columns {} and {})",
                    crate::limits::excerpt(name),
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(names)
}

/// Whether a double quote is open at the end of the bytes seen so far: the state that says
/// whether a newline ends a record (RFC 4180 lets a quoted field hold newlines).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quotes {
    /// A quote is open.
    pub open: bool,
}

impl Quotes {
    /// The first newline outside quotes in `bytes` (the state updated up to it), or `None`
    /// (the state updated over all of `bytes`). Quote-free lines cost a newline search.
    #[inline]
    pub fn first_end(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut from = 0;
        loop {
            let nl = bytes[from..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|i| from + i);
            let segment = &bytes[from..nl.unwrap_or(bytes.len())];
            if segment.iter().filter(|&&b| b == b'"').count() % 2 == 1 {
                self.open = !self.open;
            }
            match nl {
                Some(i) if !self.open => return Some(i),
                Some(i) => from = i + 1,
                None => return None,
            }
        }
    }

    /// The last newline outside quotes in `bytes`, the state updated over all of them.
    pub fn last_end(&mut self, bytes: &[u8]) -> Option<usize> {
        if !self.open && !bytes.contains(&b'"') {
            return bytes.iter().rposition(|&b| b == b'\n');
        }
        let mut last = None;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'"' => self.open = !self.open,
                b'\n' if !self.open => last = Some(i),
                _ => {}
            }
        }
        last
    }
}

/// The 1-based field (column) of a record that byte `at` is in: commas outside quotes before
/// it, plus one. Never 0.
pub fn field_of(record: &[u8], at: usize) -> usize {
    let mut open = false;
    let mut field = 1;
    for &b in &record[..at.min(record.len())] {
        match b {
            b'"' => open = !open,
            b',' if !open => field += 1,
            _ => {}
        }
    }
    field
}

/// Lines before byte `at` of a record (0 on its first line): a record may span lines.
pub fn lines_before(record: &[u8], at: usize) -> u64 {
    record[..at.min(record.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Where the quote left open at the end of `record` opened, if one is.
pub fn open_quote(record: &[u8]) -> Option<usize> {
    let mut opened = None;
    for (i, &b) in record.iter().enumerate() {
        if b == b'"' {
            opened = if opened.is_some() { None } else { Some(i) };
        }
    }
    opened
}

/// The quote left open at the end of `record`, if one is, and the message for it: a quoted
/// field that never ends, or a quote in the middle of an unquoted field (`1"2`).
pub fn unclosed_quote(record: &[u8]) -> Option<(usize, String)> {
    let at = open_quote(record)?;
    let message = if at == 0 || record[at - 1] == b',' || record[at - 1] == b'\n' {
        "unterminated double quote: the quoted field that starts here never ends"
    } else {
        STRAY_QUOTE
    };
    Some((at, message.into()))
}

const STRAY_QUOTE: &str = "a double quote inside an unquoted field: quote the whole field and \
                           double the quote (`\"a\"\"b\"`)";

/// A problem of a record's bytes that is not about one cell: a NUL byte (a binary file) or a
/// carriage return outside quotes that is not part of a CRLF line ending (old Mac line
/// endings). Returns the byte at fault and the message. `record` has no line ending.
pub fn check_bytes(record: &[u8]) -> Option<(usize, String)> {
    if let Some(i) = record.iter().position(|&b| b == 0) {
        return Some((i, not_csv(record, i)));
    }
    let record = record.strip_suffix(b"\r").unwrap_or(record);
    if !record.contains(&b'\r') {
        return None;
    }
    let mut open = false;
    for (i, &b) in record.iter().enumerate() {
        match b {
            b'"' => open = !open,
            b'\r' if !open && record.get(i + 1) != Some(&b'\n') => {
                return Some((
                    i,
                    "a carriage return (CR) without a line feed: old Mac line endings are not \
                     read; convert the file to LF or CRLF line endings (e.g. `tr '\\r' '\\n'`)"
                        .into(),
                ));
            }
            _ => {}
        }
    }
    None
}

/// The message for a NUL byte at `at` of `bytes` (the start of a file or a record).
fn not_csv(bytes: &[u8], at: usize) -> String {
    let what = if bytes.starts_with(b"PAR1") {
        " (a Parquet file, compressed: mlprobe reads Parquet uncompressed, as its own pages are)"
    } else {
        ""
    };
    format!(
        "not a CSV file: found a NUL byte (binary data) at byte {}{what}",
        at + 1
    )
}

thread_local! {
    /// A built `csv-core` reader, kept when a [`Splitter`] is dropped for the next one on this
    /// thread: building its state machine costs more than splitting a small file's header (it
    /// was a quarter of the CSV fuzz target's time). Not a clone of one built reader:
    /// csv-core 0.1's `Clone` of its state machine copies only the transition table.
    static SPARE: Cell<Option<Box<csv_core::Reader>>> = const { Cell::new(None) };
}

impl Drop for Splitter {
    fn drop(&mut self) {
        if let Some(r) = self.reader.take() {
            // Only a reader that is reset goes back (`split` resets before each record too).
            let mut r = r;
            r.reset();
            SPARE.with(|s| s.set(Some(r)));
        }
    }
}

/// One record split into fields by `csv-core` (RFC 4180), its buffers reused from record to record.
pub struct Splitter {
    /// Always `Some` until dropped, when it goes back to [`SPARE`].
    reader: Option<Box<csv_core::Reader>>,
    out: Vec<u8>,
    ends: Vec<usize>,
    fields: usize,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Splitter {
    /// A splitter for comma-separated, double-quoted fields.
    pub fn new() -> Self {
        let reader = SPARE.with(Cell::take).unwrap_or_else(|| {
            Box::new(
                csv_core::ReaderBuilder::new()
                    .terminator(csv_core::Terminator::Any(b'\n'))
                    .build(),
            )
        });
        Self {
            reader: Some(reader),
            out: vec![0; 1024],
            ends: vec![0; 64],
            fields: 0,
        }
    }

    /// Splits `line`, one record without its line ending (a trailing CR is dropped; newlines
    /// inside quoted fields are kept). On error, the byte at fault and the message: a quote
    /// left open at the end, or a quote inside an unquoted field that ends the record early.
    pub fn split(&mut self, line: &[u8]) -> std::result::Result<(), (usize, String)> {
        use csv_core::ReadRecordResult as R;
        let whole = line.strip_suffix(b"\r").unwrap_or(line);
        let mut input = whole;
        if input.is_empty() {
            // One empty field (csv-core would skip an empty line).
            self.ends[0] = 0;
            self.fields = 1;
            return Ok(());
        }
        let reader = self
            .reader
            .as_deref_mut()
            .expect("a splitter has its reader");
        reader.reset();
        let (mut nout, mut nends, mut ended) = (0, 0, false);
        loop {
            let (res, nin, o, e) =
                reader.read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
            input = &input[nin..];
            nout += o;
            nends += e;
            match res {
                R::OutputFull => self.out.resize(2 * self.out.len(), 0),
                R::OutputEndsFull => self.ends.resize(2 * self.ends.len(), 0),
                R::Record if ended => {
                    self.fields = nends;
                    return Ok(());
                }
                R::Record => {
                    // csv-core ended the record at a newline the quote count said was quoted.
                    let at = whole.len() - input.len() - 1;
                    let quote = whole[..at].iter().rposition(|&b| b == b'"').unwrap_or(at);
                    return Err((quote, STRAY_QUOTE.into()));
                }
                R::InputEmpty if !ended => {
                    input = b"\n";
                    ended = true;
                }
                R::InputEmpty | R::End => {
                    return Err(unclosed_quote(whole).unwrap_or_else(|| {
                        (
                            0,
                            "unterminated double quote: the quoted field that starts here \
                             never ends"
                                .into(),
                        )
                    }));
                }
            }
        }
    }

    /// Number of fields of the last line split.
    pub fn len(&self) -> usize {
        self.fields
    }

    /// Whether the last line split had no fields.
    pub fn is_empty(&self) -> bool {
        self.fields == 0
    }

    /// The fields of the last line split, unquoted.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let ends = &self.ends[..self.fields];
        (0..ends.len()).map(move |i| {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &self.out[start..ends[i]]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_core_splits_rfc_4180_fields() {
        let mut s = Splitter::new();
        let fields = |s: &Splitter| {
            s.fields()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
        };
        s.split(br#"a,"b,c","d""e""#).unwrap();
        assert_eq!(fields(&s), ["a", "b,c", "d\"e"]);
        s.split(b"").unwrap();
        assert_eq!(fields(&s), [""]);
        s.split(b"1,\"x\"\r").unwrap();
        assert_eq!(fields(&s), ["1", "x"]);
        // Longer than the buffers it starts with.
        let long = vec!["123456789"; 500].join(",");
        s.split(long.as_bytes()).unwrap();
        assert_eq!(s.len(), 500);
        assert!(s.split(b"1,\"2").is_err());
        assert_eq!(parse_header(b" a ,\"b,c\"").unwrap(), ["a", "b,c"]);
        assert_eq!(parse_header(b"a,,b").unwrap_err().0, 2);
    }
}
