//! Fisher's exact test of a 2×2 table, one-sided, from the hypergeometric distribution.
//!
//! For the table
//!
//! |           | column 1 | column 2 |
//! |-----------|----------|----------|
//! | **row 1** | `a`      | `b`      |
//! | **row 2** | `c`      | `d`      |
//!
//! with its margins fixed, `a` follows the hypergeometric distribution of `a + c` successes
//! drawn `a + b` times from `n = a + b + c + d`. [`fisher_less`] is `P(X ≤ a)`, the p-value of
//! the alternative "the odds ratio `ad / bc` is below 1" (row 1 has a smaller share in column
//! 1 than row 2), and [`fisher_greater`] is `P(X ≥ a)`: `scipy.stats.fisher_exact(table,
//! alternative="less")` and `alternative="greater"` (scipy 1.17), the tables with an empty row
//! or column included (their p-value is 1).
//!
//! The tail is summed exactly from its largest term outwards, each term from the previous one
//! by the ratio of consecutive probabilities, and the sum stops when a term no longer changes
//! it; the starting term is `exp` of log-binomials built on [`ln_beta`] (no cancellation of
//! large log-gammas), so a p-value keeps a relative accuracy of about 1e-12 (often 1e-14) down
//! to the smallest positive `f64`. A tail that holds the distribution's mode is computed as one
//! minus the other tail (then the p-value is above about 0.3, with the same accuracy).
//!
//! ```
//! use mlprobe_core::fisher::{fisher_greater, fisher_less};
//! // scipy.stats.fisher_exact([[3, 7], [9, 1]], alternative="less").pvalue (scipy 1.17.1)
//! let p = fisher_less([[3, 7], [9, 1]]);
//! assert!((p - 0.009_883_305_548_940_223).abs() < 1e-14);
//! assert!((fisher_greater([[3, 7], [9, 1]]) - 0.999_642_772_088_592_5).abs() < 1e-14);
//! ```

use crate::special::ln_beta;

/// `ln C(n, k)` for `k ≤ n` (`-inf` for `k > n`): `-ln(n + 1) - ln B(n - k + 1, k + 1)`.
pub fn ln_choose(n: u64, k: u64) -> f64 {
    if k > n {
        return f64::NEG_INFINITY;
    }
    if k == 0 || k == n {
        return 0.0;
    }
    let (n, k) = (n as f64, k as f64);
    -libm::log(n + 1.0) - ln_beta(n - k + 1.0, k + 1.0)
}

/// The hypergeometric distribution: `draws` items drawn without replacement from `population`
/// items of which `successes` are successes; `X` is the number of successes drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Hypergeometric {
    population: u64,
    successes: u64,
    draws: u64,
}

/// A term no longer changes a sum when it is below this share of it.
const NEGLIGIBLE: f64 = 1e-18;

impl Hypergeometric {
    /// `None` when `successes` or `draws` exceed `population`.
    pub const fn new(population: u64, successes: u64, draws: u64) -> Option<Self> {
        if successes > population || draws > population {
            None
        } else {
            Some(Self {
                population,
                successes,
                draws,
            })
        }
    }

    /// The smallest and largest possible `X`.
    pub fn support(&self) -> (u64, u64) {
        let failures = self.population - self.successes;
        (
            self.draws.saturating_sub(failures),
            self.draws.min(self.successes),
        )
    }

    /// The most likely `X`: `⌊(draws + 1)(successes + 1) / (population + 2)⌋`, inside the
    /// support.
    fn mode(&self) -> u64 {
        let m = (u128::from(self.draws) + 1) * (u128::from(self.successes) + 1)
            / (u128::from(self.population) + 2);
        let (lo, hi) = self.support();
        (m as u64).clamp(lo, hi)
    }

    /// `ln P(X = x)` (`-inf` outside the support).
    pub fn ln_pmf(&self, x: u64) -> f64 {
        let (lo, hi) = self.support();
        if x < lo || x > hi {
            return f64::NEG_INFINITY;
        }
        ln_choose(self.successes, x) + ln_choose(self.population - self.successes, self.draws - x)
            - ln_choose(self.population, self.draws)
    }

    /// `P(X = k - 1) / P(X = k)` for `lo < k ≤ hi`.
    fn ratio_down(&self, k: u64) -> f64 {
        let (n, s, d, k) = (
            self.population as f64,
            self.successes as f64,
            self.draws as f64,
            k as f64,
        );
        k * (n - s - d + k) / ((s - k + 1.0) * (d - k + 1.0))
    }

    /// `P(X = k + 1) / P(X = k)` for `lo ≤ k < hi`.
    fn ratio_up(&self, k: u64) -> f64 {
        let (n, s, d, k) = (
            self.population as f64,
            self.successes as f64,
            self.draws as f64,
            k as f64,
        );
        (s - k) * (d - k) / ((k + 1.0) * (n - s - d + k + 1.0))
    }

    /// `P(X ≤ x)` summed down from `x` (`x` in the support).
    fn lower_tail(&self, x: u64) -> f64 {
        let (lo, _) = self.support();
        let (mut sum, mut term, mut k) = (1.0f64, 1.0f64, x);
        while k > lo {
            term *= self.ratio_down(k);
            sum += term;
            k -= 1;
            if term < sum * NEGLIGIBLE {
                break;
            }
        }
        (libm::exp(self.ln_pmf(x)) * sum).min(1.0)
    }

    /// `P(X ≥ x)` summed up from `x` (`x` in the support).
    fn upper_tail(&self, x: u64) -> f64 {
        let (_, hi) = self.support();
        let (mut sum, mut term, mut k) = (1.0f64, 1.0f64, x);
        while k < hi {
            term *= self.ratio_up(k);
            sum += term;
            k += 1;
            if term < sum * NEGLIGIBLE {
                break;
            }
        }
        (libm::exp(self.ln_pmf(x)) * sum).min(1.0)
    }

