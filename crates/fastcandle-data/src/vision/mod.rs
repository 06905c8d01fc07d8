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
//! - Speed: [`bench_loader`].

mod augment;
mod bench;
mod buffer;
mod categories;
mod cifar;
mod codes;
mod collate;
mod decode;
mod files;
mod idx;
mod image;
mod in_memory;
mod item;
mod item_tfms;
mod label;
mod lighting;
mod loader;
mod loader_core;
mod mask;
mod mask_warp;
mod normalize;
mod prefetch;
mod random_resized_crop;
mod resample;
mod seg_loader;
mod seg_show;
mod show;
mod split;
mod test_dl;
mod warp;

pub use augment::{AugParams, AugTransforms, aug_transforms};
pub use bench::{bench_loader, measure_loader, pets_like_loader};
pub use categories::Categories;
pub use cifar::{
    CIFAR_RECORD, CIFAR_SIZE, CIFAR10_CLASSES, CifarFiles, read_cifar, read_cifar_batch,
    write_cifar_batch,
};
pub use codes::Codes;
pub use collate::ImageItems;
pub use decode::{decode_image, verify_images};
pub use files::{IMAGE_EXTENSIONS, file_name, file_stem, get_image_files, is_image_file};
pub use idx::{
    FASHION_MNIST_CLASSES, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IdxFiles, MNIST_CLASSES, read_idx,
    read_idx_images, read_idx_labels, write_idx_images, write_idx_labels,
};
pub use image::Image;
pub use in_memory::{InMemoryImages, MemoryItems};
pub use item_tfms::{ItemTfmConfig, ItemTransform, Resize, ResizeMethod};
pub use label::{
    FuncLabeller, IntoLabel, Labeller, ListLabeller, RegexLabeller, label_func, label_items,
    parent_label,
};
pub use lighting::lighting;
pub use loader::ImageLoader;
pub use loader_core::LoaderSettings;
pub use mask::{decode_mask, save_mask};
pub use normalize::Normalize;
pub use random_resized_crop::RandomResizedCrop;
pub use resample::{CropPlan, Interpolation, PadMode, crop_pad, resample};
pub use seg_loader::SegmentationLoader;
pub use seg_show::{overlay_mask, show_seg_results};
pub use show::{batch_images, class_colour, save_grid};
pub use split::{FileSplitter, FuncSplitter, GrandparentSplitter, ItemSplitter, OrderSplitter};
pub use test_dl::TestImages;
