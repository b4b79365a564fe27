//! A fixed-memory, mergeable latency histogram with a proven relative-error bound.
//!
//! [`Sketch`] records `u32` values — nanoseconds on the host, cycles or timer ticks on a device,
//! or any other non-negative integer unit the caller picks — into HdrHistogram-style
//! *log-linear* buckets (Gil Tene, HdrHistogram, <http://hdrhistogram.org>; the layout is the
//! one of `hdrhistogram`'s `index_for` with one sub-bucket magnitude):
//!
//! - values below 128 each have a bucket of their own (exact);
//! - above, every power-of-two range `[2^e, 2^(e+1))` is cut into 64 equal buckets of width
//!   `2^(e-6)`.
//!
//! That covers the whole `u32` range in [`Sketch::BUCKETS`] = 1728 `u32` counters: the state is
//! [`size_of::<Sketch>()`](core::mem::size_of) = 6944 bytes, with no allocation, and
//! [`Sketch::new`] is a `const fn`, so a sketch can live in a `static` on a device.
//!
//! # Error bound
//!
//! A quantile is answered with the midpoint of the bucket that holds the order statistic it
//! asks for (clamped to the exact `[min, max]`). For a bucket `[lo, lo + w)` with `w = 2^s`
//! and `lo ≥ 64·2^s`, every value `v` in it is at most `w/2` away from the midpoint, so
//!
//! ```text
//! |estimate − v| / v  ≤  (w/2) / lo  ≤  2^(s−1) / 2^(s+6)  =  1/128  ≈ 0.78 %
//! ```
//!
//! and values below 128 are exact. [`Sketch::RELATIVE_ERROR`] states this bound; the tests check
//! it on every bucket boundary of the `u32` range (which proves it for every value) and against
//! exact order statistics of uniform, exponential, log-normal, bimodal and constant streams with
//! huge outliers. `min`, `max`, `count` and `mean` are exact.
//!
//! # Quantile definition
//!
//! `quantile(q)` estimates the *nearest-rank* order statistic: the value of rank
//! `k = max(1, ⌈q·n⌉)` (1-based) in the sorted stream, so `q = 0` is the minimum and `q = 1` the
//! maximum (NumPy's `method="inverted_cdf"`). It does not interpolate between two values.
//!
//! # Merging
//!
//! Two sketches merge by adding their counters ([`Sketch::merge`]); the result is equal (`==`)
//! to the sketch of the concatenated streams, so per-thread or per-device sketches combine
//! without loss beyond the bound.
//!
//! # When not to use it
//!
//! Values above `u32::MAX` must be clamped by the caller (4.29 s in nanoseconds): pick a unit
//! that fits (microseconds reach 71 minutes). A bucket counts at most `u32::MAX` values
//! (saturating); a stream longer than that in one bucket needs several sketches.
//!
//! ```
//! use mlprobe_core::sketch::Sketch;
//! let mut s = Sketch::new();
//! for ns in 1_000..=2_000u32 {
//!     s.record(ns);
//! }
//! let p50 = s.quantile(0.5).unwrap();
//! // exact p50 (nearest rank 501 of 1001 values) is 1500
//! assert!(p50.abs_diff(1500) as f64 <= 1500.0 * Sketch::RELATIVE_ERROR);
//! assert_eq!((s.min(), s.max(), s.count()), (Some(1_000), Some(2_000), 1001));
//! ```

use core::fmt;

/// Errors of a sketch query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SketchError {
    /// The sketch holds no value.
    Empty,
    /// The quantile is not a number in `[0, 1]`.
    QuantileOutOfRange,
}

impl fmt::Display for SketchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the sketch holds no value",
            Self::QuantileOutOfRange => "the quantile is not a number in [0, 1]",
        })
    }
}

impl core::error::Error for SketchError {}

/// log2 of the number of buckets per power of two (64).
const SUB_BITS: u32 = 6;
/// Buckets per power of two.
const SUB: usize = 1 << SUB_BITS;

