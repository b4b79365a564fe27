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
//! Types and parameters are Great Expectations' own. Which keys each type takes, and how its
//! values are checked, is [`mlprobe_core::expect`]'s ([`Type::spec`], [`Kind::parse`],
//! [`Kind::write`]): this module only reads and writes TOML values for it, with no list of
//! types of its own. The one type outside core is `expect_table_columns_to_match_ordered_list`
//! (`column_list`, a list of names: core does not allocate). An absent bound is open; in
//! `quantile_ranges.value_ranges`, where TOML has no `null`, `-inf` and `inf` stand for Great
//! Expectations' `None`. Every expectation may carry a `meta` table (free-form notes,
//! ignored), as in Great Expectations.
//!
//! Errors (exit code 2) name the file and line: an unknown type, a missing or unknown
//! parameter, a parameter of the wrong type, and what core rejects (`min_value > max_value`,
//! `mostly` outside [0, 1], 256 set values, 16 quantiles, 32 bins).

use crate::error::{Error, Result};
use crate::expect::text::{TextKind, TextType};
use mlprobe_core::expect::{Kind, ParamError, ParamWriter, Params, Spec, Type};
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
    /// `expect_table_columns_to_match_ordered_list`: the header, in order.
    ColumnList(Vec<String>),
    /// An expectation on text cells ([`crate::expect::text`]).
    Text(Box<TextKind>),
}

impl Expectation {
    /// The Great Expectations type name.
    pub fn type_name(&self) -> &'static str {
        match &self.check {
            Check::Core(k) => k.name(),
            Check::ColumnList(_) => COLUMN_LIST,
            Check::Text(k) => k.name(),
        }
    }
}

/// The type of [`Check::ColumnList`].
pub const COLUMN_LIST: &str = "expect_table_columns_to_match_ordered_list";
const COLUMN_LIST_SPEC: Spec = Spec {
    column: false,
    required: &["column_list"],
    optional: &[],
};

/// The expectation types a suite may use.
pub fn type_names() -> impl Iterator<Item = &'static str> {
    Type::ALL
        .iter()
        .map(|t| t.name())
        .chain(std::iter::once(COLUMN_LIST))
        .chain(
            TextType::ALL
                .iter()
                .filter(|t| Type::from_name(t.name()).is_none())
                .map(|t| t.name()),
        )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    name: Option<Spanned<String>>,
    #[serde(default)]
    expectations: Vec<Spanned<Table>>,
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
        let text = crate::limits::read_text(path, crate::limits::TOML_BYTES, "suite")?;
        Self::parse(path, &text)
    }

    /// Parses a suite; `path` names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let cx = Ctx { path, text };
        let raw: RawSuite = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            cx.err(offset, e.message().trim().to_string())
        })?;
        if raw.expectations.is_empty() {
            // A suite that checks nothing would pass every batch, silently.
            return Err(Error::file(
                path,
                "the suite has no [[expectations]]: it would pass any data; add at least one \
                 (`mlprobe profile` writes a starting suite)",
            ));
        }
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
            let mut w = TomlWriter {
                out: &mut out,
                table: None,
            };
            match &e.check {
                Check::Core(kind) => kind.write(&mut w),
                Check::ColumnList(list) => {
                    let items: Vec<String> = list.iter().map(|c| toml_string(c)).collect();
                    w.put("column_list", format!("[{}]", items.join(", ")));
                }
                Check::Text(kind) => {
                    for line in kind.to_toml() {
                        let _ = writeln!(w.out, "{line}");
                    }
                }
            }
            w.finish();
        }
        out
    }
}

/// The top-level keys of `keys` (`a` of `a.b`), in order, once each.
fn top_keys<'k>(keys: impl IntoIterator<Item = &'k &'static str>) -> Vec<&'static str> {
    let mut tops: Vec<&'static str> = Vec::new();
    for k in keys {
        let top = k.split('.').next().unwrap_or(k);
        if !tops.contains(&top) {
            tops.push(top);
        }
    }
    tops
}

