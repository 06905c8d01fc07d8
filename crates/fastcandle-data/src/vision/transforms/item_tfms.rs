//! Item transforms: run on each item on the CPU, before batching (fastai's `item_tfms`). They
//! take and give 8-bit HWC images; randomness comes from the item's own seeded generator.
//!
//! The trait, the saved form of every transform that can be saved ([`ItemTfmConfig`]) and the
//! trait's implementations sit together here, so that a transform's own file (such as
//! `random_resized_crop.rs`) needs nothing from this one.

use super::random_resized_crop::RandomResizedCrop;
use super::resample::{CropPlan, Interpolation, PadMode};
use crate::error::Result;
use crate::vision::items::image::Image;
use fastcandle_core::SeededRng;
use rand::Rng;

/// A transform of one item (an `item_tfm`).
///
/// Images have 3 channels (RGB), or 1 for grey files: the loader keeps those grey until it
/// writes the batch (a third of the work), so a transform must handle both (or call
/// [`Image::into_rgb`]).
pub trait ItemTransform: Send + Sync + std::fmt::Debug {
    /// Transforms `img`. `train` tells a training item (random choices) from a validation item
    /// (deterministic choices, such as a centre crop); `rng` is the item's own generator.
    fn apply(&self, img: &Image, train: bool, rng: &mut SeededRng) -> Result<Image>;

    /// The `(width, height)` of every output, when it is fixed.
    fn output_size(&self) -> Option<(usize, usize)> {
        None
    }

    /// For a transform that cuts a window out of the image and resizes it bilinearly: the
    /// window it picks for a `w x h` image (drawing from `rng` exactly as
    /// [`ItemTransform::apply`] would) and how it pads outside the image. In training with
    /// augmentation, the loader then resizes an enlarged window and augments it in one
    /// resampling. `None` (the default) for other transforms.
    fn window(
        &self,
        _w: usize,
        _h: usize,
        _train: bool,
        _rng: &mut SeededRng,
    ) -> Option<(CropPlan, PadMode)> {
        None
    }

    /// The transform as it applies to an item's segmentation mask: the same random choices
    /// (drawn from a copy of the item's generator, in the same order, for a mask of the image's
    /// size), with nearest interpolation so that no new code appears (fastai's `resamples[1]`).
    /// `None` (the default) for a transform that cannot transform masks.
    fn for_mask(&self) -> Option<std::sync::Arc<dyn ItemTransform>> {
        None
    }

    /// The transform as data, so that an exported learner can rebuild it; `None` (the default)
    /// for a transform that cannot be saved.
    fn config(&self) -> Option<ItemTfmConfig> {
        None
    }
}

/// A saved item transform: what [`ItemTransform::config`] gives and [`ItemTfmConfig::build`]
/// turns back into the transform.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type")]
pub enum ItemTfmConfig {
    /// A [`Resize`].
    Resize(Resize),
    /// A [`RandomResizedCrop`](RandomResizedCrop).
    RandomResizedCrop(RandomResizedCrop),
}

impl ItemTfmConfig {
    /// The transform.
    pub fn build(&self) -> std::sync::Arc<dyn ItemTransform> {
        match *self {
            ItemTfmConfig::Resize(t) => std::sync::Arc::new(t),
            ItemTfmConfig::RandomResizedCrop(t) => std::sync::Arc::new(t),
        }
    }
}

/// fastai's `ResizeMethod`: how `Resize` makes an image of another shape fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ResizeMethod {
    /// Scale the short side to the size, keeping the aspect, then crop the long side (a random
    /// window in training, the centre in validation). fastai's default.
    #[default]
    Crop,
    /// Pad the short side (as `pad_mode` says) to the long side's length, then resize: all the
    /// image stays visible.
    Pad,
    /// Resize to the size, ignoring the aspect.
    Squish,
}

/// fastai's `Resize(size)`: every item becomes `width x height` (see [`ResizeMethod`]),
/// bilinear (Pillow's filter) unless told [`Interpolation::Nearest`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resize {
    /// The output width.
    pub width: usize,
    /// The output height.
    pub height: usize,
    /// How the aspect is handled.
    pub method: ResizeMethod,
    /// How padding is filled ([`ResizeMethod::Pad`], fastai: reflection).
    pub pad_mode: PadMode,
    /// How pixels are interpolated.
    pub interpolation: Interpolation,
}

