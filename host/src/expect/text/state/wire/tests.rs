//! The serialization's tests: round trips, merges of shipped states, malformed and corrupted
//! bytes.

use super::super::{CellState, Census, ColumnText, Distinct};
use crate::expect::text::HLL_RELATIVE_ERROR;
use regex::bytes::Regex;
use serde::Serialize;

/// `x` shipped as bytes: encoded with postcard, decoded.
fn shipped<T: Serialize + serde::de::DeserializeOwned>(x: &T) -> T {
    postcard::from_bytes(&postcard::to_allocvec(x).unwrap()).unwrap()
}

/// The exact counts, in order; `None` for a sketch.
fn pairs(d: &Distinct) -> Option<Vec<(Vec<u8>, u64)>> {
    match d {
        Distinct::Exact(map) => Some(map.iter().map(|(k, &n)| (k.to_vec(), n)).collect()),
        Distinct::Sketch(_) => None,
    }
}

/// The cells `0 .. n` in decimal, every `step`-th from `from`.
fn cells(from: u32, n: u32, step: usize) -> Vec<String> {
    (from..n).step_by(step).map(|i| i.to_string()).collect()
}

/// A distinct-values state of `cells` past a limit of `limit` exact values.
fn distinct(cells: &[String], limit: usize) -> Distinct {
    let mut d = Distinct::default();
    cells
        .iter()
        .for_each(|c| d.push_n_within(c.as_bytes(), 1, limit));
    d
}

#[test]
fn serialized_text_states_round_trip() {
    // Cell states: the count and the first 20 cells; the expression's copy is rebuilt.
    let mut cell = CellState::default();
    assert_eq!(shipped(&cell).partial, cell.partial);
    for i in 0..25 {
        cell.record(format!("v{i}, ☃").as_bytes());
    }
    cell.regex = Some(Regex::new("^v").unwrap());
    let back = shipped(&cell);
    assert_eq!((back.unexpected, &back.partial), (25, &cell.partial));
    assert!(back.regex.is_none());
    // Census.
    let mut census = Census::default();
    for c in ["1", "2.5", "true", "x", "7"] {
        census.push(c.as_bytes());
    }
    assert_eq!(shipped(&census), census);
    // Columns: census and exact counts in order of first appearance, bytes not UTF-8 too.
    let mut col = ColumnText::new(true, true);
    for c in [&b"b"[..], b"a", b"\xff\x00", b"b", b"", b"a", b"b"] {
        col.push(c);
    }
    col.push_n(b"z", 0);
    let back = shipped(&col);
    assert_eq!(back.census, col.census);
    let order = pairs(back.distinct.as_ref().unwrap()).unwrap();
    assert_eq!(order, pairs(col.distinct.as_ref().unwrap()).unwrap());
    assert_eq!(
        order,
        [
            (b"b".to_vec(), 3),
            (b"a".to_vec(), 2),
            (b"\xff\x00".to_vec(), 1),
            (b"".to_vec(), 1),
            (b"z".to_vec(), 0)
        ]
    );
    let none = ColumnText::new(false, false);
    let back = shipped(&none);
    assert!(back.census.is_none() && back.distinct.is_none());
    // Sketches: sparse with hash codes not yet in its list, sparse, and registers. Their
    // estimate, and the estimate after more values, are the original's.
    for (n, limit) in [(12, 10), (400, 10), (3000, 100), (40_000, 1000)] {
        let d = distinct(&cells(0, n, 1), limit);
        let back = shipped(&d);
        assert_eq!(back.count(), d.count(), "{n}");
        assert!(!back.count().1);
        let more = cells(n, n + 20_000, 7);
        let (mut a, mut b) = (d.clone(), back);
        more.iter().for_each(|c| a.push(c.as_bytes()));
        more.iter().for_each(|c| b.push(c.as_bytes()));
        assert_eq!(b.count(), a.count(), "{n}");
    }
}

