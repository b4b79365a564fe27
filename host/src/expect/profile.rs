//! `mlprobe profile`: a starting expectation suite from a dataset known to be good, as Great
//! Expectations' profiler and TFDV's schema inference write one, for a person to review.
//!
//! Two streaming passes over the file (constant memory, every core): the first collects each
//! column's [`ColumnState`], a [`QuantileSketch`] and its distinct values (up to 20); the second
//! counts values in the drift bins chosen from the first. Per column it writes:
//!
//! - `expect_column_to_exist`;
//! - `expect_column_values_to_not_be_null`, with `mostly` the observed present fraction
//!   (rounded down to 0.01) when values are missing;
//! - `expect_column_values_to_be_between` the observed min and max;
//! - `expect_column_values_to_be_in_set` the observed values, for a column of at most 20
//!   distinct integers (a label, a count);
//! - `expect_column_mean_to_be_between` mean ± 3 standard errors (`3·s/√n`) and
//!   `expect_column_stdev_to_be_between` `s · (1 ± 3/√(2(n−1)))` (the large-sample standard
//!   error of `s`): a fresh sample of the same size and distribution passes about 99.7 % of
//!   the time; a smaller batch needs wider bounds;
//! - `expect_column_quantile_values_to_be_between` for the 5th, 25th, 50th, 75th and 95th
//!   percentiles, each allowed to move 5 percentile points: the range of quantile `q` is the
//!   reference's `[Q(q − 0.05), Q(q + 0.05)]` (not for a discrete column);
//! - `expect_column_psi_to_be_less_than` 0.25 on the reference's decile bins (midpoints between
//!   values for a discrete column), with the reference proportions in `partition_object`.
//!
//! A column with a cell that is not a number (a word, `true`/`false`) is a text column
//! ([`text`](super::text)): for it `profile` writes, after `to_exist` and `not_be_null`,
//! `expect_column_values_to_be_of_type` (the dtype pandas would infer),
//! `expect_column_value_lengths_to_be_between` the observed lengths (for `object` columns), and
//! for at most 20 distinct values `expect_column_values_to_be_in_set` them and
//! `expect_column_kl_divergence_to_be_less_than` 0.1 from their proportions
//! (`tail_weight_holdout` 0.001).
//!
//! and for the table `expect_table_columns_to_match_ordered_list` (the header) and
//! `expect_table_row_count_to_be_between` with `min_value = 1` (batch sizes vary; set a range
//! if yours do not).
//!
//! A value of ±∞ (`inf`, or a number beyond ±1.8e308) is an input error at its line and column:
//! no range, mean or quantile with an infinity in it is an expectation a batch can meet.

mod stream;

pub use stream::ProfileState;

use super::text::{Census, Dtype, Item, TextKind, TextSet};
use crate::data::source::{Format, STDIN};
use crate::data::{Rejected, ScanOptions, Scanner, Sink};
use crate::error::{Error, Result};
use crate::output;
use crate::suite::{Check, Expectation, Suite};
use mlprobe_core::expect::{
    ColumnState, Kind, Partition, QuantileRanges, QuantileSketch, Range, ValueSet,
};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most distinct values for which a column gets an in-set expectation.
const MAX_DISTINCT: usize = 20;
/// Quantiles of the quantile expectation.
const QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// What `mlprobe profile` reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileOptions {
    /// The reference data: a CSV file with a header row; each column's type (numbers, booleans,
    /// text) is inferred, and text columns get text expectations.
    pub data: PathBuf,
    /// Where to write the suite (TOML; `-` for stdout). Never the data file.
    pub out: PathBuf,
    /// The suite's name (`None`: the data file's stem).
    pub name: Option<String>,
    /// Parsing threads (`None`: every core).
    pub threads: Option<usize>,
}

