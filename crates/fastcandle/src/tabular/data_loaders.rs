//! `TabularDataLoaders`: a table, split, processed and batched.

use crate::error::{Error, Result};
use fastcandle_core::DeviceChoice;
use fastcandle_data::settings::{check_bs, check_valid_pct};
use fastcandle_data::{
    ColumnSplitter, CsvOptions, DataFrame, IndexSplitter, Proc, RandomSplitter, Splitter,
    TabularDataLoader, TabularLoader, TabularProcessor, TabularSpec, YBlock,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;

enum Source {
    Csv(PathBuf, CsvOptions),
    Frame(DataFrame, String),
}

enum Split {
    Random { valid_pct: f64 },
    Indices(Vec<usize>),
    ByColumn { column: String, valid_pct: f64 },
}

/// The options of [`TabularDataLoaders`], with fastai's defaults: 20% random validation split,
/// batch size 64, the procs you list, and the device chosen automatically.
pub struct TabularDataLoadersBuilder {
    source: Source,
    spec: TabularSpec,
    split: Split,
    seed: Option<u64>,
    bs: usize,
    device: DeviceChoice,
    drop_missing_targets: bool,
}

/// fastai's `TabularDataLoaders`: training and validation loaders over a processed table, and
/// the fitted processor that turns new rows into model inputs.
#[derive(Clone)]
pub struct TabularDataLoaders {
    loader: Arc<TabularLoader>,
    processor: Arc<TabularProcessor>,
    source: String,
    dropped_rows: usize,
    seed: u64,
    columns: Vec<String>,
}

impl TabularDataLoaders {
    /// Starts from a CSV file (fields trimmed, empty fields missing).
    pub fn from_csv(path: impl AsRef<Path>) -> TabularDataLoadersBuilder {
        TabularDataLoadersBuilder::new(Source::Csv(
            path.as_ref().to_path_buf(),
            CsvOptions::default(),
        ))
    }

    /// Starts from a polars `DataFrame` (named `label` in errors).
    pub fn from_df(df: DataFrame, label: impl Into<String>) -> TabularDataLoadersBuilder {
        TabularDataLoadersBuilder::new(Source::Frame(df, label.into()))
    }

    /// The training and validation loaders, as the training layer sees them.
    pub fn loaders(&self) -> Arc<TabularLoader> {
        self.loader.clone()
    }

    /// The procs fitted on the training rows.
    pub fn processor(&self) -> &TabularProcessor {
        &self.processor
    }

    /// The file or frame the data came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Rows dropped because their target was missing (with `drop_missing_targets(true)`).
    pub fn dropped_rows(&self) -> usize {
        self.dropped_rows
    }

    /// The columns of the training table, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The seed of the split and of the shuffling.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The batch size.
    pub fn bs(&self) -> usize {
        self.loader.batch_size()
    }

    /// The device the batches go to.
    pub fn device(&self) -> &candle_core::Device {
        fastcandle_core::DataLoaders::device(self.loader.as_ref())
    }

    /// Rows the model has never seen, processed with the training statistics (fastai's
    /// `dls.test_dl`). With `labelled`, targets are read too, so that `validate` can score them.
    pub fn test_dl(
        &self,
        df: &DataFrame,
        labelled: bool,
        label: &str,
    ) -> Result<TabularDataLoader> {
        let data = self.processor.process(df, None, labelled, label)?;
        Ok(TabularDataLoader::new(data, self.device().clone())?.bs(self.bs())?)
    }

    /// [`TabularDataLoaders::test_dl`] on a file, read with [`super::read_like_training`] (so a
    /// UCI-style file without a header, such as `adult.test`, works too).
    pub fn test_dl_csv(&self, path: impl AsRef<Path>, labelled: bool) -> Result<TabularDataLoader> {
        let path = path.as_ref();
        let df = super::read_like_training(path, self)?;
        self.test_dl(&df, labelled, &path.display().to_string())
    }
}

impl TabularDataLoadersBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            spec: TabularSpec::default(),
            split: Split::Random { valid_pct: 0.2 },
            seed: None,
            bs: fastcandle_data::DEFAULT_BS,
            device: DeviceChoice::Auto,
            drop_missing_targets: false,
        }
    }

    /// The target column (fastai's `y_names`; one column).
    pub fn y_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.spec.y_name = names.into_iter().map(Into::into).next();
        self
    }

    /// The categorical columns.
    pub fn cat_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.spec.cat_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// The continuous columns.
    pub fn cont_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.spec.cont_names = names.into_iter().map(Into::into).collect();
        self
    }

    /// The procs (run in fastai's order whatever the order given).
    pub fn procs(mut self, procs: impl IntoIterator<Item = Proc>) -> Self {
        self.spec.procs = procs.into_iter().collect();
        self
    }

    /// Classification or regression (default: decided from the target column).
    pub fn y_block(mut self, y_block: YBlock) -> Self {
        self.spec.y_block = y_block;
        self
    }

    /// A random validation split of this share of the rows (default 0.2), in `[0, 1)` (checked
    /// by `build()`).
    pub fn valid_pct(mut self, valid_pct: f64) -> Self {
        self.split = Split::Random { valid_pct };
        self
    }

    /// These rows are the validation set (fastai's `valid_idx`).
    pub fn valid_idx(mut self, rows: impl IntoIterator<Item = usize>) -> Self {
        self.split = Split::Indices(rows.into_iter().collect());
        self
    }

    /// The last `valid_pct` of rows by ascending `column` are the validation set: the split to
    /// use for time-ordered data.
    pub fn split_by_column(mut self, column: impl Into<String>, valid_pct: f64) -> Self {
        self.split = Split::ByColumn {
            column: column.into(),
            valid_pct,
        };
        self
    }

    /// The seed of the random split and of the shuffling (default: a random seed, as fastai).
    ///
    /// # Notes
    /// One seed draws the split and epoch `k`'s training order (from `(seed, k)`), so a seed
    /// gives the same run however it is resumed. The training rows are always shuffled and the
    /// last incomplete batch dropped (fastai's tabular defaults); validation keeps its order.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The batch size (default 64); `build()` refuses 0, naming `bs`.
    ///
    /// # Notes
    /// The validation rows are cut into batches of `bs` too, all kept; training drops the last
    /// incomplete batch, so up to `bs - 1` rows, different ones each epoch, sit out an epoch.
    /// A larger `bs` means fewer optimizer steps per epoch: fastai's default learning rates
    /// assume 64.
    pub fn bs(mut self, bs: usize) -> Self {
        self.bs = bs;
        self
    }

    /// The device (default automatic: a GPU when the build has one, else the CPU).
    pub fn device(mut self, device: DeviceChoice) -> Self {
        self.device = device;
        self
    }

    /// How to read the CSV file (separator, header, missing-value markers).
    pub fn csv_options(mut self, opts: CsvOptions) -> Self {
        if let Source::Csv(_, o) = &mut self.source {
            *o = opts;
        }
        self
    }

    /// Drop rows whose target is missing instead of failing (the count is in
    /// [`TabularDataLoaders::dropped_rows`]).
    pub fn drop_missing_targets(mut self, drop: bool) -> Self {
        self.drop_missing_targets = drop;
        self
    }

    /// Checks the values set, naming the option refused (as every loader and builder does).
    fn check(&self) -> Result<()> {
        check_bs(self.bs)?;
        if let Split::Random { valid_pct } | Split::ByColumn { valid_pct, .. } = &self.split {
            check_valid_pct(*valid_pct)?;
        }
        Ok(())
    }

    /// Reads, splits, fits the procs on the training rows and builds the loaders. A setting
    /// out of range (`bs(0)`, `valid_pct(1.5)`) is an error naming it, before the file is
    /// read.
    pub fn build(self) -> Result<TabularDataLoaders> {
        self.check()?;
        let (df, label) = match self.source {
            Source::Csv(path, opts) => {
                let df = fastcandle_data::read_csv(&path, &opts)?;
                if let Some(y) = self.spec.y_name.as_deref() {
                    fastcandle_data::check_cut_last_target(&df, y, &path)?;
                }
                (df, path.display().to_string())
            }
            Source::Frame(df, label) => (df, label),
        };
        let Some(y) = self.spec.y_name.as_deref() else {
            return Err(Error::Invalid(format!(
                "{label}: no target column: call `.y_names([...])`"
            )));
        };
        let mut df = df;
        let mut dropped_rows = 0;
        if self.drop_missing_targets {
            let kept = fastcandle_data::drop_missing_targets(&df, y, &label)?;
            dropped_rows = df.height() - kept.height();
            df = kept;
        }
        let seed = crate::files::seed_or_clock(self.seed);
        let (train, valid) = match &self.split {
            Split::Random { valid_pct } => {
                RandomSplitter::new(*valid_pct, seed).split(df.height())?
            }
            Split::Indices(rows) => IndexSplitter::new(rows.clone()).split(df.height())?,
            Split::ByColumn { column, valid_pct } => {
                ColumnSplitter::new(column.clone(), *valid_pct).split_df(&df, &label)?
            }
        };
        let processor = TabularProcessor::fit_spec(&df, &train, &self.spec, &label)?;
        let train_data = processor.process(&df, Some(&train), true, &label)?;
        let valid_data = processor.process(&df, Some(&valid), true, &label)?;
        let device = self.device.device()?;
        let mut loader = TabularLoader::new(train_data, valid_data, device)?
            .bs(self.bs)?
            .seed(seed);
        if let Some(classes) = processor.classes() {
            loader = loader.with_vocab(classes.to_vec());
        }
        Ok(TabularDataLoaders {
            loader: Arc::new(loader),
            processor: Arc::new(processor),
            source: label,
            dropped_rows,
            seed,
            columns: df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })
    }
}
