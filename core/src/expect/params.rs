//! The parameters of expectations (ranges, value sets, quantile ranges, reference partitions),
//! checked when built, and how a suite file reads and writes them.
//!
//! Core parses no text: a suite reader (the host's TOML one) implements [`Params`], a writer
//! [`ParamWriter`], over Great Expectations' keys (`min_value`, `mostly`, …; `table.field` is a
//! field of an inline table, `quantile_ranges.quantiles`). [`Kind::parse`](super::Kind::parse)
//! and [`Kind::write`](super::Kind::write) drive them, so what a type's parameters are and how
//! they are checked is stated once, here and in [`Kind`](super::Kind).

use super::{MAX_BINS, MAX_QUANTILES, MAX_SET};
use core::fmt;
use heapless::Vec;

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

// ---------------------------------------------------------------------------------------------
// Reading and writing parameters

/// Where an expectation's parameters come from: a table of a suite file. Keys are Great
/// Expectations' names; `table.field` names a field of an inline table. Each reader returns
/// `None` (or 0 items) when the key is absent and an error when its value has the wrong type.
pub trait Params {
    /// The reader's error: it knows where each key is in the file.
    type Error;
    /// A number.
    fn number(&mut self, key: &'static str) -> Result<Option<f64>, Self::Error>;
    /// `true` or `false`.
    fn flag(&mut self, key: &'static str) -> Result<Option<bool>, Self::Error>;
    /// A list of numbers: its first `out.len()` items are written to `out`; returns the
    /// list's length (which may exceed `out.len()`), 0 when absent.
    fn numbers(&mut self, key: &'static str, out: &mut [f64]) -> Result<usize, Self::Error>;
    /// A list of `[min, max]` pairs, like [`Params::numbers`].
    fn pairs(&mut self, key: &'static str, out: &mut [[f64; 2]]) -> Result<usize, Self::Error>;
    /// The error for a value core rejects (pointing at [`ParamError::key`] in the file, or at
    /// the expectation as a whole).
    fn reject(&mut self, error: ParamError) -> Self::Error;
}

/// Where an expectation's parameters go: a table of a suite file, in the order written
/// (`table.field` keys of one table come together).
pub trait ParamWriter {
    /// A number.
    fn number(&mut self, key: &'static str, x: f64);
    /// `true` or `false`.
    fn flag(&mut self, key: &'static str, on: bool);
    /// A list of numbers.
    fn numbers(&mut self, key: &'static str, xs: &[f64]);
    /// A list of `[min, max]` pairs (`-inf` / `inf` for an absent bound).
    fn pairs(&mut self, key: &'static str, pairs: &[[f64; 2]]);
}

/// A parameter core rejects: the key at fault and what is wrong, displayed as a suite's
/// author reads it (`mostly = 1.5: mostly must be within [0, 1]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamError {
    key: Option<&'static str>,
    error: ExpectError,
    shown: Shown,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shown {
    /// `{error}`.
    Plain,
    /// `{key} = {value}: {error}`.
    Value(f64),
    /// `min_value {lo} is greater than max_value {hi}`.
    Bounds(f64, f64),
    /// `` `{key}`: {error} `` (a field of an inline table).
    Within,
}

impl ParamError {
    /// `error` about `key` (`None`: the expectation as a whole).
    pub const fn new(key: Option<&'static str>, error: ExpectError) -> Self {
        Self {
            key,
            error,
            shown: Shown::Plain,
        }
    }

    /// `error` about the value `value` of `key`.
    pub const fn value(key: &'static str, value: f64, error: ExpectError) -> Self {
        Self {
            key: Some(key),
            error,
            shown: Shown::Value(value),
        }
    }

    /// `error` inside the inline table `key`.
    pub const fn within(key: &'static str, error: ExpectError) -> Self {
        Self {
            key: Some(key),
            error,
            shown: Shown::Within,
        }
    }

    /// The key to point at; `None` for the expectation as a whole.
    pub const fn key(&self) -> Option<&'static str> {
        self.key
    }

    /// What is wrong.
    pub const fn error(&self) -> ExpectError {
        self.error
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self.key.unwrap_or("");
        match self.shown {
            Shown::Plain => write!(f, "{}", self.error),
            Shown::Value(v) => write!(f, "{key} = {v}: {}", self.error),
            Shown::Bounds(lo, hi) => write!(f, "min_value {lo} is greater than max_value {hi}"),
            Shown::Within => write!(f, "`{key}`: {}", self.error),
        }
    }
}

impl core::error::Error for ParamError {}

/// Reads Great Expectations' `mostly` (default 1.0).
pub fn read_mostly<P: Params>(p: &mut P) -> Result<f64, P::Error> {
    match p.number("mostly")? {
        None => Ok(1.0),
        Some(m) => check_mostly(m).map_err(|e| p.reject(ParamError::value("mostly", m, e))),
    }
}

/// Writes `mostly` unless it is the default 1.0.
pub fn write_mostly<W: ParamWriter>(w: &mut W, mostly: f64) {
    if mostly != 1.0 {
        w.number("mostly", mostly);
    }
}

impl Range {
    /// Reads `min_value`, `max_value`, `strict_min` and `strict_max`.
    pub fn read<P: Params>(p: &mut P) -> Result<Self, P::Error> {
        let min = p.number("min_value")?;
        let max = p.number("max_value")?;
        let strict_min = p.flag("strict_min")?.unwrap_or(false);
        let strict_max = p.flag("strict_max")?.unwrap_or(false);
        Self::with_strictness(min, max, strict_min, strict_max).map_err(|e| {
            p.reject(match (e, min, max) {
                (ExpectError::MinAboveMax, Some(lo), Some(hi)) => ParamError {
                    key: Some("min_value"),
                    error: e,
                    shown: Shown::Bounds(lo, hi),
                },
                (ExpectError::Unbounded, ..) => ParamError::new(None, e),
                (_, Some(_), _) => ParamError::new(Some("min_value"), e),
                (_, None, _) => ParamError::new(Some("max_value"), e),
            })
        })
    }

    /// Writes the bounds that are set and the strictness that is not the default.
    pub fn write<W: ParamWriter>(&self, w: &mut W) {
        if let Some(v) = self.min {
            w.number("min_value", v);
        }
        if let Some(v) = self.max {
            w.number("max_value", v);
        }
        if self.strict_min {
            w.flag("strict_min", true);
        }
        if self.strict_max {
            w.flag("strict_max", true);
        }
    }

    /// A range from a `[min, max]` pair where an infinite end is an absent bound; both
    /// infinite is [`Range::any`].
    pub fn from_pair([lo, hi]: [f64; 2]) -> Result<Self, ExpectError> {
        let bound = |x: f64| (!x.is_infinite()).then_some(x);
        match (bound(lo), bound(hi)) {
            (None, None) => Ok(Self::any()),
            (lo, hi) => Self::new(lo, hi),
        }
    }

    /// The `[min, max]` pair of [`Range::from_pair`].
    pub fn to_pair(&self) -> [f64; 2] {
        [
            self.min.unwrap_or(f64::NEG_INFINITY),
            self.max.unwrap_or(f64::INFINITY),
        ]
    }
}

impl ValueSet {
    /// Reads the list of numbers at `key`.
    pub fn read<P: Params>(p: &mut P, key: &'static str) -> Result<Self, P::Error> {
        let mut values = [0.0; MAX_SET];
        let n = p.numbers(key, &mut values)?;
        values
            .get(..n)
            .ok_or(ExpectError::SetSize)
            .and_then(Self::new)
            .map_err(|e| p.reject(ParamError::new(Some(key), e)))
    }
}

impl QuantileRanges {
    const KEY: &'static str = "quantile_ranges";

    /// Reads `quantile_ranges = { quantiles = […], value_ranges = [[lo, hi], …] }`.
    pub fn read<P: Params>(p: &mut P) -> Result<Self, P::Error> {
        let mut quantiles = [0.0; MAX_QUANTILES];
        let nq = p.numbers("quantile_ranges.quantiles", &mut quantiles)?;
        let mut pairs = [[0.0; 2]; MAX_QUANTILES];
        let nr = p.pairs("quantile_ranges.value_ranges", &mut pairs)?;
        let built = (|| {
            let quantiles = quantiles.get(..nq).ok_or(ExpectError::QuantileCount)?;
            let pairs = pairs.get(..nr).ok_or(ExpectError::QuantileCount)?;
            let mut ranges: Vec<Range, MAX_QUANTILES> = Vec::new();
            for &pair in pairs {
                // At most MAX_QUANTILES pairs.
                let _ = ranges.push(Range::from_pair(pair)?);
            }
            Self::new(quantiles, &ranges)
        })();
        built.map_err(|e| p.reject(ParamError::within(Self::KEY, e)))
    }

    /// Writes the inline table of [`QuantileRanges::read`].
    pub fn write<W: ParamWriter>(&self, w: &mut W) {
        w.numbers("quantile_ranges.quantiles", self.quantiles());
        let mut pairs: Vec<[f64; 2], MAX_QUANTILES> = Vec::new();
        for r in self.ranges() {
            // As many ranges as quantiles, at most MAX_QUANTILES.
            let _ = pairs.push(r.to_pair());
        }
        w.pairs("quantile_ranges.value_ranges", &pairs);
    }
}

impl Partition {
    const KEY: &'static str = "partition_object";

    /// Reads `partition_object = { bins = […], weights = […] }`.
    pub fn read<P: Params>(p: &mut P) -> Result<Self, P::Error> {
        let mut edges = [0.0; MAX_BINS + 1];
        let ne = p.numbers("partition_object.bins", &mut edges)?;
        let mut weights = [0.0; MAX_BINS];
        let nw = p.numbers("partition_object.weights", &mut weights)?;
        match (edges.get(..ne), weights.get(..nw)) {
            (Some(e), Some(w)) => Self::new(e, w),
            _ => Err(ExpectError::PartitionShape),
        }
        .map_err(|e| p.reject(ParamError::within(Self::KEY, e)))
    }

    /// Writes the inline table of [`Partition::read`].
    pub fn write<W: ParamWriter>(&self, w: &mut W) {
        w.numbers("partition_object.bins", self.edges());
        w.numbers("partition_object.weights", self.weights());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