/// Exact counts shipped and merged past the limit turn into the sketch the originals turn
/// into; sketches shipped merge as the originals, in any combination.
#[test]
fn shipped_distinct_values_merge_as_the_originals() {
    let limit = 1000;
    let parts = [
        distinct(&cells(0, 900, 1), limit),
        distinct(&cells(500, 1500, 1), limit),
        distinct(&cells(0, 30_000, 3), limit),
        distinct(&cells(20, 60, 1), limit),
        distinct(&cells(1, 6000, 5), 200),
    ];
    assert!(pairs(&parts[0]).is_some() && pairs(&parts[1]).is_some());
    for (i, a) in parts.iter().enumerate() {
        for (j, b) in parts.iter().enumerate() {
            let (mut whole, mut shipped_whole) = (a.clone(), shipped(a));
            whole.merge_with_limit(b, limit);
            shipped_whole.merge_with_limit(&shipped(b), limit);
            assert_eq!(shipped_whole.count(), whole.count(), "{i} {j}");
            assert_eq!(pairs(&shipped_whole), pairs(&whole), "{i} {j}");
        }
    }
    // The exact → merge → sketch transition: 900 and 1000 values, 1500 distinct.
    let mut merged = shipped(&parts[0]);
    merged.merge_with_limit(&shipped(&parts[1]), limit);
    let (n, exact) = merged.count();
    assert!(!exact);
    assert!(
        (n as f64 - 1500.0).abs() < 3.0 * HLL_RELATIVE_ERROR * 1500.0,
        "{n}"
    );
}

/// The encoding of a sketch from its fields, in hyperloglogplus 0.4's order: the variant,
/// precision, sizes, hash codes not yet listed, the sparse list (count, last code, varint
/// differences) and the registers (words, count, empty ones).
fn sketch_bytes(
    precision: u8,
    sizes: (usize, usize, usize),
    tmpset: &[u32],
    sparse: (usize, u32, &[u8]),
    registers: Option<(&[u32], usize, usize)>,
) -> Vec<u8> {
    postcard::to_allocvec(&(1u8, precision, sizes, tmpset, sparse, registers)).unwrap()
}

fn decode(b: &[u8]) -> postcard::Result<Distinct> {
    postcard::from_bytes(b)
}

