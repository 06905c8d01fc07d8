//! torchvision's ConvNeXt-Tiny `features`, with torchvision's parameter names
//! (`features.0.0.weight`, `features.1.0.block.3.weight`, `features.1.0.layer_scale`, ...) and
//! initialisation (convolutions and linear layers `trunc_normal_(std=0.02)` with zero biases,
//! LayerNorm weight 1 and bias 0, layer scale 1e-6). The normal is fastcandle's
//! `Init::TruncNormal`, folded into ±2 std; torch's default bounds (±2, absolute) cut nothing at
//! std 0.02, a difference of the tails only.
//!
//! The stem is a 4×4 stride-4 convolution and a `LayerNorm2d`; each of the four stages is a run
//! of `CNBlock`s (a 7×7 depthwise convolution, LayerNorm over the channels (eps 1e-6), a linear
//! layer to 4× the channels, the exact GELU, a linear layer back, the layer scale, stochastic
//! depth, and the identity added); stages 2-4 start with a downsampling layer (`LayerNorm2d`
//! and a 2×2 stride-2 convolution). The final LayerNorm belongs to torchvision's classifier
//! (`classifier.0`), which fastai's head replaces, so the body ends at the last stage (as timm's
//! `forward_features`). Stochastic depth grows linearly over the 18 blocks, block `i` dropping
//! with `0.1 * i / 17` in training.
//!
//! The linear layers work on every position of the `[N, C, H, W]` map: they are run as 1×1
//! convolutions on the channels-first layout (fastcandle's pointwise op), with torchvision's
//! `[out, in]` weights, instead of permuting to channels-last and back as torchvision does.
//!
//! Layer groups: the stem, stage 1, the second downsampling and stage 2 (`features.0` ..
//! `features.3`, down to 1/8 resolution) in group 0, `features.4` .. `features.7` in group 1,
//! as fastai's ResNet split; a head goes in group 2.
//!
//! Hub weights are timm's `convnext_tiny.fb_in1k`, read through [`from_timm`].

use crate::body::Body;
use crate::layers::{Conv2d, Conv2dConfig, Layer, LayerNorm2d, Sequential, StochasticDepth};
use crate::receptive::ReceptiveField;
use crate::rename::replace_prefix;
use candle_core::Tensor;
use fastcandle_core::grad::tracked;
use fastcandle_core::init::Init;
use fastcandle_core::ops::{add_channel_bias, conv2d};
use fastcandle_core::{Error, Param, ParamBuilder, ParamKind, Result};

/// LayerNorm's `eps` everywhere in ConvNeXt.
const LN_EPS: f64 = 1e-6;

/// The first child of group 1.
const SPLIT: usize = 4;

/// torchvision's initialisation of convolutions and linear layers.
const INIT: Init = Init::TruncNormal { std: 0.02 };

/// The shape of a ConvNeXt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvNextConfig {
    /// Blocks in each of the four stages.
    pub depths: [usize; 4],
    /// Channels of each stage.
    pub dims: [usize; 4],
    /// The stochastic-depth rate of the last block (torchvision's `stochastic_depth_prob`).
    pub stochastic_depth_prob: f64,
    /// The starting value of every layer scale.
    pub layer_scale: f64,
}

impl ConvNextConfig {
    /// torchvision's `convnext_tiny` (and timm's).
    pub const TINY: Self = Self {
        depths: [3, 3, 9, 3],
        dims: [96, 192, 384, 768],
        stochastic_depth_prob: 0.1,
        layer_scale: 1e-6,
    };

    /// The channels of the body's output.
    pub fn out_channels(&self) -> usize {
        self.dims[3]
    }

    /// The stochastic-depth rate of every block in order: `prob * i / (n - 1)` for block `i`
    /// of `n`, as torchvision's `ConvNeXt`.
    pub fn drop_path_rates(&self) -> Vec<f64> {
        let total: usize = self.depths.iter().sum();
        let denom = total.saturating_sub(1).max(1) as f64;
        (0..total)
            .map(|i| self.stochastic_depth_prob * i as f64 / denom)
            .collect()
    }
}

impl Default for ConvNextConfig {
    fn default() -> Self {
        Self::TINY
    }
}

/// A linear layer applied at every position of `[N, C, H, W]`, with `nn.Linear`'s names and
/// shapes (`weight` `[out, in]`, `bias` `[out]`), run as a 1×1 convolution.
struct PositionLinear {
    weight: Param,
    bias: Tensor,
    shape: (usize, usize, usize, usize),
}

