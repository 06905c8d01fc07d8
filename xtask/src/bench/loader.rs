//! The image loader's bench: the Pets lesson's loader on the cat and dog silhouettes of
//! `animal-shapes`, and its rate in images per second. The `image_loader_224` row of
//! `cargo xtask bench` uses it, and so does `cargo xtask bench-loader`, which also measures the
//! loader without augmentation.
//!
//! `scripts/bench/fastai_loader.py` measures fastai on the same recipe.

use anyhow::{Context, Result};
use clap::Args;
use fastcandle::core::DataLoaders;
use fastcandle::core::candle::Device;
use fastcandle::data::RandomSplitter;
use fastcandle::data::vision::{
    ImageLoader, LoaderSettings, Normalize, Resize, aug_transforms, file_name, file_stem,
    get_image_files, label_func,
};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// fastai 2.8's DataLoader on the same recipe on the project's 2-core machine.
const FASTAI_IMAGES_PER_S: f64 = 1150.0;

/// Options of `cargo xtask bench-loader`.
#[derive(Args, Debug, Clone)]
pub struct LoaderArgs {
    /// The `animal-shapes/images` folder (default: `../shared/data/animal-shapes/images`).
    pub folder: Option<PathBuf>,
    /// Training epochs measured (after one warm-up batch).
    #[arg(default_value_t = 3)]
    pub epochs: usize,
}

/// Measures the loader with and without augmentation and prints the rates against fastai's.
pub fn run(args: LoaderArgs) -> Result<()> {
    let folder = match args.folder {
        Some(f) => f,
        None => super::worker::animal_shapes().context("../shared/data/animal-shapes is absent")?,
    };
    let epochs = args.epochs;
    let dls = pets_like_loader(&folder, Device::Cpu)?;
    let threads = fastcandle::core::threads::num_threads();
    let rate = measure_loader(&dls, epochs)?;
    println!(
        "loader, Resize 224 + aug_transforms + Normalize: {rate:.0} images/s ({epochs} epochs \
         of 1,600 images, {threads} threads); fastai: {FASTAI_IMAGES_PER_S:.0}; ratio {:.2}x",
        rate / FASTAI_IMAGES_PER_S
    );
    let plain = measure_loader(&dls.aug_transforms(None), epochs)?;
    println!("loader, Resize 224 + Normalize (no augmentation): {plain:.0} images/s");
    Ok(())
}

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
