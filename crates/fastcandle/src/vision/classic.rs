//! `ImageDataLoaders` over the classic formats held in memory: MNIST-style IDX folders
//! (`from_idx`) and the CIFAR-10 binary batches (`from_cifar`). Their images go through the
//! same loader, item transforms, augmentation and normalisation as files do, without a file
//! per image.

use super::ImageDataLoaders;
use super::options::DataLoadersBuilder;
use crate::error::{Error, Result};
use fastcandle_data::vision::{
    CIFAR10_CLASSES, CifarFiles, IdxFiles, ImageItems, ImageLoader, MNIST_CLASSES,
};
use std::path::{Path, PathBuf};

/// Which format a folder holds.
enum Format {
    Idx,
    Cifar,
}

/// The options of [`ImageDataLoaders::from_idx`] and [`ImageDataLoaders::from_cifar`]: by
/// default the files' own split (the training files train, the test files validate, as fastai's
/// MNIST and CIFAR folders do), batch size 64, no transform, the device chosen automatically.
/// `valid_pct` or `splitter` split the training files instead (the test files then stay out).
/// The setters shared with the other vision builders are on [`DataLoadersBuilder`].
pub type InMemoryDataLoadersBuilder = DataLoadersBuilder<InMemoryFiles>;

/// What [`InMemoryDataLoadersBuilder`] reads: a folder of IDX or CIFAR-10 files.
pub struct InMemoryFiles {
    path: PathBuf,
    format: Format,
    classes: Option<Vec<String>>,
}

impl ImageDataLoaders {
    /// The four IDX files of an MNIST-style folder (`train-images-idx3-ubyte.gz`,
    /// `train-labels-idx1-ubyte.gz`, `t10k-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`,
    /// gzipped or not), held in memory: grey 28x28 images, classes `"0"`..`"9"` unless
    /// [`InMemoryDataLoadersBuilder::classes`] names them.
    ///
    /// ```no_run
    /// # use fastcandle::vision::prelude::*;
    /// # fn main() -> fastcandle::Result<()> {
    /// let dls = ImageDataLoaders::from_idx("data/fashion-mnist")
    ///     .classes(FASHION_MNIST_CLASSES)
    ///     .seed(42)
    ///     .build()?;
    /// assert_eq!(dls.valid_items().len(), 10_000);
    /// # Ok(()) }
    /// ```
    pub fn from_idx(path: impl AsRef<Path>) -> InMemoryDataLoadersBuilder {
        InMemoryDataLoadersBuilder::new(path, Format::Idx)
    }

    /// The CIFAR-10 binary batches of `path` (or of its `cifar-10-batches-bin/`): the five
    /// `data_batch_*.bin` train, `test_batch.bin` validates, the classes from
    /// `batches.meta.txt` (else CIFAR-10's). Images are RGB 32x32.
    pub fn from_cifar(path: impl AsRef<Path>) -> InMemoryDataLoadersBuilder {
        InMemoryDataLoadersBuilder::new(path, Format::Cifar)
    }
}

impl InMemoryDataLoadersBuilder {
    fn new(path: impl AsRef<Path>, format: Format) -> Self {
        Self::with_source(InMemoryFiles {
            path: path.as_ref().to_path_buf(),
            format,
            classes: None,
        })
    }

    /// Names the classes, in code order (such as
    /// [`FASHION_MNIST_CLASSES`](fastcandle_data::vision::FASHION_MNIST_CLASSES)); a label
    /// past them is an error naming the file.
    pub fn classes<S: ToString>(mut self, classes: impl IntoIterator<Item = S>) -> Self {
        self.source.classes = Some(classes.into_iter().map(|c| c.to_string()).collect());
        self
    }

    /// Reads the files, splits and builds the loaders. A setting out of range (`bs(0)`,
    /// `valid_pct(1.5)`) is an error naming it, before any file is read.
    pub fn build(self) -> Result<ImageDataLoaders> {
        self.opts.check()?;
        let src = self.source;
        let (train, test, classes) = match src.format {
            Format::Idx => {
                let classes = src
                    .classes
                    .unwrap_or_else(|| MNIST_CLASSES.iter().map(|c| c.to_string()).collect());
                let (train, test) = IdxFiles::find(&src.path)?.read(classes.len())?;
                (train, test, classes)
            }
            Format::Cifar => {
                let files = CifarFiles::find(&src.path)?;
                let classes = match src.classes {
                    Some(c) => c,
                    None if files.meta.is_some() => files.classes()?,
                    None => CIFAR10_CLASSES.iter().map(|c| c.to_string()).collect(),
                };
                let (train, test) = files.read()?;
                (train, test, classes)
            }
        };
        if let Some(&c) = train.codes.iter().chain(&test.codes).max()
            && c as usize >= classes.len()
        {
            return Err(Error::Invalid(format!(
                "{}: a label is {c} but {} classes are named",
                src.path.display(),
                classes.len()
            )));
        }
        let mut opts = self.opts;
        let seed = opts.seed_or_clock();
        let (train, valid) = if opts.splitter.is_some() || opts.valid_pct.is_some() {
            let (t, v) = opts.take_splitter(seed).split_items(&train.paths)?;
            (train.subset(&t), train.subset(&v))
        } else {
            (train, test)
        };
        let device = opts.device.device()?;
        let loader = ImageLoader::new(train, valid, classes, device)?;
        // Items held in memory have no file name to label again.
        Ok(ImageDataLoaders::from_loader(
            opts.apply(loader, seed)?,
            src.path,
            None,
        ))
    }
}

/// Items of the test files of `path` (IDX or CIFAR-10), for scoring a model trained with a
/// random split: `None` when `path` holds neither format.
pub fn classic_test_items(path: &Path, n_classes: usize) -> Result<Option<ImageItems>> {
    if IdxFiles::is_idx_folder(path) {
        return Ok(Some(IdxFiles::find(path)?.read(n_classes)?.1));
    }
    if CifarFiles::is_cifar_folder(path) {
        return Ok(Some(CifarFiles::find(path)?.read()?.1));
    }
    Ok(None)
}
