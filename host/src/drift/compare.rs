//! The statistics of one column, reference against current: for numbers the KS test, the
//! Wasserstein-1 distance and PSI on the reference's deciles; for categories the chi-square
//! test of homogeneity and PSI over the categories.

use super::column::{Grid, Numbers};
use super::ks;
use mlprobe_core::expect::psi;
use mlprobe_core::special::chi2_sf;

/// A column's numbers once the scan ended: sorted values, or a sketch.
#[derive(Clone, Debug)]
pub enum Side {
    /// Every value, sorted.
    Exact(Vec<f64>),
    /// The sketch's non-empty bins, in order (`min`, `max`, `count`).
    Binned(Vec<(f64, f64, u64)>),
}

impl Side {
    /// From a scan's numbers.
    pub fn new(numbers: Numbers) -> Self {
        match numbers {
            Numbers::Exact(mut v) => {
                v.sort_unstable_by(f64::total_cmp);
                Side::Exact(v)
            }
            Numbers::Binned(Grid { bins, .. }) => Side::Binned(
                bins.iter()
                    .filter(|b| b.count > 0)
                    .map(|b| (b.min, b.max, b.count))
                    .collect(),
            ),
        }
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        match self {
            Side::Exact(v) => v.len() as u64,
            Side::Binned(b) => b.iter().map(|b| b.2).sum(),
        }
    }

    /// No value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest share of the values in one sketch bin (0 when exact): the most the
    /// empirical CDF can be off by between two known points.
    pub fn bin_mass(&self) -> f64 {
        match self {
            Side::Exact(_) => 0.0,
            Side::Binned(b) => {
                let n = self.len() as f64;
                b.iter().map(|b| b.2).max().map_or(0.0, |m| m as f64 / n)
            }
        }
    }

    /// As bins (an exact side: one bin per distinct value).
    fn bins(&self) -> Vec<(f64, f64, u64)> {
        match self {
            Side::Binned(b) => b.clone(),
            Side::Exact(v) => {
                let mut out: Vec<(f64, f64, u64)> = Vec::new();
                for &x in v {
                    match out.last_mut() {
                        Some(last) if last.0 == x => last.2 += 1,
                        _ => out.push((x, x, 1)),
                    }
                }
                out
            }
        }
    }

    /// Smallest and largest value.
    pub fn range(&self) -> Option<(f64, f64)> {
        match self {
            Side::Exact(v) => Some((*v.first()?, *v.last()?)),
            Side::Binned(b) => Some((b.first()?.0, b.last()?.1)),
        }
    }

    /// How many values are `≤ x`: exact, or for a sketch the bins below plus a linear share of
    /// the bin that straddles `x`.
    pub fn count_le(&self, x: f64) -> f64 {
        match self {
            Side::Exact(v) => v.partition_point(|&y| y <= x) as f64,
            Side::Binned(b) => {
                let mut c = 0.0;
                for &(lo, hi, n) in b {
                    if hi <= x {
                        c += n as f64;
                    } else if lo <= x {
                        c += n as f64 * (x - lo) / (hi - lo);
                    } else {
                        break;
                    }
                }
                c
            }
        }
    }

    /// `numpy.quantile(values, q)` (method "linear": `h = (n − 1)·q`, numpy's two-sided
    /// lerp). For a sketch, the order statistic at rank `h` estimated linearly within its bin.
    pub fn quantile(&self, q: f64) -> f64 {
        match self {
            Side::Exact(v) => {
                let n = v.len();
                let h = (n as f64 - 1.0) * q;
                if h >= n as f64 - 1.0 {
                    return v[n - 1];
                }
                let lo = h.floor();
                let gamma = h - lo;
                let (a, b) = (v[lo as usize], v[lo as usize + 1]);
                let diff = b - a;
                if gamma >= 0.5 {
                    b - diff * (1.0 - gamma)
                } else {
                    a + diff * gamma
                }
            }
            Side::Binned(bins) => {
                let h = (self.len() as f64 - 1.0) * q;
                let mut start = 0.0;
                for &(lo, hi, n) in bins {
                    let n = n as f64;
                    if h < start + n {
                        return if n <= 1.0 {
                            lo
                        } else {
                            lo + (hi - lo) * ((h - start) / (n - 1.0)).min(1.0)
                        };
                    }
                    start += n;
                }
                bins.last().map_or(f64::NAN, |b| b.1)
            }
        }
    }
}