impl Resize {
    /// A square `size x size` resize, cropping, bilinear (fastai's defaults).
    pub fn new(size: usize) -> Self {
        Self::with_size(size, size)
    }

    /// A `width x height` resize.
    pub fn with_size(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            method: ResizeMethod::Crop,
            pad_mode: PadMode::Reflection,
            interpolation: Interpolation::Bilinear,
        }
    }

    /// Sets the method.
    pub fn method(mut self, method: ResizeMethod) -> Self {
        self.method = method;
        self
    }

    /// Sets the padding mode.
    pub fn pad_mode(mut self, pad_mode: PadMode) -> Self {
        self.pad_mode = pad_mode;
        self
    }

    /// Sets the interpolation (nearest for masks).
    pub fn interpolation(mut self, interpolation: Interpolation) -> Self {
        self.interpolation = interpolation;
        self
    }

    /// The window of a `w x h` source to resize, as fastai's `Resize.encodes` computes it: the
    /// window has the output's aspect and touches the image's short side (crop) or long side
    /// (pad), and sits at a random place in training, in the centre in validation.
    pub fn plan(&self, w: usize, h: usize, train: bool, rng: &mut SeededRng) -> CropPlan {
        let full = CropPlan {
            left: 0,
            top: 0,
            width: w,
            height: h,
            out_width: self.width,
            out_height: self.height,
        };
        if self.method == ResizeMethod::Squish {
            return full;
        }
        let (rw, rh) = (w as f64 / self.width as f64, h as f64 / self.height as f64);
        let m = match self.method {
            ResizeMethod::Crop => rw.min(rh),
            _ => rw.max(rh),
        };
        let (cw, ch) = (
            (m * self.width as f64) as usize,
            (m * self.height as f64) as usize,
        );
        let (px, py) = if train {
            (rng.random::<f64>(), rng.random::<f64>())
        } else {
            (0.5, 0.5)
        };
        // Python's int(): truncation toward zero, also for the negative offsets of padding.
        let left = (px * (w as f64 - cw as f64)) as i64;
        let top = (py * (h as f64 - ch as f64)) as i64;
        CropPlan {
            left,
            top,
            width: cw.max(1),
            height: ch.max(1),
            ..full
        }
    }
}

impl ItemTransform for Resize {
    fn apply(&self, img: &Image, train: bool, rng: &mut SeededRng) -> Result<Image> {
        self.plan(img.width(), img.height(), train, rng).apply(
            img,
            self.interpolation,
            self.pad_mode,
        )
    }

    fn output_size(&self) -> Option<(usize, usize)> {
        Some((self.width, self.height))
    }

    fn for_mask(&self) -> Option<std::sync::Arc<dyn ItemTransform>> {
        Some(std::sync::Arc::new(
            self.interpolation(Interpolation::Nearest),
        ))
    }

    fn config(&self) -> Option<ItemTfmConfig> {
        Some(ItemTfmConfig::Resize(*self))
    }

    fn window(
        &self,
        w: usize,
        h: usize,
        train: bool,
        rng: &mut SeededRng,
    ) -> Option<(CropPlan, PadMode)> {
        (self.interpolation == Interpolation::Bilinear)
            .then(|| (self.plan(w, h, train, rng), self.pad_mode))
    }
}

impl ItemTransform for RandomResizedCrop {
    fn apply(&self, img: &Image, train: bool, rng: &mut SeededRng) -> Result<Image> {
        self.crop(img, train, rng)
    }

    fn output_size(&self) -> Option<(usize, usize)> {
        Some((self.width, self.height))
    }

    fn for_mask(&self) -> Option<std::sync::Arc<dyn ItemTransform>> {
        Some(std::sync::Arc::new(
            self.interpolation(Interpolation::Nearest),
        ))
    }

    fn config(&self) -> Option<ItemTfmConfig> {
        Some(ItemTfmConfig::RandomResizedCrop(*self))
    }

