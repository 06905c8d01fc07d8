//! What `vision_learner` and `unet_learner` share: the options (weights, metrics, seed,
//! normalisation) with their builder setters, and the making of the `Learner` (ImageNet
//! normalisation for a pretrained body, the loss, freezing).

use fastcandle_core::{DataLoaders, Model};
use fastcandle_models::Pretrained;
use fastcandle_train::{Learner, Loss, Metric};
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

/// The setters of [`LearnerOptions`] on a builder with an `opts` field.
macro_rules! learner_option_setters {
    () => {
        /// Where the body's starting weights come from (default: none, a random body).
        pub fn pretrained(mut self, pretrained: fastcandle_models::Pretrained) -> Self {
            self.opts.pretrained = pretrained;
            self
        }

        /// The metrics shown after each epoch.
        pub fn metrics(
            mut self,
            metrics: impl IntoIterator<Item = Box<dyn fastcandle_train::Metric>>,
        ) -> Self {
            self.opts.metrics = metrics.into_iter().collect();
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
    };
}

pub(crate) use learner_option_setters;

/// The accessors of a learner with `learn`, `dls` (of type `$dls`) and `arch` fields, and its
/// dereferencing to the [`Learner`] (so `fine_tune`, `fit_one_cycle`, `validate`... apply).
macro_rules! learner_accessors {
    ($learner:ty, $dls:ty) => {
        impl $learner {
            /// Replaces the metrics shown after each epoch.
            pub fn metrics(
                mut self,
                metrics: impl IntoIterator<Item = Box<dyn fastcandle_train::Metric>>,
            ) -> Self {
                self.learn.metrics = metrics.into_iter().collect();
                self
            }

            /// The architecture of the body.
            pub fn arch(&self) -> fastcandle_models::Arch {
                self.arch
            }

            /// The data the learner trains on (with the normalisation it added, if any).
            pub fn dls(&self) -> &$dls {
                &self.dls
            }

            /// The class (or code) names.
            pub fn vocab(&self) -> &[String] {
                self.dls.vocab()
            }
        }

        impl std::ops::Deref for $learner {
            type Target = fastcandle_train::Learner;
            fn deref(&self) -> &fastcandle_train::Learner {
                &self.learn
            }
        }

        impl std::ops::DerefMut for $learner {
            fn deref_mut(&mut self) -> &mut fastcandle_train::Learner {
                &mut self.learn
            }
        }
    };
}

pub(crate) use learner_accessors;
