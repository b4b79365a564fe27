//! Numbers in CSV cells: `f64` for statistics (`mlprobe expect`, `profile`), `f32` for a model's
//! features, each parsed to exactly the value `str::parse` gives.
//!
//! Most cells take a fast path (Clinger's): a decimal `[+-]digits[.digits]` whose integer
//! mantissa `m` and power of ten `10ᵏ` are both exact in the float type is `m / 10ᵏ`, one
//! correctly rounded IEEE division, hence the correctly rounded value of the decimal (W. D.
//! Clinger, "How to read floating point numbers accurately", PLDI 1990; the fast path of
//! Rust's own `dec2flt`). For `f64`: `m ≤ 2⁵³`, `k ≤ 22`; for `f32`: `m ≤ 2²⁴`, `k ≤ 10`
//! (so every integer of at most 7 digits, the pixels and counts of most tables). A cell parsed
//! as `f32` is never parsed as `f64` and rounded again: that double rounding can differ.
//!
//! Anything else (exponents, long mantissas, spaces, `inf`) goes through `str::parse`. Empty
//! cells, `NaN` (any case), `NA` and `N/A` are missing values (`NaN`).

use std::ops::{Div, Neg};
use std::str::FromStr;

/// A float a CSV cell parses to.
pub trait Number:
    Copy + Send + Sync + FromStr + Neg<Output = Self> + Div<Output = Self> + 'static
{
    /// A missing value (`NaN`).
    const MISSING: Self;
    /// Largest integer mantissa the fast path takes: every integer up to it is exact.
    const EXACT_MANTISSA: u64;
    /// The powers of ten `10⁰…10ᵏ` that are exact.
    const POW10: &'static [Self];
    /// `m` as the float (exact up to [`Number::EXACT_MANTISSA`]).
    fn from_mantissa(m: u64) -> Self;
    /// `x` rounded to the nearest value of this type (a Parquet `double` read as a model's
    /// `f32` feature, as NumPy's `astype(np.float32)` rounds it).
    fn from_f64(x: f64) -> Self;
    /// Doubles as values of this type without a copy, when they are (`f64`).
    fn of_doubles(_x: &[f64]) -> Option<&[Self]> {
        None
    }

    /// The value of `±mantissa / 10^fraction` when the fast path gives it exactly (see the
    /// [module docs](self)); `significant` counts the mantissa's digits (`u32::MAX`: too many).
    #[inline(always)]
    fn from_decimal(
        negative: bool,
        mantissa: u64,
        significant: u32,
        fraction: usize,
    ) -> Option<Self> {
        if significant == u32::MAX || mantissa > Self::EXACT_MANTISSA {
            return None;
        }
        let v = Self::from_mantissa(mantissa) / *Self::POW10.get(fraction)?;
        Some(if negative { -v } else { v })
    }
}

impl Number for f64 {
    const MISSING: Self = f64::NAN;
    const EXACT_MANTISSA: u64 = 1 << 53;
    const POW10: &'static [f64] = &[
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    #[inline(always)]
    fn from_mantissa(m: u64) -> f64 {
        m as f64
    }

    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }

    fn of_doubles(x: &[f64]) -> Option<&[f64]> {
        Some(x)
    }
}

impl Number for f32 {
    const MISSING: Self = f32::NAN;
    const EXACT_MANTISSA: u64 = 1 << 24;
    // 10¹⁰ = 2¹⁰ · 5¹⁰ with 5¹⁰ < 2²⁴.
    const POW10: &'static [f32] = &[1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10];

    #[inline(always)]
    fn from_mantissa(m: u64) -> f32 {
        m as f32
    }

    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
}

