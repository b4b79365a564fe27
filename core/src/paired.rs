//! Paired comparison of two classifiers scored on the same rows: is the candidate as good as the
//! baseline it replaces?
//!
//! Both models see every row, so the question is about the rows where exactly one of them is
//! right. The counts are the 2×2 table of pairs ([`PairedCounts`]):
//!
//! |                   | candidate right | candidate wrong |
//! |-------------------|-----------------|-----------------|
//! | **baseline right**| `a` both right  | `b` baseline only |
//! | **baseline wrong**| `c` candidate only | `d` both wrong |
//!
//! From it:
//!
//! - [`mcnemar`]: McNemar's test of `b = c`, exact (two-sided binomial, `min(1, 2·P(X ≤
//!   min(b, c)))` with `X ~ Bin(b + c, ½)`) and chi-square with continuity correction
//!   (`(|b − c| − 1)² / (b + c)`, one degree of freedom), as
//!   `statsmodels.stats.contingency_tables.mcnemar(exact=True)` and `(exact=False,
//!   correction=True)` compute them (statsmodels 0.15), the case `b = c` included (its statistic
//!   is `1 / (b + c)`, not 0). Without discordant rows the chi-square is undefined: `None`
//!   here, where statsmodels divides by zero and reports `inf` with p = 0, a significant result
//!   from two identical models.
//! - [`newcombe`]: the confidence interval of the difference in accuracy `(c − b) / n`
//!   (candidate minus baseline) by Newcombe's hybrid score method for paired data (Newcombe
//!   1998, "Improved confidence intervals for the difference between binomial proportions
//!   based on paired data", *Statistics in Medicine* 17:2635–2650, method 10): each accuracy's
//!   Wilson score interval, combined with the continuity-corrected correlation `φ` of the two
//!   models' correctness. It stays
//!   inside `[−1, 1]`, is never degenerate at `b = c = 0`, and holds its level far better than
//!   the Wald interval at the small discordant counts of two similar models (Fagerland,
//!   Lydersen and Laake 2014, *Statistics in Medicine* 33:2850–2875, recommend it).
//! - [`compare`]: both, and the verdict of a non-inferiority test with margin `m`: the
//!   candidate is non-inferior when the interval's lower end is above `−m`, and significantly
//!   worse when McNemar's exact test rejects at `alpha` with `b > c`. A two-sided `1 − alpha`
//!   interval makes the non-inferiority test one-sided at `alpha / 2` (the CONSORT convention:
//!   a 95 % interval tests at 2.5 %).
//!
//! Counts come one row at a time ([`PairedCounts::record`]) or merged from parts, so a device
//! or a server can keep them.
//!
//! ```
//! use mlprobe_core::paired::{PairedCounts, compare};
//! // 100 rows: the candidate alone right on 9, the baseline alone on 4.
//! let counts = PairedCounts::from_table(80, 4, 9, 7);
//! let c = compare(&counts, 0.05, 0.02).unwrap();
//! assert_eq!(c.difference.estimate, 0.05);
//! assert!(c.mcnemar.exact_p_value > 0.05); // 9 against 4 is not significant
//! assert!(c.difference.low < -0.02 && !c.non_inferior); // [-0.025, +0.128]: not shown
//! // Ten times the rows, the same shares: [+0.028, +0.073], non-inferior and better.
//! let c = compare(&PairedCounts::from_table(800, 40, 90, 70), 0.05, 0.02).unwrap();
//! assert!(c.non_inferior && !c.significantly_worse && c.passed());
//! ```

use crate::abtest::AbError;
use crate::special::{beta_inc, chi2_sf, norm_ppf};

/// The 2×2 table of two classifiers' correctness on the same rows, and how often they predicted
/// the same class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PairedCounts {
    /// Rows both got right (`a`).
    pub both_right: u64,
    /// Rows only the baseline got right (`b`).
    pub baseline_only: u64,
    /// Rows only the candidate got right (`c`).
    pub candidate_only: u64,
    /// Rows both got wrong (`d`).
    pub both_wrong: u64,
    /// Rows where both predicted the same class (right or wrong).
    pub same_prediction: u64,
}

impl PairedCounts {
    /// No rows yet.
    pub const fn new() -> Self {
        Self {
            both_right: 0,
            baseline_only: 0,
            candidate_only: 0,
            both_wrong: 0,
            same_prediction: 0,
        }
    }

