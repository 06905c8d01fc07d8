//! The items of one split, as the loaders take them: paths and class codes, or images held in
//! memory.

use super::in_memory::{InMemoryImages, MemoryItems};
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::sync::Arc;

/// The items of one split: image paths and their class codes, and, for images held in memory
/// (IDX, CIFAR-10), the images themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageItems {
    /// The image files; for images in memory, their names (`train-images-idx3-ubyte.gz[7]`).
    pub paths: Vec<PathBuf>,
    /// The class code of each file.
    pub codes: Vec<u32>,
    /// For images in memory: the images, read from there instead of from `paths`.
    pub memory: Option<MemoryItems>,
}

impl ImageItems {
    /// Items from paths and codes of the same length.
    pub fn new(paths: Vec<PathBuf>, codes: Vec<u32>) -> Result<Self> {
        if paths.len() != codes.len() {
            return Err(Error::BadData {
                what: "image items".into(),
                reason: format!("{} paths but {} codes", paths.len(), codes.len()),
            });
        }
        Ok(Self {
            paths,
            codes,
            memory: None,
        })
    }

    /// Items held in memory: image `index[k]` of `images` with code `codes[k]`, named
    /// `name[index[k]]`. An index past the images, or lengths that differ, is an error.
    pub fn in_memory(
        images: Arc<InMemoryImages>,
        index: Vec<usize>,
        codes: Vec<u32>,
    ) -> Result<Self> {
        let what = || format!("image items of {}", images.name());
        if index.len() != codes.len() {
            return Err(Error::BadData {
                what: what(),
                reason: format!("{} images but {} codes", index.len(), codes.len()),
            });
        }
        if let Some(&i) = index.iter().find(|&&i| i >= images.len()) {
            return Err(Error::BadData {
                what: what(),
                reason: format!("item {i} asked for but there are {} images", images.len()),
            });
        }
        Ok(Self {
            paths: index.iter().map(|&i| images.item_name(i)).collect(),
            codes,
            memory: Some(MemoryItems { images, index }),
        })
    }

    /// Every image of `images`, in order, with its code (`codes` has one per image).
    pub fn from_images(images: Arc<InMemoryImages>, codes: Vec<u32>) -> Result<Self> {
        let index = (0..images.len()).collect();
        Self::in_memory(images, index, codes)
    }

    /// The items at positions `idx`, in that order (a split of these items).
    pub fn subset(&self, idx: &[usize]) -> Self {
        Self {
            paths: idx.iter().map(|&i| self.paths[i].clone()).collect(),
            codes: idx.iter().map(|&i| self.codes[i]).collect(),
            memory: self.memory.as_ref().map(|m| MemoryItems {
                images: m.images.clone(),
                index: idx.iter().map(|&i| m.index[i]).collect(),
            }),
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there is no item.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}
