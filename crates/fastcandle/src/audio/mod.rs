//! Sound as pictures (fastaudio's application): [`AudioDataLoaders`] (`from_name_func`,
//! `from_name_re`, `from_folder`, `from_lists`) turn recordings into spectrograms, which
//! [`audio_learner`] classifies with any body of the vision model zoo; `predict(wav)`,
//! `export` and [`load_audio_learner`].

mod data_loaders;
mod export;
mod learner;
pub mod prelude;

pub use data_loaders::{AudioDataLoaders, AudioDataLoadersBuilder};
pub use export::{AudioPredictor, load_audio_learner};
pub use learner::{AudioLearner, AudioLearnerBuilder, audio_learner};
