//! Writing a mask into its slot of a batch: moved by the same resize window and augmentation
//! as its image (the same [`Grid`] of source coordinates), but sampled at the nearest pixel, as
//! fastai's `TensorMask.affine_coord` calls `grid_sample(mode='nearest')`, so that no new code
//! appears. The area brought in from outside is filled as the image's (fastai pads a mask with
//! the image's `pad_mode`, reflection by default; zero padding gives code 0).

use super::augment::AugParams;
use super::resample::CropPlan;
use super::warp::{Grid, resamples};
use crate::vision::items::image::Image;

/// Writes the codes of `mask` (1 channel) into `out`: the mask itself, or the window `plan` of
/// it resized, moved as `aug` says, each output pixel taking the code of the nearest source
/// pixel.
pub(crate) fn render_mask(
    mask: &Image,
    plan: Option<&CropPlan>,
    aug: Option<&AugParams>,
    out: &mut [u32],
) {
    debug_assert_eq!(mask.channels(), 1);
    let (w, h) = plan.map_or((mask.width(), mask.height()), |p| {
        (p.out_width, p.out_height)
    });
    debug_assert_eq!(out.len(), w * h);
    if !resamples(plan, aug) {
        for (o, &v) in out.iter_mut().zip(mask.data()) {
            *o = v as u32;
        }
        return;
    }
    let identity = AugParams::identity();
    let grid = Grid::new(aug.unwrap_or(&identity), plan, w, h);
    let (mut px, mut py) = (vec![0f32; w], vec![0f32; w]);
    for (i, row) in out.chunks_exact_mut(w).enumerate() {
        grid.row(i, &mut px, &mut py);
        for ((o, &x), &y) in row.iter_mut().zip(&px).zip(&py) {
            *o = nearest(mask, x, y);
        }
    }
}

/// The code of the pixel nearest `(x, y)` (halves to even, as PyTorch's `nearbyint`); 0
/// outside the mask (zero padding).
fn nearest(mask: &Image, x: f32, y: f32) -> u32 {
    let (x, y) = (x.round_ties_even(), y.round_ties_even());
    let (w, h) = (mask.width() as f32, mask.height() as f32);
    if !(0.0..w).contains(&x) || !(0.0..h).contains(&y) {
        return 0;
    }
    mask.data()[y as usize * mask.width() + x as usize] as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vision::PadMode;
    use crate::vision::aug_transforms;
    use fastcandle_core::rng::rng;

    fn codes(w: usize, h: usize, f: impl Fn(usize, usize) -> u8) -> Image {
        let data = (0..w * h).map(|i| f(i % w, i / w)).collect();
        Image::new(w, h, 1, data).unwrap()
    }

    fn rendered(mask: &Image, plan: Option<&CropPlan>, aug: Option<&AugParams>) -> Vec<u32> {
        let n = plan.map_or(mask.width() * mask.height(), |p| p.out_width * p.out_height);
        let mut out = vec![0; n];
        render_mask(mask, plan, aug, &mut out);
        out
    }

    #[test]
    fn flips_mirror_and_nothing_copies() {
        let m = codes(4, 2, |x, y| (x + 4 * y) as u8);
        assert_eq!(rendered(&m, None, None), (0..8).collect::<Vec<u32>>());
        let flipped = rendered(&m, None, Some(&AugParams::flip()));
        assert_eq!(flipped, [3, 2, 1, 0, 7, 6, 5, 4]);
    }

    #[test]
    fn augmented_masks_keep_their_codes_and_pad_as_the_image() {
        let m = codes(13, 9, |x, y| [1, 4, 6][(x / 5 + y / 4) % 3]);
        let aug = aug_transforms()
            .max_rotate(45.0)
            .zoom(0.5, 1.5)
            .max_warp(0.3)
            .p_affine(1.0);
        let mut g = rng(2);
        for k in 0..20 {
            let p = aug.draw(13, 9, &mut g);
            let out = rendered(&m, None, Some(&p));
            assert!(out.iter().all(|c| [1, 4, 6].contains(c)), "{k}: {out:?}");
        }
        // Zoomed out twice with zero padding: the border gets code 0, the middle keeps its own.
        let mut p = AugParams::identity();
        p.affine = Some([2.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
        p.pad_mode = PadMode::Zeros;
        let out = rendered(&m, None, Some(&p));
        assert_eq!((out[0], out[4 * 13 + 6]), (0, m.data()[4 * 13 + 6] as u32));
        // With reflection the border reflects the mask instead.
        p.pad_mode = PadMode::Reflection;
        let out = rendered(&m, None, Some(&p));
        assert!(out.iter().all(|c| [1, 4, 6].contains(c)));
    }

    #[test]
    fn a_window_is_resized_to_the_nearest_pixel() {
        // The 2x1 window at (1, 0) of 0 1 2 3, enlarged to 4x1: 1 1 2 2.
        let m = codes(4, 1, |x, _| x as u8);
        let plan = CropPlan {
            left: 1,
            top: 0,
            width: 2,
            height: 1,
            out_width: 4,
            out_height: 1,
        };
        assert_eq!(rendered(&m, Some(&plan), None), [1, 1, 2, 2]);
        assert_eq!(
            rendered(&m, Some(&plan), Some(&AugParams::flip())),
            [2, 2, 1, 1]
        );
    }
}
