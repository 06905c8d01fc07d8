//! # fastcandle-data
//!
//! The data layer of fastcandle: splitting items, fastai's tabular pipeline on polars, and
//! fastai's image data blocks.
//!
//! - [`split`]: [`RandomSplitter`] (fastai's), [`IndexSplitter`] and [`split_by_order`] (a time
//!   split), for images and tables alike; [`ColumnSplitter`] orders a table by one column.
//! - [`tabular`]: [`read_csv`] into a polars frame of strings, a [`TabularProcessor`] fitting
//!   fastai's procs ([`Proc::FillMissing`], [`Proc::Categorify`], [`Proc::Normalize`]) on the
//!   training rows, the processed [`TabularData`], and loaders of batches
//!   ([`TabularLoader`], which implements [`fastcandle_core::DataLoaders`], and
//!   [`TabularDataLoader`] for a test set).
//! - [`vision`]: [`get_image_files`](vision::get_image_files), labellers, path splitters,
//!   decoding, [`Resize`](vision::Resize) and [`RandomResizedCrop`](vision::RandomResizedCrop),
//!   [`aug_transforms`](vision::aug_transforms), [`Normalize`](vision::Normalize), and the
//!   parallel, prefetching [`ImageLoader`] (a [`fastcandle_core::DataLoaders`]); for
//!   segmentation, [`Codes`] and the [`SegmentationLoader`] of images and masks.
//!
//! - [`audio`]: sound as pictures: WAV files, spectrograms equal to torchaudio's, SpecAugment,
//!   and the [`AudioLoader`](audio::AudioLoader) of spectrograms for any vision model.
//!
//! Errors ([`Error`]) name the file, the column and the row they are about; a setting out of
//! its range (`bs(0)`, `valid_pct(1.5)`) is an error naming the option ([`settings`]).
//!
//! ```no_run
//! use fastcandle_data::*;
//! use fastcandle_core::DataLoaders;
//! # fn main() -> fastcandle_data::Result<()> {
//! let path = std::path::Path::new("adult.csv");
//! let df = read_csv_default(path)?;
//! let (train, valid) = RandomSplitter::new(0.2, 42).split(df.height())?;
//! let procs = [Proc::Categorify, Proc::FillMissing, Proc::Normalize];
//! let proc = TabularProcessor::fit(
//!     &df, &train,
//!     &["workclass", "education", "marital-status", "occupation", "relationship", "race"],
//!     &["age", "fnlwgt", "education-num"],
//!     Some("salary"), &procs, "adult.csv")?;
//! let train = proc.process(&df, Some(&train), true, "adult.csv")?;
//! let valid = proc.process(&df, Some(&valid), true, "adult.csv")?;
//! let dls = TabularLoader::new(train, valid, candle_core::Device::Cpu)?
//!     .bs(64)?
//!     .seed(42)
//!     .with_vocab(proc.classes().unwrap_or_default().to_vec());
//! for batch in dls.train(0) {
//!     let batch = batch?;
//!     assert_eq!(batch.xs.len(), 2);
//! }
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod audio;
pub mod datasets;
pub mod error;
pub mod settings;
pub mod split;
pub mod tabular;
pub mod vision;

pub use datasets::{UntarData, Urls, untar_data};
pub use error::{Error, Result};
pub use polars::prelude::DataFrame;
pub use split::{IndexSplitter, RandomSplitter, Splitter, split_by_order};
pub use tabular::{
    CategoryMap, ColumnSplitter, CsvOptions, DEFAULT_BS, NA, PANDAS_NA_VALUES, Proc, TabularData,
    TabularDataLoader, TabularLoader, TabularProcessor, TabularSpec, Targets, UnterminatedLine,
    YBlock, check_cut_last_target, drop_missing_targets, read_csv, read_csv_default,
    unterminated_last_line,
};
pub use vision::{Codes, ImageItems, ImageLoader, SegmentationLoader};

/// The README's example, compiled as a doc-test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
