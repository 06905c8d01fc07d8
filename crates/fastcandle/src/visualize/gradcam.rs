//! Grad-CAM pictures (fastbook chapter 18): where in each image the model found the class it
//! predicted, as a heat map over the image, and how much of the heat lies on the object.

use crate::error::Result;
use candle_core::{DType, Tensor};
use fastcandle_core::Model;
use fastcandle_core::grad::no_grad;
use fastcandle_data::vision::{
    Image, Normalize, TestImages, batch_images, in_a_row, save_captioned_grid,
};
use fastcandle_models::VisionModel;
use fastcandle_models::cam::{ClassMap, class_activation_map, grad_cam};
use std::path::{Path, PathBuf};

/// One image's Grad-CAM and what it says.
#[derive(Debug, Clone)]
pub struct GradCamRecord {
    /// The image's file.
    pub item: PathBuf,
    /// Its true class, when known.
    pub label: Option<String>,
    /// The predicted class (the map is for it).
    pub predicted: String,
    /// The probability of the prediction.
    pub probability: f32,
    /// The share of the (positive) heat that lies on object pixels, when the object is known.
    pub object_heat: Option<f64>,
    /// The object's share of the image's pixels, when the object is known.
    pub object_area: Option<f64>,
    /// The map itself, at the layer's resolution.
    pub map: ClassMap,
    /// The picture written.
    pub picture: PathBuf,
}

/// What is object in an image (as the model sees it, after its item transforms): one flag a
/// pixel, row by row; `None` when the data does not say.
pub type ObjectMask<'a> = &'a dyn Fn(&Image) -> Option<Vec<bool>>;

/// Which class activation map [`grad_cam_pictures`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapMethod {
    /// Grad-CAM at the chosen module ([`grad_cam`]).
    #[default]
    GradCam,
    /// fastbook's CAM: the head's last weights on the body's output
    /// ([`class_activation_map`]).
    Cam,
}

/// How [`grad_cam_pictures`] draws: the module whose output is weighted, how the images were
/// normalised, and what is object.
pub struct GradCamOptions<'a> {
    /// The hooked module (a name of `model.hook_points()`; fastbook: the body's output).
    pub layer: &'a str,
    /// The class mapped (default: each image's predicted class).
    pub class: Option<usize>,
    /// Grad-CAM at `layer` (default), or fastbook's CAM on the body's output.
    pub method: MapMethod,
    /// The normalisation the images got, undone to show them.
    pub normalize: Option<&'a Normalize>,
    /// What is object in an image, if the data says.
    pub object: ObjectMask<'a>,
}

/// Grad-CAM of the predicted class at `opts.layer` for every image of `images` (batched as the
/// model's validation set; `labels` their true classes, if known), each written to `dir` as
/// `{stem}.png`: the image beside it with the heat laid over it, captioned with the labels and,
/// where `opts.object` says what is object, the heat's share on it and the object's share of
/// the image.
pub fn grad_cam_pictures(
    model: &VisionModel,
    vocab: &[String],
    images: &TestImages,
    labels: Option<&[String]>,
    opts: &GradCamOptions<'_>,
    dir: &Path,
) -> Result<Vec<GradCamRecord>> {
    let (layer, normalize, object) = (opts.layer, opts.normalize, opts.object);
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::File {
        path: dir.display().to_string(),
        reason: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(images.len());
    let paths = images.paths().to_vec();
    let mut index = 0;
    for batch in images.batches() {
        let batch = batch?;
        let pictures = batch_images(&batch, normalize)?;
        let probs = no_grad(|| model.forward_t(&batch.xs, false))?;
        let probs: Vec<Vec<f32>> = candle_nn::ops::softmax_last_dim(&probs)?
            .to_dtype(DType::F32)?
            .to_vec2()?;
        for (i, (picture, p)) in pictures.iter().zip(&probs).enumerate() {
            let (class, probability) = p
                .iter()
                .copied()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .unwrap_or((0, f32::NAN));
            let x: Tensor = batch.xs[0].narrow(0, i, 1)?;
            let mapped = opts.class.unwrap_or(class);
            let map = match opts.method {
                MapMethod::GradCam => grad_cam(model, &x, mapped, layer)?,
                MapMethod::Cam => class_activation_map(model, &x, mapped)?,
            };
            let heat = heat_at(&map, picture.width(), picture.height());
            let mask = object(picture);
            let (object_heat, object_area) = match &mask {
                Some(m) => heat_on(&heat, m),
                None => (None, None),
            };
            let item = paths.get(index).cloned().unwrap_or_default();
            let label = labels.and_then(|l| l.get(index)).cloned();
            let name = |c: usize| vocab.get(c).cloned().unwrap_or_else(|| c.to_string());
            let stem = item
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("image_{index}"));
            let mut caption = match &label {
                Some(l) => format!("{stem}: {l}, predicted {} ({probability:.2})", name(class)),
                None => format!("{stem}: predicted {} ({probability:.2})", name(class)),
            };
            if opts.class.is_some() || opts.method == MapMethod::Cam {
                let method = match opts.method {
                    MapMethod::GradCam => "Grad-CAM",
                    MapMethod::Cam => "CAM",
                };
                caption.push_str(&format!("\n{method} of {}", name(mapped)));
            }
            if let (Some(h), Some(a)) = (object_heat, object_area) {
                caption.push_str(&format!(
                    "\nheat on the object {:.0}%, object {:.0}% of the image",
                    100.0 * h,
                    100.0 * a
                ));
            }
            let cell = in_a_row(&[picture, &overlay(picture, &heat)], 4);
            let path = dir.join(format!("{stem}.png"));
            save_captioned_grid(&[cell], &[caption], &[[90, 90, 90]], &path)?;
            out.push(GradCamRecord {
                item,
                label,
                predicted: name(class),
                probability,
                object_heat,
                object_area,
                map,
                picture: path,
            });
            index += 1;
        }
    }
    Ok(out)
}

