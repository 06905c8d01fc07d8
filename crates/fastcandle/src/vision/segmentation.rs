//! `SegmentationDataLoaders`: images and their masks of class codes, split, transformed
//! together and batched (fastai's `SegmentationDataLoaders.from_label_func`).

use super::options::{
    LoaderOptions, apply_loader_options, dls_accessors, loader_option_setters, resolve_files,
};
use crate::error::{Error, Result};
use fastcandle_data::vision::{Codes, SegmentationLoader};
use std::path::{Path, PathBuf};

/// A function from an image's path to its mask's path.
type LabelFunc = Box<dyn Fn(&Path) -> PathBuf + Send + Sync>;

/// The options of [`SegmentationDataLoaders`], with fastai's defaults: a 20% random validation
/// split, batch size 64, no item transform (every image must then have the same size), no
/// augmentation, no normalisation (a pretrained [`unet_learner`](super::unet_learner) adds
/// ImageNet's), the device chosen automatically.
pub struct SegmentationDataLoadersBuilder {
    path: PathBuf,
    fnames: Vec<PathBuf>,
    label_func: LabelFunc,
    codes: Codes,
    opts: LoaderOptions,
}

/// fastai's `SegmentationDataLoaders`: the training and validation loaders of a segmentation
/// set (batches of images `[B, 3, H, W]` and masks of codes `[B, H, W]`), and its codes. It
/// dereferences to the [`SegmentationLoader`] underneath.
#[derive(Clone)]
pub struct SegmentationDataLoaders {
    loader: SegmentationLoader,
    path: PathBuf,
}

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
        SegmentationDataLoadersBuilder {
            path: path.as_ref().to_path_buf(),
            fnames,
            label_func: Box::new(label_func),
            codes,
            opts: LoaderOptions::default(),
        }
    }

    dls_accessors!(SegmentationLoader);
}

impl std::ops::Deref for SegmentationDataLoaders {
    type Target = SegmentationLoader;
    fn deref(&self) -> &SegmentationLoader {
        &self.loader
    }
}

impl SegmentationDataLoadersBuilder {
    loader_option_setters!();

    /// Pairs every image with its mask, splits and builds the loaders. A missing mask, a
    /// mask of another size than its image, or a code beyond `codes` is an error naming the
    /// files.
    pub fn build(self) -> Result<SegmentationDataLoaders> {
        let images = resolve_files(&self.path, self.fnames);
        if images.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no image file was given",
                self.path.display()
            )));
        }
        let mut opts = self.opts;
        let seed = opts.seed_or_clock();
        let splitter = opts.take_splitter(seed);
        let device = opts.device.device()?;
        let loader = SegmentationLoader::from_label_func(
            &images,
            self.label_func,
            splitter.as_ref(),
            self.codes,
            device,
        )?;
        let loader = apply_loader_options!(loader, opts, seed);
        Ok(SegmentationDataLoaders {
            loader,
            path: self.path,
        })
    }
}
