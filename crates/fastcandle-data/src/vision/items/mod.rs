//! Items, the first stage: the image files of a folder ([`get_image_files`](super::get_image_files)),
//! their labels ([`Labeller`](super::Labeller)) and vocabulary
//! ([`Categories`](super::Categories)), segmentation codes ([`Codes`](super::Codes)), the
//! training and validation splits ([`ItemSplitter`](super::ItemSplitter)), and the 8-bit
//! [`Image`](super::Image) that every later stage works on. Nothing here decodes or transforms.

pub(super) mod categories;
pub(super) mod codes;
pub(super) mod files;
pub(super) mod image;
pub(super) mod label;
pub(super) mod split;
