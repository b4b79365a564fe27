//! Expectations on the cells of text columns (categories, identifiers, free text), with Great
//! Expectations' names, parameters and result fields, streaming and mergeable like core's
//! numeric ones. They live in the host because they hold strings: sets of them, a regular
//! expression, the counts of distinct values.
//!
//! A column named by one of these is read as text ([`Sink::text`](crate::data::Sink::text)):
//! its numbers are still numbers for core's expectations on it, its other cells count as
//! present but not numeric (a core expectation that reads values then raises, as Great
//! Expectations' does on a column of strings). A cell is compared as its bytes, unquoted; a
//! number in a `value_set` matches a cell that parses to it (`1` matches `1.0`). Missing values
//! (empty, `NaN`, `NA`, `N/A`, a Parquet null) are left out of every check, as pandas' `NaN`s
//! are.
//!
//! | Type | Parameters | Result |
//! |---|---|---|
//! | `expect_column_values_to_be_in_set` (a `value_set` with a string) | `value_set`, `mostly` | unexpected values |
//! | `expect_column_values_to_not_be_in_set` | `value_set`, `mostly` | unexpected values |
//! | `expect_column_values_to_match_regex` | `regex`, `mostly` | unexpected values |
//! | `expect_column_value_lengths_to_be_between` | `min_value`, `max_value`, `mostly` | unexpected values |
//! | `expect_column_values_to_be_unique` | `mostly` | every row of a duplicated value |
//! | `expect_column_distinct_values_to_be_in_set` | `value_set` | the distinct values |
//! | `expect_column_most_common_value_to_be_in_set` | `value_set`, `ties_okay` | the modes |
//! | `expect_column_unique_value_count_to_be_between` | `min_value`, `max_value` | distinct count |
//! | `expect_column_proportion_of_unique_values_to_be_between` | `min_value`, `max_value` | distinct / present |
//! | `expect_column_values_to_be_of_type` | `type_` | the column's dtype |
//! | `expect_column_kl_divergence_to_be_less_than` | `partition_object.values`, `partition_object.weights`, `threshold`, `tail_weight_holdout` | KL divergence |
//!
//! As Great Expectations on pandas does: a regular expression is *searched* in the cell
//! (`str.contains`; anchor it with `^…$` for a full match; the `regex` crate's syntax, which has
//! no look-around or back-references); a length counts characters (Unicode scalar values, as
//! Python's `len`); `unexpected_percent` is over present values; the modes are sorted.
//! `expect_column_values_to_be_unique`'s `partial_unexpected_list` lists the duplicated values
//! in the order they first appear (Great Expectations lists the first 20 rows that hold one).
//!
//! **Types.** A column's dtype is what pandas' `read_csv` infers: `int64` when every cell is an
//! integer and none is missing, `float64` for numbers (missing values allowed; a column with no
//! values), `bool` for `true`/`false` (any case) with none missing, `object` otherwise. `type_`
//! takes those names, and `int`, `float`, `str` and `string` (`object`).
//!
//! **Distinct values.** The counts behind uniqueness, distinct values, modes and the KL
//! divergence are exact, one entry per distinct value, up to [`MAX_DISTINCT`] distinct values
//! per column. Beyond, the counts give way to a HyperLogLog++ sketch (precision
//! [`HLL_PRECISION`]: relative standard error 1.04/√2¹⁴ = 0.81 %): the unique count and
//! proportion are then estimates (`details.sketch` says so, with the error), and the
//! expectations that need every count raise an exception naming the limit.
//!
//! **KL divergence** is the categorical form of Great Expectations': `scipy.stats.entropy(pk,
//! qk)` with `pk` the observed proportions of the present values and `qk` the partition's
//! weights, a value seen but not in the partition getting `tail_weight_holdout` (shared among
//! such values, the partition's weights scaled by `1 − tail_weight_holdout`); an infinite
//! divergence is `observed_value: null` and fails.

mod evaluate;
mod pattern;
mod state;

pub use evaluate::{TextOutcome, evaluate};
pub use pattern::Pattern;
pub use state::{CellState, Census, ColumnText, Distinct};

use crate::data::cell::parse_number;
use crate::limits::excerpt;
use crate::suite::{toml_float, toml_string};
use std::collections::HashSet;