fn parse_expectation(cx: &Ctx<'_>, at: usize, table: &Table) -> Result<Expectation> {
    let get = |k: &str| table.iter().find(|(key, _)| key.get_ref() == k);
    let expected = || type_names().collect::<Vec<_>>().join(", ");
    let Some((_, ty)) = get("type") else {
        return Err(cx.err(
            at,
            format!(
                "the expectation has no `type`; expected one of: {}",
                expected()
            ),
        ));
    };
    let type_at = ty.span().start;
    let Some(name) = ty.get_ref().as_str() else {
        return Err(cx.err(type_at, "`type` must be a string"));
    };
    // `expect_column_values_to_be_in_set` is core's for numbers, text's for a set with a string.
    let strings = get("value_set")
        .and_then(|(_, v)| v.get_ref().as_array())
        .is_some_and(|a| a.iter().any(toml::Value::is_str));
    let text_type =
        TextType::from_name(name).filter(|t| Type::from_name(t.name()).is_none() || strings);
    let (core_type, spec) = match Type::from_name(name).filter(|_| text_type.is_none()) {
        Some(t) => (Some(t), t.spec()),
        None if name == COLUMN_LIST => (None, COLUMN_LIST_SPEC),
        None if let Some(t) = text_type => {
            let (required, optional) = t.keys();
            (
                None,
                Spec {
                    column: true,
                    required,
                    optional,
                },
            )
        }
        None => {
            return Err(cx.err(
                type_at,
                format!(
                    "unknown expectation type `{name}`; expected one of: {}",
                    expected()
                ),
            ));
        }
    };
    let column: &[&'static str] = if spec.column { &["column"] } else { &[] };
    let required = top_keys(column.iter().chain(spec.required));
    let mut allowed = required.clone();
    allowed.extend(
        top_keys(spec.optional)
            .into_iter()
            .filter(|k| !required.contains(k)),
    );
    for key in table.keys() {
        let k = key.get_ref().as_str();
        if k != "type" && k != "meta" && !allowed.contains(&k) {
            return Err(cx.err(
                key.span().start,
                format!(
                    "`{name}` has no parameter `{k}`; its parameters are: {}, meta",
                    allowed.join(", ")
                ),
            ));
        }
    }
    for r in &required {
        if get(r).is_none() {
            return Err(cx.err(type_at, format!("`{name}` needs the parameter `{r}`")));
        }
    }
    let mut p = TomlParams { cx, table, at };
    let column = match get("column") {
        Some((_, v)) => Some(
            v.get_ref()
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| p.wrong("column", v.get_ref(), v.span().start, "a string"))?,
        ),
        None => None,
    };
    check_inline_tables(cx, table, &spec)?;
    let check = match (core_type, text_type) {
        (Some(t), _) => Check::Core(Box::new(Kind::parse(t, &mut p)?)),
        (None, Some(t)) => {
            let kind = TextKind::parse(t, &|k: &str| p.lookup(k), at)
                .map_err(|(offset, message)| cx.err(offset, message))?;
            Check::Text(Box::new(kind))
        }
        (None, None) => {
            let (_, v) = get("column_list").ok_or_else(|| Error::Internal("column_list".into()))?;
            let list = v
                .get_ref()
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_str().map(str::to_string))
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| {
                    p.wrong(
                        "column_list",
                        v.get_ref(),
                        v.span().start,
                        "a list of strings",
                    )
                })?;
            if list.is_empty() {
                return Err(cx.err(v.span().start, "column_list is empty"));
            }
            Check::ColumnList(list)
        }
    };
    Ok(Expectation {
        check,
        column,
        line: cx.line(at),
    })
}

/// Checks the inline tables of `spec` (keys `table.field`): a table, with the required fields
/// and no others.
fn check_inline_tables(cx: &Ctx<'_>, table: &Table, spec: &Spec) -> Result<()> {
    let dotted = || {
        spec.required
            .iter()
            .chain(spec.optional)
            .filter(|k| k.contains('.'))
    };
    for top in top_keys(dotted()) {
        let Some((_, v)) = table.iter().find(|(k, _)| k.get_ref() == top) else {
            continue;
        };
        let fields: Vec<&str> = dotted()
            .filter_map(|k| k.strip_prefix(top)?.strip_prefix('.'))
            .collect();
        let at = v.span().start;
        let Some(t) = v.get_ref().as_table() else {
            return Err(cx.err(
                at,
                format!(
                    "`{top}` must be a table {{ {} }}, not {}",
                    fields.join(", "),
                    v.get_ref().type_str()
                ),
            ));
        };
        if let Some(k) = t.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(cx.err(
                at,
                format!(
                    "`{top}` has no field `{k}`; its fields are: {}",
                    fields.join(", ")
                ),
            ));
        }
        let required = spec
            .required
            .iter()
            .filter_map(|k| k.strip_prefix(top)?.strip_prefix('.'));
        for f in required {
            if !t.contains_key(f) {
                return Err(cx.err(at, format!("`{top}` needs the field `{f}`")));
            }
        }
    }
    Ok(())
}

/// An expectation's TOML table as core's [`Params`]: values by key (`table.field` inside an
/// inline table), errors at the value's place in the file.
struct TomlParams<'a> {
    cx: &'a Ctx<'a>,
    table: &'a Table,
    /// Offset of the `[[expectations]]` table.
    at: usize,
}

