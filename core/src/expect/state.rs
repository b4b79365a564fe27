//! The streaming, mergeable state expectations accumulate: per-column counts and moments, the
//! first unexpected values, a fixed-memory quantile sketch, and the PSI of binned counts.

use super::PARTIAL_CAPACITY;
use crate::moments::Moments;

mod wire;

/// The first unexpected values, at most [`PARTIAL_CAPACITY`], in input order.
///
/// Serializable (serde) as the sequence of the kept values.
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
///
/// Serializable (serde), to merge the states of parts computed elsewhere; deserializing
/// rejects counts that do not add up and extremes no values give.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ColumnState {
    elements: u64,
    missing: u64,
    /// Present values that are not numbers (text cells of a column read as text).
    text: u64,
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
            text: 0,
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

    /// Adds `values` (`NaN` missing): the state pushing them one by one gives, up to the
    /// rounding of the moments ([`Moments::extend_present`]), several times faster.
    pub fn extend(&mut self, values: &[f64]) {
        let (mut lo, mut hi) = ([f64::INFINITY; 8], [f64::NEG_INFINITY; 8]);
        let mut chunks = values.chunks_exact(8);
        for c in &mut chunks {
            for j in 0..8 {
                // `f64::min` and `max` pass over NaN.
                lo[j] = lo[j].min(c[j]);
                hi[j] = hi[j].max(c[j]);
            }
        }
        for &x in chunks.remainder() {
            lo[0] = lo[0].min(x);
            hi[0] = hi[0].max(x);
        }
        let before = self.moments.count();
        self.moments.extend_present(values);
        let present = self.moments.count() - before;
        self.elements += values.len() as u64;
        self.missing += values.len() as u64 - present;
        self.min = lo.iter().fold(self.min, |a, &b| a.min(b));
        self.max = hi.iter().fold(self.max, |a, &b| a.max(b));
    }

    /// Adds a present value that is not a number (a text cell): an element, not missing, and
    /// in no statistic.
    #[inline]
    pub fn push_text(&mut self) {
        self.push_text_n(1);
    }

    /// Adds `n` copies of `x` (`NaN` missing): what pushing it `n` times gives (the moments up
    /// to rounding).
    pub fn push_n(&mut self, x: f64, n: u64) {
        self.elements += n;
        if x.is_nan() {
            self.missing += n;
        } else if n > 0 {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
            self.moments.push_n(x, n);
        }
    }

    /// Adds `n` text cells ([`ColumnState::push_text`]).
    #[inline]
    pub fn push_text_n(&mut self, n: u64) {
        self.elements += n;
        self.text += n;
    }

    /// Combines the state of another part of the input (the counts saturate at `u64::MAX`).
    pub fn merge(&mut self, other: &ColumnState) {
        self.elements = self.elements.saturating_add(other.elements);
        self.missing = self.missing.saturating_add(other.missing);
        self.text = self.text.saturating_add(other.text);
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

    /// Non-missing values, text included.
    pub const fn nonmissing_count(&self) -> u64 {
        self.elements.saturating_sub(self.missing)
    }

    /// Present values that are not numbers ([`ColumnState::push_text`]).
    pub const fn text_count(&self) -> u64 {
        self.text
    }

    /// Values that are numbers.
    pub const fn numeric_count(&self) -> u64 {
        self.nonmissing_count().saturating_sub(self.text)
    }

    /// Smallest number.
    pub fn min(&self) -> Option<f64> {
        (self.numeric_count() > 0).then_some(self.min)
    }

    /// Largest number.
    pub fn max(&self) -> Option<f64> {
        (self.numeric_count() > 0).then_some(self.max)
    }

    /// Mean of the numbers.
    pub fn mean(&self) -> Option<f64> {
        (self.numeric_count() > 0).then(|| self.moments.mean())
    }

    /// Sample standard deviation (`n − 1`) of the numbers; needs two.
    pub fn stdev(&self) -> Option<f64> {
        (self.numeric_count() > 1).then(|| self.moments.sample_std())
    }

    /// The moments of the non-missing values.
    pub const fn moments(&self) -> &Moments {
        &self.moments
    }
}

