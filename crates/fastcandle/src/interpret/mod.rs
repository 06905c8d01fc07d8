//! Looking at what was trained: fastai's `ClassificationInterpretation` (image and tabular
//! classifiers), `SegmentationInterpretation`, and `show_results` for classification.
//!
//! Every picture is a PNG file: Rust has no notebook.
//!
//! ```no_run
//! use fastcandle::tabular::prelude::*;
//!
//! # fn main() -> fastcandle::Result<()> {
//! let dls = TabularDataLoaders::from_csv("datasets/adult_sample/adult.csv")
//!     .y_names(["salary"])
//!     .cat_names(["workclass", "education", "marital-status", "occupation"])
//!     .cont_names(["age", "fnlwgt", "education-num"])
//!     .procs([Categorify, FillMissing, Normalize])
//!     .build()?;
//! let mut learn = tabular_learner(&dls)?.metrics([accuracy()]);
//! learn.lr_find()?.plot("lr_find.png")?; // the curve, valley/minimum/steep/slide marked
//! learn.fit_one_cycle(3, None)?;
//! learn.plot_loss("loss.png")?;
//! println!("{}", FullTable(&learn.show_results(5)?)); // rows with a salary_pred column
//! let interp = ClassificationInterpretation::from_learner(&mut learn)?;
//! interp.plot_confusion_matrix("confusion_matrix.png", false)?;
//! println!("{:?}", interp.most_confused(2));
//! interp.plot_top_losses(9, "top_losses.png")?; // the rows as a table
//! # Ok(())
//! # }
//! ```

mod audio;
mod classification;
mod segmentation;
mod shown;
mod tabular;
mod vision;

pub use classification::{ClassificationInterpretation, Confusion, TopLoss};
pub use segmentation::{CodeScore, SegLoss, SegmentationInterpretation};

/// A learner whose validation predictions make a [`ClassificationInterpretation`]
/// (fastai's `ClassificationInterpretation.from_learner`): an image, sound or tabular
/// classifier.
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
