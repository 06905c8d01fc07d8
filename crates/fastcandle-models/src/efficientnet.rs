//! torchvision's EfficientNet-B0 `features`, with torchvision's parameter names
//! (`features.0.0.weight`, `features.2.0.block.2.fc1.weight`, ...) and initialisation
//! (convolutions `kaiming_normal_` with `fan_out`, BatchNorm weight 1 and bias 0).
//!
//! A block is torchvision's `MBConv`: an optional 1×1 expansion, a depthwise convolution (with
//! the stride), squeeze-excitation, a 1×1 linear projection, and the identity added (after
//! stochastic depth) when shapes allow. Activations are SiLU. Stochastic depth grows linearly
//! over the 16 blocks, block `i` dropping with `0.2 * i / 16` in training.
//!
//! [`EfficientNetConfig`] makes BatchNorm's `eps` and momentum and TensorFlow's "same" padding
//! configurable, so that checkpoints ported from TensorFlow (timm's `tf_efficientnet_b0`, with
//! the same names as its `efficientnet_b0`) read as they were trained.
//!
//! Layer groups: `features.0` .. `features.3` (down to 1/8 resolution) in group 0,
//! `features.4` .. `features.8` in group 1, as fastai's ResNet split; a head goes in group 2.
//!
//! Hub weights are timm's `efficientnet_b0.ra_in1k`, read through [`from_timm`].

use crate::body::Body;
use crate::layers::{
    BatchNorm, Conv2d, Conv2dConfig, Layer, Sequential, SqueezeExcitation, StochasticDepth,
    pad_same,
};
use crate::receptive::ReceptiveField;
use crate::rename::replace_prefix;
use candle_core::Tensor;
use fastcandle_core::init::Init;
use fastcandle_core::{ParamBuilder, Result};

/// `(expand, kernel, stride, c_in, c_out, repeats)` of every stage of B0 (torchvision's
/// `MBConvConfig` at width and depth 1.0).
const SETTINGS: [(usize, usize, usize, usize, usize, usize); 7] = [
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
];

/// The channels of the body's output.
pub const OUT_CHANNELS: usize = 1280;

/// The first child of group 1.
const SPLIT: usize = 4;

/// The options of EfficientNet-B0 that checkpoints differ in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EfficientNetConfig {
    /// BatchNorm's `eps`: 1e-5 in torchvision's and timm's B0, 1e-3 in TensorFlow's.
    pub bn_eps: f64,
    /// BatchNorm's momentum: PyTorch's 0.1; TensorFlow's decay 0.99 is 0.01.
    pub bn_momentum: f64,
    /// TensorFlow's "same" padding ([`pad_same`]) instead of PyTorch's symmetric `(k - 1) / 2`.
    pub tf_same_padding: bool,
    /// The stochastic-depth rate of the last block (torchvision's `stochastic_depth_prob`).
    pub stochastic_depth_prob: f64,
}

impl EfficientNetConfig {
    /// torchvision's `efficientnet_b0` (and timm's `efficientnet_b0`).
    pub const B0: Self = Self {
        bn_eps: 1e-5,
        bn_momentum: 0.1,
        tf_same_padding: false,
        stochastic_depth_prob: 0.2,
    };

    /// B0 as TensorFlow trained it (timm's `tf_efficientnet_b0`): BatchNorm `eps` 1e-3,
    /// momentum 0.01, "same" padding.
    pub const TF_B0: Self = Self {
        bn_eps: 1e-3,
        bn_momentum: 0.01,
        tf_same_padding: true,
        stochastic_depth_prob: 0.2,
    };
}

impl Default for EfficientNetConfig {
    fn default() -> Self {
        Self::B0
    }
}

/// The stochastic-depth rate of every block in order: `prob * i / 16` for block `i` (from 0),
/// as torchvision's `EfficientNet`.
pub fn drop_path_rates(prob: f64) -> Vec<f64> {
    let total: usize = SETTINGS.iter().map(|s| s.5).sum();
    (0..total).map(|i| prob * i as f64 / total as f64).collect()
}

/// torchvision's `Conv2dNormActivation`: `N.0` convolution without bias, `N.1` BatchNorm, and
/// SiLU unless it is a linear projection.
struct ConvBnAct {
    conv: Conv2d,
    bn: BatchNorm,
    silu: bool,
    /// `(kernel, stride)` of TensorFlow's "same" padding, applied before the convolution.
    same: Option<(usize, usize)>,
}

