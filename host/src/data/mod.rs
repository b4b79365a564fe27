//! Tables of numbers in CSV files: reading them (one path, [`scan`]), holding one in memory
//! ([`Dataset`], for training and evaluation) and writing them ([`write_csv`]).
//!
//! The format: a header row of column names, then rows of numbers separated by commas. Fields
//! may be double-quoted as RFC 4180 says (`"a,b"`, `""` for a quote, a newline inside quotes,
//! CRLF line endings). An empty cell, `NaN`, `nan`, `NA` or `N/A` is a missing value (the model's
//! normalizer fills it), not an error. A label column, chosen by name, holds class numbers
//! `0 ≤ label < 64`.
//!
//! Every malformed input is an [`Error::Parse`] naming the file, the 1-based line and the
//! 1-based column: an empty file, a header without rows, a ragged row, a cell that is not a
//! number, a missing label column, a label that is not a class number, an unterminated quote,
//! a binary file (a NUL byte), old Mac line endings (a CR without LF), a record longer than
//! [`CSV_RECORD_BYTES`](crate::limits::CSV_RECORD_BYTES). Messages quote at most
//! [`EXCERPT_CHARS`](crate::limits::EXCERPT_CHARS) characters of a cell or name.
//!
//! Every CSV file mlprobe writes goes through [`write_csv`] (the `csv` crate, atomically);
//! every CSV file it reads goes through `csv-core` with one rule for where records end
//! ([`records`] for headers and text records such as A/B events, [`scan`] for numeric rows).

pub mod arrow;
pub mod cell;
pub mod parquet;
pub mod records;
pub mod scan;
pub mod source;
pub mod split;

pub use cell::{Number, parse_number};
pub use scan::{Rejected, ScanOptions, Scanner, Sink};

use crate::error::{Error, Result};
use crate::limits::{excerpt, excerpt_list};
use mlprobe_core::mlp::MAX_CLASSES;
use std::io::Read;
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
    /// The label column's 1-based column in the file, when present (for messages).
    pub label_column: Option<usize>,
    /// The 1-based line of each row in the file (for messages).
    pub lines: Vec<u64>,
}

