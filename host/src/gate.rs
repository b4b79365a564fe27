//! The host side of the quality gate: a policy from TOML, baselines in JSON, slice predicates,
//! and the conversion of [`mlprobe_core::validate`] results into reports and JSON.
//!
//! Core decides (thresholds, regression); this module reads and writes the files around it:
//!
//! - [`Policy`]: thresholds, allowed regression and slices, from a TOML file (`--policy FILE`):
//!
//!   ```toml
//!   [thresholds]
//!   min_accuracy = 0.9          # min_<metric> for higher-is-better metrics
//!   min_f1 = 0.85
//!   max_latency_p99_us = 500    # max_<metric> for lower-is-better metrics
//!   max_memory_bytes = 65536
//!
//!   [regression]
//!   allowed_pct = 5.0           # default for every metric (the seed's 5 %)
//!   [regression.metrics]
//!   latency_p99_us = 50.0       # per-metric override: latency is noisy
//!
//!   slices = ["alcohol > 13", "label == 2"]   # before the first table
//!   ```
//!
//!   Metric names are [`Metric::name`]s (`accuracy`, `precision_macro` or `precision`,
//!   `recall_macro` or `recall`, `f1_macro` or `f1`, `latency_p50_us` … `latency_p999_us`,
//!   `memory_bytes`, `peak_rss_bytes`). Errors name the file, line and column.
//! - [`Baseline`]: the metrics of a run (and of its slices), as JSON (`--save-baseline`,
//!   `--baseline`).
//! - [`Predicate`]: `COLUMN OP NUMBER` with `<, <=, >, >=, ==, !=` (`alcohol > 13`,
//!   `"fixed acidity" <= 7.5`), bound to a CSV header and evaluated on rows of `f32`.
//! - [`GateReport`]: the threshold and regression results of a run and of each slice, turned
//!   into a [`Report`] for JUnit/Markdown and a [`GateJson`] for `--json`.

