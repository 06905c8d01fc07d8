//! fastai's `DynamicUnet`: a U-Net decoder grown on any body, found by where the body's
//! resolution changes.
//!
//! The encoder is a [`Body`] (a cut ResNet or MobileNetV2, with torchvision's names, in layer
//! groups 0 and 1). On a dummy input of the training size, the outputs of the body's children
//! show where the resolution halves; the output of the child before each change is a skip
//! connection. The decoder (group 2, names under `decoder.`) is fastai's, with its defaults
//! (`norm_type=None`, `last_cross=True`, no blur, no self-attention):
//!
//! - `bn`: BatchNorm and ReLU on the body's output, then `middle`: two 3x3 conv-ReLU layers
//!   (`ni -> 2ni -> ni`);
//! - one [`UnetBlock`] per skip, deepest first: PixelShuffle upsampling with ICNR
//!   initialisation (`up_in -> up_in/2`), BatchNorm on the skip, concatenation, ReLU, two 3x3
//!   conv-ReLU layers (the last block halves its channels);
//! - `shuf`: one more PixelShuffle when the first child already halved the input, then a
//!   nearest resize to the input's size when they still differ (inputs not divisible by 32);
//! - the last cross connection: the input image concatenated, a residual block of two 3x3
//!   convolutions (`res`), and a 1x1 convolution to the classes (`final`).
//!
//! The decoder's names are fastai's with the indices of its `SequentialEx` replaced by names
//! (`decoder.blocks.0.shuf.0.0.weight` is fastai's `4.shuf.0.0.weight`).
//!
//! Input: one `f32` batch `[N, 3, H, W]`; output: logits `[N, n_out, H, W]` for any `H, W`.

use crate::body::Body;
use crate::layers::{BatchNorm, Conv2d, Conv2dConfig};
use crate::vision::{Arch, Pretrained, load_pretrained_body};
use candle_core::{Device, Tensor};
use fastcandle_core::init::{Init, icnr};
use fastcandle_core::ops::{pixel_shuffle, relu, upsample_nearest2d};
use fastcandle_core::{Error, Model, ParamBuilder, ParamStore, Result};

/// Prefix of the decoder's parameter names.
const DECODER: &str = "decoder";

/// fastai's `ConvLayer` with `norm_type=None`: a `k x k` convolution with a bias (padding
/// `(k-1)/2`), then a ReLU unless `act` is off. Weights Kaiming-normal, bias zero (fastai's
/// `apply_init(..., kaiming_normal_)`).
struct ConvLayer {
    conv: Conv2d,
    act: bool,
}