impl PositionLinear {
    fn new(pb: &ParamBuilder, n_in: usize, n_out: usize) -> Result<Self> {
        Ok(Self {
            weight: pb.param_ref("weight", &[n_out, n_in], ParamKind::Weight, INIT)?,
            bias: pb.param("bias", &[n_out], ParamKind::Bias, Init::Const(0.0))?,
            shape: (n_out, n_in, 1, 1),
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.weight.forward_tensor().reshape(self.shape)?;
        Ok(add_channel_bias(
            &conv2d(x, &w, 1, 0)?,
            &tracked(&self.bias),
        )?)
    }
}

/// torchvision's `CNBlock`: its layers under `block.N` (0 depthwise convolution, 2 LayerNorm,
/// 3 and 5 linear layers; 1 and 6 are permutations, 4 the GELU) and `layer_scale` `[C, 1, 1]`.
struct CnBlock {
    depthwise: Conv2d,
    norm: LayerNorm2d,
    fc1: PositionLinear,
    fc2: PositionLinear,
    layer_scale: Tensor,
    drop_path: StochasticDepth,
}

impl CnBlock {
    fn new(pb: &ParamBuilder, dim: usize, layer_scale: f64, drop_path: f64) -> Result<Self> {
        let block = pb.pp("block");
        let dw = Conv2dConfig {
            padding: 3,
            groups: dim,
            init: Some(INIT),
            ..Default::default()
        };
        Ok(Self {
            depthwise: Conv2d::new(&block.pp(0), dim, dim, 7, dw)?,
            norm: LayerNorm2d::new(&block.pp(2), dim, LN_EPS)?,
            fc1: PositionLinear::new(&block.pp(3), dim, 4 * dim)?,
            fc2: PositionLinear::new(&block.pp(5), 4 * dim, dim)?,
            layer_scale: pb.param(
                "layer_scale",
                &[dim, 1, 1],
                ParamKind::Weight,
                Init::Const(layer_scale),
            )?,
            drop_path: StochasticDepth::new(pb, drop_path),
        })
    }
}

impl Layer for CnBlock {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.norm.forward(&self.depthwise.forward(x)?)?;
        let y = self.fc2.forward(&self.fc1.forward(&y)?.gelu_erf()?)?;
        let y = y.broadcast_mul(&tracked(&self.layer_scale))?;
        Ok((self.drop_path.forward_t(&y, train)? + x)?)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        self.depthwise.receptive_field(input).union(input)
    }
}

/// A stem or downsampling layer: a convolution and a `LayerNorm2d`, in either order, as
/// torchvision's `Sequential` (`N.0`, `N.1`).
struct ConvNorm {
    conv: Conv2d,
    norm: LayerNorm2d,
    norm_first: bool,
}

impl ConvNorm {
    fn new(
        pb: &ParamBuilder,
        c_in: usize,
        c_out: usize,
        k: usize,
        norm_first: bool,
    ) -> Result<Self> {
        let cfg = Conv2dConfig {
            stride: k,
            init: Some(INIT),
            ..Default::default()
        };
        let (conv_at, norm_at, norm_c) = if norm_first {
            (1, 0, c_in)
        } else {
            (0, 1, c_out)
        };
        Ok(Self {
            conv: Conv2d::new(&pb.pp(conv_at), c_in, c_out, k, cfg)?,
            norm: LayerNorm2d::new(&pb.pp(norm_at), norm_c, LN_EPS)?,
            norm_first,
        })
    }
}

impl Layer for ConvNorm {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        if self.norm_first {
            self.conv.forward(&self.norm.forward(x)?)
        } else {
            self.norm.forward(&self.conv.forward(x)?)
        }
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        self.conv.receptive_field(input)
    }

    fn out_channels_from(&self, _c_in: usize) -> usize {
        self.conv.out_channels()
    }
}

/// Builds ConvNeXt-Tiny's `features` as torchvision's `convnext_tiny` under `pb` (names
/// `features.N...`), in layer groups 0 (`features.0` .. `features.3`) and 1 (the rest).
pub fn convnext_tiny_body(pb: &ParamBuilder) -> Result<Body> {
    convnext_body(pb, &ConvNextConfig::TINY)
}

