//! `mlprobe drift`: has a table's distribution moved? Each column of a current table is
//! compared with the same column of a reference table, one test per column, the p-values
//! adjusted across columns with Benjamini–Hochberg (core's
//! [`adjust`](mlprobe_core::abtest::adjust)).
//!
//! - **Numeric** columns (every non-missing reference cell a number): the two-sample
//!   Kolmogorov–Smirnov test as `scipy.stats.ks_2samp(ref, cur, method="asymp")` computes it
//!   ([`ks`]), the Wasserstein-1 distance (`scipy.stats.wasserstein_distance`) and PSI on the
//!   reference's deciles (`numpy.quantile` at 0.1 … 0.9, bins right-closed and open at both
//!   ends, proportions floored at core's `PSI_EPSILON` = 1e-4).
//! - **Categorical** columns (any other): the chi-square test of homogeneity of the 2 × k table
//!   of category counts (`scipy.stats.chi2_contingency`, Yates' correction when `dof == 1`),
//!   and PSI over the categories (the same floor). A category is the cell's text as written.
//!
//! Missing cells (empty, `NaN`, `NA`, `N/A`, Parquet nulls) are left out and counted.
//!
//! Memory is bounded: a column keeps up to [`DriftOptions::exact_values`] values exactly, then
//! switches to a binned sketch ([`column::Grid`]) whose KS statistic and Wasserstein distance
//! come with stated bounds ([`compare`]); categories are counted up to
//! [`DriftOptions::categories`] distinct values per column, past which the column is refused
//! (exit 2) rather than tested on a lumped table.
//!
//! Use it to compare a batch with its training data; for fixed thresholds on one table
//! (ranges, sets, a PSI against stored bins) use `mlprobe expect`.

pub mod column;
pub mod compare;
pub mod dd;
pub mod html;
pub mod ks;

use crate::data::{ScanOptions, Scanner};
use crate::error::{Error, Result};
use column::{ColumnState, DriftSink, Limits, Mode};
use compare::{Bounded, Chi2, Side};
use mlprobe_core::abtest::{self, Correction};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Values kept exactly per column and file (8 MB of `f64`): past it, a sketch.
pub const EXACT_VALUES: usize = 1_000_000;
/// Bins of the sketch: each holds about 1/4096 of the first [`EXACT_VALUES`] values.
pub const SKETCH_BINS: usize = 4096;
/// Distinct categories counted per column and file.
pub const CATEGORIES: usize = 10_000;

/// Options of [`drift()`].
#[derive(Clone, Debug, PartialEq)]
pub struct DriftOptions {
    /// The reference table (`--reference`; `-` for stdin).
    pub reference: PathBuf,
    /// The current table (`--current`).
    pub current: PathBuf,
    /// The columns to compare (`--columns`); `None`: every column of the reference.
    pub columns: Option<Vec<String>>,
    /// False discovery rate of the Benjamini–Hochberg adjustment (`--alpha`, default 0.05).
    pub alpha: f64,
    /// Parsing threads (`--threads`; `None`: every core).
    pub threads: Option<usize>,
    /// Values kept exactly per column ([`EXACT_VALUES`]); a library option, not a flag.
    pub exact_values: usize,
    /// Bins of the sketch past `exact_values` ([`SKETCH_BINS`]).
    pub sketch_bins: usize,
    /// Distinct categories counted per column ([`CATEGORIES`]).
    pub categories: usize,
}

impl DriftOptions {
    /// The defaults for two files.
    pub fn new(reference: impl Into<PathBuf>, current: impl Into<PathBuf>) -> Self {
        Self {
            reference: reference.into(),
            current: current.into(),
            columns: None,
            alpha: 0.05,
            threads: None,
            exact_values: EXACT_VALUES,
            sketch_bins: SKETCH_BINS,
            categories: CATEGORIES,
        }
    }

    /// Checks the flags.
    pub fn validate(&self) -> Result<()> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::Usage(format!(
                "--alpha {}: must be between 0 and 1 (exclusive), e.g. 0.05",
                self.alpha
            )));
        }
        if crate::output::is_stdout(&self.reference) && crate::output::is_stdout(&self.current) {
            return Err(Error::Usage(
                "--reference and --current both read stdin (`-`): at most one can".into(),
            ));
        }
        if let Some(c) = &self.columns
            && (c.is_empty() || c.iter().any(|n| n.is_empty()))
        {
            return Err(Error::Usage(
                "--columns: a comma-separated list of column names, none empty".into(),
            ));
        }
        if self.exact_values == 0 || self.sketch_bins == 0 || self.categories == 0 {
            return Err(Error::Usage(
                "drift limits: exact_values, sketch_bins and categories must be at least 1".into(),
            ));
        }
        Ok(())
    }

    fn limits(&self) -> Limits {
        Limits {
            exact_values: self.exact_values,
            sketch_bins: self.sketch_bins,
            categories: self.categories,
        }
    }
}

