//! What a scan keeps of each column: its values (exactly up to a limit, then a sketch) and its
//! category counts, mergeable in file order ([`DriftSink`] is the scanner's [`Sink`]).

use crate::data::{Rejected, Sink};
use std::collections::HashMap;

/// How a column is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Not compared: its cells are read as text (anything goes) and not looked at.
    Skip,
    /// The reference, before its type is known: numbers and category counts both.
    Any,
    /// Numbers only (a numeric column of the current file: a cell that is not a number is the
    /// scanner's error at its line and column).
    Numeric,
    /// Category counts only (a categorical column of the current file).
    Text,
}

/// The limits of one scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Values kept exactly per column; past it the column is [`Numbers::Binned`].
    pub exact_values: usize,
    /// Bins of the sketch a column switches to.
    pub sketch_bins: usize,
    /// Distinct categories counted per column.
    pub categories: usize,
}

/// A bin of a [`Grid`]: how many values, and the smallest and largest of them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bin {
    /// Values in the bin.
    pub count: u64,
    /// The smallest (`+∞` while empty).
    pub min: f64,
    /// The largest (`−∞` while empty).
    pub max: f64,
}

impl Bin {
    const EMPTY: Bin = Bin {
        count: 0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    fn push(&mut self, x: f64) {
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }
}

/// The sketch of a column past [`Limits::exact_values`]: bins whose edges are order statistics
/// of the column's first `exact_values` values in file order (so the same file always gives
/// the same grid, whatever the chunks and threads), right-closed (`(e[k-1], e[k]]`), the
/// outer two open; each bin keeps its count, minimum and maximum. Counts at every edge are
/// exact, so the empirical CDF is known within one bin's mass (see `compare::envelope`).
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    /// Increasing edges.
    pub edges: Vec<f64>,
    /// `edges.len() + 1` bins.
    pub bins: Vec<Bin>,
}

impl Grid {
    /// The grid of `prefix` (the first values in file order) with about `bins` bins.
    fn new(prefix: &[f64], bins: usize) -> Self {
        let mut sorted = prefix.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let (l, b) = (sorted.len(), bins.max(1));
        let mut edges: Vec<f64> = (1..b)
            .map(|i| sorted[(i * l).div_ceil(b).clamp(1, l) - 1])
            .collect();
        edges.dedup();
        let bins = vec![Bin::EMPTY; edges.len() + 1];
        Self { edges, bins }
    }

    fn push(&mut self, x: f64) {
        let k = self.edges.partition_point(|&e| e < x);
        self.bins[k].push(x);
    }
}

/// A column's numbers.
#[derive(Clone, Debug, PartialEq)]
pub enum Numbers {
    /// Every value, in file order (sorted once the scan ends).
    Exact(Vec<f64>),
    /// A [`Grid`], once there were more than [`Limits::exact_values`].
    Binned(Grid),
}

impl Numbers {
    /// Non-missing values counted.
    pub fn len(&self) -> u64 {
        match self {
            Numbers::Exact(v) => v.len() as u64,
            Numbers::Binned(g) => g.bins.iter().map(|b| b.count).sum(),
        }
    }

    /// No value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the values of the chunk that follows (a chunk's sink is always exact: it never
    /// merged), switching to a grid past `limits.exact_values`.
    fn merge(&mut self, later: Numbers, limits: &Limits) {
        let later = match later {
            Numbers::Exact(v) => v,
            // Not reached: only the merged sink switches. Kept total all the same.
            Numbers::Binned(g) => {
                *self = Numbers::Binned(g);
                return;
            }
        };
        match self {
            Numbers::Exact(v) => {
                v.extend(later);
                if v.len() > limits.exact_values {
                    let mut grid = Grid::new(&v[..limits.exact_values], limits.sketch_bins);
                    v.iter().for_each(|&x| grid.push(x));
                    *self = Numbers::Binned(grid);
                }
            }
            Numbers::Binned(g) => later.iter().for_each(|&x| g.push(x)),
        }
    }
}

/// A column's category counts (the cell's bytes as written, unquoted).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Categories {
    /// Count per category, while there are at most [`Limits::categories`].
    pub counts: HashMap<Vec<u8>, u64>,
    /// More distinct categories than the limit: `counts` stopped growing and is incomplete.
    pub overflow: bool,
}

impl Categories {
    fn push(&mut self, cell: &[u8], limit: usize) {
        if self.overflow {
            return;
        }
        if let Some(c) = self.counts.get_mut(cell) {
            *c += 1;
        } else if self.counts.len() < limit {
            self.counts.insert(cell.to_vec(), 1);
        } else {
            self.overflow = true;
            self.counts = HashMap::new();
        }
    }

    fn merge(&mut self, later: Categories, limit: usize) {
        if self.overflow || later.overflow {
            self.overflow = true;
            self.counts = HashMap::new();
            return;
        }
        for (k, c) in later.counts {
            if let Some(mine) = self.counts.get_mut(&k) {
                *mine += c;
            } else if self.counts.len() < limit {
                self.counts.insert(k, c);
            } else {
                self.overflow = true;
                self.counts = HashMap::new();
                return;
            }
        }
    }
}

