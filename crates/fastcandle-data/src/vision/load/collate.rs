//! Turning a list of items into one batch: each item loaded and written (see [`super::item`])
//! in parallel straight into the batch's `[B, 3, H, W]` buffer and, for segmentation, its
//! `[B, H, W]` buffer of mask codes.

use super::item::{Pipeline, Sample, Slot, check_size};
use crate::error::{Error, Result};
use candle_core::{Device, Tensor};
use fastcandle_core::error::Context;
use fastcandle_core::{Batch, SeededRng};
use rayon::prelude::*;
use std::path::PathBuf;

/// A batch's buffers (images, and mask codes for segmentation), its images' `(width, height)`,
/// and what became of each item.
struct Written {
    images: Vec<f32>,
    masks: Vec<u32>,
    size: (usize, usize),
    outcomes: Vec<Outcome>,
}

enum Outcome {
    Done,
    Skipped(PathBuf),
    Failed(Error),
}

impl Pipeline {
    /// The fixed output size of the item transforms, if the last one has one.
    fn fixed_size(&self) -> Option<(usize, usize)> {
        self.item_tfms.last().and_then(|t| t.output_size())
    }

    /// The number of mask codes an item of `w x h` writes: `w * h` for segmentation, else 0.
    fn mask_plane(&self, (w, h): (usize, usize)) -> usize {
        if self.masks.is_some() { w * h } else { 0 }
    }

    /// The batch of items `idxs`; `None` when every one of them was skipped.
    pub(crate) fn batch(&self, idxs: &[usize]) -> Result<Option<Batch>> {
        let Written {
            mut images,
            mut masks,
            size: (w, h),
            outcomes,
        } = match self.fixed_size() {
            Some(size) => self.one_pass(idxs, size),
            None => self.two_pass(idxs)?,
        };
        let (chunk, plane) = (3 * w * h, self.mask_plane((w, h)));
        let mut codes = Vec::with_capacity(idxs.len());
        let mut kept = 0;
        for (k, (outcome, &idx)) in outcomes.into_iter().zip(idxs).enumerate() {
            match outcome {
                Outcome::Done => {
                    if kept != k {
                        images.copy_within(k * chunk..(k + 1) * chunk, kept * chunk);
                        masks.copy_within(k * plane..(k + 1) * plane, kept * plane);
                    }
                    codes.push(self.items.codes[idx]);
                    kept += 1;
                }
                Outcome::Skipped(path) => self.skipped.add(path),
                Outcome::Failed(e) => return Err(e),
            }
        }
        if kept == 0 {
            return Ok(None);
        }
        images.truncate(kept * chunk);
        masks.truncate(kept * plane);
        let what = || format!("building an image batch of {kept} items of {w}x{h}");
        let xs = Tensor::from_vec(images, (kept, 3, h, w), &Device::Cpu)
            .and_then(|t| t.to_device(&self.device))
            .context(what)?;
        let ys = match self.masks {
            Some(_) => Tensor::from_vec(masks, (kept, h, w), &self.device),
            None => Tensor::from_vec(codes, kept, &self.device),
        }
        .context(what)?;
        Ok(Some(Batch { xs: vec![xs], ys }))
    }

    /// What became of an item: a file that cannot be decoded is skipped with `skip_bad`.
    fn outcome(&self, r: Result<()>) -> Outcome {
        match r {
            Ok(()) => Outcome::Done,
            Err(Error::BadImage { path, .. }) if self.skip_bad => Outcome::Skipped(path),
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Zeroed buffers for `n` items of `size`.
    fn buffers(&self, n: usize, (w, h): (usize, usize)) -> (Vec<f32>, Vec<u32>) {
        let images = super::buffer::batch_buffer(n * 3 * w * h);
        (images, vec![0; n * self.mask_plane((w, h))])
    }

    /// Every item decoded, transformed and written in one parallel pass, when the size is
    /// known beforehand.
    fn one_pass(&self, idxs: &[usize], size: (usize, usize)) -> Written {
        let (mut images, mut masks) = self.buffers(idxs.len(), size);
        let slots = Slot::all(&mut images, &mut masks, idxs.len());
        let outcomes = fastcandle_core::threads::run_in_pool(|| {
            slots
                .into_par_iter()
                .zip(idxs.par_iter())
                .map(|(slot, &idx)| self.outcome(self.load_into(idx, size, slot)))
                .collect()
        });
        Written {
            images,
            masks,
            size,
            outcomes,
        }
    }

    /// Items of a size known only once decoded: all decoded first, then written.
    fn two_pass(&self, idxs: &[usize]) -> Result<Written> {
        let loaded: Vec<(Result<Sample>, SeededRng)> =
            fastcandle_core::threads::run_in_pool(|| {
                idxs.par_iter()
                    .map(|&idx| {
                        let mut g = self.item_rng(idx);
                        (self.load(idx, &mut g), g)
                    })
                    .collect()
            });
        let size = loaded
            .iter()
            .find_map(|(r, _)| r.as_ref().ok().map(|s| (s.img.width(), s.img.height())))
            .unwrap_or((1, 1));
        let (mut images, mut masks) = self.buffers(idxs.len(), size);
        let slots = Slot::all(&mut images, &mut masks, idxs.len());
        let outcomes = fastcandle_core::threads::run_in_pool(|| {
            slots
                .into_par_iter()
                .zip(loaded.into_par_iter().zip(idxs.par_iter()))
                .map(|(slot, ((sample, mut g), &idx))| {
                    let r = sample.and_then(|s| {
                        check_size(s.img.width(), s.img.height(), size, &self.items.paths[idx])?;
                        self.write(&s, &mut g, slot);
                        Ok(())
                    });
                    self.outcome(r)
                })
                .collect()
        });
        Ok(Written {
            images,
            masks,
            size,
            outcomes,
        })
    }
}