/// An estimate and the most it can be off by (0 when both sides are exact).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Bounded {
    /// The value (exact, or the midpoint of the bounds).
    pub value: f64,
    /// Half the width of the bounds: `|value − exact| ≤ error`.
    pub error: f64,
}

/// The numeric statistics of one column.
#[derive(Clone, Debug, PartialEq)]
pub struct NumericStats {
    /// KS statistic.
    pub ks: Bounded,
    /// `kstwo.sf` at the statistic.
    pub p_value: f64,
    /// The p-values at the statistic's bounds: `[sf(D + error), sf(D − error)]`.
    pub p_value_range: [f64; 2],
    /// Wasserstein-1 distance.
    pub wasserstein: Bounded,
    /// PSI on the reference's deciles.
    pub psi: f64,
    /// The reference's deciles (the 9 inner edges of the PSI bins).
    pub deciles: Vec<f64>,
}

/// KS, Wasserstein-1 and PSI of two non-empty sides.
pub fn numeric(reference: &Side, current: &Side) -> NumericStats {
    let (n1, n2) = (reference.len(), current.len());
    let (ks_stat, wasserstein) = match (reference, current) {
        (Side::Exact(a), Side::Exact(b)) => (
            Bounded {
                value: ks::ks_statistic(a, b).unwrap_or(f64::NAN),
                error: 0.0,
            },
            Bounded {
                value: ks::wasserstein(a, b).unwrap_or(f64::NAN),
                error: 0.0,
            },
        ),
        _ => envelope(&reference.bins(), n1, &current.bins(), n2),
    };
    let p_value = ks::ks_2samp_p_value(ks_stat.value, n1, n2);
    let p_value_range = [
        ks::ks_2samp_p_value((ks_stat.value + ks_stat.error).min(1.0), n1, n2),
        ks::ks_2samp_p_value((ks_stat.value - ks_stat.error).max(0.0), n1, n2),
    ];
    let deciles: Vec<f64> = (1..10)
        .map(|k| reference.quantile(f64::from(k) / 10.0))
        .collect();
    let psi = decile_psi(reference, current, &deciles);
    NumericStats {
        ks: ks_stat,
        p_value,
        p_value_range,
        wasserstein,
        psi,
        deciles,
    }
}

/// Counts in the bins `(-∞, e₁], (e₁, e₂], …, (e₉, ∞)` (rounded for a sketch).
pub fn bin_counts(side: &Side, edges: &[f64]) -> Vec<u64> {
    let mut below = 0.0;
    let mut out = Vec::with_capacity(edges.len() + 1);
    for &e in edges {
        let c = side.count_le(e);
        out.push((c - below).round().max(0.0) as u64);
        below = c;
    }
    out.push((side.len() as f64 - below).round().max(0.0) as u64);
    out
}

/// PSI of `current` against `reference` on the bins the deciles make (right-closed, open at
/// both ends), each proportion floored at `PSI_EPSILON` (core's [`psi`]).
fn decile_psi(reference: &Side, current: &Side, deciles: &[f64]) -> f64 {
    let r = bin_counts(reference, deciles);
    let n: u64 = r.iter().sum();
    let weights: Vec<f64> = r.iter().map(|&c| c as f64 / n as f64).collect();
    psi(&bin_counts(current, deciles), &weights).unwrap_or(f64::NAN)
}