/// [`convnext_tiny_body`] with the shape of `cfg`.
pub fn convnext_body(pb: &ParamBuilder, cfg: &ConvNextConfig) -> Result<Body> {
    if cfg.depths.contains(&0) || cfg.dims.contains(&0) {
        return Err(Error::BadTensor {
            name: pb.path("features"),
            reason: format!(
                "ConvNeXt needs blocks and channels in every stage, got depths {:?} and dims {:?}",
                cfg.depths, cfg.dims
            ),
        });
    }
    let group = |i: usize| pb.group(usize::from(i >= SPLIT)).pp("features").pp(i);
    let mut children = Sequential::new().with(ConvNorm::new(&group(0), 3, cfg.dims[0], 4, false)?);
    let rates = cfg.drop_path_rates();
    let mut block = 0;
    for s in 0..4 {
        if s > 0 {
            let idx = 2 * s;
            children.push(ConvNorm::new(
                &group(idx),
                cfg.dims[s - 1],
                cfg.dims[s],
                2,
                true,
            )?);
        }
        let stage_pb = group(2 * s + 1);
        let mut stage = Sequential::new();
        for i in 0..cfg.depths[s] {
            stage.push(CnBlock::new(
                &stage_pb.pp(i),
                cfg.dims[s],
                cfg.layer_scale,
                rates[block],
            )?);
            block += 1;
        }
        children.push(stage);
    }
    Ok(Body::features(children, cfg.out_channels()))
}

/// timm's names for ConvNeXt (`stem.N`, `stages.S.downsample.N`,
/// `stages.S.blocks.I.{conv_dw,norm,mlp.fc1,mlp.fc2,gamma}`, `head.norm`, `head.fc`) mapped to
/// torchvision's; timm's layer scale `gamma` `[C]` becomes `layer_scale` `[C, 1, 1]`.
pub fn from_timm(key: &str, t: Tensor) -> Result<(String, Tensor)> {
    let Some(name) = timm_name(key) else {
        return Ok((key.to_string(), t));
    };
    if name.ends_with(".layer_scale") && t.rank() == 1 {
        let c = t.dim(0)?;
        return Ok((name, t.reshape((c, 1, 1))?));
    }
    Ok((name, t))
}

fn timm_name(key: &str) -> Option<String> {
    let top = [
        ("stem.0", "features.0.0"),
        ("stem.1", "features.0.1"),
        ("head.norm", "classifier.0"),
        ("head.fc", "classifier.2"),
    ];
    if let Some(name) = replace_prefix(key, &top) {
        return Some(name);
    }
    let mut parts = key.strip_prefix("stages.")?.splitn(2, '.');
    let stage: usize = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    if stage >= 4 {
        return None;
    }
    if let Some(ds) = rest.strip_prefix("downsample.") {
        return (stage > 0).then(|| format!("features.{}.{ds}", 2 * stage));
    }
    let mut parts = rest.strip_prefix("blocks.")?.splitn(2, '.');
    let index: usize = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let ours = if rest == "gamma" {
        "layer_scale".to_string()
    } else {
        replace_prefix(
            rest,
            &[
                ("conv_dw", "block.0"),
                ("norm", "block.2"),
                ("mlp.fc1", "block.3"),
                ("mlp.fc2", "block.5"),
            ],
        )?
    };
    Some(format!("features.{}.{index}.{ours}", 2 * stage + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn timm_names_map_to_torchvision_names() {
        for (timm, ours) in [
            ("stem.0.weight", "features.0.0.weight"),
            ("stem.1.bias", "features.0.1.bias"),
            ("stages.1.downsample.0.weight", "features.2.0.weight"),
            ("stages.3.downsample.1.bias", "features.6.1.bias"),
            (
                "stages.0.blocks.2.conv_dw.weight",
                "features.1.2.block.0.weight",
            ),
            ("stages.2.blocks.8.norm.bias", "features.5.8.block.2.bias"),
            (
                "stages.3.blocks.0.mlp.fc1.weight",
                "features.7.0.block.3.weight",
            ),
            (
                "stages.1.blocks.1.mlp.fc2.bias",
                "features.3.1.block.5.bias",
            ),
            ("stages.1.blocks.1.gamma", "features.3.1.layer_scale"),
            ("head.norm.weight", "classifier.0.weight"),
            ("head.fc.bias", "classifier.2.bias"),
        ] {
            assert_eq!(timm_name(timm).as_deref(), Some(ours), "{timm}");
        }
        assert_eq!(timm_name("stages.4.blocks.0.gamma"), None);
        assert_eq!(timm_name("stages.0.downsample.0.weight"), None);
        let gamma = Tensor::new(&[1f32, 2., 3.], &Device::Cpu).unwrap();
        let (name, t) = from_timm("stages.0.blocks.0.gamma", gamma).unwrap();
        assert_eq!(
            (name.as_str(), t.dims()),
            ("features.1.0.layer_scale", &[3, 1, 1][..])
        );
    }

    #[test]
    fn drop_path_grows_linearly_to_the_last_block() {
        let r = ConvNextConfig::TINY.drop_path_rates();
        assert_eq!(r.len(), 18);
        assert_eq!(r[0], 0.0);
        assert!((r[17] - 0.1).abs() < 1e-12);
    }
}
