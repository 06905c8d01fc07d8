//! Splitting items into a training and a validation set.
//!
//! These splitters know only how many items there are, so they serve images and tables alike.
//! [`ColumnSplitter`](crate::ColumnSplitter) orders the rows of a table by one of its columns.

use crate::error::{Error, Result};
use fastcandle_core::rng;
use std::cmp::Ordering;

/// Splits `n` items into training and validation indices.
pub trait Splitter {
    /// The `(train, valid)` indices into `0..n`.
    fn split(&self, n: usize) -> Result<(Vec<usize>, Vec<usize>)>;
}

/// fastai's `RandomSplitter`: shuffles the indices with the seed and puts the first
/// `int(valid_pct * n)` in the validation set, the rest in the training set (both in shuffled
/// order, as fastai returns them).
///
/// The shuffle is torch's `randperm` after `torch.manual_seed(seed)`
/// ([`rng::torch_permutation`]), as in fastai: the same seed puts the same items in the
/// validation set as fastai does, so results can be compared split for split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomSplitter {
    /// The fraction of items for validation, in `[0, 1)`.
    pub valid_pct: f64,
    /// The seed of the shuffle.
    pub seed: u64,
}

impl RandomSplitter {
    /// A splitter putting `valid_pct` of the items, drawn with `seed`, in the validation set.
    pub fn new(valid_pct: f64, seed: u64) -> Self {
        Self { valid_pct, seed }
    }
}

impl Splitter for RandomSplitter {
    fn split(&self, n: usize) -> Result<(Vec<usize>, Vec<usize>)> {
        let cut = valid_count(self.valid_pct, n)?;
        let mut idx = rng::torch_permutation(n, self.seed);
        let train = idx.split_off(cut);
        Ok((train, idx))
    }
}

/// fastai's `IndexSplitter`: the given indices are the validation set (in the order given), all
/// others the training set (ascending). An index out of range or listed twice is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSplitter(pub Vec<usize>);

impl IndexSplitter {
    /// A splitter with `valid_idx` as the validation set.
    pub fn new(valid_idx: Vec<usize>) -> Self {
        Self(valid_idx)
    }
}

impl Splitter for IndexSplitter {
    fn split(&self, n: usize) -> Result<(Vec<usize>, Vec<usize>)> {
        let mut is_valid = vec![false; n];
        for &i in &self.0 {
            if i >= n {
                return Err(Error::BadSplit {
                    reason: format!("validation index {i} is out of range for {n} items"),
                });
            }
            if is_valid[i] {
                return Err(Error::BadSplit {
                    reason: format!("validation index {i} is listed twice"),
                });
            }
            is_valid[i] = true;
        }
        let train = (0..n).filter(|&i| !is_valid[i]).collect();
        Ok((train, self.0.clone()))
    }
}

/// Checks `valid_pct` and returns `int(valid_pct * n)`, as fastai computes the cut.
pub(crate) fn valid_count(valid_pct: f64, n: usize) -> Result<usize> {
    let valid_pct = crate::settings::check_valid_pct(valid_pct)?;
    // Truncation, as Python's int(): the same product of IEEE doubles gives the same count.
    Ok((valid_pct * n as f64) as usize)
}

