//! Streaming, mergeable mean and variance.
//!
//! Welford's update (B. P. Welford, "Note on a method for calculating corrected sums of squares
//! and products", Technometrics 4(3), 1962) for one value at a time, and the pairwise merge of
//! Chan, Golub and LeVeque ("Updating formulae and a pairwise algorithm for computing sample
//! variances", 1979) so that partial fits over chunks, threads or devices combine into exactly
//! the statistics of the whole stream (up to rounding).
//!
//! Accumulators are `f64` even when data is `f32`: the cost is small and long streams keep
//! their precision.

/// Count, mean and sum of squared deviations of a stream of values.
///
/// ```
/// use mlprobe_core::moments::Moments;
/// let mut a = Moments::new();
/// for x in [1.0, 3.0, 5.0] { a.push(x); }
/// assert_eq!(a.mean(), 3.0);
/// assert!((a.population_variance() - 8.0 / 3.0).abs() < 1e-12);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Moments {
    count: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// No values seen.
    pub const fn new() -> Self {
        Self {
            count: 0,
            mean: 0.0,
            m2: 0.0,
        }
    }

    /// Adds one value (Welford's update).
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.count += 1;
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// Combines another stream's moments into these (Chan et al.).
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let n_a = self.count as f64;
        let n_b = other.count as f64;
        let n = n_a + n_b;
        let delta = other.mean - self.mean;
        self.mean += delta * (n_b / n);
        self.m2 += other.m2 + delta * delta * (n_a * n_b / n);
        self.count += other.count;
    }

    /// Number of values seen.
    pub const fn count(&self) -> u64 {
        self.count
    }

    /// Mean of the values (0 when none were seen).
    pub const fn mean(&self) -> f64 {
        self.mean
    }

    /// Population variance (divides by `n`, as `numpy.var` does by default); 0 for fewer than
    /// one value.
    pub fn population_variance(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.m2 / self.count as f64).max(0.0)
        }
    }

    /// Sample variance (divides by `n - 1`, as pandas' `std()` does); 0 for fewer than two values.
    pub fn sample_variance(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / (self.count - 1) as f64).max(0.0)
        }
    }

    /// Population standard deviation.
    pub fn population_std(&self) -> f64 {
        libm::sqrt(self.population_variance())
    }

    /// Sample standard deviation.
    pub fn sample_std(&self) -> f64 {
        libm::sqrt(self.sample_variance())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_two_pass_formula() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut m = Moments::new();
        xs.iter().for_each(|&x| m.push(x));
        // The textbook example: mean 5, population std exactly 2.
        assert_eq!(m.mean(), 5.0);
        assert_eq!(m.population_std(), 2.0);
        assert!((m.sample_variance() - 32.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn merge_equals_concatenation_for_every_split() {
        let xs = [1.5, -2.0, 3.25, 1e3, 7.0, 7.0, -0.5, 12.0, 4.0];
        let mut all = Moments::new();
        xs.iter().for_each(|&x| all.push(x));
        for cut in 0..=xs.len() {
            let (a, b) = xs.split_at(cut);
            let mut ma = Moments::new();
            let mut mb = Moments::new();
            a.iter().for_each(|&x| ma.push(x));
            b.iter().for_each(|&x| mb.push(x));
            ma.merge(&mb);
            assert_eq!(ma.count(), all.count());
            assert!((ma.mean() - all.mean()).abs() < 1e-12, "cut {cut}");
            assert!((ma.population_variance() - all.population_variance()).abs() < 1e-9);
        }
    }

    #[test]
    fn degenerate_inputs() {
        let m = Moments::new();
        assert_eq!(m.population_variance(), 0.0);
        assert_eq!(m.sample_variance(), 0.0);
        let mut one = Moments::new();
        one.push(3.0);
        assert_eq!(one.sample_variance(), 0.0);
        let mut constant = Moments::new();
        (0..100).for_each(|_| constant.push(0.1));
        assert_eq!(constant.population_variance(), 0.0);
    }
}
