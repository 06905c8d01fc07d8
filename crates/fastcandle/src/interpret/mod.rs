//! Looking at what was trained: fastai's `ClassificationInterpretation` (image and tabular
//! classifiers), `SegmentationInterpretation`, and `show_results` for classification.
//!
//! Every picture is a PNG file: Rust has no notebook.

mod classification;
mod segmentation;
mod shown;
mod tabular;
mod vision;

pub use classification::{ClassificationInterpretation, Confusion, TopLoss};
pub use segmentation::{CodeScore, SegLoss, SegmentationInterpretation};

/// A learner whose validation predictions make a [`ClassificationInterpretation`]
/// (fastai's `ClassificationInterpretation.from_learner`): an image or a tabular classifier.
pub trait Interpret {
    /// The interpretation of the learner's predictions on its validation set.
    fn interpret(&mut self) -> crate::Result<ClassificationInterpretation>;
}

impl ClassificationInterpretation {
    /// fastai's `ClassificationInterpretation.from_learner(learn)`: the learner's predictions
    /// on its validation set, with each item's loss.
    pub fn from_learner(learn: &mut impl Interpret) -> crate::Result<Self> {
        learn.interpret()
    }
}
