//! Showing, the last stage: a batch or a model's results drawn to a PNG grid so that a user can
//! look instead of read ([`ImageLoader::show_batch`](super::ImageLoader::show_batch),
//! [`SegmentationLoader::show_batch`](super::SegmentationLoader::show_batch), masks overlaid
//! in [`class_colour`](super::class_colour)s), with captions in an embedded font ([`text`])
//! that the application layer's plots share.

pub(super) mod grid;
pub(super) mod png;
pub(super) mod seg_show;
pub mod text;

pub use png::save_png;
pub use text::{FONT_FAMILY, Face, Font, MONO_FONT_FAMILY, ensure_font};