/// A decimal read from the bytes at `pos`: `[+-]digits[.digits]`, stopping at the first other
/// byte. Returns where it stopped and the parts of [`Number::from_decimal`]; `digits` counts the
/// digits and point read (a number needs a digit: more than the point).
#[derive(Clone, Copy, Debug)]
pub struct Decimal {
    /// Where the sign (if any) was.
    pub start: usize,
    /// The byte after the decimal.
    pub end: usize,
    /// A minus sign.
    pub negative: bool,
    /// The first 19 significant digits as an integer.
    pub mantissa: u64,
    /// Significant digits (`u32::MAX`: more than 19).
    pub significant: u32,
    /// Digits after the point.
    pub fraction: usize,
    /// Digits and point read, the sign excluded.
    pub len: usize,
    /// Whether there was a point.
    pub point: bool,
}

impl Decimal {
    /// Reads the decimal at `pos` of `bytes`.
    #[inline(always)]
    pub fn read(bytes: &[u8], pos: usize) -> Self {
        let n = bytes.len();
        let (mut negative, mut i) = (false, pos);
        if let Some(&b) = bytes.get(i)
            && (b == b'-' || b == b'+')
        {
            negative = b == b'-';
            i += 1;
        }
        let digits_start = i;
        let mut mantissa: u64 = 0;
        let mut significant = 0u32;
        let mut fraction = 0usize;
        let mut point = false;
        while i < n {
            let b = bytes[i];
            let d = b.wrapping_sub(b'0');
            if d < 10 {
                if significant < 19 {
                    mantissa = mantissa * 10 + u64::from(d);
                    if mantissa != 0 {
                        significant += 1;
                    }
                } else {
                    significant = u32::MAX; // too long: the slow path
                }
                fraction += usize::from(point);
            } else if b == b'.' && !point {
                point = true;
            } else {
                break;
            }
            i += 1;
        }
        Self {
            start: pos,
            end: i,
            negative,
            mantissa,
            significant,
            fraction,
            len: i - digits_start,
            point,
        }
    }

    /// Its value when it has a digit and the fast path is exact.
    #[inline(always)]
    pub fn value<T: Number>(&self) -> Option<T> {
        if self.len > usize::from(self.point) {
            T::from_decimal(
                self.negative,
                self.mantissa,
                self.significant,
                self.fraction,
            )
        } else {
            None
        }
    }
}

/// Parses a cell: `Some(NaN)` for a missing value, `None` for text that is not a number.
#[inline]
pub fn parse_number<T: Number>(cell: &[u8]) -> Option<T> {
    if cell.is_empty() {
        return Some(T::MISSING);
    }
    let d = Decimal::read(cell, 0);
    if d.end == cell.len()
        && let Some(v) = d.value()
    {
        return Some(v);
    }
    // A word (a category, a code, `true`) is no number and no missing-value marker: only
    // `inf`, `infinity` and `nan` (any case, signed) and `NA`, `N/A` start with a letter, and
    // every one of them with i or n.
    if let Some(&b) = cell.iter().find(|b| !b.is_ascii_whitespace())
        && (b >= 0x80 || (b.is_ascii_alphabetic() && !matches!(b, b'i' | b'I' | b'n' | b'N')))
    {
        return None;
    }
    let t = std::str::from_utf8(cell).ok()?.trim();
    if is_missing_text(t) {
        return Some(T::MISSING);
    }
    t.parse().ok()
}

/// Whether a cell marks a missing value: empty or blank, `NaN` (any case), `NA` or `N/A`
/// (surrounding spaces allowed). The same rule for number and text columns, so a null is the
/// same in every column of a CSV file and in a Parquet file's text.
#[inline]
pub fn is_missing(cell: &[u8]) -> bool {
    let t = cell.trim_ascii();
    t.len() <= 3 && std::str::from_utf8(t).is_ok_and(is_missing_text)
}

