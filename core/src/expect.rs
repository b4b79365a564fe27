//! Data-quality expectations with Great Expectations' semantics, streaming and mergeable.
//!
//! A suite of expectations is checked in one pass over the data, one value at a time, in
//! fixed memory, so the same code guards a CSV file of any size on the host (chunks parsed on
//! several threads, their states merged) and a device's inputs.
//!
//! - [`ColumnState`]: per column, the element count, missing count, min, max and
//!   [`Moments`] (Welford mean/variance). Missing values are `NaN`.
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
//!   aggregate expectations, a `partial_unexpected_list` of at most 20 values.
//!
//! The expectation types are [`Kind`]'s variants; [`Kind::name`] gives their Great Expectations
//! names. `expect_table_columns_to_match_ordered_list` is about names, not values: see
//! [`columns_match_ordered_list`].
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

use crate::moments::Moments;
use core::fmt;
use heapless::Vec;

/// How many unexpected values a result lists (`partial_unexpected_list`), as in Great
/// Expectations' `SUMMARY` result format.
pub const PARTIAL_CAPACITY: usize = 20;
/// Largest `value_set` of `expect_column_values_to_be_in_set`.
pub const MAX_SET: usize = 256;
/// Largest number of quantiles of `expect_column_quantile_values_to_be_between`.
pub const MAX_QUANTILES: usize = 16;
/// Largest number of bins of the drift expectation's partition.
pub const MAX_BINS: usize = 32;

/// Errors of expectation parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ExpectError {
    /// min_value and max_value cannot both be absent
    Unbounded,
    /// min_value is greater than max_value
    MinAboveMax,
    /// a bound, set value, edge or weight is NaN or infinite
    NotFinite,
    /// mostly must be within [0, 1]
    MostlyOutOfRange,
    /// value_set is empty or has more than 256 values
    SetSize,
    /// quantile_ranges needs 1 to 16 quantiles, each with one value range
    QuantileCount,
    /// a quantile must be within [0, 1]
    QuantileOutOfRange,
    /// the partition needs 2 to 33 strictly increasing bin edges and one weight per bin
    PartitionShape,
    /// partition weights must be non-negative and sum to 1
    PartitionWeights,
    /// threshold must be a non-negative number
    Threshold,
    /// the row, column states and check states do not match the expectations
    ShapeMismatch,
}

impl fmt::Display for ExpectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unbounded => "min_value and max_value cannot both be absent",
            Self::MinAboveMax => "min_value is greater than max_value",
            Self::NotFinite => "a bound, set value, edge or weight is NaN or infinite",
            Self::MostlyOutOfRange => "mostly must be within [0, 1]",
            Self::SetSize => "value_set is empty or has more than 256 values",
            Self::QuantileCount => {
                "quantile_ranges needs 1 to 16 quantiles, each with one value range"
            }
            Self::QuantileOutOfRange => "a quantile must be within [0, 1]",
            Self::PartitionShape => {
                "the partition needs 2 to 33 strictly increasing bin edges and one weight per bin"
            }
            Self::PartitionWeights => "partition weights must be non-negative and sum to 1",
            Self::Threshold => "threshold must be a non-negative number",
            Self::ShapeMismatch => {
                "the row, column states and check states do not match the expectations"
            }
        })
    }
}

impl core::error::Error for ExpectError {}

/// Checks Great Expectations' `mostly` (the fraction of non-missing values that must pass).
pub fn check_mostly(mostly: f64) -> Result<f64, ExpectError> {
    if (0.0..=1.0).contains(&mostly) {
        Ok(mostly)
    } else {
        Err(ExpectError::MostlyOutOfRange)
    }
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// `min_value` / `max_value` with Great Expectations' `strict_min` / `strict_max`: an absent
/// bound is open, bounds are inclusive unless strict.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Range {
    /// Lower bound, if any.
    pub min: Option<f64>,
    /// Upper bound, if any.
    pub max: Option<f64>,
    /// `x > min` instead of `x >= min`.
    pub strict_min: bool,
    /// `x < max` instead of `x <= max`.
    pub strict_max: bool,
}