/// A time split, as the fastai book recommends for data that grows with time: the items with
/// the largest `int(valid_pct * n)` keys go to the validation set, the others to the training
/// set. Both sets come back in ascending index order.
///
/// Items whose key is unordered (NaN) count as the smallest and go to the training set; ties
/// keep their index order.
pub fn split_by_order<K: PartialOrd>(
    keys: &[K],
    valid_pct: f64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let n = keys.len();
    let cut = valid_count(valid_pct, n)?;
    let (mut unordered, mut ordered): (Vec<usize>, Vec<usize>) =
        (0..n).partition(|&i| keys[i].partial_cmp(&keys[i]).is_none());
    ordered.sort_by(|&a, &b| keys[a].partial_cmp(&keys[b]).unwrap_or(Ordering::Equal));
    unordered.extend(ordered);
    let mut valid = unordered.split_off(n - cut);
    let mut train = unordered;
    train.sort_unstable();
    valid.sort_unstable();
    Ok((train, valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_splitter_sizes_follow_int_of_valid_pct() {
        for (n, pct, want) in [
            (10, 0.2, 2),
            (11, 0.2, 2),
            (14, 0.2, 2),
            (15, 0.2, 3),
            (100, 0.29, 28),
        ] {
            let (t, v) = RandomSplitter::new(pct, 1).split(n).unwrap();
            assert_eq!(v.len(), want, "n={n} pct={pct}");
            assert_eq!(t.len(), n - want);
            let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn random_splitter_is_deterministic_per_seed() {
        let a = RandomSplitter::new(0.2, 42).split(1000).unwrap();
        let b = RandomSplitter::new(0.2, 42).split(1000).unwrap();
        let c = RandomSplitter::new(0.2, 43).split(1000).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.1, c.1);
        // fastai's order: the validation set is the head of the seeded permutation.
        let perm = rng::torch_permutation(1000, 42);
        assert_eq!(a.1, perm[..200]);
        assert_eq!(a.0, perm[200..]);
        // fastai: `RandomSplitter(0.2, seed=42)(range(10))` is ([1, 8, 4, 5, 0, 9, 3, 7], [2, 6]).
        let (t, v) = RandomSplitter::new(0.2, 42).split(10).unwrap();
        assert_eq!((t, v), (vec![1, 8, 4, 5, 0, 9, 3, 7], vec![2, 6]));
    }

    #[test]
    fn valid_pct_out_of_range_is_an_error() {
        for pct in [-0.1, 1.0, 1.5, f64::NAN] {
            let e = RandomSplitter::new(pct, 0).split(10).unwrap_err();
            assert!(
                matches!(
                    e,
                    Error::BadOption {
                        option: "valid_pct",
                        ..
                    }
                ),
                "{pct}: {e}"
            );
            assert!(split_by_order(&[1, 2, 3], pct).is_err());
        }
        let (t, v) = RandomSplitter::new(0.0, 0).split(5).unwrap();
        assert_eq!((t.len(), v.len()), (5, 0));
    }

    #[test]
    fn index_splitter_keeps_order_and_checks_range() {
        let (t, v) = IndexSplitter::new(vec![4, 1]).split(6).unwrap();
        assert_eq!(v, vec![4, 1]);
        assert_eq!(t, vec![0, 2, 3, 5]);
        assert!(IndexSplitter(vec![6]).split(6).is_err());
        assert!(IndexSplitter::new(vec![1, 1]).split(6).is_err());
    }

    #[test]
    fn split_by_order_puts_the_latest_keys_in_valid() {
        // keys by index:       0     1     2     3     4     5     6     7     8     9
        let keys = [2013, 2010, 2019, 2011, 2018, 2012, 2015, 2017, 2014, 2016];
        let (t, v) = split_by_order(&keys, 0.3).unwrap();
        // The three largest keys are 2019 (2), 2018 (4), 2017 (7).
        assert_eq!(v, vec![2, 4, 7]);
        assert_eq!(t, vec![0, 1, 3, 5, 6, 8, 9]);
        // Dates as ISO strings order the same way.
        let dates = ["2020-03-01", "2020-01-15", "2020-02-01", "2019-12-31"];
        let (t, v) = split_by_order(&dates, 0.5).unwrap();
        assert_eq!((t, v), (vec![1, 3], vec![0, 2]));
        // NaN counts as the smallest key.
        let (t, v) = split_by_order(&[f64::NAN, 1.0, 0.5], 0.34).unwrap();
        assert_eq!((t, v), (vec![0, 2], vec![1]));
    }
}
