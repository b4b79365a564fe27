//! Data-quality expectations with Great Expectations' semantics, streaming and mergeable.
//!
//! A suite of expectations is checked in one pass over the data, one value at a time, in
//! fixed memory, so the same code guards a CSV file of any size on the host (chunks parsed on
//! several threads, their states merged) and a device's inputs.
//!
//! - [`ColumnState`]: per column, the element count, missing count, min, max and
//!   [`Moments`](crate::moments::Moments) (shifted Welford mean/variance). Missing values are
//!   `NaN`.
//! - [`CheckState`]: what one expectation needs beyond that: its unexpected count and the
//!   first [`PARTIAL_CAPACITY`] unexpected values ([`Partial`]), a [`QuantileSketch`], or bin
//!   counts for drift.
//! - Both `merge`: merging the states of two inputs gives the state of their concatenation
//!   (exactly; `Moments` up to rounding), so chunks can be processed in any grouping as long as
//!   merges are done in input order (only [`Partial`] depends on order: it keeps the *first*
//!   unexpected values).
//! - [`observe_row`] feeds a row into caller-provided states (the loop of a device, where the
//!   suite and states are fixed arrays); the host instead dispatches per column, in parallel.
//! - [`evaluate`] turns a state into an [`Outcome`] with Great Expectations' result fields:
//!   `unexpected_percent` over non-missing values, `mostly` (default 1.0), `observed_value` for
//!   aggregate expectations, a `partial_unexpected_list` of at most 20 values; and
//!   [`Kind::summary`] says it in one line.
//!
//! ## Adding an expectation type
//!
//! Everything about a type is in this file: its name and parameter keys ([`Type`], the
//! `types!` table and [`Type::spec`]), its parameters and how a suite reads and writes them
//! ([`Kind`], [`Kind::parse`], [`Kind::write`], with the readers of [`params`]), what it
//! accumulates ([`CheckState::new`], [`CheckState::push`], [`Kind::needs_values`]), its
//! result fields ([`evaluate`]) and its summary ([`Kind::summary`]). Every one of these is an
//! exhaustive `match`, so the compiler lists what a new variant still lacks. The host's suite
//! reader and writer, the streaming check and the JSON result are generic over them; only a
//! parameter of a new shape (neither a number, a flag, a list of numbers nor a list of pairs)
//! needs the host's TOML reader and writer (`host/src/suite.rs`).
//!
//! `expect_table_columns_to_match_ordered_list` is about names, not values (core does not
//! allocate): the host keeps the list and calls [`columns_match_ordered_list`].
//!
//! ```
//! use mlprobe_core::expect::{evaluate, CheckState, ColumnState, Kind, Range};
//! let kind = Kind::ValuesToBeBetween { range: Range::new(Some(0.0), Some(10.0)).unwrap(), mostly: 0.5 };
//! let (mut col, mut check) = (ColumnState::new(), CheckState::new(&kind));
//! for x in [1.0, f64::NAN, 12.0, 3.0] {
//!     col.push(x);
//!     if !x.is_nan() { check.push(&kind, x); }
//! }
//! let out = evaluate(&kind, col.element_count(), Some(&col), &check);
//! assert!(out.success);
//! assert_eq!((out.missing_count, out.unexpected_count), (Some(1), Some(1)));
//! assert_eq!(out.unexpected_percent, Some(100.0 / 3.0));
//! assert_eq!(out.partial_unexpected.as_slice(), &[12.0]);
//! ```

pub mod params;
mod state;
mod wire;

pub use params::{
    ExpectError, ParamError, ParamWriter, Params, Partition, QuantileRanges, Range, ValueSet,
    check_mostly,
};
pub use state::{ColumnState, PSI_EPSILON, Partial, QuantileSketch, nearest_rank, psi};

use core::fmt;
use heapless::Vec;
use params::{read_mostly, write_mostly};

/// How many unexpected values a result lists (`partial_unexpected_list`), as in Great
/// Expectations' `SUMMARY` result format.
pub const PARTIAL_CAPACITY: usize = 20;
/// Largest `value_set` of `expect_column_values_to_be_in_set`.
pub const MAX_SET: usize = 256;
/// Largest number of quantiles of `expect_column_quantile_values_to_be_between`.
pub const MAX_QUANTILES: usize = 16;
/// Largest number of bins of the drift expectation's partition.
pub const MAX_BINS: usize = 32;

// ---------------------------------------------------------------------------------------------
// Types and their parameters

/// One list of the types, so that [`Type::ALL`] cannot miss a variant.
macro_rules! types {
    ($($(#[doc = $doc:literal])* $variant:ident => $name:literal,)+) => {
        /// An expectation type without its parameters ([`Kind`] holds them).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[non_exhaustive]
        pub enum Type {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Type {
            /// Every type, in the order of the suite format's documentation.
            pub const ALL: &'static [Type] = &[$(Type::$variant,)+];

            /// The Great Expectations name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Type::$variant => $name,)+
                }
            }
        }
    };
}

types! {
    /// Its column is in the data.
    ColumnToExist => "expect_column_to_exist",
    /// No missing values (or at least `mostly` present).
    ValuesToNotBeNull => "expect_column_values_to_not_be_null",
    /// Values within a range.
    ValuesToBeBetween => "expect_column_values_to_be_between",
    /// Values in a set.
    ValuesToBeInSet => "expect_column_values_to_be_in_set",
    /// The mean within a range.
    MeanToBeBetween => "expect_column_mean_to_be_between",
    /// The sample standard deviation within a range.
    StdevToBeBetween => "expect_column_stdev_to_be_between",
    /// The smallest value within a range.
    MinToBeBetween => "expect_column_min_to_be_between",
    /// The largest value within a range.
    MaxToBeBetween => "expect_column_max_to_be_between",
    /// Quantiles within ranges.
    QuantileValuesToBeBetween => "expect_column_quantile_values_to_be_between",
    /// The population stability index against a reference below a threshold.
    PsiToBeLessThan => "expect_column_psi_to_be_less_than",
    /// The number of rows within a range.
    TableRowCountToBeBetween => "expect_table_row_count_to_be_between",
}

/// The keys of a type in a suite file, besides `type` and `meta` (always allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Whether the expectation is about a column: it then needs the string `column`.
    pub column: bool,
    /// Keys that must be present (`table.field` for a field of an inline table).
    pub required: &'static [&'static str],
    /// Keys that may be present.
    pub optional: &'static [&'static str],
}

const RANGE: &[&str] = &["min_value", "max_value", "strict_min", "strict_max"];

