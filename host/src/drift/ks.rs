//! The two-sample Kolmogorov–Smirnov test and the Wasserstein-1 distance, as scipy computes
//! them: `scipy.stats.ks_2samp(a, b, method="asymp")` (two-sided) and
//! `scipy.stats.wasserstein_distance(a, b)`.
//!
//! `ks_2samp` (scipy 1.17, `stats/_stats_py.py`): the statistic is
//! `D = max_x |F_a(x) − F_b(x)|` over the pooled values, each ECDF right-continuous
//! (`searchsorted(…, side="right") / n`). With `method="asymp"` and the two-sided alternative
//! the p-value is `kstwo.sf(D, round(en))`, `en = m·n / (m + n)` (the larger size first,
//! `numpy.round`: halves to even): the **one-sample** two-sided distribution of `D_N` at the
//! effective size `N`. `kstwo.sf` is 1 below its support (`D ≤ 0.5/N`), 0 at `D ≥ 1`, else
//! `kolmogn(N, D, cdf=False)` (`stats/_ksstats.py`): Simard and L'Ecuyer's choice among
//! Ruben–Gambino's closed forms, Durbin's matrix (Marsaglia–Tsang–Wang), Pomeranz's recursion,
//! the Pelz–Good expansion and twice the one-sided Smirnov tail (`scipy.special.smirnov`,
//! xsf's `cephes/kolmogorov.h`, computed in double-double: [`dd`](super::dd)). Each is ported
//! below, branch for branch, with the thresholds of the source.
//!
//! R. Simard, P. L'Ecuyer, "Computing the Two-Sided Kolmogorov-Smirnov Distribution", Journal
//! of Statistical Software 39(11), 2011; J. Durbin, Ann. Math. Statist. 39, 1968; G. Marsaglia,
//! W. W. Tsang, J. Wang, JSS 8(18), 2003; J. Pomeranz, CACM 17(12), 1974 (Algorithm 487);
//! W. Pelz, I. J. Good, JRSS B 38(2), 1976; P. van Mulbregt, arXiv:1802.06966 (Smirnov).

use super::dd::{Dd, ldexp};

/// `2^128` and `2^-128`: scipy's rescaling steps (`_EP128`, `_EM128`).
const E128: i32 = 128;
fn ep128() -> f64 {
    ldexp(1.0, E128)
}
fn em128() -> f64 {
    ldexp(1.0, -E128)
}

/// The two-sided p-value of `ks_2samp(method="asymp")` for statistic `d` between samples of
/// `n1` and `n2` values: `kstwo.sf(d, round(n1·n2 / (n1 + n2)))`. NaN when the effective size
/// rounds to 0 (one value on each side), as scipy.
///
/// ```
/// use mlprobe::drift::ks::ks_2samp_p_value;
/// // scipy.stats.ks_2samp(a, b, method="asymp") with len(a) = 100, len(b) = 120 and
/// // statistic 0.2: en = 54.5…, rounded to 55; scipy.stats.kstwo.sf(0.2, 55) =
/// // 0.02099707718353383.
/// let p = ks_2samp_p_value(0.2, 100, 120);
/// assert!((p - 0.020_997_077_183_533_83).abs() < 1e-14);
/// ```
pub fn ks_2samp_p_value(d: f64, n1: u64, n2: u64) -> f64 {
    let (a, b) = (n1 as f64, n2 as f64);
    let (m, n) = if a >= b { (a, b) } else { (b, a) };
    let en = m * n / (m + n);
    kstwo_sf(d, round_half_even(en))
}

/// `numpy.round` of a non-negative number: halves go to the even neighbour.
fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (r - x).abs() == 0.5 && r % 2.0 != 0.0 {
        r - 1.0
    } else {
        r
    }
}

