//! Student's t and Snedecor's F distributions, for the tests of means ([`crate::means`]).
//!
//! Both are incomplete beta functions of a ratio: with `r = t²/ν`,
//! `P(|T| > |t|) = I_{1/(1+r)}(ν/2, ½)`, and with `r = d₁f/d₂`,
//! `P(F > f) = I_{1/(1+r)}(d₂/2, d₁/2)`.
//! The point `x = 1/(1+r)` is passed to [`ln_beta_tails`] together with `1 - x = r/(1+r)` and
//! both logarithms computed from `r` (`ratio_point`), never as `1 - x`: with ten million
//! degrees of freedom `x` is within `4e-7` of 1 at `t = 2`, and forming `1 - x` by
//! subtraction would keep only about nine of its digits. The quantile [`t_ppf`] is Newton's
//! method on [`t_sf`] from the Cornish–Fisher expansion (Abramowitz & Stegun 26.7.5) or, below
//! five degrees of freedom, from the Beta quantile [`beta_ppf`].
//!
//! Accuracy is about 1e-13 relative against scipy's `stats.t` and `stats.f` (Boost) from 1 to
//! 10^7 degrees of freedom (the tests below), and through the statistics they give in
//! `tests/tests/means.rs`' reference test of `ab ttest`. The noncentral t ([`nct_cdf`]) is good
//! to about 1e-12 absolute.

use crate::special::{UnitPoint, beta_ppf, ln_beta, ln_beta_tails, norm_ppf};

/// The point `x = 1/(1 + r)`, `1 - x = r/(1 + r)` and their logarithms, for `r ≥ 0`.
fn ratio_point(r: f64) -> UnitPoint {
    if r.is_infinite() {
        return UnitPoint {
            x: 0.0,
            y: 1.0,
            ln_x: f64::NEG_INFINITY,
            ln_y: 0.0,
        };
    }
    let l = libm::log1p(r);
    UnitPoint {
        x: 1.0 / (1.0 + r),
        y: r / (1.0 + r),
        ln_x: -l,
        ln_y: libm::log(r) - l,
    }
}

/// `P(|T| > |t|)` for Student's t with `df > 0` degrees of freedom (`NaN` for `NaN` or
/// `df ≤ 0`).
///
/// ```
/// use mlprobe_core::student::t_two_sided;
/// // 2 * scipy.stats.t.sf(2.0, 10) = 0.07338803477074037.
/// assert!((t_two_sided(2.0, 10.0) - 0.07338803477074037).abs() < 1e-15);
/// ```
pub fn t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t == 0.0 {
        return 1.0;
    }
    let p = ratio_point(t * t / df);
    libm::exp(ln_beta_tails(0.5 * df, 0.5, &p).0)
}

/// `P(T > t)`, the upper tail, accurate in its own tail (`t > 0`) however small.
pub fn t_sf(t: f64, df: f64) -> f64 {
    let half = 0.5 * t_two_sided(t, df);
    if t >= 0.0 { half } else { 1.0 - half }
}

/// `P(T ≤ t)`, the lower tail, accurate in its own tail (`t < 0`).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    t_sf(-t, df)
}

/// The density of Student's t.
pub fn t_pdf(t: f64, df: f64) -> f64 {
    let ln =
        -0.5 * libm::log(df) - ln_beta(0.5 * df, 0.5) - 0.5 * (df + 1.0) * libm::log1p(t * t / df);
    libm::exp(ln)
}