impl Type {
    /// The type with Great Expectations name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// Its keys.
    pub const fn spec(self) -> Spec {
        const fn column(
            required: &'static [&'static str],
            optional: &'static [&'static str],
        ) -> Spec {
            Spec {
                column: true,
                required,
                optional,
            }
        }
        match self {
            Self::ColumnToExist => column(&[], &[]),
            Self::ValuesToNotBeNull => column(&[], &["mostly"]),
            Self::ValuesToBeBetween => column(
                &[],
                &[
                    "min_value",
                    "max_value",
                    "strict_min",
                    "strict_max",
                    "mostly",
                ],
            ),
            Self::ValuesToBeInSet => column(&["value_set"], &["mostly"]),
            Self::MeanToBeBetween
            | Self::StdevToBeBetween
            | Self::MinToBeBetween
            | Self::MaxToBeBetween => column(&[], RANGE),
            Self::QuantileValuesToBeBetween => column(
                &["quantile_ranges.quantiles", "quantile_ranges.value_ranges"],
                &[],
            ),
            Self::PsiToBeLessThan => column(
                &["partition_object.bins", "partition_object.weights"],
                &["threshold"],
            ),
            Self::TableRowCountToBeBetween => Spec {
                column: false,
                required: &[],
                optional: RANGE,
            },
        }
    }
}

/// An expectation type with its parameters (Great Expectations names in [`Kind::name`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // fixed capacity, no allocation: parameters live inline
pub enum Kind {
    /// `expect_column_to_exist`.
    ColumnToExist,
    /// `expect_column_values_to_not_be_null`: the unexpected values are the missing ones, so
    /// its `unexpected_percent` is over all values.
    ValuesToNotBeNull {
        /// Fraction of values that must be present.
        mostly: f64,
    },
    /// `expect_column_values_to_be_between`.
    ValuesToBeBetween {
        /// `min_value`, `max_value`, `strict_min`, `strict_max`.
        range: Range,
        /// Fraction of non-missing values that must pass.
        mostly: f64,
    },
    /// `expect_column_values_to_be_in_set`.
    ValuesToBeInSet {
        /// `value_set`.
        set: ValueSet,
        /// Fraction of non-missing values that must pass.
        mostly: f64,
    },
    /// `expect_column_mean_to_be_between`.
    MeanToBeBetween(Range),
    /// `expect_column_stdev_to_be_between` (sample standard deviation, `n − 1`, as pandas).
    StdevToBeBetween(Range),
    /// `expect_column_min_to_be_between`.
    MinToBeBetween(Range),
    /// `expect_column_max_to_be_between`.
    MaxToBeBetween(Range),
    /// `expect_column_quantile_values_to_be_between`, through a [`QuantileSketch`].
    QuantileValuesToBeBetween(QuantileRanges),
    /// `expect_column_psi_to_be_less_than` (mlprobe's drift expectation, in Great Expectations'
    /// style after `expect_column_kl_divergence_to_be_less_than`): the [`psi`] of the column's
    /// distribution on the reference `partition_object`'s bins is below `threshold`.
    PsiToBeLessThan {
        /// The reference profile.
        partition: Partition,
        /// Largest PSI that passes (0.25 by convention: "significant shift").
        threshold: f64,
    },
    /// `expect_table_row_count_to_be_between`.
    TableRowCountToBeBetween(Range),
}

impl Kind {
    /// Its type.
    pub const fn ty(&self) -> Type {
        match self {
            Self::ColumnToExist => Type::ColumnToExist,
            Self::ValuesToNotBeNull { .. } => Type::ValuesToNotBeNull,
            Self::ValuesToBeBetween { .. } => Type::ValuesToBeBetween,
            Self::ValuesToBeInSet { .. } => Type::ValuesToBeInSet,
            Self::MeanToBeBetween(_) => Type::MeanToBeBetween,
            Self::StdevToBeBetween(_) => Type::StdevToBeBetween,
            Self::MinToBeBetween(_) => Type::MinToBeBetween,
            Self::MaxToBeBetween(_) => Type::MaxToBeBetween,
            Self::QuantileValuesToBeBetween(_) => Type::QuantileValuesToBeBetween,
            Self::PsiToBeLessThan { .. } => Type::PsiToBeLessThan,
            Self::TableRowCountToBeBetween(_) => Type::TableRowCountToBeBetween,
        }
    }

    /// The Great Expectations name.
    pub const fn name(&self) -> &'static str {
        self.ty().name()
    }

    /// Whether the expectation is about the table rather than a column.
    pub const fn is_table(&self) -> bool {
        !self.ty().spec().column
    }

    /// Reads the parameters of a `ty` expectation from a suite's table and checks them. The
    /// reader has checked that the keys are those of [`Type::spec`].
    pub fn parse<P: Params>(ty: Type, p: &mut P) -> Result<Self, P::Error> {
        Ok(match ty {
            Type::ColumnToExist => Self::ColumnToExist,
            Type::ValuesToNotBeNull => Self::ValuesToNotBeNull {
                mostly: read_mostly(p)?,
            },
            Type::ValuesToBeBetween => Self::ValuesToBeBetween {
                range: Range::read(p)?,
                mostly: read_mostly(p)?,
            },
            Type::ValuesToBeInSet => Self::ValuesToBeInSet {
                set: ValueSet::read(p, "value_set")?,
                mostly: read_mostly(p)?,
            },
            Type::MeanToBeBetween => Self::MeanToBeBetween(Range::read(p)?),
            Type::StdevToBeBetween => Self::StdevToBeBetween(Range::read(p)?),
            Type::MinToBeBetween => Self::MinToBeBetween(Range::read(p)?),
            Type::MaxToBeBetween => Self::MaxToBeBetween(Range::read(p)?),
            Type::QuantileValuesToBeBetween => {
                Self::QuantileValuesToBeBetween(QuantileRanges::read(p)?)
            }
            Type::PsiToBeLessThan => Self::PsiToBeLessThan {
                partition: Partition::read(p)?,
                threshold: match p.number("threshold")? {
                    None => 0.25,
                    Some(t) if t.is_finite() && t >= 0.0 => t,
                    Some(_) => {
                        let e = ParamError::new(Some("threshold"), ExpectError::Threshold);
                        return Err(p.reject(e));
                    }
                },
            },
            Type::TableRowCountToBeBetween => Self::TableRowCountToBeBetween(Range::read(p)?),
        })
    }

    /// Writes the parameters that [`Kind::parse`] reads back (defaults left out).
    pub fn write<W: ParamWriter>(&self, w: &mut W) {
        match self {
            Self::ColumnToExist => {}
            Self::ValuesToNotBeNull { mostly } => write_mostly(w, *mostly),
            Self::ValuesToBeBetween { range, mostly } => {
                range.write(w);
                write_mostly(w, *mostly);
            }
            Self::ValuesToBeInSet { set, mostly } => {
                w.numbers("value_set", set.as_slice());
                write_mostly(w, *mostly);
            }
            Self::MeanToBeBetween(r)
            | Self::StdevToBeBetween(r)
            | Self::MinToBeBetween(r)
            | Self::MaxToBeBetween(r)
            | Self::TableRowCountToBeBetween(r) => r.write(w),
            Self::QuantileValuesToBeBetween(qr) => qr.write(w),
            Self::PsiToBeLessThan {
                partition,
                threshold,
            } => {
                partition.write(w);
                w.number("threshold", *threshold);
            }
        }
    }

    /// Whether [`CheckState::push`] must see the column's non-missing values.
    pub const fn needs_values(&self) -> bool {
        match self {
            Self::ValuesToBeBetween { .. }
            | Self::ValuesToBeInSet { .. }
            | Self::QuantileValuesToBeBetween(_)
            | Self::PsiToBeLessThan { .. } => true,
            Self::ColumnToExist
            | Self::ValuesToNotBeNull { .. }
            | Self::MeanToBeBetween(_)
            | Self::StdevToBeBetween(_)
            | Self::MinToBeBetween(_)
            | Self::MaxToBeBetween(_)
            | Self::TableRowCountToBeBetween(_) => false,
        }
    }

    /// One line for people about an outcome of this expectation (`3 of 120 unexpected
    /// (2.50 %), first: 7, 9, 11`).
    pub fn summary<'a>(&'a self, outcome: &'a Outcome) -> Summary<'a> {
        Summary {
            kind: self,
            out: outcome,
        }
    }
}

