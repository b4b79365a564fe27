//! Serialization (serde) of the text expectations' states, so that the state of a part computed
//! on another machine can be shipped as bytes and merged. Deserializing reads each state
//! through a checked mirror of its fields and rejects what no input gives (more kept values
//! than counted ones, counts that overflow, a malformed or foreign sketch), so that a state
//! from hostile bytes is an error rather than a later panic:
//!
//! - [`CellState`]: its count and first unexpected cells, without its copy of the expression
//!   (a deserialized state clones it again from the check's when it first needs it).
//! - [`Census`]: its four counts, whose sum must fit in a `u64`.
//! - [`Distinct`](super::Distinct): the exact counts' `(value, count)` pairs in order of first appearance (the
//!   values as bytes), or the sketch's own fields (its registers, or its sparse list and
//!   buffer of hash codes), checked against what hyperloglogplus's methods rely on.
//!
//! States that deserialize one by one can still disagree with each other (counts near
//! `u64::MAX` on both sides, more unexpected cells than the column has): their merges saturate
//! and the evaluation's subtractions too, rather than overflow.

use super::{CellState, Census, HLL_PRECISION, Hll, MAX_DISTINCT, PARTIAL};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::hash::BuildHasher;

/// The fields of [`CellState`] as they are serialized, checked before they become a state.
#[derive(Deserialize)]
#[serde(rename = "CellState")]
struct CellFields {
    unexpected: u64,
    partial: Vec<String>,
}

impl<'de> Deserialize<'de> for CellState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let CellFields {
            unexpected,
            partial,
        } = CellFields::deserialize(d)?;
        // Every unexpected cell is counted and listed while there is room (`merge` subtracts
        // the length from PARTIAL).
        if partial.len() as u64 != unexpected.min(PARTIAL as u64) {
            return Err(D::Error::custom(format!(
                "cell state: {} values listed for {unexpected} unexpected ones",
                partial.len()
            )));
        }
        Ok(Self {
            unexpected,
            partial,
            regex: None,
        })
    }
}

/// The fields of [`Census`] as they are serialized, checked before they become a census.
#[derive(Deserialize)]
#[serde(rename = "Census")]
struct CensusFields {
    ints: u64,
    floats: u64,
    bools: u64,
    texts: u64,
}

impl<'de> Deserialize<'de> for Census {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let CensusFields {
            ints,
            floats,
            bools,
            texts,
        } = CensusFields::deserialize(d)?;
        // `dtype` adds them up: they count the cells of one column.
        [floats, bools, texts]
            .iter()
            .try_fold(ints, |a, &b| a.checked_add(b))
            .ok_or_else(|| D::Error::custom("census: the counts overflow"))?;
        Ok(Self {
            ints,
            floats,
            bools,
            texts,
        })
    }
}

/// The hasher of the distinct values' sketch: the standard library's [`DefaultHasher`] with
/// its fixed keys, as `BuildHasherDefault<DefaultHasher>` builds it (the same hashes), as a
/// unit struct serde can serialize with the sketch. The hashes are the same on every machine
/// and in every run, but the standard library does not promise its algorithm across Rust
/// releases: merge sketches made by builds of one toolchain.
///
/// [`DefaultHasher`]: std::hash::DefaultHasher
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SketchHasher;

impl BuildHasher for SketchHasher {
    type Hasher = std::hash::DefaultHasher;

    fn build_hasher(&self) -> Self::Hasher {
        std::hash::DefaultHasher::new()
    }
}

/// The exact counts of [`Distinct`](super::Distinct), serialized as the sequence of their `(value, count)`
/// pairs in order of first appearance.
pub(super) mod exact {
    use super::{Deserializer, MAX_DISTINCT, Serialize, Serializer};
    use indexmap::IndexMap;
    use serde::de::{Error, SeqAccess, Visitor};
    use std::fmt;

    type Counts = IndexMap<Box<[u8]>, u64, crate::expect::text::Hasher>;

