//! The body of a vision model: a pretrainable backbone cut before its pooling and classifier.

use crate::layers::{Layer, Sequential};
use candle_core::Tensor;
use fastcandle_core::Result;

/// A backbone as fastai cuts it: the children of the original network before its pooling and
/// classifier (for a ResNet `conv1`, `bn1`, `relu`, `maxpool`, `layer1` .. `layer4`; for
/// MobileNetV2 `features.0` .. `features.18`), giving `[N, out_channels, H/32, W/32]`.
pub struct Body {
    children: Sequential,
    out_channels: usize,
}

impl Body {
    /// A body from its children and the channel count of its output.
    pub fn new(children: Sequential, out_channels: usize) -> Self {
        Self {
            children,
            out_channels,
        }
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
        self.children.forward_t(x, train)
    }
}
