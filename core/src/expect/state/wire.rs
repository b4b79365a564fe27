//! Serialization (serde) of the expectation states, so that the states of parts computed
//! elsewhere can be shipped as bytes and merged. Deserializing reads each state through a
//! checked mirror of its fields and rejects what no values give, so that a state from hostile
//! bytes is an error rather than a later panic:
//!
//! - [`Partial`]: the sequence of the kept values; a longer sequence than
//!   [`PARTIAL_CAPACITY`] does not deserialize.
//! - [`ColumnState`]: its fields; rejected are counts that do not add up (more missing and
//!   text values than elements, moments of another number of values) and extremes no values
//!   give.
//! - [`QuantileSketch`]: the buckets are stored sparsely, each half as the sequence of its
//!   non-zero buckets' `(index, count)` pairs in increasing index order, then the other
//!   fields. With postcard (varints) a sketch of a million normally distributed values takes
//!   6.7 KB instead of the 61 KiB in memory. Deserializing never allocates and rejects what no
//!   values give: an index past the 3,840 buckets of a half or out of order, a zero count, a
//!   window top outside the exponents of `f64`, counts that do not add up to the total,
//!   extremes that contradict the counts.
//!
//! States that deserialize one by one can still disagree with each other (counts near
//! `u64::MAX` on both sides): their merges saturate rather than overflow.

use super::{ColumnState, HALF, MIN_EXP, PARTIAL_CAPACITY, Partial, QuantileSketch, SUB, WINDOW};
use crate::moments::Moments;
use serde::de::{Error as _, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

impl Serialize for Partial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

impl<'de> Deserialize<'de> for Partial {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // More than PARTIAL_CAPACITY values are an error (`invalid_length`).
        let values = heapless::Vec::<f64, PARTIAL_CAPACITY>::deserialize(d)?;
        let mut partial = Self::new();
        for &x in &values {
            partial.push(x);
        }
        Ok(partial)
    }
}

/// The fields of [`ColumnState`] as they are serialized, checked before they become a state.
#[derive(Deserialize)]
#[serde(rename = "ColumnState")]
struct ColumnFields {
    elements: u64,
    missing: u64,
    text: u64,
    min: f64,
    max: f64,
    moments: Moments,
}

/// Whether `min` and `max` are the extremes of `n` values: ±∞ (nothing seen) when `n` is 0,
/// else two numbers in order.
fn extremes_of(n: u64, min: f64, max: f64) -> bool {
    if n == 0 {
        min == f64::INFINITY && max == f64::NEG_INFINITY
    } else {
        min <= max
    }
}

impl<'de> Deserialize<'de> for ColumnState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = ColumnFields::deserialize(d)?;
        // `numeric_count` subtracts: missing and text values are among the elements.
        let numeric = f
            .missing
            .checked_add(f.text)
            .and_then(|absent| f.elements.checked_sub(absent))
            .ok_or_else(|| {
                D::Error::custom("column state: more missing and text values than elements")
            })?;
        if f.moments.count() != numeric {
            return Err(D::Error::custom(
                "column state: moments of another number of values",
            ));
        }
        if !extremes_of(numeric, f.min, f.max) {
            return Err(D::Error::custom(
                "column state: extremes that do not fit its values",
            ));
        }
        Ok(Self {
            elements: f.elements,
            missing: f.missing,
            text: f.text,
            min: f.min,
            max: f.max,
            moments: f.moments,
        })
    }
}

/// The buckets of one half of a [`QuantileSketch`], serialized sparsely: the `(index, count)`
/// pairs of its non-zero buckets, in increasing index order.
pub(super) mod sparse {
    use super::{HALF, SeqAccess, SerializeSeq, Serializer, Visitor};
    use core::fmt;
    use serde::Deserializer;
    use serde::de::{Error, Unexpected};