/// `scipy.stats.kstwo.sf(d, n)`: `P(D_n ≥ d)` for the one-sample two-sided statistic.
pub fn kstwo_sf(d: f64, n: f64) -> f64 {
    if d.is_nan() || !(n >= 1.0 && n.fract() == 0.0) || n > i32::MAX as f64 {
        return f64::NAN;
    }
    if d <= 0.5 / n {
        return 1.0;
    }
    if d >= 1.0 {
        return 0.0;
    }
    kolmogn_sf(n as i64, d)
}

fn clip(p: f64) -> f64 {
    p.clamp(0.0, 1.0)
}

/// `_kolmogn(n, x, cdf=False)`.
fn kolmogn_sf(n: i64, x: f64) -> f64 {
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben–Gambino: 1/2n ≤ x ≤ 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let prob = if n <= 140 {
            let mut p = 1.0;
            for i in 1..=n {
                p *= i as f64 * (1.0 / nf) * (2.0 * t - 1.0);
            }
            p
        } else {
            (log_nfactorial_div_n_pow_n(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - prob);
    }
    if t >= nf - 1.0 {
        // Ruben–Gambino.
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        return clip(2.0 * smirnov(n, x));
    }
    let nxsquared = t * x;
    if n <= 140 {
        if nxsquared <= 0.754693 {
            return clip(1.0 - kolmogn_dmtw(n, x));
        }
        if nxsquared <= 4.0 {
            return clip(1.0 - kolmogn_pomeranz(n, x));
        }
        return clip(2.0 * smirnov(n, x));
    }
    if nxsquared >= 370.0 {
        return 0.0;
    }
    if nxsquared >= 2.2 {
        return clip(2.0 * smirnov(n, x));
    }
    let cdf = if nxsquared >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogn_dmtw(n, x)
    } else {
        kolmogn_pelz_good(nf, x)
    };
    clip(1.0 - cdf)
}

/// `log(n! / n^n)` by Stirling's series (`_log_nfactorial_div_n_pow_n`).
fn log_nfactorial_div_n_pow_n(n: f64) -> f64 {
    // scipy's literals, as written there (more digits than an f64 holds).
    #[allow(clippy::excessive_precision)]
    const STIRLING: [f64; 8] = [
        -2.955065359477124183e-2,
        6.4102564102564102564e-3,
        -1.9175269175269175269e-3,
        8.4175084175084175084e-4,
        -5.952380952380952381e-4,
        7.9365079365079365079e-4,
        -2.7777777777777777778e-3,
        8.3333333333333333333e-2,
    ];
    let rn = 1.0 / n;
    let y = rn / n;
    let poly = STIRLING.iter().fold(0.0, |acc, &c| acc * y + c);
    n.ln() / 2.0 - n + (2.0 * std::f64::consts::PI).ln() / 2.0 + rn * poly
}

