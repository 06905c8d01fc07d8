//! Tabular data: reading CSV files, fastai's procs (FillMissing, Categorify, Normalize) fitted
//! on the training rows, and loaders of model-ready batches.

pub mod categorify;
mod column;
pub mod column_split;
pub mod csv;
pub mod data;
mod fill_missing;
pub mod loader;
mod normalize;
pub mod processor;
pub mod procs;
pub mod target;

pub use categorify::{CategoryMap, NA};
pub use column_split::ColumnSplitter;
pub use csv::{
    CsvOptions, PANDAS_NA_VALUES, UnterminatedLine, read_csv, read_csv_default,
    unterminated_last_line,
};
pub use data::{TabularData, Targets};
pub use loader::{DEFAULT_BS, TabularDataLoader, TabularLoader};
pub use processor::{TabularProcessor, TabularSpec};
pub use procs::Proc;
pub use target::{YBlock, check_cut_last_target, drop_missing_targets};
