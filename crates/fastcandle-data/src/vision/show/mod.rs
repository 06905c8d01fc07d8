//! Showing, the last stage: a batch or a model's results drawn to a PNG grid so that a user can
//! look instead of read ([`ImageLoader::show_batch`](super::ImageLoader::show_batch),
//! [`SegmentationLoader::show_batch`](super::SegmentationLoader::show_batch), masks overlaid
//! in [`class_colour`](super::class_colour)s).

pub(super) mod grid;
pub(super) mod seg_show;