use crate::report::{Case, Report, Status, Suite};
use mlprobe_core::validate::{
    Change, Comparison, Metric, Metrics, Outcome, RegressionPolicy, RegressionReport,
    ThresholdCheck, ThresholdReport, Thresholds,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Errors of the gate's inputs. Each is the user's to fix (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// A policy or baseline file is malformed at a place.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file is wrong as a whole.
    #[error("{}: {message}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A slice expression is malformed.
    #[error("slice `{expr}`: {message} (at character {position})")]
    Slice {
        /// The expression as given.
        expr: String,
        /// 1-based character position of the problem.
        position: usize,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A slice names a column the data does not have.
    #[error("slice `{expr}`: no column `{column}` in the data (columns: {available})")]
    UnknownColumn {
        /// The expression.
        expr: String,
        /// The column asked for.
        column: String,
        /// The columns there are, comma-separated.
        available: String,
    },
    /// A threshold or percentage given on the command line is invalid.
    #[error("{flag}: {message}")]
    Flag {
        /// The flag, e.g. `--min-accuracy`.
        flag: String,
        /// What is wrong.
        message: String,
    },
}

impl GateError {
    fn parse(path: &Path, text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_column(text, offset);
        GateError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

impl From<GateError> for crate::error::Error {
    /// Every gate error is the user's to fix: exit code 2, with file, line and column kept.
    fn from(e: GateError) -> Self {
        use crate::error::Error;
        match e {
            GateError::Parse {
                path,
                line,
                column,
                message,
            } => Error::Parse {
                path,
                line: line as u64,
                column,
                message,
            },
            GateError::File { path, message } => Error::File { path, message },
            GateError::Io { path, source } => Error::Io { path, source },
            other => Error::Usage(other.to_string()),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

// ---------------------------------------------------------------------------------------------
// Policy

/// What the gate checks: thresholds, the allowed regression, and the slices.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Limits on metrics.
    pub thresholds: Thresholds,
    /// Allowed regression against a baseline.
    pub regression: RegressionPolicy,
    /// Subgroups gated by the same thresholds.
    pub slices: Vec<Predicate>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::new(),
            regression: RegressionPolicy::new(Self::DEFAULT_ALLOWED_PCT)
                .unwrap_or_else(|_| unreachable!("5.0 is a valid percentage")),
            slices: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    slices: Vec<toml::Spanned<String>>,
    #[serde(default)]
    thresholds: BTreeMap<toml::Spanned<String>, toml::Spanned<f64>>,
    regression: Option<RawRegression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegression {
    allowed_pct: Option<toml::Spanned<f64>>,
    #[serde(default)]
    metrics: BTreeMap<toml::Spanned<String>, toml::Spanned<f64>>,
}

impl Policy {
    /// The allowed regression when none is given: 5 %, the seed's `allowed_regression_pct`.
    pub const DEFAULT_ALLOWED_PCT: f64 = 5.0;

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<Self, GateError> {
        let text = std::fs::read_to_string(path).map_err(|source| GateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses a policy; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, GateError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            GateError::parse(path, text, offset, e.message().trim().to_string())
        })?;
        let mut policy = Policy::default();
        for (key, value) in &raw.thresholds {
            let (metric, prefix_ok) = threshold_key(key.get_ref());
            let Some(metric) = metric else {
                return Err(GateError::parse(
                    path,
                    text,
                    key.span().start,
                    format!(
                        "unknown threshold `{}`: expected min_<metric> or max_<metric> with a \
                         metric among {}",
                        key.get_ref(),
                        metric_names()
                    ),
                ));
            };
            if !prefix_ok {
                let want = threshold_name(metric);
                return Err(GateError::parse(
                    path,
                    text,
                    key.span().start,
                    format!(
                        "`{}` has the wrong direction: write `{want}`",
                        key.get_ref()
                    ),
                ));
            }
            policy
                .thresholds
                .set(metric, *value.get_ref())
                .map_err(|e| GateError::parse(path, text, value.span().start, e.to_string()))?;
        }
        if let Some(reg) = &raw.regression {
            if let Some(pct) = &reg.allowed_pct {
                policy.regression = RegressionPolicy::new(*pct.get_ref())
                    .map_err(|e| GateError::parse(path, text, pct.span().start, e.to_string()))?;
            }
            for (key, pct) in &reg.metrics {
                let metric = Metric::from_name(key.get_ref()).ok_or_else(|| {
                    GateError::parse(
                        path,
                        text,
                        key.span().start,
                        format!(
                            "unknown metric `{}`: expected one of {}",
                            key.get_ref(),
                            metric_names()
                        ),
                    )
                })?;
                policy
                    .regression
                    .set_allowed(metric, *pct.get_ref())
                    .map_err(|e| GateError::parse(path, text, pct.span().start, e.to_string()))?;
            }
        }
        for s in &raw.slices {
            let p = s
                .get_ref()
                .parse::<Predicate>()
                .map_err(|e| GateError::parse(path, text, s.span().start, e.to_string()))?;
            policy.slices.push(p);
        }
        Ok(policy)
    }

    /// Sets a threshold from a command-line flag (overriding the policy file).
    pub fn set_threshold(
        &mut self,
        flag: &str,
        metric: Metric,
        limit: f64,
    ) -> Result<(), GateError> {
        self.thresholds
            .set(metric, limit)
            .map_err(|e| GateError::Flag {
                flag: flag.to_string(),
                message: e.to_string(),
            })
    }

    /// Sets the allowed regression of every metric from a command-line flag.
    pub fn set_allowed_pct(&mut self, flag: &str, pct: f64) -> Result<(), GateError> {
        self.regression = RegressionPolicy::new(pct).map_err(|e| GateError::Flag {
            flag: flag.to_string(),
            message: e.to_string(),
        })?;
        Ok(())
    }
}

/// The policy key of a metric's threshold: `min_accuracy`, `max_latency_p99_us`.
pub fn threshold_name(metric: Metric) -> String {
    let kind = match metric.direction() {
        mlprobe_core::validate::Direction::HigherIsBetter => "min",
        mlprobe_core::validate::Direction::LowerIsBetter => "max",
    };
    format!("{kind}_{}", metric.name())
}

/// The metric of a threshold key, and whether its `min_`/`max_` prefix fits the direction.
fn threshold_key(key: &str) -> (Option<Metric>, bool) {
    let (kind, name) = match (key.strip_prefix("min_"), key.strip_prefix("max_")) {
        (Some(n), _) => ("min", n),
        (_, Some(n)) => ("max", n),
        _ => return (None, false),
    };
    match Metric::from_name(name) {
        Some(m) => (Some(m), threshold_name(m).starts_with(kind)),
        None => (None, false),
    }
}

fn metric_names() -> String {
    Metric::ALL
        .iter()
        .map(|m| m.name())
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Baseline

/// The metrics of a reference run, compared against by later runs (`--baseline`).
///
/// ```json
/// { "version": 1, "metrics": { "accuracy": 0.97, "latency_p99_us": 4.2 },
///   "slices": { "alcohol > 13": { "accuracy": 0.95 } } }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version, 1.
    pub version: u32,
    /// Metric name → value, as [`Metric::name`].
    pub metrics: BTreeMap<String, f64>,
    /// Slice expression → its metrics.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub slices: BTreeMap<String, BTreeMap<String, f64>>,
    /// Free-form provenance (model, data, mlprobe version, time), not compared.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub info: BTreeMap<String, String>,
}

impl Baseline {
    /// The format version written.
    pub const VERSION: u32 = 1;

    /// A baseline of a run's metrics and its slices' metrics.
    pub fn new(metrics: &Metrics, slices: &[(String, Metrics)]) -> Self {
        Self {
            version: Self::VERSION,
            metrics: to_map(metrics),
            slices: slices.iter().map(|(k, m)| (k.clone(), to_map(m))).collect(),
            info: BTreeMap::new(),
        }
    }

    /// The run's metrics.
    pub fn metrics(&self) -> Metrics {
        // Names are checked on load; an unknown one (built by hand) is skipped.
        from_map(&self.metrics).0
    }

    /// A slice's metrics, if the baseline has the slice.
    pub fn slice(&self, expr: &str) -> Option<Metrics> {
        self.slices.get(expr).map(|m| from_map(m).0)
    }

    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Self, GateError> {
        let text = std::fs::read_to_string(path).map_err(|source| GateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses a baseline; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self, GateError> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| GateError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string(),
        })?;
        let file_err = |message: String| GateError::File {
            path: path.to_path_buf(),
            message,
        };
        if b.version != Self::VERSION {
            return Err(file_err(format!(
                "baseline version {} is not supported (this mlprobe reads version {})",
                b.version,
                Self::VERSION
            )));
        }
        let check = |map: &BTreeMap<String, f64>, place: &str| match from_map(map).1 {
            None => Ok(()),
            Some(key) => Err(file_err(format!(
                "unknown metric `{key}` in {place}: expected one of {}",
                metric_names()
            ))),
        };
        check(&b.metrics, "`metrics`")?;
        for (name, m) in &b.slices {
            check(m, &format!("slice `{name}`"))?;
        }
        Ok(b)
    }

    /// Writes the baseline as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), GateError> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| GateError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        text.push('\n');
        std::fs::write(path, text).map_err(|source| GateError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

fn to_map(m: &Metrics) -> BTreeMap<String, f64> {
    // JSON has no NaN/infinity: non-finite values are left out (and then fail as missing).
    m.iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(k, v)| (k.name().to_string(), v))
        .collect()
}

/// The metrics of a map, and the first unknown name if any (which is skipped).
fn from_map(map: &BTreeMap<String, f64>) -> (Metrics, Option<String>) {
    let mut m = Metrics::new();
    let mut unknown = None;
    for (k, &v) in map {
        match Metric::from_name(k) {
            Some(metric) => m.set(metric, v),
            None => unknown = unknown.or(Some(k.clone())),
        }
    }
    (m, unknown)
}

// ---------------------------------------------------------------------------------------------
// Slices

/// A comparison operator of a slice predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// `lhs OP rhs`. A NaN (missing) `lhs` is in no slice, whatever the operator.
    pub fn apply(self, lhs: f32, rhs: f32) -> bool {
        if lhs.is_nan() {
            return false;
        }
        match self {
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
        }
    }
}

/// A slice: `COLUMN OP NUMBER`, e.g. `alcohol > 13` or `"fixed acidity" <= 7.5`.
///
/// ```
/// use mlprobe::gate::Predicate;
/// let p: Predicate = "alcohol > 13".parse().unwrap();
/// let bound = p.bind(&["alcohol", "label"]).unwrap();
/// assert!(bound.matches(&[13.5, 0.0]));
/// assert!(!bound.matches(&[13.0, 0.0]));
/// assert!("alcohol >> 13".parse::<Predicate>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// The expression as the user wrote it (trimmed): the slice's name in reports.
    pub expr: String,
    /// The column name.
    pub column: String,
    /// The operator.
    pub op: CmpOp,
    /// The number compared with.
    pub value: f32,
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl std::str::FromStr for Predicate {
    type Err = GateError;

    fn from_str(s: &str) -> Result<Self, GateError> {
        let expr = s.trim();
        let err = |byte: usize, message: String| GateError::Slice {
            expr: expr.to_string(),
            position: expr.get(..byte).map_or(0, |p| p.chars().count()) + 1,
            message,
        };
        // Column: a quoted name ("…" or `…`) or a run up to whitespace or an operator.
        let (column, rest_at) = match expr.chars().next() {
            None => {
                return Err(err(
                    0,
                    "empty expression: expected `COLUMN OP NUMBER`, e.g. `alcohol > 13`".into(),
                ));
            }
            Some(q @ ('"' | '`')) => match expr[1..].find(q) {
                Some(end) => (&expr[1..1 + end], end + 2),
                None => return Err(err(0, format!("unterminated quote {q}"))),
            },
            Some(_) => {
                let end = expr
                    .find(|c: char| c.is_whitespace() || "<>=!".contains(c))
                    .unwrap_or(expr.len());
                (&expr[..end], end)
            }
        };
        if column.is_empty() {
            return Err(err(0, "expected a column name before the operator".into()));
        }
        let after_col = &expr[rest_at..];
        let op_at = rest_at + (after_col.len() - after_col.trim_start().len());
        let ops = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ];
        let rest = &expr[op_at..];
        let Some((sym, op)) = ops.iter().find(|(sym, _)| rest.starts_with(sym)) else {
            let hint = if rest.starts_with('=') {
                " (write `==` for equality)"
            } else {
                ""
            };
            return Err(err(
                op_at,
                format!("expected an operator <, <=, >, >=, == or != after the column{hint}"),
            ));
        };
        let num_raw = &rest[sym.len()..];
        let num_at = op_at + sym.len() + (num_raw.len() - num_raw.trim_start().len());
        let num = num_raw.trim();
        if num.starts_with(['<', '>', '=', '!']) {
            return Err(err(
                num_at,
                format!("unexpected `{}` after `{sym}`", &num[..1]),
            ));
        }
        let value = match num.parse::<f32>() {
            Ok(v) if v.is_finite() => v,
            Ok(_) => return Err(err(num_at, format!("`{num}` is not a finite number"))),
            Err(_) if num.is_empty() => {
                return Err(err(num_at, format!("expected a number after `{sym}`")));
            }
            Err(_) => {
                return Err(err(
                    num_at,
                    format!("expected a number after `{sym}`, found `{num}`"),
                ));
            }
        };
        Ok(Predicate {
            expr: expr.to_string(),
            column: column.to_string(),
            op: *op,
            value,
        })
    }
}

impl Predicate {
    /// Resolves the column in a header (exact name, else a unique case-insensitive match).
    pub fn bind<S: AsRef<str>>(&self, header: &[S]) -> Result<BoundPredicate, GateError> {
        let exact = header.iter().position(|h| h.as_ref() == self.column);
        let index = exact.or_else(|| {
            let mut it = header
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_ref().eq_ignore_ascii_case(&self.column));
            match (it.next(), it.next()) {
                (Some((i, _)), None) => Some(i),
                _ => None,
            }
        });
        let index = index.ok_or_else(|| GateError::UnknownColumn {
            expr: self.expr.clone(),
            column: self.column.clone(),
            available: header
                .iter()
                .map(|h| h.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
        Ok(BoundPredicate {
            index,
            op: self.op,
            value: self.value,
        })
    }
}

/// A [`Predicate`] whose column is an index into rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundPredicate {
    /// The column's index in the header.
    pub index: usize,
    /// The operator.
    pub op: CmpOp,
    /// The number compared with.
    pub value: f32,
}

impl BoundPredicate {
    /// True when the row is in the slice (a row too short for the column is not).
    pub fn matches(&self, row: &[f32]) -> bool {
        row.get(self.index)
            .is_some_and(|&x| self.op.apply(x, self.value))
    }
}

// ---------------------------------------------------------------------------------------------
// Results

/// The gate's verdict on one set of metrics (the whole data or one slice).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Checked {
    /// Threshold checks.
    pub thresholds: ThresholdReport,
    /// Comparison with the baseline, when there is one (for a slice: when the baseline has it).
    pub regression: Option<RegressionReport>,
}

impl Checked {
    /// Checks metrics against a policy and an optional baseline.
    pub fn new(policy: &Policy, metrics: &Metrics, baseline: Option<&Metrics>) -> Self {
        Self {
            thresholds: policy.thresholds.check(metrics),
            regression: baseline.map(|b| policy.regression.compare(b, metrics)),
        }
    }

    /// True when every threshold held and nothing regressed.
    pub fn passed(&self) -> bool {
        self.thresholds.passed()
            && self
                .regression
                .as_ref()
                .is_none_or(RegressionReport::passed)
    }
}

/// The gate's verdict on a run and its slices.
#[derive(Clone, Debug, PartialEq)]
pub struct GateReport {
    /// The whole data.
    pub overall: Checked,
    /// Each slice: its expression, its row count and its verdict.
    pub slices: Vec<(String, usize, Checked)>,
}

impl GateReport {
    /// Checks a run (`overall`) and its slices (expression, row count, metrics).
    pub fn new(
        policy: &Policy,
        overall: &Metrics,
        slices: &[(String, usize, Metrics)],
        baseline: Option<&Baseline>,
    ) -> Self {
        let base = baseline.map(Baseline::metrics);
        // Latency and memory belong to the model, not to a subgroup of rows: a slice is gated
        // by the quality thresholds only.
        let mut slice_policy = policy.clone();
        for m in Metric::ALL.into_iter().filter(|m| !is_quality(*m)) {
            slice_policy.thresholds.unset(m);
        }
        Self {
            overall: Checked::new(policy, overall, base.as_ref()),
            slices: slices
                .iter()
                .map(|(expr, n, m)| {
                    let b = baseline.and_then(|b| b.slice(expr));
                    (expr.clone(), *n, Checked::new(&slice_policy, m, b.as_ref()))
                })
                .collect(),
        }
    }

    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.overall.passed() && self.slices.iter().all(|(_, _, c)| c.passed())
    }

    /// The failed checks, one sentence each (DESIGN.md's `violations`); slices prefixed
    /// `[slice EXPR]`.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let all = std::iter::once((None, &self.overall))
            .chain(self.slices.iter().map(|(e, _, c)| (Some(e.as_str()), c)));
        for (slice, c) in all {
            let prefix = slice.map_or(String::new(), |e| format!("[slice {e}] "));
            out.extend(c.thresholds.violations().map(|v| format!("{prefix}{v}")));
            if let Some(r) = &c.regression {
                out.extend(
                    r.iter()
                        .filter(|c| !c.passed())
                        .map(|c| format!("{prefix}regression: {c}")),
                );
            }
        }
        out
    }

    /// The JUnit/Markdown report: suites `thresholds`, `regression` (with a baseline) and one
    /// `slice: EXPR` suite per slice.
    pub fn to_report(&self, name: &str) -> Report {
        let mut report = Report::new(name);
        report.suites.push(threshold_suite(
            "thresholds",
            "mlprobe.gate.thresholds",
            &self.overall.thresholds,
        ));
        if let Some(r) = &self.overall.regression {
            report
                .suites
                .push(regression_suite("regression", "mlprobe.gate.regression", r));
        }
        for (expr, n, c) in &self.slices {
            let mut suite = threshold_suite(
                &format!("slice: {expr}"),
                "mlprobe.gate.slice",
                &c.thresholds,
            );
            suite.properties.push(("rows".into(), n.to_string()));
            if let Some(r) = &c.regression {
                suite
                    .cases
                    .extend(regression_suite("", "mlprobe.gate.slice.regression", r).cases);
            }
            if *n == 0 {
                suite.push(Case::new(
                    "slice has rows",
                    "mlprobe.gate.slice",
                    Status::Failed {
                        message: format!("no row matches `{expr}`"),
                        kind: "empty_slice".into(),
                        detail: String::new(),
                    },
                ));
            }
            report.suites.push(suite);
        }
        report
    }

    /// The JSON form (`gate` in `mlprobe eval --json`).
    pub fn to_json(&self) -> GateJson {
        GateJson {
            passed: self.passed(),
            thresholds: self
                .overall
                .thresholds
                .iter()
                .map(ThresholdJson::from)
                .collect(),
            regression: self.overall.regression.as_ref().map(RegressionJson::from),
            slices: self
                .slices
                .iter()
                .map(|(expr, n, c)| SliceJson {
                    slice: expr.clone(),
                    n: *n,
                    passed: c.passed(),
                    thresholds: c.thresholds.iter().map(ThresholdJson::from).collect(),
                    regression: c.regression.as_ref().map(RegressionJson::from),
                })
                .collect(),
        }
    }
}

/// True for the metrics of predictions (accuracy, precision, recall, F1), which a slice has.
pub fn is_quality(m: Metric) -> bool {
    matches!(
        m,
        Metric::Accuracy | Metric::Precision | Metric::Recall | Metric::F1
    )
}

/// A number for humans: at most 6 decimals, trailing zeros dropped (`0.988764`, `2484`).
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// The name of a threshold test case: `accuracy >= 0.9`.
pub fn threshold_case_name(c: &ThresholdCheck) -> String {
    let op = if c.kind() == "min" { ">=" } else { "<=" };
    format!("{} {op} {}", c.metric, c.limit)
}

/// One test case per threshold check.
pub fn threshold_suite(name: &str, classname: &str, report: &ThresholdReport) -> Suite {
    let mut suite = Suite::new(name);
    for c in report.iter() {
        let case_name = threshold_case_name(c);
        let status = match c.outcome {
            Outcome::Passed => Status::Passed,
            Outcome::Failed => Status::Failed {
                message: c.to_string(),
                kind: "threshold".into(),
                detail: String::new(),
            },
            Outcome::Missing => Status::Error {
                message: c.to_string(),
                kind: "missing_metric".into(),
            },
        };
        let actual = c
            .actual
            .map_or_else(|| "not measured".to_string(), |a| a.to_string());
        let shown = c.actual.map_or_else(|| "not measured".to_string(), num);
        suite.push(
            Case::new(case_name, classname, status)
                .with_summary(format!("{} = {shown}", c.metric))
                .with_property("metric", c.metric)
                .with_property(c.kind(), c.limit)
                .with_property("actual", actual),
        );
    }
    suite
}

/// One test case per compared metric.
pub fn regression_suite(name: &str, classname: &str, report: &RegressionReport) -> Suite {
    let mut suite = Suite::new(name);
    for c in report.iter() {
        let status = match c.change {
            Change::Regressed => Status::Failed {
                message: c.to_string(),
                kind: "regression".into(),
                detail: String::new(),
            },
            Change::Missing => Status::Error {
                message: c.to_string(),
                kind: "missing_metric".into(),
            },
            Change::Improved | Change::Unchanged => Status::Passed,
        };
        let change = c
            .change_pct
            .map_or_else(|| "infinite".to_string(), |p| format!("{p:+.2} %"));
        let current = c
            .current
            .map_or_else(|| "not measured".to_string(), |v| v.to_string());
        let shown = c.current.map_or_else(|| "not measured".to_string(), num);
        suite.push(
            Case::new(
                format!("{} within {} % of baseline", c.metric, c.allowed_pct),
                classname,
                status,
            )
            .with_summary(format!(
                "{} → {shown} ({change}, {})",
                num(c.baseline),
                change_name(c.change)
            ))
            .with_property("metric", c.metric)
            .with_property("baseline", c.baseline)
            .with_property("current", current)
            .with_property("change_pct", change)
            .with_property("allowed_pct", c.allowed_pct),
        );
    }
    suite
}

fn change_name(c: Change) -> &'static str {
    match c {
        Change::Regressed => "regressed",
        Change::Improved => "improved",
        Change::Unchanged => "unchanged",
        Change::Missing => "missing",
    }
}

/// A threshold check as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ThresholdJson {
    /// Metric name.
    pub metric: &'static str,
    /// `min` or `max`.
    pub kind: &'static str,
    /// The limit.
    pub limit: f64,
    /// The measured value (`null` when not measured or not finite).
    pub actual: Option<f64>,
    /// True when the check held.
    pub passed: bool,
}

