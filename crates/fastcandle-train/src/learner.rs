//! The Learner: a model, its data, a loss, an optimizer, metrics and callbacks, and the small
//! fit loop that runs them.

use crate::callback::{
    self, Callback, Event, GradScaler, MixedPrecision, ProgressCallback, Recorder, TerminateOnNaN,
};
use crate::check::check_lr;
use crate::error::{Cancel, Error, Result};
use crate::loss::Loss;
use crate::metrics::{IntoMetrics, Metric};
use crate::optim::{Hypers, OptFunc, Optimizer};
use candle_core::Tensor;
use candle_core::backprop::GradStore;
use fastcandle_core::grad::no_grad;
use fastcandle_core::{Batch, DataLoaders, Model};
use std::sync::Arc;

/// The state of the loop that callbacks read and change.
#[derive(Debug, Default)]
pub struct LoopState {
    /// The current epoch (from 0).
    pub epoch: usize,
    /// The number of epochs of this fit.
    pub n_epoch: usize,
    /// The batch within the current phase.
    pub iter: usize,
    /// The number of batches of the current phase.
    pub n_iter: usize,
    /// Training batches done in this fit.
    pub train_iter: usize,
    /// How far through this fit's training the loop is, in `[0, 1]`.
    pub pct_train: f64,
    /// Whether the current phase is training.
    pub training: bool,
    /// The loss of the current batch.
    pub loss_value: f32,
    /// The smoothed training loss (set by the [`Recorder`]).
    pub smooth_loss: f32,
    /// The epoch to start the next fit from (set when resuming from a checkpoint).
    pub resume_epoch: Option<usize>,
    /// Logging callbacks (progress, CSV history) stay quiet, as in fastai's `no_logging()`
    /// (set by `lr_find`).
    pub no_logging: bool,
}

/// The model, data, loss, optimizer, metrics and callbacks of one training run.
pub struct Learner {
    /// The model.
    pub model: Box<dyn Model>,
    /// The training and validation data.
    pub dls: Arc<dyn DataLoaders>,
    /// The loss.
    pub loss_func: Box<dyn Loss>,
    /// The optimizer over the model's parameter groups.
    pub opt: Optimizer,
    /// Metrics computed on the validation set after each epoch.
    pub metrics: Vec<Box<dyn Metric>>,
    /// The loop's state.
    pub state: LoopState,
    /// The current batch.
    pub batch: Option<Batch>,
    /// The model's output for the current batch.
    pub pred: Option<Tensor>,
    /// The loss of the current batch (with its graph while training).
    pub loss: Option<Tensor>,
    /// The gradients of the current batch, between backward and step.
    pub grads: Option<GradStore>,
    /// The seed of the run: dropout masks come from `(seed, epoch, batch)`.
    pub seed: u64,
    /// Keep BatchNorm parameters trainable in frozen groups (fastai's `train_bn`, default true).
    pub train_bn: bool,
    /// The default learning rate for `fit` and `fit_one_cycle` (fastai: 1e-3).
    pub lr: f64,
    /// Epochs run by earlier fits. Epoch `e` of a fit draws its shuffle and dropout masks as
    /// epoch `epochs_before + e`, so a second fit (`fine_tune`'s unfrozen phase) sees new ones,
    /// as fastai's random generator moves on.
    pub epochs_before: usize,
    cbs: Vec<(u64, Box<dyn Callback>)>,
    next_cb_id: u64,
}

impl Learner {
    /// A learner with fastai's defaults: Adam (`mom 0.9, sqr_mom 0.99, eps 1e-5, wd 0.01`),
    /// `lr = 1e-3`, a [`Recorder`] and a [`ProgressCallback`].
    pub fn new(model: Box<dyn Model>, dls: Arc<dyn DataLoaders>, loss_func: Box<dyn Loss>) -> Self {
        let opt = Optimizer::for_store(
            model.params(),
            OptFunc::Adam,
            Hypers::defaults(OptFunc::Adam),
        );
        let mut learn = Self {
            model,
            dls,
            loss_func,
            opt,
            metrics: Vec::new(),
            state: LoopState::default(),
            batch: None,
            pred: None,
            loss: None,
            grads: None,
            seed: 0,
            train_bn: true,
            lr: 1e-3,
            epochs_before: 0,
            cbs: Vec::new(),
            next_cb_id: 0,
        };
        learn.add_cb(TerminateOnNaN);
        learn.add_cb(Recorder::default());
        learn.add_cb(ProgressCallback::default());
        learn
    }