fn is_missing_text(t: &str) -> bool {
    t.is_empty() || t.eq_ignore_ascii_case("nan") || t == "NA" || t == "N/A"
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    fn f32_of(c: &str) -> Option<f32> {
        parse_number(c.as_bytes())
    }

    #[test]
    fn the_integer_fast_path_gives_the_float_parser_s_bits() {
        let mut cells: Vec<String> = (-1200..1200).map(|v: i32| v.to_string()).collect();
        cells.extend(
            [
                "0", "-0", "007", "9999999", "-9999999", "16777217", "12345678", "+5", "1e3", "5.",
            ]
            .map(String::from),
        );
        for c in &cells {
            let want = c.parse::<f32>().ok().map(f32::to_bits);
            assert_eq!(f32_of(c).map(f32::to_bits), want, "{c}");
        }
        // 2²⁴ + 1 is not exact in f32: the slow path rounds it (to even).
        assert!(Decimal::read(b"16777217", 0).value::<f32>().is_none());
        assert_eq!(
            Decimal::read(b"12345678", 0).value::<f32>(),
            Some(12_345_678.0)
        );
        assert!(Decimal::read(b"-", 0).value::<f32>().is_none());
        assert!(Decimal::read(b".", 0).value::<f32>().is_none());
    }

    #[test]
    fn fast_path_equals_std_parse() {
        for s in [
            "0",
            "-0",
            "1",
            "14.23",
            "-3.5",
            "+2.25",
            "0.1",
            "1065.0",
            ".5",
            "5.",
            "123456789.123",
            "0.000001",
            "9007199254740992",
            "3.14159265358979",
        ] {
            let want: f64 = s.parse().unwrap();
            let got: f64 = parse_number(s.as_bytes()).unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{s}");
        }
        for s in [
            "1e5",
            " 7 ",
            "Infinity",
            "-inf",
            "12345678901234567890.5",
            "inf",
            "0.1234567890123456789012345",
        ] {
            let want: f64 = s.trim().parse().unwrap();
            assert_eq!(parse_number(s.as_bytes()), Some(want), "{s}");
        }
        for s in ["", "NaN", "nan", "NA", "N/A", " "] {
            assert!(is_missing(s.as_bytes()), "{s:?}");
            assert!(parse_number::<f64>(s.as_bytes()).unwrap().is_nan(), "{s:?}");
            assert!(parse_number::<f32>(s.as_bytes()).unwrap().is_nan(), "{s:?}");
        }
        for s in [
            "x", "-", ".", "1.2.3", "1,2", "--1", "true", "É", " cat_1", "E5", "in", "nab",
        ] {
            assert!(!is_missing(s.as_bytes()), "{s:?}");
            assert_eq!(parse_number::<f64>(s.as_bytes()), None, "{s}");
            assert_eq!(parse_number::<f32>(s.as_bytes()), None, "{s}");
        }
    }

    /// Random decimals of every length, both types: the fast path and `str::parse` agree on
    /// every bit. Includes 17-digit decimals next to f32 rounding midpoints, where parsing
    /// as f64 and rounding to f32 would differ.
    #[test]
    fn fast_paths_match_std_parse_bit_for_bit_on_random_decimals() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
        let mut cells = vec![
            "1.0000000596046448".to_string(), // just above 1 + 2⁻²⁴, an f32 midpoint
            "0.30000001192092896".into(),
            "16777216".into(),
            "0.0000000001".into(),
        ];
        for _ in 0..200_000 {
            let digits = rng.random_range(1..=20usize);
            let mut s = String::new();
            if rng.random_range(0..4u32) == 0 {
                s.push('-');
            }
            let point = rng.random_range(0..=digits);
            for i in 0..digits {
                if i == point && i > 0 {
                    s.push('.');
                }
                s.push(char::from(b'0' + rng.random_range(0..10u8)));
            }
            cells.push(s);
        }
        for c in &cells {
            let (want32, want64) = (c.parse::<f32>().unwrap(), c.parse::<f64>().unwrap());
            assert_eq!(f32_of(c).unwrap().to_bits(), want32.to_bits(), "{c}");
            let got64: f64 = parse_number(c.as_bytes()).unwrap();
            assert_eq!(got64.to_bits(), want64.to_bits(), "{c}");
        }
        // The midpoint case is real: f64 then f32 rounds the other way.
        let c = "1.0000000596046448";
        assert_ne!(
            (c.parse::<f64>().unwrap() as f32).to_bits(),
            f32_of(c).unwrap().to_bits()
        );
    }
}