/// `expect_table_columns_to_match_ordered_list`: the header equals the list, in order.
///
/// ```
/// use mlprobe_core::expect::columns_match_ordered_list;
/// assert!(columns_match_ordered_list(["a", "b"], ["a", "b"]));
/// assert!(!columns_match_ordered_list(["a", "b"], ["b", "a"]));
/// assert!(!columns_match_ordered_list(["a", "b"], ["a"]));
/// ```
pub fn columns_match_ordered_list<'a, 'b>(
    actual: impl IntoIterator<Item = &'a str>,
    expected: impl IntoIterator<Item = &'b str>,
) -> bool {
    actual.into_iter().eq(expected)
}

// ---------------------------------------------------------------------------------------------
// State

/// What one expectation accumulates beyond its column's [`ColumnState`].
///
/// Serializable (serde), to merge the states of parts computed elsewhere; deserializing
/// rejects what no values give (such as more kept unexpected values than counted ones).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[allow(clippy::large_enum_variant)] // fixed memory is the point; the sketch lives inline
pub enum CheckState {
    /// Nothing: the expectation reads the [`ColumnState`] only.
    Nothing,
    /// Values that failed a per-value test.
    Unexpected {
        /// How many.
        count: u64,
        /// The first ones.
        partial: Partial,
    },
    /// A quantile sketch of the values.
    Sketch(QuantileSketch),
    /// Counts of values per bin of the reference partition.
    Bins([u64; MAX_BINS]),
}

impl CheckState {
    /// The empty state for an expectation.
    pub fn new(kind: &Kind) -> Self {
        match kind {
            Kind::ValuesToBeBetween { .. } | Kind::ValuesToBeInSet { .. } => Self::Unexpected {
                count: 0,
                partial: Partial::new(),
            },
            Kind::QuantileValuesToBeBetween(_) => Self::Sketch(QuantileSketch::new()),
            Kind::PsiToBeLessThan { .. } => Self::Bins([0; MAX_BINS]),
            Kind::ColumnToExist
            | Kind::ValuesToNotBeNull { .. }
            | Kind::MeanToBeBetween(_)
            | Kind::StdevToBeBetween(_)
            | Kind::MinToBeBetween(_)
            | Kind::MaxToBeBetween(_)
            | Kind::TableRowCountToBeBetween(_) => Self::Nothing,
        }
    }

    /// Adds a non-missing value of the expectation's column (only needed when
    /// [`Kind::needs_values`]; a no-op otherwise, and for a state of another kind).
    #[inline]
    pub fn push(&mut self, kind: &Kind, x: f64) {
        match kind {
            Kind::ValuesToBeBetween { range, .. } => self.unexpected_unless(range.contains(x), x),
            Kind::ValuesToBeInSet { set, .. } => self.unexpected_unless(set.contains(x), x),
            Kind::QuantileValuesToBeBetween(_) => {
                if let Self::Sketch(s) = self {
                    s.push(x);
                }
            }
            Kind::PsiToBeLessThan { partition, .. } => {
                if let Self::Bins(b) = self
                    && let Some(c) = b.get_mut(partition.bin(x))
                {
                    *c += 1;
                }
            }
            Kind::ColumnToExist
            | Kind::ValuesToNotBeNull { .. }
            | Kind::MeanToBeBetween(_)
            | Kind::StdevToBeBetween(_)
            | Kind::MinToBeBetween(_)
            | Kind::MaxToBeBetween(_)
            | Kind::TableRowCountToBeBetween(_) => {}
        }
    }

    /// Adds a column's values (`NaN` missing, and skipped): what pushing each present one does,
    /// with the kind looked up once.
    pub fn extend(&mut self, kind: &Kind, values: &[f64]) {
        match kind {
            Kind::ValuesToBeBetween { range, .. } => {
                for &x in values {
                    if !x.is_nan() {
                        self.unexpected_unless(range.contains(x), x);
                    }
                }
            }
            _ if !kind.needs_values() => {}
            _ => {
                for &x in values {
                    if !x.is_nan() {
                        self.push(kind, x);
                    }
                }
            }
        }
    }

    #[inline]
    fn unexpected_unless(&mut self, expected: bool, x: f64) {
        if !expected && let Self::Unexpected { count, partial } = self {
            *count += 1;
            partial.push(x);
        }
    }

    /// Combines the state of the input that follows (`later`); states of different kinds are
    /// left alone. Counts saturate at `u64::MAX`.
    pub fn merge(&mut self, later: &CheckState) {
        match self {
            Self::Nothing => {}
            Self::Unexpected { count, partial } => {
                if let Self::Unexpected {
                    count: c2,
                    partial: p2,
                } = later
                {
                    *count = count.saturating_add(*c2);
                    partial.merge(p2);
                }
            }
            Self::Sketch(a) => {
                if let Self::Sketch(b) = later {
                    a.merge(b);
                }
            }
            Self::Bins(a) => {
                if let Self::Bins(b) = later {
                    a.iter_mut()
                        .zip(b)
                        .for_each(|(x, y)| *x = x.saturating_add(*y));
                }
            }
        }
    }
}

/// An expectation bound to the index of its column in the rows it will see (`None` for a table
/// expectation, or a column the rows lack).
#[derive(Clone, Debug, PartialEq)]
pub struct Bound {
    /// Index of the column within a row.
    pub column: Option<usize>,
    /// The expectation.
    pub kind: Kind,
}