impl ConvLayer {
    fn new(pb: &ParamBuilder, c_in: usize, c_out: usize, k: usize, act: bool) -> Result<Self> {
        let cfg = Conv2dConfig {
            padding: (k - 1) / 2,
            init: Some(Init::KaimingNormal { fan: c_in * k * k }),
            ..Default::default()
        };
        Ok(Self {
            conv: Conv2d::new(&pb.pp(0), c_in, c_out, k, cfg)?,
            act,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.conv.forward(x)?;
        if self.act { Ok(relu(&y)?) } else { Ok(y) }
    }
}

/// fastai's `PixelShuffle_ICNR` (without weight norm): a 1x1 conv-ReLU to `c_out * 4`
/// channels, ICNR-initialised so that it starts as a nearest upsampling, and a pixel shuffle
/// doubling the resolution.
struct PixelShuffleIcnr {
    conv: ConvLayer,
}

impl PixelShuffleIcnr {
    fn new(pb: &ParamBuilder, c_in: usize, c_out: usize) -> Result<Self> {
        let conv = ConvLayer::new(&pb.pp(0), c_in, c_out * 4, 1, true)?;
        let name = pb.pp(0).pp(0).path("weight");
        let weight = pb.store().get(&name).ok_or_else(|| Error::BadTensor {
            name: name.clone(),
            reason: "the convolution registered no weight".into(),
        })?;
        let w = pb.with_rng(|g| icnr(&[c_out * 4, c_in, 1, 1], 2, g))?;
        weight
            .var
            .set(&Tensor::from_vec(w, (c_out * 4, c_in, 1, 1), pb.device())?)?;
        Ok(Self { conv })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(pixel_shuffle(&self.conv.forward(x)?, 2)?)
    }
}

/// fastai's `UnetBlock`: upsamples the deeper features, joins them with the skip connection
/// and mixes them with two convolutions.
pub struct UnetBlock {
    shuf: PixelShuffleIcnr,
    bn: BatchNorm,
    conv1: ConvLayer,
    conv2: ConvLayer,
    out_channels: usize,
}

impl UnetBlock {
    /// A block taking `up_in` channels from below and a skip of `skip_in` channels; the final
    /// block (`final_div` off) halves its output channels.
    fn new(pb: &ParamBuilder, up_in: usize, skip_in: usize, final_div: bool) -> Result<Self> {
        let ni = up_in / 2 + skip_in;
        let nf = if final_div { ni } else { ni / 2 };
        Ok(Self {
            shuf: PixelShuffleIcnr::new(&pb.pp("shuf"), up_in, up_in / 2)?,
            bn: BatchNorm::fastai(&pb.pp("bn"), skip_in)?,
            conv1: ConvLayer::new(&pb.pp("conv1"), ni, nf, 3, true)?,
            conv2: ConvLayer::new(&pb.pp("conv2"), nf, nf, 3, true)?,
            out_channels: nf,
        })
    }

    /// The block's output from the deeper features `up_in` and the skip connection `skip`.
    pub fn forward_t(&self, up_in: &Tensor, skip: &Tensor, train: bool) -> Result<Tensor> {
        let mut up = self.shuf.forward(up_in)?;
        let (_, _, h, w) = skip.dims4()?;
        if up.dims()[2..] != [h, w] {
            up = upsample_nearest2d(&up, h, w)?;
        }
        let cat = Tensor::cat(&[&up, &self.bn.forward_t(skip, train)?], 1)?;
        let x = relu(&cat)?;
        self.conv2.forward(&self.conv1.forward(&x)?)
    }

    /// The number of output channels.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }
}

/// fastai's `DynamicUnet` over a [`Body`] (see the module documentation).
pub struct DynamicUnet {
    arch: Option<Arch>,
    encoder: Body,
    skips: Vec<usize>,
    bn: BatchNorm,
    middle: [ConvLayer; 2],
    blocks: Vec<UnetBlock>,
    shuf: Option<PixelShuffleIcnr>,
    res: [ConvLayer; 2],
    last: Conv2d,
    params: ParamStore,
}

impl DynamicUnet {
    /// A U-Net on `arch`'s body for `n_out` classes, laid out for `img_size` (`(height,
    /// width)`, fastai's `img_size`: the training images' size), initialised from `seed` on
    /// `device`, then the body's pretrained weights loaded.
    pub fn new(
        arch: Arch,
        n_out: usize,
        img_size: (usize, usize),
        pretrained: &Pretrained,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        let pb = ParamBuilder::new(device, seed);
        let body = (arch.spec().body)(&pb)?;
        let mut unet = Self::on_body(&pb, body, n_out, img_size)?;
        unet.arch = Some(arch);
        load_pretrained_body(&unet.params, arch, pretrained, DECODER)?;
        Ok(unet)
    }

    /// A U-Net on any `body` built under `pb` (in groups 0 and 1): the decoder goes in group 2
    /// under `decoder.`.
    pub fn on_body(
        pb: &ParamBuilder,
        body: Body,
        n_out: usize,
        (h, w): (usize, usize),
    ) -> Result<Self> {
        if h < 2 || w < 2 || n_out == 0 {
            return Err(Error::BadTensor {
                name: "DynamicUnet".into(),
                reason: format!("cannot lay out a U-Net for {h}x{w} images and {n_out} classes"),
            });
        }
        // fastai's `model_sizes` on a dummy batch (evaluation mode: no statistic moves).
        let dummy = Tensor::zeros((1, 3, h, w), candle_core::DType::F32, pb.device())?;
        let sizes: Vec<(usize, usize, usize)> = body
            .forward_children(&dummy, false)?
            .iter()
            .map(|t| t.dims4().map(|(_, c, h, w)| (c, h, w)))
            .collect::<candle_core::Result<_>>()?;
        // fastai's `_get_sz_change_idxs`: children after which the width changes, deepest first.
        let skips: Vec<usize> = (0..sizes.len().saturating_sub(1))
            .filter(|&i| sizes[i].2 != sizes[i + 1].2)
            .rev()
            .collect();
        let ni = sizes.last().map_or(0, |s| s.0);
        let d = pb.group(2).pp(DECODER);
        let bn = BatchNorm::fastai(&d.pp("bn"), ni)?;
        let middle = [
            ConvLayer::new(&d.pp("middle.0"), ni, 2 * ni, 3, true)?,
            ConvLayer::new(&d.pp("middle.1"), 2 * ni, ni, 3, true)?,
        ];
        let mut blocks = Vec::with_capacity(skips.len());
        let mut c = ni;
        for (i, &idx) in skips.iter().enumerate() {
            let not_final = i + 1 != skips.len();
            let block = UnetBlock::new(&d.pp(format!("blocks.{i}")), c, sizes[idx].0, not_final)?;
            c = block.out_channels();
            blocks.push(block);
        }
        let shuf = match sizes.first() {
            Some(&(_, sh, sw)) if (sh, sw) != (h, w) => {
                Some(PixelShuffleIcnr::new(&d.pp("shuf"), c, c)?)
            }
            _ => None,
        };
        let c = c + 3;
        let res = [
            ConvLayer::new(&d.pp("res.0"), c, c, 3, true)?,
            ConvLayer::new(&d.pp("res.1"), c, c, 3, false)?,
        ];
        // fastai's last ConvLayer keeps PyTorch's default weight and a N(0, 0.01) bias.
        let last_cfg = Conv2dConfig::default();
        let last = Conv2d::new(&d.pp("final.0"), c, n_out, 1, last_cfg)?;
        let bias_name = d.pp("final.0").path("bias");
        if let Some(b) = pb.store().get(&bias_name) {
            let v = pb.with_rng(|g| Init::TruncNormal { std: 0.01 }.sample(n_out, g));
            b.var.set(&Tensor::from_vec(v, n_out, pb.device())?)?;
        }
        Ok(Self {
            arch: None,
            encoder: body,
            skips,
            bn,
            middle,
            blocks,
            shuf,
            res,
            last,
            params: pb.store().clone(),
        })
    }

    /// The architecture of the encoder, when built by [`DynamicUnet::new`].
    pub fn arch(&self) -> Option<Arch> {
        self.arch
    }

    /// The encoder's children whose outputs are skip connections, deepest first (fastai's
    /// `sz_chg_idxs`).
    pub fn skip_indices(&self) -> &[usize] {
        &self.skips
    }

    /// The decoder's blocks, deepest first.
    pub fn blocks(&self) -> &[UnetBlock] {
        &self.blocks
    }

    /// The logits `[N, n_out, H, W]` of a batch `[N, 3, H, W]`.
    pub fn forward_image(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        let feats = self.encoder.forward_children(x, train)?;
        let top = feats.last().ok_or_else(|| Error::BadTensor {
            name: "DynamicUnet".into(),
            reason: "the encoder has no layers".into(),
        })?;
        let mut y = relu(&self.bn.forward_t(top, train)?)?;
        for m in &self.middle {
            y = m.forward(&y)?;
        }
        for (block, &idx) in self.blocks.iter().zip(&self.skips) {
            y = block.forward_t(&y, &feats[idx], train)?;
        }
        if let Some(s) = &self.shuf {
            y = s.forward(&y)?;
        }
        if y.dims()[2..] != [h, w] {
            y = upsample_nearest2d(&y, h, w)?;
        }
        let cat = Tensor::cat(&[&y, x], 1)?;
        let r = self.res[1].forward(&self.res[0].forward(&cat)?)?;
        let y = relu(&(r + cat)?)?;
        self.last.forward(&y)
    }
}

impl Model for DynamicUnet {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> Result<Tensor> {
        let [x] = xs else {
            return Err(Error::BadTensor {
                name: "U-Net inputs".into(),
                reason: format!("expected one image batch, got {} tensors", xs.len()),
            });
        };
        self.forward_image(x, train)
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}
