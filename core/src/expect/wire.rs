//! Serialization (serde) of [`CheckState`], so that the states of parts computed elsewhere can
//! be shipped as bytes and merged. A state is its variant and the variant's fields: its
//! unexpected count and [`Partial`], its [`QuantileSketch`] (see the state module's
//! serialization), or its bin counts. Deserializing reads the variants through a checked mirror
//! and rejects what no values give: a [`Partial`] that is not the first `min(count, 20)`
//! unexpected values, bins whose counts overflow, an inconsistent [`QuantileSketch`].

use super::{CheckState, MAX_BINS, PARTIAL_CAPACITY, Partial, QuantileSketch};

/// The variants of [`CheckState`] as they are serialized, checked before they become a state.
#[derive(serde::Deserialize)]
#[serde(rename = "CheckState")]
#[allow(clippy::large_enum_variant)] // as CheckState
enum CheckFields {
    Nothing,
    Unexpected { count: u64, partial: Partial },
    Sketch(QuantileSketch),
    Bins([u64; MAX_BINS]),
}

impl<'de> serde::Deserialize<'de> for CheckState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        Ok(match CheckFields::deserialize(d)? {
            CheckFields::Nothing => Self::Nothing,
            CheckFields::Unexpected { count, partial } => {
                // Every unexpected value is counted and kept while there is room.
                if partial.len() as u64 != count.min(PARTIAL_CAPACITY as u64) {
                    return Err(D::Error::custom(
                        "check state: the unexpected values kept are not the first of their count",
                    ));
                }
                Self::Unexpected { count, partial }
            }
            CheckFields::Sketch(s) => Self::Sketch(s),
            CheckFields::Bins(b) => {
                // `psi` sums the counts.
                if b.iter().try_fold(0u64, |a, &c| a.checked_add(c)).is_none() {
                    return Err(D::Error::custom("check state: bin counts overflow"));
                }
                Self::Bins(b)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StdVec;
    use crate::expect::tests::{column, kinds, state};

    /// The postcard encoding of a state (floats bit for bit).
    fn bytes<T: serde::Serialize + ?Sized>(x: &T) -> StdVec<u8> {
        postcard::to_extend(x, StdVec::new()).unwrap()
    }

    fn check_state(b: &[u8]) -> postcard::Result<CheckState> {
        postcard::from_bytes(b)
    }

    #[test]
    fn serialized_check_states_round_trip_and_malformed_bytes_are_errors() {
        let xs: StdVec<f64> = (0..500)
            .map(|i| (f64::from(i) * 0.37).sin() * 3.0)
            .collect();
        for kind in kinds() {
            for xs in [&[][..], &xs[..7], &xs] {
                let (_, check) = state(&kind, xs);
                let b = bytes(&check);
                assert_eq!(check_state(&b).unwrap(), check, "{}", kind.name());
                for cut in 0..b.len().min(200) {
                    assert!(check_state(&b[..cut]).is_err(), "{} cut {cut}", kind.name());
                }
            }
        }
        // The variants in order: Nothing, Unexpected, Sketch, Bins.
        let unexpected = |count: u64, partial: &[f64]| bytes(&(1u8, count, partial));
        let partial = |n: usize| {
            let mut p = Partial::new();
            (0..n).for_each(|_| {
                p.push(7.0);
            });
            p
        };
        let ok = check_state(&unexpected(25, &[7.0; 20])).unwrap();
        assert_eq!(
            ok,
            CheckState::Unexpected {
                count: 25,
                partial: partial(20)
            }
        );
        assert!(check_state(&unexpected(3, &[7.0; 3])).is_ok());
        let mut bins = [0u64; MAX_BINS];
        bins[3] = 9;
        assert_eq!(
            check_state(&bytes(&(3u8, bins))).unwrap(),
            CheckState::Bins(bins)
        );
        bins[5] = u64::MAX;
        for (what, b) in [
            ("a partial of 21", unexpected(25, &[7.0; 21])),
            ("fewer kept than room", unexpected(25, &[7.0; 19])),
            ("more kept than counted", unexpected(2, &[7.0; 3])),
            ("bins that overflow", bytes(&(3u8, bins))),
            ("no such variant", bytes(&4u8)),
        ] {
            assert!(check_state(&b).is_err(), "{what}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(100))]

        /// Shipped as bytes and merged elsewhere, for every expectation type: the state
        /// merging the originals gives.
        #[test]
        fn property_deserialized_check_states_merge_as_the_originals(
            xs in column(),
            ys in column(),
        ) {
            for kind in &kinds() {
                let ((_, mut a), (_, b)) = (state(kind, &xs), state(kind, &ys));
                let shipped = |c: &CheckState| check_state(&bytes(c)).unwrap();
                let (mut a2, b2) = (shipped(&a), shipped(&b));
                proptest::prop_assert_eq!(&a2, &a, "{}", kind.name());
                a.merge(&b);
                a2.merge(&b2);
                proptest::prop_assert_eq!(&a2, &a, "{}", kind.name());
            }
        }
    }

    /// States that deserialize one by one but whose counts together pass `u64::MAX` (a column,
    /// its moments, a sketch, bins) merge, saturating, and evaluate without an overflow panic.
    #[test]
    fn merging_states_near_u64_max_never_panics() {
        use crate::expect::{ColumnState, evaluate};
        const MAX: u64 = u64::MAX;
        fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> T {
            postcard::from_bytes(b).unwrap()
        }
        // Columns: elements, missing, text, min, max, moments (count, shift, mean, m2).
        let column = |elements: u64, missing: u64, text: u64, n: u64| -> ColumnState {
            decode(&bytes(&(
                elements,
                missing,
                text,
                1.0,
                2.0,
                (n, 1.0, 0.5, 1.0),
            )))
        };
        let mut numbers = column(MAX - 1, 0, 0, MAX - 1);
        numbers.merge(&numbers.clone());
        assert_eq!(
            (numbers.element_count(), numbers.moments().count()),
            (MAX, MAX)
        );
        assert_eq!(numbers.mean(), Some(1.5));
        // More missing and text values together than elements: no numbers left.
        let mut absent = column(MAX - 1, MAX - 3, 0, 2);
        absent.merge(&column(MAX - 1, 0, MAX - 3, 2));
        assert_eq!((absent.nonmissing_count(), absent.numeric_count()), (3, 0));
        assert_eq!((absent.min(), absent.stdev()), (None, None));
        // Sketches: each half's (index, count) pairs, zero, below, infinities, top, total,
        // extremes. Windows ending at 2¹ and 2⁵: merging slides one by four rows, whose lowest
        // (bucket 10, near 2⁻⁵⁸) leaves for the zero bucket.
        let empty: &[(u16, u64)] = &[];
        let a: QuantileSketch = decode(&bytes(&(
            &[(10u16, MAX / 2), (3776, MAX / 2 - 2)][..],
            empty,
            (1u64, 0u64, [1u64, 0]),
            (Some(1i32), MAX - 1, f64::NEG_INFINITY, 2.0),
        )));
        let b: QuantileSketch = decode(&bytes(&(
            &[(3776u16, MAX - 3)][..],
            empty,
            (1u64, 0u64, [1u64, 0]),
            (Some(5i32), MAX - 1, f64::NEG_INFINITY, 32.0),
        )));
        for (x, y) in [(&a, &b), (&b, &a), (&a, &a)] {
            let mut merged = x.clone();
            merged.merge(y);
            assert_eq!(merged.count(), MAX);
            assert!(merged.quantile(0.5).is_some());
        }
        let mut partial = Partial::new();
        (0..PARTIAL_CAPACITY).for_each(|_| {
            partial.push(7.0);
        });
        let mut bins = [0; MAX_BINS];
        bins[..2].fill(MAX / 2);
        for kind in &kinds() {
            let check = match CheckState::new(kind) {
                CheckState::Nothing => CheckState::Nothing,
                CheckState::Unexpected { .. } => CheckState::Unexpected {
                    count: MAX - 1,
                    partial,
                },
                CheckState::Sketch(_) => CheckState::Sketch(b.clone()),
                CheckState::Bins(_) => CheckState::Bins(bins),
            };
            let mut merged = check_state(&bytes(&check)).unwrap();
            merged.merge(&check);
            match &merged {
                CheckState::Unexpected { count, .. } => assert_eq!(*count, MAX),
                CheckState::Bins(b) => assert_eq!(b[..3], [MAX - 1, MAX - 1, 0]),
                CheckState::Sketch(s) => assert_eq!(s.count(), MAX),
                CheckState::Nothing => {}
            }
            for col in [&numbers, &absent] {
                let out = evaluate(kind, MAX, Some(col), &merged);
                if let Some(n) = out.unexpected_count
                    && col.nonmissing_count() == 3
                    && kind.needs_values()
                {
                    assert_eq!(n, MAX);
                    assert!(!out.success, "{}", kind.name());
                }
            }
        }
    }
}