/// The quantile of Student's t: the `t` with `P(T ≤ t) = p` (`±∞` at 1 and 0, `NaN` outside
/// `[0, 1]` or unless `df > 0`).
///
/// ```
/// use mlprobe_core::student::t_ppf;
/// // scipy.stats.t.ppf(0.975, 10) = 2.228138851986274.
/// assert!((t_ppf(0.975, 10.0) - 2.228138851986274).abs() < 1e-14);
/// ```
pub fn t_ppf(p: f64, df: f64) -> f64 {
    if p.is_nan() || df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p == 0.0 || p == 1.0 {
        return if p == 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // The upper tail q = P(T > t) of the positive root, then the sign.
    let (q, sign) = if p > 0.5 { (1.0 - p, 1.0) } else { (p, -1.0) };
    let mut t = if df >= 5.0 {
        // Cornish–Fisher: t ≈ z + (z³ + z)/(4ν) + (5z⁵ + 16z³ + 3z)/(96ν²).
        let z = -norm_ppf(q);
        let (z2, z3) = (z * z, z * z * z);
        z + (z3 + z) / (4.0 * df) + (5.0 * z3 * z2 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
    } else {
        // I_x(ν/2, ½) = 2q at x = ν/(ν + t²).
        let x = beta_ppf(0.5 * df, 0.5, 2.0 * q);
        libm::sqrt(df * (1.0 - x) / x)
    };
    // Newton on P(T > t) - q, in the logarithm where the tail is tiny (it is convex there).
    for _ in 0..100 {
        let sf = t_sf(t, df);
        let density = t_pdf(t, df);
        if density.is_nan() || density <= 0.0 || !sf.is_finite() {
            break;
        }
        let step = if q < 1e-3 {
            // d ln S / dt = -f / S.
            (libm::log(sf) - libm::log(q)) * sf / density
        } else {
            (sf - q) / density
        };
        let next = (t + step).max(0.5 * t);
        let done = (next - t).abs() <= 1e-15 * t.abs();
        t = next;
        if done {
            break;
        }
    }
    sign * t
}

/// `P(T ≤ t)` for the noncentral t with `df > 0` degrees of freedom and noncentrality `nc`:
/// Lenth's algorithm AS 243 (Applied Statistics 38(1), 1989) as R's `pnt` has it, a
/// Poisson-weighted sum of incomplete betas to 1e-12 absolute, and the normal approximation
/// of Abramowitz & Stegun 26.7.10 beyond 4·10^5 degrees of freedom (as `pnt`). For the
/// power of t-tests ([`crate::means::t_test_power`]).
pub fn nct_cdf(t: f64, df: f64, nc: f64) -> f64 {
    if t.is_nan() || df.is_nan() || nc.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    let (tt, del, negdel) = if t >= 0.0 {
        (t, nc, false)
    } else {
        (-t, -nc, true)
    };
    if df > 4e5 || del * del > 2.0 * core::f64::consts::LN_2 * 1021.0 {
        let s = 1.0 / (4.0 * df);
        let z = (tt * (1.0 - s) - del) / libm::sqrt(1.0 + tt * tt * 2.0 * s);
        let lower = crate::special::norm_cdf(z);
        return if negdel { 1.0 - lower } else { lower };
    }
    let x = tt * tt / (tt * tt + df);
    let mut tnc = 0.0;
    if x > 0.0 {
        let lambda = del * del;
        let mut p = 0.5 * libm::exp(-0.5 * lambda);
        let mut q = libm::sqrt(2.0 / core::f64::consts::PI) * p * del;
        let mut s = 0.5 - p;
        if s < 1e-7 {
            s = -0.5 * libm::expm1(-0.5 * lambda);
        }
        let mut a = 0.5;
        let b = 0.5 * df;
        let rxb = libm::pow(1.0 - x, b);
        let albeta = 0.5 * libm::log(core::f64::consts::PI) + crate::special::ln_gamma(b)
            - crate::special::ln_gamma(0.5 + b);
        let mut xodd = crate::special::beta_inc(a, b, x);
        let mut godd = 2.0 * rxb * libm::exp(a * libm::log(x) - albeta);
        let bx = b * x;
        let mut xeven = if bx < f64::EPSILON { bx } else { 1.0 - rxb };
        let mut geven = bx * rxb;
        tnc = p * xodd + q * xeven;
        for it in 1..=1000 {
            let it = f64::from(it);
            a += 1.0;
            xodd -= godd;
            xeven -= geven;
            godd *= x * (a + b - 1.0) / a;
            geven *= x * (a + b - 0.5) / (a + 0.5);
            p *= lambda / (2.0 * it);
            q *= lambda / (2.0 * it + 1.0);
            tnc += p * xodd + q * xeven;
            s -= p;
            if s < -1e-10 || (s <= 0.0 && it > 1.0) {
                break;
            }
            if (2.0 * s * (xodd - godd)).abs() < 1e-12 {
                break;
            }
        }
    }
    tnc += crate::special::norm_cdf(-del);
    let tnc = tnc.min(1.0);
    if negdel { 1.0 - tnc } else { tnc }
}

/// `P(F > f)` for Snedecor's F with `d1, d2 > 0` degrees of freedom (`NaN` otherwise).
///
/// ```
/// use mlprobe_core::student::f_sf;
/// // scipy.stats.f.sf(3.0, 2, 20) = 0.07253815028640571.
/// assert!((f_sf(3.0, 2.0, 20.0) - 0.07253815028640571).abs() < 1e-15);
/// ```
pub fn f_sf(f: f64, d1: f64, d2: f64) -> f64 {
    if f.is_nan() || d1.is_nan() || d2.is_nan() || d1 <= 0.0 || d2 <= 0.0 {
        return f64::NAN;
    }
    if f <= 0.0 {
        return 1.0;
    }
    let p = ratio_point(d1 * f / d2);
    libm::exp(ln_beta_tails(0.5 * d2, 0.5 * d1, &p).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "got {got:e}, want {want:e}, rel {:e}",
            ((got - want) / want).abs()
        );
    }

    // scipy 1.17 (Boost): stats.t.sf(t, df), stats.t.ppf(p, df), stats.f.sf(f, d1, d2).
    #[test]
    fn matches_scipy() {
        for (t, df, sf) in [
            (2.0, 10.0, 0.036_694_017_385_370_18),
            (1.0, 1.0, 0.250_000_000_000_000_06),
            (40.0, 3.0, 1.719_034_039_457_925_3e-5),
            (2.0, 1e7, 0.022_750_145_445_921_48),
            (8.0, 30.5, 2.779_077_200_918_083e-9),
            (-1.5, 4.0, 0.896),
        ] {
            close(t_sf(t, df), sf, 1e-13);
        }
        for (p, df, t) in [
            (0.975, 10.0, 2.228_138_851_986_274),
            (0.975, 1.0, 12.706_204_736_174_694),
            (0.025, 2.5, -3.574_654_842_003_683_4),
            (0.95, 1e7, 1.644_853_779_328_401_7),
            (1e-12, 20.0, -15.151_149_592_103_09),
            (0.6, 7.0, 0.263_166_861_352_022_9),
        ] {
            close(t_ppf(p, df), t, 1e-13);
        }
        for (f, d1, d2, sf) in [
            (3.0, 2.0, 20.0, 0.072_538_150_286_405_71),
            (1.0, 5.0, 5.0, 0.5),
            (50.0, 3.0, 1e6, 2.649_578_834_383_115_7e-32),
            (0.5, 10.0, 3.5, 0.825_868_536_939_853_7),
        ] {
            close(f_sf(f, d1, d2), sf, 1e-13);
        }
    }

    // scipy 1.17 (Boost): stats.nct.cdf(t, df, nc).
    const NCT: [(f64, f64, f64, f64); 9] = [
        (1.96, 10.0, 0.5, 0.902753381690013),
        (2.0, 48.0, 2.8, 0.213554131469979),
        (-1.5, 20.0, 1.0, 0.007828612572941821),
        (3.0, 5.0, 4.0, 0.19862517694122972),
        (0.5, 100.0, 0.0, 0.6909132170845567),
        (2.5, 1000.0, 3.0, 0.30859203882823666),
        (-2.0, 30.0, -1.0, 0.17044732714457886),
        (1.0, 2.5, 0.3, 0.7108158665853472),
        (2.01, 198.0, 2.0, 0.5029591214821422),
    ];

    #[test]
    fn noncentral_t_matches_scipy() {
        for (t, df, nc, want) in NCT {
            let got = nct_cdf(t, df, nc);
            assert!(
                (got - want).abs() <= 1e-11,
                "nct_cdf({t}, {df}, {nc}) = {got:e}, want {want:e}"
            );
        }
    }

    #[test]
    fn edges() {
        assert_eq!(t_two_sided(0.0, 3.0), 1.0);
        assert_eq!(t_sf(f64::INFINITY, 3.0), 0.0);
        assert_eq!(t_ppf(0.5, 3.0), 0.0);
        assert_eq!(t_ppf(1.0, 3.0), f64::INFINITY);
        assert!(t_ppf(0.3, -1.0).is_nan() && t_sf(f64::NAN, 2.0).is_nan());
        assert_eq!(f_sf(0.0, 2.0, 3.0), 1.0);
    }
}