    /// A value as bytes (one length and the bytes, in postcard).
    struct Bytes<'a>(&'a [u8]);

    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    pub(in crate::expect::text::state) fn serialize<S: Serializer>(
        counts: &Counts,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(counts.iter().map(|(k, n)| (Bytes(k), n)))
    }

    pub(in crate::expect::text::state) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Counts, D::Error> {
        d.deserialize_seq(Pairs)
    }

    /// A value read back: bytes, or a sequence of them (formats without bytes).
    struct Key(Box<[u8]>);

    impl<'de> serde::Deserialize<'de> for Key {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_byte_buf(KeyVisitor)
        }
    }

    struct KeyVisitor;

    impl<'de> Visitor<'de> for KeyVisitor {
        type Value = Key;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value's bytes")
        }

        fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Key, E> {
            Ok(Key(v.into()))
        }

        fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Key, E> {
            Ok(Key(v.into_boxed_slice()))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Key, A::Error> {
            let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
            while let Some(b) = seq.next_element()? {
                v.push(b);
            }
            Ok(Key(v.into_boxed_slice()))
        }
    }

    struct Pairs;

    impl<'de> Visitor<'de> for Pairs {
        type Value = Counts;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("(value, count) pairs of distinct values")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counts, A::Error> {
            // The length is the sender's word: reserve no more than the bytes can hold.
            let reserve = seq.size_hint().unwrap_or(0).min(4096);
            let mut counts = Counts::with_capacity_and_hasher(reserve, Default::default());
            while let Some((Key(k), n)) = seq.next_element::<(Key, u64)>()? {
                if counts.len() == MAX_DISTINCT {
                    return Err(A::Error::invalid_length(
                        MAX_DISTINCT + 1,
                        &"at most MAX_DISTINCT distinct values",
                    ));
                }
                if counts.insert(k, n).is_some() {
                    return Err(A::Error::custom("a distinct value listed twice"));
                }
            }
            Ok(counts)
        }
    }
}

/// The sketch of [`Distinct`](super::Distinct): serialized as hyperloglogplus derives it; read back through a
/// mirror of its fields, checked, before it becomes a sketch (its methods index and subtract
/// with what it holds, so foreign values would panic later).
pub(super) mod sketch {
    use super::{
        Deserialize, Deserializer, HLL_PRECISION, Hll, Serialize, Serializer, SketchHasher,
    };
    use serde::de::Error;
    use std::collections::HashSet;
    use std::marker::PhantomData;

    pub(in crate::expect::text::state) fn serialize<S: Serializer>(
        hll: &Hll,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        hll.serialize(s)
    }

    pub(in crate::expect::text::state) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Box<Hll>, D::Error> {
        let fields = HllFields::deserialize(d)?;
        fields
            .check()
            .map_err(|e| D::Error::custom(format!("distinct values sketch: {e}")))?;
        // The checked fields, laid out as the sketch's own, become one through postcard.
        postcard::to_allocvec(&fields)
            .and_then(|b| postcard::from_bytes::<Hll>(&b))
            .map(Box::new)
            .map_err(D::Error::custom)
    }

    /// `HyperLogLogPlus`'s fields (hyperloglogplus 0.4), in its order, with its names.
    #[derive(Serialize, Deserialize)]
    #[serde(rename = "HyperLogLogPlus")]
    struct HllFields {
        builder: SketchHasher,
        precision: u8,
        /// Registers, registers of the sparse precision, bytes of the sparse list past which
        /// the sketch turns to registers.
        counts: (usize, usize, usize),
        /// Hash codes not yet in the sparse list.
        tmpset: HashSet<u32>,
        sparse: SparseFields,
        /// `None` while sparse.
        registers: Option<RegisterFields>,
        phantom: PhantomData<Vec<u8>>,
    }

    /// The sparse list: sorted hash codes, difference and varint encoded.
    #[derive(Serialize, Deserialize)]
    #[serde(rename = "DifIntVec")]
    struct SparseFields {
        count: usize,
        last: u32,
        buf: VarInts,
    }

    #[derive(Serialize, Deserialize)]
    #[serde(rename = "VarIntVec")]
    struct VarInts(Vec<u8>);

    /// Six-bit registers, five to a word.
    #[derive(Serialize, Deserialize)]
    #[serde(rename = "RegistersPlus")]
    struct RegisterFields {
        buf: Vec<u32>,
        count: usize,
        zeros: usize,
    }

