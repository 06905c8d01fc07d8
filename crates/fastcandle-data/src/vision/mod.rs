//! Image data: fastai's vision data blocks for classification and segmentation.
//!
//! - Items: [`get_image_files`] (jpg, jpeg, png, bmp, webp; recursive; sorted).
//! - Labels: [`label_func`] (a function on the path; booleans become `"False"`/`"True"`),
//!   [`RegexLabeller`] (first group of a regex on the file name), [`parent_label`], a
//!   [`ListLabeller`]; [`Categories`], the sorted vocabulary.
//! - Splits ([`ItemSplitter`]): every [`Splitter`](crate::Splitter) such as
//!   [`RandomSplitter`](crate::RandomSplitter), [`GrandparentSplitter`], [`FileSplitter`]
//!   (`valid.txt`), [`FuncSplitter`], [`OrderSplitter`].
//! - Decoding: [`decode_image`] into RGB whatever the mode; [`verify_images`].
//! - Item transforms ([`ItemTransform`], per item, CPU, 8-bit): [`Resize`] (crop, pad,
//!   squish), [`RandomResizedCrop`].
//! - Augmentation: [`aug_transforms`] (flip, rotate, zoom, warp, lighting), run per image on
//!   the CPU in the loader's workers; [`Normalize`].
//! - Loading: [`ImageLoader`] (implements [`fastcandle_core::DataLoaders`]), with prefetching
//!   and parallel decoding; [`ImageLoader::show_batch`]; its batch settings ([`LoaderSettings`],
//!   shared with [`SegmentationLoader`]).
//! - Segmentation (fastai's `MaskBlock`): [`Codes`] (`codes.txt`), [`decode_mask`] (grey
//!   values or palette indices) and [`save_mask`], and [`SegmentationLoader`], whose masks get
//!   their images' item transforms and augmentation (nearest); [`SegmentationLoader::show_batch`].
//! - Classic formats held in memory ([`InMemoryImages`], no file per image): MNIST-style IDX
//!   files ([`read_idx`], [`IdxFiles`]) and the CIFAR-10 binary batches ([`read_cifar`],
//!   [`CifarFiles`]), as [`ImageItems::in_memory`] items that the loaders take as files.
//! - Stages, one folder each: `items`, `transforms`, `load` (with `formats` beside it), `show`.

mod formats;
mod items;
mod load;
pub mod show;
mod transforms;

pub use formats::cifar::{
    CIFAR_RECORD, CIFAR_SIZE, CIFAR10_CLASSES, CifarFiles, read_cifar, read_cifar_batch,
    write_cifar_batch,
};
pub use formats::idx::{
    FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxFiles, MNIST_CLASSES, read_idx,
    read_idx_images, read_idx_labels, write_idx_images, write_idx_labels,
};
pub use items::categories::Categories;
pub use items::codes::Codes;
pub use items::files::{
    IMAGE_EXTENSIONS, file_name, file_stem, get_files, get_image_files, is_image_file,
};
pub use items::image::Image;
pub use items::label::{
    FuncLabeller, IntoLabel, Labeller, ListLabeller, RegexLabeller, label_func, label_items,
    parent_label,
};
pub use items::split::{
    FileSplitter, FuncSplitter, GrandparentSplitter, ItemSplitter, OrderSplitter,
};
pub use load::decode::{decode_image, verify_images};
pub use load::image_items::ImageItems;
pub use load::in_memory::{InMemoryImages, MemoryItems};
pub use load::loader::ImageLoader;
pub use load::loader_core::LoaderSettings;
pub use load::mask::{decode_mask, save_mask};
pub use load::seg_loader::SegmentationLoader;
pub use load::test_dl::TestImages;
pub use show::grid::{batch_images, class_colour, save_captioned_grid, save_grid};
pub use show::seg_show::{in_a_row, overlay_mask, show_seg_results};
pub use transforms::augment::{AugParams, AugTransforms, aug_transforms};
pub use transforms::item_tfms::{ItemTfmConfig, ItemTransform, Resize, ResizeMethod};
pub use transforms::lighting::lighting;
pub use transforms::normalize::Normalize;
pub use transforms::random_resized_crop::RandomResizedCrop;
pub use transforms::resample::{CropPlan, Interpolation, PadMode, crop_pad, resample};