/// Sub-buckets per power of two of [`QuantileSketch`] (2⁶ = 64).
const SUB_BITS: u32 = 6;
const SUB: usize = 1 << SUB_BITS;
/// Powers of two the sketch resolves at once: the window of exponents ending at the largest
/// finite magnitude seen ([`QuantileSketch::window`]).
const WINDOW: i32 = 60;
/// Buckets per sign.
const HALF: usize = WINDOW as usize * SUB;
/// Exponent of the smallest subnormal, 2⁻¹⁰⁷⁴.
const MIN_EXP: i32 = -1074;

/// A fixed-memory, mergeable quantile sketch over every `f64`: a log-linear histogram with 64
/// buckets per power of two, for each sign (HdrHistogram's layout on the float's own exponent
/// and top 6 mantissa bits), over a window of 60 powers of two that ends at the largest finite
/// magnitude seen and slides up with it. Magnitudes below the window share one bucket around
/// zero; ±∞ have their own.
///
/// **Error bound.** For a sketch whose largest finite magnitude lies in [2ᵗ, 2ᵗ⁺¹),
/// [`QuantileSketch::quantile`] returns `est` with
/// `|est − exact| ≤ max(|exact| / 128, 2^(t−59))` ([`RELATIVE_ERROR`](Self::RELATIVE_ERROR)
/// and [`absolute_error`](Self::absolute_error)): 1/128 relative for magnitudes in the window,
/// which covers every finite `f64` from subnormals (2⁻¹⁰⁷⁴) to `f64::MAX` as long as the column
/// spans less than 2⁶⁰ ≈ 1.2e18 between its smallest and largest magnitudes; values below the
/// window are reported as 0 (they are fewer than 2^(t−59) away). It is clamped to the exact
/// min and max (so `q = 0` and `q = 1` are exact), infinities and zeros are exact. The rank is
/// numpy's `method="nearest"` (what Great Expectations' pandas backend uses): the order
/// statistic at `round_half_even(q · (n − 1))`.
///
/// The state is a function of the multiset of values (the window's top is its largest
/// exponent), so merging is exact: merge(sketch(a), sketch(b)) = sketch(a ++ b), field by
/// field. Size: 7,683 `u64` counters, 61 KiB. The window slides at most 2,097 times over the
/// sketch's life (once per new largest exponent), each a shift of the counters.
///
/// ```
/// use mlprobe_core::expect::QuantileSketch;
/// let mut s = QuantileSketch::new();
/// for x in [1e-300, 3.0, 4.0e14, f64::MAX] {
///     s.push(x);
/// }
/// // The window ends at f64::MAX's exponent 1023: 1e-300 is below it, reported as 0.
/// assert_eq!(s.window(), Some((964, 1023)));
/// assert_eq!(s.below_window(), 3);
/// assert_eq!(s.absolute_error(), libm::ldexp(1.0, 964));
/// ```
///
/// Serializable (serde), its buckets sparsely, to merge the sketches of parts computed
/// elsewhere; deserializing rejects what no values give.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QuantileSketch {
    /// Positive magnitudes: bucket `(e − low)·64 + sub` for exponent `e`, mantissa bits `sub`.
    #[serde(serialize_with = "wire::sparse::serialize")]
    pos: [u64; HALF],
    /// Negative magnitudes, laid out as `pos`.
    #[serde(serialize_with = "wire::sparse::serialize")]
    neg: [u64; HALF],
    /// Zeros and magnitudes below the window.
    zero: u64,
    /// Of `zero`, the non-zero values (below the window).
    below: u64,
    /// −∞ and +∞.
    infinite: [u64; 2],
    /// Exponent of the largest finite non-zero magnitude; `None` before one.
    top: Option<i32>,
    total: u64,
    min: f64,
    max: f64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new()
    }
}

