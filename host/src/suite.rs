//! Expectation suites in TOML (DESIGN.md, "Expectation suites"): parsing with errors that name
//! the line, and writing (for `mlprobe profile`).
//!
//! ```toml
//! name = "wine_training_data"
//!
//! [[expectations]]
//! type = "expect_column_values_to_be_between"
//! column = "alcohol"
//! min_value = 10.0
//! max_value = 16.0
//! mostly = 0.95          # optional, default 1.0
//! ```
//!
//! Types and parameters are Great Expectations' own. An absent bound is open; in
//! `quantile_ranges.value_ranges`, where TOML has no `null`, `-inf` and `inf` stand for
//! Great Expectations' `None`. Every expectation may carry a `meta` table (free-form notes,
//! ignored), as in Great Expectations.
//!
//! | type | required | optional |
//! |---|---|---|
//! | `expect_column_to_exist` | `column` | |
//! | `expect_column_values_to_not_be_null` | `column` | `mostly` |
//! | `expect_column_values_to_be_between` | `column`, one bound at least | `min_value` `max_value` `strict_min` `strict_max` `mostly` |
//! | `expect_column_values_to_be_in_set` | `column` `value_set` | `mostly` |
//! | `expect_column_mean_to_be_between`, `…_stdev_…`, `…_min_…`, `…_max_…` | `column`, one bound at least | `min_value` `max_value` `strict_min` `strict_max` |
//! | `expect_column_quantile_values_to_be_between` | `column` `quantile_ranges = { quantiles = […], value_ranges = [[lo, hi], …] }` | |
//! | `expect_column_psi_to_be_less_than` | `column` `partition_object = { bins = […], weights = […] }` | `threshold` (default 0.25) |
//! | `expect_table_row_count_to_be_between` | one bound at least | `min_value` `max_value` `strict_min` `strict_max` |
//! | `expect_table_columns_to_match_ordered_list` | `column_list` | |
//!
//! Errors (exit code 2) name the file and line: an unknown type, a missing or unknown
//! parameter, a parameter of the wrong type, `min_value > max_value`, `mostly` outside [0, 1],
//! and the bounds of [`mlprobe_core::expect`] (256 set values, 16 quantiles, 32 bins).

use crate::error::{Error, Result};
use mlprobe_core::expect::{self, ExpectError, Kind, Partition, QuantileRanges, Range, ValueSet};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Most expectations a suite may hold.
pub const MAX_EXPECTATIONS: usize = 4096;

/// A parsed suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    /// The suite's name.
    pub name: String,
    /// The expectations, in file order.
    pub expectations: Vec<Expectation>,
}

/// One expectation of a suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Expectation {
    /// What it checks.
    pub check: Check,
    /// The column, for column expectations.
    pub column: Option<String>,
    /// 1-based line of its `[[expectations]]` table.
    pub line: usize,
}

/// What an expectation checks.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// A value or aggregate expectation, evaluated by [`mlprobe_core::expect`] (boxed: a
    /// `Kind` holds its parameters inline, up to 2 KiB for a 256-value set).
    Core(Box<Kind>),
    /// `expect_table_columns_to_match_ordered_list`.
    ColumnList(Vec<String>),
}

impl Expectation {
    /// The Great Expectations type name.
    pub fn type_name(&self) -> &'static str {
        match &self.check {
            Check::Core(k) => k.name(),
            Check::ColumnList(_) => COLUMN_LIST,
        }
    }
}

const COLUMN_LIST: &str = "expect_table_columns_to_match_ordered_list";
const RANGE_KEYS: &[&str] = &["min_value", "max_value", "strict_min", "strict_max"];

