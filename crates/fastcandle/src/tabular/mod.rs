//! fastai's tabular application: [`TabularDataLoaders`] from a CSV file or a polars
//! `DataFrame`, and [`tabular_learner`]; `show_batch` and `show_results` decode rows back to
//! what the table said, and [`FullTable`] prints them whole.

mod data_loaders;
mod export;
mod learner;
pub mod prelude;
mod show;
mod test_file;

pub use data_loaders::{TabularDataLoaders, TabularDataLoadersBuilder};
pub use export::{TabularPredictor, load_tabular_learner};
pub use learner::{Prediction, TabularLearner, TabularLearnerBuilder, tabular_learner};
pub use show::{FullTable, frame_rows};
pub use test_file::read_like_training;
