//! What `vision_learner` and `unet_learner` share: the options (weights, metrics, seed,
//! normalisation) with their builder setters ([`LearnerBuilder`]), the making of the `Learner`
//! (ImageNet normalisation for a pretrained body, the loss, freezing), and the accessors of the
//! learner made ([`AppLearner`]).

use super::options::VisionDataLoaders;
use fastcandle_core::{DataLoaders, Model};
use fastcandle_data::vision::LoaderSettings;
use fastcandle_models::{Arch, Pretrained};
use fastcandle_train::{IntoMetrics, Learner, Loss, Metric};
use std::sync::Arc;

/// The shared options, with fastai's defaults: no pretrained weights unless told, no metric,
/// the data's seed, ImageNet normalisation added for a pretrained body.
pub(crate) struct LearnerOptions {
    pub(crate) pretrained: Pretrained,
    pub(crate) metrics: Vec<Box<dyn Metric>>,
    pub(crate) seed: Option<u64>,
    pub(crate) normalize: bool,
}

impl Default for LearnerOptions {
    fn default() -> Self {
        Self {
            pretrained: Pretrained::No,
            metrics: Vec::new(),
            seed: None,
            normalize: true,
        }
    }
}

impl LearnerOptions {
    /// Whether the body starts from pretrained weights.
    pub(crate) fn is_pretrained(&self) -> bool {
        self.pretrained != Pretrained::No
    }

    /// Whether the data should get ImageNet's normalisation (it has none, `has_norm` false).
    pub(crate) fn adds_normalize(&self, has_norm: bool) -> bool {
        self.is_pretrained() && self.normalize && !has_norm
    }

    /// The learner on `model` and `dls` with `loss`, seeded, with the metrics; frozen when the
    /// body is pretrained (only the last group and the BatchNorm layers train).
    pub(crate) fn learner(
        self,
        model: Box<dyn Model>,
        dls: Arc<dyn DataLoaders>,
        loss: Box<dyn Loss>,
        seed: u64,
    ) -> Learner {
        let pretrained = self.is_pretrained();
        let mut learn = Learner::new(model, dls, loss)
            .seed(seed)
            .metrics(self.metrics);
        if pretrained {
            learn.freeze();
        }
        learn
    }
}

/// A vision learner's builder: the options [`vision_learner`](super::vision_learner) and
/// [`unet_learner`](super::unet_learner) share, with their setters written once here, over the
/// data `dls` (a [`VisionDataLoaders`] of loader `L`) and the body `arch`; `H` is the task's own
/// option (the classification head's [`HeadConfig`](fastcandle_models::HeadConfig) for
/// [`VisionLearnerBuilder`](super::VisionLearnerBuilder), none for
/// [`UnetLearnerBuilder`](super::UnetLearnerBuilder)). Each task has its own `build()`.
pub struct LearnerBuilder<'a, L, H = ()> {
    pub(crate) dls: &'a VisionDataLoaders<L>,
    pub(crate) arch: Arch,
    pub(crate) head: H,
    pub(crate) opts: LearnerOptions,
}

impl<'a, L, H> LearnerBuilder<'a, L, H> {
    pub(crate) fn with(dls: &'a VisionDataLoaders<L>, arch: Arch, head: H) -> Self {
        Self {
            dls,
            arch,
            head,
            opts: LearnerOptions::default(),
        }
    }

    /// Where the body's starting weights come from (default: none, a random body).
    pub fn pretrained(mut self, pretrained: Pretrained) -> Self {
        self.opts.pretrained = pretrained;
        self
    }

    /// The metrics shown after each epoch: any list of metrics
    /// (`.metrics([foreground_acc(), dice_multi()])`), see
    /// [`Learner::metrics`](fastcandle_train::Learner::metrics).
    pub fn metrics(mut self, metrics: impl IntoMetrics) -> Self {
        self.opts.metrics = metrics.into_metrics();
        self
    }

    /// The seed of the new layers' initial weights and of dropout (default: the data's
    /// seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.opts.seed = Some(seed);
        self
    }

    /// Whether a pretrained learner adds ImageNet's normalisation to data that has none
    /// (fastai's `normalize=True`).
    pub fn normalize(mut self, normalize: bool) -> Self {
        self.opts.normalize = normalize;
        self
    }
}

/// A vision application's [`Learner`], over data of loader `L` (`H`: the task's own part, the
/// head's options for classification): [`VisionLearner`](super::VisionLearner) and
/// [`UnetLearner`](super::UnetLearner), with the accessors they share written once here. It
/// dereferences to the [`Learner`], so `fine_tune`, `fit_one_cycle`, `lr_find`, `validate`,
/// `freeze`... apply.
pub struct AppLearner<L, H = ()> {
    /// The learner.
    pub learn: Learner,
    pub(crate) dls: VisionDataLoaders<L>,
    pub(crate) arch: Arch,
    pub(crate) head: H,
}

impl<L: LoaderSettings + DataLoaders + Clone + 'static, H> AppLearner<L, H> {
    /// Replaces the metrics shown after each epoch (any list of metrics, as
    /// [`Learner::metrics`] takes).
    pub fn metrics(mut self, metrics: impl IntoMetrics) -> Self {
        self.learn.metrics = metrics.into_metrics();
        self
    }

    /// The architecture of the body.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The data the learner trains on (with the normalisation it added, if any).
    pub fn dls(&self) -> &VisionDataLoaders<L> {
        &self.dls
    }

    /// The class (or code) names.
    pub fn vocab(&self) -> &[String] {
        self.dls.vocab()
    }
}

impl<L, H> std::ops::Deref for AppLearner<L, H> {
    type Target = Learner;
    fn deref(&self) -> &Learner {
        &self.learn
    }
}

impl<L, H> std::ops::DerefMut for AppLearner<L, H> {
    fn deref_mut(&mut self) -> &mut Learner {
        &mut self.learn
    }
}