/// The hasher of the sets and counts of cells: foldhash's (fast on short strings; nothing
/// depends on hash order: counts keep their first-appearance order).
pub(crate) type Hasher = foldhash::fast::FixedState;

/// Most distinct values counted exactly per column; beyond, a HyperLogLog++ sketch.
pub const MAX_DISTINCT: usize = 1 << 20;
/// Precision of the HyperLogLog++ sketch: 2¹⁴ registers, relative standard error 0.81 %.
pub const HLL_PRECISION: u8 = 14;
/// The sketch's relative standard error, `1.04 / √2^HLL_PRECISION`.
pub const HLL_RELATIVE_ERROR: f64 = 0.008125;
/// First unexpected values a result lists.
const PARTIAL: usize = mlprobe_core::expect::PARTIAL_CAPACITY;

/// A text expectation type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextType {
    /// Values in a set of strings (and numbers).
    InSet,
    /// Values not in a set.
    NotInSet,
    /// Values that match a regular expression.
    MatchRegex,
    /// Value lengths within a range.
    LengthsBetween,
    /// No value twice.
    Unique,
    /// Every distinct value in a set.
    DistinctInSet,
    /// The most common value in a set.
    MostCommonInSet,
    /// The number of distinct values within a range.
    UniqueCountBetween,
    /// Distinct values over present values within a range.
    ProportionUniqueBetween,
    /// The column's dtype.
    OfType,
    /// The KL divergence from a categorical partition below a threshold.
    KlDivergence,
}

impl TextType {
    /// Every type, in the order of the module's table.
    pub const ALL: &'static [TextType] = &[
        Self::InSet,
        Self::NotInSet,
        Self::MatchRegex,
        Self::LengthsBetween,
        Self::Unique,
        Self::DistinctInSet,
        Self::MostCommonInSet,
        Self::UniqueCountBetween,
        Self::ProportionUniqueBetween,
        Self::OfType,
        Self::KlDivergence,
    ];

    /// The Great Expectations name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::InSet => "expect_column_values_to_be_in_set",
            Self::NotInSet => "expect_column_values_to_not_be_in_set",
            Self::MatchRegex => "expect_column_values_to_match_regex",
            Self::LengthsBetween => "expect_column_value_lengths_to_be_between",
            Self::Unique => "expect_column_values_to_be_unique",
            Self::DistinctInSet => "expect_column_distinct_values_to_be_in_set",
            Self::MostCommonInSet => "expect_column_most_common_value_to_be_in_set",
            Self::UniqueCountBetween => "expect_column_unique_value_count_to_be_between",
            Self::ProportionUniqueBetween => {
                "expect_column_proportion_of_unique_values_to_be_between"
            }
            Self::OfType => "expect_column_values_to_be_of_type",
            Self::KlDivergence => "expect_column_kl_divergence_to_be_less_than",
        }
    }

    /// The type named `name` (`expect_column_values_to_be_in_set` is core's too: the suite
    /// reader takes this one when the set holds a string).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// Its keys besides `column`: required, then optional.
    pub const fn keys(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Self::InSet | Self::NotInSet => (&["value_set"], &["mostly"]),
            Self::MatchRegex => (&["regex"], &["mostly"]),
            Self::LengthsBetween => (&[], &["min_value", "max_value", "mostly"]),
            Self::Unique => (&[], &["mostly"]),
            Self::DistinctInSet => (&["value_set"], &[]),
            Self::MostCommonInSet => (&["value_set"], &["ties_okay"]),
            Self::UniqueCountBetween | Self::ProportionUniqueBetween => {
                (&[], &["min_value", "max_value"])
            }
            Self::OfType => (&["type_"], &[]),
            Self::KlDivergence => (
                &[
                    "partition_object.values",
                    "partition_object.weights",
                    "threshold",
                ],
                &["tail_weight_holdout"],
            ),
        }
    }
}

/// A `value_set`: strings compared as bytes, numbers as the values cells parse to.
#[derive(Clone, Debug)]
pub struct TextSet {
    items: Vec<Item>,
    text: HashSet<Vec<u8>, Hasher>,
    numbers: Vec<f64>,
}

/// One item of a `value_set`.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A string.
    Text(String),
    /// A number.
    Number(f64),
}