impl TomlParams<'_> {
    /// The value at `key` and the offset to point at (an inline table's, for its fields).
    fn lookup(&self, key: &str) -> Option<(&toml::Value, usize)> {
        let (top, field) = match key.split_once('.') {
            Some((t, f)) => (t, Some(f)),
            None => (key, None),
        };
        let (_, v) = self.table.iter().find(|(k, _)| k.get_ref() == top)?;
        let at = v.span().start;
        match field {
            None => Some((v.get_ref(), at)),
            Some(f) => v.get_ref().as_table()?.get(f).map(|x| (x, at)),
        }
    }

    fn wrong(&self, key: &str, v: &toml::Value, at: usize, want: &str) -> Error {
        self.cx
            .err(at, format!("`{key}` must be {want}, not {}", v.type_str()))
    }

    /// The list at `key`, each item through `item`, into `out`; the list's length.
    fn list<T>(
        &self,
        key: &'static str,
        out: &mut [T],
        want: &str,
        item: impl Fn(&toml::Value) -> Option<T>,
    ) -> Result<usize> {
        let Some((v, at)) = self.lookup(key) else {
            return Ok(0);
        };
        let items = v
            .as_array()
            .and_then(|a| a.iter().map(&item).collect::<Option<Vec<T>>>())
            .ok_or_else(|| self.wrong(key, v, at, want))?;
        let n = items.len();
        for (o, x) in out.iter_mut().zip(items) {
            *o = x;
        }
        Ok(n)
    }
}

impl Params for TomlParams<'_> {
    type Error = Error;

    fn number(&mut self, key: &'static str) -> Result<Option<f64>> {
        match self.lookup(key) {
            None => Ok(None),
            Some((v, at)) => as_number(v)
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, at, "a number")),
        }
    }

    fn flag(&mut self, key: &'static str) -> Result<Option<bool>> {
        match self.lookup(key) {
            None => Ok(None),
            Some((v, at)) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.wrong(key, v, at, "true or false")),
        }
    }

    fn numbers(&mut self, key: &'static str, out: &mut [f64]) -> Result<usize> {
        self.list(key, out, "a list of numbers", as_number)
    }

    fn pairs(&mut self, key: &'static str, out: &mut [[f64; 2]]) -> Result<usize> {
        let want = "a list of [min, max] pairs (-inf / inf for no bound)";
        self.list(key, out, want, |r| match r.as_array()?.as_slice() {
            [lo, hi] => Some([as_number(lo)?, as_number(hi)?]),
            _ => None,
        })
    }

    fn reject(&mut self, error: ParamError) -> Error {
        let at = error
            .key()
            .and_then(|k| self.lookup(k))
            .map_or(self.at, |(_, at)| at);
        self.cx.err(at, error.to_string())
    }
}

fn as_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Float(f) => Some(*f),
        toml::Value::Integer(i) => Some(*i as f64),
        _ => None,
    }
}

/// Core's [`ParamWriter`] as TOML lines; the fields of an inline table (`table.field` keys,
/// written together) on one line.
struct TomlWriter<'a> {
    out: &'a mut String,
    /// The inline table being written: its key and its `field = value` items.
    table: Option<(&'static str, Vec<String>)>,
}

impl TomlWriter<'_> {
    fn put(&mut self, key: &'static str, value: String) {
        match key.split_once('.') {
            None => {
                self.finish();
                let _ = writeln!(self.out, "{key} = {value}");
            }
            Some((top, field)) => {
                if self.table.as_ref().is_some_and(|(t, _)| *t != top) {
                    self.finish();
                }
                let (_, items) = self.table.get_or_insert_with(|| (top, Vec::new()));
                items.push(format!("{field} = {value}"));
            }
        }
    }

    /// Ends the inline table being written, if any.
    fn finish(&mut self) {
        if let Some((top, items)) = self.table.take() {
            let _ = writeln!(self.out, "{top} = {{ {} }}", items.join(", "));
        }
    }
}

impl ParamWriter for TomlWriter<'_> {
    fn number(&mut self, key: &'static str, x: f64) {
        self.put(key, toml_float(x));
    }

    fn flag(&mut self, key: &'static str, on: bool) {
        self.put(key, on.to_string());
    }

    fn numbers(&mut self, key: &'static str, xs: &[f64]) {
        self.put(key, floats(xs));
    }

    fn pairs(&mut self, key: &'static str, pairs: &[[f64; 2]]) {
        let items: Vec<String> = pairs.iter().map(|p| floats(p)).collect();
        self.put(key, format!("[{}]", items.join(", ")));
    }
}

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

#[cfg(test)]
mod tests;