#[test]
fn malformed_text_state_bytes_are_errors() {
    // Cell states: more listed than 20, or not the first of the count.
    let cell = |n: u64, list: usize| {
        let partial = vec!["x".to_string(); list];
        postcard::from_bytes::<CellState>(&postcard::to_allocvec(&(n, partial)).unwrap())
    };
    assert!(cell(25, 20).is_ok() && cell(3, 3).is_ok() && cell(0, 0).is_ok());
    for (n, list) in [(25, 21), (30, 30), (25, 19), (3, 2), (2, 3), (0, 1)] {
        assert!(cell(n, list).is_err(), "{n} {list}");
    }
    // A census whose counts overflow.
    let census = |c: [u64; 4]| postcard::from_bytes::<Census>(&postcard::to_allocvec(&c).unwrap());
    assert!(census([1, 2, 3, u64::MAX - 6]).is_ok());
    assert!(census([1, 2, 3, u64::MAX - 5]).is_err());
    // Exact counts: a value listed twice.
    // (A sequence of bytes is encoded as bytes are: a length, then the bytes.)
    let exact = |pairs: &[(&[u8], u64)]| decode(&postcard::to_allocvec(&(0u8, pairs)).unwrap());
    let ok = exact(&[(b"a", 1), (b"b", 2)]).unwrap();
    assert_eq!(
        pairs(&ok).unwrap(),
        [(b"a".to_vec(), 1), (b"b".to_vec(), 2)]
    );
    assert!(exact(&[(b"a", 1), (b"b", 2), (b"a", 3)]).is_err());
    // Sketches: the layout of an empty one, then what no values give.
    let sizes = (1 << 14, 1 << 24, 13107);
    let empty = Distinct::Sketch(Distinct::sketch());
    assert_eq!(
        postcard::to_allocvec(&empty).unwrap(),
        sketch_bytes(14, sizes, &[], (0, 0, &[]), None)
    );
    // Code 2: register index bits 1 below the register's, nothing else.
    assert!(decode(&sketch_bytes(14, sizes, &[2, 6], (2, 6, &[2, 4]), None)).is_ok());
    let words = vec![0u32; 3277];
    assert!(
        decode(&sketch_bytes(
            14,
            sizes,
            &[],
            (0, 0, &[]),
            Some((&words, 16384, 16384))
        ))
        .is_ok()
    );
    let mut wrong = words.clone();
    wrong[7] = 51 << 12;
    assert!(
        decode(&sketch_bytes(
            14,
            sizes,
            &[],
            (0, 0, &[]),
            Some((&wrong, 16384, 16383))
        ))
        .is_ok()
    );
    let mut past = words.clone();
    // The last word holds registers 16380 .. 16383 and one unused slot.
    past[3276] = 1 << 24;
    let mut high = words.clone();
    high[0] = 1 << 30;
    let mut rank = words.clone();
    rank[0] = 52;
    let many: Vec<u32> = (1..=200).map(|i| i << 1).collect();
    for (what, b) in [
        (
            "precision 15",
            sketch_bytes(15, sizes, &[], (0, 0, &[]), None),
        ),
        (
            "precision 200",
            sketch_bytes(200, sizes, &[], (0, 0, &[]), None),
        ),
        (
            "sizes",
            sketch_bytes(14, (1 << 14, 1 << 24, 1 << 40), &[], (0, 0, &[]), None),
        ),
        (
            "a code of zero",
            sketch_bytes(14, sizes, &[0], (0, 0, &[]), None),
        ),
        (
            "a rank of 41",
            sketch_bytes(14, sizes, &[(41 << 1) | 1], (0, 0, &[]), None),
        ),
        (
            "too many codes",
            sketch_bytes(14, sizes, &many, (0, 0, &[]), None),
        ),
        (
            "a truncated varint",
            sketch_bytes(14, sizes, &[], (1, 2, &[0x82]), None),
        ),
        (
            "a varint past 32 bits",
            sketch_bytes(
                14,
                sizes,
                &[],
                (1, 2, &[0x82, 0x80, 0x80, 0x80, 0x10]),
                None,
            ),
        ),
        (
            "a repeated code",
            sketch_bytes(14, sizes, &[], (2, 2, &[2, 0]), None),
        ),
        (
            "a wrong count",
            sketch_bytes(14, sizes, &[], (3, 6, &[2, 4]), None),
        ),
        (
            "a wrong last code",
            sketch_bytes(14, sizes, &[], (2, 4, &[2, 4]), None),
        ),
        (
            "a code overflowing",
            sketch_bytes(
                14,
                sizes,
                &[],
                (2, 2, &[2, 0xff, 0xff, 0xff, 0xff, 0x0f]),
                None,
            ),
        ),
        (
            "few words",
            sketch_bytes(
                14,
                sizes,
                &[],
                (0, 0, &[]),
                Some((&words[1..], 16384, 16384)),
            ),
        ),
        (
            "many registers",
            sketch_bytes(14, sizes, &[], (0, 0, &[]), Some((&words, 16385, 16385))),
        ),
        (
            "wrong zeros",
            sketch_bytes(14, sizes, &[], (0, 0, &[]), Some((&wrong, 16384, 16384))),
        ),
        (
            "no zeros",
            sketch_bytes(14, sizes, &[], (0, 0, &[]), Some((&words, 16384, 0))),
        ),
        (
            "a slot past the registers",
            sketch_bytes(14, sizes, &[], (0, 0, &[]), Some((&past, 16384, 16384))),
        ),
        (
            "the unused bits",
            sketch_bytes(14, sizes, &[], (0, 0, &[]), Some((&high, 16384, 16384))),
        ),
        (
            "a register past 51",
            sketch_bytes(14, sizes, &[], (0, 0, &[]), Some((&rank, 16384, 16383))),
        ),
        (
            "registers and codes",
            sketch_bytes(14, sizes, &[2], (0, 0, &[]), Some((&words, 16384, 16384))),
        ),
    ] {
        assert!(decode(&b).is_err(), "{what}");
    }
}