    /// The table `a, b, c, d` (both right, baseline only, candidate only, both wrong). The
    /// predictions agree at least where both are right; that is all the table says, so
    /// `same_prediction` is `a` (two wrong predictions may differ).
    pub const fn from_table(a: u64, b: u64, c: u64, d: u64) -> Self {
        Self {
            both_right: a,
            baseline_only: b,
            candidate_only: c,
            both_wrong: d,
            same_prediction: a,
        }
    }

    /// Counts one row: its true class and each model's prediction (saturating at `u64::MAX`).
    pub fn record(&mut self, label: usize, baseline: usize, candidate: usize) {
        let cell = match (baseline == label, candidate == label) {
            (true, true) => &mut self.both_right,
            (true, false) => &mut self.baseline_only,
            (false, true) => &mut self.candidate_only,
            (false, false) => &mut self.both_wrong,
        };
        *cell = cell.saturating_add(1);
        if baseline == candidate {
            self.same_prediction = self.same_prediction.saturating_add(1);
        }
    }

    /// Adds the counts of other rows.
    pub fn merge(&mut self, other: &Self) {
        self.both_right = self.both_right.saturating_add(other.both_right);
        self.baseline_only = self.baseline_only.saturating_add(other.baseline_only);
        self.candidate_only = self.candidate_only.saturating_add(other.candidate_only);
        self.both_wrong = self.both_wrong.saturating_add(other.both_wrong);
        self.same_prediction = self.same_prediction.saturating_add(other.same_prediction);
    }

    /// Rows counted.
    pub const fn n(&self) -> u64 {
        self.both_right
            .saturating_add(self.baseline_only)
            .saturating_add(self.candidate_only)
            .saturating_add(self.both_wrong)
    }

    /// Rows the baseline got right.
    pub const fn baseline_correct(&self) -> u64 {
        self.both_right.saturating_add(self.baseline_only)
    }

    /// Rows the candidate got right.
    pub const fn candidate_correct(&self) -> u64 {
        self.both_right.saturating_add(self.candidate_only)
    }

    fn share(&self, k: u64) -> Option<f64> {
        match self.n() {
            0 => None,
            n => Some(k as f64 / n as f64),
        }
    }

    /// The baseline's accuracy; `None` without rows.
    pub fn baseline_accuracy(&self) -> Option<f64> {
        self.share(self.baseline_correct())
    }

    /// The candidate's accuracy; `None` without rows.
    pub fn candidate_accuracy(&self) -> Option<f64> {
        self.share(self.candidate_correct())
    }

    /// The share of rows where both predicted the same class; `None` without rows.
    pub fn agreement(&self) -> Option<f64> {
        self.share(self.same_prediction)
    }

    /// Candidate accuracy minus baseline accuracy, `(c − b) / n`; `None` without rows.
    pub fn difference(&self) -> Option<f64> {
        let n = self.n();
        (n > 0).then(|| (self.candidate_only as f64 - self.baseline_only as f64) / n as f64)
    }
}

/// `P(X ≤ k)` for `X ~ Binomial(n, ½)`: `I_½(n − k, k + 1)`, 1 for `k ≥ n`.
pub fn binomial_cdf_half(k: u64, n: u64) -> f64 {
    if k >= n {
        return 1.0;
    }
    beta_inc((n - k) as f64, (k + 1) as f64, 0.5)
}

/// McNemar's test of `b = c` on the discordant counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McNemar {
    /// Exact two-sided p-value: `min(1, 2·P(X ≤ min(b, c)))`, `X ~ Bin(b + c, ½)`; 1 when
    /// `b = c = 0`.
    pub exact_p_value: f64,
    /// `(|b − c| − 1)² / (b + c)`; `None` when `b + c = 0` (statsmodels: NaN).
    pub chi2: Option<f64>,
    /// Its p-value from the chi-square distribution with one degree of freedom.
    pub chi2_p_value: Option<f64>,
}

/// McNemar's test on `b` (baseline only) and `c` (candidate only).
///
/// ```
/// use mlprobe_core::paired::mcnemar;
/// // statsmodels 0.14: mcnemar([[0, 3], [10, 0]]) → pvalue 0.0922852 (exact);
/// // exact=False → statistic 36/13, pvalue 0.0961
/// let m = mcnemar(3, 10);
/// assert!((m.exact_p_value - 0.092285156250).abs() < 1e-12);
/// assert!((m.chi2.unwrap() - 36.0 / 13.0).abs() < 1e-15);
/// ```
pub fn mcnemar(b: u64, c: u64) -> McNemar {
    let n = b.saturating_add(c);
    let exact_p_value = (2.0 * binomial_cdf_half(b.min(c), n)).min(1.0);
    let chi2 = (n > 0).then(|| {
        let diff = b.abs_diff(c) as f64 - 1.0;
        diff * diff / n as f64
    });
    McNemar {
        exact_p_value,
        chi2,
        chi2_p_value: chi2.map(|x| chi2_sf(x, 1.0)),
    }
}