/// One column's state.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnState {
    /// How it is read.
    pub mode: Mode,
    /// Missing cells (empty, `NaN`, `NA`, `N/A`; a Parquet null).
    pub missing: u64,
    /// Cells that are not numbers (text), in modes `Any` and `Text`.
    pub text_cells: u64,
    /// Its numbers (modes `Any`, until a text cell, and `Numeric`).
    pub numbers: Numbers,
    /// Its categories (modes `Any` and `Text`): every present cell, numbers as written too.
    pub categories: Categories,
    /// The 1-based line of the first text cell within the sink's part of the file.
    pub first_text_line: Option<u64>,
    /// Whether the cell of the current row is present (set by [`Sink::text`]).
    present: bool,
}

impl ColumnState {
    fn new(mode: Mode) -> Self {
        Self {
            mode,
            missing: 0,
            text_cells: 0,
            numbers: Numbers::Exact(Vec::new()),
            categories: Categories::default(),
            first_text_line: None,
            present: false,
        }
    }
}

/// The scanner's [`Sink`] of `mlprobe drift`: one [`ColumnState`] per column of the file.
#[derive(Clone, Debug)]
pub struct DriftSink {
    /// Per column of the file, in file order.
    pub columns: Vec<ColumnState>,
    limits: Limits,
}

impl DriftSink {
    /// Empty, reading each column as `modes` says.
    pub fn new(modes: &[Mode], limits: Limits) -> Self {
        Self {
            columns: modes.iter().map(|&m| ColumnState::new(m)).collect(),
            limits,
        }
    }
}

impl Sink for DriftSink {
    type Value = f64;

    fn row(&mut self, values: &[f64], line: u64) -> Result<(), Rejected> {
        for (state, &x) in self.columns.iter_mut().zip(values) {
            match state.mode {
                Mode::Skip => {}
                Mode::Numeric => {
                    if x.is_nan() {
                        state.missing += 1;
                    } else if let Numbers::Exact(v) = &mut state.numbers {
                        v.push(x);
                    }
                }
                Mode::Any | Mode::Text => {
                    if !state.present {
                        state.missing += 1;
                    } else if x.is_nan() {
                        state.text_cells += 1;
                        state.first_text_line.get_or_insert(line);
                    } else if state.mode == Mode::Any
                        && state.text_cells == 0
                        && let Numbers::Exact(v) = &mut state.numbers
                    {
                        v.push(x);
                    }
                    state.present = false;
                }
            }
        }
        Ok(())
    }

    fn merge(&mut self, later: Self, lines_before: u64) {
        let limits = self.limits;
        for (mine, theirs) in self.columns.iter_mut().zip(later.columns) {
            mine.missing += theirs.missing;
            if mine.first_text_line.is_none() {
                mine.first_text_line = theirs.first_text_line.map(|l| l + lines_before);
            }
            mine.text_cells += theirs.text_cells;
            mine.categories.merge(theirs.categories, limits.categories);
            if mine.mode == Mode::Any && mine.text_cells > 0 {
                // Categorical after all: its numbers are not needed.
                mine.numbers = Numbers::Exact(Vec::new());
            } else {
                mine.numbers.merge(theirs.numbers, &limits);
            }
        }
    }

    /// Every column but a numeric one of the current table: a column left out of the
    /// comparison may hold anything.
    fn reads_text(&self, column: usize) -> bool {
        self.columns
            .get(column)
            .is_some_and(|c| c.mode != Mode::Numeric)
    }

    fn text(&mut self, column: usize, cell: Option<&[u8]>) {
        let limit = self.limits.categories;
        if let (Some(state), Some(cell)) = (self.columns.get_mut(column), cell)
            && matches!(state.mode, Mode::Any | Mode::Text)
        {
            state.present = true;
            state.categories.push(cell, limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(exact: usize) -> Limits {
        Limits {
            exact_values: exact,
            sketch_bins: 8,
            categories: 3,
        }
    }

    #[test]
    fn the_grid_comes_from_the_first_values_whatever_the_chunks() {
        let xs: Vec<f64> = (0..100).map(|i| f64::from((i * 37) % 101)).collect();
        let one = {
            let mut n = Numbers::Exact(Vec::new());
            n.merge(Numbers::Exact(xs.clone()), &limits(40));
            n
        };
        for chunk in [1, 7, 33] {
            let mut n = Numbers::Exact(Vec::new());
            for c in xs.chunks(chunk) {
                n.merge(Numbers::Exact(c.to_vec()), &limits(40));
            }
            assert_eq!(n, one, "chunks of {chunk}");
        }
        let Numbers::Binned(g) = &one else {
            panic!("not binned")
        };
        assert_eq!(one.len(), 100);
        // Each bin's values lie between its edges.
        for (k, b) in g.bins.iter().enumerate().filter(|(_, b)| b.count > 0) {
            assert!(k == 0 || b.min > g.edges[k - 1]);
            assert!(k == g.edges.len() || b.max <= g.edges[k]);
        }
    }

    #[test]
    fn categories_past_the_limit_overflow_in_any_order() {
        let mut a = Categories::default();
        for c in [b"x", b"y", b"z"] {
            a.push(c, 3);
        }
        assert!(!a.overflow);
        let mut b = Categories::default();
        b.push(b"w", 3);
        a.merge(b, 3);
        assert!(a.overflow && a.counts.is_empty());
    }
}