    /// Replaces the metrics: any list of metrics, as every metric constructor
    /// ([`accuracy`](crate::accuracy), [`foreground_acc`](crate::foreground_acc),
    /// [`dice_multi`](crate::dice_multi)...) returns the one type `Box<dyn Metric>`, and any
    /// other [`Metric`] converts into it (`.metrics([accuracy(), my_metric.into()])`).
    pub fn metrics(mut self, metrics: impl IntoMetrics) -> Self {
        self.metrics = metrics.into_metrics();
        self
    }

    /// Uses another update rule with its fastai defaults (and the current learning rate).
    pub fn opt_func(mut self, opt_func: OptFunc) -> Self {
        let hypers = Hypers {
            lr: self.lr,
            ..Hypers::defaults(opt_func)
        };
        self.opt = Optimizer::for_store(self.model.params(), opt_func, hypers);
        self
    }

    /// Sets the weight decay of every group.
    pub fn wd(mut self, wd: f64) -> Self {
        // Invariant: one value fits any number of groups and `wd` is a known name, the only
        // two things `set_hyper` refuses.
        self.opt
            .set_hyper("wd", &[wd])
            .expect("one value fits every group");
        self
    }

    /// Sets the seed of the run (dropout masks).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// fastai's `to_fp16()`: trains (and validates, and predicts) in f16 over f32 master
    /// weights, with dynamic loss scaling at PyTorch's `GradScaler` defaults (see
    /// [`MixedPrecision`]). Replaces any earlier mixed-precision setting.
    pub fn to_fp16(mut self) -> Self {
        self.set_mixed_precision(Some(MixedPrecision::fp16()));
        self
    }

    /// [`Learner::to_fp16`] with other loss-scaling options; an error names a bad option.
    pub fn to_fp16_with(mut self, scaler: GradScaler) -> Result<Self> {
        self.set_mixed_precision(Some(MixedPrecision::fp16_with(scaler)?));
        Ok(self)
    }

    /// fastai's `to_bf16()`: trains (and validates, and predicts) in bf16 over f32 master
    /// weights, with no loss scaling (bf16 has f32's range).
    pub fn to_bf16(mut self) -> Self {
        self.set_mixed_precision(Some(MixedPrecision::bf16()));
        self
    }

    /// fastai's `to_fp32()`: removes mixed precision; everything runs in f32 again.
    pub fn to_fp32(mut self) -> Self {
        self.set_mixed_precision(None);
        self
    }

    /// Sets mixed precision on a learner in place: `Some(MixedPrecision::bf16())` is
    /// [`Learner::to_bf16`], `None` is [`Learner::to_fp32`].
    pub fn set_mixed_precision(&mut self, mp: Option<MixedPrecision>) {
        self.remove_cbs::<MixedPrecision>();
        if let Some(mp) = mp {
            self.add_cb(mp);
        }
    }

    /// The model's output for `xs` in evaluation mode, without gradients: in the half dtype
    /// under mixed precision, the output cast back to f32.
    pub(crate) fn predict_batch(&self, xs: &[Tensor]) -> Result<Tensor> {
        let Some(mp) = self.cb::<MixedPrecision>() else {
            return Ok(no_grad(|| self.model.forward_t(xs, false))?);
        };
        let xs = mp.cast_inputs(xs)?;
        let pred = no_grad(|| self.model.forward_t(&xs, false))?;
        Ok(pred.to_dtype(candle_core::DType::F32)?)
    }

    /// Adds a callback for every later fit; returns its id.
    pub fn add_cb(&mut self, cb: impl Callback) -> u64 {
        self.add_boxed_cb(Box::new(cb))
    }

    /// Adds a boxed callback for every later fit; returns its id.
    pub fn add_boxed_cb(&mut self, cb: Box<dyn Callback>) -> u64 {
        let id = self.next_cb_id;
        self.next_cb_id += 1;
        self.cbs.push((id, cb));
        self.cbs.sort_by_key(|(_, c)| c.order());
        id
    }

    /// Removes the callback with id `id`, giving it back.
    pub fn remove_cb(&mut self, id: u64) -> Option<Box<dyn Callback>> {
        let i = self.cbs.iter().position(|(i, _)| *i == id)?;
        Some(self.cbs.remove(i).1)
    }

    /// Removes every callback of type `T`.
    pub fn remove_cbs<T: Callback>(&mut self) {
        self.cbs
            .retain(|(_, c)| !callback::as_any(c.as_ref()).is::<T>());
    }

    /// The first callback of type `T`.
    pub fn cb<T: Callback>(&self) -> Option<&T> {
        self.cbs
            .iter()
            .find_map(|(_, c)| callback::as_any(c.as_ref()).downcast_ref::<T>())
    }

