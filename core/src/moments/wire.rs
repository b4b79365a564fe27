//! Serialization (serde) of [`Moments`], so that the states of parts computed on other machines
//! can be shipped as bytes and merged: the fields in order (count, shift, mean, sum of squared
//! deviations). Deserializing reads them through a checked mirror and rejects a state no
//! stream gives: an infinite or `NaN` shift, or a non-zero shift, mean or spread for no values
//! (a pushed value would otherwise inherit a stale spread).

use super::Moments;

#[cfg(test)]
impl Moments {
    /// Whether two states are the same bit for bit, any NaN the same as any other (the sign and
    /// payload of the NaN an operation gives are unspecified: they may differ between two
    /// inlined copies of one merge).
    pub(crate) fn same_as(&self, other: &Moments) -> bool {
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        self.count == other.count
            && same(self.shift, other.shift)
            && same(self.mean, other.mean)
            && same(self.m2, other.m2)
    }
}

/// The fields of [`Moments`] as they are serialized, checked before they become a state.
#[derive(serde::Deserialize)]
#[serde(rename = "Moments")]
struct MomentsFields {
    count: u64,
    shift: f64,
    mean: f64,
    m2: f64,
}

impl<'de> serde::Deserialize<'de> for Moments {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let MomentsFields {
            count,
            shift,
            mean,
            m2,
        } = MomentsFields::deserialize(d)?;
        // The shift is the first finite value (0 before one); before any value everything is 0
        // (a pushed value would otherwise inherit a stale `m2`).
        if !shift.is_finite() {
            return Err(D::Error::custom("moments: the shift must be finite"));
        }
        if count == 0 && (shift != 0.0 || mean != 0.0 || m2 != 0.0) {
            return Err(D::Error::custom(
                "moments: no values but a non-zero mean or spread",
            ));
        }
        Ok(Self {
            count,
            shift,
            mean,
            m2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moments::tests::of;

    /// The postcard encoding of a state (floats bit for bit, so NaN spreads compare too).
    fn bytes(m: &Moments) -> Vec<u8> {
        postcard::to_extend(m, Vec::new()).unwrap()
    }

    fn decode(b: &[u8]) -> postcard::Result<Moments> {
        postcard::from_bytes(b)
    }

    #[test]
    fn serialized_moments_round_trip_and_malformed_bytes_are_errors() {
        for xs in [&[][..], &[1.7e9, 1.7e9 + 1.0, 3.0], &[2.0, f64::INFINITY]] {
            let m = of(xs);
            let b = bytes(&m);
            assert_eq!(bytes(&decode(&b).unwrap()), b, "{xs:?}");
            if !m.m2.is_nan() {
                assert_eq!(decode(&b).unwrap(), m);
            }
            // Cut anywhere: an error, not a state.
            for cut in 0..b.len() {
                assert!(decode(&b[..cut]).is_err(), "{xs:?} cut {cut}");
            }
        }
        // −∞ then +∞ (mean NaN, spread NaN), shipped and merged with a finite part.
        let (a, b) = (of(&[f64::NEG_INFINITY, f64::INFINITY]), of(&[0.0]));
        let (mut ab, mut ab2) = (a, decode(&bytes(&a)).unwrap());
        ab.merge(&b);
        ab2.merge(&decode(&bytes(&b)).unwrap());
        assert!(ab2.same_as(&ab), "{ab2:?} {ab:?}");
        // The fields in order: count, shift, mean, m2.
        let fields = |count: u64, shift: f64, mean: f64, m2: f64| {
            postcard::to_extend(&(count, shift, mean, m2), Vec::new()).unwrap()
        };
        assert_eq!(decode(&fields(2, 1.0, 0.5, 0.5)).unwrap(), of(&[1.0, 2.0]));
        for (count, shift, mean, m2) in [
            (0, 0.0, 1.0, 0.0),
            (0, 0.0, 0.0, f64::NAN),
            (0, 3.0, 0.0, 0.0),
            (1, f64::INFINITY, 0.0, 0.0),
            (1, f64::NAN, 0.0, 0.0),
        ] {
            assert!(
                decode(&fields(count, shift, mean, m2)).is_err(),
                "{count} {shift}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(100))]

        /// Shipped as bytes and merged elsewhere: the state merging the originals gives, bit
        /// for bit (but for the sign of a NaN: see [`Moments::same_as`]).
        #[test]
        fn property_deserialized_moments_merge_as_the_originals(
            xs in proptest::collection::vec(values(), 0..60),
            ys in proptest::collection::vec(values(), 0..60),
        ) {
            let (a, b) = (of(&xs), of(&ys));
            let (a2, b2) = (decode(&bytes(&a)).unwrap(), decode(&bytes(&b)).unwrap());
            proptest::prop_assert_eq!(bytes(&a2), bytes(&a));
            proptest::prop_assert_eq!(bytes(&b2), bytes(&b));
            let (mut ab, mut ab2) = (a, a2);
            ab.merge(&b);
            ab2.merge(&b2);
            proptest::prop_assert!(ab2.same_as(&ab), "{ab2:?} {ab:?}");
        }
    }

    /// Values of one scale, of many scales, and now and then an infinity.
    fn values() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            8 => -1e3..1e3f64,
            4 => (1.0..2.0f64, -300..300i32).prop_map(|(m, e)| libm::ldexp(m, e)),
            1 => prop::sample::select(&[f64::INFINITY, f64::NEG_INFINITY][..]),
        ]
    }
}
