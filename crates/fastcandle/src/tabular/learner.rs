//! `tabular_learner`: fastai's TabularModel on a `TabularDataLoaders`, ready to train.

use super::TabularDataLoaders;
use crate::error::{Error, Result};
pub use crate::prediction::Prediction;
use candle_core::{DType, Device, Tensor};
use fastcandle_core::Model;
use fastcandle_core::grad::no_grad;
use fastcandle_data::{DataFrame, TabularData, TabularLoader, TabularProcessor};
use fastcandle_models::{TabularConfig, TabularModel};
use fastcandle_train::{CrossEntropyLossFlat, IntoMetrics, Learner, Loss, MseLossFlat};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// A [`Learner`] for tabular data, which also knows how to process new rows for `predict`.
/// It dereferences to the [`Learner`], so `fit_one_cycle`, `lr_find`, `validate`... apply.
pub struct TabularLearner {
    /// The learner.
    pub learn: Learner,
    pub(crate) processor: Arc<TabularProcessor>,
    /// The loaders it was built on (`learn.dls` as their own type), for `show_results`.
    pub(crate) loader: Arc<TabularLoader>,
    pub(crate) config: TabularConfig,
    pub(crate) n_out: usize,
}

/// The options of [`tabular_learner`] (fastai's defaults: layers `[200, 100]`, no dropout).
pub struct TabularLearnerBuilder<'a> {
    dls: &'a TabularDataLoaders,
    config: TabularConfig,
    n_out: Option<usize>,
    seed: Option<u64>,
}

/// fastai's `tabular_learner(dls)`: a TabularModel sized from the data (an embedding per
/// categorical column by fastai's rule), cross-entropy for a category target or MSE for a
/// regression target, Adam, and fastai's defaults everywhere.
pub fn tabular_learner(dls: &TabularDataLoaders) -> Result<TabularLearner> {
    TabularLearner::builder(dls).build()
}

impl TabularLearner {
    /// The options of the learner.
    pub fn builder(dls: &TabularDataLoaders) -> TabularLearnerBuilder<'_> {
        TabularLearnerBuilder {
            dls,
            config: TabularConfig::default(),
            n_out: None,
            seed: None,
        }
    }

    /// Replaces the metrics.
    pub fn metrics(mut self, metrics: impl IntoMetrics) -> Self {
        self.learn.metrics = metrics.into_metrics();
        self
    }

    /// The fitted procs.
    pub fn processor(&self) -> &TabularProcessor {
        &self.processor
    }

    /// The model's options.
    pub fn config(&self) -> &TabularConfig {
        &self.config
    }

    /// Predicts every row of `rows` (a table with the training columns; the target may be absent).
    pub fn predict(&self, rows: &DataFrame) -> Result<Vec<Prediction>> {
        predict_rows(
            self.learn.model.as_ref(),
            &self.processor,
            self.learn.dls.device(),
            rows,
        )
    }

    /// Predicts one row given as `(column, value)` pairs, values as they would appear in the CSV.
    pub fn predict_one(&self, row: &[(&str, &str)]) -> Result<Prediction> {
        let df = one_row(row)?;
        Ok(self.predict(&df)?.remove(0))
    }
}

impl Deref for TabularLearner {
    type Target = Learner;
    fn deref(&self) -> &Learner {
        &self.learn
    }
}

impl DerefMut for TabularLearner {
    fn deref_mut(&mut self) -> &mut Learner {
        &mut self.learn
    }
}

impl TabularLearnerBuilder<'_> {
    /// Sizes of the hidden layers (default `[200, 100]`).
    pub fn layers(mut self, layers: impl IntoIterator<Item = usize>) -> Self {
        self.config.layers = layers.into_iter().collect();
        self
    }

    /// Every model option at once.
    pub fn config(mut self, config: TabularConfig) -> Self {
        self.config = config;
        self
    }

    /// The number of outputs (default: the number of classes, or 1 for regression).
    pub fn n_out(mut self, n_out: usize) -> Self {
        self.n_out = Some(n_out);
        self
    }

    /// The seed of the initial weights and of dropout (default: the data's seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Builds the model and the learner.
    pub fn build(self) -> Result<TabularLearner> {
        let proc = self.dls.processor();
        let classification = proc.is_classification();
        let n_out = match (self.n_out, proc.classes()) {
            (Some(n), _) => n,
            (None, Some(c)) => c.len(),
            (None, None) => 1,
        };
        let seed = self.seed.unwrap_or(self.dls.seed());
        let device = self.dls.device().clone();
        let model = TabularModel::new(
            &proc.cardinalities(),
            proc.cont_names().len(),
            n_out,
            &self.config,
            &device,
            seed,
        )?;
        let loss: Box<dyn Loss> = if classification {
            Box::new(CrossEntropyLossFlat::default())
        } else {
            Box::new(MseLossFlat)
        };
        let loader = self.dls.loaders();
        let learn = Learner::new(Box::new(model), loader.clone(), loss).seed(seed);
        Ok(TabularLearner {
            learn,
            processor: Arc::new(proc.clone()),
            loader,
            config: self.config,
            n_out,
        })
    }
}

pub(crate) fn predict_rows(
    model: &dyn Model,
    processor: &TabularProcessor,
    device: &Device,
    rows: &DataFrame,
) -> Result<Vec<Prediction>> {
    let data = processor.process(rows, None, false, "rows to predict")?;
    if data.n_rows == 0 {
        return Err(Error::Invalid("predict: no row given".into()));
    }
    predict_data(model, processor, device, data)
}

/// The predictions for processed rows (none for no row).
pub(crate) fn predict_data(
    model: &dyn Model,
    processor: &TabularProcessor,
    device: &Device,
    data: TabularData,
) -> Result<Vec<Prediction>> {
    let n = data.n_rows;
    if n == 0 {
        return Ok(Vec::new());
    }
    let cats = Tensor::from_vec(data.cats, (n, data.n_cat), device)?;
    let conts = Tensor::from_vec(data.conts, (n, data.n_cont), device)?;
    let out = no_grad(|| model.forward_t(&[cats, conts], false))?;
    let out = match processor.classes() {
        Some(_) => candle_nn::ops::softmax_last_dim(&out)?,
        None => out,
    };
    let rows: Vec<Vec<f32>> = out.to_dtype(DType::F32)?.to_vec2()?;
    Ok(rows
        .into_iter()
        .map(|probs| match processor.classes() {
            Some(classes) => Prediction::from_probs(classes, probs),
            None => Prediction {
                label: format!("{}", probs[0]),
                index: 0,
                probs,
            },
        })
        .collect())
}

pub(crate) fn one_row(row: &[(&str, &str)]) -> Result<DataFrame> {
    let columns = row
        .iter()
        .map(|(k, v)| {
            let value: Option<&str> = if v.trim().is_empty() {
                None
            } else {
                Some(v.trim())
            };
            polars::prelude::Column::new((*k).into(), [value])
        })
        .collect::<Vec<_>>();
    DataFrame::new(1, columns).map_err(|e| Error::Invalid(format!("predict: bad row: {e}")))
}