/// The usual latency summary of a sketch: exact count, min, max and mean, and the p50, p95,
/// p99 and p99.9 estimates (within [`Sketch::RELATIVE_ERROR`]).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Summary {
    /// Values recorded.
    pub count: u64,
    /// Smallest value (exact).
    pub min: u32,
    /// Median estimate.
    pub p50: u32,
    /// 95th percentile estimate.
    pub p95: u32,
    /// 99th percentile estimate.
    pub p99: u32,
    /// 99.9th percentile estimate.
    pub p999: u32,
    /// Largest value (exact).
    pub max: u32,
    /// Mean (exact up to `f64` rounding).
    pub mean: f64,
}

/// A fixed-size log-linear histogram of `u32` values; see the [module docs](self).
///
/// ```
/// use mlprobe_core::sketch::Sketch;
/// // const-constructible: a sketch can be a `static` (behind a `Mutex` on a device).
/// static EMPTY: Sketch = Sketch::new();
/// assert!(EMPTY.is_empty());
/// assert!(core::mem::size_of::<Sketch>() <= 8 * 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sketch {
    counts: [u32; Sketch::BUCKETS],
    count: u64,
    sum: u128,
    min: u32,
    max: u32,
}

impl Default for Sketch {
    fn default() -> Self {
        Self::new()
    }
}

// The issue's memory budget: at most 8 KiB of state.
const _: () = assert!(core::mem::size_of::<Sketch>() <= 8 * 1024);

impl Sketch {
    /// Number of buckets: 128 exact ones, then 64 per power of two from `2^7` to `2^31`.
    pub const BUCKETS: usize = Self::bucket_index(u32::MAX) + 1;

    /// The bound on the relative error of every quantile estimate: `1/128` (≈ 0.78 %).
    ///
    /// For an estimate `e` of an order statistic `v`: `|e − v| ≤ v · RELATIVE_ERROR`.
    pub const RELATIVE_ERROR: f64 = 1.0 / (2 * SUB) as f64;

    /// An empty sketch.
    pub const fn new() -> Self {
        Self {
            counts: [0; Self::BUCKETS],
            count: 0,
            sum: 0,
            min: u32::MAX,
            max: 0,
        }
    }

    /// The bucket of a value.
    #[inline(always)]
    const fn bucket_index(value: u32) -> usize {
        // floor(log2(value)), with 0 for 0; shift = how many low bits the bucket ignores.
        let log2 = 31 - (value | 1).leading_zeros();
        let shift = log2.saturating_sub(SUB_BITS);
        ((shift as usize) << SUB_BITS) + (value >> shift) as usize
    }

    /// The lowest value and the width of bucket `index`.
    const fn bucket_range(index: usize) -> (u32, u32) {
        let shift = if index < 2 * SUB { 0 } else { index / SUB - 1 };
        let mantissa = index - (shift << SUB_BITS);
        ((mantissa as u32) << shift, 1u32 << shift)
    }

    /// The value reported for bucket `index`: the midpoint, rounded down.
    const fn bucket_value(index: usize) -> u32 {
        let (lo, width) = Self::bucket_range(index);
        lo + (width - 1) / 2
    }

    /// Records one value.
    #[inline]
    pub fn record(&mut self, value: u32) {
        self.record_n(value, 1);
    }

    /// Records `n` copies of a value.
    #[inline]
    pub fn record_n(&mut self, value: u32, n: u32) {
        if n == 0 {
            return;
        }
        if let Some(c) = self.counts.get_mut(Self::bucket_index(value)) {
            *c = c.saturating_add(n);
        }
        self.count += u64::from(n);
        self.sum += u128::from(value) * u128::from(n);
        self.min = if value < self.min { value } else { self.min };
        self.max = if value > self.max { value } else { self.max };
    }

    /// Adds another sketch's values: the result equals the sketch of both streams.
    pub fn merge(&mut self, other: &Self) {
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c = c.saturating_add(*o);
        }
        self.count = self.count.saturating_add(other.count);
        self.sum = self.sum.saturating_add(other.sum);
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Forgets every value.
    pub fn clear(&mut self) {
        *self = Self::new();
    }

