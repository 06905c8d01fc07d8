//! The top patches of each channel of a stage: over a set of images, the positions that excite
//! a channel most, each with the input box its receptive field covers.

use crate::{Error, Result};
use candle_core::{DType, Device, Tensor};
use fastcandle_core::Batch;
use fastcandle_data::vision::{Image, Normalize, TestImages, batch_images};
use fastcandle_models::{Body, Stage};

/// Which channels of a stage to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channels {
    /// The `k` channels with the largest mean activation (over every image and position).
    MostActive(usize),
    /// These channels, in this order.
    Given(Vec<usize>),
}

/// One top activation of a channel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Patch {
    /// The index of the image among all the images given (batches in order).
    pub image: usize,
    /// The row of the position in the stage's feature map.
    pub y: usize,
    /// The column of the position in the stage's feature map.
    pub x: usize,
    /// The activation there (the largest of the channel in that image).
    pub activation: f32,
    /// The input box `(y0, x0, y1, x1)` (half-open) the position sees, clipped to the image.
    pub bbox: (usize, usize, usize, usize),
}

/// A channel and its top patches, largest activation first.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelPatches {
    /// The channel's index in the stage's output.
    pub channel: usize,
    /// Its mean activation over every image and position.
    pub mean: f32,
    /// Its top patches, at most one per image, largest activation first.
    pub patches: Vec<Patch>,
}

/// The top patches of the chosen channels of one stage.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePatches {
    /// The stage (name, channels, receptive field).
    pub stage: Stage,
    /// The chosen channels, in the order asked for (most active first for
    /// [`Channels::MostActive`]).
    pub channels: Vec<ChannelPatches>,
}

/// What one stage's outputs leave behind: per image and channel the largest activation and
/// where it is, and per channel the running sum.
struct StageStats {
    /// `[image][channel]` (activation, y, x).
    best: Vec<Vec<(f32, usize, usize)>>,
    /// The input image size of every image.
    sizes: Vec<(usize, usize)>,
    sums: Vec<f64>,
    positions: usize,
}

/// Runs `body` (in evaluation mode) on `batches` (`[B, 3, H, W]`, as the model takes them),
/// and for every stage of `stages` picks `channels` and, for each, the `per_channel` images
/// where it is most active, with the position of its largest activation in that image and that
/// position's receptive box.
///
/// A channel's patches come from distinct images (its largest activation in each image, the
/// images sorted by it), as Zeiler & Fergus show them: a texture that fills one image would
/// otherwise fill the whole row. The body runs once per batch for all the stages together, and
/// only up to the deepest one.
pub fn top_patches(
    body: &Body,
    batches: &[Tensor],
    stages: &[Stage],
    channels: &Channels,
    per_channel: usize,
) -> Result<Vec<StagePatches>> {
    let Some(last) = stages.iter().map(|s| s.child).max() else {
        return Ok(Vec::new());
    };
    let mut stats: Vec<StageStats> = stages
        .iter()
        .map(|s| StageStats {
            best: Vec::new(),
            sizes: Vec::new(),
            sums: vec![0.0; s.channels],
            positions: 0,
        })
        .collect();
    for batch in batches {
        let (b, _, h, w) = batch.dims4()?;
        let outs = body.forward_to(batch, last, false)?;
        for (s, st) in stages.iter().zip(&mut stats) {
            let o = outs[s.child]
                .to_device(&Device::Cpu)?
                .to_dtype(DType::F32)?;
            let (_, c, oh, ow) = o.dims4()?;
            if c != s.channels {
                return Err(Error::Invalid(format!(
                    "stage {} gives {c} channels, its geometry says {}",
                    s.name, s.channels
                )));
            }
            let flat = o.reshape((b, c, oh * ow))?;
            for (ch, sum) in flat.sum((0, 2))?.to_vec1::<f32>()?.iter().enumerate() {
                st.sums[ch] += f64::from(*sum);
            }
            st.positions += b * oh * ow;
            let max = flat.max(2)?.to_vec2::<f32>()?;
            let arg = flat.argmax(2)?.to_vec2::<u32>()?;
            for (m, a) in max.iter().zip(&arg) {
                let best = m
                    .iter()
                    .zip(a)
                    .map(|(&v, &i)| (v, i as usize / ow, i as usize % ow))
                    .collect();
                st.best.push(best);
                st.sizes.push((h, w));
            }
        }
    }
    stages
        .iter()
        .zip(stats)
        .map(|(s, st)| {
            let means: Vec<f32> = st
                .sums
                .iter()
                .map(|&v| (v / st.positions.max(1) as f64) as f32)
                .collect();
            let chosen = choose(channels, &means, s)?;
            let channels = chosen
                .into_iter()
                .map(|ch| {
                    let mut patches: Vec<Patch> = st
                        .best
                        .iter()
                        .zip(&st.sizes)
                        .enumerate()
                        .map(|(image, (best, &size))| {
                            let (activation, y, x) = best[ch];
                            Patch {
                                image,
                                y,
                                x,
                                activation,
                                bbox: s.field.input_box((y, x), size),
                            }
                        })
                        .collect();
                    patches.sort_by(|a, b| b.activation.total_cmp(&a.activation));
                    patches.truncate(per_channel);
                    ChannelPatches {
                        channel: ch,
                        mean: means[ch],
                        patches,
                    }
                })
                .collect();
            Ok(StagePatches {
                stage: s.clone(),
                channels,
            })
        })
        .collect()
}

/// The channels to show: the given ones (checked) or the most active on average.
fn choose(channels: &Channels, means: &[f32], stage: &Stage) -> Result<Vec<usize>> {
    match channels {
        Channels::Given(v) => match v.iter().find(|&&c| c >= means.len()) {
            Some(c) => Err(Error::Invalid(format!(
                "stage {} has {} channels, there is no channel {c}",
                stage.name,
                means.len()
            ))),
            None => Ok(v.clone()),
        },
        Channels::MostActive(k) => {
            let mut idx: Vec<usize> = (0..means.len()).collect();
            idx.sort_by(|&a, &b| means[b].total_cmp(&means[a]));
            idx.truncate(*k);
            Ok(idx)
        }
    }
}

/// The images of `batches` (normalised by `normalize`, if given) as 8-bit RGB images, in order:
/// what [`Patch::image`] indexes.
pub fn decode_batches(batches: &[Tensor], normalize: Option<&Normalize>) -> Result<Vec<Image>> {
    let mut images = Vec::new();
    for x in batches {
        let b = x.dims()[0];
        let batch = Batch {
            xs: vec![x.clone()],
            ys: Tensor::zeros(b, DType::U32, x.device())?,
        };
        images.extend(batch_images(&batch, normalize)?);
    }
    Ok(images)
}

/// The image batches of a test set (`ImageLoader::test_dl` or `test_dl_items`), in order.
pub fn test_batches(test: &TestImages) -> Result<Vec<Tensor>> {
    test.batches()
        .map(|b| Ok(b?.xs[0].clone()))
        .collect::<Result<Vec<_>>>()
}