/// The Wilson score interval of `k` successes in `n` trials at the normal quantile `z`.
fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    let (k, n) = (k as f64, n as f64);
    let p = k / n;
    let z2 = z * z;
    let centre = (k + z2 / 2.0) / (n + z2);
    let half = z * libm::sqrt(p * (1.0 - p) * n + z2 / 4.0) / (n + z2);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// A difference with its confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DifferenceCi {
    /// The point estimate, candidate minus baseline.
    pub estimate: f64,
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

/// The `1 − alpha` confidence interval of candidate accuracy minus baseline accuracy by
/// Newcombe's hybrid score method for paired proportions (method 10 of Newcombe 1998, *Stat
/// Med* 17:2635–2650; R's `contingencytables::Newcombe_square_and_add_CI_paired_2x2` and
/// `ratesci::moverpairci(type = "wilson", corc = TRUE)` compute the same).
///
/// With `p₁`, `p₂` the baseline's and the candidate's accuracy and `(l₁, u₁)`, `(l₂, u₂)` their
/// Wilson intervals (no continuity correction), `D = ad − bc` corrected to `C = D − n/2` when
/// `D > n/2`, 0 when `0 ≤ D ≤ n/2`, `D` when negative, and `φ = C / √((a+b)(c+d)(a+c)(b+d))`
/// (0 when a margin is 0; without the correction, Newcombe's method 8, the interval of
/// 27 both right and 27 both wrong collapses to `[0, 0]`):
/// `low = p₂ − p₁ − √((p₂ − l₂)² − 2φ(p₂ − l₂)(u₁ − p₁) + (u₁ − p₁)²)`,
/// `high = p₂ − p₁ + √((u₂ − p₂)² − 2φ(u₂ − p₂)(p₁ − l₁) + (p₁ − l₁)²)`.
pub fn newcombe(counts: &PairedCounts, alpha: f64) -> Result<DifferenceCi, AbError> {
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(AbError::AlphaOutOfRange);
    }
    let n = counts.n();
    if n == 0 {
        return Err(AbError::Empty);
    }
    let z = norm_ppf(1.0 - alpha / 2.0);
    let (k1, k2) = (counts.baseline_correct(), counts.candidate_correct());
    let (p1, p2) = (k1 as f64 / n as f64, k2 as f64 / n as f64);
    let (l1, u1) = wilson(k1, n, z);
    let (l2, u2) = wilson(k2, n, z);
    let [a, b, c, d] = [
        counts.both_right,
        counts.baseline_only,
        counts.candidate_only,
        counts.both_wrong,
    ]
    .map(|x| x as f64);
    let margins = (a + b) * (c + d) * (a + c) * (b + d);
    let d_ = a * d - b * c;
    let half_n = n as f64 / 2.0;
    let corrected = if d_ > half_n {
        d_ - half_n
    } else if d_ >= 0.0 {
        0.0
    } else {
        d_
    };
    let phi = if margins > 0.0 {
        corrected / libm::sqrt(margins)
    } else {
        0.0
    };
    let spread = |x: f64, y: f64| libm::sqrt((x * x - 2.0 * phi * x * y + y * y).max(0.0));
    // (c − b) / n: exact where p₂ − p₁ may round.
    let estimate = (c - b) / n as f64;
    Ok(DifferenceCi {
        estimate,
        low: (estimate - spread(p2 - l2, u1 - p1)).max(-1.0),
        high: (estimate + spread(u2 - p2, p1 - l1)).min(1.0),
    })
}

/// The paired comparison of a candidate with a baseline, and its verdict.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Comparison {
    /// The table it came from.
    pub counts: PairedCounts,
    /// McNemar's test.
    pub mcnemar: McNemar,
    /// Candidate minus baseline accuracy, with its `1 − alpha` interval ([`newcombe`]).
    pub difference: DifferenceCi,
    /// The significance level.
    pub alpha: f64,
    /// The non-inferiority margin.
    pub margin: f64,
    /// The interval's lower end is above `−margin`.
    pub non_inferior: bool,
    /// McNemar's exact test rejects at `alpha` and the baseline wins more discordant rows.
    pub significantly_worse: bool,
}

impl Comparison {
    /// The candidate may replace the baseline: non-inferior and not significantly worse.
    pub fn passed(&self) -> bool {
        self.non_inferior && !self.significantly_worse
    }
}