/// The positive part of `map` at `width x height` (bilinear, pixel centres aligned), scaled so
/// that its largest value is 1 (all 0 when the map has no positive value).
pub fn heat_at(map: &ClassMap, width: usize, height: usize) -> Vec<f32> {
    let pos = map.positive();
    let (h, w) = (map.height.max(1), map.width.max(1));
    let at = |y: usize, x: usize| {
        pos.get(y.min(h - 1) * w + x.min(w - 1))
            .copied()
            .unwrap_or(0.0)
    };
    let mut out = Vec::with_capacity(width * height);
    for y in 0..height {
        let fy = ((y as f32 + 0.5) * h as f32 / height as f32 - 0.5).clamp(0.0, (h - 1) as f32);
        let (y0, ty) = (fy.floor() as usize, fy - fy.floor());
        for x in 0..width {
            let fx = ((x as f32 + 0.5) * w as f32 / width as f32 - 0.5).clamp(0.0, (w - 1) as f32);
            let (x0, tx) = (fx.floor() as usize, fx - fx.floor());
            let top = at(y0, x0) * (1.0 - tx) + at(y0, x0 + 1) * tx;
            let bottom = at(y0 + 1, x0) * (1.0 - tx) + at(y0 + 1, x0 + 1) * tx;
            out.push(top * (1.0 - ty) + bottom * ty);
        }
    }
    let max = out.iter().copied().fold(0.0f32, f32::max);
    if max > 0.0 {
        out.iter_mut().for_each(|v| *v /= max);
    }
    out
}

/// The share of `heat` on the pixels `object` flags, and the object's share of the pixels
/// (`None`s when there is no heat or no pixel).
pub fn heat_on(heat: &[f32], object: &[bool]) -> (Option<f64>, Option<f64>) {
    let total: f64 = heat.iter().map(|&v| v as f64).sum();
    let on: f64 = heat
        .iter()
        .zip(object)
        .filter(|(_, o)| **o)
        .map(|(&v, _)| v as f64)
        .sum();
    let area = object.iter().filter(|o| **o).count() as f64 / object.len().max(1) as f64;
    (
        (total > 0.0).then(|| on / total),
        (!object.is_empty()).then_some(area),
    )
}

/// Pixels brighter than `8/255` in some channel: the object of a silhouette on black (the
/// embedded pets sample), a little blur of resizing left out.
pub fn bright_pixels(img: &Image) -> Option<Vec<bool>> {
    let (w, h) = (img.width(), img.height());
    Some(
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| img.pixel(x, y).iter().any(|&c| c > 8))
            .collect(),
    )
}

/// `img` with `heat` (0..1 a pixel) laid over it at 60% in a yellow-to-red-to-purple scale.
pub fn overlay(img: &Image, heat: &[f32]) -> Image {
    let w = img.width();
    Image::from_fn(w, img.height(), |x, y| {
        let p = img.pixel(x, y);
        let v = heat.get(y * w + x).copied().unwrap_or(0.0).clamp(0.0, 1.0);
        let c = heat_colour(v);
        std::array::from_fn(|i| (0.4 * p[i] as f32 + 0.6 * c[i] as f32).round() as u8)
    })
}

/// A dark-purple (0) to red to yellow (1) scale, after matplotlib's `inferno`.
fn heat_colour(v: f32) -> [u8; 3] {
    const STOPS: [[f32; 3]; 5] = [
        [0.0, 0.0, 4.0],
        [87.0, 16.0, 110.0],
        [188.0, 55.0, 84.0],
        [249.0, 142.0, 9.0],
        [252.0, 255.0, 164.0],
    ];
    let t = v * (STOPS.len() - 1) as f32;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f32;
    std::array::from_fn(|c| (STOPS[i][c] * (1.0 - f) + STOPS[i + 1][c] * f).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(values: Vec<f32>, h: usize, w: usize) -> ClassMap {
        ClassMap {
            class: 0,
            logits: vec![0.0],
            map: values,
            height: h,
            width: w,
        }
    }

    #[test]
    fn heat_is_the_positive_map_upsampled_and_scaled() {
        // 1x2 map: -1 (left), 2 (right): the left half is cold, the right hot.
        let heat = heat_at(&map(vec![-1.0, 2.0], 1, 2), 4, 1);
        assert_eq!(heat.len(), 4);
        assert_eq!(heat[0], 0.0);
        assert_eq!(heat[3], 1.0);
        assert!(heat[1] < heat[2]);
        assert!(
            heat_at(&map(vec![-1.0, -2.0], 1, 2), 4, 1)
                .iter()
                .all(|v| *v == 0.0)
        );
    }

    #[test]
    fn the_share_of_heat_on_the_object_is_counted() {
        let heat = [1.0, 1.0, 0.0, 2.0];
        let object = [true, false, false, true];
        let (on, area) = heat_on(&heat, &object);
        assert_eq!(on, Some(0.75));
        assert_eq!(area, Some(0.5));
        assert_eq!(heat_on(&[0.0; 4], &object).0, None);
        let img = Image::from_fn(2, 1, |x, _| if x == 0 { [0, 0, 0] } else { [200, 0, 0] });
        assert_eq!(bright_pixels(&img), Some(vec![false, true]));
    }
}