    /// Number of values recorded.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// True when no value was recorded.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The smallest value recorded (exact), `None` when empty.
    pub const fn min(&self) -> Option<u32> {
        if self.is_empty() {
            None
        } else {
            Some(self.min)
        }
    }

    /// The largest value recorded (exact), `None` when empty.
    pub const fn max(&self) -> Option<u32> {
        if self.is_empty() {
            None
        } else {
            Some(self.max)
        }
    }

    /// The mean of the values recorded (the sum is kept exactly), `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        if self.is_empty() {
            None
        } else {
            Some(self.sum as f64 / self.count as f64)
        }
    }

    /// The estimate of quantile `q` in `[0, 1]`: the nearest-rank order statistic
    /// `max(1, ⌈q·n⌉)` within [`Self::RELATIVE_ERROR`]; `q = 0` and `q = 1` give the exact
    /// min and max.
    ///
    /// ```
    /// use mlprobe_core::sketch::{Sketch, SketchError};
    /// let mut s = Sketch::new();
    /// s.record(7);
    /// assert_eq!(s.quantile(0.99), Ok(7));
    /// assert_eq!(s.quantile(1.5), Err(SketchError::QuantileOutOfRange));
    /// assert_eq!(Sketch::new().quantile(0.5), Err(SketchError::Empty));
    /// ```
    pub fn quantile(&self, q: f64) -> Result<u32, SketchError> {
        if !(0.0..=1.0).contains(&q) {
            return Err(SketchError::QuantileOutOfRange);
        }
        if self.is_empty() {
            return Err(SketchError::Empty);
        }
        let rank = nearest_rank(q, self.count);
        let mut seen = 0u64;
        for (index, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                // The clamp keeps the bound (the true value lies in [min, max]) and makes the
                // extreme ranks exact.
                return Ok(Self::bucket_value(index).clamp(self.min, self.max));
            }
        }
        // Only reachable when saturated buckets undercount: the value is the largest one.
        Ok(self.max)
    }

    /// Count, min, max, mean and the p50/p95/p99/p99.9 estimates; `None` when empty.
    pub fn summary(&self) -> Option<Summary> {
        let q = |q| self.quantile(q).ok();
        Some(Summary {
            count: self.count,
            min: self.min()?,
            p50: q(0.5)?,
            p95: q(0.95)?,
            p99: q(0.99)?,
            p999: q(0.999)?,
            max: self.max()?,
            mean: self.mean()?,
        })
    }

    /// The non-empty buckets, in increasing order: `(lowest value, highest value, count)`.
    pub fn buckets(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| {
                let (lo, w) = Self::bucket_range(i);
                (lo, lo + (w - 1), c)
            })
    }
}

