//! A Parquet column of strings read as its dictionary ([`TextCells::Dict`]): each distinct
//! value is judged once per dictionary (parsed, matched, measured, looked up in a set), and
//! each row only counted by its key. The states come out as the row-by-row path leaves them:
//! the same counts, the same first unexpected values in row order, the same distinct values in
//! order of first appearance; only a mean or spread of numbers among the cells may differ in
//! the last bits (the copies of a value are added at once).

use super::{Item, State};
use crate::data::arrow::TextCells;
use crate::data::parse_number;
use arrow_array::{Array, ArrayRef, Int32Array};
use std::sync::Arc;

/// What the values of one dictionary are to one column's checks.
pub(super) struct Judged {
    /// The dictionary's values (the batches of a row group share them).
    values: ArrayRef,
    /// Per value: its number (`NaN`: missing, or text).
    numbers: Vec<f64>,
    /// Per value: whether it is present and not a number.
    text: Vec<bool>,
    /// Whether any value is text.
    any_text: bool,
    /// Per text check on the column (`Plan::text_by_column`'s order): per value, whether it is
    /// unexpected; empty when none is.
    unexpected: Vec<Vec<bool>>,
    /// Per value, how many rows of the batch hold it (zero between batches).
    counts: Vec<u64>,
    /// The values of the batch in the order they first appear.
    order: Vec<u32>,
}

impl State {
    /// The rows of column `c` in one batch: `keys` into `values`, whose cells are `cells` (by
    /// value, not by row); the first row is on `line`.
    pub(super) fn dictionary(
        &mut self,
        c: usize,
        keys: &Int32Array,
        values: &ArrayRef,
        cells: &TextCells<'_>,
        line: u64,
    ) {
        let mut judged = match self.dictionaries[c].take() {
            Some(j) if Arc::ptr_eq(&j.values, values) => j,
            _ => self.judge(c, values, cells),
        };
        let rows = keys.len();
        let key = |r: usize| keys.is_valid(r).then(|| keys.value(r) as usize);
        // Rows per value, in order of first appearance.
        let mut nulls = 0u64;
        for r in 0..rows {
            match key(r) {
                Some(k) => {
                    if judged.counts[k] == 0 {
                        judged.order.push(k as u32);
                    }
                    judged.counts[k] += 1;
                }
                None => nulls += 1,
            }
        }
        // Unexpected cells and numbers, in row order where order shows (the first ones
        // listed, the first text cell located).
        for (slot, &i) in self.plan.text_by_column[c].iter().enumerate() {
            let flags = &judged.unexpected[slot];
            if flags.is_empty() {
                continue;
            }
            for r in 0..rows {
                if let Some(k) = key(r)
                    && flags[k]
                    && let Some(cell) = cells.cell(k)
                {
                    self.cells[i].record(cell);
                }
            }
        }
        if judged.any_text
            && self.first_text[c].is_none()
            && let Some((r, k)) = (0..rows)
                .filter_map(|r| Some((r, key(r)?)))
                .find(|&(_, k)| judged.text[k])
            && let Some(cell) = cells.cell(k)
        {
            self.first_text[c] = Some((line + r as u64, cell.into()));
        }
        let core = &self.plan.by_column[c];
        if !core.is_empty() && judged.numbers.iter().any(|x| !x.is_nan()) {
            for r in 0..rows {
                let Some(x) = key(r).map(|k| judged.numbers[k]).filter(|x| !x.is_nan()) else {
                    continue;
                };
                for &i in core {
                    if let (Some(check), (Item::Core(kind), _)) =
                        (self.checks.get_mut(i), &self.plan.items[i])
                    {
                        check.push(kind, x);
                    }
                }
            }
        }
        // Each value's rows at once.
        let column = &mut self.columns[c];
        for &k in &judged.order {
            let k = k as usize;
            let n = std::mem::take(&mut judged.counts[k]);
            match cells.cell(k) {
                Some(cell) => {
                    if let Some(t) = &mut self.texts[c] {
                        t.push_n(cell, n);
                    }
                    if judged.text[k] {
                        column.push_text_n(n);
                    } else {
                        column.push_n(judged.numbers[k], n);
                    }
                }
                None => column.push_n(f64::NAN, n),
            }
        }
        column.push_n(f64::NAN, nulls);
        judged.order.clear();
        self.dictionaries[c] = Some(judged);
    }

    /// Judges every value of a dictionary of column `c` once.
    fn judge(&mut self, c: usize, values: &ArrayRef, cells: &TextCells<'_>) -> Judged {
        let n = values.len();
        let (mut numbers, mut text) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for k in 0..n {
            // As the row path: a present cell is text unless it is a number (`-nan` is text).
            let (x, is_text) = match cells.cell(k) {
                None => (f64::NAN, false),
                Some(cell) => {
                    let x = parse_number::<f64>(cell).unwrap_or(f64::NAN);
                    (x, x.is_nan())
                }
            };
            numbers.push(x);
            text.push(is_text);
        }
        let unexpected = self.plan.text_by_column[c]
            .iter()
            .map(|&i| {
                let Item::Text(kind) = &self.plan.items[i].0 else {
                    return Vec::new();
                };
                let state = &mut self.cells[i];
                let flags: Vec<bool> = (0..n)
                    .map(|k| cells.cell(k).is_some_and(|cell| state.judge(kind, cell)))
                    .collect();
                if flags.contains(&true) {
                    flags
                } else {
                    Vec::new()
                }
            })
            .collect();
        Judged {
            values: values.clone(),
            any_text: text.contains(&true),
            numbers,
            text,
            unexpected,
            counts: vec![0; n],
            order: Vec::new(),
        }
    }
}