/// `P(D_n ≤ d)` by Durbin's matrix, Marsaglia–Tsang–Wang's way (`_kolmogn_DMTW`).
fn kolmogn_dmtw(n: i64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut v: Vec<f64> = (1..=m).map(|j| 1.0 - h.powf(j as f64)).collect();
    let mut w = vec![0.0; m];
    let mut fac = 1.0;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powf(m as f64) - 2.0 * h.powf(m as f64);
    v[m - 1] = (1.0 + tt) * fac;
    let mut hm = vec![0.0; m * m];
    for i in 1..m {
        for (r, &wv) in (i - 1..m).zip(&w[..m - i + 1]) {
            hm[r * m + i] = wv;
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let mut pwr = vec![0.0; m * m];
    for i in 0..m {
        pwr[i * m + i] = 1.0;
    }
    let (mut nn, mut expnt, mut hexpnt) = (n, 0i32, 0i32);
    while nn > 0 {
        if nn % 2 == 1 {
            pwr = matmul(&pwr, &hm, m);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm, m);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > ep128() {
            hm.iter_mut().for_each(|x| *x /= ep128());
            hexpnt += E128;
        }
        nn /= 2;
    }
    let mut p = pwr[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < em128() {
            p *= ep128();
            expnt -= E128;
        }
    }
    if expnt != 0 {
        p = ldexp(p, expnt);
    }
    clip(p)
}

fn matmul(a: &[f64], b: &[f64], m: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * m];
    for i in 0..m {
        for k in 0..m {
            let aik = a[i * m + k];
            if aik == 0.0 {
                continue;
            }
            for j in 0..m {
                c[i * m + j] += aik * b[k * m + j];
            }
        }
    }
    c
}

/// The interval of row `i` of Pomeranz's recursion (`_pomeranz_compute_j1j2`).
fn pomeranz_j1j2(i: i64, n: i64, ll: i64, ceilf: i64, roundf: i64) -> (i64, i64) {
    let (j1, j2) = if i == 0 {
        (-ll - ceilf - 1, ll + ceilf - 1)
    } else {
        let (ip1div2, ip1mod2) = ((i + 1) / 2, (i + 1) % 2);
        if ip1mod2 == 0 {
            if ip1div2 == n + 1 {
                (n - ll - ceilf - 1, n + ll + ceilf - 1)
            } else {
                (ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1)
            }
        } else {
            (ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1)
        }
    };
    ((j1 + 2).max(0), j2.min(n))
}

/// `P(D_n ≤ x)` by Pomeranz's recursion (`_kolmogn_Pomeranz`).
fn kolmogn_pomeranz(n: i64, x: f64) -> f64 {
    let nf = n as f64;
    let t = nf * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let npwrs = (2 * (ll + 1)) as usize;
    let mut gpower = vec![0.0; npwrs];
    let mut twogpower = vec![0.0; npwrs];
    let mut onem2gpower = vec![0.0; npwrs];
    gpower[0] = 1.0;
    twogpower[0] = 1.0;
    onem2gpower[0] = 1.0;
    let mut expnt = 0i32;
    let (g_over_n, two_g_over_n, one_minus_two_g_over_n) =
        (g / nf, 2.0 * g / nf, (1.0 - 2.0 * g) / nf);
    for m in 1..npwrs {
        gpower[m] = gpower[m - 1] * g_over_n / m as f64;
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m as f64;
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m as f64;
    }
    let mut v0 = vec![0.0; npwrs];
    let mut v1 = vec![0.0; npwrs];
    v1[0] = 1.0;
    let (mut v0s, mut v1s) = (0i64, 0i64);
    let (mut j1, _) = pomeranz_j1j2(0, n, ll, ceilf, roundf);
    for i in 1..(2 * n + 2) {
        let k1 = j1;
        std::mem::swap(&mut v0, &mut v1);
        std::mem::swap(&mut v0s, &mut v1s);
        v1.fill(0.0);
        let (nj1, j2) = pomeranz_j1j2(i, n, ll, ceilf, roundf);
        j1 = nj1;
        let pwrs = if i == 1 || i == 2 * n + 1 {
            &gpower
        } else if i % 2 == 1 {
            &twogpower
        } else {
            &onem2gpower
        };
        let ln2 = j2 - k1 + 1;
        if ln2 > 0 {
            // numpy.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2]), slices clamped.
            let start = (k1 - v0s) as usize;
            let a = &v0[start.min(npwrs)..(start + ln2 as usize).min(npwrs)];
            let b = &pwrs[..(ln2 as usize).min(npwrs)];
            let conv_start = (j1 - k1) as usize;
            let conv_len = (j2 - j1 + 1).max(0) as usize;
            for (out, idx) in v1.iter_mut().zip(conv_start..conv_start + conv_len) {
                // conv[idx] = Σ a[p] · b[idx − p].
                let lo = idx.saturating_sub(b.len().saturating_sub(1));
                let hi = idx.min(a.len().saturating_sub(1));
                let mut s = 0.0;
                for p in lo..=hi {
                    s += a[p] * b[idx - p];
                }
                *out = s;
            }
            let max = v1.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if 0.0 < max && max < em128() {
                v1.iter_mut().for_each(|x| *x *= ep128());
                expnt -= E128;
            }
            v1s = v0s + j1 - k1;
        }
    }
    let mut ans = v1[(n - v1s) as usize];
    for m in 1..=n {
        if ans.abs() > ep128() {
            ans *= em128();
            expnt += E128;
        }
        ans *= m as f64;
    }
    if expnt != 0 {
        ans = ldexp(ans, expnt);
    }
    clip(ans)
}

/// Pelz and Good's approximation of `P(D_n ≤ x)` (`_kolmogn_PelzGood`).
fn kolmogn_pelz_good(n: f64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let sqrt2pi = (2.0 * PI).sqrt();
    let z = n.sqrt() * x;
    let (zsquared, zthree, zfour, zsix) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let qlog = -pi2 / 8.0 / zsquared;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -zsquared;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * zsix + 2.0 * zfour;
    let k2b = (2.0 * zfour - 5.0 * zsquared) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * zsquared) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * zsquared) / 64.0;
    let k3c = pi4 * (-60.0 * zsquared + 212.0 * zfour) / 16.0;
    let k3b = pi2 * (135.0 * zfour - 96.0 * zsix) / 4.0;
    let k3a = -30.0 * zsix - 90.0 * z.powi(8);
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let (msquared, mfour, msix) = (m * m, m.powi(4), m.powi(6));
        let qpower = q.powf((8 * kk) as f64);
        let coeffs = [
            1.0,
            k1a + k1b * msquared,
            k2a + k2b * msquared + k2c * mfour,
            k3a + k3b * msquared + k3c * mfour + k3d * msix,
        ];
        for (s, c) in k.iter_mut().zip(coeffs) {
            *s = *s * qpower + c;
        }
    }
    let div = [z, 6.0 * zfour, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (s, dv) in k.iter_mut().zip(div) {
        *s = *s * q * sqrt2pi / dv;
    }
    let q2 = (-pi2 / 2.0 / zsquared).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0, 0.0);
    for kk in (1..=maxk).rev() {
        let ks = kk as f64;
        let ksq = ks * ks;
        let qp = q2.powf(ksq);
        k2extra += ksq * qp;
        let kspi = PI * ks;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * zthree);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * zsix);
    for (i, s) in k.iter_mut().enumerate() {
        *s /= n.powf(i as f64 / 2.0);
    }
    k.iter().sum()
}