    /// Precision of the sparse representation's hash codes.
    const PRIME: u32 = 25;
    /// Largest register value: one more than the zeros below the index's bits.
    const MAX_RANK: u32 = 64 - HLL_PRECISION as u32 + 1;

    /// Whether `code` is a hash code the sketch makes: `index << 1` of the top 25 bits of the
    /// hash when its bits below the register index are not all zero, else
    /// `index << 7 | rank << 1 | 1` with the rank of the rest of the hash (1 ..= 40).
    fn valid_code(code: u32) -> bool {
        let below_index = PRIME - u32::from(HLL_PRECISION);
        if code & 1 == 1 {
            let rank = (code >> 1) & 0x3f;
            (1..=64 - PRIME + 1).contains(&rank) && (code >> 7) & ((1 << below_index) - 1) == 0
        } else {
            code >> (PRIME + 1) == 0 && (code >> 1) & ((1 << below_index) - 1) != 0
        }
    }

    impl HllFields {
        /// What the sketch's methods rely on: its precision's sizes, consistent registers or a
        /// well-formed sparse list of valid codes.
        fn check(&self) -> Result<(), &'static str> {
            if self.precision != HLL_PRECISION {
                return Err("another precision");
            }
            let registers = 1usize << HLL_PRECISION;
            // 4 bytes per 5 registers: the sparse list's largest size.
            let sparse_bytes = 4 * registers / 5;
            if self.counts != (registers, 1 << (PRIME - 1), sparse_bytes) {
                return Err("sizes of another precision");
            }
            match &self.registers {
                Some(r) => {
                    if !self.tmpset.is_empty()
                        || self.sparse.count != 0
                        || !self.sparse.buf.0.is_empty()
                    {
                        return Err("both registers and hash codes");
                    }
                    if r.count != registers || r.buf.len() != registers.div_ceil(5) {
                        return Err("registers of another precision");
                    }
                    let mut zeros = 0;
                    for (i, &word) in r.buf.iter().enumerate() {
                        // The slots past the last register, and the top two bits, are unused.
                        let used = (registers - 5 * i).min(5) as u32;
                        if word >> (6 * used) != 0 {
                            return Err("bits outside the registers");
                        }
                        for k in 0..used {
                            let value = (word >> (6 * k)) & 0x3f;
                            zeros += usize::from(value == 0);
                            if value > MAX_RANK {
                                return Err("a register past the largest rank");
                            }
                        }
                    }
                    if zeros != r.zeros {
                        return Err("a wrong count of empty registers");
                    }
                }
                None => {
                    if self.tmpset.len() * 100 > sparse_bytes
                        || self.sparse.buf.0.len() > sparse_bytes
                    {
                        return Err("more hash codes than a sparse sketch holds");
                    }
                    if !self.tmpset.iter().all(|&c| valid_code(c)) {
                        return Err("an invalid hash code");
                    }
                    let (count, last) = decode_sparse(&self.sparse.buf.0)?;
                    if (count, last) != (self.sparse.count, self.sparse.last) {
                        return Err("a sparse list that does not match its count");
                    }
                }
            }
            Ok(())
        }
    }

    /// Decodes the sparse list as the sketch does (each code the sum of the varints so far),
    /// checking that every varint is complete and fits in 32 bits and that the codes are valid
    /// and increasing: their count and the last one.
    fn decode_sparse(buf: &[u8]) -> Result<(usize, u32), &'static str> {
        let (mut count, mut last, mut i) = (0, 0u32, 0);
        while i < buf.len() {
            let (mut dif, mut shift) = (0u32, 0);
            loop {
                let Some(&b) = buf.get(i) else {
                    return Err("a truncated hash code");
                };
                i += 1;
                // A fifth byte holds the top 4 bits and ends the varint.
                if shift == 28 && b > 0x0f {
                    return Err("a hash code past 32 bits");
                }
                dif |= u32::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    break;
                }
                shift += 7;
            }
            last = match last.checked_add(dif) {
                Some(code) if dif > 0 && valid_code(code) => code,
                _ => return Err("an invalid or unordered hash code"),
            };
            count += 1;
        }
        Ok((count, last))
    }
}

#[cfg(test)]
mod tests;