impl ProfileOptions {
    /// Profiles `data` into `out` on every core.
    pub fn new(data: impl Into<PathBuf>, out: impl Into<PathBuf>) -> Self {
        Self {
            data: data.into(),
            out: out.into(),
            name: None,
            threads: None,
        }
    }

    /// Checks the options; returns the scan they ask for.
    pub fn validate(&self) -> Result<ScanOptions> {
        if self.out == self.data
            || std::fs::canonicalize(&self.out)
                .is_ok_and(|o| std::fs::canonicalize(&self.data).is_ok_and(|d| d == o))
        {
            return Err(Error::Usage(format!(
                "--out: {} is the data file; write the suite elsewhere",
                self.out.display()
            )));
        }
        output::check_output(&self.out, &[&self.data])?;
        ScanOptions::with_threads(self.threads)
    }

    /// The suite's name: `name`, or the data file's name without its data extensions
    /// (`wine` for `wine.csv.gz`; `suite` for stdin).
    pub fn suite_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            if self.data.as_os_str() == STDIN {
                return "suite".into();
            }
            let mut path = self.data.as_path();
            while Format::of_name(path).is_some()
                && let Some(stem) = path.file_stem()
            {
                path = Path::new(stem);
            }
            let name = if path == self.data {
                path.file_stem()
            } else {
                path.file_name()
            };
            name.map_or("suite".into(), |s| s.to_string_lossy().into_owned())
        })
    }
}

/// The report of `mlprobe profile --json` (`out`, `rows`, `columns`, `expectations`); the suite
/// itself is written to `out`.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileReport {
    /// Where the suite was written.
    pub out: PathBuf,
    /// Data rows read.
    pub rows: u64,
    /// Data columns.
    pub columns: usize,
    /// Expectations written.
    pub expectations: usize,
    /// The suite written.
    #[serde(skip)]
    pub suite: Suite,
}

impl ProfileReport {
    /// What `mlprobe profile` prints (nothing when the suite went to stdout).
    pub fn human(&self) -> String {
        if self.out.as_os_str() == "-" {
            return String::new();
        }
        format!(
            "wrote {} expectations for {} columns ({} rows) to {}\n",
            self.expectations,
            self.columns,
            self.rows,
            self.out.display()
        )
    }
}

/// Profiles `opts.data` into a suite and writes it to `opts.out`: `mlprobe profile`.
pub fn profile(opts: &ProfileOptions) -> Result<ProfileReport> {
    let scan = opts.validate()?;
    let (suite, rows, columns) = profile_suite(&opts.data, &opts.suite_name(), scan)?;
    let comment = comment(
        &format!("`mlprobe profile --data {}`", opts.data.display()),
        rows,
    );
    output::write_new(&opts.out, suite.to_toml(&comment).as_bytes(), &[&opts.data])?;
    Ok(ProfileReport {
        out: opts.out.clone(),
        rows,
        columns,
        expectations: suite.expectations.len(),
        suite,
    })
}

/// The comment heading a profiled suite: what wrote it (`source`), from how many rows, and the
/// tolerances it chose.
fn comment(source: &str, rows: u64) -> String {
    format!(
        "Generated by {source} from {rows} rows: a starting point to review.\n\
         Tolerances: values within the observed range; mean and stdev within 3 standard errors;\n\
         quantiles may move 5 percentile points; drift: PSI < 0.25 on the reference deciles."
    )
}

#[derive(Clone)]
struct Pass1 {
    columns: Vec<ColumnState>,
    sketches: Vec<QuantileSketch>,
    /// Distinct values while there are at most [`MAX_DISTINCT`] integers; `None` after.
    distinct: Vec<Option<Vec<f64>>>,
    /// Every column's cells as text: their kinds, lengths and first distinct values.
    texts: Vec<TextProfile>,
    /// Whether the row's cell in each column is present ([`Sink::text`]).
    present: Vec<bool>,
}

