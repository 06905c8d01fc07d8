use super::Layer;
use crate::receptive::ReceptiveField;
use candle_core::Tensor;
use fastcandle_core::Result;
use fastcandle_core::ops::{adaptive_avg_pool2d, adaptive_max_pool2d, max_pool2d};

/// PyTorch's `nn.MaxPool2d(kernel, stride, padding)` on `[N, C, H, W]`.
#[derive(Debug, Clone, Copy)]
pub struct MaxPool2d {
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl MaxPool2d {
    /// Max pooling over `kernel`×`kernel` windows moved by `stride`, padded by `padding`.
    pub fn new(kernel: usize, stride: usize, padding: usize) -> Self {
        Self {
            kernel,
            stride,
            padding,
        }
    }
}

impl Layer for MaxPool2d {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(max_pool2d(x, self.kernel, self.stride, self.padding)?)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        input.window(self.kernel, self.stride, self.padding, 1)
    }
}

/// fastai's `AdaptiveConcatPool2d`: adaptive max pooling and adaptive average pooling to the
/// same size, concatenated on the channel axis in that order (`cat([mp, ap], 1)`), so that
/// `[N, C, H, W]` becomes `[N, 2C, oh, ow]`.
#[derive(Debug, Clone, Copy)]
pub struct AdaptiveConcatPool2d {
    size: (usize, usize),
}

impl AdaptiveConcatPool2d {
    /// Pools to `size` (fastai's default is 1×1).
    pub fn new(size: (usize, usize)) -> Self {
        Self { size }
    }
}

impl Default for AdaptiveConcatPool2d {
    fn default() -> Self {
        Self::new((1, 1))
    }
}

impl Layer for AdaptiveConcatPool2d {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        let mp = adaptive_max_pool2d(x, self.size)?;
        let ap = adaptive_avg_pool2d(x, self.size)?;
        Ok(Tensor::cat(&[mp, ap], 1)?)
    }
}

/// Flattens every axis after the first (`[N, C, H, W]` to `[N, C·H·W]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl Layer for Flatten {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        Ok(x.flatten_from(1)?)
    }
}
