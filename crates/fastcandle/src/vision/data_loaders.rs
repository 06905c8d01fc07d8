//! `ImageDataLoaders`: image files labelled, split, transformed and batched, with fastai's
//! factory methods (`from_name_func`, `from_name_re`, `from_folder`, `from_lists`); the
//! classic formats held in memory (`from_idx`, `from_cifar`) are in `classic.rs`.

use super::options::{DataLoadersBuilder, VisionDataLoaders};
use crate::error::Result;
use crate::files::{Labelled, LabelledFiles};
use fastcandle_data::vision::{
    GrandparentSplitter, ImageLoader, IntoLabel, Labeller, TestImages, get_image_files,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The options of [`ImageDataLoaders`], with fastai's defaults: a 20% random validation split,
/// batch size 64, no item transform, no augmentation, no normalisation (a pretrained
/// [`vision_learner`](super::vision_learner) adds ImageNet's), the device chosen automatically.
/// The setters shared with the other vision builders are on [`DataLoadersBuilder`].
pub type ImageDataLoadersBuilder = DataLoadersBuilder<ImageFiles>;

/// What [`ImageDataLoadersBuilder`] reads: image files and how to label them.
pub struct ImageFiles {
    files: LabelledFiles,
    verify: bool,
}

/// fastai's `ImageDataLoaders`: the training and validation loaders of an image
/// classification set, and its classes. It dereferences to the [`ImageLoader`] underneath;
/// the accessors shared with segmentation are on [`VisionDataLoaders`].
pub type ImageDataLoaders = VisionDataLoaders<ImageLoader>;

impl ImageDataLoaders {
    /// Labels each file by `label_func` applied to its name (`"Cat_17.png"`), as fastai's
    /// `from_name_func`. A `bool` label becomes `"True"`/`"False"`.
    ///
    /// ```no_run
    /// # use fastcandle::vision::prelude::*;
    /// # fn main() -> fastcandle::Result<()> {
    /// let path = std::path::Path::new("datasets/pets_sample/images");
    /// let is_cat = |name: &str| name.starts_with(char::is_uppercase);
    /// let dls = ImageDataLoaders::from_name_func(path, get_image_files(path)?, is_cat)
    ///     .valid_pct(0.2)
    ///     .seed(42)
    ///     .item_tfms(Resize::new(224))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_name_func<F, L>(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        f: F,
    ) -> ImageDataLoadersBuilder
    where
        F: Fn(&str) -> L + Send + Sync + 'static,
        L: IntoLabel,
    {
        ImageDataLoadersBuilder::new(LabelledFiles::name_func(path.as_ref(), fnames, f))
    }

    /// Labels each file by `label_func` applied to its whole path, as fastai's `from_path_func`.
    pub fn from_path_func<F, L>(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        f: F,
    ) -> ImageDataLoadersBuilder
    where
        F: Fn(&Path) -> L + Send + Sync + 'static,
        L: IntoLabel,
    {
        ImageDataLoadersBuilder::new(LabelledFiles::path_func(path.as_ref(), fnames, f))
    }

    /// Labels each file by the first group of the regular expression `pat` matched on its name,
    /// as fastai's `from_name_re` (`r"^(.*)_\d+.jpg$"` gives the Pets breed). A name it does
    /// not match is an error naming the file.
    pub fn from_name_re(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        pat: &str,
    ) -> ImageDataLoadersBuilder {
        ImageDataLoadersBuilder::new(LabelledFiles::name_re(path.as_ref(), fnames, pat))
    }

    /// Every image under `path`, labelled by its parent folder and split by its grandparent
    /// (`train/<class>/...` and `valid/<class>/...`), as fastai's `from_folder`; with
    /// [`ImageDataLoadersBuilder::valid_pct`], a random split of every image instead.
    /// Other folder names: [`ImageDataLoadersBuilder::folders`] (ImageNet's
    /// `train/<class>/` and `val/<class>/`: `.folders("train", "val")`; fastai's MNIST PNGs:
    /// `.folders("training", "testing")`; its CIFAR-10 PNGs: `.folders("train", "test")`).
    ///
    /// ```no_run
    /// # use fastcandle::vision::prelude::*;
    /// # fn main() -> fastcandle::Result<()> {
    /// let dls = ImageDataLoaders::from_folder("data/imagenette2-160")
    ///     .folders("train", "val")
    ///     .item_tfms(Resize::new(128))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn from_folder(path: impl AsRef<Path>) -> ImageDataLoadersBuilder {
        ImageDataLoadersBuilder::new(LabelledFiles::folder(path.as_ref()))
            .splitter(GrandparentSplitter::default())
    }

    /// Files and their labels given as two lists of the same length, as fastai's `from_lists`.
    pub fn from_lists<L: IntoLabel>(
        path: impl AsRef<Path>,
        fnames: Vec<PathBuf>,
        labels: Vec<L>,
    ) -> ImageDataLoadersBuilder {
        ImageDataLoadersBuilder::new(LabelledFiles::lists(path.as_ref(), fnames, labels))
    }

    /// Writes a picture of the first `n` items of a training batch, as a PNG (fastai's
    /// `dls.show_batch`).
    pub fn show_batch(&self, path: impl AsRef<Path>, n: usize) -> Result<()> {
        Ok(self.loader.show_batch(path, n)?)
    }

    /// Data loaders over a built `loader` of the data set at `path`, whose items were labelled
    /// by `labeller` when new files can be labelled the same way.
    pub(crate) fn from_loader(
        loader: ImageLoader,
        path: PathBuf,
        labeller: Option<Arc<dyn Labeller>>,
    ) -> Self {
        Self {
            loader,
            path,
            labeller,
        }
    }

    /// New images batched as the validation set (fastai's `dls.test_dl`).
    pub fn test_dl(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        Ok(self.loader.test_dl(paths)?)
    }
}

impl ImageDataLoadersBuilder {
    fn new(files: LabelledFiles) -> Self {
        Self::with_source(ImageFiles {
            files,
            verify: false,
        })
    }

    /// The folder names of [`ImageDataLoaders::from_folder`]'s split (fastai: `train`, `valid`;
    /// ImageNet-style sets: `train`, `val`). Images under any other folder are left out.
    pub fn folders(self, train: &str, valid: &str) -> Self {
        self.splitter(GrandparentSplitter::new(train, valid))
    }

    /// Decodes every image once while building, so that a bad file is found (and, with
    /// `skip_bad`, removed) before training.
    pub fn verify(mut self, verify: bool) -> Self {
        self.source.verify = verify;
        self
    }

    /// Labels, splits and builds the loaders. A setting out of range (`bs(0)`,
    /// `valid_pct(1.5)`) is an error naming it, before any file is read.
    pub fn build(self) -> Result<ImageDataLoaders> {
        self.opts.check()?;
        let src = self.source;
        let path = src.files.path.clone();
        let Labelled {
            items,
            labeller,
            reusable,
        } = src.files.resolve(|p| get_image_files(p), "image")?;
        let mut opts = self.opts;
        let seed = opts.seed_or_clock();
        let splitter = opts.take_splitter(seed);
        let device = opts.device.device()?;
        let loader =
            ImageLoader::from_labeller(&items, labeller.as_ref(), splitter.as_ref(), device)?;
        let mut loader = opts.apply(loader, seed)?;
        if src.verify {
            loader = loader.verify()?;
        }
        Ok(ImageDataLoaders::from_loader(
            loader,
            path,
            reusable.then_some(labeller),
        ))
    }
}