    /// `P(X ≤ x)`.
    pub fn cdf(&self, x: u64) -> f64 {
        let (lo, hi) = self.support();
        if x < lo {
            0.0
        } else if x >= hi {
            1.0
        } else if x < self.mode() {
            self.lower_tail(x)
        } else {
            (1.0 - self.upper_tail(x + 1)).max(0.0)
        }
    }

    /// `P(X ≥ x)`.
    pub fn sf_inclusive(&self, x: u64) -> f64 {
        let (lo, hi) = self.support();
        if x <= lo {
            1.0
        } else if x > hi {
            0.0
        } else if x > self.mode() {
            self.upper_tail(x)
        } else {
            (1.0 - self.lower_tail(x - 1)).max(0.0)
        }
    }
}

/// The hypergeometric law of `a` in `table` (`[[a, b], [c, d]]`), margins fixed; `None` when
/// the total overflows.
fn of_table(table: [[u64; 2]; 2]) -> Option<(Hypergeometric, u64)> {
    let [[a, b], [c, d]] = table;
    let row1 = a.checked_add(b)?;
    let col1 = a.checked_add(c)?;
    let n = row1.checked_add(c.checked_add(d)?)?;
    Some((Hypergeometric::new(n, col1, row1)?, a))
}

/// One-sided Fisher exact test, alternative "odds ratio below 1": `P(X ≤ a)`, as
/// `scipy.stats.fisher_exact(table, alternative="less").pvalue`. `NaN` when the table's total
/// overflows `u64`.
pub fn fisher_less(table: [[u64; 2]; 2]) -> f64 {
    of_table(table).map_or(f64::NAN, |(h, a)| h.cdf(a))
}

/// One-sided Fisher exact test, alternative "odds ratio above 1": `P(X ≥ a)`, as
/// `scipy.stats.fisher_exact(table, alternative="greater").pvalue`. `NaN` when the table's
/// total overflows `u64`.
pub fn fisher_greater(table: [[u64; 2]; 2]) -> f64 {
    of_table(table).map_or(f64::NAN, |(h, a)| h.sf_inclusive(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) {
        let err = ((got - want) / want).abs();
        assert!(
            err <= rel,
            "got {got:e}, want {want:e} (relative error {err:e})"
        );
    }

    /// Direct sums of the probabilities (small tables only), in f64.
    fn brute(table: [[u64; 2]; 2]) -> (f64, f64) {
        let (h, a) = of_table(table).unwrap();
        let (lo, hi) = h.support();
        let p = |x: u64| libm::exp(h.ln_pmf(x));
        let less: f64 = (lo..=a).map(p).sum();
        let greater: f64 = (a..=hi).map(p).sum();
        (less.min(1.0), greater.min(1.0))
    }

    #[test]
    fn ln_choose_matches_exact_binomials() {
        assert_eq!(ln_choose(10, 0), 0.0);
        assert_eq!(ln_choose(10, 10), 0.0);
        assert_eq!(ln_choose(3, 4), f64::NEG_INFINITY);
        close(ln_choose(10, 3), libm::log(120.0), 1e-15);
        close(ln_choose(52, 5), libm::log(2_598_960.0), 1e-15);
        // C(1000, 500) = 2.7028824094543656951561469362597527549615200844654828700739e299
        close(
            ln_choose(1000, 500),
            libm::log(2.702_882_409_454_365_7) + 299.0 * core::f64::consts::LN_10,
            1e-14,
        );
    }

    #[test]
    fn tails_match_direct_sums_on_every_small_table() {
        for a in 0..7u64 {
            for b in 0..7u64 {
                for c in 0..7u64 {
                    for d in 0..7u64 {
                        let t = [[a, b], [c, d]];
                        let (less, greater) = brute(t);
                        let (l, g) = (fisher_less(t), fisher_greater(t));
                        // Both sides carry the log-binomials' rounding (about 1e-14).
                        let near = |x: f64, y: f64| (x - y).abs() <= 1e-12 * y;
                        assert!(near(l, less), "{t:?}: less {l} vs {less}");
                        assert!(near(g, greater), "{t:?}: greater {g} vs {greater}");
                    }
                }
            }
        }
    }

    #[test]
    fn published_values() {
        // scipy.stats.fisher_exact (scipy 1.17.1) on these tables:
        // [[8, 2], [1, 5]] less → 0.9991258741258742, greater → 0.024475524475524483
        close(
            fisher_less([[8, 2], [1, 5]]),
            0.999_125_874_125_874_2,
            1e-12,
        );
        close(
            fisher_greater([[8, 2], [1, 5]]),
            0.024_475_524_475_524_483,
            1e-12,
        );
        // [[0, 50], [40, 10]] less → 7.472794411214413e-19: a far tail.
        close(
            fisher_less([[0, 50], [40, 10]]),
            7.472_794_411_214_413e-19,
            1e-12,
        );
        // Empty column: p = 1 either way.
        assert_eq!(fisher_less([[5, 0], [7, 0]]), 1.0);
        assert_eq!(fisher_greater([[0, 0], [7, 3]]), 1.0);
    }

    #[test]
    fn large_tables_stay_in_range_and_ordered() {
        let t = [[90_000, 10_000], [890_000, 100_000]];
        let (l, g) = (fisher_less(t), fisher_greater(t));
        assert!((0.0..=1.0).contains(&l) && (0.0..=1.0).contains(&g));
        // The two tails overlap in P(X = a): their sum is at least 1.
        assert!(l + g >= 1.0 - 1e-12, "{l} + {g}");
        assert!(fisher_less([[u64::MAX, 1], [1, 1]]).is_nan());
    }
}