    /// The first callback of type `T`, mutably.
    pub fn cb_mut<T: Callback>(&mut self) -> Option<&mut T> {
        self.cbs
            .iter_mut()
            .find_map(|(_, c)| callback::as_any_mut(c.as_mut()).downcast_mut::<T>())
    }

    /// The names of the callbacks, in the order they run.
    pub fn cb_names(&self) -> Vec<String> {
        self.cbs.iter().map(|(_, c)| c.name().to_string()).collect()
    }

    /// The [`Recorder`] (present unless removed).
    pub fn recorder(&self) -> Option<&Recorder> {
        self.cb::<Recorder>()
    }

    /// Turns the progress bar and the epoch table off or on.
    pub fn quiet(&mut self, quiet: bool) {
        if let Some(p) = self.cb_mut::<ProgressCallback>() {
            p.silent = quiet;
        }
    }

    /// fastai's `freeze_to(n)` on the model's groups (BatchNorm stays trainable with
    /// `train_bn`). As fastai's, it clears the optimizer's state (moments and step counts), so
    /// the next fit starts its statistics afresh: `fine_tune`'s unfrozen phase does not carry
    /// the head's moments over from the frozen one.
    pub fn freeze_to(&mut self, n: isize) {
        self.model.params().freeze_to(n, self.train_bn);
        self.opt.clear_state();
    }

    /// Freezes every group but the last.
    pub fn freeze(&mut self) {
        self.freeze_to(-1);
    }

    /// Makes every group trainable.
    pub fn unfreeze(&mut self) {
        self.freeze_to(0);
    }

    /// Runs `event` on every callback, in order. A cancellation stops the remaining callbacks
    /// of this event and is passed up. While a callback runs, it is taken out of the list (so
    /// it can have `&mut Learner`); every other callback stays visible through [`Learner::cb`].
    pub fn event(&mut self, event: Event) -> Result<()> {
        let ids: Vec<u64> = self.cbs.iter().map(|(id, _)| *id).collect();
        for id in ids {
            self.run_cb(id, event)?;
        }
        Ok(())
    }

    /// Runs `event` on the callback `id`, if still there.
    fn run_cb(&mut self, id: u64, event: Event) -> Result<()> {
        let Some(i) = self.cbs.iter().position(|(x, _)| *x == id) else {
            return Ok(());
        };
        let mut cb = std::mem::replace(&mut self.cbs[i].1, Box::new(Placeholder));
        let result = callback::dispatch(cb.as_mut(), event, self);
        if let Some(i) = self.cbs.iter().position(|(x, _)| *x == id) {
            self.cbs[i].1 = cb;
        }
        result
    }

    /// Runs `event` on every callback, in order, even past a failing one; returns the first
    /// error.
    fn event_every(&mut self, event: Event) -> Result<()> {
        let ids: Vec<u64> = self.cbs.iter().map(|(id, _)| *id).collect();
        let mut first = Ok(());
        for id in ids {
            first = first.and(self.run_cb(id, event));
        }
        first
    }

    /// fastai's `_with_events`: `before`, the body, then `after`. A cancellation of kind
    /// `cancel` runs `after_cancel` and is swallowed here. As fastai's `finally`, `after` also
    /// runs when a cancellation of an outer level passes through, which is then passed up; a
    /// real error is passed up at once.
    fn with_events(
        &mut self,
        before: Event,
        after_cancel: Event,
        after: Event,
        cancel: Cancel,
        body: impl FnOnce(&mut Self) -> Result<()>,
    ) -> Result<()> {
        let r = self.event(before).and_then(|_| body(self));
        match r {
            Ok(()) => self.event(after),
            Err(Error::Cancelled(c)) if c == cancel => {
                self.event(after_cancel)?;
                self.event(after)
            }
            Err(Error::Cancelled(c)) => {
                self.event(after)?;
                Err(Error::Cancelled(c))
            }
            Err(e) => Err(e),
        }
    }

    /// Trains for `n_epoch` epochs at the current hyper-parameters (at `lr` when given).
    pub fn fit(&mut self, n_epoch: usize, lr: Option<f64>) -> Result<()> {
        self.fit_with(n_epoch, lr, Vec::new())
    }

    /// Trains for `n_epoch` epochs with extra callbacks for this fit only.
    pub fn fit_with(
        &mut self,
        n_epoch: usize,
        lr: Option<f64>,
        cbs: Vec<Box<dyn Callback>>,
    ) -> Result<()> {
        // The whole loop runs on a thread of the one pool (see fastcandle_core::threads).
        fastcandle_core::threads::run_in_pool(|| self.fit_on_this_thread(n_epoch, lr, cbs))
    }

