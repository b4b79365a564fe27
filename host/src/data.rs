//! Loading a labelled numeric CSV file into memory.
//!
//! The format: a header row of column names, then rows of numbers separated by commas. Fields
//! may be double-quoted (`"a,b"`, with `""` for a quote). An empty cell, `NaN`, `nan` or `NA`
//! is a missing value (the model's normalizer fills it), not an error. The label column is
//! chosen by name and must hold class numbers `0 ≤ label < 64`.
//!
//! Every malformed input is an [`Error::Parse`] naming the file, the 1-based line and the
//! 1-based column: an empty file, a header without rows, a ragged row, a cell that is not a
//! number, a missing label column, a label that is not a class number.

use crate::error::{Error, Result};
use mlprobe_core::mlp::MAX_CLASSES;
use std::path::{Path, PathBuf};

/// A dataset held in memory, row-major.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Where it came from.
    pub path: PathBuf,
    /// Names of the feature columns, in file order (the label column left out).
    pub feature_names: Vec<String>,
    /// `rows × feature_names.len()` values, row-major; missing values are `NaN`.
    pub features: Vec<f32>,
    /// Class labels, one per row, when the label column was present.
    pub labels: Option<Vec<u8>>,
    /// The label column's name, when present.
    pub label_name: Option<String>,
    /// The 1-based line of each row in the file (for messages).
    pub lines: Vec<u64>,
}

/// What to do with the label column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels<'a> {
    /// The column must exist (training, evaluation).
    Required(&'a str),
    /// Use it if it exists; otherwise every column is a feature (prediction).
    Optional(&'a str),
}

impl Dataset {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Number of feature columns.
    pub fn width(&self) -> usize {
        self.feature_names.len()
    }

    /// Row `i`'s features.
    pub fn row(&self, i: usize) -> &[f32] {
        let w = self.width();
        &self.features[i * w..(i + 1) * w]
    }

    /// Number of classes the labels imply (largest label + 1), 0 without labels.
    pub fn classes(&self) -> usize {
        self.labels
            .as_ref()
            .and_then(|l| l.iter().max())
            .map_or(0, |&m| usize::from(m) + 1)
    }
}

/// Reads a CSV file of text cells (RFC 4180 through the `csv` crate, no header handling, rows
/// of any width, blank lines skipped): each record with its 1-based line. For small files of
/// words such as `variant,converted` events; numeric tables go through [`load`] or
/// [`crate::csvstream`].
pub fn read_records(path: &Path) -> Result<Vec<(u64, csv::StringRecord)>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(std::io::BufReader::new(file));
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            Error::Parse {
                path: path.to_path_buf(),
                line,
                column: 0,
                message: e.to_string(),
            }
        })?;
        let line = record.position().map_or(0, csv::Position::line);
        if record.iter().all(str::is_empty) {
            continue;
        }
        out.push((line, record));
    }
    Ok(out)
}

/// Splits one CSV line into fields, honouring double quotes. Returns the fields and, on an
/// unterminated quote, an error message.
pub fn split_fields(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    let mut field = String::new();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == ',' {
            fields.push(std::mem::take(&mut field));
            at_start = true;
            continue;
        } else if c == '"' && at_start && field.trim().is_empty() {
            field.clear();
            quoted = true;
        } else {
            field.push(c);
        }
        at_start = false;
    }
    if quoted {
        return Err("unterminated double quote".into());
    }
    fields.push(field);
    Ok(fields)
}

/// Splits and checks a header line: trimmed names, none empty, none twice. On error, the
/// 1-based column at fault (0 for the whole line) and the message.
pub fn parse_header(line: &str) -> std::result::Result<Vec<String>, (usize, String)> {
    let names: Vec<String> = split_fields(line)
        .map_err(|m| (0, m))?
        .into_iter()
        .map(|s| s.trim().to_string())
        .collect();
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

/// Parses a cell as a number; `None` for text that is not one. Empty, `NaN` and `NA` are
/// missing values (`NaN`).
pub fn parse_cell(cell: &str) -> Option<f32> {
    if let Some(v) = small_integer(cell) {
        return Some(v);
    }
    let t = cell.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("nan") || t == "NA" || t == "N/A" {
        return Some(f32::NAN);
    }
    t.parse::<f32>().ok()
}

/// A cell that is an integer of at most 7 digits (optionally negative), the common case of
/// pixel and count columns, without the general float parser: such integers are below 2²⁴,
/// so the value is exactly the one `f32::from_str` gives.
#[inline]
fn small_integer(cell: &str) -> Option<f32> {
    let b = cell.as_bytes();
    let (negative, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 7 {
        return None;
    }
    let mut v = 0u32;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(d - b'0');
    }
    let v = v as f32;
    Some(if negative { -v } else { v })
}

/// Reads `path` and parses it; see the [module docs](self) for the format.
pub fn load(path: &Path, labels: Labels<'_>) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        Error::Parse {
            path: path.into(),
            line,
            column: 0,
            message: "the file is not UTF-8 text".into(),
        }
    })?;
    parse(path, &text, labels)
}