impl From<&ThresholdCheck> for ThresholdJson {
    fn from(c: &ThresholdCheck) -> Self {
        Self {
            metric: c.metric.name(),
            kind: c.kind(),
            limit: c.limit,
            actual: c.actual.filter(|v| v.is_finite()),
            passed: c.passed(),
        }
    }
}

/// A comparison with the baseline as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ComparisonJson {
    /// Metric name.
    pub metric: &'static str,
    /// Baseline value.
    pub baseline: f64,
    /// Current value (`null` when not measured).
    pub current: Option<f64>,
    /// Relative change in percent (`null` when infinite: a zero baseline).
    pub change_pct: Option<f64>,
    /// The allowed regression, percent.
    pub allowed_pct: f64,
    /// `regressed`, `improved`, `unchanged` or `missing`.
    pub change: &'static str,
}

impl From<&Comparison> for ComparisonJson {
    fn from(c: &Comparison) -> Self {
        Self {
            metric: c.metric.name(),
            baseline: c.baseline,
            current: c.current.filter(|v| v.is_finite()),
            change_pct: c.change_pct,
            allowed_pct: c.allowed_pct,
            change: change_name(c.change),
        }
    }
}

/// A regression report as JSON: the comparisons grouped by verdict.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RegressionJson {
    /// True when nothing regressed or went missing.
    pub passed: bool,
    /// Worse by more than allowed.
    pub regressions: Vec<ComparisonJson>,
    /// Better by more than allowed.
    pub improvements: Vec<ComparisonJson>,
    /// Within the allowed band.
    pub unchanged: Vec<ComparisonJson>,
    /// In the baseline, not measured now.
    pub missing: Vec<ComparisonJson>,
}

