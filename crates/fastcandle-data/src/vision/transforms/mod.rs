//! Transforms, the second stage: what changes one item on the CPU before it joins a batch.
//! Item transforms ([`ItemTransform`](super::ItemTransform): [`Resize`](super::Resize),
//! [`RandomResizedCrop`](super::RandomResizedCrop)) on the resampling of [`resample`](super::resample), then the
//! training augmentation ([`aug_transforms`](super::aug_transforms): flip, rotate, zoom, warp,
//! lighting) rendered in one pass with the [`Normalize`](super::Normalize) folded in, masks with
//! the same draw at the nearest pixel. Transforms take an [`Image`](super::Image) and know
//! nothing of files or batches.

pub(super) mod augment;
pub(super) mod item_tfms;
pub(super) mod lighting;
pub(super) mod mask_warp;
pub(super) mod normalize;
pub(super) mod random_resized_crop;
pub(super) mod resample;
pub(super) mod warp;