/// `scipy.special.smirnov(n, x)`: `P(D⁺_n ≥ x)`, the one-sided one-sample tail (xsf's
/// `cephes::smirnov`: Birnbaum–Tingey's sum in double-double, van Mulbregt 2018).
pub fn smirnov(n: i64, x: f64) -> f64 {
    if x.is_nan() || !(n > 0 && (0.0..=1.0).contains(&x)) {
        return f64::NAN;
    }
    if n == 1 {
        return 1.0 - x;
    }
    if x == 0.0 {
        return 1.0;
    }
    if x == 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    // modNX: floor(n·x) and its remainder, exactly.
    let nx_d = Dd::new(x) * nf;
    let floor_d = nx_d.floor();
    let mut alpha = (nx_d - floor_d).hi;
    let mut nxfl = floor_d.hi as i64;
    if alpha == 1.0 {
        nxfl += 1;
        alpha = 0.0;
    }
    let mut n1mxfl = n - nxfl - i64::from(alpha != 0.0);
    let mut n1mxceil = n - nxfl;
    if alpha == 0.0 {
        n1mxfl -= 1;
        n1mxceil += 1;
    }
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        let t = pow_d(Dd::new(1.0) + x, n - 1).hi;
        return clip(1.0 - x * t);
    }
    // MINLOG of xsf's cephes/const.h.
    if -2.0 * nf * x * x < -7.451_332_191_019_412e2 {
        return 0.0;
    }
    if nxfl >= n - 1 {
        return clip(pow_d(Dd::new(1.0) + (-x), n).hi);
    }
    if n > 1_000_000 {
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return clip(if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 - (-logp.exp_m1())
        });
    }
    let n_upper_terms = n - n1mxceil + 1;
    let use_upper =
        (n_upper_terms <= 1 && x < 0.5) || (n >= 10 && n_upper_terms <= 3 && x <= 0.5 / nf.sqrt());
    let (start, step, n_terms) = if use_upper {
        (n, -1, n - n1mxceil + 1)
    } else {
        (0, 1, n1mxfl + 1)
    };
    let vmid = n / 2;
    let mut cman = Dd::new(1.0);
    let mut cexpt = 0i32;
    let mut aj = if use_upper {
        pow_d((Dd::new(1.0) + x) / Dd::new(1.0), n - 1)
    } else {
        pow_d((Dd::new(1.0) + (-x)) / Dd::new(1.0), n) / x
    };
    let mut sum = aj;
    update_binomial(&mut cman, &mut cexpt, n, 0);
    for j in 1..n_terms {
        let v = start + j * step;
        aj = compute_av(n, x, v, cman, cexpt);
        if aj.is_finite() && aj.hi != 0.0 {
            sum = sum + aj;
        }
        if aj.hi != 0.0 {
            if (4 * (n_terms - j)) as f64 * aj.hi.abs() < f64::EPSILON * sum.hi && j != n_terms - 1
            {
                break;
            }
        } else if j > vmid {
            break;
        }
        update_binomial(&mut cman, &mut cexpt, n, j);
    }
    let prob = (sum * x).hi;
    clip(if step < 0 { 1.0 - prob } else { prob })
}

