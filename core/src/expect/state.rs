//! The streaming, mergeable state expectations accumulate: per-column counts and moments, the
//! first unexpected values, a fixed-memory quantile sketch, and the PSI of binned counts.

use super::PARTIAL_CAPACITY;
use crate::moments::Moments;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec;

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
}