    fn window(
        &self,
        w: usize,
        h: usize,
        train: bool,
        rng: &mut SeededRng,
    ) -> Option<(CropPlan, PadMode)> {
        // Validation resizes twice (squish, then the centre): not one window.
        (train && self.interpolation == Interpolation::Bilinear)
            .then(|| (self.plan(w, h, rng), PadMode::Zeros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fastcandle_core::rng::rng;

    /// A 6x2 RGB image whose red channel is 10 * x and green channel is 10 * y.
    fn wide() -> Image {
        Image::from_fn(6, 2, |x, y| [10 * x as u8, 10 * y as u8, 0])
    }

    #[test]
    fn crop_centre_crop_in_validation_random_in_training() {
        let r = Resize::new(2);
        let mut g = rng(0);
        // Short side 2 -> window 2x2; centre of 6 columns: columns 2 and 3.
        let p = r.plan(6, 2, false, &mut g);
        assert_eq!((p.left, p.top, p.width, p.height), (2, 0, 2, 2));
        let out = r.apply(&wide(), false, &mut g).unwrap();
        assert_eq!((out.width(), out.height()), (2, 2));
        assert_eq!(out.pixel(0, 0), [20, 0, 0]);
        assert_eq!(out.pixel(1, 1), [30, 10, 0]);
        let lefts: Vec<i64> = (0..50).map(|_| r.plan(6, 2, true, &mut g).left).collect();
        // fastai's int(pct * (6 - 2)): 0 to 3 (4 only for pct = 1 exactly).
        assert!(lefts.iter().all(|&l| (0..=3).contains(&l)));
        assert!(lefts.contains(&0) && lefts.contains(&3), "{lefts:?}");
    }

    #[test]
    fn pad_reflects_to_a_square_then_resizes() {
        let r = Resize::new(6).method(ResizeMethod::Pad);
        let mut g = rng(0);
        let p = r.plan(6, 2, false, &mut g);
        // Long side 6 -> 6x6 window, 4 rows of padding split around the 2 rows.
        assert_eq!((p.left, p.top, p.width, p.height), (0, -2, 6, 6));
        let out = r.apply(&wide(), false, &mut g).unwrap();
        assert_eq!((out.width(), out.height()), (6, 6));
        // Rows -2..4 of a 2-row image reflect to 0 1 0 1 0 1.
        let greens: Vec<u8> = (0..6).map(|y| out.pixel(0, y)[1]).collect();
        assert_eq!(greens, [0, 10, 0, 10, 0, 10]);
        let zeros = Resize::new(6)
            .method(ResizeMethod::Pad)
            .pad_mode(PadMode::Zeros)
            .apply(&Image::from_fn(6, 2, |_, _| [9, 9, 9]), false, &mut g)
            .unwrap();
        let col: Vec<u8> = (0..6).map(|y| zeros.pixel(3, y)[0]).collect();
        assert_eq!(col, [0, 0, 9, 9, 0, 0]);
    }

    #[test]
    fn squish_ignores_the_aspect_and_keeps_corners() {
        // 2x2 -> 4x4 bilinear: the corner output pixels lie a quarter pixel inside the corner
        // source pixels, so they keep their values (Pillow clamps at the edge).
        let img = Image::from_fn(2, 2, |x, y| [[0, 100][x] + [0, 40][y], 0, 0]);
        let out = Resize::new(4)
            .method(ResizeMethod::Squish)
            .apply(&img, true, &mut rng(0))
            .unwrap();
        assert_eq!((out.width(), out.height()), (4, 4));
        assert_eq!(out.pixel(0, 0)[0], 0);
        assert_eq!(out.pixel(3, 0)[0], 100);
        assert_eq!(out.pixel(0, 3)[0], 40);
        assert_eq!(out.pixel(3, 3)[0], 140);
        // Second column: a quarter of the way from 0 to 100.
        assert_eq!(out.pixel(1, 0)[0], 25);
        let w = Resize::with_size(5, 3)
            .method(ResizeMethod::Squish)
            .apply(&wide(), false, &mut rng(0))
            .unwrap();
        assert_eq!((w.width(), w.height()), (5, 3));
        let n = Resize::new(4)
            .method(ResizeMethod::Squish)
            .interpolation(Interpolation::Nearest)
            .apply(&img, false, &mut rng(0))
            .unwrap();
        let row: Vec<u8> = (0..4).map(|x| n.pixel(x, 0)[0]).collect();
        assert_eq!(row, [0, 0, 100, 100]);
    }
}