/// Exponent `e` (−1074 ..= 1023, subnormals normalised) and top 6 bits below the leading one of
/// a finite non-zero magnitude `a = 2ᵉ · (1 + sub/64 + …)`.
#[inline]
fn exponent_and_sub(a: f64) -> (i32, usize) {
    let bits = a.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let mantissa = bits & ((1u64 << 52) - 1);
    if biased > 0 {
        let sub = (mantissa >> (52 - SUB_BITS)) as usize;
        (biased - 1023, sub)
    } else {
        // Subnormal: m · 2⁻¹⁰⁷⁴ with the leading bit of m at position p (0 ..= 51).
        let p = 63 - mantissa.leading_zeros() as i32;
        let fraction = (mantissa << (52 - p)) & ((1u64 << 52) - 1);
        (p + MIN_EXP, (fraction >> (52 - SUB_BITS)) as usize)
    }
}

impl QuantileSketch {
    /// Relative error bound for magnitudes in the window ([`QuantileSketch::window`]).
    pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB) as f64;

    /// Empty.
    pub const fn new() -> Self {
        Self {
            pos: [0; HALF],
            neg: [0; HALF],
            zero: 0,
            below: 0,
            infinite: [0; 2],
            top: None,
            total: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// The lowest and highest exponents resolved: magnitudes in [2^low, 2^(high+1)) get the
    /// relative error bound. `None` until a finite non-zero value arrives.
    pub fn window(&self) -> Option<(i32, i32)> {
        self.top.map(|t| (t - (WINDOW - 1), t))
    }

    /// Absolute error bound for values below the window, reported as 0: `2^low` (0 when every
    /// value was zero or infinite, or the window reaches below the smallest subnormal).
    pub fn absolute_error(&self) -> f64 {
        self.window().map_or(0.0, |(low, _)| libm::ldexp(1.0, low))
    }

    /// How many non-zero values fell below the window (counted as 0, within
    /// [`QuantileSketch::absolute_error`]).
    pub const fn below_window(&self) -> u64 {
        self.below
    }

    /// Moves the window's top up to `top`: buckets that leave it join the zero bucket.
    fn slide(&mut self, top: i32) {
        let Some(old) = self.top else {
            self.top = Some(top);
            return;
        };
        if top <= old {
            return;
        }
        let shift = ((top - old) as usize).saturating_mul(SUB).min(HALF);
        for half in [&mut self.pos, &mut self.neg] {
            let gone = half[..shift].iter().copied().fold(0, u64::saturating_add);
            self.zero = self.zero.saturating_add(gone);
            self.below = self.below.saturating_add(gone);
            half.copy_within(shift.., 0);
            half[HALF - shift..].fill(0);
        }
        self.top = Some(top);
    }

    /// Adds a (non-missing) value; `NaN` is ignored.
    #[inline]
    pub fn push(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.total += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x.is_infinite() {
            self.infinite[usize::from(x > 0.0)] += 1;
            return;
        }
        if x == 0.0 {
            self.zero += 1;
            return;
        }
        let (e, sub) = exponent_and_sub(x.abs());
        if self.top.is_none_or(|t| e > t) {
            self.slide(e);
        }
        let low = self.top.unwrap_or(e) - (WINDOW - 1);
        if e < low {
            self.zero += 1;
            self.below += 1;
            return;
        }
        let half = if x > 0.0 {
            &mut self.pos
        } else {
            &mut self.neg
        };
        // In bounds: low ≤ e ≤ top, sub < 64.
        if let Some(c) = half.get_mut((e - low) as usize * SUB + sub) {
            *c += 1;
        }
    }

    /// Adds another sketch's counts (exactly: the result is the sketch of both inputs; the
    /// counts saturate at `u64::MAX`).
    pub fn merge(&mut self, other: &QuantileSketch) {
        if let Some(t) = other.top {
            self.slide(t);
        }
        self.zero = self.zero.saturating_add(other.zero);
        self.below = self.below.saturating_add(other.below);
        // Without a finite non-zero value, `other` has only its zeros and infinities.
        if let (Some(top), Some(other_top)) = (self.top, other.top) {
            // `other`'s buckets sit `shift` buckets higher in its window than in ours.
            let shift = ((top - other_top) as usize).saturating_mul(SUB).min(HALF);
            for (mine, theirs) in [(&mut self.pos, &other.pos), (&mut self.neg, &other.neg)] {
                let gone = theirs[..shift].iter().copied().fold(0, u64::saturating_add);
                self.zero = self.zero.saturating_add(gone);
                self.below = self.below.saturating_add(gone);
                for (a, b) in mine.iter_mut().zip(&theirs[shift..]) {
                    *a = a.saturating_add(*b);
                }
            }
        }
        for (a, b) in self.infinite.iter_mut().zip(other.infinite) {
            *a = a.saturating_add(b);
        }
        self.total = self.total.saturating_add(other.total);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Number of values.
    pub const fn count(&self) -> u64 {
        self.total
    }

    /// The value reported for bucket `offset` of the window starting at exponent `low`: the
    /// bucket's midpoint, or its lower edge where the bucket holds one `f64` only (exponents
    /// ≤ −1068, whose subnormals have at most 6 bits below the leading one, all in `sub`).
    fn representative(low: i32, offset: usize) -> f64 {
        let e = low + (offset / SUB) as i32;
        let sub = (offset % SUB) as f64;
        if e <= MIN_EXP + SUB_BITS as i32 {
            libm::ldexp(1.0 + sub / SUB as f64, e)
        } else {
            // (128 + 2·sub + 1) · 2^(e−7): exact, since e − 7 ≥ −1074.
            libm::ldexp(2.0 * SUB as f64 + 2.0 * sub + 1.0, e - SUB_BITS as i32 - 1)
        }
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
        let low = self.top.map_or(0, |t| t - (WINDOW - 1));
        // Walk in value order: −∞, negatives from the largest magnitude down, zero, positives
        // up, +∞; the first bucket whose running count passes `rank` holds the order statistic.
        let mut seen = self.infinite[0];
        if seen > rank {
            return Some(f64::NEG_INFINITY);
        }
        for (o, &c) in self.neg.iter().enumerate().rev() {
            seen = seen.saturating_add(c);
            if seen > rank {
                return Some((-Self::representative(low, o)).clamp(self.min, self.max));
            }
        }
        seen = seen.saturating_add(self.zero);
        if seen > rank {
            return Some(0.0f64.clamp(self.min, self.max));
        }
        for (o, &c) in self.pos.iter().enumerate() {
            seen = seen.saturating_add(c);
            if seen > rank {
                return Some(Self::representative(low, o).clamp(self.min, self.max));
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
    let n = counts.iter().copied().fold(0, u64::saturating_add);
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

    /// A column's values taken a slice at a time: the counts and extremes pushing them gives,
    /// exactly; the moments within rounding.
    #[test]
    fn a_slice_gives_what_its_values_one_by_one_give() {
        let mut values = StdVec::new();
        let mut seed = 7u64;
        for i in 0..1000u32 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let x = (seed >> 11) as f64 / (1u64 << 53) as f64 * 200.0 - 50.0;
            values.push(match i % 17 {
                0 => f64::NAN,
                5 => -0.0,
                _ => x,
            });
        }
        for cut in [0, 1, 9, 256, 257, 999, 1000] {
            let mut pushed = ColumnState::new();
            values.iter().for_each(|&x| pushed.push(x));
            let mut sliced = ColumnState::new();
            sliced.extend(&values[..cut]);
            sliced.extend(&values[cut..]);
            assert_eq!(
                (
                    sliced.element_count(),
                    sliced.missing_count(),
                    sliced.min(),
                    sliced.max()
                ),
                (
                    pushed.element_count(),
                    pushed.missing_count(),
                    pushed.min(),
                    pushed.max()
                ),
                "cut {cut}"
            );
            let (a, b) = (sliced.mean().unwrap(), pushed.mean().unwrap());
            assert!((a - b).abs() <= 1e-13 * b.abs(), "cut {cut}: {a} {b}");
            let (a, b) = (sliced.stdev().unwrap(), pushed.stdev().unwrap());
            assert!((a - b).abs() <= 1e-13 * b, "cut {cut}: {a} {b}");
        }
        // Copies at once: the same as one by one.
        let mut copies = ColumnState::new();
        let mut pushed = ColumnState::new();
        for (x, n) in [(2.5, 3), (f64::NAN, 2), (-1.0, 1), (7.0, 0)] {
            copies.push_n(x, n);
            (0..n).for_each(|_| pushed.push(x));
        }
        copies.push_text_n(2);
        pushed.push_text();
        pushed.push_text();
        assert_eq!(
            (
                copies.element_count(),
                copies.missing_count(),
                copies.text_count()
            ),
            (8, 2, 2)
        );
        assert_eq!((copies.min(), copies.max()), (pushed.min(), pushed.max()));
        assert!((copies.stdev().unwrap() - pushed.stdev().unwrap()).abs() < 1e-15);
        let mut empty = ColumnState::new();
        empty.extend(&[f64::NAN, f64::NAN]);
        assert_eq!(
            (empty.element_count(), empty.missing_count(), empty.min()),
            (2, 2, None)
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

    /// Checks every quantile of `xs` (0, 0.01, …, 1) against the exact nearest-rank order
    /// statistic (numpy's `quantile(x, q, method="nearest")`, see
    /// `nearest_rank_rounds_half_to_even_like_numpy`) within the sketch's stated bound.
    fn assert_within_bound(xs: &mut [f64]) -> QuantileSketch {
        let mut s = QuantileSketch::new();
        xs.iter().for_each(|&x| s.push(x));
        xs.sort_by(f64::total_cmp);
        for i in 0..=100 {
            let q = f64::from(i) / 100.0;
            let exact = xs[nearest_rank(q, xs.len() as u64) as usize];
            let est = s.quantile(q).unwrap();
            let bound = (exact.abs() * QuantileSketch::RELATIVE_ERROR).max(s.absolute_error());
            assert!(
                est == exact || (est - exact).abs() <= bound,
                "q {q}: {est:e} vs {exact:e} (bound {bound:e})"
            );
        }
        assert_eq!(s.quantile(0.0), Some(xs[0]));
        assert_eq!(s.quantile(1.0), Some(xs[xs.len() - 1]));
        s
    }

    #[test]
    fn sketch_quantiles_within_the_stated_error() {
        let mut xs: StdVec<f64> = (0..10_000).map(|i| (i as f64 - 3000.0) * 0.37).collect();
        xs.push(1e-9);
        let s = assert_within_bound(&mut xs);
        // Largest magnitude 2590 in [2¹¹, 2¹²): the window is 2⁻⁴⁸ .. 2¹¹, nothing below it.
        assert_eq!(s.window(), Some((-48, 11)));
        assert_eq!(s.absolute_error(), libm::ldexp(1.0, -48));
        assert_eq!(s.below_window(), 0);
        assert_eq!(QuantileSketch::new().quantile(0.5), None);
        assert_eq!(QuantileSketch::new().absolute_error(), 0.0);
    }

    /// Issue 14, finding 4: magnitudes from 2⁴⁰ on shared one bucket, so a column of
    /// ±10^U(6,15) returned 1.10e12 for a true 4.22e14 quantile while claiming 1/128.
    #[test]
    fn regression_quantiles_beyond_two_to_the_forty() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(14);
        let mut xs: StdVec<f64> = (0..20_000)
            .map(|_| {
                let x = libm::pow(10.0, rng.random_range(6.0..15.0));
                if rng.random_bool(0.5) { x } else { -x }
            })
            .collect();
        let s = assert_within_bound(&mut xs);
        // Every value is in the window (10⁶ > 2⁻¹⁰ ≫ 2^(49−59)): the relative bound holds alone.
        assert_eq!(s.below_window(), 0);
        assert!(s.absolute_error() < 1e-3);
        // The 0.9 quantile is near 10^(6 + 0.8·9) ≈ 1.6e13, far beyond the old 2⁴⁰ ≈ 1.1e12.
        let q9 = s.quantile(0.9).unwrap();
        assert!(q9 > 1e13, "{q9:e}");
    }

    #[test]
    fn every_bucket_edge_maps_to_its_bucket_and_bound() {
        // Every bucket of every exponent: its lower edge and the largest f64 below the next
        // edge land in it, the f64 below the edge in the one before, and the bucket's reported
        // value is within 1/128 of both.
        let mut buckets = 0;
        for e in MIN_EXP..=1023 {
            for sub in 0..SUB {
                let lo = libm::ldexp(1.0 + sub as f64 / SUB as f64, e);
                if lo == 0.0 || exponent_and_sub(lo) != (e, sub) {
                    // Not an f64 (a subnormal exponent with fewer than 6 bits below the top).
                    continue;
                }
                buckets += 1;
                // The bucket's largest f64: below exponent −1067 the 6 bits hold the whole
                // mantissa, so the bucket has one f64; else the one below the next edge.
                let next = libm::ldexp(1.0 + (sub + 1) as f64 / SUB as f64, e);
                let last = if e <= MIN_EXP + SUB_BITS as i32 {
                    lo
                } else if next.is_finite() {
                    next.next_down()
                } else {
                    f64::MAX
                };
                assert_eq!(exponent_and_sub(last), (e, sub), "{last:e}");
                let below = lo.next_down();
                if below > 0.0 {
                    let (e2, s2) = exponent_and_sub(below);
                    assert!((e2, s2) < (e, sub), "{below:e}");
                    if e > MIN_EXP + SUB_BITS as i32 {
                        // Every bucket holds an f64 here: the one below is the previous bucket.
                        let prev = if sub == 0 {
                            (e - 1, SUB - 1)
                        } else {
                            (e, sub - 1)
                        };
                        assert_eq!((e2, s2), prev, "{below:e}");
                    }
                }
                // The bucket at offset `sub` of a window starting at `e`.
                let r = QuantileSketch::representative(e, sub);
                assert!(lo <= r && r <= last, "{e} {sub}: {r:e}");
                for x in [lo, last] {
                    assert!((r - x).abs() <= x * QuantileSketch::RELATIVE_ERROR, "{x:e}");
                }
            }
        }
        // 2,046 exponents of normal numbers and 52 of subnormals with 1, 2, 4, …, 64 buckets.
        assert_eq!(
            buckets,
            2046 * 64 + (52 - 6) * 64 + (1 + 2 + 4 + 8 + 16 + 32)
        );
    }

    #[test]
    fn sketch_at_the_ends_of_f64() {
        // Near f64::MAX, both signs, and infinities (exact).
        let mut xs: StdVec<f64> = (0..500)
            .map(|i| f64::MAX / (1.0 + f64::from(i) * 1e-3))
            .chain((0..500).map(|i| -f64::MAX / (1.0 + f64::from(i) * 0.37)))
            .collect();
        xs.extend([f64::INFINITY, f64::NEG_INFINITY, 0.0]);
        let s = assert_within_bound(&mut xs);
        assert_eq!(s.window(), Some((964, 1023)));
        assert_eq!(s.quantile(0.0), Some(f64::NEG_INFINITY));
        assert_eq!(s.quantile(1.0), Some(f64::INFINITY));
        // Subnormals only: the window reaches below 2⁻¹⁰⁷⁴, so the bound is purely relative
        // (absolute error 0) and the tiniest ones, alone in their buckets, come back exact.
        let tiny = f64::from_bits(1);
        let mut xs: StdVec<f64> = (1..3000u64)
            .map(|k| f64::from_bits(k * 7919 % 4096 + 1))
            .chain((0..50).map(|k| -f64::from_bits(k + 1)))
            .collect();
        let s = assert_within_bound(&mut xs);
        assert_eq!(s.absolute_error(), 0.0);
        assert_eq!(s.below_window(), 0);
        let mut one = QuantileSketch::new();
        [tiny, 3.0 * tiny, 3.0 * tiny, 5.0 * tiny]
            .iter()
            .for_each(|&x| one.push(x));
        assert_eq!(one.quantile(0.5), Some(3.0 * tiny));
        // Mixed 1e-300 .. f64::MAX: the small ones fall below the window, reported as 0 within
        // 2⁹⁶⁴, and counted.
        let mut xs: StdVec<f64> = (0..100).map(|i| 1e-300 * f64::from(i + 1)).collect();
        xs.extend((0..50).map(|i| 1e300 * f64::from(i + 1)));
        xs.push(f64::MAX);
        let s = assert_within_bound(&mut xs);
        assert_eq!(s.below_window(), 100);
        assert_eq!(s.absolute_error(), libm::ldexp(1.0, 964));
        // The 0.3 quantile (4.6e-299) is reported as 0, clamped to the exact minimum 1e-300.
        assert_eq!(s.quantile(0.3), Some(1e-300));
    }

    /// Values for the sketch's properties: zeros, subnormals, infinities and the largest
    /// finite values, any bit pattern (every exponent, either sign), and values within 2^±80.
    pub(super) fn values() -> impl proptest::strategy::Strategy<Value = StdVec<f64>> {
        use proptest::prelude::*;
        prop::collection::vec(
            prop_oneof![
                1 => Just(0.0),
                1 => (1..1u64 << 52).prop_map(f64::from_bits),
                1 => prop::sample::select(&[f64::INFINITY, f64::NEG_INFINITY, f64::MAX, -f64::MAX][..]),
                1 => any::<u64>().prop_map(f64::from_bits).prop_filter("not NaN", |x| !x.is_nan()),
                4 => (1.0..2.0f64, -80..80i32, any::<bool>())
                    .prop_map(|(m, e, neg)| if neg { -libm::ldexp(m, e) } else { libm::ldexp(m, e) }),
            ],
            0..400,
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(60))]

        /// A sketch of parts merged in any order equals the sketch of the whole, and holds
        /// its error bound. proptest shrinks a failure to the fewest values.
        #[test]
        fn property_sketch_merge_of_parts_equals_whole(
            xs in values(),
            cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..5),
            order in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 6),
        ) {
            let n = xs.len();
            let mut whole = QuantileSketch::new();
            xs.iter().for_each(|&x| whole.push(x));
            let mut cuts: StdVec<usize> = cuts.iter().map(|c| c.index(n + 1)).collect();
            cuts.extend([0, n]);
            cuts.sort_unstable();
            let mut parts: StdVec<QuantileSketch> = cuts
                .windows(2)
                .map(|w| {
                    let mut s = QuantileSketch::new();
                    xs[w[0]..w[1]].iter().for_each(|&x| s.push(x));
                    s
                })
                .collect();
            let mut merged = QuantileSketch::new();
            let mut next = order.iter();
            while !parts.is_empty() {
                let i = next.next().map_or(0, |k| k.index(parts.len()));
                merged.merge(&parts.swap_remove(i));
            }
            proptest::prop_assert_eq!(&merged, &whole);
            if n > 0 {
                let mut xs = xs;
                assert_within_bound(&mut xs);
            }
        }
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