/// Bytes from the network: a state decoded from any corruption of real ones, if it decodes,
/// merges and counts without a panic.
#[test]
fn corrupted_distinct_values_never_panic() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let states = [
        distinct(&cells(0, 12, 1), 10),
        distinct(&cells(0, 3000, 1), 100),
        distinct(&cells(0, 40_000, 1), 1000),
        distinct(&cells(0, 30, 1), 1000),
    ];
    let (mut decoded, mut rejected) = (0, 0);
    for s in &states {
        let good = postcard::to_allocvec(s).unwrap();
        for round in 0..3000 {
            let mut b = good.clone();
            if round % 10 == 0 {
                b.truncate(rng.random_range(0..b.len()));
            } else {
                for _ in 0..rng.random_range(1..4) {
                    let i = rng.random_range(0..b.len());
                    b[i] = if rng.random_bool(0.5) {
                        rng.random()
                    } else {
                        b[i] ^ (1 << rng.random_range(0..8))
                    };
                }
            }
            let Ok(d) = decode(&b) else {
                rejected += 1;
                continue;
            };
            decoded += 1;
            for other in &states {
                let (mut x, mut y) = (d.clone(), other.clone());
                x.merge_with_limit(other, 1000);
                y.merge_with_limit(&d, 1000);
                x.count();
                y.count();
            }
            let mut x = d;
            x.push(b"one more");
            x.count();
        }
    }
    println!("corrupted states: {decoded} decoded, {rejected} rejected");
    assert!(rejected > 0);
}

/// States that deserialize one by one but whose counts together pass `u64::MAX` merge,
/// saturating, and evaluate without an overflow panic, as does a column with more missing or
/// unexpected cells than cells.
#[test]
fn merging_text_states_near_u64_max_never_panics() {
    use crate::expect::text::{Dtype, Item, TextKind, TextSet, evaluate};
    const MAX: u64 = u64::MAX;
    fn decode<T: serde::de::DeserializeOwned>(x: &impl Serialize) -> T {
        postcard::from_bytes(&postcard::to_allocvec(x).unwrap()).unwrap()
    }
    let cell: CellState = decode(&(MAX - 1, vec!["x"; 20]));
    let mut cells = cell.clone();
    cells.merge(&cell);
    assert_eq!((cells.unexpected, cells.partial.len()), (MAX, 20));
    let census: Census = decode(&[MAX - 3, 1, 1, 1]);
    let mut merged = census;
    merged.merge(&census);
    assert_eq!((merged.ints, merged.texts), (MAX, 2));
    assert_eq!(merged.dtype(0), Dtype::Object);
    let counts: Distinct = decode(&(0u8, &[(&b"a"[..], MAX - 1), (b"b", MAX - 1)][..]));
    let mut distinct = counts.clone();
    distinct.merge(&counts);
    assert_eq!(
        pairs(&distinct).unwrap(),
        [(b"a".to_vec(), MAX), (b"b".to_vec(), MAX)]
    );
    let text = ColumnText {
        census: Some(merged),
        distinct: Some(distinct),
    };
    let set = || TextSet::new(vec![Item::Text("a".into())]);
    let kinds = [
        TextKind::InSet {
            set: set(),
            mostly: 0.5,
        },
        TextKind::Unique { mostly: 0.5 },
        TextKind::MostCommonInSet {
            set: set(),
            ties_okay: true,
        },
        TextKind::UniqueCountBetween {
            min: None,
            max: None,
        },
        TextKind::ProportionUniqueBetween {
            min: None,
            max: None,
        },
        TextKind::OfType {
            name: "object".into(),
            dtype: Dtype::Object,
        },
        TextKind::KlDivergence {
            values: vec!["a".into()],
            weights: vec![1.0],
            threshold: 0.1,
            tail_weight_holdout: 0.0,
        },
    ];
    // (elements, missing): fewer cells than unexpected ones, near u64::MAX, more missing ones
    // than cells.
    for (elements, missing) in [(10, 2), (MAX, MAX - 5), (3, 7)] {
        for kind in &kinds {
            let out = evaluate(kind, elements, missing, &text, &cells);
            let by_cell = matches!(kind, TextKind::InSet { .. } | TextKind::Unique { .. });
            if by_cell && elements > missing {
                assert!(!out.success, "{} {elements} {missing}", kind.name());
            }
        }
    }
}
