//! What text expectations accumulate, chunk by chunk, merged in file order.
//!
//! Every state is serializable (serde), so that the state of a part computed on another machine
//! can be shipped as bytes and merged; deserializing rejects what no input gives.

use super::{Dtype, HLL_PRECISION, MAX_DISTINCT, PARTIAL, TextKind};
use crate::data::cell::{Decimal, parse_number};
use hyperloglogplus::{HyperLogLog, HyperLogLogPlus};
use indexmap::IndexMap;
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};
use wire::SketchHasher;

mod wire;

/// What one check accumulates: unexpected cells and the first of them.
///
/// Serialized without its copy of the expression: a deserialized state clones it again from
/// the check's when it first needs it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CellState {
    pub(super) unexpected: u64,
    pub(super) partial: Vec<String>,
    /// This chunk's own copy of a `match_regex` expression: a clone has its own cache pool, so
    /// threads do not contend for the shared one.
    #[serde(skip)]
    regex: Option<Regex>,
}

impl CellState {
    /// One present cell.
    #[inline]
    pub fn push(&mut self, kind: &TextKind, cell: &[u8]) {
        if self.judge(kind, cell) {
            self.record(cell);
        }
    }

    /// Whether a present cell is unexpected (false for a check that does not judge cells one
    /// by one).
    #[inline]
    pub fn judge(&mut self, kind: &TextKind, cell: &[u8]) -> bool {
        match kind {
            TextKind::MatchRegex { regex, .. } => !regex.is_match(cell, &mut self.regex),
            _ => kind.by_cell() && kind.unexpected(cell),
        }
    }

    /// Counts an unexpected cell (and lists it among the first ones).
    #[inline]
    pub fn record(&mut self, cell: &[u8]) {
        self.unexpected += 1;
        if self.partial.len() < PARTIAL {
            self.partial
                .push(String::from_utf8_lossy(cell).into_owned());
        }
    }

    /// Appends the state of the next part of the input (the count saturates at `u64::MAX`).
    pub fn merge(&mut self, later: &CellState) {
        self.unexpected = self.unexpected.saturating_add(later.unexpected);
        let room = PARTIAL - self.partial.len();
        self.partial
            .extend(later.partial.iter().take(room).cloned());
    }
}

/// The kinds of a column's present cells, for its dtype.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Census {
    /// Integers (`[+-]digits`).
    pub ints: u64,
    /// Other numbers.
    pub floats: u64,
    /// `true` / `false`, any case.
    pub bools: u64,
    /// Anything else.
    pub texts: u64,
}

impl Census {
    /// One present cell.
    #[inline]
    pub fn push(&mut self, cell: &[u8]) {
        self.push_n(cell, 1);
    }

    /// `n` copies of a present cell.
    #[inline]
    pub fn push_n(&mut self, cell: &[u8], n: u64) {
        let d = Decimal::read(cell, 0);
        let kind = if d.end == cell.len() && d.len > usize::from(d.point) {
            if d.point {
                &mut self.floats
            } else {
                &mut self.ints
            }
        } else if cell.eq_ignore_ascii_case(b"true") || cell.eq_ignore_ascii_case(b"false") {
            &mut self.bools
        } else if parse_number::<f64>(cell).is_some() {
            &mut self.floats
        } else {
            &mut self.texts
        };
        *kind += n;
    }

    /// Adds another part's counts (saturating at `u64::MAX`).
    pub fn merge(&mut self, other: &Census) {
        self.ints = self.ints.saturating_add(other.ints);
        self.floats = self.floats.saturating_add(other.floats);
        self.bools = self.bools.saturating_add(other.bools);
        self.texts = self.texts.saturating_add(other.texts);
    }

    /// The dtype pandas infers for such a column with `missing` missing values.
    pub fn dtype(&self, missing: u64) -> Dtype {
        let numbers = self.ints.saturating_add(self.floats);
        if self.texts > 0 || (self.bools > 0 && (numbers > 0 || missing > 0)) {
            Dtype::Object
        } else if self.bools > 0 {
            Dtype::Bool
        } else if self.floats > 0 || missing > 0 || self.ints == 0 {
            Dtype::Float64
        } else {
            Dtype::Int64
        }
    }
}

type Hll = HyperLogLogPlus<Vec<u8>, SketchHasher>;

