use super::*;

fn p(text: &str) -> Result<Dataset> {
    parse(Path::new("t.csv"), text, Labels::Required("label"))
}

fn message(r: Result<Dataset>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn parses_features_labels_and_missing_values() {
    let d = p("a,b,label\n1,2.5,0\n,NaN,1\r\n\n3,\"4\",2\n").unwrap();
    assert_eq!(d.feature_names, ["a", "b"]);
    assert_eq!(d.rows(), 3);
    assert_eq!(d.labels.as_deref(), Some(&[0u8, 1, 2][..]));
    assert!(d.row(1).iter().all(|v| v.is_nan()));
    assert_eq!(d.row(2), &[3.0, 4.0]);
    assert_eq!(d.lines, [2, 3, 5]);
    assert_eq!(d.classes(), 3);
}

#[test]
fn label_column_may_be_anywhere_or_absent_when_optional() {
    let d = parse(Path::new("t.csv"), "y,a\n1,5\n", Labels::Required("y")).unwrap();
    assert_eq!(d.feature_names, ["a"]);
    assert_eq!(d.labels.as_deref(), Some(&[1u8][..]));
    let d = parse(
        Path::new("t.csv"),
        "a,b,y,c,d\n1,2,3,4,5\n6,7,8,9,10\n",
        Labels::Required("y"),
    )
    .unwrap();
    assert_eq!(d.features, [1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 9.0, 10.0]);
    assert_eq!(d.labels.as_deref(), Some(&[3u8, 8][..]));
    let d = parse(
        Path::new("t.csv"),
        "a,b,y,c\n1,2,3,4\n",
        Labels::Required("y"),
    )
    .unwrap();
    assert_eq!(d.labels.as_deref(), Some(&[3u8][..]));
    let d = parse(Path::new("t.csv"), "a,b\n1,5\n", Labels::Optional("label")).unwrap();
    assert_eq!(d.width(), 2);
    assert!(d.labels.is_none());
}

#[test]
fn errors_name_file_line_and_column() {
    assert_eq!(
        message(p("")),
        "t.csv:1:1: the file is empty: expected a header row of column names, then rows of numbers"
    );
    assert!(message(p("a,label\n")).starts_with("t.csv:2:1: no data rows"));
    assert!(
        message(p("a,b,label\n1,2,0\n1,2\n"))
            .starts_with("t.csv:3:3: the row has 2 fields but the header has 3")
    );
    assert!(message(p("a,b,label\n1,2,0,9\n")).starts_with("t.csv:2:4: the row has 4 fields"));
    assert_eq!(
        message(p("a,b,label\n1,x7,0\n")),
        "t.csv:2:2: `x7` in column `b` is not a number (empty cells and NaN mark missing values)"
    );
    assert!(
        message(p("a,b\n1,2\n"))
            .starts_with("t.csv:1:1: no label column `label`; the columns are: a, b")
    );
    assert!(
        message(p("a,label\n1,1.5\n"))
            .contains("t.csv:2:2: label column `label`: `1.5` is not a class number")
    );
    assert!(message(p("a,label\n1,-1\n")).contains("not a class number"));
    assert!(message(p("a,label\n1,\n")).contains("the label is missing"));
    assert!(message(p("a,label\n1,x\n")).contains("t.csv:2:2: label column `label`: `x` is not"));
    assert!(message(p("a,a,label\n1,2,0\n")).contains("appears twice"));
    assert!(message(p("a,label\n\"1,0\n")).contains("unterminated double quote"));
    // A label is read from its text, exactly: not through f32 (where it would be 2).
    assert!(message(p("a,label\n1,2.00000001\n")).contains("not a class number"));
}

#[test]
fn rfc_4180_quoting() {
    // Quoted fields with commas and doubled quotes, in the header and the rows; CRLF.
    let text = "\"a,1\",\"b \"\"x\"\"\",label\r\n\"1.5\",\"2\",\"0\"\r\n3,\"-4\",1\r\n";
    let d = p(text).unwrap();
    assert_eq!(d.feature_names, ["a,1", "b \"x\""]);
    assert_eq!(d.features, [1.5, 2.0, 3.0, -4.0]);
    assert_eq!(d.labels.as_deref(), Some(&[0u8, 1][..]));
    // A quoted field may hold a newline (RFC 4180): in a numeric column it is a cell that is
    // not a number, located at the record's line (was: "t.csv:3:0: unterminated double
    // quote (a quoted field cannot span lines)").
    let e = message(p("a,b,label\n1,2,0\n1,\"2\n3\",0\n"));
    assert!(
        e.starts_with("t.csv:3:2: `2\\n3` in column `b` is not a number"),
        "{e}"
    );
    // In the header it is read, and the rows after it keep their file lines.
    let d = p("\"a\nunits\",label\n1,0\n\n2,1\n").unwrap();
    assert_eq!(d.feature_names, ["a\nunits"]);
    assert_eq!(d.lines, [3, 5]);
    // A label `predict` ignores may hold any text, newlines too.
    let d = parse(
        Path::new("t.csv"),
        "a,label\n1,\"cat\nbig\"\n2,x\n3,\n",
        Labels::Ignored("label"),
    )
    .unwrap();
    assert_eq!(
        (d.features.as_slice(), d.lines.as_slice()),
        (&[1.0, 2.0, 3.0][..], &[2, 4, 5][..])
    );
    assert!(d.labels.is_none());
    assert_eq!(d.label_column, Some(2));
    // A quote inside an unquoted field (RFC 4180 quotes whole fields) is refused where it is.
    let e = message(p("a,label\n1\"2,0\n"));
    assert!(
        e.starts_with("t.csv:2:1: a double quote inside an unquoted field"),
        "{e}"
    );
    let e = message(p("a,label\n1,\"0\n"));
    assert!(e.starts_with("t.csv:2:2: unterminated double quote"), "{e}");
    // A quoted cell that is not a number names its column.
    assert!(message(p("a,label\n\"x,y\",0\n")).contains("t.csv:2:1: `x,y` in column `a`"));
}

#[test]
fn written_csv_reads_back_to_the_same_values_and_quotes_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.csv");
    let d = p("x,\"y,z\",label\n0.1,,1\n-3.25e-7,16777217,0\ninf,7,2\n").unwrap();
    d.write_csv(&path, 0..d.rows()).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("x,\"y,z\",label\n0.1,,1\n"), "{text}");
    let back = load(&path, Labels::Required("label")).unwrap();
    assert_eq!(back.feature_names, d.feature_names);
    assert_eq!(back.labels, d.labels);
    let bits = |d: &Dataset| d.features.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&d));
    // Rows chosen, atomically replaced.
    d.write_csv(&path, [2]).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "x,\"y,z\",label\ninf,7,2\n"
    );
    // What a scan of the written file reads as f64.
    assert_eq!(as_written(0.1), 0.1);
    assert!(as_written(f32::NAN).is_nan());
    assert_eq!(as_written(f32::INFINITY), f64::INFINITY);
}