/// `C(n, j+1)` from `C(n, j)` as a mantissa and an exponent (`updateBinomial`).
fn update_binomial(cman: &mut Dd, cexpt: &mut i32, n: i64, j: i64) {
    let rat = Dd::new((n - j) as f64) / (j as f64 + 1.0);
    let (man, e) = (*cman * rat).frexp();
    *cexpt += e;
    *cman = man;
}

/// `a^m` (`pow_D`): `pow` of the leading part, corrected for the rest.
fn pow_d(a: Dd, m: i64) -> Dd {
    if m <= 0 {
        if m == 0 {
            return Dd::new(1.0);
        }
        return Dd::new(1.0) / pow_d(a, -m);
    }
    if a.hi == 0.0 {
        return Dd::new(0.0);
    }
    let mf = m as f64;
    let ans = a.hi.powf(mf);
    let r = a.lo / a.hi;
    let mut adj = mf * r;
    if adj.abs() > 1e-8 {
        if adj.abs() < 1e-4 {
            adj += (mf * r) * ((mf - 1.0) / 2.0 * r);
        } else {
            adj = (mf * r.ln_1p()).exp_m1();
        }
    }
    Dd::new(ans) + ans * adj
}

/// The largest power of two not above `x` (`nextPowerOf2`, as xsf computes it).
fn next_power_of_2(x: f64) -> f64 {
    let q = ldexp(x, 1 - 53);
    let l = (q + x).abs();
    if l == 0.0 {
        x.abs()
    } else if l.fract() == 0.0 && l < i32::MAX as f64 {
        l.trunc()
    } else {
        l
    }
}