impl Range {
    /// An inclusive range; at least one bound, finite, `min <= max`.
    pub fn new(min: Option<f64>, max: Option<f64>) -> Result<Self, ExpectError> {
        Self::with_strictness(min, max, false, false)
    }

    /// A range with explicit strictness.
    pub fn with_strictness(
        min: Option<f64>,
        max: Option<f64>,
        strict_min: bool,
        strict_max: bool,
    ) -> Result<Self, ExpectError> {
        if min.is_none() && max.is_none() {
            return Err(ExpectError::Unbounded);
        }
        if min.is_some_and(|v| !v.is_finite()) || max.is_some_and(|v| !v.is_finite()) {
            return Err(ExpectError::NotFinite);
        }
        if let (Some(lo), Some(hi)) = (min, max)
            && lo > hi
        {
            return Err(ExpectError::MinAboveMax);
        }
        Ok(Self {
            min,
            max,
            strict_min,
            strict_max,
        })
    }

    /// An unbounded range (every value passes), for a quantile without a value range.
    pub const fn any() -> Self {
        Self {
            min: None,
            max: None,
            strict_min: false,
            strict_max: false,
        }
    }

    /// Whether `x` lies in the range (`NaN` never does).
    #[inline]
    pub fn contains(&self, x: f64) -> bool {
        if x.is_nan() {
            return false;
        }
        let lo = match self.min {
            Some(m) if self.strict_min => x > m,
            Some(m) => x >= m,
            None => true,
        };
        let hi = match self.max {
            Some(m) if self.strict_max => x < m,
            Some(m) => x <= m,
            None => true,
        };
        lo && hi
    }
}

/// The `value_set` of `expect_column_values_to_be_in_set`: up to [`MAX_SET`] numbers, kept
/// sorted for a binary search per value.
#[derive(Clone, Debug, PartialEq)]
pub struct ValueSet {
    values: Vec<f64, MAX_SET>,
}

impl ValueSet {
    /// A set of finite numbers (duplicates are dropped).
    pub fn new(values: &[f64]) -> Result<Self, ExpectError> {
        if values.is_empty() || values.len() > MAX_SET {
            return Err(ExpectError::SetSize);
        }
        let mut v: Vec<f64, MAX_SET> = Vec::new();
        for &x in values {
            if !x.is_finite() {
                return Err(ExpectError::NotFinite);
            }
            // -0.0 and 0.0 are one value (they compare equal).
            let x = if x == 0.0 { 0.0 } else { x };
            v.push(x).map_err(|_| ExpectError::SetSize)?;
        }
        v.sort_unstable_by(f64::total_cmp);
        let mut values: Vec<f64, MAX_SET> = Vec::new();
        for x in v {
            if values.last() != Some(&x) {
                // Never more values than the input had.
                let _ = values.push(x);
            }
        }
        Ok(Self { values })
    }

    /// Whether `x` is in the set (`0.0 == -0.0`).
    #[inline]
    pub fn contains(&self, x: f64) -> bool {
        let x = if x == 0.0 { 0.0 } else { x };
        self.values.binary_search_by(|v| v.total_cmp(&x)).is_ok()
    }

    /// The values, sorted.
    pub fn as_slice(&self) -> &[f64] {
        &self.values
    }
}

/// Great Expectations' `quantile_ranges`: `quantiles` and, for each, a value range.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantileRanges {
    quantiles: Vec<f64, MAX_QUANTILES>,
    ranges: Vec<Range, MAX_QUANTILES>,
}

impl QuantileRanges {
    /// One range per quantile; quantiles within [0, 1].
    pub fn new(quantiles: &[f64], ranges: &[Range]) -> Result<Self, ExpectError> {
        if quantiles.is_empty() || quantiles.len() != ranges.len() {
            return Err(ExpectError::QuantileCount);
        }
        if quantiles.iter().any(|q| !(0.0..=1.0).contains(q)) {
            return Err(ExpectError::QuantileOutOfRange);
        }
        Ok(Self {
            quantiles: Vec::from_slice(quantiles).map_err(|_| ExpectError::QuantileCount)?,
            ranges: Vec::from_slice(ranges).map_err(|_| ExpectError::QuantileCount)?,
        })
    }