/// A column's distinct values: exact counts in order of first appearance up to
/// [`MAX_DISTINCT`], then a HyperLogLog++ sketch.
///
/// Serialized (serde) as the exact counts' `(value, count)` pairs, or as the sketch's fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Distinct {
    /// Every distinct value and its count.
    Exact(#[serde(with = "wire::exact")] IndexMap<Box<[u8]>, u64, super::Hasher>),
    /// More than [`MAX_DISTINCT`] values: their sketch.
    Sketch(#[serde(with = "wire::sketch")] Box<Hll>),
}

impl Default for Distinct {
    fn default() -> Self {
        Self::Exact(IndexMap::default())
    }
}

impl Distinct {
    fn sketch() -> Box<Hll> {
        Box::new(
            HyperLogLogPlus::new(HLL_PRECISION, SketchHasher)
                .expect("precision 14 is within 4..=18"),
        )
    }

    /// One present cell.
    #[inline]
    pub fn push(&mut self, cell: &[u8]) {
        self.push_n(cell, 1);
    }

    /// `n` copies of a present cell.
    #[inline]
    pub fn push_n(&mut self, cell: &[u8], n: u64) {
        self.push_n_within(cell, n, MAX_DISTINCT);
    }

    fn push_n_within(&mut self, cell: &[u8], n: u64, limit: usize) {
        match self {
            Self::Exact(map) => {
                if let Some(count) = map.get_mut(cell) {
                    // Saturating: the counts of a merged state from elsewhere may be any.
                    *count = count.saturating_add(n);
                } else if map.len() < limit {
                    map.insert(cell.into(), n);
                } else {
                    let mut hll = Self::sketch();
                    for key in map.keys() {
                        hll.insert(&**key);
                    }
                    hll.insert(cell);
                    *self = Self::Sketch(hll);
                }
            }
            Self::Sketch(hll) => hll.insert(cell),
        }
    }

    /// Appends the counts of the next part of the input (first appearances stay in order).
    pub fn merge(&mut self, later: &Distinct) {
        self.merge_with_limit(later, MAX_DISTINCT);
    }

    fn merge_with_limit(&mut self, later: &Distinct, limit: usize) {
        match later {
            Self::Exact(map) => {
                for (k, &n) in map {
                    self.push_n_within(k, n, limit);
                }
            }
            Self::Sketch(other) => {
                let mut hll = match std::mem::take(self) {
                    Self::Sketch(h) => h,
                    Self::Exact(map) => {
                        let mut h = Self::sketch();
                        for key in map.keys() {
                            h.insert(&**key);
                        }
                        h
                    }
                };
                // Same precision and hasher: merging cannot fail.
                let _ = hll.merge(other);
                *self = Self::Sketch(hll);
            }
        }
    }

    /// The number of distinct values: exact, or the sketch's estimate.
    pub(super) fn count(&self) -> (u64, bool) {
        match self {
            Self::Exact(map) => (map.len() as u64, true),
            Self::Sketch(hll) => (hll.clone().count().round() as u64, false),
        }
    }
}

/// Per column read as text: its census and distinct values, each when a check needs it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ColumnText {
    /// The kinds of its cells (for `of_type`).
    pub census: Option<Census>,
    /// Its distinct values.
    pub distinct: Option<Distinct>,
}

impl ColumnText {
    /// A column whose checks need its distinct values (`counts`), its census (`census`), both
    /// or neither.
    pub fn new(counts: bool, census: bool) -> Self {
        Self {
            census: census.then(Census::default),
            distinct: counts.then(Distinct::default),
        }
    }

    /// One present cell.
    #[inline]
    pub fn push(&mut self, cell: &[u8]) {
        self.push_n(cell, 1);
    }

    /// `n` copies of a present cell.
    #[inline]
    pub fn push_n(&mut self, cell: &[u8], n: u64) {
        if let Some(c) = &mut self.census {
            c.push_n(cell, n);
        }
        if let Some(d) = &mut self.distinct {
            d.push_n(cell, n);
        }
    }

    /// Appends the next part's state.
    pub fn merge(&mut self, later: &ColumnText) {
        if let (Some(a), Some(b)) = (&mut self.census, &later.census) {
            a.merge(b);
        }
        if let (Some(a), Some(b)) = (&mut self.distinct, &later.distinct) {
            a.merge(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expect::text::HLL_RELATIVE_ERROR;

    #[test]
    fn dtypes_are_what_pandas_read_csv_infers() {
        let dtype = |cells: &[&str], missing: u64| {
            let mut c = Census::default();
            cells.iter().for_each(|x| c.push(x.as_bytes()));
            c.dtype(missing).name()
        };
        assert_eq!(dtype(&["1", "-2", "+3", "007"], 0), "int64");
        assert_eq!(dtype(&["1", "2"], 1), "float64");
        assert_eq!(dtype(&["1", "2.5", "1e3", "inf"], 0), "float64");
        assert_eq!(dtype(&["true", "False", "TRUE"], 0), "bool");
        assert_eq!(dtype(&["true", "false"], 1), "object");
        assert_eq!(dtype(&["true", "1"], 0), "object");
        assert_eq!(dtype(&["a", "1"], 0), "object");
        assert_eq!(dtype(&[], 3), "float64");
    }

    #[test]
    fn distinct_values_merge_in_order_and_switch_to_a_sketch_past_the_limit() {
        let mut a = Distinct::default();
        for v in ["b", "a", "b"] {
            a.push(v.as_bytes());
        }
        let mut b = Distinct::default();
        for v in ["c", "a"] {
            b.push(v.as_bytes());
        }
        a.merge(&b);
        let Distinct::Exact(map) = &a else { panic!() };
        let got: Vec<(&[u8], u64)> = map.iter().map(|(k, &n)| (&**k, n)).collect();
        assert_eq!(got, [(&b"b"[..], 2), (b"a", 2), (b"c", 1)]);
        // Past a limit of 1,000 the count is the sketch's, within 3 standard errors.
        let (mut x, mut y) = (Distinct::default(), Distinct::default());
        for i in 0..30_000u32 {
            let cell = i.to_string();
            let part = if i % 2 == 0 { &mut x } else { &mut y };
            part.push_n_within(cell.as_bytes(), 1, 1000);
        }
        x.merge_with_limit(&y, 1000);
        let (n, exact) = x.count();
        assert!(!exact);
        let err = (n as f64 - 30_000.0).abs() / 30_000.0;
        assert!(err < 3.0 * HLL_RELATIVE_ERROR, "{n}");
    }
}