    /// `QuantileSketch` serializes its halves with this (`serialize_with`).
    pub(in crate::expect::state) fn serialize<S: Serializer>(
        half: &[u64; HALF],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let nonzero = half.iter().filter(|&&c| c != 0).count();
        let mut seq = s.serialize_seq(Some(nonzero))?;
        for (i, &c) in half.iter().enumerate() {
            if c != 0 {
                // HALF = 3,840 buckets: every index fits in a u16.
                seq.serialize_element(&(i as u16, c))?;
            }
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u64; HALF], D::Error> {
        d.deserialize_seq(Buckets)
    }

    struct Buckets;

    impl<'de> Visitor<'de> for Buckets {
        type Value = [u64; HALF];

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("the (index, count) pairs of non-zero buckets, in increasing index order")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut half = [0; HALF];
            // The smallest index the next pair may have.
            let mut next = 0;
            while let Some((i, c)) = seq.next_element::<(u16, u64)>()? {
                let i = usize::from(i);
                if !(next..HALF).contains(&i) {
                    return Err(A::Error::invalid_value(
                        Unexpected::Unsigned(i as u64),
                        &"a bucket index below 3840, above the previous one",
                    ));
                }
                if c == 0 {
                    return Err(A::Error::invalid_value(
                        Unexpected::Unsigned(0),
                        &"a non-zero count",
                    ));
                }
                half[i] = c;
                next = i + 1;
            }
            Ok(half)
        }
    }
}

/// The fields of [`QuantileSketch`] as they are serialized, checked before they become a
/// sketch.
#[derive(Deserialize)]
#[serde(rename = "QuantileSketch")]
struct SketchFields {
    #[serde(deserialize_with = "sparse::deserialize")]
    pos: [u64; HALF],
    #[serde(deserialize_with = "sparse::deserialize")]
    neg: [u64; HALF],
    zero: u64,
    below: u64,
    infinite: [u64; 2],
    top: Option<i32>,
    total: u64,
    min: f64,
    max: f64,
}

impl SketchFields {
    /// What no sequence of values gives, or `None`: every method of the sketch relies on it
    /// (`quantile` on the counts adding up to the total and on ordered extremes, the window's
    /// slide on a top within the exponents of `f64`).
    fn inconsistency(&self) -> Option<&'static str> {
        let row_empty = |half: &[u64; HALF], row: usize| {
            half[row * SUB..(row + 1) * SUB].iter().all(|&c| c == 0)
        };
        match self.top {
            None => {
                if self.pos.iter().chain(&self.neg).any(|&c| c != 0) || self.below != 0 {
                    return Some("buckets but no window");
                }
            }
            Some(top) => {
                if !(MIN_EXP..=1023).contains(&top) {
                    return Some("a window top outside the exponents of f64");
                }
                // The largest magnitude is in the top row.
                let last = WINDOW as usize - 1;
                if row_empty(&self.pos, last) && row_empty(&self.neg, last) {
                    return Some("an empty top row");
                }
                // Rows below the smallest subnormal hold nothing, and nothing is below them.
                let low = top - (WINDOW - 1);
                if low <= MIN_EXP && self.below != 0 {
                    return Some("values below a window that starts below every f64");
                }
                let outside = (MIN_EXP - low).max(0) as usize;
                if (0..outside).any(|row| !row_empty(&self.pos, row) || !row_empty(&self.neg, row))
                {
                    return Some("counts below the smallest subnormal");
                }
            }
        }
        if self.below > self.zero {
            return Some("more values below the window than in the zero bucket");
        }
        let sum = self
            .pos
            .iter()
            .chain(&self.neg)
            .chain(&self.infinite)
            .try_fold(self.zero, |a, &c| a.checked_add(c));
        if sum != Some(self.total) {
            return Some("counts that do not add up to the total");
        }
        let nonempty = |half: &[u64; HALF]| half.iter().any(|&c| c != 0);
        let consistent = extremes_of(self.total, self.min, self.max)
            && (self.total == 0
                || ((self.infinite[0] > 0) == (self.min == f64::NEG_INFINITY)
                    && (self.infinite[1] > 0) == (self.max == f64::INFINITY)
                    && (!nonempty(&self.neg) || self.min < 0.0)
                    && (!nonempty(&self.pos) || self.max > 0.0)));
        (!consistent).then_some("extremes that contradict the counts")
    }
}