    /// The quantiles.
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }

    /// The value ranges, one per quantile.
    pub fn ranges(&self) -> &[Range] {
        &self.ranges
    }
}

/// A reference distribution on fixed bins (Great Expectations' `partition_object`): `bins`
/// are the `k + 1` edges of `k` bins, `weights` the reference proportion of each bin.
///
/// Bin `i` holds `bins[i] <= x < bins[i + 1]`; the last bin also holds its upper edge. The
/// outer bins are open: values below `bins[0]` count in the first bin and values above the
/// last edge in the last bin, so every non-missing value is placed (a shift beyond the
/// reference's range shows as mass piling up in an outer bin).
#[derive(Clone, Debug, PartialEq)]
pub struct Partition {
    edges: Vec<f64, { MAX_BINS + 1 }>,
    weights: Vec<f64, MAX_BINS>,
}

impl Partition {
    /// Checks the shape: 2 to 33 strictly increasing finite edges, one weight per bin,
    /// weights non-negative summing to 1 (within 1e-6).
    pub fn new(edges: &[f64], weights: &[f64]) -> Result<Self, ExpectError> {
        if edges.len() < 2 || edges.len() > MAX_BINS + 1 || weights.len() + 1 != edges.len() {
            return Err(ExpectError::PartitionShape);
        }
        if edges.iter().chain(weights).any(|v| !v.is_finite()) {
            return Err(ExpectError::NotFinite);
        }
        if edges.windows(2).any(|w| w[0] >= w[1]) {
            return Err(ExpectError::PartitionShape);
        }
        let sum: f64 = weights.iter().sum();
        if weights.iter().any(|&w| w < 0.0) || (sum - 1.0).abs() > 1e-6 {
            return Err(ExpectError::PartitionWeights);
        }
        Ok(Self {
            edges: Vec::from_slice(edges).map_err(|_| ExpectError::PartitionShape)?,
            weights: Vec::from_slice(weights).map_err(|_| ExpectError::PartitionShape)?,
        })
    }

    /// The bin of a (non-missing) value.
    #[inline]
    pub fn bin(&self, x: f64) -> usize {
        let k = self.weights.len();
        // First edge greater than x, among the inner edges 1..k.
        let inner = &self.edges[1..k];
        inner.partition_point(|&e| e <= x)
    }

    /// The bin edges.
    pub fn edges(&self) -> &[f64] {
        &self.edges
    }

    /// The reference proportions.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }
}

/// Smallest proportion used in the PSI's logarithm: a bin empty in one distribution would
/// otherwise give an infinite index. 1e-4 is the usual choice (e.g. Evidently's and NannyML's
/// implementations).
pub const PSI_EPSILON: f64 = 1e-4;

/// Population stability index of observed bin counts against reference proportions:
/// `PSI = Σ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)` with `aᵢ` the observed and `eᵢ` the reference
/// proportion, each floored at [`PSI_EPSILON`] (B. Yurdakul, "Statistical properties of
/// population stability index", Western Michigan University, 2018; N. Siddiqi, *Credit Risk
/// Scorecards*, Wiley, 2006). Conventional reading: < 0.1 no shift, 0.1–0.25 a moderate shift,
/// > 0.25 a significant shift. `None` when no value was counted.
pub fn psi(counts: &[u64], weights: &[f64]) -> Option<f64> {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return None;
    }
    let mut total = 0.0;
    for (&c, &w) in counts.iter().zip(weights) {
        let a = (c as f64 / n as f64).max(PSI_EPSILON);
        let e = w.max(PSI_EPSILON);
        total += (a - e) * libm::log(a / e);
    }
    Some(total)
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
    /// The Great Expectations name.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::ColumnToExist => "expect_column_to_exist",
            Self::ValuesToNotBeNull { .. } => "expect_column_values_to_not_be_null",
            Self::ValuesToBeBetween { .. } => "expect_column_values_to_be_between",
            Self::ValuesToBeInSet { .. } => "expect_column_values_to_be_in_set",
            Self::MeanToBeBetween(_) => "expect_column_mean_to_be_between",
            Self::StdevToBeBetween(_) => "expect_column_stdev_to_be_between",
            Self::MinToBeBetween(_) => "expect_column_min_to_be_between",
            Self::MaxToBeBetween(_) => "expect_column_max_to_be_between",
            Self::QuantileValuesToBeBetween(_) => "expect_column_quantile_values_to_be_between",
            Self::PsiToBeLessThan { .. } => "expect_column_psi_to_be_less_than",
            Self::TableRowCountToBeBetween(_) => "expect_table_row_count_to_be_between",
        }
    }

    /// Whether the expectation is about the table rather than a column.
    pub const fn is_table(&self) -> bool {
        matches!(self, Self::TableRowCountToBeBetween(_))
    }

    /// Whether [`CheckState::push`] must see the column's non-missing values.
    pub const fn needs_values(&self) -> bool {
        matches!(
            self,
            Self::ValuesToBeBetween { .. }
                | Self::ValuesToBeInSet { .. }
                | Self::QuantileValuesToBeBetween(_)
                | Self::PsiToBeLessThan { .. }
        )
    }
}

