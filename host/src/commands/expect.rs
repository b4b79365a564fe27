//! `mlprobe expect`: check a CSV file against an expectation suite (Great Expectations names
//! and semantics), reading it in chunks on every core in constant memory.
//!
//! Each chunk is parsed into per-column [`ColumnState`]s and per-expectation [`CheckState`]s
//! ([`mlprobe_core::expect`]); the chunks' states are merged in file order and evaluated once.
//! A column the data lacks fails its expectations (with `exception_info` saying so) without
//! stopping the others. Exit 1 when an expectation fails, 2 on a bad suite or data file.

use crate::commands::Outcome;
use crate::csvstream::{ScanOptions, Scanner, Sink};
use crate::error::{Error, Result};
use crate::output;
use crate::report::{self, Case, Report};
use crate::suite::{Check, Suite};
use mlprobe_core::expect::{
    CheckState, ColumnState, Kind, Observed, Outcome as Evaluated, QuantileSketch, evaluate,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Check a CSV file against an expectation suite.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  mlprobe expect --suite data/wine.suite.toml --data data/wine.csv\n  \
        mlprobe expect --suite suite.toml --data big.csv --json --junit expect.xml\n\n\
        Write a starting suite from data known to be good with `mlprobe profile`."
)]
pub struct Args {
    /// The expectation suite (TOML, Great Expectations types and parameters).
    #[arg(long, value_name = "SUITE.toml")]
    pub suite: PathBuf,
    /// The data: a CSV file with a header row and numeric columns.
    #[arg(long, value_name = "FILE.csv")]
    pub data: PathBuf,
    /// Print one JSON document (success, statistics, results) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write a JUnit XML report to this file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Parsing threads (default: every core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// The JSON document of `mlprobe expect --json` (DESIGN.md, "JSON").
#[derive(Clone, Debug, Serialize)]
pub struct Validation {
    /// Every expectation held.
    pub success: bool,
    /// Counts of expectations.
    pub statistics: Statistics,
    /// One entry per expectation, in suite order.
    pub results: Vec<ExpectationResult>,
    /// The suite's name.
    pub suite: String,
    /// The data file.
    pub data: PathBuf,
    /// Data rows read.
    pub rows: u64,
    /// Seconds spent reading and checking.
    pub seconds: f64,
    /// Peak resident set size of this process (`VmHWM`, Linux), when the OS reports it.
    pub peak_rss_bytes: Option<u64>,
}

/// Counts of expectations (Great Expectations' `statistics`).
#[derive(Clone, Debug, Serialize)]
pub struct Statistics {
    /// Expectations evaluated.
    pub evaluated: usize,
    /// That held.
    pub successful: usize,
    /// That did not.
    pub unsuccessful: usize,
    /// `100 · successful / evaluated`.
    pub success_percent: f64,
}

/// One expectation's result.
#[derive(Clone, Debug, Serialize)]
pub struct ExpectationResult {
    /// The Great Expectations type.
    pub expectation_type: String,
    /// The column, `null` for table expectations.
    pub column: Option<String>,
    /// Whether it held.
    pub success: bool,
    /// The Great Expectations result fields that apply.
    pub result: Map<String, Value>,
    /// When the expectation could not be evaluated (its column is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception_info: Option<ExceptionInfo>,
    /// Line of the expectation in the suite file.
    pub suite_line: usize,
    /// One line for humans.
    #[serde(skip)]
    pub summary: String,
}

/// Great Expectations' `exception_info`.
#[derive(Clone, Debug, Serialize)]
pub struct ExceptionInfo {
    /// Always true when present.
    pub raised_exception: bool,
    /// What went wrong.
    pub exception_message: String,
}

/// Runs `mlprobe expect`.
pub fn run(args: Args) -> Result<Outcome> {
    let suite = Suite::load(&args.suite)?;
    let mut options = ScanOptions::default();
    if let Some(t) = args.threads {
        if t == 0 {
            return Err(Error::Usage("--threads: must be at least 1".into()));
        }
        options.threads = t;
    }
    let v = validate(&suite, &args.data, options)?;
    if let Some(path) = &args.junit {
        to_report(&v).write(&report::Junit, path)?;
    }
    if args.json {
        output::print_json(&v)?;
    } else {
        output::print(&human(&v))?;
    }
    Ok(if v.success {
        Outcome::Pass
    } else {
        Outcome::Fail
    })
}

/// Per-chunk state: one [`ColumnState`] per data column, one [`CheckState`] per expectation.
struct State<'p> {
    plan: &'p Plan<'p>,
    columns: Vec<ColumnState>,
    checks: Vec<CheckState>,
}