/// KS statistic and Wasserstein-1 distance when a side is a sketch, with bounds.
///
/// Each side is bins `[min, max]` with counts. At any `x`, its ECDF lies between
/// `F_lo(x)` (the bins with `max ≤ x`) and `F_hi(x)` (the bins with `min ≤ x`), both constant
/// between consecutive bin ends. So on each such interval `|F − G|` is at most
/// `max(F_hi − G_lo, G_hi − F_lo)` and at least `max(F_lo − G_hi, G_lo − F_hi, 0)`: the sup
/// (KS) and the integral (Wasserstein-1) of those bound the exact ones. For an exact side
/// `F_lo = F_hi`, so two exact sides give the exact statistics.
fn envelope(a: &[(f64, f64, u64)], na: u64, b: &[(f64, f64, u64)], nb: u64) -> (Bounded, Bounded) {
    let mut points: Vec<f64> = a
        .iter()
        .chain(b)
        .flat_map(|&(lo, hi, _)| [lo, hi])
        .collect();
    points.sort_unstable_by(f64::total_cmp);
    points.dedup();
    let (na, nb) = (na as f64, nb as f64);
    // Cumulative counts of bins with min ≤ x (hi) and max ≤ x (lo), by two pointers each.
    struct Walk<'a> {
        bins: &'a [(f64, f64, u64)],
        by_min: usize,
        by_max: usize,
        hi: u64,
        lo: u64,
    }
    impl Walk<'_> {
        fn at(&mut self, x: f64) -> (u64, u64) {
            while self.by_min < self.bins.len() && self.bins[self.by_min].0 <= x {
                self.hi += self.bins[self.by_min].2;
                self.by_min += 1;
            }
            while self.by_max < self.bins.len() && self.bins[self.by_max].1 <= x {
                self.lo += self.bins[self.by_max].2;
                self.by_max += 1;
            }
            (self.lo, self.hi)
        }
    }
    let mut wa = Walk {
        bins: a,
        by_min: 0,
        by_max: 0,
        hi: 0,
        lo: 0,
    };
    let mut wb = Walk {
        bins: b,
        by_min: 0,
        by_max: 0,
        hi: 0,
        lo: 0,
    };
    let (mut d_lo, mut d_hi) = (0.0f64, 0.0f64);
    let (mut w_lo, mut w_hi) = (ks::Neumaier::default(), ks::Neumaier::default());
    for (k, &x) in points.iter().enumerate() {
        let (fl, fh) = wa.at(x);
        let (gl, gh) = wb.at(x);
        let (fl, fh, gl, gh) = (
            fl as f64 / na,
            fh as f64 / na,
            gl as f64 / nb,
            gh as f64 / nb,
        );
        let upper = (fh - gl).max(gh - fl);
        let lower = (fl - gh).max(gl - fh).max(0.0);
        d_hi = d_hi.max(upper);
        d_lo = d_lo.max(lower);
        if let Some(&next) = points.get(k + 1) {
            w_hi.add(upper * (next - x));
            w_lo.add(lower * (next - x));
        }
    }
    let mid = |lo: f64, hi: f64| Bounded {
        value: (lo + hi) / 2.0,
        error: (hi - lo) / 2.0,
    };
    (mid(d_lo, d_hi), mid(w_lo.total(), w_hi.total()))
}

/// The chi-square test of homogeneity of one column's categories.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Chi2 {
    /// Pearson's statistic (with Yates' correction when `dof` is 1).
    pub statistic: f64,
    /// `chi2.sf(statistic, dof)`.
    pub p_value: f64,
    /// Degrees of freedom: categories − 1.
    pub dof: u64,
    /// Whether Yates' continuity correction was applied (`dof == 1`, as scipy).
    pub yates: bool,
}