/// What the reference says a column is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Every non-missing reference cell is a number.
    Numeric,
    /// Some reference cell is not a number.
    Categorical,
}

/// One file's side of a column.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SideSummary {
    /// Non-missing values compared.
    pub values: u64,
    /// Missing cells, left out.
    pub missing: u64,
    /// Whether every value was kept (false: the figures come from the sketch).
    pub exact: bool,
    /// For a sketched side, the largest share of its values in one sketch bin: its empirical
    /// CDF is known within this at every point. 0 when exact.
    pub sketch_bin_mass: f64,
}

/// The KS test of a numeric column.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KsResult {
    /// `D`, the largest gap between the two ECDFs.
    pub statistic: f64,
    /// Bound on `|statistic − exact D|` (0 when both sides are exact).
    pub statistic_error: f64,
    /// Two-sided p-value, `kstwo.sf(D, round(m·n/(m+n)))`.
    pub p_value: f64,
    /// The p-values at the statistic's bounds (equal when exact).
    pub p_value_range: [f64; 2],
}

/// A category's counts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CategoryCount {
    /// The category as written (invalid UTF-8 replaced).
    pub value: String,
    /// In the reference.
    pub reference: u64,
    /// In the current table.
    pub current: u64,
}

/// One column's comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnDrift {
    /// Its name.
    pub column: String,
    /// Numeric or categorical (from the reference).
    pub kind: Kind,
    /// The reference's side.
    pub reference: SideSummary,
    /// The current table's side.
    pub current: SideSummary,
    /// The test behind `p_value`: `ks` or `chi2`; `null` when not tested (a side without
    /// values: see `note`).
    pub test: Option<&'static str>,
    /// The test's p-value.
    pub p_value: Option<f64>,
    /// Benjamini–Hochberg adjusted p-value across the tested columns.
    pub adjusted_p_value: Option<f64>,
    /// `adjusted_p_value < alpha`.
    pub drifted: bool,
    /// Numeric: the KS test.
    pub ks: Option<KsResult>,
    /// Numeric: Wasserstein-1 distance (in the column's unit), with its bound.
    pub wasserstein: Option<Bounded>,
    /// PSI (numeric: on the reference's deciles; categorical: over the categories).
    pub psi: Option<f64>,
    /// Numeric: the reference's deciles, the PSI bins' inner edges.
    pub deciles: Option<Vec<f64>>,
    /// Categorical: the chi-square test.
    pub chi2: Option<Chi2>,
    /// Categorical: the counts per category (sorted by its bytes).
    pub categories: Option<Vec<CategoryCount>>,
    /// Why a column was not tested.
    pub note: Option<String>,
    /// Histogram of both sides on shared bins, for the report (not in the JSON).
    #[serde(skip)]
    pub chart: Option<html::Chart>,
}

/// The report of `mlprobe drift` (`--json`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftReport {
    /// The reference file.
    pub reference: String,
    /// The current file.
    pub current: String,
    /// Data rows of each: `{reference, current}`.
    pub rows: Rows,
    /// False discovery rate.
    pub alpha: f64,
    /// The adjustment: `bh` (Benjamini–Hochberg).
    pub correction: &'static str,
    /// Per column, in the reference's order.
    pub columns: Vec<ColumnDrift>,
    /// The names of the drifted columns.
    pub drifted: Vec<String>,
    /// No column drifted (the exit status).
    pub passed: bool,
    /// The memory limits in force: `{exact_values, sketch_bins, categories}`.
    pub limits: LimitsJson,
}

/// Data rows of the two files.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rows {
    /// The reference's.
    pub reference: u64,
    /// The current table's.
    pub current: u64,
}

/// [`Limits`] in the report.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LimitsJson {
    /// Values kept exactly per column.
    pub exact_values: usize,
    /// Bins of the sketch past it.
    pub sketch_bins: usize,
    /// Distinct categories per column.
    pub categories: usize,
}

