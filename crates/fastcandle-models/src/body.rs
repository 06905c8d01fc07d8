//! The body of a vision model: a pretrainable backbone cut before its pooling and classifier.

use crate::layers::{Layer, Sequential};
use crate::receptive::{ReceptiveField, Stage};
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
    stages: Option<Vec<(usize, String)>>,
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
            stages: None,
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

    /// Names the stages, as `(child index, name)` (see [`Body::stages`]).
    pub fn with_stages(mut self, stages: Vec<(usize, String)>) -> Self {
        self.stages = Some(stages);
        self
    }

    /// torchvision's `features` sequence (MobileNetV2, EfficientNet, ConvNeXt): the children
    /// named `features.0`, `features.1`, ..., and a stage at the last child of each stride,
    /// named likewise.
    pub fn features(children: Sequential, out_channels: usize) -> Self {
        let names: Vec<String> = (0..children.len())
            .map(|i| format!("features.{i}"))
            .collect();
        let body = Self::new(children, out_channels).with_names(names);
        let stages = body
            .last_child_at_each_stride()
            .into_iter()
            .map(|i| (i, format!("features.{i}")))
            .collect();
        body.with_stages(stages)
    }

    /// The receptive field (in the input image) and channels of every child's output, read
    /// from the layers themselves.
    pub fn child_geometry(&self) -> Vec<(ReceptiveField, usize)> {
        self.children.geometry_all(ReceptiveField::INPUT, 3)
    }

    /// The children after which the resolution next changes, and the last child: the last
    /// child at each stride (of a downsampling stride, not the input's 1).
    pub fn last_child_at_each_stride(&self) -> Vec<usize> {
        let g = self.child_geometry();
        (0..g.len())
            .filter(|&i| {
                g[i].0.stride > 1 && g.get(i + 1).is_none_or(|n| n.0.stride != g[i].0.stride)
            })
            .collect()
    }

    /// The stages to look at, each with its name, channels and receptive field: those the
    /// architecture names (a ResNet's `stem` (after `maxpool`) and `layer1` .. `layer4`;
    /// MobileNetV2's last block at each resolution, `features.1` .. `features.18`), or else
    /// the last child at each stride, named by its index.
    pub fn stages(&self) -> Vec<Stage> {
        let g = self.child_geometry();
        let named = self.stages.clone().unwrap_or_else(|| {
            self.last_child_at_each_stride()
                .into_iter()
                .map(|i| (i, i.to_string()))
                .collect()
        });
        named
            .into_iter()
            .filter_map(|(child, name)| {
                let &(field, channels) = g.get(child)?;
                Some(Stage {
                    child,
                    name,
                    channels,
                    field,
                })
            })
            .collect()
    }

    /// The stage named `name`, if any.
    pub fn stage(&self, name: &str) -> Option<Stage> {
        self.stages().into_iter().find(|s| s.name == name)
    }

    /// The outputs of children `0..=last` (the later ones are not run): what a stage needs.
    pub fn forward_to(&self, x: &Tensor, last: usize, train: bool) -> Result<Vec<Tensor>> {
        self.children.forward_first(x, last + 1, train)
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

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        self.children.receptive_field(input)
    }

    fn out_channels_from(&self, c_in: usize) -> usize {
        self.children.out_channels_from(c_in)
    }
}