/// What to do with the label column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Labels<'a> {
    /// The column must exist (training, evaluation).
    Required(&'a str),
    /// Use it if it exists; otherwise every column is a feature.
    Optional(&'a str),
    /// Leave it out of the features if it exists, without reading its cells (prediction: any
    /// text there is fine, and `labels` is `None`).
    Ignored(&'a str),
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

    /// The column names as a file holds them: the features, then the label (if any).
    pub fn header(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.feature_names.iter().map(String::as_str).collect();
        if self.labels.is_some()
            && let Some(l) = &self.label_name
        {
            names.push(l);
        }
        names
    }

    /// Writes rows `rows` (features, then the label if any) to `path` as CSV ([`write_csv`],
    /// numbers as [`cell_text`] writes them). Reading the file back gives the same values.
    pub fn write_csv(&self, path: &Path, rows: impl IntoIterator<Item = usize>) -> Result<()> {
        let labels = self.labels.as_deref();
        let records = rows.into_iter().map(|i| {
            let mut r: Vec<String> = self.row(i).iter().map(|&v| cell_text(v)).collect();
            if let Some(l) = labels {
                r.push(l[i].to_string());
            }
            r
        });
        write_csv(path, &self.header(), records)
    }
}

/// The dataset's feature columns rearranged to `names`, in that order, with the names of the
/// columns left out. A name that is not a feature column is an error naming every missing one
/// and `who` needs them (`the model`, `--features`).
pub fn select_columns(
    data: Dataset,
    names: &[String],
    who: &str,
) -> Result<(Dataset, Vec<String>)> {
    let position: std::collections::HashMap<&str, usize> = data
        .feature_names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let missing: Vec<String> = names
        .iter()
        .filter(|n| !position.contains_key(n.as_str()))
        .map(|n| format!("`{}`", excerpt(n)))
        .collect();
    if !missing.is_empty() {
        let label = match &data.label_name {
            Some(l) if names.contains(l) => format!(" (`{}` is the label column)", excerpt(l)),
            _ => String::new(),
        };
        return Err(Error::file(
            &data.path,
            format!(
                "{} {who} needs {} missing: {}{label}",
                if missing.len() == 1 {
                    "a column"
                } else {
                    "columns"
                },
                if missing.len() == 1 { "is" } else { "are" },
                excerpt_list(missing)
            ),
        ));
    }
    let order: Vec<usize> = names.iter().map(|n| position[n.as_str()]).collect();
    let extra: Vec<String> = data
        .feature_names
        .iter()
        .filter(|n| !names.contains(n))
        .cloned()
        .collect();
    let width = data.width();
    if order.len() == width && order.iter().enumerate().all(|(k, &i)| k == i) {
        return Ok((data, extra));
    }
    let mut features = Vec::with_capacity(data.rows() * order.len());
    if width > 0 {
        for row in data.features.chunks_exact(width) {
            features.extend(order.iter().map(|&i| row[i]));
        }
    }
    let data = Dataset {
        feature_names: names.to_vec(),
        features,
        ..data
    };
    Ok((data, extra))
}

/// A value as a cell of a CSV file mlprobe writes: the shortest decimal that reads back to the
/// same `f32`; empty for a missing value.
pub fn cell_text(v: f32) -> String {
    if v.is_nan() {
        String::new()
    } else {
        v.to_string()
    }
}

/// The `f64` that [`scan`] reads from `v` written by [`cell_text`]: what `mlprobe expect` sees of
/// a row written by mlprobe (not `v as f64`: `0.1f32` is written `0.1`, read `0.1f64`).
pub fn as_written(v: f32) -> f64 {
    parse_number(cell_text(v).as_bytes()).unwrap_or(f64::NAN)
}

/// Writes a CSV file: `header`, then `rows`, through the `csv` crate (RFC 4180 quoting where a
/// field needs it), atomically (a temporary file in the same directory, renamed).
pub fn write_csv<H, R, C>(path: &Path, header: &[H], rows: R) -> Result<()>
where
    H: AsRef<str>,
    R: IntoIterator,
    R::Item: IntoIterator<Item = C>,
    C: AsRef<[u8]>,
{
    let internal =
        |e: csv::Error| Error::Internal(format!("writing CSV for {}: {e}", path.display()));
    let mut w = csv::WriterBuilder::new()
        .flexible(false)
        .from_writer(Vec::new());
    w.write_record(header.iter().map(AsRef::as_ref))
        .map_err(internal)?;
    for row in rows {
        w.write_record(row).map_err(internal)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::Internal(format!("writing CSV for {}: {e}", path.display())))?;
    crate::output::write_file(path, &bytes)
}

/// Reads a CSV file of text cells record by record ([`records::Records`]: RFC 4180 through
/// `csv-core` as every other reader, a UTF-8 BOM skipped, records of any width, blank lines
/// skipped, each cell trimmed), calling `each` with the record's 1-based line and its cells.
/// Streamed: for files of words such as `variant,converted` events; numeric tables go through
/// [`load`] or [`scan`].
pub fn read_records<F>(path: &Path, mut each: F) -> Result<()>
where
    F: FnMut(u64, &[&str]) -> Result<()>,
{
    let input = source::open(path)?;
    let path = &input.path().to_path_buf();
    let mut records = records::Records::new(path, std::io::BufReader::new(input.into_reader()?));
    let mut splitter = split::Splitter::new();
    while let Some((line, raw)) = records.next_record()? {
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let located = |byte: usize, message: String| Error::Parse {
            path: path.to_path_buf(),
            line: line + split::lines_before(raw, byte),
            column: split::field_of(raw, byte),
            message,
        };
        splitter.split(raw).map_err(|(byte, m)| located(byte, m))?;
        let cells = splitter
            .fields()
            .enumerate()
            .map(|(i, f)| {
                std::str::from_utf8(f)
                    .map(str::trim)
                    .map_err(|_| Error::Parse {
                        path: path.to_path_buf(),
                        line,
                        column: i + 1,
                        message: format!("not UTF-8 text: `{}`", crate::limits::excerpt_bytes(f)),
                    })
            })
            .collect::<Result<Vec<&str>>>()?;
        each(line, &cells)?;
    }
    Ok(())
}

/// Reads `path` into memory; see the [module docs](self) for the format.
pub fn load(path: &Path, labels: Labels<'_>) -> Result<Dataset> {
    from_scanner(Scanner::open(path)?, labels, ScanOptions::default())
}

/// Parses CSV text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str, labels: Labels<'_>) -> Result<Dataset> {
    // In memory, the length is known: text of one chunk is parsed without threads.
    from_scanner(
        Scanner::from_reader(path, text.as_bytes())?.with_size(text.len() as u64),
        labels,
        ScanOptions::default(),
    )
}

fn from_scanner<R: Read + Send>(
    scanner: Scanner<R>,
    labels: Labels<'_>,
    options: ScanOptions,
) -> Result<Dataset> {
    let path = scanner.path().to_path_buf();
    let (header_line, names) = (scanner.header_line, scanner.names.clone());
    build(&path, header_line, &names, labels, |make| {
        scanner.scan(options, make)
    })
}

/// Reads a table given as Arrow record batches with `schema` (a pyarrow table, a pandas or
/// polars DataFrame) as [`load`] reads a file (`label` names it in messages): its cells have
/// the meaning its CSV text would have ([`arrow`]).
pub fn from_batches<I>(
    label: &Path,
    schema: &arrow_schema::Schema,
    batches: I,
    labels: Labels<'_>,
) -> Result<Dataset>
where
    I: IntoIterator<Item = std::result::Result<arrow_array::RecordBatch, arrow_schema::ArrowError>>,
{
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    build(label, 1, &names, labels, |make| {
        arrow::scan_batches(label, schema, batches, make(), 0)
    })
}

/// A dataset of the table with `names` (on line `header_line` of `path`), its rows read by
/// `scan` into sinks it makes with the function it is given.
fn build<'l>(
    path: &Path,
    header_line: u64,
    names: &[String],
    labels: Labels<'l>,
    scan: impl FnOnce(&(dyn Fn() -> Rows<'l> + Sync)) -> Result<(Rows<'l>, u64)>,
) -> Result<Dataset> {
    let path = path.to_path_buf();
    let err = |line: u64, column: usize, message: String| Error::Parse {
        path: path.clone(),
        line,
        column,
        message,
    };
    let (label_name, required, read_label) = match labels {
        Labels::Required(l) => (l, true, true),
        Labels::Optional(l) => (l, false, true),
        Labels::Ignored(l) => (l, false, false),
    };
    let label = names.iter().position(|n| n == label_name);
    if label.is_none() && required {
        return Err(err(
            header_line,
            1,
            format!(
                "no label column `{}`; the columns are: {} (choose the label with --label)",
                excerpt(label_name),
                excerpt_list(names)
            ),
        ));
    }
    let feature_names: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|&(i, _)| Some(i) != label)
        .map(|(_, n)| n.clone())
        .collect();
    if feature_names.is_empty() {
        return Err(err(
            header_line,
            1,
            "no feature columns besides the label".into(),
        ));
    }
    let (rows, n) = scan(&|| Rows {
        label: label.map(|i| (i, label_name)),
        read_label,
        features: Vec::new(),
        labels: Vec::new(),
        lines: Vec::new(),
        cell: Err(String::new()),
    })?;
    if n == 0 {
        return Err(err(
            header_line + 1,
            1,
            "no data rows after the header".into(),
        ));
    }
    Ok(Dataset {
        path,
        feature_names,
        features: rows.features,
        labels: label.filter(|_| read_label).map(|_| rows.labels),
        label_name: label.map(|i| names[i].clone()),
        label_column: label.map(|i| i + 1),
        lines: rows.lines,
    })
}