/// Finds `name` among `names`, or says where it is missing.
fn index_of(names: &[String], name: &str, path: &Path) -> Result<usize> {
    names.iter().position(|n| n == name).ok_or_else(|| {
        Error::file(
            path,
            format!(
                "no column `{name}` (its columns: {}); name it as the header does, or leave it \
                 out of --columns",
                crate::limits::excerpt(&names.join(", "))
            ),
        )
    })
}

/// Compares the two tables of `options`.
pub fn drift(options: &DriftOptions) -> Result<DriftReport> {
    options.validate()?;
    let scan = ScanOptions::with_threads(options.threads)?;
    let limits = options.limits();
    let reference = Scanner::open(&options.reference)?;
    let current = Scanner::open(&options.current)?;
    let (ref_path, cur_path) = (reference.path().to_path_buf(), current.path().to_path_buf());
    // The columns compared, by name; every one in both files.
    let names: Vec<String> = match &options.columns {
        Some(c) => c.clone(),
        None => {
            // The current file's header is at fault: a column the reference lacks.
            if let Some(at) = current
                .names
                .iter()
                .position(|n| !reference.names.contains(n))
            {
                return Err(Error::Parse {
                    path: cur_path.clone(),
                    line: current.header_line,
                    column: at + 1,
                    message: format!(
                        "column `{}` is not in the reference {}: compare the same columns, or \
                         choose them with --columns",
                        crate::limits::excerpt(&current.names[at]),
                        ref_path.display()
                    ),
                });
            }
            reference.names.clone()
        }
    };
    let ref_index: Vec<usize> = names
        .iter()
        .map(|n| index_of(&reference.names, n, &ref_path))
        .collect::<Result<_>>()?;
    let cur_index: Vec<usize> = names
        .iter()
        .map(|n| index_of(&current.names, n, &cur_path))
        .collect::<Result<_>>()?;

    // The reference: every compared column read as numbers and as text.
    let mut modes = vec![Mode::Skip; reference.names.len()];
    ref_index.iter().for_each(|&i| modes[i] = Mode::Any);
    let (mut ref_sink, ref_rows) = reference.scan(scan, || DriftSink::new(&modes, limits))?;
    if ref_rows == 0 {
        return Err(Error::file(&ref_path, "no data rows below the header"));
    }
    let kinds: Vec<Kind> = ref_index
        .iter()
        .map(|&i| {
            if ref_sink.columns[i].text_cells > 0 {
                Kind::Categorical
            } else {
                Kind::Numeric
            }
        })
        .collect();
    // The current table: numeric columns as numbers (a text cell is an error at its line),
    // categorical ones as text.
    let mut modes = vec![Mode::Skip; current.names.len()];
    for (&i, kind) in cur_index.iter().zip(&kinds) {
        modes[i] = match kind {
            Kind::Numeric => Mode::Numeric,
            Kind::Categorical => Mode::Text,
        };
    }
    let (mut cur_sink, cur_rows) = current.scan(scan, || DriftSink::new(&modes, limits))?;
    if cur_rows == 0 {
        return Err(Error::file(&cur_path, "no data rows below the header"));
    }

    let mut columns = Vec::with_capacity(names.len());
    for (k, name) in names.iter().enumerate() {
        let r = std::mem::replace(&mut ref_sink.columns[ref_index[k]], empty_state());
        let c = std::mem::replace(&mut cur_sink.columns[cur_index[k]], empty_state());
        let paths = [ref_path.as_path(), cur_path.as_path()];
        columns.push(compare_column(name, kinds[k], r, c, paths, options)?);
    }
    adjust(&mut columns, options.alpha)?;
    let drifted: Vec<String> = columns
        .iter()
        .filter(|c| c.drifted)
        .map(|c| c.column.clone())
        .collect();
    Ok(DriftReport {
        reference: ref_path.display().to_string(),
        current: cur_path.display().to_string(),
        rows: Rows {
            reference: ref_rows,
            current: cur_rows,
        },
        alpha: options.alpha,
        correction: Correction::BenjaminiHochberg.as_str(),
        passed: drifted.is_empty(),
        drifted,
        columns,
        limits: LimitsJson {
            exact_values: limits.exact_values,
            sketch_bins: limits.sketch_bins,
            categories: limits.categories,
        },
    })
}

fn empty_state() -> ColumnState {
    DriftSink::new(
        &[Mode::Skip],
        Limits {
            exact_values: 1,
            sketch_bins: 1,
            categories: 1,
        },
    )
    .columns
    .remove(0)
}