/// Parameters of each type: (type, required, optional). `type` and `meta` are always allowed.
const TYPES: &[(&str, &[&str], &[&str])] = &[
    ("expect_column_to_exist", &["column"], &[]),
    (
        "expect_column_values_to_not_be_null",
        &["column"],
        &["mostly"],
    ),
    (
        "expect_column_values_to_be_between",
        &["column"],
        &[
            "min_value",
            "max_value",
            "strict_min",
            "strict_max",
            "mostly",
        ],
    ),
    (
        "expect_column_values_to_be_in_set",
        &["column", "value_set"],
        &["mostly"],
    ),
    ("expect_column_mean_to_be_between", &["column"], RANGE_KEYS),
    ("expect_column_stdev_to_be_between", &["column"], RANGE_KEYS),
    ("expect_column_min_to_be_between", &["column"], RANGE_KEYS),
    ("expect_column_max_to_be_between", &["column"], RANGE_KEYS),
    (
        "expect_column_quantile_values_to_be_between",
        &["column", "quantile_ranges"],
        &[],
    ),
    (
        "expect_column_psi_to_be_less_than",
        &["column", "partition_object"],
        &["threshold"],
    ),
    ("expect_table_row_count_to_be_between", &[], RANGE_KEYS),
    (COLUMN_LIST, &["column_list"], &[]),
];

/// The expectation types a suite may use.
pub fn type_names() -> impl Iterator<Item = &'static str> {
    TYPES.iter().map(|t| t.0)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    name: Option<Spanned<String>>,
    #[serde(default)]
    expectations: Vec<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
    #[allow(dead_code)] // free-form, as Great Expectations' suite `meta`
    meta: Option<toml::Value>,
}

type Table = BTreeMap<Spanned<String>, Spanned<toml::Value>>;

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> Error {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() as u64 + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Error::Parse {
            path: PathBuf::from(self.path),
            line,
            column,
            message: message.into(),
        }
    }

    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text
            .get(..offset)
            .unwrap_or(self.text)
            .matches('\n')
            .count()
            + 1
    }
}

impl Suite {
    /// Reads a suite file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses a suite; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let cx = Ctx { path, text };
        let raw: RawSuite = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            cx.err(offset, e.message().trim().to_string())
        })?;
        if raw.expectations.len() > MAX_EXPECTATIONS {
            return Err(Error::file(
                path,
                format!("more than {MAX_EXPECTATIONS} expectations"),
            ));
        }
        let name = raw.name.map_or_else(
            || {
                path.file_stem()
                    .map_or("suite".into(), |s| s.to_string_lossy().into_owned())
            },
            Spanned::into_inner,
        );
        let expectations = raw
            .expectations
            .iter()
            .map(|t| parse_expectation(&cx, t.span().start, t.get_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Suite { name, expectations })
    }

    /// Writes the suite as TOML that [`Suite::parse`] reads back.
    pub fn to_toml(&self, header_comment: &str) -> String {
        let mut out = String::new();
        for line in header_comment.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "name = {}", toml_string(&self.name));
        for e in &self.expectations {
            out.push_str("\n[[expectations]]\n");
            let _ = writeln!(out, "type = \"{}\"", e.type_name());
            if let Some(c) = &e.column {
                let _ = writeln!(out, "column = {}", toml_string(c));
            }
            write_params(&mut out, &e.check);
        }
        out
    }
}