/// Feeds one row (one value per column, `NaN` for missing) into caller-provided state: one
/// [`ColumnState`] per column and one [`CheckState`] per expectation. This is the whole
/// streaming loop for a device, where the suite, the states and the row live in fixed arrays.
///
/// ```
/// use mlprobe_core::expect::{evaluate, observe_row, Bound, CheckState, ColumnState, Kind, Range};
/// let suite = [
///     Bound { column: Some(0), kind: Kind::ValuesToNotBeNull { mostly: 1.0 } },
///     Bound { column: Some(1), kind: Kind::MaxToBeBetween(Range::new(None, Some(5.0)).unwrap()) },
/// ];
/// let mut columns = [ColumnState::new(); 2];
/// let mut checks = [CheckState::Nothing, CheckState::Nothing];
/// for (check, e) in checks.iter_mut().zip(&suite) { *check = CheckState::new(&e.kind); }
/// for row in [[1.0, 2.0], [f64::NAN, 7.0]] {
///     observe_row(&suite, &mut columns, &mut checks, &row).unwrap();
/// }
/// let out = evaluate(&suite[1].kind, 2, Some(&columns[1]), &checks[1]);
/// assert!(!out.success); // max 7 > 5
/// assert!(!evaluate(&suite[0].kind, 2, Some(&columns[0]), &checks[0]).success);
/// ```
pub fn observe_row(
    expectations: &[Bound],
    columns: &mut [ColumnState],
    checks: &mut [CheckState],
    row: &[f64],
) -> Result<(), ExpectError> {
    if columns.len() != row.len() || checks.len() != expectations.len() {
        return Err(ExpectError::ShapeMismatch);
    }
    for (state, &x) in columns.iter_mut().zip(row) {
        state.push(x);
    }
    for (check, e) in checks.iter_mut().zip(expectations) {
        if let Some(&x) = e.column.and_then(|c| row.get(c))
            && !x.is_nan()
        {
            check.push(&e.kind, x);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// Great Expectations' `observed_value`.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // fixed capacity, no allocation
pub enum Observed {
    /// The type reports no `observed_value` (existence and per-value expectations), or its
    /// column is missing.
    NotApplicable,
    /// An aggregate with nothing to observe (no values): `observed_value: null`.
    None,
    /// A statistic (mean, stdev, min, max, PSI).
    Value(f64),
    /// A count (rows).
    Count(u64),
    /// Quantile estimates (`None` where the column had no values).
    Quantiles {
        /// The quantiles asked for.
        quantiles: Vec<f64, MAX_QUANTILES>,
        /// Their estimates, from a [`QuantileSketch`]: each within
        /// `max(|exact| · QuantileSketch::RELATIVE_ERROR, absolute_error)` of the exact one.
        values: Vec<Option<f64>, MAX_QUANTILES>,
        /// This column's [`QuantileSketch::absolute_error`]: the bound for values below the
        /// sketch's window, which it reports as 0.
        absolute_error: f64,
        /// This column's [`QuantileSketch::below_window`]: how many values that was.
        below_window: u64,
    },
}

/// The result of one expectation: `success` and the Great Expectations result fields that
/// apply to its type (`None` where a field does not). A result lists `unexpected_percent` and
/// `partial_unexpected_list` exactly when it has an `unexpected_count`.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Whether the expectation held.
    pub success: bool,
    /// The column was not in the data (the expectation fails).
    pub column_missing: bool,
    /// Great Expectations would raise an exception (`exception_info`): the column is missing
    /// and the expectation is not `expect_column_to_exist`, for which that is the answer.
    pub exception: bool,
    /// `element_count`: values in the column, missing included.
    pub element_count: Option<u64>,
    /// `missing_count`.
    pub missing_count: Option<u64>,
    /// `unexpected_count`.
    pub unexpected_count: Option<u64>,
    /// `unexpected_percent`, over non-missing values (over all values for
    /// `expect_column_values_to_not_be_null`); `None` when there were none.
    pub unexpected_percent: Option<f64>,
    /// `partial_unexpected_list`: the first unexpected values.
    pub partial_unexpected: Partial,
    /// For `expect_column_values_to_not_be_null`: how many `null`s the partial list holds
    /// (after the values of `partial_unexpected`, which it then has none of).
    pub partial_unexpected_nulls: u8,
    /// `observed_value`.
    pub observed: Observed,
}

impl Outcome {
    fn new(success: bool) -> Self {
        Self {
            success,
            column_missing: false,
            exception: false,
            element_count: None,
            missing_count: None,
            unexpected_count: None,
            unexpected_percent: None,
            partial_unexpected: Partial::new(),
            partial_unexpected_nulls: 0,
            observed: Observed::NotApplicable,
        }
    }

    /// A column expectation whose column is not in the data: it fails, with an exception
    /// unless `raises` is false.
    pub fn missing_column(raises: bool) -> Self {
        Self {
            column_missing: true,
            exception: raises,
            ..Self::new(false)
        }
    }
}

/// Great Expectations' result fields: those that apply, in alphabetical order (as a JSON
/// object of them prints): `details` (how quantiles were estimated), `element_count`,
/// `missing_count`, `observed_value`, `partial_unexpected_list` (`null` for a missing value),
/// `unexpected_count`, `unexpected_percent`.
impl serde::Serialize for Outcome {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        if let Observed::Quantiles {
            absolute_error,
            below_window,
            ..
        } = self.observed
        {
            let details = QuantileDetails {
                absolute_error_near_zero: absolute_error,
                method: "nearest",
                relative_error: QuantileSketch::RELATIVE_ERROR,
                values_below_window: below_window,
            };
            m.serialize_entry("details", &details)?;
        }
        if let Some(n) = self.element_count {
            m.serialize_entry("element_count", &n)?;
        }
        if let Some(n) = self.missing_count {
            m.serialize_entry("missing_count", &n)?;
        }
        match &self.observed {
            Observed::NotApplicable => {}
            Observed::None => m.serialize_entry("observed_value", &())?,
            Observed::Value(v) => m.serialize_entry("observed_value", v)?,
            Observed::Count(n) => m.serialize_entry("observed_value", n)?,
            Observed::Quantiles {
                quantiles, values, ..
            } => {
                m.serialize_entry("observed_value", &QuantileValues { quantiles, values })?;
            }
        }
        if let Some(n) = self.unexpected_count {
            m.serialize_entry("partial_unexpected_list", &PartialList(self))?;
            m.serialize_entry("unexpected_count", &n)?;
            m.serialize_entry("unexpected_percent", &self.unexpected_percent)?;
        }
        m.end()
    }
}

/// `details` of a quantile result: how the values were estimated ([`QuantileSketch`]) and the
/// bound that holds for this column: each value within
/// `max(relative_error · |exact|, absolute_error_near_zero)` of the exact order statistic, the
/// absolute term for the `values_below_window` values the sketch reports as 0.
#[derive(serde::Serialize)]
struct QuantileDetails {
    absolute_error_near_zero: f64,
    method: &'static str,
    relative_error: f64,
    values_below_window: u64,
}

/// `observed_value` of a quantile result.
#[derive(serde::Serialize)]
struct QuantileValues<'a> {
    quantiles: &'a Vec<f64, MAX_QUANTILES>,
    values: &'a Vec<Option<f64>, MAX_QUANTILES>,
}