/// The suite resolved against the data's header.
struct Plan<'s> {
    /// Per expectation: its core kind (if any) and its column's index (if present).
    items: Vec<(Option<&'s Kind>, Option<usize>)>,
    /// Per data column: the expectations that must see its values.
    by_column: Vec<Vec<usize>>,
}

impl<'p> State<'p> {
    fn new(plan: &'p Plan<'p>) -> Self {
        Self {
            plan,
            columns: vec![ColumnState::new(); plan.by_column.len()],
            checks: plan
                .items
                .iter()
                .map(|(k, col)| match (k, col) {
                    (Some(k), Some(_)) => CheckState::new(k),
                    _ => CheckState::Nothing,
                })
                .collect(),
        }
    }
}

impl Sink for State<'_> {
    #[inline]
    fn value(&mut self, column: usize, x: f64) {
        let Some(c) = self.columns.get_mut(column) else {
            return;
        };
        c.push(x);
        if x.is_nan() {
            return;
        }
        for &i in &self.plan.by_column[column] {
            if let (Some(check), (Some(kind), _)) = (self.checks.get_mut(i), self.plan.items[i]) {
                check.push(kind, x);
            }
        }
    }

    fn row(&mut self) {}

    fn merge(&mut self, later: Self) {
        for (a, b) in self.columns.iter_mut().zip(&later.columns) {
            a.merge(b);
        }
        for (a, b) in self.checks.iter_mut().zip(&later.checks) {
            a.merge(b);
        }
    }
}

/// Checks `data` against `suite`.
pub fn validate(suite: &Suite, data: &Path, options: ScanOptions) -> Result<Validation> {
    let start = Instant::now();
    let scanner = Scanner::open(data)?;
    let names = scanner.names.clone();
    let position = |c: &Option<String>| c.as_ref().and_then(|c| names.iter().position(|n| n == c));
    let items: Vec<(Option<&Kind>, Option<usize>)> = suite
        .expectations
        .iter()
        .map(|e| {
            let kind = match &e.check {
                Check::Core(k) => Some(&**k),
                Check::ColumnList(_) => None,
            };
            (kind, position(&e.column))
        })
        .collect();
    let mut by_column = vec![Vec::new(); names.len()];
    for (i, (kind, col)) in items.iter().enumerate() {
        if let (Some(k), Some(c)) = (kind, col)
            && k.needs_values()
        {
            by_column[*c].push(i);
        }
    }
    let plan = Plan { items, by_column };
    let (state, rows) = scanner.scan(options, || State::new(&plan))?;

    let mut results = Vec::with_capacity(suite.expectations.len());
    for (i, e) in suite.expectations.iter().enumerate() {
        let column = plan.items[i].1;
        let (success, result, summary, exception) = match &e.check {
            Check::ColumnList(expected) => {
                let ok = &names == expected;
                let mut m = Map::new();
                m.insert("observed_value".into(), json!(names));
                let summary = if ok {
                    format!("{} columns in order", names.len())
                } else {
                    format!(
                        "expected [{}], found [{}]",
                        expected.join(", "),
                        names.join(", ")
                    )
                };
                (ok, m, summary, None)
            }
            Check::Core(kind) => {
                let kind: &Kind = kind;
                let col_state = column.map(|c| &state.columns[c]);
                let out = evaluate(kind, rows, col_state, &state.checks[i]);
                let exception = out.column_missing.then(|| {
                    format!(
                        "column `{}` is not in the data (its columns: {})",
                        e.column.as_deref().unwrap_or(""),
                        names.join(", ")
                    )
                });
                let summary = exception.clone().unwrap_or_else(|| summarize(kind, &out));
                // `expect_column_to_exist` failing is its answer, not an exception.
                let exception = exception.filter(|_| !matches!(kind, Kind::ColumnToExist));
                (out.success, result_fields(kind, &out), summary, exception)
            }
        };
        results.push(ExpectationResult {
            expectation_type: e.type_name().to_string(),
            column: e.column.clone(),
            success,
            result,
            exception_info: exception.map(|m| ExceptionInfo {
                raised_exception: true,
                exception_message: m,
            }),
            suite_line: e.line,
            summary,
        });
    }
    let successful = results.iter().filter(|r| r.success).count();
    let evaluated = results.len();
    Ok(Validation {
        success: successful == evaluated,
        statistics: Statistics {
            evaluated,
            successful,
            unsuccessful: evaluated - successful,
            success_percent: if evaluated == 0 {
                100.0
            } else {
                100.0 * successful as f64 / evaluated as f64
            },
        },
        results,
        suite: suite.name.clone(),
        data: data.to_path_buf(),
        rows,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_bytes: crate::measure::peak_rss_bytes(),
    })
}