#[test]
fn many_chunks_and_threads_give_the_loader_the_same_rows() {
    let mut text = String::from("a,b,label\n");
    for i in 0..20_000u32 {
        text.push_str(&format!("{},{}.5,{}\n", i, i % 97, i % 3));
    }
    let d = p(&text).unwrap();
    for threads in [1, 2, 3] {
        let options = ScanOptions {
            threads,
            chunk_bytes: 4096,
        };
        let scanner = Scanner::from_reader(Path::new("t.csv"), text.as_bytes()).unwrap();
        let chunked = from_scanner(scanner, Labels::Required("label"), options).unwrap();
        assert_eq!(chunked.features, d.features);
        assert_eq!(chunked.labels, d.labels);
        assert_eq!(chunked.lines, d.lines);
    }
    let mut bad = text.clone();
    bad.push_str("1,2,9.5\n");
    let scanner = Scanner::from_reader(Path::new("t.csv"), bad.as_bytes()).unwrap();
    let options = ScanOptions {
        threads: 2,
        chunk_bytes: 4096,
    };
    let e = from_scanner(scanner, Labels::Required("label"), options).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.csv:20002:3: label column `label`: `9.5`"),
        "{e}"
    );
    assert_eq!(d.rows(), 20_000);
    assert_eq!(d.lines[19_999], 20_001);
    assert_eq!(d.row(12_345), &[12_345.0, 26.5]);
    assert_eq!(d.labels.as_ref().unwrap()[12_345], 0);
}
