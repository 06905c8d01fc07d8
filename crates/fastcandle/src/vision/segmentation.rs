//! `SegmentationDataLoaders`: images and their masks of class codes, split, transformed
//! together and batched (fastai's `SegmentationDataLoaders.from_label_func`).

use super::options::{DataLoadersBuilder, VisionDataLoaders, resolve_files};
use crate::error::{Error, Result};
use fastcandle_data::vision::{Codes, SegmentationLoader};
use std::path::{Path, PathBuf};

/// A function from an image's path to its mask's path.
type LabelFunc = Box<dyn Fn(&Path) -> PathBuf + Send + Sync>;

/// The options of [`SegmentationDataLoaders`], with fastai's defaults: a 20% random validation
/// split, batch size 64, no item transform (every image must then have the same size), no
/// augmentation, no normalisation (a pretrained [`unet_learner`](super::unet_learner) adds
/// ImageNet's), the device chosen automatically. The setters shared with the other vision
/// builders are on [`DataLoadersBuilder`].
pub type SegmentationDataLoadersBuilder = DataLoadersBuilder<SegmentationFiles>;

/// What [`SegmentationDataLoadersBuilder`] reads: images, the function naming their masks,
/// and the codes.
pub struct SegmentationFiles {
    path: PathBuf,
    fnames: Vec<PathBuf>,
    label_func: LabelFunc,
    codes: Codes,
}

/// fastai's `SegmentationDataLoaders`: the training and validation loaders of a segmentation
/// set (batches of images `[B, 3, H, W]` and masks of codes `[B, H, W]`), and its codes. It
/// dereferences to the [`SegmentationLoader`] underneath; the accessors shared with
/// classification are on [`VisionDataLoaders`].
pub type SegmentationDataLoaders = VisionDataLoaders<SegmentationLoader>;

impl SegmentationDataLoaders {
    /// The images `fnames` (relative ones under `path`), each with the mask `label_func` names,
    /// whose pixel values index `codes`: fastai's `from_label_func`.
    ///
    /// ```no_run
    /// # use fastcandle::vision::prelude::*;
    /// # fn main() -> fastcandle::Result<()> {
    /// let path = std::path::PathBuf::from("datasets/camvid_sample");
    /// let labels = path.join("labels");
    /// let dls = SegmentationDataLoaders::from_label_func(
    ///     &path,
    ///     get_image_files(path.join("images"))?,
    ///     move |p| labels.join(format!("{}_P.png", file_stem(p))),
    ///     Codes::from_file(path.join("codes.txt"))?,
    /// )
    /// .bs(8)
    /// .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_label_func(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        label_func: impl Fn(&Path) -> PathBuf + Send + Sync + 'static,
        codes: Codes,
    ) -> SegmentationDataLoadersBuilder {
        SegmentationDataLoadersBuilder::with_source(SegmentationFiles {
            path: path.as_ref().to_path_buf(),
            fnames,
            label_func: Box::new(label_func),
            codes,
        })
    }

    /// Writes a picture of the first `n` images of a training batch beside their masks, as a
    /// PNG (fastai's `dls.show_batch`).
    pub fn show_batch(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        Ok(self.loader.show_batch(path, n)?)
    }
}

impl SegmentationDataLoadersBuilder {
    /// Pairs every image with its mask, splits and builds the loaders. A setting out of range
    /// (`bs(0)`, `valid_pct(1.5)`) is an error naming it, before any file is read; a missing
    /// mask, a mask of another size than its image, or a code beyond `codes` is an error
    /// naming the files.
    pub fn build(self) -> Result<SegmentationDataLoaders> {
        self.opts.check()?;
        let src = self.source;
        let images = resolve_files(&src.path, src.fnames);
        if images.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no image file was given",
                src.path.display()
            )));
        }
        let mut opts = self.opts;
        let seed = opts.seed_or_clock();
        let splitter = opts.take_splitter(seed);
        let device = opts.device.device()?;
        let loader = SegmentationLoader::from_label_func(
            &images,
            src.label_func,
            splitter.as_ref(),
            src.codes,
            device,
        )?;
        Ok(SegmentationDataLoaders {
            loader: opts.apply(loader, seed)?,
            path: src.path,
            labeller: None,
        })
    }
}