/// `partial_unexpected_list`: the values, then the `null`s of missing ones.
struct PartialList<'a>(&'a Outcome);

impl serde::Serialize for PartialList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let (values, nulls) = (
            self.0.partial_unexpected.as_slice(),
            usize::from(self.0.partial_unexpected_nulls),
        );
        let mut seq = s.serialize_seq(Some(values.len() + nulls))?;
        for x in values {
            seq.serialize_element(x)?;
        }
        for _ in 0..nulls {
            seq.serialize_element(&())?;
        }
        seq.end()
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// Great Expectations' `mostly` rule: the fraction of (non-missing) values that passed is at
/// least `mostly`; vacuously true without values.
fn mostly_holds(unexpected: u64, of: u64, mostly: f64) -> bool {
    // Saturating: states merged from elsewhere may claim more unexpected values than values.
    of == 0 || of.saturating_sub(unexpected) as f64 / of as f64 >= mostly
}

/// Evaluates an expectation. `rows` is the table's row count; `column` is `None` when the
/// expectation's column is not in the data (a column expectation then fails; a table
/// expectation ignores it).
pub fn evaluate(
    kind: &Kind,
    rows: u64,
    column: Option<&ColumnState>,
    check: &CheckState,
) -> Outcome {
    let col = match (kind, column) {
        (Kind::TableRowCountToBeBetween(range), _) => {
            return Outcome {
                observed: Observed::Count(rows),
                ..Outcome::new(range.contains(rows as f64))
            };
        }
        (Kind::ColumnToExist, None) => return Outcome::missing_column(false),
        // Every other type is about a column.
        (_, None) => return Outcome::missing_column(true),
        (_, Some(col)) => col,
    };
    let with_counts = |mut o: Outcome| {
        o.element_count = Some(col.element_count());
        o.missing_count = Some(col.missing_count());
        o
    };
    let statistic = |value: Option<f64>, range: &Range| {
        let success = value.is_some_and(|v| range.contains(v));
        with_counts(Outcome {
            observed: value.map_or(Observed::None, Observed::Value),
            ..Outcome::new(success)
        })
    };
    match kind {
        Kind::ColumnToExist => Outcome::new(true),
        Kind::ValuesToNotBeNull { mostly } => {
            let missing = col.missing_count();
            let n = col.element_count();
            Outcome {
                element_count: Some(n),
                unexpected_count: Some(missing),
                unexpected_percent: percent(missing, n),
                partial_unexpected_nulls: missing.min(PARTIAL_CAPACITY as u64) as u8,
                ..Outcome::new(mostly_holds(missing, n, *mostly))
            }
        }
        Kind::ValuesToBeBetween { mostly, .. } | Kind::ValuesToBeInSet { mostly, .. } => {
            let (unexpected, partial) = match check {
                CheckState::Unexpected { count, partial } => (*count, *partial),
                CheckState::Nothing | CheckState::Sketch(_) | CheckState::Bins(_) => {
                    (0, Partial::new())
                }
            };
            let n = col.nonmissing_count();
            with_counts(Outcome {
                unexpected_count: Some(unexpected),
                unexpected_percent: percent(unexpected, n),
                partial_unexpected: partial,
                ..Outcome::new(mostly_holds(unexpected, n, *mostly))
            })
        }
        Kind::MeanToBeBetween(r) => statistic(col.mean(), r),
        Kind::StdevToBeBetween(r) => statistic(col.stdev(), r),
        Kind::MinToBeBetween(r) => statistic(col.min(), r),
        Kind::MaxToBeBetween(r) => statistic(col.max(), r),
        Kind::QuantileValuesToBeBetween(qr) => {
            let sketch = match check {
                CheckState::Sketch(s) => Some(s),
                CheckState::Nothing | CheckState::Unexpected { .. } | CheckState::Bins(_) => None,
            };
            let mut values: Vec<Option<f64>, MAX_QUANTILES> = Vec::new();
            let mut success = true;
            for (&q, range) in qr.quantiles().iter().zip(qr.ranges()) {
                let v = sketch.and_then(|s| s.quantile(q));
                success &= v.is_some_and(|v| range.contains(v));
                // Capacity equals the number of quantiles.
                let _ = values.push(v);
            }
            let quantiles = Vec::from_slice(qr.quantiles()).unwrap_or_default();
            with_counts(Outcome {
                observed: Observed::Quantiles {
                    quantiles,
                    values,
                    absolute_error: sketch.map_or(0.0, QuantileSketch::absolute_error),
                    below_window: sketch.map_or(0, QuantileSketch::below_window),
                },
                ..Outcome::new(success)
            })
        }
        Kind::PsiToBeLessThan {
            partition,
            threshold,
        } => {
            let value = match check {
                CheckState::Bins(b) => psi(&b[..partition.weights().len()], partition.weights()),
                CheckState::Nothing | CheckState::Unexpected { .. } | CheckState::Sketch(_) => None,
            };
            with_counts(Outcome {
                observed: value.map_or(Observed::None, Observed::Value),
                ..Outcome::new(value.is_some_and(|v| v < *threshold))
            })
        }
        // Handled above: a table expectation reads no column.
        Kind::TableRowCountToBeBetween(range) => Outcome::new(range.contains(rows as f64)),
    }
}

/// [`Kind::summary`]: one line about an outcome, for people.
#[derive(Clone, Copy, Debug)]
pub struct Summary<'a> {
    kind: &'a Kind,
    out: &'a Outcome,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let out = self.out;
        let observed = |f: &mut fmt::Formatter<'_>, r: &Range| match out.observed {
            Observed::Value(v) => write!(f, "observed {} (expected {})", Num(v), Bounds(r)),
            Observed::Count(n) => write!(f, "observed {n} (expected {})", Bounds(r)),
            _ => f.write_str("no non-missing values"),
        };
        match self.kind {
            Kind::ColumnToExist => f.write_str("found"),
            Kind::ValuesToNotBeNull { .. } => write!(
                f,
                "{} of {} missing ({:.2} %)",
                out.unexpected_count.unwrap_or(0),
                out.element_count.unwrap_or(0),
                out.unexpected_percent.unwrap_or(0.0)
            ),
            Kind::ValuesToBeBetween { .. } | Kind::ValuesToBeInSet { .. } => {
                let n = out.element_count.unwrap_or(0) - out.missing_count.unwrap_or(0);
                write!(
                    f,
                    "{} of {n} unexpected ({:.2} %)",
                    out.unexpected_count.unwrap_or(0),
                    out.unexpected_percent.unwrap_or(0.0)
                )?;
                for (i, &x) in out.partial_unexpected.as_slice().iter().take(3).enumerate() {
                    f.write_str(if i == 0 { ", first: " } else { ", " })?;
                    write!(f, "{}", Num(x))?;
                }
                Ok(())
            }
            Kind::MeanToBeBetween(r)
            | Kind::StdevToBeBetween(r)
            | Kind::MinToBeBetween(r)
            | Kind::MaxToBeBetween(r)
            | Kind::TableRowCountToBeBetween(r) => observed(f, r),
            Kind::QuantileValuesToBeBetween(qr) => match &out.observed {
                Observed::Quantiles { values, .. } => {
                    let each = qr.quantiles().iter().zip(values).zip(qr.ranges());
                    for (i, ((q, v), r)) in each.enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write!(f, "q{q} = ")?;
                        match v {
                            Some(v) => write!(f, "{}", Num(*v))?,
                            None => f.write_str("-")?,
                        }
                        if !v.is_some_and(|v| r.contains(v)) {
                            write!(f, " (expected {})", Bounds(r))?;
                        }
                    }
                    Ok(())
                }
                _ => f.write_str("no non-missing values"),
            },
            Kind::PsiToBeLessThan { threshold, .. } => match out.observed {
                Observed::Value(v) => write!(f, "PSI {v:.4} (threshold {})", Num(*threshold)),
                _ => f.write_str("no non-missing values"),
            },
        }
    }
}