impl TextSet {
    /// The set of `items`.
    pub fn new(items: Vec<Item>) -> Self {
        let mut set = Self {
            items,
            text: HashSet::default(),
            numbers: Vec::new(),
        };
        for item in &set.items {
            match item {
                Item::Text(s) => {
                    set.text.insert(s.as_bytes().to_vec());
                }
                Item::Number(x) => set.numbers.push(*x),
            }
        }
        set
    }

    /// Whether the cell is in the set.
    #[inline]
    pub fn contains(&self, cell: &[u8]) -> bool {
        self.text.contains(cell)
            || (!self.numbers.is_empty()
                && parse_number::<f64>(cell).is_some_and(|x| self.numbers.contains(&x)))
    }

    fn to_toml(&self) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|i| match i {
                Item::Text(s) => toml_string(s),
                Item::Number(x) => toml_float(*x),
            })
            .collect();
        format!("[{}]", items.join(", "))
    }
}

impl PartialEq for TextSet {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

/// A pandas dtype, as [`TextKind::OfType`] reads and reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// Integers, none missing.
    Int64,
    /// Numbers.
    Float64,
    /// `true`/`false`, none missing.
    Bool,
    /// Anything else.
    Object,
}

impl Dtype {
    /// pandas' name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Int64 => "int64",
            Self::Float64 => "float64",
            Self::Bool => "bool",
            Self::Object => "object",
        }
    }

    /// The dtype a `type_` names.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "int64" | "int" => Self::Int64,
            "float64" | "float" => Self::Float64,
            "bool" => Self::Bool,
            "object" | "str" | "string" => Self::Object,
            _ => return None,
        })
    }
}

/// A text expectation with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum TextKind {
    /// `expect_column_values_to_be_in_set`.
    InSet {
        /// `value_set`.
        set: TextSet,
        /// `mostly`.
        mostly: f64,
    },
    /// `expect_column_values_to_not_be_in_set`.
    NotInSet {
        /// `value_set`.
        set: TextSet,
        /// `mostly`.
        mostly: f64,
    },
    /// `expect_column_values_to_match_regex`.
    MatchRegex {
        /// `regex`.
        regex: Pattern,
        /// `mostly`.
        mostly: f64,
    },
    /// `expect_column_value_lengths_to_be_between`.
    LengthsBetween {
        /// `min_value`.
        min: Option<u64>,
        /// `max_value`.
        max: Option<u64>,
        /// `mostly`.
        mostly: f64,
    },
    /// `expect_column_values_to_be_unique`.
    Unique {
        /// `mostly`.
        mostly: f64,
    },
    /// `expect_column_distinct_values_to_be_in_set`.
    DistinctInSet {
        /// `value_set`.
        set: TextSet,
    },
    /// `expect_column_most_common_value_to_be_in_set`.
    MostCommonInSet {
        /// `value_set`.
        set: TextSet,
        /// `ties_okay`: one of several modes in the set is enough.
        ties_okay: bool,
    },
    /// `expect_column_unique_value_count_to_be_between`.
    UniqueCountBetween {
        /// `min_value`.
        min: Option<u64>,
        /// `max_value`.
        max: Option<u64>,
    },
    /// `expect_column_proportion_of_unique_values_to_be_between`.
    ProportionUniqueBetween {
        /// `min_value`.
        min: Option<f64>,
        /// `max_value`.
        max: Option<f64>,
    },
    /// `expect_column_values_to_be_of_type`.
    OfType {
        /// `type_` as written.
        name: String,
        /// The dtype it names.
        dtype: Dtype,
    },
    /// `expect_column_kl_divergence_to_be_less_than` (a categorical partition).
    KlDivergence {
        /// `partition_object.values`.
        values: Vec<String>,
        /// `partition_object.weights`.
        weights: Vec<f64>,
        /// `threshold`.
        threshold: f64,
        /// `tail_weight_holdout`.
        tail_weight_holdout: f64,
    },
}

/// What reading a parameter from the suite gives: the value and the offset to point at.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<(&'a toml::Value, usize)>;

