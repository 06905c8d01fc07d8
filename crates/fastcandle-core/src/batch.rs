//! The contract between data loaders and the training loop.

use crate::error::Result;
use candle_core::{Device, Tensor};

/// One mini-batch: the model's inputs and the targets, already on the training device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The inputs, in the order the model takes them (for tabular data: categorical codes, then
    /// continuous values; for images: the image tensor).
    pub xs: Vec<Tensor>,
    /// The targets (class indices as `u32`, or regression values as `f32`).
    pub ys: Tensor,
}

impl Batch {
    /// The number of items in the batch.
    pub fn len(&self) -> usize {
        self.ys.dims().first().copied().unwrap_or(0)
    }

    /// Whether the batch holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A boxed stream of batches.
pub type BatchIter<'a> = Box<dyn Iterator<Item = Result<Batch>> + Send + 'a>;

/// A training and a validation data loader, as the [`Learner`] of fastcandle-train sees them.
///
/// Shuffling of the training set depends only on the loader's seed and the epoch, so that a fit
/// resumed at epoch `k` sees the batches that the uninterrupted fit saw.
///
/// [`Learner`]: https://docs.rs/fastcandle-train
pub trait DataLoaders: Send + Sync {
    /// The training batches of `epoch` (shuffled, incomplete last batch dropped).
    fn train(&self, epoch: usize) -> BatchIter<'_>;
    /// The validation batches, in order, all items included.
    fn valid(&self) -> BatchIter<'_>;
    /// How many batches [`DataLoaders::train`] yields per epoch.
    fn n_train_batches(&self) -> usize;
    /// How many batches [`DataLoaders::valid`] yields.
    fn n_valid_batches(&self) -> usize;
    /// The device the batches are put on.
    fn device(&self) -> &Device;
    /// The validation batches, in order, all items included, with the training transforms
    /// (random crops, augmentation) drawn afresh for pass `pass`: what test-time augmentation
    /// averages over (fastai's `tta` sets the validation set's `split_idx` to 0). `None`, the
    /// default, for loaders that cannot apply their training transforms to validation items.
    fn valid_augmented(&self, pass: usize) -> Option<BatchIter<'_>> {
        let _ = pass;
        None
    }
    /// The names of the classes, when the target is a category.
    fn vocab(&self) -> Option<&[String]> {
        None
    }
    /// The training set's size, batch size and whether its last incomplete batch is dropped,
    /// when the loader knows them: what an error about the training batches names.
    fn train_shape(&self) -> Option<TrainShape> {
        None
    }
}

/// How a training set is cut into batches: for messages such as "no training step".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrainShape {
    /// The number of training items.
    pub items: usize,
    /// The batch size.
    pub bs: usize,
    /// Whether the last incomplete batch is dropped.
    pub drop_last: bool,
}

impl std::fmt::Display for TrainShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} training items at batch size {}", self.items, self.bs)?;
        if self.drop_last {
            f.write_str(", the last incomplete batch dropped")?;
        }
        Ok(())
    }
}
