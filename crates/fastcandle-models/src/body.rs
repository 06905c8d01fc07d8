//! The body of a vision model: a pretrainable backbone cut before its pooling and classifier.

use crate::layers::{Layer, Sequential};
use candle_core::Tensor;
use fastcandle_core::Result;
use fastcandle_core::hooks::Hooks;
use std::sync::{Arc, RwLock};

/// A backbone as fastai cuts it: the children of the original network before its pooling and
/// classifier (for a ResNet `conv1`, `bn1`, `relu`, `maxpool`, `layer1` .. `layer4`; for
/// MobileNetV2 `features.0` .. `features.18`), giving `[N, out_channels, H/32, W/32]`.
pub struct Body {
    children: Sequential,
    names: Vec<String>,
    out_channels: usize,
    hooks: RwLock<Option<Arc<Hooks>>>,
}

impl Body {
    /// A body from its children and the channel count of its output; the children are named
    /// `0`, `1`, ... until [`Body::with_names`].
    pub fn new(children: Sequential, out_channels: usize) -> Self {
        let names = (0..children.len()).map(|i| i.to_string()).collect();
        Self {
            children,
            names,
            out_channels,
            hooks: RwLock::default(),
        }
    }

    /// Names the children as the original network does (`conv1`, `layer1`, `features.3`),
    /// for hooks. One name a child.
    pub fn with_names<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        debug_assert_eq!(names.len(), self.children.len(), "one name a child");
        if names.len() == self.children.len() {
            self.names = names;
        }
        self
    }

    /// The children's names, input side first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Stores the outputs of the children `hooks` names at each forward pass (`None`: no
    /// more).
    pub fn set_hooks(&self, hooks: Option<Arc<Hooks>>) {
        *self.hooks.write().unwrap_or_else(|e| e.into_inner()) = hooks;
    }

    /// The number of channels of the output (`nf` in fastai's `create_head`).
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// The number of children.
    pub fn n_children(&self) -> usize {
        self.children.len()
    }

    /// The output of every child in turn, the last being the body's output: what fastai's
    /// U-Net hooks read where the resolution changes.
    pub fn forward_children(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        self.children.forward_all(x, train)
    }
}

impl Layer for Body {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let hooks = self.hooks.read().unwrap_or_else(|e| e.into_inner()).clone();
        match hooks {
            None => self.children.forward_t(x, train),
            Some(h) => self
                .children
                .forward_each(x, train, |i, y| h.tap(&self.names[i], y)),
        }
    }
}