fn summary(side: &Side, missing: u64) -> SideSummary {
    SideSummary {
        values: side.len(),
        missing,
        exact: matches!(side, Side::Exact(_)),
        sketch_bin_mass: side.bin_mass(),
    }
}

fn compare_column(
    name: &str,
    kind: Kind,
    r: ColumnState,
    c: ColumnState,
    [ref_path, cur_path]: [&Path; 2],
    options: &DriftOptions,
) -> Result<ColumnDrift> {
    let mut out = ColumnDrift {
        column: name.to_string(),
        kind,
        reference: SideSummary {
            values: 0,
            missing: r.missing,
            exact: true,
            sketch_bin_mass: 0.0,
        },
        current: SideSummary {
            values: 0,
            missing: c.missing,
            exact: true,
            sketch_bin_mass: 0.0,
        },
        test: None,
        p_value: None,
        adjusted_p_value: None,
        drifted: false,
        ks: None,
        wasserstein: None,
        psi: None,
        deciles: None,
        chi2: None,
        categories: None,
        note: None,
        chart: None,
    };
    match kind {
        Kind::Numeric => {
            let (rs, cs) = (Side::new(r.numbers), Side::new(c.numbers));
            out.reference = summary(&rs, r.missing);
            out.current = summary(&cs, c.missing);
            if rs.is_empty() || cs.is_empty() {
                out.note = Some(no_values_note(&rs, ref_path, cur_path));
                return Ok(out);
            }
            let s = compare::numeric(&rs, &cs);
            out.test = Some("ks");
            out.p_value = Some(s.p_value).filter(|p| !p.is_nan());
            if out.p_value.is_none() {
                out.note = Some("too few values for the KS p-value (m·n/(m+n) rounds to 0)".into());
                out.test = None;
            }
            out.ks = Some(KsResult {
                statistic: s.ks.value,
                statistic_error: s.ks.error,
                p_value: s.p_value,
                p_value_range: s.p_value_range,
            });
            out.wasserstein = Some(s.wasserstein);
            out.psi = Some(s.psi);
            out.deciles = Some(s.deciles);
            out.chart = Some(html::Chart::numeric(&rs, &cs));
        }
        Kind::Categorical => {
            for (state, path) in [(&r, ref_path), (&c, cur_path)] {
                if state.categories.overflow {
                    return Err(Error::file(
                        path,
                        format!(
                            "column `{name}` has more than {} distinct values (not a number \
                             in the reference{}): too many categories to compare; leave it \
                             out with --columns",
                            options.categories,
                            r.first_text_line
                                .map(|l| format!(", e.g. line {l}"))
                                .unwrap_or_default()
                        ),
                    ));
                }
            }
            let mut keys: Vec<&Vec<u8>> = r
                .categories
                .counts
                .keys()
                .chain(c.categories.counts.keys())
                .collect();
            keys.sort();
            keys.dedup();
            let count =
                |s: &ColumnState, k: &Vec<u8>| s.categories.counts.get(k).copied().unwrap_or(0);
            let rc: Vec<u64> = keys.iter().map(|k| count(&r, k)).collect();
            let cc: Vec<u64> = keys.iter().map(|k| count(&c, k)).collect();
            let (nr, nc) = (rc.iter().sum::<u64>(), cc.iter().sum::<u64>());
            out.reference.values = nr;
            out.current.values = nc;
            out.categories = Some(
                keys.iter()
                    .zip(rc.iter().zip(&cc))
                    .map(|(k, (&a, &b))| CategoryCount {
                        value: String::from_utf8_lossy(k).into_owned(),
                        reference: a,
                        current: b,
                    })
                    .collect(),
            );
            if nr == 0 || nc == 0 {
                out.note = Some(if nr == 0 {
                    format!("no values in {}", ref_path.display())
                } else {
                    format!("no values in {}", cur_path.display())
                });
                return Ok(out);
            }
            let chi2 = compare::chi2_homogeneity(&rc, &cc);
            out.test = Some("chi2");
            out.p_value = Some(chi2.p_value);
            out.chi2 = Some(chi2);
            out.psi = Some(compare::category_psi(&rc, &cc));
            out.chart = out.categories.as_deref().map(html::Chart::categorical);
        }
    }
    Ok(out)
}

fn no_values_note(reference: &Side, ref_path: &Path, cur_path: &Path) -> String {
    let path = if reference.is_empty() {
        ref_path
    } else {
        cur_path
    };
    format!(
        "no values in {} (every cell missing): not tested",
        path.display()
    )
}