/// The [`Sink`] of [`load`]: features as `f32`, the label read from its text.
struct Rows<'a> {
    /// The label column's index and name.
    label: Option<(usize, &'a str)>,
    /// Whether the label's cells are read (else only left out of the features).
    read_label: bool,
    features: Vec<f32>,
    labels: Vec<u8>,
    /// Lines within the chunk, then (merged) within the file.
    lines: Vec<u64>,
    /// The label of the row being read, from its cell ([`Sink::text`]).
    cell: std::result::Result<u8, String>,
}

impl Sink for Rows<'_> {
    type Value = f32;

    fn row(&mut self, values: &[f32], line: u64) -> std::result::Result<(), Rejected> {
        match self.label {
            None => self.features.extend_from_slice(values),
            Some((l, name)) => {
                self.features.extend_from_slice(&values[..l]);
                self.features.extend_from_slice(&values[l + 1..]);
                if self.read_label {
                    let cell = std::mem::replace(&mut self.cell, Err(String::new()));
                    let label = cell.map_err(|m| Rejected {
                        column: l + 1,
                        message: format!("label column `{name}`: {m}"),
                    })?;
                    self.labels.push(label);
                }
            }
        }
        self.lines.push(line);
        Ok(())
    }

    fn merge(&mut self, mut later: Self, lines_before: u64) {
        later.lines.iter_mut().for_each(|l| *l += lines_before);
        if self.lines.is_empty() {
            // The first chunk (all of a small file): taken, not copied.
            (self.features, self.labels, self.lines) = (later.features, later.labels, later.lines);
            return;
        }
        self.features.extend_from_slice(&later.features);
        self.labels.extend_from_slice(&later.labels);
        self.lines.extend_from_slice(&later.lines);
    }

    fn reads_text(&self, column: usize) -> bool {
        self.label.is_some_and(|(l, _)| l == column)
    }

    fn text(&mut self, _column: usize, cell: Option<&[u8]>) {
        if self.read_label {
            self.cell = match cell {
                None => Err("the label is missing".into()),
                Some(c) => parse_label(&String::from_utf8_lossy(c)),
            };
        }
    }
}

fn parse_label(cell: &str) -> std::result::Result<u8, String> {
    let t = cell.trim();
    if t.is_empty() {
        return Err("the label is missing".into());
    }
    let v: f64 = t
        .parse()
        .map_err(|_| format!("`{}` is not a class number", excerpt(t)))?;
    if v.fract() != 0.0 || v < 0.0 || v >= MAX_CLASSES as f64 {
        return Err(format!(
            "`{}` is not a class number (an integer from 0 to {})",
            excerpt(t),
            MAX_CLASSES - 1
        ));
    }
    Ok(v as u8)
}

#[cfg(test)]
mod tests;
