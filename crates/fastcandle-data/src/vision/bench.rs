//! Loader speed: images per second through decode, Resize, augmentation and collation.

use super::augment::aug_transforms;
use super::files::{file_name, file_stem, get_image_files};
use super::item_tfms::Resize;
use super::label::label_func;
use super::loader::ImageLoader;
use super::loader_core::LoaderSettings;
use super::normalize::Normalize;
use crate::error::Result;
use crate::split::RandomSplitter;
use candle_core::Device;
use fastcandle_core::DataLoaders;
use std::path::Path;
use std::time::Instant;

/// Images per second through `dls.train` over `epochs` epochs (from epoch 1), after one
/// warm-up batch of epoch 0.
pub fn measure_loader(dls: &ImageLoader, epochs: usize) -> Result<f64> {
    // Warm up without a producer thread, which would go on into the measured time.
    if let Some(b) = dls.clone().prefetch(0)?.train(0).next() {
        b?;
    }
    let start = Instant::now();
    let mut images = 0;
    for epoch in 1..=epochs.max(1) {
        for b in dls.train(epoch) {
            images += b?.len();
        }
    }
    Ok(images as f64 / start.elapsed().as_secs_f64())
}

/// The loader of the Pets lesson on the cat and dog silhouettes of `animal-shapes/images`
/// (files starting `Cat_` and `dog_`): `is_cat` labels, valid_pct 0.2, seed 42, Resize 224,
/// batch 64, `aug_transforms()`, ImageNet normalisation.
pub fn pets_like_loader(folder: &Path, device: Device) -> Result<ImageLoader> {
    let items: Vec<_> = get_image_files(folder)?
        .into_iter()
        .filter(|p| {
            let n = file_name(p);
            n.starts_with("Cat_") || n.starts_with("dog_")
        })
        .collect();
    let is_cat = label_func(|p: &Path| file_stem(p).starts_with(char::is_uppercase));
    Ok(
        ImageLoader::from_labeller(&items, &is_cat, &RandomSplitter::new(0.2, 42), device)?
            .seed(42)
            .bs(64)?
            .item_tfms(Resize::new(224))
            .aug_transforms(aug_transforms())
            .normalize(Normalize::imagenet()),
    )
}

/// The loader benchmark: images per second of [`pets_like_loader`] on `folder` (the
/// `animal-shapes/images` folder) over `epochs` training epochs, on the CPU. fastai's
/// DataLoader gives 1,150 images/s on the same recipe on the project's 2-core machine.
pub fn bench_loader(folder: &Path, epochs: usize) -> Result<f64> {
    measure_loader(&pets_like_loader(folder, Device::Cpu)?, epochs)
}