/// Benjamini–Hochberg over the tested columns (core's `adjust`, as `ab adjust --method bh`).
fn adjust(columns: &mut [ColumnDrift], alpha: f64) -> Result<()> {
    let tested: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].p_value.is_some())
        .collect();
    if tested.is_empty() {
        return Ok(());
    }
    let p: Vec<f64> = tested
        .iter()
        .map(|&i| columns[i].p_value.unwrap_or(1.0))
        .collect();
    let m = p.len();
    let (mut order, mut adjusted, mut rejected) = (vec![0; m], vec![0.0; m], vec![false; m]);
    abtest::adjust(
        Correction::BenjaminiHochberg,
        &p,
        alpha,
        &mut order,
        &mut adjusted,
        &mut rejected,
    )
    .map_err(|e| Error::Internal(format!("Benjamini–Hochberg: {e}")))?;
    for (k, &i) in tested.iter().enumerate() {
        columns[i].adjusted_p_value = Some(adjusted[k]);
        // Drifted when strictly below alpha (core rejects at ≤ alpha).
        columns[i].drifted = adjusted[k] < alpha;
    }
    Ok(())
}

fn fmt_p(p: Option<f64>) -> String {
    match p {
        None => "-".into(),
        Some(p) if p < 1e-4 => format!("{p:.1e}"),
        Some(p) => format!("{p:.4}"),
    }
}

impl DriftReport {
    /// The text report: one line per column, then the verdict.
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "drift: {} ({} rows) against reference {} ({} rows); Benjamini–Hochberg at alpha {}",
            self.current, self.rows.current, self.reference, self.rows.reference, self.alpha
        );
        let width = self
            .columns
            .iter()
            .map(|c| c.column.chars().count())
            .max()
            .unwrap_or(6)
            .max(6);
        let _ = writeln!(
            s,
            "{:<width$}  {:<11}  {:>9}  {:>9}  {:<4}  {:>11}  {:>9}  {:>9}  {:>8}  {:>11}  drift",
            "column", "kind", "ref n", "cur n", "test", "statistic", "p", "adj p", "PSI", "W1"
        );
        for c in &self.columns {
            let stat = match (&c.ks, &c.chi2) {
                (Some(k), _) if k.statistic_error > 0.0 => {
                    format!("{:.4}±{:.0e}", k.statistic, k.statistic_error)
                }
                (Some(k), _) => format!("{:.6}", k.statistic),
                (_, Some(x)) => format!("{:.4}", x.statistic),
                _ => "-".into(),
            };
            let w1 = c
                .wasserstein
                .map_or("-".into(), |w| format!("{:.4e}", w.value));
            let missing = |s: &SideSummary| {
                if s.missing > 0 {
                    format!("{}+{}?", s.values, s.missing)
                } else {
                    s.values.to_string()
                }
            };
            let _ = writeln!(
                s,
                "{:<width$}  {:<11}  {:>9}  {:>9}  {:<4}  {:>11}  {:>9}  {:>9}  {:>8}  {:>11}  {}",
                c.column,
                match c.kind {
                    Kind::Numeric => "numeric",
                    Kind::Categorical => "categorical",
                },
                missing(&c.reference),
                missing(&c.current),
                c.test.unwrap_or("-"),
                stat,
                fmt_p(c.p_value),
                fmt_p(c.adjusted_p_value),
                c.psi.map_or("-".into(), |p| format!("{p:.4}")),
                w1,
                if c.drifted { "DRIFT" } else { "no" }
            );
            if let Some(n) = &c.note {
                let _ = writeln!(s, "  {}: {n}", c.column);
            }
        }
        let missing = self
            .columns
            .iter()
            .any(|c| c.reference.missing + c.current.missing > 0);
        if missing {
            s += "(n+m? : n values compared, m missing cells left out)\n";
        }
        if self
            .columns
            .iter()
            .any(|c| !c.reference.exact || !c.current.exact)
        {
            let _ = writeln!(
                s,
                "(±: a column past {} values is sketched; the statistic is within the bound shown)",
                self.limits.exact_values
            );
        }
        if self.passed {
            let _ = writeln!(s, "no drift in {} columns", self.columns.len());
        } else {
            let _ = writeln!(
                s,
                "DRIFT in {} of {} columns: {}",
                self.drifted.len(),
                self.columns.len(),
                self.drifted.join(", ")
            );
        }
        s
    }
}
