//! fastai's vision application: [`ImageDataLoaders`] (`from_name_func`, `from_name_re`,
//! `from_folder`, `from_lists`), [`vision_learner`] (and `cnn_learner`), `predict`, `export` and
//! [`load_learner`].

mod data_loaders;
mod export;
mod learner;
pub mod prelude;

pub use data_loaders::{ImageDataLoaders, ImageDataLoadersBuilder};
pub use export::{VisionPredictor, load_learner};
pub use learner::{VisionLearner, VisionLearnerBuilder, cnn_learner, vision_learner};
