//! Splitters that look at the items' paths: by grandparent folder, by a list file, by a
//! function, by a sorted key. Every [`Splitter`] (such as [`RandomSplitter`]) is one too.
//!
//! [`RandomSplitter`]: crate::RandomSplitter

use super::files::file_name;
use crate::error::{Error, Result};
use crate::split::{Splitter, split_by_order};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Splits items into `(train, valid)` indices, looking at their paths.
pub trait ItemSplitter {
    /// The training and validation indices into `items`.
    fn split_items(&self, items: &[PathBuf]) -> Result<(Vec<usize>, Vec<usize>)>;
}

impl<S: Splitter> ItemSplitter for S {
    fn split_items(&self, items: &[PathBuf]) -> Result<(Vec<usize>, Vec<usize>)> {
        self.split(items.len())
    }
}

/// fastai's `GrandparentSplitter`: items whose grandparent folder is named `train_name` are
/// training items, those under `valid_name` validation items (`train/3/1.png`,
/// `valid/7/2.png`, as in MNIST_SAMPLE and Imagenette); other items are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrandparentSplitter {
    /// The training folder's name (fastai: `train`).
    pub train_name: String,
    /// The validation folder's name (fastai: `valid`).
    pub valid_name: String,
}

impl Default for GrandparentSplitter {
    fn default() -> Self {
        Self::new("train", "valid")
    }
}

impl GrandparentSplitter {
    /// A splitter on the folders `train_name` and `valid_name`.
    pub fn new(train_name: impl Into<String>, valid_name: impl Into<String>) -> Self {
        Self {
            train_name: train_name.into(),
            valid_name: valid_name.into(),
        }
    }
}

fn grandparent(path: &Path) -> Option<&str> {
    path.parent()?.parent()?.file_name()?.to_str()
}

impl ItemSplitter for GrandparentSplitter {
    fn split_items(&self, items: &[PathBuf]) -> Result<(Vec<usize>, Vec<usize>)> {
        let of = |name: &str| -> Vec<usize> {
            (0..items.len())
                .filter(|&i| grandparent(&items[i]) == Some(name))
                .collect()
        };
        let (train, valid) = (of(&self.train_name), of(&self.valid_name));
        for (set, name) in [(&train, &self.train_name), (&valid, &self.valid_name)] {
            if set.is_empty() {
                return Err(Error::BadSplit {
                    reason: format!(
                        "no item lies in a `{name}/<class>/` folder (GrandparentSplitter looks \
                         two levels up from each file); check the folder names"
                    ),
                });
            }
        }
        Ok((train, valid))
    }
}

/// fastai's `FileSplitter`: the file names listed in a text file (such as `valid.txt`, one
/// name per line or separated by spaces) are the validation items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSplitter {
    /// The list file.
    pub path: PathBuf,
}

impl FileSplitter {
    /// A splitter reading its validation names from `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

impl ItemSplitter for FileSplitter {
    fn split_items(&self, items: &[PathBuf]) -> Result<(Vec<usize>, Vec<usize>)> {
        let text = std::fs::read_to_string(&self.path).map_err(|source| Error::Io {
            path: self.path.clone(),
            source,
        })?;
        let names: HashSet<&str> = text.split_whitespace().collect();
        let (train, valid) = split_by(items, |p| names.contains(file_name(p)));
        if valid.is_empty() && !names.is_empty() {
            return Err(Error::BadSplit {
                reason: format!(
                    "none of the {} names in {} is the file name of an item",
                    names.len(),
                    self.path.display()
                ),
            });
        }
        Ok((train, valid))
    }
}

/// fastai's `FuncSplitter`: items for which the function is true are validation items.
pub struct FuncSplitter<F>(pub F);

impl<F> std::fmt::Debug for FuncSplitter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FuncSplitter")
    }
}

impl<F: Fn(&Path) -> bool> FuncSplitter<F> {
    /// A splitter putting the items where `f` is true in the validation set.
    pub fn new(f: F) -> Self {
        Self(f)
    }
}