fn parse_expectation(cx: &Ctx<'_>, at: usize, table: &Table) -> Result<Expectation> {
    let get = |k: &str| table.iter().find(|(key, _)| key.get_ref() == k);
    let Some((_, ty)) = get("type") else {
        return Err(cx.err(
            at,
            format!(
                "the expectation has no `type`; expected one of: {}",
                type_names().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    let type_at = ty.span().start;
    let Some(ty) = ty.get_ref().as_str() else {
        return Err(cx.err(type_at, "`type` must be a string"));
    };
    let Some(&(name, required, optional)) = TYPES.iter().find(|t| t.0 == ty) else {
        return Err(cx.err(
            type_at,
            format!(
                "unknown expectation type `{ty}`; expected one of: {}",
                type_names().collect::<Vec<_>>().join(", ")
            ),
        ));
    };
    for key in table.keys() {
        let k = key.get_ref().as_str();
        if k != "type" && k != "meta" && !required.contains(&k) && !optional.contains(&k) {
            let mut allowed: Vec<&str> = required.iter().chain(optional).copied().collect();
            allowed.push("meta");
            return Err(cx.err(
                key.span().start,
                format!(
                    "`{name}` has no parameter `{k}`; its parameters are: {}",
                    allowed.join(", ")
                ),
            ));
        }
    }
    for r in required {
        if get(r).is_none() {
            return Err(cx.err(type_at, format!("`{name}` needs the parameter `{r}`")));
        }
    }
    let p = Params { cx, table };
    let column = match get("column") {
        Some(_) => Some(p.string("column")?),
        None => None,
    };
    let mostly = || -> Result<f64> {
        match get("mostly") {
            None => Ok(1.0),
            Some((_, v)) => {
                let m = p.number("mostly")?;
                expect::check_mostly(m)
                    .map_err(|e| cx.err(v.span().start, format!("mostly = {m}: {e}")))
            }
        }
    };
    let check = match name {
        "expect_column_to_exist" => Kind::ColumnToExist,
        "expect_column_values_to_not_be_null" => Kind::ValuesToNotBeNull { mostly: mostly()? },
        "expect_column_values_to_be_between" => Kind::ValuesToBeBetween {
            range: p.range(at)?,
            mostly: mostly()?,
        },
        "expect_column_values_to_be_in_set" => {
            let (values, v_at) = p.numbers("value_set")?;
            let set = ValueSet::new(&values).map_err(|e| cx.err(v_at, e.to_string()))?;
            Kind::ValuesToBeInSet {
                set,
                mostly: mostly()?,
            }
        }
        "expect_column_mean_to_be_between" => Kind::MeanToBeBetween(p.range(at)?),
        "expect_column_stdev_to_be_between" => Kind::StdevToBeBetween(p.range(at)?),
        "expect_column_min_to_be_between" => Kind::MinToBeBetween(p.range(at)?),
        "expect_column_max_to_be_between" => Kind::MaxToBeBetween(p.range(at)?),
        "expect_column_quantile_values_to_be_between" => {
            Kind::QuantileValuesToBeBetween(p.quantile_ranges()?)
        }
        "expect_column_psi_to_be_less_than" => {
            let partition = p.partition()?;
            let threshold = match get("threshold") {
                None => 0.25,
                Some((_, v)) => {
                    let t = p.number("threshold")?;
                    if !(t.is_finite() && t >= 0.0) {
                        return Err(cx.err(v.span().start, ExpectError::Threshold.to_string()));
                    }
                    t
                }
            };
            Kind::PsiToBeLessThan {
                partition,
                threshold,
            }
        }
        "expect_table_row_count_to_be_between" => Kind::TableRowCountToBeBetween(p.range(at)?),
        _ => {
            let (list, list_at) = p.strings("column_list")?;
            if list.is_empty() {
                return Err(cx.err(list_at, "column_list is empty"));
            }
            return Ok(Expectation {
                check: Check::ColumnList(list),
                column: None,
                line: cx.line(at),
            });
        }
    };
    Ok(Expectation {
        check: Check::Core(Box::new(check)),
        column,
        line: cx.line(at),
    })
}

struct Params<'a> {
    cx: &'a Ctx<'a>,
    table: &'a Table,
}

impl Params<'_> {
    fn value(&self, key: &str) -> Option<&Spanned<toml::Value>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    }

    fn wrong(&self, key: &str, v: &Spanned<toml::Value>, want: &str) -> Error {
        self.cx.err(
            v.span().start,
            format!("`{key}` must be {want}, not {}", v.get_ref().type_str()),
        )
    }

    fn string(&self, key: &str) -> Result<String> {
        let v = self
            .value(key)
            .ok_or_else(|| Error::Internal(format!("no {key}")))?;
        v.get_ref()
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong(key, v, "a string"))
    }

    fn number(&self, key: &str) -> Result<f64> {
        let v = self
            .value(key)
            .ok_or_else(|| Error::Internal(format!("no {key}")))?;
        as_number(v.get_ref()).ok_or_else(|| self.wrong(key, v, "a number"))
    }

    fn optional_number(&self, key: &str) -> Result<Option<f64>> {
        self.value(key).map(|_| self.number(key)).transpose()
    }

    fn optional_bool(&self, key: &str) -> Result<bool> {
        match self.value(key) {
            None => Ok(false),
            Some(v) => v
                .get_ref()
                .as_bool()
                .ok_or_else(|| self.wrong(key, v, "true or false")),
        }
    }

    fn numbers(&self, key: &str) -> Result<(Vec<f64>, usize)> {
        let v = self
            .value(key)
            .ok_or_else(|| Error::Internal(format!("no {key}")))?;
        let list = v
            .get_ref()
            .as_array()
            .ok_or_else(|| self.wrong(key, v, "a list of numbers"))?;
        let values = list
            .iter()
            .map(as_number)
            .collect::<Option<Vec<f64>>>()
            .ok_or_else(|| self.wrong(key, v, "a list of numbers"))?;
        Ok((values, v.span().start))
    }

    fn strings(&self, key: &str) -> Result<(Vec<String>, usize)> {
        let v = self
            .value(key)
            .ok_or_else(|| Error::Internal(format!("no {key}")))?;
        let list = v
            .get_ref()
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| self.wrong(key, v, "a list of strings"))?;
        Ok((list, v.span().start))
    }

    fn range(&self, at: usize) -> Result<Range> {
        let min = self.optional_number("min_value")?;
        let max = self.optional_number("max_value")?;
        let strict_min = self.optional_bool("strict_min")?;
        let strict_max = self.optional_bool("strict_max")?;
        Range::with_strictness(min, max, strict_min, strict_max).map_err(|e| {
            let offset = match e {
                ExpectError::Unbounded => at,
                _ => self
                    .value("min_value")
                    .or(self.value("max_value"))
                    .map_or(at, |v| v.span().start),
            };
            let detail = match (e, min, max) {
                (ExpectError::MinAboveMax, Some(lo), Some(hi)) => {
                    format!("min_value {lo} is greater than max_value {hi}")
                }
                _ => e.to_string(),
            };
            self.cx.err(offset, detail)
        })
    }

    fn inline_table<'t>(
        &self,
        key: &str,
        v: &'t Spanned<toml::Value>,
        keys: &[&str],
    ) -> Result<&'t toml::Table> {
        let t = v
            .get_ref()
            .as_table()
            .ok_or_else(|| self.wrong(key, v, &format!("a table {{ {} }}", keys.join(", "))))?;
        for k in t.keys() {
            if !keys.contains(&k.as_str()) {
                return Err(self.cx.err(
                    v.span().start,
                    format!(
                        "`{key}` has no field `{k}`; its fields are: {}",
                        keys.join(", ")
                    ),
                ));
            }
        }
        for k in keys {
            if !t.contains_key(*k) {
                return Err(self
                    .cx
                    .err(v.span().start, format!("`{key}` needs the field `{k}`")));
            }
        }
        Ok(t)
    }

    fn quantile_ranges(&self) -> Result<QuantileRanges> {
        let key = "quantile_ranges";
        let v = self
            .value(key)
            .ok_or_else(|| Error::Internal(format!("no {key}")))?;
        let t = self.inline_table(key, v, &["quantiles", "value_ranges"])?;
        let at = v.span().start;
        let bad = |m: &str| self.cx.err(at, format!("`{key}`: {m}"));
        let quantiles = t["quantiles"]
            .as_array()
            .and_then(|a| a.iter().map(as_number).collect::<Option<Vec<_>>>())
            .ok_or_else(|| bad("quantiles must be a list of numbers"))?;
        let ranges = t["value_ranges"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|r| {
                        let r = r.as_array()?;
                        let (lo, hi) = match r.as_slice() {
                            [lo, hi] => (as_number(lo)?, as_number(hi)?),
                            _ => return None,
                        };
                        Some((lo, hi))
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| {
                bad("value_ranges must be a list of [min, max] pairs (-inf / inf for no bound)")
            })?;
        let ranges = ranges
            .iter()
            .map(|&(lo, hi)| {
                let bound = |x: f64| (!x.is_infinite()).then_some(x);
                match (bound(lo), bound(hi)) {
                    (None, None) if !lo.is_nan() && !hi.is_nan() => Ok(Range::any()),
                    (lo, hi) => Range::new(lo, hi),
                }
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(&e.to_string()))?;
        QuantileRanges::new(&quantiles, &ranges).map_err(|e| bad(&e.to_string()))
    }

    fn partition(&self) -> Result<Partition> {
        let key = "partition_object";
        let v = self
            .value(key)
            .ok_or_else(|| Error::Internal(format!("no {key}")))?;
        let t = self.inline_table(key, v, &["bins", "weights"])?;
        let at = v.span().start;
        let list = |k: &str| {
            t[k].as_array()
                .and_then(|a| a.iter().map(as_number).collect::<Option<Vec<_>>>())
                .ok_or_else(|| {
                    self.cx
                        .err(at, format!("`{key}`: {k} must be a list of numbers"))
                })
        };
        let (bins, weights) = (list("bins")?, list("weights")?);
        Partition::new(&bins, &weights).map_err(|e| self.cx.err(at, format!("`{key}`: {e}")))
    }
}

fn as_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML float that reads back to the same `f64` (shortest round-trip form).
pub fn toml_float(x: f64) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        let s = format!("{x:?}");
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}