impl ConvBnAct {
    #[allow(clippy::too_many_arguments)]
    fn new(
        pb: &ParamBuilder,
        cfg: &EfficientNetConfig,
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        groups: usize,
        silu: bool,
    ) -> Result<Self> {
        let conv_cfg = Conv2dConfig {
            stride,
            padding: if cfg.tf_same_padding { 0 } else { (k - 1) / 2 },
            groups,
            bias: false,
            // PyTorch's fan_out: the weight's first dimension times the kernel area.
            init: Some(Init::KaimingNormal { fan: c_out * k * k }),
        };
        Ok(Self {
            conv: Conv2d::new(&pb.pp(0), c_in, c_out, k, conv_cfg)?,
            bn: BatchNorm::new(&pb.pp(1), c_out)?
                .with_eps(cfg.bn_eps)
                .with_momentum(cfg.bn_momentum),
            silu,
            same: cfg.tf_same_padding.then_some((k, stride)),
        })
    }
}

impl Layer for ConvBnAct {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = match self.same {
            Some((k, s)) => pad_same(x, k, s)?,
            None => x.clone(),
        };
        let y = self.bn.forward_t(&self.conv.forward(&x)?, train)?;
        if self.silu { Ok(y.silu()?) } else { Ok(y) }
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        match self.same {
            // The top-left padding where the size divides by the stride.
            Some((k, s)) => input.window(k, s, k.saturating_sub(s) / 2, 1),
            None => self.conv.receptive_field(input),
        }
    }

    fn out_channels_from(&self, _c_in: usize) -> usize {
        self.conv.out_channels()
    }
}

/// torchvision's `MBConv`, its layers under `block.N`.
struct MbConv {
    expand: Option<ConvBnAct>,
    depthwise: ConvBnAct,
    se: SqueezeExcitation,
    project: ConvBnAct,
    drop_path: StochasticDepth,
    residual: bool,
}

impl MbConv {
    fn new(
        pb: &ParamBuilder,
        cfg: &EfficientNetConfig,
        (expand, k, stride, c_in, c_out): (usize, usize, usize, usize, usize),
        drop_path: f64,
    ) -> Result<Self> {
        let hidden = c_in * expand;
        let block = pb.pp("block");
        let mut i = 0;
        let expand = if expand != 1 {
            i += 1;
            Some(ConvBnAct::new(
                &block.pp(0),
                cfg,
                c_in,
                hidden,
                1,
                1,
                1,
                true,
            )?)
        } else {
            None
        };
        let depthwise = ConvBnAct::new(&block.pp(i), cfg, hidden, hidden, k, stride, hidden, true)?;
        let se = SqueezeExcitation::new(&block.pp(i + 1), hidden, (c_in / 4).max(1), |c_out| {
            Init::KaimingNormal { fan: c_out }
        })?;
        let project = ConvBnAct::new(&block.pp(i + 2), cfg, hidden, c_out, 1, 1, 1, false)?;
        Ok(Self {
            expand,
            depthwise,
            se,
            project,
            drop_path: StochasticDepth::new(pb, drop_path),
            residual: stride == 1 && c_in == c_out,
        })
    }
}

impl Layer for MbConv {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut y = match &self.expand {
            Some(e) => e.forward_t(x, train)?,
            None => x.clone(),
        };
        y = self.depthwise.forward_t(&y, train)?;
        y = self.se.forward_t(&y, train)?;
        y = self.project.forward_t(&y, train)?;
        if self.residual {
            y = (self.drop_path.forward_t(&y, train)? + x)?;
        }
        Ok(y)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        let expanded = match &self.expand {
            Some(e) => e.receptive_field(input),
            None => input,
        };
        let main = self.depthwise.receptive_field(expanded);
        if self.residual {
            main.union(input)
        } else {
            main
        }
    }

    fn out_channels_from(&self, _c_in: usize) -> usize {
        self.project.conv.out_channels()
    }
}

/// Builds EfficientNet-B0's `features` as torchvision's `efficientnet_b0` under `pb` (names
/// `features.N...`), in layer groups 0 (`features.0` .. `features.3`) and 1 (the rest).
pub fn efficientnet_b0_body(pb: &ParamBuilder) -> Result<Body> {
    efficientnet_body(pb, &EfficientNetConfig::B0)
}