impl<F: Fn(&Path) -> bool> ItemSplitter for FuncSplitter<F> {
    fn split_items(&self, items: &[PathBuf]) -> Result<(Vec<usize>, Vec<usize>)> {
        Ok(split_by(items, &self.0))
    }
}

/// A time split on items: the `valid_pct` of items with the largest keys are validation items
/// (see [`split_by_order`]).
pub struct OrderSplitter<F> {
    key: F,
    valid_pct: f64,
}

impl<F> std::fmt::Debug for OrderSplitter<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OrderSplitter({})", self.valid_pct)
    }
}

impl<F, K> OrderSplitter<F>
where
    F: Fn(&Path) -> K,
    K: PartialOrd,
{
    /// A splitter ordering items by `key` and putting the last `valid_pct` in validation.
    pub fn new(key: F, valid_pct: f64) -> Self {
        Self { key, valid_pct }
    }
}

impl<F, K> ItemSplitter for OrderSplitter<F>
where
    F: Fn(&Path) -> K,
    K: PartialOrd,
{
    fn split_items(&self, items: &[PathBuf]) -> Result<(Vec<usize>, Vec<usize>)> {
        let keys: Vec<K> = items.iter().map(|p| (self.key)(p)).collect();
        split_by_order(&keys, self.valid_pct)
    }
}

fn split_by(items: &[PathBuf], is_valid: impl Fn(&Path) -> bool) -> (Vec<usize>, Vec<usize>) {
    (0..items.len()).partition(|&i| !is_valid(&items[i]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RandomSplitter;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn grandparent_splitter_uses_the_folder_two_levels_up() {
        let items = paths(&[
            "d/train/3/a.png",
            "d/valid/3/b.png",
            "d/train/7/c.png",
            "d/test/7/d.png",
            "d/valid/7/e.png",
            "train/f.png",
        ]);
        let (t, v) = GrandparentSplitter::default().split_items(&items).unwrap();
        assert_eq!((t, v), (vec![0, 2], vec![1, 4]));
        let (t, v) = GrandparentSplitter::new("train", "test")
            .split_items(&items)
            .unwrap();
        assert_eq!((t, v), (vec![0, 2], vec![3]));
        let e = GrandparentSplitter::new("train", "val")
            .split_items(&items)
            .unwrap_err();
        assert!(e.to_string().contains("`val/<class>/`"), "{e}");
    }

    #[test]
    fn file_splitter_reads_valid_names() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("valid.txt");
        std::fs::write(&list, "b.png\nd.png\n\n").unwrap();
        let items = paths(&["x/a.png", "x/b.png", "y/c.png", "y/d.png"]);
        let (t, v) = FileSplitter::new(&list).split_items(&items).unwrap();
        assert_eq!((t, v), (vec![0, 2], vec![1, 3]));
        std::fs::write(&list, "zz.png").unwrap();
        assert!(FileSplitter::new(&list).split_items(&items).is_err());
        let e = FileSplitter::new(dir.path().join("nope.txt"))
            .split_items(&items)
            .unwrap_err();
        assert!(e.to_string().contains("nope.txt"), "{e}");
    }

    #[test]
    fn func_order_and_random_splitters() {
        let items = paths(&["a/1.png", "b/2.png", "a/3.png", "b/4.png", "a/5.png"]);
        let f = FuncSplitter::new(|p: &Path| p.starts_with("b"));
        assert_eq!(f.split_items(&items).unwrap(), (vec![0, 2, 4], vec![1, 3]));
        // By order of a key read from the name: the largest 40% are validation.
        let o = OrderSplitter::new(|p: &Path| -(crate::vision::file_stem(p).len() as i32), 0.4);
        let (t, v) = o.split_items(&items).unwrap();
        assert_eq!(t.len() + v.len(), 5);
        let o = OrderSplitter::new(|p: &Path| crate::vision::file_stem(p).to_string(), 0.4);
        assert_eq!(o.split_items(&items).unwrap(), (vec![0, 1, 2], vec![3, 4]));
        let (t, v) = RandomSplitter::new(0.4, 1).split_items(&items).unwrap();
        assert_eq!((t.len(), v.len()), (3, 2));
    }
}