fn floats(xs: &[f64]) -> String {
    let items: Vec<String> = xs.iter().map(|&x| toml_float(x)).collect();
    format!("[{}]", items.join(", "))
}

fn write_range(out: &mut String, r: &Range) {
    if let Some(v) = r.min {
        let _ = writeln!(out, "min_value = {}", toml_float(v));
    }
    if let Some(v) = r.max {
        let _ = writeln!(out, "max_value = {}", toml_float(v));
    }
    if r.strict_min {
        out.push_str("strict_min = true\n");
    }
    if r.strict_max {
        out.push_str("strict_max = true\n");
    }
}

fn write_mostly(out: &mut String, mostly: f64) {
    if mostly != 1.0 {
        let _ = writeln!(out, "mostly = {}", toml_float(mostly));
    }
}

fn write_params(out: &mut String, check: &Check) {
    let kind = match check {
        Check::ColumnList(list) => {
            let items: Vec<String> = list.iter().map(|c| toml_string(c)).collect();
            let _ = writeln!(out, "column_list = [{}]", items.join(", "));
            return;
        }
        Check::Core(k) => &**k,
    };
    match kind {
        Kind::ValuesToNotBeNull { mostly } => write_mostly(out, *mostly),
        Kind::ValuesToBeBetween { range, mostly } => {
            write_range(out, range);
            write_mostly(out, *mostly);
        }
        Kind::ValuesToBeInSet { set, mostly } => {
            let _ = writeln!(out, "value_set = {}", floats(set.as_slice()));
            write_mostly(out, *mostly);
        }
        Kind::MeanToBeBetween(r)
        | Kind::StdevToBeBetween(r)
        | Kind::MinToBeBetween(r)
        | Kind::MaxToBeBetween(r)
        | Kind::TableRowCountToBeBetween(r) => write_range(out, r),
        Kind::QuantileValuesToBeBetween(qr) => {
            let ranges: Vec<String> = qr
                .ranges()
                .iter()
                .map(|r| {
                    let lo = r.min.unwrap_or(f64::NEG_INFINITY);
                    let hi = r.max.unwrap_or(f64::INFINITY);
                    format!("[{}, {}]", toml_float(lo), toml_float(hi))
                })
                .collect();
            let _ = writeln!(
                out,
                "quantile_ranges = {{ quantiles = {}, value_ranges = [{}] }}",
                floats(qr.quantiles()),
                ranges.join(", ")
            );
        }
        Kind::PsiToBeLessThan {
            partition,
            threshold,
        } => {
            let _ = writeln!(
                out,
                "partition_object = {{ bins = {}, weights = {} }}",
                floats(partition.edges()),
                floats(partition.weights())
            );
            let _ = writeln!(out, "threshold = {}", toml_float(*threshold));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite> {
        Suite::parse(Path::new("s.toml"), text)
    }

    fn message(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const ALL: &str = r#"
name = "all"

[[expectations]]
type = "expect_table_row_count_to_be_between"
min_value = 1

[[expectations]]
type = "expect_table_columns_to_match_ordered_list"
column_list = ["a", "b"]

[[expectations]]
type = "expect_column_to_exist"
column = "a"

[[expectations]]
type = "expect_column_values_to_not_be_null"
column = "a"
mostly = 0.5

[[expectations]]
type = "expect_column_values_to_be_between"
column = "a"
min_value = 0
max_value = 1.5
strict_max = true
meta = { notes = "hand-checked" }

[[expectations]]
type = "expect_column_values_to_be_in_set"
column = "b"
value_set = [0, 1, 2]

[[expectations]]
type = "expect_column_mean_to_be_between"
column = "a"
max_value = 3.0

[[expectations]]
type = "expect_column_stdev_to_be_between"
column = "a"
min_value = 0.0

[[expectations]]
type = "expect_column_min_to_be_between"
column = "a"
min_value = -1.0
max_value = 1.0

[[expectations]]
type = "expect_column_max_to_be_between"
column = "a"
min_value = -1.0
max_value = 1.0

[[expectations]]
type = "expect_column_quantile_values_to_be_between"
column = "a"
quantile_ranges = { quantiles = [0.05, 0.5], value_ranges = [[-inf, 1.0], [0.25, inf]] }

[[expectations]]
type = "expect_column_psi_to_be_less_than"
column = "a"
partition_object = { bins = [0.0, 0.5, 1.0], weights = [0.5, 0.5] }
"#;

    #[test]
    fn parses_every_type_and_round_trips() {
        let s = parse(ALL).unwrap();
        assert_eq!(s.name, "all");
        assert_eq!(s.expectations.len(), 12);
        let names: Vec<&str> = s.expectations.iter().map(Expectation::type_name).collect();
        for t in type_names() {
            assert!(names.contains(&t), "{t}");
        }
        assert_eq!(s.expectations[0].line, 4);
        assert_eq!(s.expectations[4].line, 21);
        let again = parse(&s.to_toml("generated")).unwrap();
        let strip = |s: &Suite| {
            s.expectations
                .iter()
                .map(|e| (e.check.clone(), e.column.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(&again), strip(&s));
    }

    #[test]
    fn errors_name_the_line() {
        let m = message("[[expectations]]\ntype = \"expect_column_to_be_nice\"\ncolumn = \"a\"\n");
        assert!(
            m.starts_with("s.toml:2:8: unknown expectation type `expect_column_to_be_nice`"),
            "{m}"
        );
        let m = message(
            "[[expectations]]\ntype = \"expect_column_values_to_be_in_set\"\ncolumn = \"a\"\n",
        );
        assert!(
            m.starts_with(
                "s.toml:2:8: `expect_column_values_to_be_in_set` needs the parameter `value_set`"
            ),
            "{m}"
        );
        let m = message(
            "[[expectations]]\ntype = \"expect_column_to_exist\"\ncolumn = \"a\"\nmin_value = 1\n",
        );
        assert!(
            m.starts_with("s.toml:4:1: `expect_column_to_exist` has no parameter `min_value`"),
            "{m}"
        );
        let m = message(
            "[[expectations]]\ntype = \"expect_column_values_to_be_between\"\ncolumn = \"a\"\nmin_value = 2\nmax_value = 1\n",
        );
        assert!(
            m.starts_with("s.toml:4:13: min_value 2 is greater than max_value 1"),
            "{m}"
        );
        let m = message(
            "[[expectations]]\ntype = \"expect_column_values_to_not_be_null\"\ncolumn = \"a\"\nmostly = 1.5\n",
        );
        assert!(
            m.starts_with("s.toml:4:10: mostly = 1.5: mostly must be within [0, 1]"),
            "{m}"
        );
        let m = message(
            "[[expectations]]\ntype = \"expect_column_values_to_be_between\"\ncolumn = \"a\"\n",
        );
        assert!(
            m.contains("min_value and max_value cannot both be absent"),
            "{m}"
        );
        let m = message("[[expectations]]\ntype = \"expect_column_to_exist\"\ncolumn = 3\n");
        assert!(
            m.starts_with("s.toml:3:10: `column` must be a string, not integer"),
            "{m}"
        );
        let m = message("nmae = \"x\"\n");
        assert!(m.starts_with("s.toml:1:1: unknown field `nmae`"), "{m}");
        let m = message("[[expectations]]\ncolumn = \"a\"\n");
        assert!(m.contains("has no `type`"), "{m}");
    }
}