/// Parses CSV text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str, labels: Labels<'_>) -> Result<Dataset> {
    let err = |line: u64, column: usize, message: String| Error::Parse {
        path: path.into(),
        line,
        column,
        message,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i as u64 + 1, l.strip_suffix('\r').unwrap_or(l)));
    let Some((header_line, header)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(err(
            1,
            1,
            "the file is empty: expected a header row of column names, then rows of numbers".into(),
        ));
    };
    let names = parse_header(header).map_err(|(column, m)| err(header_line, column, m))?;
    let (label_name, required) = match labels {
        Labels::Required(l) => (l, true),
        Labels::Optional(l) => (l, false),
    };
    let label_col = names.iter().position(|n| n == label_name);
    if label_col.is_none() && required {
        return Err(err(
            header_line,
            0,
            format!(
                "no label column `{label_name}`; the columns are: {} (choose the label with --label)",
                names.join(", ")
            ),
        ));
    }
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| Some(i) != label_col)
        .map(|(_, n)| n.clone())
        .collect();
    if feature_names.is_empty() {
        return Err(err(
            header_line,
            0,
            "no feature columns besides the label".into(),
        ));
    }
    let mut features = Vec::new();
    let mut label_values = label_col.map(|_| Vec::new());
    let mut row_lines = Vec::new();
    for (line_no, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        // Fast path: a line without quotes is read field by field, splitting on commas, with
        // no copy and no list of its fields.
        let owned = if line.contains('"') {
            Some(split_fields(line).map_err(|m| err(line_no, 0, m))?)
        } else {
            None
        };
        let count = match &owned {
            Some(fields) => fields.len(),
            None => line.bytes().filter(|&b| b == b',').count() + 1,
        };
        if count != names.len() {
            let column = count.min(names.len()) + 1;
            return Err(err(
                line_no,
                column,
                format!(
                    "the row has {count} fields but the header has {} columns",
                    names.len()
                ),
            ));
        }
        let mut cell = |i: usize, cell: &str| -> Result<()> {
            if Some(i) == label_col {
                let label = parse_label(cell).map_err(|m| {
                    err(line_no, i + 1, format!("label column `{}`: {m}", names[i]))
                })?;
                if let Some(v) = label_values.as_mut() {
                    v.push(label);
                }
                return Ok(());
            }
            let value = parse_cell(cell).ok_or_else(|| {
                err(
                    line_no,
                    i + 1,
                    format!(
                        "`{}` in column `{}` is not a number (empty cells and NaN mark missing values)",
                        cell.trim(),
                        names[i]
                    ),
                )
            })?;
            features.push(value);
            Ok(())
        };
        match &owned {
            Some(fields) => {
                for (i, c) in fields.iter().enumerate() {
                    cell(i, c)?;
                }
            }
            None => {
                // Byte by byte: cheaper than `str::split` for many short fields.
                let (mut i, mut start) = (0, 0);
                for (pos, &b) in line.as_bytes().iter().enumerate() {
                    if b == b',' {
                        cell(i, &line[start..pos])?;
                        i += 1;
                        start = pos + 1;
                    }
                }
                cell(i, &line[start..])?;
            }
        }
        row_lines.push(line_no);
    }
    if row_lines.is_empty() {
        return Err(err(
            header_line + 1,
            1,
            "no data rows after the header".into(),
        ));
    }
    Ok(Dataset {
        path: path.into(),
        feature_names,
        features,
        labels: label_values,
        label_name: label_col.map(|i| names[i].clone()),
        lines: row_lines,
    })
}

fn parse_label(cell: &str) -> std::result::Result<u8, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Err("the label is missing".into());
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("`{t}` is not a class number"))?;
    if v.fract() != 0.0 || v < 0.0 || v >= MAX_CLASSES as f64 {
        return Err(format!(
            "`{t}` is not a class number (an integer from 0 to {})",
            MAX_CLASSES - 1
        ));
    }
    Ok(v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_integer_fast_path_gives_the_float_parser_s_bits() {
        let mut cells: Vec<String> = (-1200..1200).map(|v: i32| v.to_string()).collect();
        cells.extend(
            [
                "0", "-0", "007", "9999999", "-9999999", "16777217", "12345678", "+5", "1e3", "5.",
            ]
            .map(String::from),
        );
        for c in &cells {
            let want = c.parse::<f32>().ok().map(f32::to_bits);
            assert_eq!(parse_cell(c).map(f32::to_bits), want, "{c}");
        }
        assert_eq!(small_integer("12345678"), None);
        assert_eq!(small_integer("1.5"), None);
        assert_eq!(small_integer("-"), None);
    }

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
                .starts_with("t.csv:1:0: no label column `label`; the columns are: a, b")
        );
        assert!(
            message(p("a,label\n1,1.5\n"))
                .contains("t.csv:2:2: label column `label`: `1.5` is not a class number")
        );
        assert!(message(p("a,label\n1,-1\n")).contains("not a class number"));
        assert!(message(p("a,label\n1,\n")).contains("the label is missing"));
        assert!(message(p("a,a,label\n1,2,0\n")).contains("appears twice"));
        assert!(message(p("a,label\n\"1,0\n")).contains("unterminated double quote"));
    }

    #[test]
    fn quoted_fields() {
        assert_eq!(
            split_fields(r#"a,"b,c","d""e""#).unwrap(),
            ["a", "b,c", "d\"e"]
        );
        assert_eq!(split_fields("").unwrap(), [""]);
    }
}