fn result_fields(kind: &Kind, out: &Evaluated) -> Map<String, Value> {
    let mut m = Map::new();
    if out.column_missing {
        return m;
    }
    if let Some(v) = out.element_count {
        m.insert("element_count".into(), json!(v));
    }
    if let Some(v) = out.missing_count {
        m.insert("missing_count".into(), json!(v));
    }
    if let Some(v) = out.unexpected_count {
        m.insert("unexpected_count".into(), json!(v));
        m.insert("unexpected_percent".into(), json!(out.unexpected_percent));
        let list: Vec<Value> = if matches!(kind, Kind::ValuesToNotBeNull { .. }) {
            vec![Value::Null; usize::from(out.partial_unexpected_nulls)]
        } else {
            out.partial_unexpected
                .as_slice()
                .iter()
                .map(|&x| json!(x))
                .collect()
        };
        m.insert("partial_unexpected_list".into(), Value::Array(list));
    }
    match &out.observed {
        Observed::None => {
            if !matches!(
                kind,
                Kind::ColumnToExist
                    | Kind::ValuesToNotBeNull { .. }
                    | Kind::ValuesToBeBetween { .. }
                    | Kind::ValuesToBeInSet { .. }
            ) {
                m.insert("observed_value".into(), Value::Null);
            }
        }
        Observed::Value(v) => {
            m.insert("observed_value".into(), json!(v));
        }
        Observed::Count(n) => {
            m.insert("observed_value".into(), json!(n));
        }
        Observed::Quantiles(values) => {
            let quantiles = match kind {
                Kind::QuantileValuesToBeBetween(qr) => qr.quantiles().to_vec(),
                _ => Vec::new(),
            };
            let values: Vec<Option<f64>> = values.iter().copied().collect();
            m.insert(
                "observed_value".into(),
                json!({ "quantiles": quantiles, "values": values }),
            );
            m.insert(
                "details".into(),
                json!({
                    "method": "nearest",
                    "relative_error": QuantileSketch::RELATIVE_ERROR,
                    "absolute_error_near_zero": QuantileSketch::ABSOLUTE_ERROR,
                }),
            );
        }
    }
    m
}

fn fmt_num(x: f64) -> String {
    if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').to_string()
    }
}