    fn fit_on_this_thread(
        &mut self,
        n_epoch: usize,
        lr: Option<f64>,
        cbs: Vec<Box<dyn Callback>>,
    ) -> Result<()> {
        if let Some(lr) = lr {
            check_lr("lr", lr)?;
            self.opt.set_hyper("lr", &[lr])?;
        }
        let start = self.state.resume_epoch.unwrap_or(0);
        let n_iter = self.dls.n_train_batches();
        if n_iter == 0 && start < n_epoch {
            return Err(Error::Invalid(format!(
                "no training step: the training set makes no batch ({}); use a smaller batch \
                 size, or keep the last incomplete batch (drop_last(false))",
                self.dls
                    .train_shape()
                    .map_or("0 training batches per epoch".to_string(), |s| s
                        .to_string())
            )));
        }
        let ids: Vec<u64> = cbs.into_iter().map(|c| self.add_boxed_cb(c)).collect();
        self.state.resume_epoch = None;
        self.state.n_epoch = n_epoch;
        self.state.train_iter = start * n_iter;
        self.state.pct_train = if n_epoch == 0 {
            0.0
        } else {
            start as f64 / n_epoch as f64
        };
        self.state.epoch = start;
        let r = self.with_events(
            Event::BeforeFit,
            Event::AfterCancelFit,
            Event::AfterFit,
            Cancel::Fit,
            |l| {
                for epoch in start..n_epoch {
                    l.state.epoch = epoch;
                    l.with_events(
                        Event::BeforeEpoch,
                        Event::AfterCancelEpoch,
                        Event::AfterEpoch,
                        Cancel::Epoch,
                        |l| l.do_epoch(),
                    )?;
                }
                Ok(())
            },
        );
        let cleanup = self.event_every(Event::CleanupFit);
        for id in ids {
            self.remove_cb(id);
        }
        self.epochs_before += n_epoch;
        self.batch = None;
        self.pred = None;
        self.loss = None;
        self.grads = None;
        r.and(cleanup)
    }

    fn do_epoch(&mut self) -> Result<()> {
        self.with_events(
            Event::BeforeTrain,
            Event::AfterCancelTrain,
            Event::AfterTrain,
            Cancel::Train,
            |l| {
                l.state.training = true;
                l.state.pct_train = l.state.epoch as f64 / l.state.n_epoch.max(1) as f64;
                l.state.n_iter = l.dls.n_train_batches();
                let epoch = l.epochs_before + l.state.epoch;
                l.all_batches(true, epoch)
            },
        )?;
        self.with_events(
            Event::BeforeValidate,
            Event::AfterCancelValidate,
            Event::AfterValidate,
            Cancel::Validate,
            |l| {
                l.state.training = false;
                l.state.n_iter = l.dls.n_valid_batches();
                l.all_batches(false, 0)
            },
        )
    }

    fn all_batches(&mut self, training: bool, epoch: usize) -> Result<()> {
        let dls = self.dls.clone();
        let iter = if training {
            dls.train(epoch)
        } else {
            dls.valid()
        };
        for (i, batch) in iter.enumerate() {
            self.state.iter = i;
            self.batch = Some(batch?);
            self.one_batch()?;
        }
        Ok(())
    }

    fn one_batch(&mut self) -> Result<()> {
        if self.state.training {
            let s = fastcandle_core::rng::mix(&[
                self.seed,
                (self.epochs_before + self.state.epoch) as u64,
                self.state.iter as u64,
            ]);
            self.model.params().reseed(s);
        }
        self.with_events(
            Event::BeforeBatch,
            Event::AfterCancelBatch,
            Event::AfterBatch,
            Cancel::Batch,
            |l| l.do_one_batch(),
        )?;
        if self.state.training {
            self.state.train_iter += 1;
            let total = (self.state.n_epoch * self.dls.n_train_batches()).max(1);
            self.state.pct_train = self.state.train_iter as f64 / total as f64;
        }
        Ok(())
    }