impl From<&RegressionReport> for RegressionJson {
    fn from(r: &RegressionReport) -> Self {
        let group = |c| r.with_change(c).map(ComparisonJson::from).collect();
        Self {
            passed: r.passed(),
            regressions: group(Change::Regressed),
            improvements: group(Change::Improved),
            unchanged: group(Change::Unchanged),
            missing: group(Change::Missing),
        }
    }
}

/// A slice's verdict as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SliceJson {
    /// The slice expression.
    pub slice: String,
    /// Rows in the slice.
    pub n: usize,
    /// True when every check of the slice passed.
    pub passed: bool,
    /// Threshold checks.
    pub thresholds: Vec<ThresholdJson>,
    /// Comparison with the baseline's slice, if any.
    pub regression: Option<RegressionJson>,
}

/// The gate's verdict as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GateJson {
    /// True when every check passed.
    pub passed: bool,
    /// Threshold checks on the whole data.
    pub thresholds: Vec<ThresholdJson>,
    /// Comparison with the baseline, if one was given.
    pub regression: Option<RegressionJson>,
    /// Per-slice verdicts.
    pub slices: Vec<SliceJson>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Predicate, GateError> {
        s.parse()
    }

    #[test]
    fn predicates_parse_every_operator() {
        for (s, op, v) in [
            ("alcohol > 13", CmpOp::Gt, 13.0),
            ("alcohol>=13.5", CmpOp::Ge, 13.5),
            ("  x < -1e3 ", CmpOp::Lt, -1000.0),
            ("x <= 0", CmpOp::Le, 0.0),
            ("label == 2", CmpOp::Eq, 2.0),
            ("label != 2", CmpOp::Ne, 2.0),
        ] {
            let pr = p(s).unwrap();
            assert_eq!((pr.op, pr.value), (op, v), "{s}");
            assert_eq!(pr.expr, s.trim());
        }
        let q = p("\"fixed acidity\" <= 7.5").unwrap();
        assert_eq!(q.column, "fixed acidity");
        assert_eq!(p("`od280/od315` > 2").unwrap().column, "od280/od315");
    }

    #[test]
    fn bad_predicates_say_what_and_where() {
        let msg = |s: &str| p(s).unwrap_err().to_string();
        assert_eq!(
            msg("alcohol >> 13"),
            "slice `alcohol >> 13`: unexpected `>` after `>` (at character 10)"
        );
        assert!(msg("alcohol = 13").contains("write `==` for equality"));
        assert!(msg("alcohol > abc").contains("found `abc` (at character 11)"));
        assert!(msg("alcohol >").contains("expected a number after `>`"));
        assert!(msg("> 13").contains("expected a column name"));
        assert!(msg("").contains("empty expression"));
        assert!(msg("alcohol 13").contains("expected an operator"));
        assert!(msg("x > inf").contains("not a finite number"));
        assert!(msg("\"x > 1").contains("unterminated quote"));
    }

    #[test]
    fn predicates_bind_and_evaluate() {
        let header = ["alcohol", "Magnesium", "label"];
        let b = p("label == 2").unwrap().bind(&header).unwrap();
        assert_eq!(b.index, 2);
        assert!(b.matches(&[0.0, 0.0, 2.0]) && !b.matches(&[0.0, 0.0, 1.0]));
        assert!(!b.matches(&[0.0]), "short row");
        // NaN (a missing cell) is in no slice, even for `!=`.
        let ne = p("alcohol != 1").unwrap().bind(&header).unwrap();
        assert!(!ne.matches(&[f32::NAN, 0.0, 0.0]));
        assert_eq!(p("magnesium > 1").unwrap().bind(&header).unwrap().index, 1);
        let e = p("proline > 1")
            .unwrap()
            .bind(&header)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "slice `proline > 1`: no column `proline` in the data (columns: alcohol, Magnesium, label)"
        );
    }

    const POLICY: &str = r#"slices = ["alcohol > 13", "label == 2"]