/// `a^m` as a mantissa in [0.5, 1) and an exponent (`pow2Scaled_D`).
fn pow2_scaled_d(a: Dd, m: i64) -> (Dd, i32) {
    const SM_MAX_EXPONENT: i64 = 960;
    if m <= 0 {
        if m == 0 {
            return (Dd::new(1.0), 0);
        }
        let (ans, e1) = pow2_scaled_d(a, -m);
        let (ans, e2) = (Dd::new(1.0) / ans).frexp();
        return (ans, -e1 + e2);
    }
    let (y, ye) = a.frexp();
    if m == 1 {
        return (y, ye);
    }
    let mut max_expt = SM_MAX_EXPONENT;
    if m as f64 * (y.hi - 1.0) / y.hi < -(SM_MAX_EXPONENT as f64) * std::f64::consts::LN_2 {
        let lg2y = y.hi.ln() / std::f64::consts::LN_2;
        let lg_ans = m as f64 * lg2y;
        if lg_ans <= -(SM_MAX_EXPONENT as f64) {
            max_expt = (next_power_of_2(-(SM_MAX_EXPONENT as f64) / lg2y + 1.0) / 2.0) as i64;
        }
    }
    if m <= max_expt {
        let (ans, mut e) = pow_d(y, m).frexp();
        e += (m * ye as i64) as i32;
        return (ans, e);
    }
    let (q, r) = (m / max_expt, m % max_expt);
    let (y2r, y2r_e) = pow2_scaled_d(y, r);
    let (y2m, y2m_e) = pow2_scaled_d(y, max_expt);
    let (y2mq, mut y2mq_e) = pow2_scaled_d(y2m, q);
    let (ans, mut e) = (y2r * y2mq).frexp();
    y2mq_e += y2m_e * q as i32;
    e += y2mq_e + y2r_e;
    e += (m * ye as i64) as i32;
    (ans, e)
}

/// One term `C(n, v) · (1 − x − v/n)^(n−v) · (x + v/n)^(v−1)` (`computeAv`).
fn compute_av(n: i64, x: f64, v: i64, cman: Dd, cexpt: i32) -> Dd {
    let nf = n as f64;
    let t2x = Dd::new((n - v) as f64) / nf - x;
    let (t2, t2e) = pow2_scaled_d(t2x, n - v);
    let t1x = Dd::new(v as f64) / nf + x;
    let (t1, t1e) = pow2_scaled_d(t1x, v - 1);
    let ans = t1 * t2 * cman;
    ans.ldexp(cexpt + t1e + t2e)
}

/// The two-sided statistic `D` of `ks_2samp` between two **sorted** samples without NaN:
/// `max(max(F_a − F_b), clip(−min(F_a − F_b), 0, 1))`, each difference `i/n_a − j/n_b` in
/// `f64` as numpy computes it. `None` when a sample is empty.
pub fn ks_statistic(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut max, mut min) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < a.len() || j < b.len() {
        // The next pooled value, and every copy of it on both sides.
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while a.get(i).is_some_and(|&x| x <= v) {
            i += 1;
        }
        while b.get(j).is_some_and(|&y| y <= v) {
            j += 1;
        }
        let diff = i as f64 / na - j as f64 / nb;
        max = max.max(diff);
        min = min.min(diff);
    }
    Some(max.max((-min).clamp(0.0, 1.0)))
}

/// `scipy.stats.wasserstein_distance(a, b)` between two **sorted** samples without NaN:
/// `∫ |F_a − F_b|`, summed over the gaps between consecutive pooled values (scipy's
/// `_cdf_distance(1, …)`), with compensated summation. `None` when a sample is empty.
pub fn wasserstein(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut sum = Neumaier::default();
    let mut prev: Option<(f64, f64)> = None; // (value, |F_a − F_b| just after it)
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        if let Some((u, gap)) = prev {
            sum.add(gap * (v - u));
        }
        while a.get(i).is_some_and(|&x| x <= v) {
            i += 1;
        }
        while b.get(j).is_some_and(|&y| y <= v) {
            j += 1;
        }
        prev = Some((v, (i as f64 / na - j as f64 / nb).abs()));
    }
    Some(sum.total())
}

/// Neumaier's compensated sum (Kahan–Babuška): the sum of many small non-negative terms to
/// about one rounding, as numpy's pairwise `sum` nearly is.
#[derive(Clone, Copy, Debug, Default)]
pub struct Neumaier {
    sum: f64,
    c: f64,
}

