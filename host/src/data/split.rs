//! Splitting a line of CSV into fields with `csv-core` (RFC 4180: comma-separated fields,
//! double quotes around a field that holds commas or quotes, `""` for a quote, CRLF line
//! endings). Records are lines here: a quote left open at the end of its line is an error, not
//! a field that goes on (the scanner's chunks end at newlines).

/// Splits and checks a header line: trimmed names, none empty, none twice. On error, the
/// 1-based column at fault (0 for the whole line) and the message.
pub fn parse_header(line: &[u8]) -> std::result::Result<Vec<String>, (usize, String)> {
    let mut splitter = Splitter::new();
    splitter.split(line).map_err(|m| (0, m))?;
    let names = splitter
        .fields()
        .map(|f| {
            std::str::from_utf8(f)
                .map(|s| s.trim().to_string())
                .map_err(|_| (0, "the header is not UTF-8 text".to_string()))
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
                    "column `{name}` appears twice (columns {} and {})",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(names)
}

/// One line split into fields by `csv-core` (RFC 4180), its buffers reused from line to line.
pub struct Splitter {
    reader: csv_core::Reader,
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
        Self {
            reader: csv_core::ReaderBuilder::new()
                .terminator(csv_core::Terminator::Any(b'\n'))
                .build(),
            out: vec![0; 1024],
            ends: vec![0; 64],
            fields: 0,
        }
    }

    /// Splits `line` (without its line ending; a trailing CR is dropped). A quote left open
    /// at the end of the line is an error: records are lines.
    pub fn split(&mut self, line: &[u8]) -> std::result::Result<(), String> {
        use csv_core::ReadRecordResult as R;
        let mut input = line.strip_suffix(b"\r").unwrap_or(line);
        if input.is_empty() {
            // One empty field (csv-core would skip an empty line).
            self.ends[0] = 0;
            self.fields = 1;
            return Ok(());
        }
        self.reader.reset();
        let (mut nout, mut nends, mut ended) = (0, 0, false);
        loop {
            let (res, nin, o, e) =
                self.reader
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nends..]);
            input = &input[nin..];
            nout += o;
            nends += e;
            match res {
                R::OutputFull => self.out.resize(2 * self.out.len(), 0),
                R::OutputEndsFull => self.ends.resize(2 * self.ends.len(), 0),
                R::Record => {
                    self.fields = nends;
                    return Ok(());
                }
                R::InputEmpty if !ended => {
                    input = b"\n";
                    ended = true;
                }
                R::InputEmpty | R::End => {
                    return Err(
                        "unterminated double quote (a quoted field cannot span lines)".into(),
                    );
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