[thresholds]
min_accuracy = 0.9
min_f1 = 0.8
max_latency_p99_us = 500
max_memory_bytes = 65536

[regression]
allowed_pct = 2.5

[regression.metrics]
latency_p99_us = 50
"#;

    #[test]
    fn policy_parses() {
        let pol = Policy::parse(Path::new("gate.toml"), POLICY).unwrap();
        assert_eq!(pol.thresholds.get(Metric::Accuracy), Some(0.9));
        assert_eq!(pol.thresholds.get(Metric::F1), Some(0.8));
        assert_eq!(pol.thresholds.get(Metric::LatencyP99), Some(500.0));
        assert_eq!(pol.thresholds.get(Metric::MemoryBytes), Some(65536.0));
        assert_eq!(pol.thresholds.get(Metric::Recall), None);
        assert_eq!(pol.regression.allowed(Metric::Accuracy), 2.5);
        assert_eq!(pol.regression.allowed(Metric::LatencyP99), 50.0);
        assert_eq!(pol.slices.len(), 2);
        let empty = Policy::parse(Path::new("e.toml"), "").unwrap();
        assert_eq!(empty, Policy::default());
        assert_eq!(empty.regression.allowed(Metric::F1), 5.0);
    }

    #[test]
    fn policy_errors_name_file_line_and_column() {
        let e = |text: &str| {
            Policy::parse(Path::new("gate.toml"), text)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            e("[thresholds]\nmin_accuracy = 0.9\nmax_accuracy = 1.0\n"),
            "gate.toml:3:1: `max_accuracy` has the wrong direction: write `min_accuracy`"
        );
        assert!(
            e("[thresholds]\nmin_acuracy = 0.9\n")
                .starts_with("gate.toml:2:1: unknown threshold `min_acuracy`")
        );
        assert!(e("[thresholds]\nmin_accuracy = \"high\"\n").starts_with("gate.toml:2:16:"));
        assert!(e("[thresholds\n").starts_with("gate.toml:1:"));
        assert!(
            e("[regresion]\nallowed_pct = 1\n").starts_with("gate.toml:1:"),
            "{}",
            e("[regresion]\n")
        );
        assert!(
            e("[regression]\nallowed_pct = -1\n")
                .starts_with("gate.toml:2:15: an allowed regression")
        );
        assert!(
            e("[regression.metrics]\nspeed = 1\n")
                .starts_with("gate.toml:2:1: unknown metric `speed`")
        );
        assert!(e("slices = [\"a >> 1\"]\n").starts_with("gate.toml:1:11: slice `a >> 1`"));
        assert!(
            e("[thresholds]\nmin_accuracy = nan\n")
                .starts_with("gate.toml:2:16: the threshold for accuracy")
        );
    }

    #[test]
    fn baseline_round_trips_and_rejects_unknown_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("base.json");
        let m = Metrics::new()
            .with(Metric::Accuracy, 0.97)
            .with(Metric::LatencyP99, 4.5);
        let s = vec![(
            "label == 2".to_string(),
            Metrics::new().with(Metric::Accuracy, 0.9),
        )];
        let mut b = Baseline::new(&m, &s);
        b.info.insert("model".into(), "wine.mlp".into());
        b.save(&path).unwrap();
        let back = Baseline::load(&path).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.metrics(), m);
        assert_eq!(
            back.slice("label == 2").unwrap().get(Metric::Accuracy),
            Some(0.9)
        );
        assert_eq!(back.slice("label == 1"), None);

        let err = |t: &str| {
            Baseline::parse(Path::new("b.json"), t)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(r#"{"version": 1, "metrics": {"acc": 1}}"#)
                .split(':')
                .take(2)
                .collect::<Vec<_>>(),
            ["b.json", " unknown metric `acc` in `metrics`"]
        );
        assert!(err("{\"version\": 1,\n \"metrics\": {\"accuracy\": }}").starts_with("b.json:2:"));
        assert!(err(r#"{"version": 2, "metrics": {}}"#).contains("version 2 is not supported"));
        assert!(matches!(
            Baseline::load(&dir.path().join("none.json")),
            Err(GateError::Io { .. })
        ));
    }

    #[test]
    fn gate_report_passes_and_fails_and_renders() {
        let pol = Policy::parse(Path::new("gate.toml"), POLICY).unwrap();
        let good = Metrics::new()
            .with(Metric::Accuracy, 0.95)
            .with(Metric::F1, 0.9)
            .with(Metric::LatencyP99, 10.0)
            .with(Metric::MemoryBytes, 1000.0);
        let base = Baseline::new(&good, &[("label == 2".into(), good)]);
        let r = GateReport::new(&pol, &good, &[("label == 2".into(), 7, good)], Some(&base));
        assert!(r.passed(), "{:?}", r.violations());
        assert!(r.violations().is_empty());

        // Accuracy 0.95 → 0.90 is −5.26 %, beyond the allowed 2.5 % but still ≥ 0.9.
        let worse = good.with(Metric::Accuracy, 0.90);
        let slice_bad = good.with(Metric::F1, 0.5);
        let r = GateReport::new(
            &pol,
            &worse,
            &[
                ("label == 2".into(), 7, slice_bad),
                ("alcohol > 13".into(), 0, Metrics::new()),
            ],
            Some(&base),
        );
        assert!(!r.passed());
        let v = r.violations();
        assert!(
            v[0].starts_with("regression: accuracy 0.95 -> 0.9 (-5.26 %"),
            "{v:?}"
        );
        assert!(
            v.iter()
                .any(|s| s.starts_with("[slice label == 2] f1_macro 0.5 violates min 0.8")),
            "{v:?}"
        );
        let json = serde_json::to_value(r.to_json()).unwrap();
        assert_eq!(json["passed"], false);
        assert_eq!(json["regression"]["regressions"][0]["metric"], "accuracy");
        assert_eq!(json["regression"]["unchanged"].as_array().unwrap().len(), 3);
        assert_eq!(json["slices"][1]["n"], 0);

        let report = r.to_report("mlprobe eval");
        let names: Vec<_> = report.suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "thresholds",
                "regression",
                "slice: label == 2",
                "slice: alcohol > 13"
            ]
        );
        // thresholds 4 + regression 4 + slice (2 quality thresholds: latency and memory are the
        // model's, not a slice's + 4 regression) + empty slice (2 missing metrics + "has rows").
        assert_eq!(report.tests(), 4 + 4 + 6 + 3);
        // the accuracy regression; the slice's F1 threshold and F1 regression; the empty slice.
        assert_eq!(report.failures(), 1 + 2 + 1);
        assert_eq!(report.errors(), 2);
        roxmltree::Document::parse(&report.to_junit()).unwrap();
    }
}
