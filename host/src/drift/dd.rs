//! Double-double arithmetic (an unevaluated sum `hi + lo` of two `f64`, about 106 bits), just
//! what [`smirnov`](super::ks::smirnov) needs: scipy computes the one-sided Kolmogorov–Smirnov
//! sum in it (xsf's `cephes/dd_real.h`, after Hida, Li and Bailey's QD library, "Library for
//! double-double and quad-double arithmetic", 2007), because the terms of that sum are
//! binomial coefficients near `2^n` times powers near `2^-n`.
//!
//! Hand-written rather than a crate: the operations are a few lines each (Knuth's two-sum,
//! the FMA two-product), and the ones xsf relies on (`frexp`, `ldexp`, `floor` of a
//! double-double) are not in the double-double crates.

use std::ops::{Add, Div, Mul, Neg, Sub};

/// `hi + lo` with `|lo| ≤ ulp(hi) / 2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dd {
    /// The leading part: the value rounded to `f64`.
    pub hi: f64,
    /// The rest.
    pub lo: f64,
}

/// `a + b` as `s + e` exactly, when `|a| ≥ |b|`.
fn quick_two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    Dd {
        hi: s,
        lo: b - (s - a),
    }
}

/// `a + b` as `s + e` exactly (Knuth).
fn two_sum(a: f64, b: f64) -> Dd {
    let s = a + b;
    let bb = s - a;
    Dd {
        hi: s,
        lo: (a - (s - bb)) + (b - bb),
    }
}

/// `a · b` as `p + e` exactly (with a fused multiply-add).
fn two_prod(a: f64, b: f64) -> Dd {
    let p = a * b;
    Dd {
        hi: p,
        lo: a.mul_add(b, -p),
    }
}

/// `x · 2^e` without overflow in the scale factor (as C's `ldexp`, in steps).
pub fn ldexp(mut x: f64, mut e: i32) -> f64 {
    while e > 1000 {
        x *= f64::powi(2.0, 1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= f64::powi(2.0, -1000);
        e += 1000;
    }
    x * f64::powi(2.0, e)
}

/// C's `frexp`: `x = m · 2^e` with `0.5 ≤ |m| < 1` (0, infinities and NaN as they are, `e = 0`).
pub fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 || !x.is_finite() {
        return (x, 0);
    }
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(x * f64::powi(2.0, 64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, biased - 1022)
}

impl Dd {
    /// `x` exactly.
    pub const fn new(x: f64) -> Self {
        Self { hi: x, lo: 0.0 }
    }

    /// `frexp` of the leading part, the same scale applied to the rest.
    pub fn frexp(self) -> (Self, i32) {
        let (hi, e) = frexp(self.hi);
        (
            Self {
                hi,
                lo: ldexp(self.lo, -e),
            },
            e,
        )
    }

    /// `self · 2^e`.
    pub fn ldexp(self, e: i32) -> Self {
        Self {
            hi: ldexp(self.hi, e),
            lo: ldexp(self.lo, e),
        }
    }

    /// The largest integer not above `self`.
    pub fn floor(self) -> Self {
        let hi = self.hi.floor();
        if hi == self.hi {
            quick_two_sum(hi, self.lo.floor())
        } else {
            Self { hi, lo: 0.0 }
        }
    }

    /// Both parts finite.
    pub fn is_finite(self) -> bool {
        self.hi.is_finite()
    }
}

impl Add for Dd {
    type Output = Dd;
    /// QD's IEEE-style addition (accurate also under cancellation).
    fn add(self, b: Dd) -> Dd {
        let s = two_sum(self.hi, b.hi);
        let t = two_sum(self.lo, b.lo);
        let s = quick_two_sum(s.hi, s.lo + t.hi);
        quick_two_sum(s.hi, s.lo + t.lo)
    }
}

impl Add<f64> for Dd {
    type Output = Dd;
    fn add(self, b: f64) -> Dd {
        let s = two_sum(self.hi, b);
        quick_two_sum(s.hi, s.lo + self.lo)
    }
}

impl Neg for Dd {
    type Output = Dd;
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl Sub for Dd {
    type Output = Dd;
    fn sub(self, b: Dd) -> Dd {
        self + (-b)
    }
}

impl Sub<f64> for Dd {
    type Output = Dd;
    fn sub(self, b: f64) -> Dd {
        self + (-b)
    }
}

impl Mul for Dd {
    type Output = Dd;
    fn mul(self, b: Dd) -> Dd {
        let p = two_prod(self.hi, b.hi);
        quick_two_sum(p.hi, p.lo + (self.hi * b.lo + self.lo * b.hi))
    }
}

impl Mul<f64> for Dd {
    type Output = Dd;
    fn mul(self, b: f64) -> Dd {
        let p = two_prod(self.hi, b);
        quick_two_sum(p.hi, p.lo + self.lo * b)
    }
}

impl Div for Dd {
    type Output = Dd;
    /// QD's accurate division: three quotient digits.
    fn div(self, b: Dd) -> Dd {
        let q1 = self.hi / b.hi;
        let r = self - b * q1;
        let q2 = r.hi / b.hi;
        let r = r - b * q2;
        let q3 = r.hi / b.hi;
        quick_two_sum(q1, q2) + q3
    }
}

impl Div<f64> for Dd {
    type Output = Dd;
    fn div(self, b: f64) -> Dd {
        self / Dd::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_third_to_106_bits() {
        let third = Dd::new(1.0) / 3.0;
        // 3 · (1/3) − 1 in double-double is below 2⁻¹⁰⁴.
        let err = third * 3.0 - 1.0;
        assert!(err.hi.abs() < 1e-31, "{err:?}");
        assert!(third.lo != 0.0);
    }

    #[test]
    fn frexp_ldexp_floor() {
        assert_eq!(frexp(8.0), (0.5, 4));
        assert_eq!(frexp(-0.75), (-0.75, 0));
        assert_eq!(frexp(f64::MIN_POSITIVE / 4.0), (0.5, -1023));
        assert_eq!(ldexp(0.5, 1100), f64::powi(2.0, 1000) * f64::powi(2.0, 99));
        let x = Dd {
            hi: 3.0,
            lo: -1e-20,
        };
        assert_eq!(x.floor(), Dd::new(2.0));
        assert_eq!(Dd::new(2.5).floor(), Dd::new(2.0));
    }
}
