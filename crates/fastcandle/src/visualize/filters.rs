//! The first convolution's kernels as one picture: what layer 1 looks for (edges, colour blobs
//! on an ImageNet model).

use crate::error::{Error, Result};
use candle_core::DType;
use fastcandle_core::Model;
use fastcandle_data::vision::{Image, save_captioned_grid};
use std::path::Path;

/// The first convolution on the image: the parameter of shape `[out, 3, k, k]` (`conv1.weight`
/// for a ResNet, `features.0.0.weight` for MobileNetV2), as its name and kernels
/// (`[out][3 * k * k]`, channel-major) with `k`.
pub fn first_conv(model: &dyn Model) -> Result<(String, Vec<Vec<f32>>, usize)> {
    let p = model
        .params()
        .all()
        .into_iter()
        .find(|p| matches!(p.tensor().dims(), [_, 3, h, w] if h == w))
        .ok_or_else(|| {
            Error::Invalid("filters: the model has no convolution on 3-channel images".into())
        })?;
    let k = p.tensor().dims()[2];
    let kernels: Vec<Vec<f32>> = p
        .tensor()
        .to_dtype(DType::F32)?
        .flatten_from(1)?
        .to_vec2()?;
    Ok((p.name.clone(), kernels, k))
}

/// Writes the first convolution's kernels as a PNG grid (8 a row), each kernel an RGB picture
/// scaled on its own from its smallest to its largest weight (as fastbook and Zeiler & Fergus
/// show them), enlarged so that a 3x3 kernel is as visible as a 7x7 one.
pub fn save_filters(model: &dyn Model, path: impl AsRef<Path>) -> Result<()> {
    let (name, kernels, k) = first_conv(model)?;
    let images: Vec<Image> = kernels.iter().map(|w| kernel_image(w, k)).collect();
    let cell = (56 / k).max(4) * k;
    let cols = 8.min(images.len()).max(1);
    let gap = 4;
    let rows = images.len().div_ceil(cols);
    let (width, height) = (cols * (cell + gap) - gap, rows * (cell + gap) - gap);
    let scale = cell / k;
    let grid = Image::from_fn(width, height, |x, y| {
        let (cx, cy) = (x / (cell + gap), y / (cell + gap));
        let (ix, iy) = (x % (cell + gap), y % (cell + gap));
        match images.get(cy * cols + cx) {
            Some(img) if ix < cell && iy < cell => img.pixel(ix / scale, iy / scale),
            _ => [255; 3],
        }
    });
    let caption = format!(
        "{name}: {} filters of {k}x{k}, each scaled on its own",
        kernels.len()
    );
    Ok(save_captioned_grid(
        &[grid],
        &[caption],
        &[[90, 90, 90]],
        path.as_ref(),
    )?)
}

/// One kernel (`3 * k * k` weights, channel-major) as an RGB picture scaled from its smallest
/// weight (black) to its largest (full colour).
pub fn kernel_image(weights: &[f32], k: usize) -> Image {
    let (lo, hi) = weights
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let plane = k * k;
    Image::from_fn(k, k, |x, y| {
        std::array::from_fn(|c| {
            let v = weights.get(c * plane + y * k + x).copied().unwrap_or(lo);
            (255.0 * (v - lo) / span).round().clamp(0.0, 255.0) as u8
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_is_scaled_on_its_own_channel_by_channel() {
        // 2x2 kernel: red rises 0..3, green is flat at the minimum, blue at the maximum.
        let w = [0., 1., 2., 3., 0., 0., 0., 0., 3., 3., 3., 3.];
        let img = kernel_image(&w, 2);
        assert_eq!(img.pixel(0, 0), [0, 0, 255]);
        assert_eq!(img.pixel(1, 0), [85, 0, 255]);
        assert_eq!(img.pixel(1, 1), [255, 0, 255]);
    }
}