/// The 1-based nearest rank `max(1, ⌈q·n⌉)` of quantile `q` among `n` values.
///
/// `q·n` is computed in `f64`; a product within `1e-9` above an integer (such as `0.95·100`
/// rounding up) is taken as that integer, so that p95 of 100 values is rank 95, not 96.
pub fn nearest_rank(q: f64, n: u64) -> u64 {
    let x = q * n as f64;
    let r = libm::ceil(x - 1e-9 * libm::fmax(1.0, x));
    (r as u64).clamp(1, n.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec as Vec;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_core::Rng;

    /// Exact nearest-rank order statistic of a stream (the reference the bound is checked
    /// against).
    fn exact(sorted: &[u32], q: f64) -> u32 {
        sorted[(nearest_rank(q, sorted.len() as u64) - 1) as usize]
    }

    fn sketch_of(values: &[u32]) -> Sketch {
        let mut s = Sketch::new();
        for &v in values {
            s.record(v);
        }
        s
    }

    /// Checks the bound on a fine grid of quantiles plus the usual ones; returns the worst
    /// relative error seen.
    fn check_bound(values: &[u32]) -> f64 {
        let s = sketch_of(values);
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let mut worst = 0.0f64;
        let grid = (0..=1000).map(|i| f64::from(i) / 1000.0);
        for q in grid.chain([0.95, 0.99, 0.999, 0.9999, 0.99999]) {
            let e = s.quantile(q).unwrap();
            let v = exact(&sorted, q);
            let err = f64::from(e.abs_diff(v));
            // The bound, in exact integer arithmetic: |e − v| · 128 ≤ v.
            assert!(
                u64::from(e.abs_diff(v)) * 128 <= u64::from(v),
                "q={q}: estimate {e}, exact {v}, relative error {}",
                err / f64::from(v)
            );
            if v > 0 {
                worst = worst.max(err / f64::from(v));
            }
        }
        assert_eq!(s.min(), sorted.first().copied());
        assert_eq!(s.max(), sorted.last().copied());
        assert_eq!(s.count(), values.len() as u64);
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
        assert!((s.mean().unwrap() - mean).abs() <= 1e-9 * mean.max(1.0));
        worst
    }

    fn unit(rng: &mut ChaCha8Rng) -> f64 {
        // 53 random bits in (0, 1]: never 0, so ln() is finite.
        ((rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    fn normal(rng: &mut ChaCha8Rng) -> f64 {
        // Box–Muller.
        let (u1, u2) = (unit(rng), unit(rng));
        libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * core::f64::consts::PI * u2)
    }

    fn to_u32(x: f64) -> u32 {
        x.clamp(0.0, f64::from(u32::MAX)) as u32
    }

    /// A few huge outliers, as a stalled thread or a page fault would produce.
    fn with_outliers(mut v: Vec<u32>) -> Vec<u32> {
        v.extend([4_000_000_000, u32::MAX, 3_141_592_653, 1_000_000_000]);
        v
    }

    #[test]
    fn layout_covers_u32_within_8_kib() {
        assert_eq!(Sketch::BUCKETS, 1728);
        assert_eq!(Sketch::bucket_index(0), 0);
        assert_eq!(Sketch::bucket_index(127), 127);
        assert_eq!(Sketch::bucket_index(128), 128);
        assert_eq!(Sketch::bucket_index(129), 128);
        assert_eq!(Sketch::bucket_index(u32::MAX), 1727);
        assert!(core::mem::size_of::<Sketch>() <= 8192);
    }

    /// The bound for *every* `u32` value: buckets tile the range without gaps, and in each
    /// bucket both ends (the worst cases) are within 1/128 of the reported midpoint.
    #[test]
    fn bound_holds_on_every_bucket() {
        let mut next = 0u64;
        for i in 0..Sketch::BUCKETS {
            let (lo, w) = Sketch::bucket_range(i);
            let hi = u64::from(lo) + u64::from(w) - 1;
            assert_eq!(u64::from(lo), next, "bucket {i} starts after a gap");
            assert_eq!(Sketch::bucket_index(lo), i);
            assert_eq!(Sketch::bucket_index(hi as u32), i);
            let mid = u64::from(Sketch::bucket_value(i));
            for v in [u64::from(lo), hi] {
                assert!(mid.abs_diff(v) * 128 <= v, "bucket {i}: {v} vs {mid}");
            }
            next = hi + 1;
        }
        assert_eq!(next, 1u64 << 32);
    }

    #[test]
    fn bound_on_uniform() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let v: Vec<u32> = (0..100_000).map(|_| to_u32(unit(&mut rng) * 1e6)).collect();
        assert!(check_bound(&v) <= Sketch::RELATIVE_ERROR);
        assert!(check_bound(&with_outliers(v)) <= Sketch::RELATIVE_ERROR);
    }

    #[test]
    fn bound_on_exponential() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        // Mean 10 µs in nanoseconds, as the seed's `np.random.exponential(10, 100)` in ms.
        let v: Vec<u32> = (0..100_000)
            .map(|_| to_u32(-libm::log(unit(&mut rng)) * 10_000.0))
            .collect();
        check_bound(&v);
        check_bound(&with_outliers(v));
    }

    #[test]
    fn bound_on_log_normal() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // median e^10 ≈ 22 µs, sigma 1.5: spans five decades.
        let v: Vec<u32> = (0..100_000)
            .map(|_| to_u32(libm::exp(10.0 + 1.5 * normal(&mut rng))))
            .collect();
        check_bound(&v);
        check_bound(&with_outliers(v));
    }

    #[test]
    fn bound_on_bimodal() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        // 90 % fast path around 2 µs, 10 % slow path around 500 µs.
        let v: Vec<u32> = (0..100_000)
            .map(|i| {
                let (mu, sd) = if i % 10 == 0 {
                    (500_000.0, 50_000.0)
                } else {
                    (2_000.0, 200.0)
                };
                to_u32(mu + sd * normal(&mut rng))
            })
            .collect();
        check_bound(&v);
        check_bound(&with_outliers(v));
    }

    #[test]
    fn bound_on_constant_and_small_values() {
        for c in [0u32, 1, 127, 128, 1_000, 123_456_789, u32::MAX] {
            let v = vec![c; 1000];
            assert_eq!(check_bound(&v), 0.0, "constant {c} is reported exactly");
            check_bound(&with_outliers(v));
        }
        // Small integers have exact buckets.
        let v: Vec<u32> = (0..128).collect();
        assert_eq!(check_bound(&v), 0.0);
    }

    #[test]
    fn merge_equals_concatenation() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for round in 0..50 {
            let n = (rng.next_u32() % 5000) as usize;
            let v: Vec<u32> = (0..n)
                .map(|_| rng.next_u32() >> (rng.next_u32() % 32))
                .collect();
            let cut = if n == 0 {
                0
            } else {
                (rng.next_u32() as usize) % n
            };
            let mut a = sketch_of(&v[..cut]);
            a.merge(&sketch_of(&v[cut..]));
            assert_eq!(a, sketch_of(&v), "round {round}");
        }
        // Merging an empty sketch changes nothing, either way round.
        let s = sketch_of(&[5, 6, 7]);
        let mut t = s.clone();
        t.merge(&Sketch::new());
        assert_eq!(t, s);
        let mut e = Sketch::new();
        e.merge(&s);
        assert_eq!(e, s);
    }

    #[test]
    fn empty_and_invalid_queries() {
        let mut s = Sketch::new();
        assert_eq!(s.quantile(0.5), Err(SketchError::Empty));
        assert_eq!((s.min(), s.max(), s.mean()), (None, None, None));
        assert_eq!(s.summary(), None);
        s.record(3);
        for q in [-0.1, 1.000_001, f64::NAN] {
            assert_eq!(s.quantile(q), Err(SketchError::QuantileOutOfRange));
        }
        s.clear();
        assert_eq!(s, Sketch::new());
    }

    #[test]
    fn summary_and_record_n() {
        let mut s = Sketch::new();
        s.record_n(10, 99);
        s.record_n(1000, 1);
        s.record_n(5, 0);
        let m = s.summary().unwrap();
        // 100 values: ranks 50, 95, 99 are 10; rank ⌈99.9⌉ = 100 is 1000 (exact: clamped max).
        assert_eq!((m.p50, m.p95, m.p99, m.p999), (10, 10, 10, 1000));
        assert_eq!((m.count, m.min, m.max), (100, 10, 1000));
        // (99·10 + 1000) / 100 = 19.9
        assert!((m.mean - 19.9).abs() < 1e-12);
        assert_eq!(
            s.buckets().collect::<Vec<_>>(),
            vec![(10, 10, 99), (1000, 1007, 1)]
        );
    }

    #[test]
    fn nearest_rank_matches_numpy_inverted_cdf() {
        // numpy.percentile(range(1, 101), [50, 95, 99, 99.9, 0, 100], method="inverted_cdf")
        // = [50, 95, 99, 100, 1, 100]
        let ranks = [0.5, 0.95, 0.99, 0.999, 0.0, 1.0].map(|q| nearest_rank(q, 100));
        assert_eq!(ranks, [50, 95, 99, 100, 1, 100]);
        assert_eq!(nearest_rank(0.5, 1), 1);
        assert_eq!(nearest_rank(0.5, 0), 1);
    }
}