/// What `profile` learns of a column's cells as text.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
struct TextProfile {
    census: Census,
    /// Shortest and longest cell, in characters.
    lengths: Option<(u64, u64)>,
    /// Distinct cells and their counts while there are at most [`MAX_DISTINCT`]; `None` after.
    distinct: Option<Vec<(String, u64)>>,
}

impl TextProfile {
    fn new() -> Self {
        Self {
            distinct: Some(Vec::new()),
            ..Self::default()
        }
    }

    fn push(&mut self, cell: &[u8], n: u64) {
        self.census.push(cell);
        let text = String::from_utf8_lossy(cell);
        let len = text.chars().count() as u64;
        self.lengths = Some(
            self.lengths
                .map_or((len, len), |(a, b)| (a.min(len), b.max(len))),
        );
        self.count(&text, n);
    }

    fn count(&mut self, text: &str, n: u64) {
        if let Some(d) = &mut self.distinct {
            match d.iter().position(|(v, _)| v == text) {
                Some(i) => d[i].1 = d[i].1.saturating_add(n),
                None if d.len() < MAX_DISTINCT => d.push((text.to_string(), n)),
                None => self.distinct = None,
            }
        }
    }

    /// Whether a state read from bytes is one `push` and `merge` can give.
    fn is_consistent(&self) -> bool {
        self.lengths.is_none_or(|(a, b)| a <= b)
            && self
                .distinct
                .as_ref()
                .is_none_or(|d| d.len() <= MAX_DISTINCT)
    }

    fn merge(&mut self, later: &TextProfile) {
        self.census.merge(&later.census);
        self.lengths = match (self.lengths, later.lengths) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, y) => x.or(y),
        };
        match &later.distinct {
            None => self.distinct = None,
            Some(d) => d.iter().for_each(|(v, n)| self.count(v, *n)),
        }
    }
}

impl Pass1 {
    /// No rows seen in `width` columns.
    fn new(width: usize) -> Self {
        Self {
            columns: vec![ColumnState::new(); width],
            sketches: vec![QuantileSketch::new(); width],
            distinct: vec![Some(Vec::new()); width],
            texts: vec![TextProfile::new(); width],
            present: vec![false; width],
        }
    }
}

impl Sink for Pass1 {
    type Value = f64;

    fn reads_text(&self, _column: usize) -> bool {
        true
    }

    fn text(&mut self, column: usize, cell: Option<&[u8]>) {
        self.present[column] = cell.is_some();
        if let Some(cell) = cell {
            self.texts[column].push(cell, 1);
        }
    }