/// McNemar's test, Newcombe's interval and the non-inferiority verdict at `margin` (an
/// accuracy difference in `[0, 1)`, e.g. 0.01 for one point).
pub fn compare(counts: &PairedCounts, alpha: f64, margin: f64) -> Result<Comparison, AbError> {
    if !(0.0..1.0).contains(&margin) {
        return Err(AbError::MarginOutOfRange);
    }
    let difference = newcombe(counts, alpha)?;
    let mcnemar = mcnemar(counts.baseline_only, counts.candidate_only);
    Ok(Comparison {
        counts: *counts,
        mcnemar,
        difference,
        alpha,
        margin,
        non_inferior: difference.low > -margin,
        significantly_worse: mcnemar.exact_p_value < alpha
            && counts.baseline_only > counts.candidate_only,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_fills_the_table_and_agreement() {
        let mut t = PairedCounts::new();
        for (label, base, cand) in [(0, 0, 0), (1, 1, 0), (2, 0, 2), (1, 0, 2), (1, 0, 0)] {
            t.record(label, base, cand);
        }
        assert_eq!(
            (
                t.both_right,
                t.baseline_only,
                t.candidate_only,
                t.both_wrong
            ),
            (1, 1, 1, 2)
        );
        // Same prediction: rows 1 (0, 0) and 5 (0, 0, both wrong).
        assert_eq!(t.same_prediction, 2);
        assert_eq!(t.n(), 5);
        let mut u = t;
        u.merge(&t);
        assert_eq!(
            (u.n(), u.same_prediction, u.difference()),
            (10, 4, Some(0.0))
        );
        assert_eq!(PairedCounts::new().agreement(), None);
    }

    #[test]
    fn binomial_cdf_edges() {
        assert_eq!(binomial_cdf_half(0, 0), 1.0);
        assert_eq!(binomial_cdf_half(5, 5), 1.0);
        // P(X ≤ 0) = 2^-n, exactly representable.
        assert_eq!(binomial_cdf_half(0, 10), 1.0 / 1024.0);
        // P(X ≤ 2), n = 5: (1 + 5 + 10) / 32.
        assert!((binomial_cdf_half(2, 5) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn mcnemar_edges_follow_statsmodels() {
        // b = c = 0: exact p 1; the chi-square statistic 0/0 is NaN in statsmodels.
        let m = mcnemar(0, 0);
        assert_eq!((m.exact_p_value, m.chi2, m.chi2_p_value), (1.0, None, None));
        // b = c: (0 − 1)² / (b + c), statsmodels' formula as written.
        assert_eq!(mcnemar(4, 4).chi2, Some(1.0 / 8.0));
        assert_eq!(mcnemar(4, 4).exact_p_value, 1.0);
        // Symmetric in b and c.
        assert_eq!(mcnemar(2, 9), mcnemar(9, 2));
    }

    #[test]
    fn newcombe_stays_in_range_and_is_not_degenerate() {
        // Identical models: every row concordant, the interval still has width.
        let ci = newcombe(&PairedCounts::from_table(50, 0, 0, 0), 0.05).unwrap();
        assert_eq!(ci.estimate, 0.0);
        assert!(ci.low < 0.0 && ci.high > 0.0, "{ci:?}");
        let ci = newcombe(&PairedCounts::from_table(0, 0, 10, 0), 0.05).unwrap();
        assert!(ci.high <= 1.0 && ci.low > 0.0, "{ci:?}");
        assert_eq!(newcombe(&PairedCounts::new(), 0.05), Err(AbError::Empty));
        assert_eq!(
            newcombe(&PairedCounts::from_table(1, 0, 0, 0), 1.0),
            Err(AbError::AlphaOutOfRange)
        );
    }

    #[test]
    fn verdicts() {
        // Candidate much worse: 30 baseline-only rows against 5.
        let c = compare(&PairedCounts::from_table(100, 30, 5, 10), 0.05, 0.01).unwrap();
        assert!(c.significantly_worse && !c.non_inferior && !c.passed());
        // Equal models on many rows: non-inferior at a 2-point margin.
        let c = compare(&PairedCounts::from_table(5000, 40, 40, 200), 0.05, 0.02).unwrap();
        assert!(c.non_inferior && !c.significantly_worse && c.passed());
        assert_eq!(
            compare(&PairedCounts::from_table(1, 0, 0, 0), 0.05, 1.0).map(|c| c.margin),
            Err(AbError::MarginOutOfRange)
        );
        assert!(compare(&PairedCounts::from_table(1, 0, 0, 0), 0.05, f64::NAN).is_err());
    }
}