impl Neumaier {
    /// Adds `x`.
    pub fn add(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.c += (self.sum - t) + x;
        } else {
            self.c += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The sum.
    pub fn total(&self) -> f64 {
        self.sum + self.c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(got: f64, want: f64, rel: f64) {
        let err = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(
            err <= rel,
            "got {got:e}, want {want:e} (relative error {err:e})"
        );
    }

    /// `scipy.stats.kstwo.sf(d, n)`, scipy 1.17.1 (each value printed by
    /// `python -c "from scipy.stats import kstwo; print(repr(kstwo.sf(d, n)))"`), one per branch
    /// of `_kolmogn`.
    #[test]
    fn kstwo_sf_matches_scipy_on_every_branch() {
        let cases: &[(f64, f64, f64, &str)] = &[
            (0.004, 100.0, 1.0, "below the support"),
            (0.1, 7.0, 0.999_989_973_157_442_9, "Ruben-Gambino, n x <= 1"),
            (
                0.99,
                100.0,
                2.000_000_000_000_177_5e-200,
                "Ruben-Gambino, n x >= n - 1",
            ),
            (0.6, 100.0, 5.912_822_156_396_238e-35, "x >= 0.5: 2 smirnov"),
            (
                0.08,
                100.0,
                0.518_219_364_548_067_2,
                "Durbin matrix, n <= 140",
            ),
            (0.15, 100.0, 0.019_839_242_125_643_017, "Pomeranz"),
            (0.25, 100.0, 5.408_871_776_434_847e-6, "2 smirnov, n <= 140"),
            (
                0.01,
                5000.0,
                0.695_455_725_391_385_3,
                "Durbin matrix, n > 140",
            ),
            (0.015, 5000.0, 0.208_461_420_961_862_04, "Pelz-Good"),
            (
                0.03,
                5000.0,
                2.415_923_442_266_681_7e-4,
                "2 smirnov, n > 140",
            ),
            (
                0.004,
                200_000.0,
                3.314_212_822_560_255e-3,
                "2 smirnov, n > 100000",
            ),
            (
                0.0005,
                3_000_000.0,
                0.441_163_442_562_945_04,
                "Pelz-Good, n > 100000",
            ),
            (
                0.0031,
                2_000_000.0,
                4.035_083_788_824_622e-17,
                "smirnov's n > 1e6 formula",
            ),
        ];
        for &(d, n, want, branch) in cases {
            let got = kstwo_sf(d, n);
            let err = ((got - want) / want).abs();
            assert!(
                err < 1e-12,
                "{branch}: kstwo.sf({d}, {n}) = {got:e}, scipy {want:e}"
            );
        }
    }

    /// `scipy.special.smirnov(n, x)`, scipy 1.17.1.
    #[test]
    fn smirnov_matches_scipy() {
        close(smirnov(5000, 0.03), 1.207_961_721_133_340_8e-4, 1e-13);
        close(smirnov(100, 0.25), 2.704_435_888_217_423_7e-6, 1e-13);
        assert_eq!(smirnov(1, 0.3), 0.7);
    }

    /// `scipy.stats.ks_2samp([1, 2, 2, 3], [2, 3, 4, 5, 6], method="asymp")`: statistic 0.6
    /// (at 2: 3/4 − 1/5 = 0.55; at 3: 1 − 2/5 = 0.6), p-value 0.32000000000000006
    /// (`kstwo.sf(0.6, 2)`, en = 20/9 rounded to 2: Ruben–Gambino's `2(1 − 0.6)²`).
    #[test]
    fn two_sample_statistic_with_ties() {
        let (a, b) = ([1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 4.0, 5.0, 6.0]);
        close(ks_statistic(&a, &b).unwrap(), 0.6, 1e-15);
        close(ks_2samp_p_value(0.6, 4, 5), 0.320_000_000_000_000_06, 1e-15);
        assert_eq!(ks_statistic(&a, &[]), None);
        // scipy.stats.wasserstein_distance(a, b) = 1.9999999999999998:
        // 0.25 + 0.55 + 0.6 + 0.4 + 0.2.
        close(wasserstein(&a, &b).unwrap(), 2.0, 1e-15);
        assert_eq!(ks_statistic(&a, &a), Some(0.0));
    }
}
