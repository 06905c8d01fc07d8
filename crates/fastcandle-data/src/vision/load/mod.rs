//! Loading, the third stage: items decoded ([`decode_image`](super::decode_image),
//! [`decode_mask`](super::decode_mask)) or read from memory
//! ([`InMemoryImages`](super::InMemoryImages)), run through the transforms on the loader's
//! workers and written straight into a batch's buffers (`item` for one item, `collate` for the
//! batch), prefetched on a thread; the loaders that own this for classification
//! ([`ImageLoader`](super::ImageLoader)), segmentation
//! ([`SegmentationLoader`](super::SegmentationLoader)) and inference
//! ([`TestImages`](super::TestImages)).

pub(super) mod buffer;
pub(super) mod collate;
pub(super) mod decode;
pub(super) mod image_items;
pub(super) mod in_memory;
pub(super) mod item;
pub(super) mod loader;
pub(super) mod loader_core;
pub(super) mod mask;
pub(super) mod prefetch;
pub(super) mod seg_loader;
pub(super) mod test_dl;