impl<'de> Deserialize<'de> for QuantileSketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let f = SketchFields::deserialize(d)?;
        if let Some(e) = f.inconsistency() {
            return Err(D::Error::custom(format_args!("quantile sketch: {e}")));
        }
        Ok(Self {
            pos: f.pos,
            neg: f.neg,
            zero: f.zero,
            below: f.below,
            infinite: f.infinite,
            top: f.top,
            total: f.total,
            min: f.min,
            max: f.max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec;
    use crate::expect::state::tests::values;

    /// The postcard encoding of a state (floats bit for bit).
    fn bytes<T: Serialize + ?Sized>(x: &T) -> StdVec<u8> {
        postcard::to_extend(x, StdVec::new()).unwrap()
    }

    /// `x` shipped as bytes: encoded, decoded.
    fn shipped<T: Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
        postcard::from_bytes(&bytes(x)).unwrap()
    }

    /// `n` normally distributed values (Box–Muller on ChaCha8).
    fn normal(n: usize, seed: u64) -> StdVec<f64> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let (u, v): (f64, f64) = (rng.random(), rng.random());
                libm::sqrt(-2.0 * libm::log(1.0 - u)) * libm::cos(2.0 * core::f64::consts::PI * v)
            })
            .collect()
    }

    #[test]
    fn serialized_states_round_trip() {
        let mut partial = Partial::new();
        let mut col = ColumnState::new();
        let mut sketch = QuantileSketch::new();
        assert_eq!(shipped(&partial), partial);
        assert_eq!(shipped(&col), col);
        assert_eq!(shipped(&sketch), sketch);
        let xs = normal(1_000_000, 3);
        for (i, &x) in xs.iter().enumerate() {
            if i % 1000 == 0 {
                col.push(f64::NAN);
                col.push_text();
            }
            col.push(x);
            sketch.push(x);
            if x > 3.0 {
                partial.push(x);
            }
        }
        sketch.push(f64::INFINITY);
        sketch.push(0.0);
        assert_eq!(partial.len(), PARTIAL_CAPACITY);
        assert_eq!(shipped(&partial), partial);
        assert_eq!(shipped(&col), col);
        assert_eq!(shipped(&sketch), sketch);
        let size = bytes(&sketch).len();
        std::println!("a sketch of 1e6 normal values: {size} bytes");
        assert!(size < 16_000, "{size}");
        // A sketch that slid: values below the window, counted in the zero bucket.
        let mut slid = QuantileSketch::new();
        [1e-30, -3e-25, 5.0, 1e20, -1e21]
            .iter()
            .for_each(|&x| slid.push(x));
        assert_eq!(slid.below_window(), 3);
        assert_eq!(shipped(&slid), slid);
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(60))]

        /// Shipped as bytes and merged elsewhere: the state merging the originals gives (the
        /// moments bit for bit).
        #[test]
        fn property_deserialized_states_merge_as_the_originals(
            xs in values(),
            ys in values(),
            missing in proptest::collection::vec(proptest::prelude::any::<bool>(), 0..40),
        ) {
            let state = |xs: &[f64]| {
                let (mut p, mut c, mut s) =
                    (Partial::new(), ColumnState::new(), QuantileSketch::new());
                for (i, &x) in xs.iter().enumerate() {
                    if missing.get(i).copied().unwrap_or(false) {
                        c.push(f64::NAN);
                    }
                    p.push(x);
                    c.push(x);
                    s.push(x);
                }
                (p, c, s)
            };
            let (mut pa, mut ca, mut sa) = state(&xs);
            let (pb, cb, sb) = state(&ys);
            let (mut pa2, mut ca2, mut sa2) = (shipped(&pa), shipped(&ca), shipped(&sa));
            let (pb2, cb2, sb2) = (shipped(&pb), shipped(&cb), shipped(&sb));
            proptest::prop_assert_eq!(pa2, pa);
            proptest::prop_assert_eq!(bytes(&ca2), bytes(&ca));
            proptest::prop_assert_eq!(&sa2, &sa);
            pa.merge(&pb);
            pa2.merge(&pb2);
            ca.merge(&cb);
            ca2.merge(&cb2);
            sa.merge(&sb);
            sa2.merge(&sb2);
            proptest::prop_assert_eq!(pa2, pa);
            proptest::prop_assert!(same_column(&ca2, &ca), "{ca2:?} {ca:?}");
            proptest::prop_assert_eq!(sa2, sa);
        }
    }

    /// Whether two column states are the same, their moments bit for bit
    /// ([`Moments::same_as`]).
    fn same_column(a: &ColumnState, b: &ColumnState) -> bool {
        (a.elements, a.missing, a.text, a.min, a.max)
            == (b.elements, b.missing, b.text, b.min, b.max)
            && a.moments.same_as(&b.moments)
    }

    /// The encoding of a sketch from its fields: each half's `(index, count)` pairs, then the
    /// zero, below, infinite, top, total, min and max fields.
    #[allow(clippy::too_many_arguments)]
    fn sketch_bytes(
        pos: &[(u16, u64)],
        neg: &[(u16, u64)],
        zero: u64,
        below: u64,
        infinite: [u64; 2],
        top: Option<i32>,
        total: u64,
        (min, max): (f64, f64),
    ) -> StdVec<u8> {
        bytes(&(pos, neg, zero, below, infinite, top, total, min, max))
    }

    #[test]
    fn malformed_state_bytes_are_errors() {
        fn sketch(b: &[u8]) -> postcard::Result<QuantileSketch> {
            postcard::from_bytes(b)
        }
        // The fields spelled out: 2.0 (exponent 1, sub 0) and −0.75 (exponent −1, sub 32) in a
        // window ending at exponent 1 (low −58: bucket 59·64 and 57·64 + 32).
        let mut good = QuantileSketch::new();
        [2.0, -0.75, 0.0].iter().for_each(|&x| good.push(x));
        let ok = |pos: &[(u16, u64)], zero, below, top, total, ext| {
            sketch_bytes(pos, &[(3680, 1)], zero, below, [0, 0], top, total, ext)
        };
        let (pos, ext) = (&[(3776, 1)][..], (-0.75, 2.0));
        assert_eq!(bytes(&good), ok(pos, 1, 0, Some(1), 3, ext));
        assert_eq!(sketch(&ok(pos, 1, 0, Some(1), 3, ext)).unwrap(), good);
        // Cut anywhere: an error, not a sketch.
        let b = bytes(&good);
        for cut in 0..b.len() {
            assert!(sketch(&b[..cut]).is_err(), "cut {cut}");
        }
        for (what, b) in [
            (
                "index past the half",
                ok(&[(3840, 1)], 1, 0, Some(1), 3, ext),
            ),
            ("index past u16", bytes(&(&[(70_000u32, 1u64)][..], 0u8))),
            (
                "indexes out of order",
                ok(&[(3776, 1), (3700, 1)], 1, 0, Some(1), 4, ext),
            ),
            (
                "a repeated index",
                ok(&[(3776, 1), (3776, 1)], 1, 0, Some(1), 4, ext),
            ),
            (
                "a zero count",
                ok(&[(3700, 0), (3776, 1)], 1, 0, Some(1), 3, ext),
            ),
            ("total ≠ sum", ok(pos, 1, 0, Some(1), 4, ext)),
            (
                "total overflows",
                ok(&[(3776, u64::MAX)], 1, 0, Some(1), 2, ext),
            ),
            ("top past f64", ok(pos, 1, 0, Some(1024), 3, ext)),
            ("top below f64", ok(pos, 1, 0, Some(i32::MIN), 3, ext)),
            ("buckets, no top", ok(pos, 1, 0, None, 3, ext)),
            ("empty top row", ok(&[(3700, 1)], 1, 0, Some(1), 3, ext)),
            ("below > zero", ok(pos, 1, 2, Some(1), 3, ext)),
            ("min > max", ok(pos, 1, 0, Some(1), 3, (2.0, -0.75))),
            ("NaN min", ok(pos, 1, 0, Some(1), 3, (f64::NAN, 2.0))),
            (
                "positive min, negatives",
                ok(pos, 1, 0, Some(1), 3, (0.5, 2.0)),
            ),
            (
                "values but no extremes",
                ok(pos, 1, 0, Some(1), 3, (f64::INFINITY, f64::NEG_INFINITY)),
            ),
            (
                "extremes but no values",
                sketch_bytes(&[], &[], 0, 0, [0, 0], None, 0, (1.0, 2.0)),
            ),
            (
                "below a window below every f64",
                sketch_bytes(
                    &[(3776, 1)],
                    &[],
                    1,
                    1,
                    [0, 0],
                    Some(-1070),
                    2,
                    (0.0, 1e-320),
                ),
            ),
            (
                "counts below the smallest subnormal",
                sketch_bytes(
                    &[(0, 1), (3776, 1)],
                    &[],
                    0,
                    0,
                    [0, 0],
                    Some(-1070),
                    2,
                    (1e-320, 1e-320),
                ),
            ),
        ] {
            assert!(sketch(&b).is_err(), "{what}");
        }
        // A partial of more than 20 values.
        let partial = |xs: &[f64]| postcard::from_bytes::<Partial>(&bytes(xs));
        assert_eq!(partial(&[1.0; 20]).unwrap().len(), 20);
        assert!(partial(&[1.0; 21]).is_err());
        assert!(partial(&[1.0; 255]).is_err());
        assert!(partial(&[]).unwrap().is_empty());
        let b = bytes(&[1.0; 3][..]);
        assert_eq!(partial(&[1.0; 3]).unwrap().as_slice(), &[1.0; 3]);
        assert!(postcard::from_bytes::<Partial>(&b[..b.len() - 1]).is_err());
        // Column states whose counts or extremes do not add up.
        let mut col = ColumnState::new();
        [1.0, f64::NAN, 4.0].iter().for_each(|&x| col.push(x));
        col.push_text();
        let fields = |elements: u64, missing: u64, text: u64, min: f64, n: u64| {
            let moments = Moments::new();
            let mut b = bytes(&(elements, missing, text, min, 4.0));
            // The moments of 1.0 and 4.0 with another count.
            let mut m = bytes(col.moments());
            m[0] = n as u8;
            b.extend(if n == 0 { bytes(&moments) } else { m });
            b
        };
        let column = |b: &[u8]| postcard::from_bytes::<ColumnState>(b);
        assert_eq!(column(&fields(4, 1, 1, 1.0, 2)).unwrap(), col);
        let b = bytes(&col);
        for cut in 0..b.len() {
            assert!(column(&b[..cut]).is_err(), "cut {cut}");
        }
        for (what, b) in [
            ("more missing than elements", fields(4, 5, 0, 1.0, 2)),
            ("missing + text overflow", fields(4, u64::MAX, 2, 1.0, 2)),
            ("moments of another count", fields(4, 1, 1, 1.0, 3)),
            ("min > max", fields(4, 1, 1, 5.0, 2)),
            ("NaN min", fields(4, 1, 1, f64::NAN, 2)),
            ("extremes of no values", fields(2, 1, 1, 1.0, 0)),
        ] {
            assert!(column(&b).is_err(), "{what}");
        }
    }
}
