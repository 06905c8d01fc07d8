//! torchvision's ResNet18/34 (basic blocks) and ResNet50 (bottlenecks, stride on the 3×3 as in
//! ResNet v1.5), with torchvision's parameter names (`conv1`, `bn1`, `layer1.0.conv1`,
//! `layer1.0.downsample.0`, ..., `fc`) and initialisation (convolutions `kaiming_normal_` with
//! `fan_out`, BatchNorm weight 1 and bias 0).
//!
//! Layer groups follow fastai's `_resnet_split`: group 0 holds the stem, `layer1` and `layer2`;
//! group 1 holds `layer3` and `layer4`; a head goes in group 2.

use crate::body::Body;
use crate::layers::{BatchNorm, Conv2d, Conv2dConfig, Layer, Linear, MaxPool2d, Relu, Sequential};
use crate::receptive::ReceptiveField;
use candle_core::{Device, Tensor};
use fastcandle_core::init::Init;
use fastcandle_core::ops::{Act, adaptive_avg_pool2d};
use fastcandle_core::{Error, Model, ParamBuilder, ParamStore, Result};

/// The residual block a ResNet is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Two 3×3 convolutions (ResNet18 and 34); expansion 1.
    Basic,
    /// 1×1, 3×3 (with the stride), 1×1 convolutions (ResNet50 and deeper); expansion 4.
    Bottleneck,
}

impl BlockKind {
    /// Output channels per unit of width.
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// The shape of a ResNet: its block and the number of blocks in each of the four layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResNetConfig {
    /// The residual block.
    pub block: BlockKind,
    /// Blocks in `layer1` .. `layer4`.
    pub layers: [usize; 4],
}

impl ResNetConfig {
    /// ResNet18.
    pub const RESNET18: Self = Self {
        block: BlockKind::Basic,
        layers: [2, 2, 2, 2],
    };
    /// ResNet34.
    pub const RESNET34: Self = Self {
        block: BlockKind::Basic,
        layers: [3, 4, 6, 3],
    };
    /// ResNet50.
    pub const RESNET50: Self = Self {
        block: BlockKind::Bottleneck,
        layers: [3, 4, 6, 3],
    };

    /// The channels of the body's output (512 for ResNet18/34, 2048 for ResNet50).
    pub fn out_channels(&self) -> usize {
        512 * self.block.expansion()
    }
}

/// torchvision's initialisation of a convolution: `kaiming_normal_(mode="fan_out")`.
fn conv(
    pb: &ParamBuilder,
    c_in: usize,
    c_out: usize,
    k: usize,
    stride: usize,
    padding: usize,
) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        stride,
        padding,
        groups: 1,
        bias: false,
        init: Some(Init::KaimingNormal { fan: c_out * k * k }),
    };
    Conv2d::new(pb, c_in, c_out, k, cfg)
}

/// `downsample`: a strided 1×1 convolution and BatchNorm on the identity path.
struct Downsample {
    conv: Conv2d,
    bn: BatchNorm,
}