    fn do_one_batch(&mut self) -> Result<()> {
        // The last batch's outputs (and, in validation, the graph they keep) go before this
        // batch's forward.
        self.pred = None;
        self.loss = None;
        let batch = self
            .batch
            .as_ref()
            .ok_or(cleared("before_batch", "batch"))?;
        // Validation records nothing for backward (fastai runs it under `torch.no_grad()`), so
        // each activation goes as soon as the next layer has read it.
        let pred = if self.state.training {
            self.model.forward_t(&batch.xs, true)?
        } else {
            no_grad(|| self.model.forward_t(&batch.xs, false))?
        };
        self.pred = Some(pred);
        self.event(Event::AfterPred)?;
        let batch = self.batch.as_ref().ok_or(cleared("after_pred", "batch"))?;
        let pred = self
            .pred
            .as_ref()
            .ok_or(cleared("after_pred", "prediction"))?;
        let loss = self.loss_func.loss(pred, &batch.ys)?;
        self.state.loss_value = loss.to_dtype(candle_core::DType::F32)?.to_scalar::<f32>()?;
        self.loss = Some(loss);
        self.event(Event::AfterLoss)?;
        if !self.state.training {
            return Ok(());
        }
        // fastai's `_do_one_batch`: backward and step each run inside their events, and a
        // callback may cancel either (`Cancel::Backward`, `Cancel::Step`).
        self.with_events(
            Event::BeforeBackward,
            Event::AfterCancelBackward,
            Event::AfterBackward,
            Cancel::Backward,
            |l| l.do_backward(),
        )?;
        if self.grads.is_none() {
            // The backward was cancelled, or a callback took the gradients: no step.
            return Ok(());
        }
        self.with_events(
            Event::BeforeStep,
            Event::AfterCancelStep,
            Event::AfterStep,
            Cancel::Step,
            |l| l.do_step(),
        )?;
        // A cancelled step leaves the gradients behind: they go now, not at the next backward.
        self.grads = None;
        Ok(())
    }

    fn do_backward(&mut self) -> Result<()> {
        let loss = self
            .loss
            .as_ref()
            .ok_or(cleared("before_backward", "loss"))?;
        let grads = loss.backward()?;
        self.grads = Some(grads);
        // The loss and the predictions keep the whole graph, every activation of the batch,
        // alive: detached, the graph goes now rather than when the next batch replaces them,
        // so that two batches' activations are never held at once.
        self.loss = self.loss.as_ref().map(Tensor::detach);
        self.pred = self.pred.as_ref().map(Tensor::detach);
        Ok(())
    }

    fn do_step(&mut self) -> Result<()> {
        let grads = self
            .grads
            .take()
            .ok_or(cleared("before_step", "gradient store"))?;
        self.opt.step(&grads)?;
        Ok(())
    }

    /// The loss and metrics over `batches` (by default the validation set), in evaluation mode:
    /// `[("valid_loss", ..), (metric, ..), ...]`. The loss is averaged over items.
    pub fn validate(
        &mut self,
        batches: Option<fastcandle_core::batch::BatchIter<'_>>,
    ) -> Result<Vec<(String, f64)>> {
        fastcandle_core::threads::run_in_pool(|| self.validate_in_pool(batches))
    }

    fn validate_in_pool(
        &mut self,
        batches: Option<fastcandle_core::batch::BatchIter<'_>>,
    ) -> Result<Vec<(String, f64)>> {
        for m in self.metrics.iter_mut() {
            m.reset();
        }
        let mut total = 0f64;
        let mut count = 0usize;
        self.each_batch(batches, |b: Batch, this: &mut Self| -> Result<()> {
            let pred = this.predict_batch(&b.xs)?;
            let loss = this
                .loss_func
                .loss(&pred, &b.ys)?
                .to_dtype(candle_core::DType::F32)?
                .to_scalar::<f32>()?;
            let n = b.len();
            total += loss as f64 * n as f64;
            count += n;
            for m in this.metrics.iter_mut() {
                m.accumulate(&pred, &b.ys)?;
            }
            Ok(())
        })?;
        let mut out = vec![(
            "valid_loss".to_string(),
            if count == 0 {
                f64::NAN
            } else {
                total / count as f64
            },
        )];
        out.extend(
            self.metrics
                .iter()
                .map(|m| (m.name().to_string(), m.value())),
        );
        Ok(out)
    }
}

impl Learner {
    /// Runs `run` on each batch of `batches` (by default the validation set), in order.
    pub(crate) fn each_batch(
        &mut self,
        batches: Option<fastcandle_core::batch::BatchIter<'_>>,
        mut run: impl FnMut(Batch, &mut Self) -> Result<()>,
    ) -> Result<()> {
        match batches {
            Some(it) => {
                for b in it {
                    run(b?, self)?;
                }
            }
            None => {
                let dls = self.dls.clone();
                for b in dls.valid() {
                    run(b?, self)?;
                }
            }
        }
        Ok(())
    }
}

/// The error of a stage that finds `what` cleared by a callback.
fn cleared(stage: &'static str, what: &'static str) -> Error {
    Error::Cleared { stage, what }
}

/// Holds a callback's place while it runs.
struct Placeholder;

impl Callback for Placeholder {}