/// `expect_table_columns_to_match_ordered_list`: the header equals the list, in order.
pub fn columns_match_ordered_list(actual: &[&str], expected: &[&str]) -> bool {
    actual == expected
}

// ---------------------------------------------------------------------------------------------
// State

/// The first unexpected values, at most [`PARTIAL_CAPACITY`], in input order.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Partial {
    values: [f64; PARTIAL_CAPACITY],
    len: u8,
}

impl Default for Partial {
    fn default() -> Self {
        Self::new()
    }
}

impl Partial {
    /// Empty.
    pub const fn new() -> Self {
        Self {
            values: [0.0; PARTIAL_CAPACITY],
            len: 0,
        }
    }

    /// Keeps `x` if fewer than [`PARTIAL_CAPACITY`] values are kept; returns whether it was.
    #[inline]
    pub fn push(&mut self, x: f64) -> bool {
        match self.values.get_mut(usize::from(self.len)) {
            Some(slot) => {
                *slot = x;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Appends `later`'s values (those of the input that follows) while there is room.
    pub fn merge(&mut self, later: &Partial) {
        for &x in later.as_slice() {
            if !self.push(x) {
                break;
            }
        }
    }

    /// The kept values.
    pub fn as_slice(&self) -> &[f64] {
        &self.values[..usize::from(self.len)]
    }

    /// Number of kept values.
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether no value is kept.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What every expectation on a column reads: counts, extremes and moments.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ColumnState {
    elements: u64,
    missing: u64,
    min: f64,
    max: f64,
    moments: Moments,
}

impl Default for ColumnState {
    fn default() -> Self {
        Self::new()
    }
}

impl ColumnState {
    /// No values seen.
    pub const fn new() -> Self {
        Self {
            elements: 0,
            missing: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            moments: Moments::new(),
        }
    }

    /// Adds a value; `NaN` is a missing value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.elements += 1;
        if x.is_nan() {
            self.missing += 1;
            return;
        }
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.moments.push(x);
    }

    /// Combines the state of another part of the input.
    pub fn merge(&mut self, other: &ColumnState) {
        self.elements += other.elements;
        self.missing += other.missing;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.moments.merge(&other.moments);
    }

    /// Values seen, missing included (Great Expectations' `element_count`).
    pub const fn element_count(&self) -> u64 {
        self.elements
    }

    /// Missing values (`missing_count`).
    pub const fn missing_count(&self) -> u64 {
        self.missing
    }

    /// Non-missing values.
    pub const fn nonmissing_count(&self) -> u64 {
        self.elements - self.missing
    }

    /// Smallest non-missing value.
    pub fn min(&self) -> Option<f64> {
        (self.nonmissing_count() > 0).then_some(self.min)
    }

    /// Largest non-missing value.
    pub fn max(&self) -> Option<f64> {
        (self.nonmissing_count() > 0).then_some(self.max)
    }

    /// Mean of the non-missing values.
    pub fn mean(&self) -> Option<f64> {
        (self.nonmissing_count() > 0).then(|| self.moments.mean())
    }

    /// Sample standard deviation (`n − 1`) of the non-missing values; needs two.
    pub fn stdev(&self) -> Option<f64> {
        (self.nonmissing_count() > 1).then(|| self.moments.sample_std())
    }

    /// The moments of the non-missing values.
    pub const fn moments(&self) -> &Moments {
        &self.moments
    }
}

/// Sub-buckets per power of two of [`QuantileSketch`] (2⁶ = 64).
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Smallest magnitude with its own bucket: 2⁻²⁰ ≈ 9.5e-7.
const MIN_EXP: i32 = -20;
/// Magnitudes from 2⁴⁰ ≈ 1.1e12 on share the outermost bucket.
const MAX_EXP: i32 = 40;
const HALF: usize = (MAX_EXP - MIN_EXP) as usize * SUB;

/// A fixed-memory, mergeable quantile sketch over `f64`: a log-linear histogram with 64
/// buckets per power of two, for each sign, over magnitudes 2⁻²⁰ to 2⁴⁰ (HdrHistogram's
/// layout on the float's own exponent and top 6 mantissa bits).
///
/// **Error bound.** [`QuantileSketch::quantile`] returns a value within a relative error of
/// 1/128 of the exact order statistic for magnitudes in [2⁻²⁰, 2⁴⁰), within an absolute error
/// of 2⁻²⁰ below, and clamped to the exact min and max (so `q = 0` and `q = 1` are exact).
/// The rank is numpy's `interpolation="nearest"` (what Great Expectations' pandas backend
/// uses): the order statistic at `round_half_even(q · (n − 1))`.
///
/// Buckets are counters, so merging is exact: merge(sketch(a), sketch(b)) = sketch(a ++ b).
/// Size: 7,681 `u64` counters, 61 KiB.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantileSketch {
    counts: [u64; 2 * HALF + 1],
    total: u64,
    min: f64,
    max: f64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

impl QuantileSketch {
    /// Relative error bound for magnitudes in [2⁻²⁰, 2⁴⁰).
    pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB) as f64;
    /// Absolute error bound below 2⁻²⁰.
    pub const ABSOLUTE_ERROR: f64 = 1.0 / (1u64 << (-MIN_EXP) as u32) as f64;

    /// Empty.
    pub const fn new() -> Self {
        Self {
            counts: [0; 2 * HALF + 1],
            total: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Offset of a magnitude within one sign's half (`None` below 2⁻²⁰).
    #[inline]
    fn magnitude_offset(a: f64) -> Option<usize> {
        let bits = a.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as i32 - 1023;
        if exp < MIN_EXP {
            return None;
        }
        if exp >= MAX_EXP {
            return Some(HALF - 1);
        }
        let sub = ((bits >> (52 - SUB_BITS)) & (SUB as u64 - 1)) as usize;
        Some((exp - MIN_EXP) as usize * SUB + sub)
    }

    #[inline]
    fn index(x: f64) -> usize {
        match Self::magnitude_offset(x.abs()) {
            None => HALF,
            Some(o) if x > 0.0 => HALF + 1 + o,
            Some(o) => HALF - 1 - o,
        }
    }

    /// Midpoint of a bucket.
    fn representative(index: usize) -> f64 {
        if index == HALF {
            return 0.0;
        }
        let (offset, sign) = if index > HALF {
            (index - HALF - 1, 1.0)
        } else {
            (HALF - 1 - index, -1.0)
        };
        let exp = (offset / SUB) as i32 + MIN_EXP;
        let sub = (offset % SUB) as f64;
        sign * libm::ldexp(1.0 + (sub + 0.5) / SUB as f64, exp)
    }

    /// Adds a (non-missing) value.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        // Index is in bounds by construction (0 ..= 2·HALF).
        if let Some(c) = self.counts.get_mut(Self::index(x)) {
            *c += 1;
        }
        self.total += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Adds another sketch's counts.
    pub fn merge(&mut self, other: &QuantileSketch) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of values.
    pub const fn count(&self) -> u64 {
        self.total
    }

    /// The `q` quantile (numpy's "nearest" rank), within the error bound of the type docs;
    /// `None` when empty or `q` is outside [0, 1].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 || !(0.0..=1.0).contains(&q) {
            return None;
        }
        let rank = nearest_rank(q, self.total);
        if rank == 0 {
            return Some(self.min);
        }
        if rank == self.total - 1 {
            return Some(self.max);
        }
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                return Some(Self::representative(i).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// 0-based rank of numpy's `quantile(..., method="nearest")`: `q · (n − 1)` rounded half to
/// even.
pub fn nearest_rank(q: f64, n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let h = q * (n - 1) as f64;
    let r = libm::floor(h);
    let frac = h - r;
    let r = r as u64;
    let r = if frac > 0.5 || (frac == 0.5 && r % 2 == 1) {
        r + 1
    } else {
        r
    };
    r.min(n - 1)
}

/// What one expectation accumulates beyond its column's [`ColumnState`].
#[derive(Clone, Debug, PartialEq)]
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
            _ => Self::Nothing,
        }
    }

    /// Adds a non-missing value of the expectation's column (only needed when
    /// [`Kind::needs_values`]; a no-op otherwise).
    #[inline]
    pub fn push(&mut self, kind: &Kind, x: f64) {
        match (self, kind) {
            (Self::Unexpected { count, partial }, Kind::ValuesToBeBetween { range, .. })
                if !range.contains(x) =>
            {
                *count += 1;
                partial.push(x);
            }
            (Self::Unexpected { count, partial }, Kind::ValuesToBeInSet { set, .. })
                if !set.contains(x) =>
            {
                *count += 1;
                partial.push(x);
            }
            (Self::Sketch(s), _) => s.push(x),
            (Self::Bins(b), Kind::PsiToBeLessThan { partition, .. }) => {
                if let Some(c) = b.get_mut(partition.bin(x)) {
                    *c += 1;
                }
            }
            _ => {}
        }
    }

    /// Combines the state of the input that follows (`later`); states of different kinds are
    /// left alone.
    pub fn merge(&mut self, later: &CheckState) {
        match (self, later) {
            (
                Self::Unexpected { count, partial },
                Self::Unexpected {
                    count: c2,
                    partial: p2,
                },
            ) => {
                *count += c2;
                partial.merge(p2);
            }
            (Self::Sketch(a), Self::Sketch(b)) => a.merge(b),
            (Self::Bins(a), Self::Bins(b)) => a.iter_mut().zip(b).for_each(|(x, y)| *x += y),
            _ => {}
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
    /// Not an aggregate expectation, or nothing to observe (no values, missing column).
    None,
    /// A statistic (mean, stdev, min, max, PSI).
    Value(f64),
    /// A count (rows).
    Count(u64),
    /// Quantile estimates (`None` where the column had no values).
    Quantiles(Vec<Option<f64>, MAX_QUANTILES>),
}

/// The result of one expectation: `success` and the Great Expectations result fields that
/// apply to its type (`None` where a field does not).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Whether the expectation held.
    pub success: bool,
    /// The column was not in the data (the expectation fails).
    pub column_missing: bool,
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
    /// For `expect_column_values_to_not_be_null`: how many `null`s the partial list holds.
    pub partial_unexpected_nulls: u8,
    /// `observed_value`.
    pub observed: Observed,
}

impl Outcome {
    fn new(success: bool) -> Self {
        Self {
            success,
            column_missing: false,
            element_count: None,
            missing_count: None,
            unexpected_count: None,
            unexpected_percent: None,
            partial_unexpected: Partial::new(),
            partial_unexpected_nulls: 0,
            observed: Observed::None,
        }
    }

    /// A column expectation whose column is not in the data: it fails.
    pub fn missing_column() -> Self {
        Self {
            column_missing: true,
            ..Self::new(false)
        }
    }
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// Great Expectations' `mostly` rule: the fraction of (non-missing) values that passed is at
/// least `mostly`; vacuously true without values.
fn mostly_holds(unexpected: u64, of: u64, mostly: f64) -> bool {
    of == 0 || (of - unexpected) as f64 / of as f64 >= mostly
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
    if let Kind::TableRowCountToBeBetween(range) = kind {
        return Outcome {
            observed: Observed::Count(rows),
            ..Outcome::new(range.contains(rows as f64))
        };
    }
    let Some(col) = column else {
        return Outcome::missing_column();
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
                _ => (0, Partial::new()),
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
                _ => None,
            };
            let mut values: Vec<Option<f64>, MAX_QUANTILES> = Vec::new();
            let mut success = true;
            for (&q, range) in qr.quantiles().iter().zip(qr.ranges()) {
                let v = sketch.and_then(|s| s.quantile(q));
                success &= v.is_some_and(|v| range.contains(v));
                // Capacity equals the number of quantiles.
                let _ = values.push(v);
            }
            with_counts(Outcome {
                observed: Observed::Quantiles(values),
                ..Outcome::new(success)
            })
        }
        Kind::PsiToBeLessThan {
            partition,
            threshold,
        } => {
            let value = match check {
                CheckState::Bins(b) => psi(&b[..partition.weights().len()], partition.weights()),
                _ => None,
            };
            with_counts(Outcome {
                observed: value.map_or(Observed::None, Observed::Value),
                ..Outcome::new(value.is_some_and(|v| v < *threshold))
            })
        }
        Kind::TableRowCountToBeBetween(_) => Outcome::new(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec;

    fn r(lo: f64, hi: f64) -> Range {
        Range::new(Some(lo), Some(hi)).unwrap()
    }

    fn kinds() -> StdVec<Kind> {
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

    fn state(kind: &Kind, xs: &[f64]) -> (ColumnState, CheckState) {
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

    #[test]
    fn parameters_are_checked() {
        assert_eq!(Range::new(None, None), Err(ExpectError::Unbounded));
        assert_eq!(
            Range::new(Some(2.0), Some(1.0)),
            Err(ExpectError::MinAboveMax)
        );
        assert_eq!(
            Range::new(Some(f64::NAN), None),
            Err(ExpectError::NotFinite)
        );
        assert_eq!(check_mostly(1.5), Err(ExpectError::MostlyOutOfRange));
        assert_eq!(ValueSet::new(&[]), Err(ExpectError::SetSize));
        assert_eq!(
            QuantileRanges::new(&[1.5], &[Range::any()]),
            Err(ExpectError::QuantileOutOfRange)
        );
        assert_eq!(
            Partition::new(&[0.0, 0.0], &[1.0]),
            Err(ExpectError::PartitionShape)
        );
        assert_eq!(
            Partition::new(&[0.0, 1.0], &[0.5]),
            Err(ExpectError::PartitionWeights)
        );
    }

    #[test]
    fn partition_bins_are_half_open_with_open_outer_bins() {
        let p = Partition::new(&[0.0, 1.0, 2.0], &[0.5, 0.5]).unwrap();
        assert_eq!(
            [-5.0, 0.0, 0.99, 1.0, 2.0, 7.0].map(|x| p.bin(x)),
            [0, 0, 0, 1, 1, 1]
        );
    }

    #[test]
    fn psi_matches_hand_computation() {
        // a = (0.5, 0.3, 0.2), e = (0.4, 0.4, 0.2):
        // 0.1·ln(1.25) + (−0.1)·ln(0.75) + 0 = 0.0223144 + 0.0287682.
        let v = psi(&[50, 30, 20], &[0.4, 0.4, 0.2]).unwrap();
        assert!((v - 0.051_082_562_376_599).abs() < 1e-12, "{v}");
        assert_eq!(psi(&[1, 1], &[0.5, 0.5]), Some(0.0));
        assert_eq!(psi(&[0, 0], &[0.5, 0.5]), None);
    }

    #[test]
    fn sketch_quantiles_within_the_stated_error() {
        let mut s = QuantileSketch::new();
        let mut xs: StdVec<f64> = (0..10_000).map(|i| (i as f64 - 3000.0) * 0.37).collect();
        xs.push(1e-9);
        xs.iter().for_each(|&x| s.push(x));
        xs.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.1, 0.25, 0.3, 0.5, 0.9, 0.99, 1.0] {
            let exact = xs[nearest_rank(q, xs.len() as u64) as usize];
            let est = s.quantile(q).unwrap();
            let bound =
                (exact.abs() * QuantileSketch::RELATIVE_ERROR).max(QuantileSketch::ABSOLUTE_ERROR);
            assert!((est - exact).abs() <= bound, "q {q}: {est} vs {exact}");
        }
        assert_eq!(s.quantile(0.0), Some(xs[0]));
        assert_eq!(s.quantile(1.0), Some(xs[xs.len() - 1]));
        assert_eq!(QuantileSketch::new().quantile(0.5), None);
    }

    #[test]
    fn nearest_rank_rounds_half_to_even_like_numpy() {
        // numpy.quantile([0, 1, 2, 3], 0.5, method="nearest") == 2 (1.5 → 2);
        // numpy.quantile([0, 1, 2, 3, 4, 5], 0.5, method="nearest") == 2 (2.5 → 2).
        assert_eq!(nearest_rank(0.5, 4), 2);
        assert_eq!(nearest_rank(0.5, 6), 2);
        assert_eq!(nearest_rank(1.0, 6), 5);
        assert_eq!(nearest_rank(0.0, 1), 0);
    }

    #[test]
    fn partial_keeps_the_first_twenty_in_order() {
        let mut a = Partial::new();
        (0..15).for_each(|i| {
            a.push(i as f64);
        });
        let mut b = Partial::new();
        (15..40).for_each(|i| {
            b.push(i as f64);
        });
        assert_eq!(b.len(), PARTIAL_CAPACITY);
        a.merge(&b);
        assert_eq!(
            a.as_slice(),
            &(0..20).map(|i| i as f64).collect::<StdVec<_>>()[..]
        );
    }

    /// merge(state(a), state(b)) = state(a ++ b) for every expectation type, over seeded
    /// random data (with missing and out-of-range values) and random split points.
    #[test]
    fn property_merge_of_split_equals_whole() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let kinds = kinds();
        for iteration in 0..500 {
            let n = rng.random_range(0..200usize);
            let xs: StdVec<f64> = (0..n)
                .map(|_| match rng.random_range(0..10u32) {
                    0 => f64::NAN,
                    1 => rng.random_range(0..3u32) as f64,
                    _ => rng.random_range(-3.0..3.0),
                })
                .collect();
            // Up to 4 cut points: the input in up to 5 parts, merged left to right.
            let mut cuts: StdVec<usize> = (0..rng.random_range(1..5usize))
                .map(|_| rng.random_range(0..=n))
                .collect();
            cuts.sort_unstable();
            cuts.insert(0, 0);
            cuts.push(n);
            for kind in &kinds {
                let (whole_col, whole_check) = state(kind, &xs);
                let (mut col, mut check) = (ColumnState::new(), CheckState::new(kind));
                for w in cuts.windows(2) {
                    let (c, k) = state(kind, &xs[w[0]..w[1]]);
                    col.merge(&c);
                    check.merge(&k);
                }
                assert_eq!(check, whole_check, "iteration {iteration} {}", kind.name());
                assert_eq!(col.element_count(), whole_col.element_count());
                assert_eq!(col.missing_count(), whole_col.missing_count());
                assert_eq!(col.min(), whole_col.min());
                assert_eq!(col.max(), whole_col.max());
                let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    (a, b) => a == b,
                };
                assert!(close(col.mean(), whole_col.mean()), "iteration {iteration}");
                assert!(
                    close(col.stdev(), whole_col.stdev()),
                    "iteration {iteration}"
                );
                let (a, b) = (
                    evaluate(kind, n as u64, Some(&col), &check),
                    evaluate(kind, n as u64, Some(&whole_col), &whole_check),
                );
                assert_eq!(
                    a.success,
                    b.success,
                    "iteration {iteration} {}",
                    kind.name()
                );
                assert_eq!(a.unexpected_count, b.unexpected_count);
                assert_eq!(a.partial_unexpected, b.partial_unexpected);
            }
        }
    }
}
