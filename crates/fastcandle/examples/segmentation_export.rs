//! Train a U-Net on the embedded CamVid-style sample, export it, load it back as another program
//! would (only the exported folder), and write one image's predicted mask as PNGs.
//!
//! ```text
//! cargo run --release -p fastcandle --example segmentation_export -- OUT_DIR [EPOCHS (5)]
//! ```
//!
//! `OUT_DIR` receives `export/` (`model.safetensors`, `config.json`), `mask.png` (the mask
//! coloured with `mask_palette`), `mask_grey.png` (raw codes), `mask_full.png` (at the image's
//! own size) and a copy of the image, `image.png`.

use fastcandle::vision::prelude::*;
use std::path::{Path, PathBuf};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "segmentation-export".into()));
    let epochs: usize = args.next().and_then(|e| e.parse().ok()).unwrap_or(5);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let path = root.join("datasets/camvid_sample");
    // The embedded ImageNet MobileNetV2 body, so that a few epochs give real masks offline.
    let weights = root.join("datasets/weights/mobilenet_v2-imagenet-features.safetensors");

    // Train (as lesson 1), then export.
    let labels = path.join("labels");
    let dls = SegmentationDataLoaders::from_label_func(
        &path,
        get_image_files(path.join("images"))?,
        move |p| labels.join(format!("{}_P.png", file_stem(p))),
        Codes::from_file(path.join("codes.txt"))?,
    )
    .bs(8)
    .seed(42)
    .build()?;
    let mut learn = unet_learner(&dls, Arch::MobilenetV2, Pretrained::File(weights))?;
    learn.fine_tune(epochs)?;
    learn.export(out.join("export"))?;

    // Another program needs only the exported folder.
    let learn = load_unet_learner(out.join("export"), DeviceChoice::Auto)?;
    let image = &dls.valid_images()[0];
    let pred = learn.predict(image)?;
    pred.save_mask_png(out.join("mask.png"))?;
    pred.save_grey_png(out.join("mask_grey.png"))?;
    learn
        .predict_original_size(image)?
        .save_mask_png(out.join("mask_full.png"))?;
    std::fs::copy(image, out.join("image.png")).map_err(|e| Error::Invalid(e.to_string()))?;
    let counts = pred.counts(learn.codes().len());
    for (code, n) in learn.codes().iter().zip(counts).filter(|(_, n)| *n > 0) {
        println!("{code:>12}: {n} pixels");
    }
    Ok(())
}
