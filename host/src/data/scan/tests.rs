use super::*;

#[derive(Debug, Default)]
struct Collect {
    values: Vec<(usize, f64)>,
    rows: usize,
    lines: Vec<u64>,
}

impl Sink for Collect {
    type Value = f64;
    fn row(&mut self, values: &[f64], line: u64) -> std::result::Result<(), Rejected> {
        self.values.extend(values.iter().copied().enumerate());
        self.rows += 1;
        self.lines.push(line);
        Ok(())
    }
    fn merge(&mut self, later: Self, lines_before: u64) {
        self.values.extend(later.values);
        self.rows += later.rows;
        self.lines
            .extend(later.lines.iter().map(|l| l + lines_before));
    }
    fn reads_text(&self, column: usize) -> bool {
        column == 2 // a text column of the quoted-newline test
    }
}

fn scan_text(text: &str, chunk: usize, threads: usize) -> Result<(Collect, u64)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).unwrap();
    let options = ScanOptions {
        threads,
        chunk_bytes: chunk,
    };
    let from_file = Scanner::open(&path)?.scan(options, Collect::default)?;
    // The same text from memory reads the same.
    let from_memory =
        Scanner::from_reader(&path, text.as_bytes())?.scan(options, Collect::default)?;
    assert_eq!(format!("{from_file:?}"), format!("{from_memory:?}"));
    Ok(from_file)
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
        assert_eq!(many.lines, one.lines);
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
    // A quoted newline is part of the cell (was: "t.csv:2:0: unterminated double quote (a
    // quoted field cannot span lines)").
    let e = scan_text("a,b\n1,\"2\n3\"\n", 4096, 2)
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("t.csv:2:2: `2\\n3` in column `b` is not a number (empty cells and NaN mark missing values)"),
        "{e}"
    );
    // Binary data, old Mac line endings and endless lines are located errors.
    let e = scan_text("a,b\n1,2\n3,\u{0}\n", 4096, 2)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.csv:3:2: not a CSV file: found a NUL byte"),
        "{e}"
    );
    let e = scan_text("a,b\n1,2\n3,4\r5,6\n", 4096, 2)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.csv:3:2: a carriage return (CR) without a line feed"),
        "{e}"
    );
    let e = scan_text("a,b\r1,2\r", 4096, 2).unwrap_err().to_string();
    assert!(
        e.contains("t.csv:1:2: a carriage return (CR) without a line feed"),
        "{e}"
    );
    let mut long = String::from("a\n1\n");
    long.push_str(&"7".repeat(CSV_RECORD_BYTES + 10));
    let e = scan_text(&long, 4096, 2).unwrap_err().to_string();
    assert!(e.contains("t.csv:3:1: a record longer than 16 MiB"), "{e}");
    let e = scan_text("a,b\n1,\"2\n3,4\n", 4096, 2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.csv:2:2: unterminated double quote"), "{e}");
}

/// Text cells: what reaches [`Sink::text`], on the plain-line and the line-by-line paths.
#[derive(Debug, Default)]
struct Cells {
    cells: Vec<(usize, Option<String>)>,
    values: Vec<f64>,
}

impl Sink for Cells {
    type Value = f64;
    fn row(&mut self, values: &[f64], _: u64) -> std::result::Result<(), Rejected> {
        self.values.extend_from_slice(values);
        Ok(())
    }
    fn merge(&mut self, later: Self, _: u64) {
        self.cells.extend(later.cells);
        self.values.extend(later.values);
    }
    fn reads_text(&self, column: usize) -> bool {
        column != 1
    }
    fn text(&mut self, column: usize, cell: Option<&[u8]>) {
        let cell = cell.map(|c| String::from_utf8(c.to_vec()).unwrap());
        self.cells.push((column, cell));
    }
}

#[test]
fn text_cells_reach_the_sink_unquoted_with_nulls_as_none() {
    // Column 1 is numeric; 0 and 2 are text. Lines 3 and 5 take the line-by-line path
    // (quotes), the others the plain path.
    let text =
        "a,b,c\nred,1,x y\n\"bl,ue\",2,\"say \"\"hi\"\"\"\n,3,NA\n 7 ,4,N/A\r\ngreen,\"5\",\n";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).unwrap();
    for threads in [1, 2] {
        let options = ScanOptions {
            threads,
            chunk_bytes: 4096,
        };
        let (got, rows) = Scanner::open(&path)
            .unwrap()
            .scan(options, Cells::default)
            .unwrap();
        assert_eq!(rows, 5);
        let s = |c: &str| Some(c.to_string());
        assert_eq!(
            got.cells,
            vec![
                (0, s("red")),
                (2, s("x y")),
                (0, s("bl,ue")),
                (2, s("say \"hi\"")),
                (0, None),
                (2, None),
                (0, s(" 7 ")),
                (2, None),
                (0, s("green")),
                (2, None),
            ]
        );
        // A text column's numbers are still values; its words are missing.
        assert_eq!(got.values[9], 7.0);
        assert!(got.values[0].is_nan());
        assert_eq!(got.values[13], 5.0);
    }
    // A NUL byte in a text cell is the error it is in a number column.
    std::fs::write(&path, "a,b,c\nre\0d,1,x\n").unwrap();
    let e = Scanner::open(&path)
        .unwrap()
        .scan(ScanOptions::default(), Cells::default)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.csv:2:1: not a CSV file: found a NUL byte"),
        "{e}"
    );
}

/// Records whose quoted fields hold newlines are never split between chunks, whatever the
/// chunk size, and keep the line they start on.
#[test]
fn quoted_newlines_never_split_a_record_between_chunks() {
    let mut text = String::from("a,\"b\nunits\",note\n");
    for i in 0..5000 {
        text.push_str(&format!(
            "{i},{},\"line\n{i}, with \"\"quotes\"\"\"\n",
            2 * i
        ));
    }
    let (one, rows) = scan_text(&text, 1 << 20, 1).unwrap();
    assert_eq!(rows, 5000);
    let want_lines: Vec<u64> = (0..5000).map(|k| 3 + 2 * k).collect();
    assert_eq!(one.lines, want_lines);
    for threads in [1, 2, 4] {
        let (many, rows) = scan_text(&text, 4096, threads).unwrap();
        assert_eq!(rows, 5000);
        assert_eq!(many.lines, want_lines);
        let bits = |c: &Collect| c.values.iter().map(|v| v.1.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&many), bits(&one));
    }
    assert_eq!(one.values[3 * 7 + 1].1, 14.0);
    assert!(one.values[3 * 7 + 2].1.is_nan());
}
