//! torchvision's MobileNetV2 `features` (width 1.0), with torchvision's parameter names
//! (`features.0.0.weight`, `features.3.conv.1.0.weight`, ...; those of
//! `datasets/weights/mobilenet_v2-imagenet-features.safetensors`) and initialisation
//! (convolutions `kaiming_normal_` with `fan_out`, BatchNorm weight 1 and bias 0).
//!
//! Layer groups: `features.0` .. `features.6` (down to 1/8 resolution) in group 0,
//! `features.7` .. `features.18` in group 1, as fastai's ResNet split; a head goes in group 2.

use crate::body::Body;
use crate::key_renames::KeyRename;
use crate::layers::{BatchNorm, Conv2d, Conv2dConfig, Layer, Sequential};
use crate::receptive::ReceptiveField;
use candle_core::Tensor;
use fastcandle_core::init::Init;
use fastcandle_core::ops::Act;
use fastcandle_core::{ParamBuilder, Result};

/// `(t, c, n, s)` of every stage: expansion, output channels, repeats, first stride.
const SETTINGS: [(usize, usize, usize, usize); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// The channels of the body's output.
pub const OUT_CHANNELS: usize = 1280;

/// The first child of group 1.
const SPLIT: usize = 7;

/// The flattened block names of the first published weights (torchvision 0.2 to 0.3:
/// `conv.0`, `conv.1`, `conv.3`, `conv.4`, `conv.6`, `conv.7`, between them the ReLU6s) to
/// today's nested ones. `features.1` has no expansion layer, so its rules come first.
pub const OLD_NAMES: &[KeyRename] = &[
    KeyRename::new("features.1.conv.0.", "features.1.conv.0.0."),
    KeyRename::new("features.1.conv.1.", "features.1.conv.0.1."),
    KeyRename::new("features.1.conv.3.", "features.1.conv.1."),
    KeyRename::new("features.1.conv.4.", "features.1.conv.2."),
    KeyRename::new("features.*.conv.0.", "features.*.conv.0.0."),
    KeyRename::new("features.*.conv.1.", "features.*.conv.0.1."),
    KeyRename::new("features.*.conv.3.", "features.*.conv.1.0."),
    KeyRename::new("features.*.conv.4.", "features.*.conv.1.1."),
    KeyRename::new("features.*.conv.6.", "features.*.conv.2."),
    KeyRename::new("features.*.conv.7.", "features.*.conv.3."),
];

/// torchvision's `Conv2dNormActivation` with ReLU6: `N.0` convolution, `N.1` BatchNorm.
struct ConvBnRelu6 {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBnRelu6 {
    fn new(
        pb: &ParamBuilder,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        groups: usize,
    ) -> Result<Self> {
        Ok(Self {
            conv: conv(&pb.pp(0), c_in, c_out, k, stride, groups)?,
            bn: BatchNorm::new(&pb.pp(1), c_out)?,
        })
    }
}

impl Layer for ConvBnRelu6 {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.bn
            .forward_act_t(&self.conv.forward(x)?, train, Act::Relu6)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        self.conv.receptive_field(input)
    }

    fn out_channels_from(&self, _c_in: usize) -> usize {
        self.conv.out_channels()
    }
}

fn conv(
    pb: &ParamBuilder,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    groups: usize,
) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        stride,
        padding: (k - 1) / 2,
        groups,
        bias: false,
        // PyTorch's fan_out is `weight.size(0) * k * k` whatever the groups: a depthwise
        // convolution's spread is sqrt(2 / (c_out k^2)), as torchvision's.
        init: Some(Init::KaimingNormal { fan: c_out * k * k }),
    };
    Conv2d::new(pb, c_in, c_out, k, cfg)
}

/// torchvision's `InvertedResidual`: an optional 1×1 expansion, a 3×3 depthwise convolution
/// (with the stride), a 1×1 linear projection, and the identity added when shapes allow.
struct InvertedResidual {
    expand: Option<ConvBnRelu6>,
    depthwise: ConvBnRelu6,
    project: Conv2d,
    bn: BatchNorm,
    residual: bool,
}

impl InvertedResidual {
    fn new(pb: &ParamBuilder, c_in: usize, c_out: usize, stride: usize, t: usize) -> Result<Self> {
        let hidden = c_in * t;
        let pb = pb.pp("conv");
        let mut i = 0;
        let expand = if t != 1 {
            i += 1;
            Some(ConvBnRelu6::new(&pb.pp(0), c_in, hidden, 1, 1, 1)?)
        } else {
            None
        };
        let depthwise = ConvBnRelu6::new(&pb.pp(i), hidden, hidden, 3, stride, hidden)?;
        let project = conv(&pb.pp(i + 1), hidden, c_out, 1, 1, 1)?;
        let bn = BatchNorm::new(&pb.pp(i + 2), c_out)?;
        Ok(Self {
            expand,
            depthwise,
            project,
            bn,
            residual: stride == 1 && c_in == c_out,
        })
    }
}

impl Layer for InvertedResidual {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = match &self.expand {
            Some(e) => e.forward_t(x, train)?,
            None => x.clone(),
        };
        y = self.depthwise.forward_t(&y, train)?;
        y = self.bn.forward_t(&self.project.forward(&y)?, train)?;
        if self.residual {
            y = (y + x)?;
        }
        Ok(y)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        let expanded = match &self.expand {
            Some(e) => e.receptive_field(input),
            None => input,
        };
        let main = self
            .project
            .receptive_field(self.depthwise.receptive_field(expanded));
        if self.residual {
            main.union(input)
        } else {
            main
        }
    }

    fn out_channels_from(&self, _c_in: usize) -> usize {
        self.project.out_channels()
    }
}

/// Builds MobileNetV2's `features` under `pb` (names `features.N...`), in layer groups 0
/// (`features.0` .. `features.6`) and 1 (the rest).
pub fn mobilenet_v2_body(pb: &ParamBuilder) -> Result<Body> {
    let group = |i: usize| pb.group(usize::from(i >= SPLIT)).pp("features").pp(i);
    let mut children = Sequential::new().with(ConvBnRelu6::new(&group(0), 3, 32, 3, 2, 1)?);
    let mut c_in = 32;
    let mut idx = 1;
    for &(t, c, n, s) in &SETTINGS {
        for r in 0..n {
            let stride = if r == 0 { s } else { 1 };
            children.push(InvertedResidual::new(&group(idx), c_in, c, stride, t)?);
            c_in = c;
            idx += 1;
        }
    }
    children.push(ConvBnRelu6::new(&group(idx), c_in, OUT_CHANNELS, 1, 1, 1)?);
    Ok(Body::features(children, OUT_CHANNELS))
}