/// [`efficientnet_b0_body`] with the options of `cfg`.
pub fn efficientnet_body(pb: &ParamBuilder, cfg: &EfficientNetConfig) -> Result<Body> {
    let group = |i: usize| pb.group(usize::from(i >= SPLIT)).pp("features").pp(i);
    let mut children =
        Sequential::new().with(ConvBnAct::new(&group(0), cfg, 3, 32, 3, 2, 1, true)?);
    let rates = drop_path_rates(cfg.stochastic_depth_prob);
    let mut block = 0;
    for (s, &(expand, k, stride, c_in, c_out, n)) in SETTINGS.iter().enumerate() {
        let stage_pb = group(s + 1);
        let mut stage = Sequential::new();
        for r in 0..n {
            let (c_in, stride) = if r == 0 { (c_in, stride) } else { (c_out, 1) };
            let spec = (expand, k, stride, c_in, c_out);
            stage.push(MbConv::new(&stage_pb.pp(r), cfg, spec, rates[block])?);
            block += 1;
        }
        children.push(stage);
    }
    let last = SETTINGS.len() + 1;
    children.push(ConvBnAct::new(
        &group(last),
        cfg,
        320,
        OUT_CHANNELS,
        1,
        1,
        1,
        true,
    )?);
    Ok(Body::features(children, OUT_CHANNELS))
}

/// timm's names for EfficientNet (`conv_stem`, `bn1`, `blocks.S.I.conv_pw`, ...,
/// `conv_head`, `bn2`, `classifier`) mapped to torchvision's, the tensors unchanged. timm's
/// first stage is a `DepthwiseSeparableConv` (`conv_dw`, `bn1`, `se`, `conv_pw`, `bn2`), the
/// others `InvertedResidual`s (`conv_pw`, `bn1`, `conv_dw`, `bn2`, `se`, `conv_pwl`, `bn3`).
pub fn from_timm(key: &str, t: Tensor) -> Result<(String, Tensor)> {
    Ok((timm_name(key).unwrap_or_else(|| key.to_string()), t))
}

fn timm_name(key: &str) -> Option<String> {
    let last = SETTINGS.len() + 1;
    let top = [
        ("conv_stem", "features.0.0".to_string()),
        ("bn1", "features.0.1".to_string()),
        ("conv_head", format!("features.{last}.0")),
        ("bn2", format!("features.{last}.1")),
        ("classifier", "classifier.1".to_string()),
    ];
    let top: Vec<(&str, &str)> = top.iter().map(|(a, b)| (*a, b.as_str())).collect();
    if let Some(name) = replace_prefix(key, &top) {
        return Some(name);
    }
    let mut parts = key.strip_prefix("blocks.")?.splitn(3, '.');
    let stage: usize = parts.next()?.parse().ok()?;
    let index: usize = parts.next()?.parse().ok()?;
    let rest = parts.next()?;
    let &(expand, ..) = SETTINGS.get(stage)?;
    let layers: &[(&str, &str)] = if expand == 1 {
        &[
            ("conv_dw", "block.0.0"),
            ("bn1", "block.0.1"),
            ("se.conv_reduce", "block.1.fc1"),
            ("se.conv_expand", "block.1.fc2"),
            ("conv_pw", "block.2.0"),
            ("bn2", "block.2.1"),
        ]
    } else {
        &[
            ("conv_pw", "block.0.0"),
            ("bn1", "block.0.1"),
            ("conv_dw", "block.1.0"),
            ("bn2", "block.1.1"),
            ("se.conv_reduce", "block.2.fc1"),
            ("se.conv_expand", "block.2.fc2"),
            ("conv_pwl", "block.3.0"),
            ("bn3", "block.3.1"),
        ]
    };
    let ours = replace_prefix(rest, layers)?;
    Some(format!("features.{}.{index}.{ours}", stage + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timm_names_map_to_torchvision_names() {
        for (timm, ours) in [
            ("conv_stem.weight", "features.0.0.weight"),
            ("bn1.running_var", "features.0.1.running_var"),
            ("blocks.0.0.conv_dw.weight", "features.1.0.block.0.0.weight"),
            ("blocks.0.0.conv_pw.weight", "features.1.0.block.2.0.weight"),
            ("blocks.1.1.conv_pw.weight", "features.2.1.block.0.0.weight"),
            (
                "blocks.5.3.se.conv_expand.bias",
                "features.6.3.block.2.fc2.bias",
            ),
            ("blocks.6.0.bn3.weight", "features.7.0.block.3.1.weight"),
            ("conv_head.weight", "features.8.0.weight"),
            ("bn2.bias", "features.8.1.bias"),
            ("classifier.weight", "classifier.1.weight"),
        ] {
            assert_eq!(timm_name(timm).as_deref(), Some(ours), "{timm}");
        }
        assert_eq!(timm_name("blocks.7.0.conv_pw.weight"), None);
        assert_eq!(timm_name("blocks.1.0.conv_xx.weight"), None);
    }
}