impl Downsample {
    fn new(pb: &ParamBuilder, c_in: usize, c_out: usize, stride: usize) -> Result<Self> {
        Ok(Self {
            conv: conv(&pb.pp(0), c_in, c_out, 1, stride, 0)?,
            bn: BatchNorm::new(&pb.pp(1), c_out)?,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.bn.forward_t(&self.conv.forward(x)?, train)
    }
}

/// One residual block (`layerN.i`).
struct Block {
    convs: Vec<(Conv2d, BatchNorm)>,
    downsample: Option<Downsample>,
}

impl Block {
    fn new(
        pb: &ParamBuilder,
        kind: BlockKind,
        c_in: usize,
        planes: usize,
        stride: usize,
    ) -> Result<Self> {
        let c_out = planes * kind.expansion();
        // (input, output, kernel, stride, padding) of conv1, conv2 (and conv3).
        let shapes: Vec<(usize, usize, usize, usize, usize)> = match kind {
            BlockKind::Basic => vec![(c_in, planes, 3, stride, 1), (planes, planes, 3, 1, 1)],
            BlockKind::Bottleneck => vec![
                (c_in, planes, 1, 1, 0),
                (planes, planes, 3, stride, 1),
                (planes, c_out, 1, 1, 0),
            ],
        };
        let convs = shapes
            .iter()
            .enumerate()
            .map(|(i, &(ci, co, k, s, p))| {
                Ok((
                    conv(&pb.pp(format!("conv{}", i + 1)), ci, co, k, s, p)?,
                    BatchNorm::new(&pb.pp(format!("bn{}", i + 1)), co)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let downsample = if stride != 1 || c_in != c_out {
            Some(Downsample::new(&pb.pp("downsample"), c_in, c_out, stride)?)
        } else {
            None
        };
        Ok(Self { convs, downsample })
    }
}

impl Layer for Block {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let identity = match &self.downsample {
            Some(d) => d.forward_t(x, train)?,
            None => x.clone(),
        };
        let last = self.convs.len() - 1;
        let mut y = x.clone();
        for (i, (c, bn)) in self.convs.iter().enumerate() {
            y = if i < last {
                bn.forward_act_t(&c.forward(&y)?, train, Act::Relu)?
            } else {
                // The last BatchNorm, the sum with the identity branch and the ReLU in one op.
                bn.forward_add_act_t(&c.forward(&y)?, &identity, train, Act::Relu)?
            };
        }
        Ok(y)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        let main = self
            .convs
            .iter()
            .fold(input, |f, (c, _)| c.receptive_field(f));
        let identity = match &self.downsample {
            Some(d) => d.conv.receptive_field(input),
            None => input,
        };
        main.union(identity)
    }

    fn out_channels_from(&self, c_in: usize) -> usize {
        self.convs.last().map_or(c_in, |(c, _)| c.out_channels())
    }
}

/// Builds a ResNet body (`conv1` .. `layer4`, no pooling, no `fc`) under `pb`, in layer
/// groups 0 (stem, `layer1`, `layer2`) and 1 (`layer3`, `layer4`).
pub fn resnet_body(pb: &ParamBuilder, cfg: &ResNetConfig) -> Result<Body> {
    let g0 = pb.group(0);
    let mut children = Sequential::new()
        .with(conv(&g0.pp("conv1"), 3, 64, 7, 2, 3)?)
        .with(BatchNorm::new(&g0.pp("bn1"), 64)?)
        .with(Relu)
        .with(MaxPool2d::new(3, 2, 1));
    let mut c_in = 64;
    for (i, &n_blocks) in cfg.layers.iter().enumerate() {
        let g = pb.group(if i < 2 { 0 } else { 1 });
        let planes = 64 << i;
        let mut layer = Sequential::new();
        for b in 0..n_blocks {
            let stride = if b == 0 && i > 0 { 2 } else { 1 };
            let pbb = g.pp(format!("layer{}", i + 1)).pp(b);
            layer.push(Block::new(&pbb, cfg.block, c_in, planes, stride)?);
            c_in = planes * cfg.block.expansion();
        }
        children.push(layer);
    }
    let names = [
        "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
    ];
    let stages = ["stem", "layer1", "layer2", "layer3", "layer4"]
        .iter()
        .enumerate()
        .map(|(i, name)| (3 + i, name.to_string()))
        .collect();
    Ok(Body::new(children, cfg.out_channels())
        .with_names(names)
        .with_stages(stages))
}

/// A whole torchvision ResNet: the body, global average pooling and the `fc` classifier (in
/// layer group 2, PyTorch's default initialisation). Loads torchvision and timm checkpoints
/// by name.
pub struct ResNet {
    body: Body,
    fc: Linear,
    params: ParamStore,
}

impl ResNet {
    /// Builds the network for `n_classes` outputs on `device`, initialised from `seed`.
    pub fn new(cfg: &ResNetConfig, n_classes: usize, device: &Device, seed: u64) -> Result<Self> {
        let pb = ParamBuilder::new(device, seed);
        let body = resnet_body(&pb, cfg)?;
        let fc = Linear::new(&pb.group(2).pp("fc"), cfg.out_channels(), n_classes, true)?;
        Ok(Self {
            body,
            fc,
            params: pb.store().clone(),
        })
    }

    /// The body (everything before the average pooling).
    pub fn body(&self) -> &Body {
        &self.body
    }
}

impl Model for ResNet {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> Result<Tensor> {
        let [x] = xs else {
            return Err(Error::BadTensor {
                name: "resnet inputs".into(),
                reason: format!("expected one image batch, got {} tensors", xs.len()),
            });
        };
        let f = self.body.forward_t(x, train)?;
        let pooled = adaptive_avg_pool2d(&f, (1, 1))?.flatten_from(1)?;
        self.fc.forward(&pooled)
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
