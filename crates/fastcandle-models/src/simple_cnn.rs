//! fastai's `SimpleCNN` as a body: a stack of `ConvLayer`s (3×3 convolution without bias,
//! BatchNorm, ReLU), for small images such as MNIST's 28×28 trained from scratch.
//!
//! The body is `[3, 32, 64, 128, 256]` filters with strides `[1, 2, 2, 2]` (28×28 gives
//! 28, 14, 7 and 4 pixels a side): about 12.6 M multiply-adds an image, a thirtieth of a
//! ResNet18 at 224 and a third of one at 28. Parameters are named as fastai's
//! `nn.Sequential` of `ConvLayer`s names them (`0.0.weight` for the first convolution,
//! `0.1.running_mean` for its BatchNorm); the first two layers are group 0, the last two
//! group 1. There are no pretrained weights.

use crate::body::Body;
use crate::layers::{BatchNorm, Conv2d, Conv2dConfig, Relu, Sequential};
use fastcandle_core::init::Init;
use fastcandle_core::{ParamBuilder, Result};

/// The filters of the body, input first.
pub const SIMPLE_CNN_FILTERS: [usize; 5] = [3, 32, 64, 128, 256];
/// The stride of each `ConvLayer`.
pub const SIMPLE_CNN_STRIDES: [usize; 4] = [1, 2, 2, 2];

/// Builds the body under `pb` (see the module's documentation).
pub fn simple_cnn_body(pb: &ParamBuilder) -> Result<Body> {
    let mut children = Sequential::new();
    for (i, &stride) in SIMPLE_CNN_STRIDES.iter().enumerate() {
        let (c_in, c_out) = (SIMPLE_CNN_FILTERS[i], SIMPLE_CNN_FILTERS[i + 1]);
        let g = pb.group(usize::from(i >= 2)).pp(i);
        let cfg = Conv2dConfig {
            stride,
            padding: 1,
            bias: false,
            // fastai's ConvLayer: kaiming_normal_ with fan_in.
            init: Some(Init::KaimingNormal { fan: c_in * 9 }),
            ..Default::default()
        };
        let layer = Sequential::new()
            .with(Conv2d::new(&g.pp(0), c_in, c_out, 3, cfg)?)
            .with(BatchNorm::new(&g.pp(1), c_out)?)
            .with(Relu);
        children.push(layer);
    }
    Ok(Body::new(children, SIMPLE_CNN_FILTERS[4]))
}