    fn row(&mut self, values: &[f64], _line: u64) -> std::result::Result<(), Rejected> {
        for (column, &x) in values.iter().enumerate() {
            if x.is_nan() && self.present[column] {
                self.columns[column].push_text();
                continue;
            }
            if x.is_infinite() {
                // A range, a mean or a quantile with ±∞ in it is no expectation a batch can
                // meet: name the cell instead of profiling it.
                return Err(Rejected {
                    column: column + 1,
                    message: format!(
                        "the value is {} (`inf`, or beyond ±1.8e308): a profile describes finite \
                         data; fix or remove the row, or leave the cell empty (missing)",
                        if x > 0.0 { "+∞" } else { "-∞" }
                    ),
                });
            }
            self.columns[column].push(x);
            if x.is_nan() {
                continue;
            }
            self.sketches[column].push(x);
            let d = &mut self.distinct[column];
            if let Some(set) = d {
                if x.fract() != 0.0 {
                    *d = None;
                } else if !set.contains(&x) {
                    if set.len() == MAX_DISTINCT {
                        *d = None;
                    } else {
                        set.push(x);
                    }
                }
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self, _lines_before: u64) {
        for (a, b) in self.columns.iter_mut().zip(&later.columns) {
            a.merge(b);
        }
        for (a, b) in self.sketches.iter_mut().zip(&later.sketches) {
            a.merge(b);
        }
        for (a, b) in self.texts.iter_mut().zip(&later.texts) {
            a.merge(b);
        }
        for (a, b) in self.distinct.iter_mut().zip(later.distinct) {
            match (a.as_mut(), b) {
                (Some(set), Some(more)) => {
                    for x in more {
                        if !set.contains(&x) {
                            set.push(x);
                        }
                    }
                    if set.len() > MAX_DISTINCT {
                        *a = None;
                    }
                }
                _ => *a = None,
            }
        }
    }
}

struct Pass2 {
    partitions: Arc<[Option<Partition>]>,
    counts: Vec<Vec<u64>>,
}

impl Pass2 {
    /// No rows counted in the bins of `partitions`.
    fn new(partitions: &Arc<[Option<Partition>]>) -> Self {
        Self {
            partitions: partitions.clone(),
            counts: partitions
                .iter()
                .map(|p| vec![0; p.as_ref().map_or(0, |p| p.weights().len())])
                .collect(),
        }
    }
}

impl Sink for Pass2 {
    type Value = f64;

    fn row(&mut self, values: &[f64], _line: u64) -> std::result::Result<(), Rejected> {
        for ((&x, p), counts) in values
            .iter()
            .zip(self.partitions.iter())
            .zip(&mut self.counts)
        {
            if let Some(p) = p
                && !x.is_nan()
            {
                counts[p.bin(x)] += 1;
            }
        }
        Ok(())
    }

    /// A text column (or one without drift bins) is not counted: its cells may be words.
    fn reads_text(&self, column: usize) -> bool {
        self.partitions.get(column).is_none_or(Option::is_none)
    }

    fn merge(&mut self, later: Self, _lines_before: u64) {
        for (a, b) in self.counts.iter_mut().zip(later.counts) {
            a.iter_mut()
                .zip(b)
                .for_each(|(x, y)| *x = x.saturating_add(y));
        }
    }
}

/// Profiles `data` into a suite named `name`; returns it with the row and column counts.
///
/// Profiling takes two passes over the rows. A regular file (compressed or not) is read twice;
/// anything else (stdin, a FIFO) is read once, its CSV text copied to an anonymous temporary
/// file as the first pass reads it, and the second pass reads the copy.
pub fn profile_suite(data: &Path, name: &str, options: ScanOptions) -> Result<(Suite, u64, usize)> {
    let input = crate::data::source::open(data)?;
    let path = input.path().to_path_buf();
    let spool = if input.reopenable() {
        None
    } else {
        Some(tempfile::tempfile().map_err(|e| Error::io(&path, e))?)
    };
    let (names, header_line, (p1, rows)) = match &spool {
        None => first_pass(Scanner::from_input(input)?, options)?,
        Some(copy) => {
            let copy = copy.try_clone().map_err(|e| Error::io(&path, e))?;
            first_pass(
                Scanner::from_reader(
                    &path,
                    Tee {
                        source: input.into_reader()?,
                        copy,
                    },
                )?,
                options,
            )?
        }
    };
    let width = names.len();
    if rows == 0 {
        return Err(Error::Parse {
            path: path.clone(),
            line: header_line + 1,
            column: 1,
            message: "no data rows after the header: nothing to profile".into(),
        });
    }
    let partitions = bins_of(&p1);
    let pass2 = || Pass2::new(&partitions);
    let (p2, _) = match spool {
        None => Scanner::open(data)?.scan(options, pass2)?,
        Some(mut copy) => {
            use std::io::Seek;
            copy.rewind().map_err(|e| Error::io(&path, e))?;
            Scanner::from_file(&path, copy)?.scan(options, pass2)?
        }
    };

    let suite = suite_of(name, &names, &p1, &p2)?;
    Ok((suite, rows, width))
}

/// The drift bins of each column: deciles of the reference, or midpoints between a discrete
/// column's values (`None` for a text column, or one with too few or too many bins).
fn bins_of(p1: &Pass1) -> Arc<[Option<Partition>]> {
    let width = p1.columns.len();
    let is_text = |c: usize| p1.columns[c].text_count() > 0;
    (0..width)
        .map(|c| {
            if is_text(c) {
                return None;
            }
            let edges = match &p1.distinct[c] {
                Some(set) if !set.is_empty() => {
                    let mut v = set.clone();
                    v.sort_by(f64::total_cmp);
                    let mut e = vec![v[0] - 0.5];
                    e.extend(v.windows(2).map(|w| (w[0] + w[1]) / 2.0));
                    e.push(v[v.len() - 1] + 0.5);
                    e
                }
                _ => {
                    let mut e: Vec<f64> = (0..=10)
                        .filter_map(|i| p1.sketches[c].quantile(f64::from(i) / 10.0))
                        .collect();
                    e.dedup();
                    e
                }
            };
            if edges.len() < 3 || edges.len() > mlprobe_core::expect::MAX_BINS + 1 {
                return None;
            }
            let k = edges.len() - 1;
            Partition::new(&edges, &vec![1.0 / k as f64; k]).ok()
        })
        .collect()
}

/// The suite `name` of a table with columns `names`, from its two passes.
fn suite_of(name: &str, names: &[String], p1: &Pass1, p2: &Pass2) -> Result<Suite> {
    let is_text = |c: usize| p1.columns[c].text_count() > 0;
    let partitions = &p2.partitions;
    let mut expectations = vec![
        table(Check::ColumnList(names.to_vec())),
        table(Check::Core(Box::new(Kind::TableRowCountToBeBetween(
            Range::new(Some(1.0), None).map_err(internal)?,
        )))),
    ];
    for (c, column_name) in names.iter().enumerate() {
        let col = &p1.columns[c];
        let mut push = |kind: Kind| {
            expectations.push(Expectation {
                check: Check::Core(Box::new(kind)),
                column: Some(column_name.clone()),
                line: 0,
            })
        };
        push(Kind::ColumnToExist);
        let n = col.element_count();
        let present = col.nonmissing_count();
        let mostly = if col.missing_count() == 0 {
            Some(1.0)
        } else {
            let m = (100.0 * present as f64 / n as f64).floor() / 100.0;
            (m > 0.0).then_some(m)
        };
        if let Some(mostly) = mostly {
            push(Kind::ValuesToNotBeNull { mostly });
        }
        if is_text(c) {
            let text = &p1.texts[c];
            expectations.extend(
                text_expectations(text, col.missing_count())
                    .into_iter()
                    .map(|kind| Expectation {
                        check: Check::Text(Box::new(kind)),
                        column: Some(column_name.clone()),
                        line: 0,
                    }),
            );
            continue;
        }
        let (Some(min), Some(max)) = (col.min(), col.max()) else {
            continue; // every value missing: nothing more to expect
        };
        push(Kind::ValuesToBeBetween {
            range: Range::new(Some(min), Some(max)).map_err(internal)?,
            mostly: 1.0,
        });
        if let Some(set) = &p1.distinct[c] {
            push(Kind::ValuesToBeInSet {
                set: ValueSet::new(set).map_err(internal)?,
                mostly: 1.0,
            });
        }
        if let Some(mean) = col.mean() {
            let s = col.stdev().unwrap_or(0.0);
            let se = 3.0 * s / (present as f64).sqrt();
            push(Kind::MeanToBeBetween(
                Range::new(Some(mean - se), Some(mean + se)).map_err(internal)?,
            ));
        }
        if let Some(s) = col.stdev() {
            let rel = 3.0 / (2.0 * (present as f64 - 1.0)).sqrt();
            push(Kind::StdevToBeBetween(
                Range::new(Some((s * (1.0 - rel)).max(0.0)), Some(s * (1.0 + rel)))
                    .map_err(internal)?,
            ));
        }
        // A discrete column's distribution is pinned by its set and its drift bins; sketch
        // quantiles (bucket midpoints) would only blur its values.
        if p1.distinct[c].is_none() {
            let sketch = &p1.sketches[c];
            let q = |x: f64| sketch.quantile(x.clamp(0.0, 1.0));
            let ranges = QUANTILES
                .iter()
                .map(|&x| Range::new(q(x - 0.05), q(x + 0.05)))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(internal)?;
            push(Kind::QuantileValuesToBeBetween(
                QuantileRanges::new(&QUANTILES, &ranges).map_err(internal)?,
            ));
        }
        if let Some(p) = &partitions[c] {
            let counts = &p2.counts[c];
            let total: u64 = counts.iter().sum();
            if total > 0 {
                let weights: Vec<f64> = counts.iter().map(|&k| k as f64 / total as f64).collect();
                push(Kind::PsiToBeLessThan {
                    partition: Partition::new(p.edges(), &weights).map_err(internal)?,
                    threshold: 0.25,
                });
            }
        }
    }
    Ok(Suite {
        name: name.to_string(),
        expectations,
    })
}

/// What `profile` expects of a text column: its dtype; for free text (`object`) its lengths;
/// for at most [`MAX_DISTINCT`] categories their set and a KL divergence below 0.1 from their
/// proportions (a category missing from the reference gets 0.1 % of the weight, so a new one
/// fails the set, not an infinite divergence).
fn text_expectations(text: &TextProfile, missing: u64) -> Vec<TextKind> {
    let dtype = text.census.dtype(missing);
    let mut out = vec![TextKind::OfType {
        name: dtype.name().to_string(),
        dtype,
    }];
    if dtype == Dtype::Object
        && let Some((min, max)) = text.lengths
    {
        out.push(TextKind::LengthsBetween {
            min: Some(min),
            max: Some(max),
            mostly: 1.0,
        });
    }
    if let Some(d) = &text.distinct
        && !d.is_empty()
    {
        let items = d.iter().map(|(v, _)| Item::Text(v.clone())).collect();
        out.push(TextKind::InSet {
            set: TextSet::new(items),
            mostly: 1.0,
        });
        let total: u64 = d.iter().map(|(_, n)| n).sum();
        out.push(TextKind::KlDivergence {
            values: d.iter().map(|(v, _)| v.clone()).collect(),
            weights: d.iter().map(|(_, n)| *n as f64 / total as f64).collect(),
            threshold: 0.1,
            tail_weight_holdout: 0.001,
        });
    }
    out
}

/// The first pass: column statistics, quantile sketches and distinct values; with the header's
/// names and line.
fn first_pass<R: std::io::Read + Send>(
    scanner: Scanner<R>,
    options: ScanOptions,
) -> Result<(Vec<String>, u64, (Pass1, u64))> {
    let names = scanner.names.clone();
    let width = names.len();
    let header_line = scanner.header_line;
    let scanned = scanner.scan(options, || Pass1::new(width))?;
    Ok((names, header_line, scanned))
}

/// A reader that copies what it reads to `copy` (the spool of a non-seekable input).
struct Tee<R> {
    source: R,
    copy: std::fs::File,
}

impl<R: std::io::Read> std::io::Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::io::Write;
        let n = self.source.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

fn table(check: Check) -> Expectation {
    Expectation {
        check,
        column: None,
        line: 0,
    }
}

fn internal(e: mlprobe_core::expect::ExpectError) -> Error {
    Error::Internal(format!("profile built an invalid expectation: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suite_is_named_after_its_data_without_the_data_extensions() {
        let name = |data: &str| ProfileOptions::new(data, "s.toml").suite_name();
        assert_eq!(name("data/wine.csv"), "wine");
        assert_eq!(name("wine.csv.gz"), "wine");
        assert_eq!(name("wine.CSV.ZST"), "wine");
        assert_eq!(name("/tmp/batch.parquet"), "batch");
        assert_eq!(name("batch.dat"), "batch");
        assert_eq!(name("-"), "suite");
    }
}
