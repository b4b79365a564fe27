//! Stratified splits of row indices: the test rows out of the data, the validation part out of
//! the training rows.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// A stratified train/test split of row indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Held-out rows.
    pub test: Vec<usize>,
}

/// Splits rows so that each class keeps its proportion in the held-out part:
/// `round(n_class · test_fraction)` rows of each class, at least one row of each class with two
/// or more rows on each side. Deterministic for a seed.
pub fn stratified_split(labels: &[u8], test_fraction: f64, seed: u64) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let classes = labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0);
    let mut split = Split {
        train: Vec::new(),
        test: Vec::new(),
    };
    for class in 0..classes {
        let mut rows: Vec<usize> = (0..labels.len())
            .filter(|&i| usize::from(labels[i]) == class)
            .collect();
        if rows.is_empty() {
            continue;
        }
        rows.shuffle(&mut rng);
        let n = rows.len();
        let mut k = (n as f64 * test_fraction).round() as usize;
        if n >= 2 && test_fraction > 0.0 {
            k = k.clamp(1, n - 1);
        } else {
            k = k.min(n.saturating_sub(1));
        }
        split.test.extend_from_slice(&rows[..k]);
        split.train.extend_from_slice(&rows[k..]);
    }
    split.train.sort_unstable();
    split.test.sort_unstable();
    split
}

/// Seeds the validation split: `split_seed` mixed with this, so that it differs from the
/// test split's draw.
const VAL_SEED_MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// Splits the training rows `train` (indices into `labels`) again, stratified: `test` is the
/// validation part, `fraction` of each class ([`stratified_split`], seeded from `split_seed`);
/// both sides are indices into `labels`, sorted. A `fraction` of 0 leaves every row in `train`.
pub fn validation_split(labels: &[u8], train: &[usize], fraction: f64, split_seed: u64) -> Split {
    let sub: Vec<u8> = train.iter().map(|&i| labels[i]).collect();
    let s = stratified_split(&sub, fraction, split_seed ^ VAL_SEED_MIX);
    let back = |rows: Vec<usize>| rows.into_iter().map(|k| train[k]).collect();
    Split {
        train: back(s.train),
        test: back(s.test),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_and_deterministic() {
        let labels: Vec<u8> = (0..100)
            .map(|i| {
                if i < 60 {
                    0
                } else if i < 90 {
                    1
                } else {
                    2
                }
            })
            .collect();
        let s = stratified_split(&labels, 0.3, 42);
        assert_eq!(s, stratified_split(&labels, 0.3, 42));
        assert_ne!(s, stratified_split(&labels, 0.3, 43));
        let count = |rows: &[usize], c: u8| rows.iter().filter(|&&i| labels[i] == c).count();
        assert_eq!(
            (count(&s.test, 0), count(&s.test, 1), count(&s.test, 2)),
            (18, 9, 3)
        );
        assert_eq!(s.train.len() + s.test.len(), 100);
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn tiny_classes_keep_a_row_on_each_side() {
        let s = stratified_split(&[0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 0.1, 0);
        assert!(s.test.contains(&0) || s.test.contains(&1));
        assert!(s.train.contains(&0) || s.train.contains(&1));
    }
}