/// `scipy.stats.chi2_contingency([reference, current])` (scipy 1.17, `stats/contingency.py`)
/// on the 2 × k table of counts, every category present on one side at least:
/// expected `row · column / total`; `dof = k − 1`; with `dof == 0` statistic 0 and p-value 1;
/// with `dof == 1` Yates' correction moves each observed count toward its expected one by
/// `min(0.5, |expected − observed|)`; then Pearson's `Σ (o − e)² / e` and `chi2.sf`.
pub fn chi2_homogeneity(reference: &[u64], current: &[u64]) -> Chi2 {
    let k = reference.len();
    let dof = k.saturating_sub(1) as u64;
    if dof == 0 {
        return Chi2 {
            statistic: 0.0,
            p_value: 1.0,
            dof,
            yates: false,
        };
    }
    let rows = [
        reference.iter().sum::<u64>() as f64,
        current.iter().sum::<u64>() as f64,
    ];
    let total = rows[0] + rows[1];
    let yates = dof == 1;
    let mut stat = ks::Neumaier::default();
    for j in 0..k {
        let col = (reference[j] + current[j]) as f64;
        for (i, &row) in rows.iter().enumerate() {
            let observed = [reference[j], current[j]][i] as f64;
            let expected = row * col / total;
            let o = if yates {
                let diff = expected - observed;
                observed + diff.abs().min(0.5) * diff.signum() * f64::from(u8::from(diff != 0.0))
            } else {
                observed
            };
            stat.add((o - expected) * (o - expected) / expected);
        }
    }
    let statistic = stat.total();
    Chi2 {
        statistic,
        p_value: chi2_sf(statistic, dof as f64),
        dof,
        yates,
    }
}

/// PSI over categories: the reference's proportions against the current's counts, both
/// floored at `PSI_EPSILON` (core's [`psi`]).
pub fn category_psi(reference: &[u64], current: &[u64]) -> f64 {
    let n: u64 = reference.iter().sum();
    let weights: Vec<f64> = reference.iter().map(|&c| c as f64 / n as f64).collect();
    psi(current, &weights).unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            ((got - want) / want).abs() <= rel,
            "got {got:e}, want {want:e}"
        );
    }

    /// `scipy.stats.chi2_contingency([[10, 20, 30], [15, 15, 40]])` (scipy 1.17.1):
    /// statistic 2.3877551020408165, p-value 0.30304391468510006, dof 2.
    #[test]
    fn chi2_matches_scipy() {
        let c = chi2_homogeneity(&[10, 20, 30], &[15, 15, 40]);
        close(c.statistic, 2.387_755_102_040_816_5, 1e-14);
        close(c.p_value, 0.303_043_914_685_100_06, 1e-13);
        assert_eq!((c.dof, c.yates), (2, false));
        // chi2_contingency([[10, 20], [15, 15]]): Yates, 1.0971428571428572, 0.2948939838180841.
        let c = chi2_homogeneity(&[10, 20], &[15, 15]);
        close(c.statistic, 1.097_142_857_142_857_2, 1e-14);
        close(c.p_value, 0.294_893_983_818_084_1, 1e-13);
        assert!(c.yates);
        // One category: dof 0, statistic 0, p-value 1.
        assert_eq!(chi2_homogeneity(&[5], &[7]).p_value, 1.0);
    }

    /// numpy.quantile([1, 2, 3, 4, 10], [0.1, 0.5, 0.9]) = [1.4, 3.0, 7.6].
    #[test]
    fn deciles_as_numpy() {
        let s = Side::Exact(vec![1.0, 2.0, 3.0, 4.0, 10.0]);
        close(s.quantile(0.1), 1.4, 1e-15);
        assert_eq!(s.quantile(0.5), 3.0);
        close(s.quantile(0.9), 7.6, 1e-15);
        assert_eq!(bin_counts(&s, &[2.0, 3.5]), vec![2, 1, 2]);
    }

    #[test]
    fn the_envelope_of_two_exact_sides_is_exact() {
        let a = Side::Exact(vec![1.0, 2.0, 2.0, 3.0]);
        let b = Side::Exact(vec![2.0, 3.0, 4.0, 5.0, 6.0]);
        let (d, w) = envelope(&a.bins(), 4, &b.bins(), 5);
        assert_eq!(
            d,
            Bounded {
                value: 0.6,
                error: 0.0
            }
        );
        close(w.value, 2.0, 1e-15);
        assert_eq!(w.error, 0.0);
    }
}