impl TextKind {
    /// The type.
    pub const fn ty(&self) -> TextType {
        match self {
            Self::InSet { .. } => TextType::InSet,
            Self::NotInSet { .. } => TextType::NotInSet,
            Self::MatchRegex { .. } => TextType::MatchRegex,
            Self::LengthsBetween { .. } => TextType::LengthsBetween,
            Self::Unique { .. } => TextType::Unique,
            Self::DistinctInSet { .. } => TextType::DistinctInSet,
            Self::MostCommonInSet { .. } => TextType::MostCommonInSet,
            Self::UniqueCountBetween { .. } => TextType::UniqueCountBetween,
            Self::ProportionUniqueBetween { .. } => TextType::ProportionUniqueBetween,
            Self::OfType { .. } => TextType::OfType,
            Self::KlDivergence { .. } => TextType::KlDivergence,
        }
    }

    /// The Great Expectations name.
    pub const fn name(&self) -> &'static str {
        self.ty().name()
    }

    /// Reads the parameters of `ty` with `get`; errors are an offset in the suite and a
    /// message.
    pub fn parse(ty: TextType, get: Lookup<'_>, at: usize) -> Result<Self, (usize, String)> {
        let wrong = |key: &str, v: &toml::Value, at: usize, want: &str| {
            (at, format!("`{key}` must be {want}, not {}", v.type_str()))
        };
        let number = |key: &str| -> Result<Option<f64>, (usize, String)> {
            match get(key) {
                None => Ok(None),
                Some((v, at)) => match v {
                    toml::Value::Float(x) => Ok(Some(*x)),
                    toml::Value::Integer(i) => Ok(Some(*i as f64)),
                    _ => Err(wrong(key, v, at, "a number")),
                },
            }
        };
        let count = |key: &str| -> Result<Option<u64>, (usize, String)> {
            match get(key) {
                None => Ok(None),
                Some((toml::Value::Integer(i), _)) if *i >= 0 => Ok(Some(*i as u64)),
                Some((v, at)) => Err(wrong(key, v, at, "a whole number ≥ 0")),
            }
        };
        let mostly = || -> Result<f64, (usize, String)> {
            let m = number("mostly")?.unwrap_or(1.0);
            mlprobe_core::expect::check_mostly(m)
                .map_err(|e| (get("mostly").map_or(at, |(_, a)| a), e.to_string()))
        };
        let set = || -> Result<TextSet, (usize, String)> {
            let (v, at) = get("value_set").ok_or((at, "`value_set` is missing".to_string()))?;
            let items = v
                .as_array()
                .and_then(|a| a.iter().map(item).collect::<Option<Vec<_>>>())
                .ok_or_else(|| wrong("value_set", v, at, "a list of strings and numbers"))?;
            Ok(TextSet::new(items))
        };
        let ordered = |min: Option<f64>, max: Option<f64>| match (min, max) {
            (Some(lo), Some(hi)) if lo > hi => Err((
                get("min_value").map_or(at, |(_, a)| a),
                format!("min_value {lo} > max_value {hi}"),
            )),
            _ => Ok(()),
        };
        Ok(match ty {
            TextType::InSet => Self::InSet {
                set: set()?,
                mostly: mostly()?,
            },
            TextType::NotInSet => Self::NotInSet {
                set: set()?,
                mostly: mostly()?,
            },
            TextType::MatchRegex => {
                let (v, at) = get("regex").ok_or((at, "`regex` is missing".to_string()))?;
                let source = v
                    .as_str()
                    .ok_or_else(|| wrong("regex", v, at, "a string"))?;
                let regex = Pattern::new(source)
                    .map_err(|e| (at, format!("`regex` is not a regular expression: {e}")))?;
                Self::MatchRegex {
                    regex,
                    mostly: mostly()?,
                }
            }
            TextType::LengthsBetween => {
                let (min, max) = (count("min_value")?, count("max_value")?);
                ordered(min.map(|x| x as f64), max.map(|x| x as f64))?;
                Self::LengthsBetween {
                    min,
                    max,
                    mostly: mostly()?,
                }
            }
            TextType::Unique => Self::Unique { mostly: mostly()? },
            TextType::DistinctInSet => Self::DistinctInSet { set: set()? },
            TextType::MostCommonInSet => Self::MostCommonInSet {
                set: set()?,
                ties_okay: match get("ties_okay") {
                    None => false,
                    Some((toml::Value::Boolean(b), _)) => *b,
                    Some((v, at)) => return Err(wrong("ties_okay", v, at, "true or false")),
                },
            },
            TextType::UniqueCountBetween => {
                let (min, max) = (count("min_value")?, count("max_value")?);
                ordered(min.map(|x| x as f64), max.map(|x| x as f64))?;
                Self::UniqueCountBetween { min, max }
            }
            TextType::ProportionUniqueBetween => {
                let (min, max) = (number("min_value")?, number("max_value")?);
                ordered(min, max)?;
                Self::ProportionUniqueBetween { min, max }
            }
            TextType::OfType => {
                let (v, at) = get("type_").ok_or((at, "`type_` is missing".to_string()))?;
                let name = v
                    .as_str()
                    .ok_or_else(|| wrong("type_", v, at, "a string"))?;
                let dtype = Dtype::from_name(name).ok_or_else(|| {
                    (
                        at,
                        format!(
                            "`type_ = {}` is not a type mlprobe infers; expected one of: int64, \
                             float64, bool, object (or int, float, str, string)",
                            toml_string(&excerpt(name))
                        ),
                    )
                })?;
                Self::OfType {
                    name: name.to_string(),
                    dtype,
                }
            }
            TextType::KlDivergence => {
                let (v, vat) = get("partition_object.values")
                    .ok_or((at, "`partition_object.values` is missing".to_string()))?;
                let values = v
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|x| match x {
                                toml::Value::String(s) => Some(s.clone()),
                                toml::Value::Integer(i) => Some(i.to_string()),
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| wrong("partition_object.values", v, vat, "a list of strings"))?;
                let (w, wat) = get("partition_object.weights")
                    .ok_or((at, "`partition_object.weights` is missing".to_string()))?;
                let weights = w
                    .as_array()
                    .and_then(|a| {
                        a.iter()
                            .map(|x| match x {
                                toml::Value::Float(f) => Some(*f),
                                toml::Value::Integer(i) => Some(*i as f64),
                                _ => None,
                            })
                            .collect::<Option<Vec<_>>>()
                    })
                    .ok_or_else(|| {
                        wrong("partition_object.weights", w, wat, "a list of numbers")
                    })?;
                if values.len() != weights.len() || values.is_empty() {
                    return Err((
                        wat,
                        format!(
                            "partition_object has {} values and {} weights: one weight per \
                             value, at least one",
                            values.len(),
                            weights.len()
                        ),
                    ));
                }
                let sum: f64 = weights.iter().sum();
                if weights.iter().any(|w| w.is_nan() || *w < 0.0) || (sum - 1.0).abs() > 1e-6 {
                    return Err((
                        wat,
                        format!("partition_object.weights must be ≥ 0 and sum to 1 (sum {sum})"),
                    ));
                }
                let mut seen = HashSet::new();
                if let Some(d) = values.iter().find(|v| !seen.insert(v.as_str())) {
                    return Err((
                        vat,
                        format!("`{}` appears twice in partition_object.values", excerpt(d)),
                    ));
                }
                let threshold = number("threshold")?.unwrap_or(f64::NAN);
                if threshold.is_nan() || threshold < 0.0 {
                    return Err((
                        get("threshold").map_or(at, |(_, a)| a),
                        "`threshold` must be a number ≥ 0".into(),
                    ));
                }
                let holdout = number("tail_weight_holdout")?.unwrap_or(0.0);
                if !(0.0..=1.0).contains(&holdout) {
                    return Err((
                        get("tail_weight_holdout").map_or(at, |(_, a)| a),
                        "`tail_weight_holdout` must be between 0 and 1".into(),
                    ));
                }
                Self::KlDivergence {
                    values,
                    weights,
                    threshold,
                    tail_weight_holdout: holdout,
                }
            }
        })
    }

    /// The parameters as TOML lines (`key = value`), in the order of [`TextType::keys`].
    pub fn to_toml(&self) -> Vec<String> {
        let mostly = |m: f64| (m != 1.0).then(|| format!("mostly = {}", toml_float(m)));
        let bound = |k: &str, x: Option<String>| x.map(|x| format!("{k} = {x}"));
        let lines: Vec<Option<String>> = match self {
            Self::InSet { set, mostly: m } | Self::NotInSet { set, mostly: m } => {
                vec![Some(format!("value_set = {}", set.to_toml())), mostly(*m)]
            }
            Self::MatchRegex { regex, mostly: m } => {
                vec![
                    Some(format!("regex = {}", toml_string(regex.regex.as_str()))),
                    mostly(*m),
                ]
            }
            Self::LengthsBetween {
                min,
                max,
                mostly: m,
            } => vec![
                bound("min_value", min.map(|x| x.to_string())),
                bound("max_value", max.map(|x| x.to_string())),
                mostly(*m),
            ],
            Self::Unique { mostly: m } => vec![mostly(*m)],
            Self::DistinctInSet { set } => vec![Some(format!("value_set = {}", set.to_toml()))],
            Self::MostCommonInSet { set, ties_okay } => vec![
                Some(format!("value_set = {}", set.to_toml())),
                ties_okay.then(|| "ties_okay = true".to_string()),
            ],
            Self::UniqueCountBetween { min, max } => vec![
                bound("min_value", min.map(|x| x.to_string())),
                bound("max_value", max.map(|x| x.to_string())),
            ],
            Self::ProportionUniqueBetween { min, max } => vec![
                bound("min_value", min.map(toml_float)),
                bound("max_value", max.map(toml_float)),
            ],
            Self::OfType { name, .. } => vec![Some(format!("type_ = {}", toml_string(name)))],
            Self::KlDivergence {
                values,
                weights,
                threshold,
                tail_weight_holdout,
            } => {
                let v: Vec<String> = values.iter().map(|s| toml_string(s)).collect();
                let w: Vec<String> = weights.iter().map(|&x| toml_float(x)).collect();
                vec![
                    Some(format!(
                        "partition_object = {{ values = [{}], weights = [{}] }}",
                        v.join(", "),
                        w.join(", ")
                    )),
                    Some(format!("threshold = {}", toml_float(*threshold))),
                    (*tail_weight_holdout != 0.0).then(|| {
                        format!("tail_weight_holdout = {}", toml_float(*tail_weight_holdout))
                    }),
                ]
            }
        };
        lines.into_iter().flatten().collect()
    }

    /// Whether the check reads the column's value counts ([`Distinct`]).
    pub const fn needs_counts(&self) -> bool {
        matches!(
            self,
            Self::Unique { .. }
                | Self::DistinctInSet { .. }
                | Self::MostCommonInSet { .. }
                | Self::UniqueCountBetween { .. }
                | Self::ProportionUniqueBetween { .. }
                | Self::KlDivergence { .. }
        )
    }

    /// Whether a present cell is unexpected, for the checks that judge cells one by one.
    #[inline]
    fn unexpected(&self, cell: &[u8]) -> bool {
        match self {
            Self::InSet { set, .. } | Self::DistinctInSet { set } => !set.contains(cell),
            Self::NotInSet { set, .. } => set.contains(cell),
            Self::MatchRegex { regex, .. } => !regex.is_match(cell, &mut None),
            Self::LengthsBetween { min, max, .. } => {
                let n = chars(cell);
                min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m)
            }
            _ => false,
        }
    }

    /// Whether the check judges cells one by one.
    const fn by_cell(&self) -> bool {
        matches!(
            self,
            Self::InSet { .. }
                | Self::NotInSet { .. }
                | Self::MatchRegex { .. }
                | Self::LengthsBetween { .. }
                | Self::DistinctInSet { .. }
        )
    }
}

/// Characters of a cell (Unicode scalar values, as Python's `len`; an invalid UTF-8 sequence
/// counts as its replacement character).
#[inline]
pub(crate) fn chars(cell: &[u8]) -> u64 {
    if cell.is_ascii() {
        cell.len() as u64
    } else {
        String::from_utf8_lossy(cell).chars().count() as u64
    }
}

fn item(v: &toml::Value) -> Option<Item> {
    match v {
        toml::Value::String(s) => Some(Item::Text(s.clone())),
        toml::Value::Integer(i) => Some(Item::Number(*i as f64)),
        toml::Value::Float(x) => Some(Item::Number(*x)),
        _ => None,
    }
}
