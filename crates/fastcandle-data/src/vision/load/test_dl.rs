//! fastai's `test_dl`: new, unlabelled images made into batches exactly as the validation set
//! is (item transforms with their validation choices, no augmentation, the same normalisation).

use super::image_items::ImageItems;
use super::item::Pipeline;
use super::loader::ImageLoader;
use super::loader_core::LoaderSettings;
use super::prefetch::Batches;
use crate::error::{Error, Result};
use crate::settings::check_bs;
use crate::vision::transforms::item_tfms::ItemTransform;
use crate::vision::transforms::normalize::Normalize;
use candle_core::Device;
use fastcandle_core::DataLoaders;
use fastcandle_core::batch::BatchIter;
use std::path::PathBuf;
use std::sync::Arc;

/// Images to predict, batched as a loader's validation set (fastai's `dls.test_dl(items)`).
///
/// Batches are `xs = [images f32 [B, 3, H, W]]` with `ys` all 0 (there are no labels). A file
/// that cannot be decoded is an error naming it.
#[derive(Debug, Clone)]
pub struct TestImages {
    pipeline: Pipeline,
    bs: usize,
}

impl TestImages {
    /// `paths` through `item_tfms` (validation mode) and `normalize`, `bs` at a time, onto
    /// `device`. No path is an error.
    pub fn new(
        paths: Vec<PathBuf>,
        item_tfms: Vec<Arc<dyn ItemTransform>>,
        normalize: Option<Normalize>,
        bs: usize,
        device: Device,
    ) -> Result<Self> {
        if paths.is_empty() {
            return Err(Error::BadData {
                what: "the images to predict".into(),
                reason: "no image was given".into(),
            });
        }
        let codes = vec![0; paths.len()];
        Self::from_items(
            ImageItems::new(paths, codes)?,
            item_tfms,
            normalize,
            bs,
            device,
        )
    }

    /// Items (files or images in memory, with their codes) through `item_tfms` (validation
    /// mode) and `normalize`, `bs` at a time, onto `device`. No item, or `bs` 0, is an error.
    pub fn from_items(
        items: ImageItems,
        item_tfms: Vec<Arc<dyn ItemTransform>>,
        normalize: Option<Normalize>,
        bs: usize,
        device: Device,
    ) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::BadData {
                what: "the images to predict".into(),
                reason: "no image was given".into(),
            });
        }
        Ok(Self {
            pipeline: Pipeline {
                items: Arc::new(items),
                masks: None,
                item_tfms,
                aug: None,
                normalize,
                seed: 0,
                train: false,
                epoch: 0,
                skip_bad: false,
                skipped: Arc::default(),
                device,
            },
            bs: check_bs(bs)?,
        })
    }

    /// Gives the images known class codes (one per image), so that a loss and metrics can be
    /// computed over them (fastai's `test_dl(..., with_labels=True)`).
    pub fn with_codes(mut self, codes: Vec<u32>) -> Result<Self> {
        let items = &self.pipeline.items;
        if codes.len() != items.len() {
            return Err(Error::BadData {
                what: "the images to predict".into(),
                reason: format!("{} images but {} codes", items.len(), codes.len()),
            });
        }
        self.pipeline.items = Arc::new(ImageItems {
            codes,
            ..ImageItems::clone(items)
        });
        Ok(self)
    }

    /// The images, in batch order.
    pub fn paths(&self) -> &[PathBuf] {
        &self.pipeline.items.paths
    }

    /// The number of images.
    pub fn len(&self) -> usize {
        self.pipeline.items.len()
    }

    /// Whether there is no image (never, once built).
    pub fn is_empty(&self) -> bool {
        self.pipeline.items.is_empty()
    }

    /// The batches, in order, made ahead of use.
    pub fn batches(&self) -> BatchIter<'static> {
        let idx: Vec<usize> = (0..self.len()).collect();
        let plan = idx.chunks(self.bs).map(<[usize]>::to_vec).collect();
        Box::new(Batches::new(self.pipeline.clone(), plan, 1))
    }
}

impl ImageLoader {
    /// `paths` batched as this loader's validation set: the same item transforms and
    /// normalisation, the same batch size and device.
    pub fn test_dl(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        TestImages::new(
            paths,
            self.item_transforms().to_vec(),
            self.normalization().copied(),
            self.batch_size(),
            self.device().clone(),
        )
    }

    /// `items` (with their codes, so that a loss and metrics can be computed: a labelled test
    /// set such as MNIST's `t10k` files) batched as this loader's validation set.
    pub fn test_dl_items(&self, items: ImageItems) -> Result<TestImages> {
        TestImages::from_items(
            items,
            self.item_transforms().to_vec(),
            self.normalization().copied(),
            self.batch_size(),
            self.device().clone(),
        )
    }
}
