//! Measures the image loader on the cat and dog silhouettes of `animal-shapes`: decode,
//! Resize 224, aug_transforms, ImageNet normalisation, batches of 64; then the same without
//! augmentation.
//!
//! ```text
//! cargo run --release -p fastcandle-data --example bench_loader [-- FOLDER [EPOCHS]]
//! ```
//!
//! `scripts/bench/fastai_loader.py` (at the workspace root) measures fastai on the same recipe.

use fastcandle_data::vision::{LoaderSettings, measure_loader, pets_like_loader};
use std::path::PathBuf;

/// fastai 2.8's DataLoader on the same recipe on the project's 2-core machine.
const FASTAI_IMAGES_PER_S: f64 = 1150.0;

fn main() -> fastcandle_data::Result<()> {
    // SAFETY: first thing in main, before any other thread starts.
    unsafe { fastcandle_core::threads::set_thread_env() };
    let mut args = std::env::args().skip(1);
    let folder = args.next().map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/animal-shapes/images"
        ))
    });
    let epochs = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let dls = pets_like_loader(&folder, candle_core::Device::Cpu)?;
    let threads = fastcandle_core::threads::num_threads();
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