/// A number for people: an integer without decimals, anything else with at most 6.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x == libm::trunc(x) && libm::fabs(x) < 1e15 {
            write!(f, "{x:.0}")
        } else {
            use fmt::Write;
            let mut trim = TrimZeros { out: f, zeros: 0 };
            write!(trim, "{x:.6}")
        }
    }
}

/// Writes through to `out` but drops the zeros that end the text.
struct TrimZeros<'a, 'b> {
    out: &'a mut fmt::Formatter<'b>,
    zeros: usize,
}

impl fmt::Write for TrimZeros<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for c in s.chars() {
            if c == '0' {
                self.zeros += 1;
            } else {
                for _ in 0..self.zeros {
                    self.out.write_char('0')?;
                }
                self.zeros = 0;
                self.out.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// A range for people: `[0, 1)`, `[-inf, 5]`.
struct Bounds<'a>(&'a Range);

impl fmt::Display for Bounds<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        f.write_str(if r.strict_min { "(" } else { "[" })?;
        match r.min {
            Some(v) => write!(f, "{}", Num(v))?,
            None => f.write_str("-inf")?,
        }
        f.write_str(", ")?;
        match r.max {
            Some(v) => write!(f, "{}", Num(v))?,
            None => f.write_str("inf")?,
        }
        f.write_str(if r.strict_max { ")" } else { "]" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec;

    fn r(lo: f64, hi: f64) -> Range {
        Range::new(Some(lo), Some(hi)).unwrap()
    }

    pub(super) fn kinds() -> StdVec<Kind> {
        vec![
            Kind::ColumnToExist,
            Kind::ValuesToNotBeNull { mostly: 0.9 },
            Kind::ValuesToBeBetween {
                range: r(-1.0, 1.0),
                mostly: 0.8,
            },
            Kind::ValuesToBeInSet {
                set: ValueSet::new(&[0.0, 1.0, 2.0]).unwrap(),
                mostly: 1.0,
            },
            Kind::MeanToBeBetween(r(-0.5, 0.5)),
            Kind::StdevToBeBetween(r(0.0, 3.0)),
            Kind::MinToBeBetween(r(-10.0, 0.0)),
            Kind::MaxToBeBetween(r(0.0, 10.0)),
            Kind::QuantileValuesToBeBetween(
                QuantileRanges::new(
                    &[0.0, 0.5, 1.0],
                    &[Range::any(), r(-1.0, 1.0), Range::any()],
                )
                .unwrap(),
            ),
            Kind::PsiToBeLessThan {
                partition: Partition::new(&[-2.0, -0.5, 0.5, 2.0], &[0.25, 0.5, 0.25]).unwrap(),
                threshold: 0.25,
            },
            Kind::TableRowCountToBeBetween(r(1.0, 1e9)),
        ]
    }

    pub(super) fn state(kind: &Kind, xs: &[f64]) -> (ColumnState, CheckState) {
        let mut col = ColumnState::new();
        let mut check = CheckState::new(kind);
        for &x in xs {
            col.push(x);
            if !x.is_nan() {
                check.push(kind, x);
            }
        }
        (col, check)
    }

    /// Every kind's state from a slice equals its state from the values one by one.
    #[test]
    fn a_slice_of_values_gives_the_state_pushing_them_gives() {
        let xs: StdVec<f64> = (0..700)
            .map(|i| match i % 13 {
                0 => f64::NAN,
                _ => (f64::from(i) * 0.37).sin() * 3.0,
            })
            .collect();
        for kind in kinds() {
            let (_, pushed) = state(&kind, &xs);
            let mut sliced = CheckState::new(&kind);
            sliced.extend(&kind, &xs[..300]);
            sliced.extend(&kind, &xs[300..]);
            assert_eq!(sliced, pushed, "{}", kind.name());
        }
    }

    #[test]
    fn between_counts_missing_and_unexpected_like_great_expectations() {
        let kind = Kind::ValuesToBeBetween {
            range: r(0.0, 1.0),
            mostly: 1.0,
        };
        let (col, check) = state(&kind, &[0.0, 1.0, f64::NAN, 2.0, -1.0, 0.5]);
        let o = evaluate(&kind, 6, Some(&col), &check);
        assert!(!o.success);
        assert_eq!(o.element_count, Some(6));
        assert_eq!(o.missing_count, Some(1));
        assert_eq!(o.unexpected_count, Some(2));
        assert_eq!(o.unexpected_percent, Some(40.0));
        assert_eq!(o.partial_unexpected.as_slice(), &[2.0, -1.0]);
        let strict = Kind::ValuesToBeBetween {
            range: Range::with_strictness(Some(0.0), Some(1.0), true, false).unwrap(),
            mostly: 0.5,
        };
        let (col, check) = state(&strict, &[0.0, 1.0, 0.5]);
        let o = evaluate(&strict, 3, Some(&col), &check);
        assert_eq!(o.unexpected_count, Some(1));
        assert!(o.success, "2 of 3 pass, mostly 0.5");
    }

    #[test]
    fn not_null_is_over_all_values_and_lists_nulls() {
        let kind = Kind::ValuesToNotBeNull { mostly: 0.5 };
        let (col, check) = state(&kind, &[1.0, f64::NAN, f64::NAN, 4.0]);
        let o = evaluate(&kind, 4, Some(&col), &check);
        assert!(o.success);
        assert_eq!(o.unexpected_count, Some(2));
        assert_eq!(o.unexpected_percent, Some(50.0));
        assert_eq!(o.partial_unexpected_nulls, 2);
    }

    #[test]
    fn in_set_and_aggregates() {
        let set = ValueSet::new(&[2.0, 0.0, 1.0, 1.0, -0.0]).unwrap();
        assert_eq!(set.as_slice(), &[0.0, 1.0, 2.0]);
        assert!(set.contains(-0.0) && set.contains(2.0) && !set.contains(0.5));
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, f64::NAN];
        let (col, _) = state(&Kind::ColumnToExist, &xs);
        assert_eq!(col.mean(), Some(5.0));
        assert!((col.stdev().unwrap() - libm::sqrt(32.0 / 7.0)).abs() < 1e-12);
        let o = evaluate(
            &Kind::MinToBeBetween(r(1.0, 3.0)),
            9,
            Some(&col),
            &CheckState::Nothing,
        );
        assert!(o.success);
        assert_eq!(o.observed, Observed::Value(2.0));
        let o = evaluate(
            &Kind::MaxToBeBetween(r(1.0, 3.0)),
            9,
            Some(&col),
            &CheckState::Nothing,
        );
        assert!(!o.success);
        assert_eq!(o.observed, Observed::Value(9.0));
        // No values: aggregates have no observed value and fail.
        let (empty, _) = state(&Kind::ColumnToExist, &[f64::NAN]);
        let o = evaluate(
            &Kind::MeanToBeBetween(r(0.0, 1.0)),
            1,
            Some(&empty),
            &CheckState::Nothing,
        );
        assert!(!o.success);
        assert_eq!(o.observed, Observed::None);
    }

    #[test]
    fn missing_column_fails_table_expectations_do_not_need_one() {
        for kind in kinds() {
            let o = evaluate(&kind, 5, None, &CheckState::new(&kind));
            if kind.is_table() {
                assert!(o.success);
                assert_eq!(o.observed, Observed::Count(5));
            } else {
                assert!(!o.success && o.column_missing, "{}", kind.name());
            }
        }
    }

    /// A column's values for the property tests: missing, small integers (ties, set
    /// membership) and reals in [-3, 3).
    pub(super) fn column() -> impl proptest::strategy::Strategy<Value = StdVec<f64>> {
        use proptest::prelude::*;
        prop::collection::vec(
            prop_oneof![
                1 => Just(f64::NAN),
                1 => (0..3u32).prop_map(f64::from),
                8 => -3.0..3.0f64,
            ],
            0..200,
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(500))]

        /// merge(state(a), state(b)) = state(a ++ b) for every expectation type, for any
        /// column (with missing and out-of-range values) cut into up to 5 parts, merged left to
        /// right. proptest shrinks a failure to the shortest column and fewest cuts.
        #[test]
        fn property_merge_of_split_equals_whole(
            xs in column(),
            cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 1..5),
        ) {
            let n = xs.len();
            let mut cuts: StdVec<usize> = cuts.iter().map(|c| c.index(n + 1)).collect();
            cuts.sort_unstable();
            cuts.insert(0, 0);
            cuts.push(n);
            for kind in &kinds() {
                let (whole_col, whole_check) = state(kind, &xs);
                let (mut col, mut check) = (ColumnState::new(), CheckState::new(kind));
                for w in cuts.windows(2) {
                    let (c, k) = state(kind, &xs[w[0]..w[1]]);
                    col.merge(&c);
                    check.merge(&k);
                }
                proptest::prop_assert_eq!(&check, &whole_check, "{}", kind.name());
                proptest::prop_assert_eq!(col.element_count(), whole_col.element_count());
                proptest::prop_assert_eq!(col.missing_count(), whole_col.missing_count());
                proptest::prop_assert_eq!(col.min(), whole_col.min());
                proptest::prop_assert_eq!(col.max(), whole_col.max());
                let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    (a, b) => a == b,
                };
                proptest::prop_assert!(close(col.mean(), whole_col.mean()));
                proptest::prop_assert!(close(col.stdev(), whole_col.stdev()));
                let (a, b) = (
                    evaluate(kind, n as u64, Some(&col), &check),
                    evaluate(kind, n as u64, Some(&whole_col), &whole_check),
                );
                proptest::prop_assert_eq!(a.success, b.success, "{}", kind.name());
                proptest::prop_assert_eq!(a.unexpected_count, b.unexpected_count);
                proptest::prop_assert_eq!(&a.partial_unexpected, &b.partial_unexpected);
            }
        }
    }

    #[test]
    fn the_examples_cover_every_type_and_names_round_trip() {
        let covered: StdVec<Type> = kinds().iter().map(Kind::ty).collect();
        for &t in Type::ALL {
            assert!(covered.contains(&t), "{t:?}");
            assert_eq!(Type::from_name(t.name()), Some(t));
        }
        assert_eq!(covered.len(), Type::ALL.len());
        assert_eq!(Type::from_name("expect_column_to_be_nice"), None);
    }

    /// A suite table in memory: what a TOML table holds, as [`Params`] and [`ParamWriter`].
    #[derive(Debug, Default, PartialEq)]
    struct Table(StdVec<(&'static str, Value)>);

    #[derive(Clone, Debug, PartialEq)]
    enum Value {
        Number(f64),
        Flag(bool),
        Numbers(StdVec<f64>),
        Pairs(StdVec<[f64; 2]>),
    }

    impl Table {
        fn get(&self, key: &str) -> Option<&Value> {
            self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
        }

        fn with(mut self, key: &'static str, v: Value) -> Self {
            self.0.push((key, v));
            self
        }
    }

    impl ParamWriter for Table {
        fn number(&mut self, key: &'static str, x: f64) {
            self.0.push((key, Value::Number(x)));
        }
        fn flag(&mut self, key: &'static str, on: bool) {
            self.0.push((key, Value::Flag(on)));
        }
        fn numbers(&mut self, key: &'static str, xs: &[f64]) {
            self.0.push((key, Value::Numbers(xs.to_vec())));
        }
        fn pairs(&mut self, key: &'static str, pairs: &[[f64; 2]]) {
            self.0.push((key, Value::Pairs(pairs.to_vec())));
        }
    }

    type Read<T> = Result<T, (Option<&'static str>, std::string::String)>;

    impl Table {
        /// The value at `key` through `pick` (`None`: the wrong type), `absent` without it.
        fn read<T>(
            &self,
            key: &'static str,
            absent: T,
            pick: impl FnOnce(&Value) -> Option<T>,
        ) -> Read<T> {
            match self.get(key) {
                None => Ok(absent),
                Some(v) => pick(v).ok_or((Some(key), std::format!("wrong type: {v:?}"))),
            }
        }
    }

    /// Copies `xs` into `out` as far as it goes; the length of `xs`.
    fn fill<T: Copy>(out: &mut [T], xs: &[T]) -> usize {
        out.iter_mut().zip(xs).for_each(|(o, x)| *o = *x);
        xs.len()
    }

    impl Params for Table {
        type Error = (Option<&'static str>, std::string::String);
        fn number(&mut self, key: &'static str) -> Read<Option<f64>> {
            self.read(key, None, |v| match v {
                Value::Number(x) => Some(Some(*x)),
                _ => None,
            })
        }
        fn flag(&mut self, key: &'static str) -> Read<Option<bool>> {
            self.read(key, None, |v| match v {
                Value::Flag(b) => Some(Some(*b)),
                _ => None,
            })
        }
        fn numbers(&mut self, key: &'static str, out: &mut [f64]) -> Read<usize> {
            self.read(key, 0, |v| match v {
                Value::Numbers(xs) => Some(fill(out, xs)),
                _ => None,
            })
        }
        fn pairs(&mut self, key: &'static str, out: &mut [[f64; 2]]) -> Read<usize> {
            self.read(key, 0, |v| match v {
                Value::Pairs(xs) => Some(fill(out, xs)),
                _ => None,
            })
        }
        fn reject(&mut self, error: ParamError) -> Self::Error {
            (error.key(), std::format!("{error}"))
        }
    }

    #[test]
    fn parameters_written_read_back_to_the_same_kind() {
        for kind in kinds() {
            let mut table = Table::default();
            kind.write(&mut table);
            let keys: StdVec<&str> = table.0.iter().map(|(k, _)| *k).collect();
            let spec = kind.ty().spec();
            for k in &keys {
                assert!(
                    spec.required.contains(k) || spec.optional.contains(k),
                    "{k}"
                );
            }
            for k in spec.required {
                assert!(keys.contains(k), "{} writes {k}", kind.name());
            }
            assert_eq!(Kind::parse(kind.ty(), &mut table), Ok(kind));
        }
        // Defaults: mostly 1.0 and a non-strict range are left out; an open quantile range
        // is written with infinite ends.
        let mut t = Table::default();
        Kind::ValuesToNotBeNull { mostly: 1.0 }.write(&mut t);
        assert_eq!(t, Table::default());
        let mut t = Table::default();
        Kind::QuantileValuesToBeBetween(
            QuantileRanges::new(&[0.5], &[Range::new(None, Some(2.0)).unwrap()]).unwrap(),
        )
        .write(&mut t);
        assert_eq!(
            t.get("quantile_ranges.value_ranges"),
            Some(&Value::Pairs(std::vec![[f64::NEG_INFINITY, 2.0]]))
        );
    }

    #[test]
    fn rejected_parameters_name_their_key_and_read_as_today() {
        let parse = |ty: Type, t: Table| Kind::parse(ty, &mut { t }).unwrap_err();
        let n = Value::Number;
        assert_eq!(
            parse(
                Type::ValuesToNotBeNull,
                Table::default().with("mostly", n(1.5))
            ),
            (
                Some("mostly"),
                "mostly = 1.5: mostly must be within [0, 1]".into()
            )
        );
        let t = Table::default()
            .with("min_value", n(3.0))
            .with("max_value", n(1.0));
        assert_eq!(
            parse(Type::MeanToBeBetween, t),
            (
                Some("min_value"),
                "min_value 3 is greater than max_value 1".into()
            )
        );
        assert_eq!(
            parse(Type::TableRowCountToBeBetween, Table::default()),
            (None, "min_value and max_value cannot both be absent".into())
        );
        assert_eq!(
            parse(
                Type::MaxToBeBetween,
                Table::default().with("max_value", n(f64::NAN))
            ),
            (
                Some("max_value"),
                "a bound, set value, edge or weight is NaN or infinite".into()
            )
        );
        let many = Value::Numbers((0..300).map(f64::from).collect());
        assert_eq!(
            parse(
                Type::ValuesToBeInSet,
                Table::default().with("value_set", many)
            ),
            (
                Some("value_set"),
                "value_set is empty or has more than 256 values".into()
            )
        );
        let t = Table::default()
            .with("quantile_ranges.quantiles", Value::Numbers(std::vec![1.5]))
            .with(
                "quantile_ranges.value_ranges",
                Value::Pairs(std::vec![[0.0, 1.0]]),
            );
        assert_eq!(
            parse(Type::QuantileValuesToBeBetween, t),
            (
                Some("quantile_ranges"),
                "`quantile_ranges`: a quantile must be within [0, 1]".into()
            )
        );
        let t = Table::default()
            .with(
                "partition_object.bins",
                Value::Numbers((0..40).map(f64::from).collect()),
            )
            .with("partition_object.weights", Value::Numbers(std::vec![1.0]));
        assert_eq!(
            parse(Type::PsiToBeLessThan, t).1,
            "`partition_object`: the partition needs 2 to 33 strictly increasing bin edges and \
             one weight per bin"
        );
        let t = Table::default()
            .with("partition_object.bins", Value::Numbers(std::vec![0.0, 1.0]))
            .with("partition_object.weights", Value::Numbers(std::vec![1.0]))
            .with("threshold", n(-1.0));
        assert_eq!(
            parse(Type::PsiToBeLessThan, t),
            (
                Some("threshold"),
                "threshold must be a non-negative number".into()
            )
        );
    }

    #[test]
    fn summaries_read_as_before() {
        let between = Kind::ValuesToBeBetween {
            range: Range::with_strictness(Some(0.0), Some(1.0), false, true).unwrap(),
            mostly: 1.0,
        };
        let (col, check) = state(&between, &[0.5, 2.5, f64::NAN, -1.0, 7.0, 8.0]);
        let o = evaluate(&between, 6, Some(&col), &check);
        assert_eq!(
            std::format!("{}", between.summary(&o)),
            "4 of 5 unexpected (80.00 %), first: 2.5, -1, 7"
        );
        let mean = Kind::MeanToBeBetween(Range::new(None, Some(1.0)).unwrap());
        let o = evaluate(&mean, 6, Some(&col), &check);
        assert_eq!(
            std::format!("{}", mean.summary(&o)),
            "observed 3.4 (expected [-inf, 1])"
        );
        let (empty, _) = state(&mean, &[f64::NAN]);
        let o = evaluate(&mean, 1, Some(&empty), &CheckState::Nothing);
        assert_eq!(
            std::format!("{}", mean.summary(&o)),
            "no non-missing values"
        );
        // Quantiles 0, 0.5, 1, with [-1, 1] at the median (a sketch bucket's midpoint).
        let kind = kinds().remove(8);
        let (col, check) = state(&kind, &[-2.0, 2.0, 3.0]);
        let o = evaluate(&kind, 3, Some(&col), &check);
        assert_eq!(
            std::format!("{}", kind.summary(&o)),
            "q0 = -2, q0.5 = 2.015625 (expected [-1, 1]), q1 = 3"
        );
        // The old host formatting: integers without decimals, else 6 decimals, zeros trimmed.
        for x in [
            0.0,
            -0.0,
            1.0,
            2.5,
            1.0 / 3.0,
            1e-9,
            1e15,
            1.5e16,
            -7.125,
            f64::NAN,
        ] {
            let old = if x == x.trunc() && x.abs() < 1e15 {
                std::format!("{x:.0}")
            } else {
                std::format!("{x:.6}").trim_end_matches('0').into()
            };
            assert_eq!(std::format!("{}", Num(x)), old, "{x}");
        }
    }
}