fn summarize(kind: &Kind, out: &Evaluated) -> String {
    let range_text = |r: &mlprobe_core::expect::Range| {
        let lo = r.min.map_or("-inf".into(), fmt_num);
        let hi = r.max.map_or("inf".into(), fmt_num);
        let open = if r.strict_min { '(' } else { '[' };
        let close = if r.strict_max { ')' } else { ']' };
        format!("{open}{lo}, {hi}{close}")
    };
    let observed = |r: &mlprobe_core::expect::Range| match out.observed {
        Observed::Value(v) => format!("observed {} (expected {})", fmt_num(v), range_text(r)),
        Observed::Count(n) => format!("observed {n} (expected {})", range_text(r)),
        _ => "no non-missing values".into(),
    };
    match kind {
        Kind::ColumnToExist => "found".into(),
        Kind::ValuesToNotBeNull { .. } => format!(
            "{} of {} missing ({:.2} %)",
            out.unexpected_count.unwrap_or(0),
            out.element_count.unwrap_or(0),
            out.unexpected_percent.unwrap_or(0.0)
        ),
        Kind::ValuesToBeBetween { .. } | Kind::ValuesToBeInSet { .. } => {
            let n = out.element_count.unwrap_or(0) - out.missing_count.unwrap_or(0);
            let mut s = format!(
                "{} of {} unexpected ({:.2} %)",
                out.unexpected_count.unwrap_or(0),
                n,
                out.unexpected_percent.unwrap_or(0.0)
            );
            let first: Vec<String> = out
                .partial_unexpected
                .as_slice()
                .iter()
                .take(3)
                .map(|&x| fmt_num(x))
                .collect();
            if !first.is_empty() {
                s.push_str(&format!(", first: {}", first.join(", ")));
            }
            s
        }
        Kind::MeanToBeBetween(r)
        | Kind::StdevToBeBetween(r)
        | Kind::MinToBeBetween(r)
        | Kind::MaxToBeBetween(r)
        | Kind::TableRowCountToBeBetween(r) => observed(r),
        Kind::QuantileValuesToBeBetween(qr) => match &out.observed {
            Observed::Quantiles(values) => qr
                .quantiles()
                .iter()
                .zip(values)
                .zip(qr.ranges())
                .map(|((q, v), r)| {
                    let ok = v.is_some_and(|v| r.contains(v));
                    let v = v.map_or("-".into(), fmt_num);
                    if ok {
                        format!("q{q} = {v}")
                    } else {
                        format!("q{q} = {v} (expected {})", range_text(r))
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => "no non-missing values".into(),
        },
        Kind::PsiToBeLessThan { threshold, .. } => match out.observed {
            Observed::Value(v) => format!("PSI {v:.4} (threshold {})", fmt_num(*threshold)),
            _ => "no non-missing values".into(),
        },
        _ => String::new(),
    }
}

fn human(v: &Validation) -> String {
    let mut s = format!(
        "suite `{}` on {} ({} rows, {:.3} s)\n\n",
        v.suite,
        v.data.display(),
        v.rows,
        v.seconds
    );
    let type_w = v
        .results
        .iter()
        .map(|r| r.expectation_type.len())
        .max()
        .unwrap_or(0);
    let col_w = v
        .results
        .iter()
        .map(|r| r.column.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(0);
    for r in &v.results {
        s.push_str(&format!(
            "  {}  {:type_w$}  {:col_w$}  {}\n",
            if r.success { "pass" } else { "FAIL" },
            r.expectation_type,
            r.column.as_deref().unwrap_or("-"),
            r.summary
        ));
    }
    s.push_str(&format!(
        "\n{} expectations: {} passed, {} failed\n",
        v.statistics.evaluated, v.statistics.successful, v.statistics.unsuccessful
    ));
    s
}

/// The results as a test report (one case per expectation) for `--junit`.
pub fn to_report(v: &Validation) -> Report {
    let mut suite = report::Suite::new(v.suite.clone());
    suite
        .properties
        .push(("data".into(), v.data.display().to_string()));
    suite.properties.push(("rows".into(), v.rows.to_string()));
    for r in &v.results {
        let name = match &r.column {
            Some(c) => format!("{}({c})", r.expectation_type),
            None => r.expectation_type.clone(),
        };
        let classname = format!("mlprobe.expect.{}", v.suite);
        let case = if r.success {
            Case::passed(name, classname)
        } else {
            Case::failed(name, classname, r.summary.clone(), "expectation")
        };
        suite.push(
            case.with_summary(r.summary.clone())
                .with_property("suite_line", r.suite_line),
        );
    }
    Report::new("mlprobe expect").with_suite(suite)
}
