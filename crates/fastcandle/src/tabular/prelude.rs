//! `use fastcandle::tabular::prelude::*;` brings the tabular lesson's names.

pub use super::{
    FullTable, Prediction, TabularDataLoaders, TabularLearner, load_tabular_learner,
    read_like_training, tabular_learner,
};
pub use crate::data::Proc::{self, Categorify, FillMissing, Normalize};
pub use crate::data::{CsvOptions, DataFrame, YBlock};
pub use crate::models::TabularConfig;
pub use crate::prelude::*;
