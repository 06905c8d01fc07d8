//! The segmentation application end to end on a tiny set written by the test: factories,
//! `unet_learner`, training, `predict`, `show_results`, export and `load_unet_learner`, mask
//! PNGs, and errors for bad masks and bad exports.

use fastcandle::vision::prelude::*;
use std::path::{Path, PathBuf};

mod common;

/// The three codes: 0 is Void (background), 1 and 2 are squares of two colours.
fn codes() -> Codes {
    Codes::new(vec!["Void".into(), "red".into(), "blue".into()])
}

/// Writes `n` 32x32 scenes: a grey noisy background with a red (code 1) or blue (code 2)
/// square; the mask holds each pixel's code.
fn scenes(dir: &Path, n: u32) -> Vec<PathBuf> {
    scenes_of(dir, n, 32)
}

/// [`scenes`] of `size x size` pixels (the square's side is half of it).
fn scenes_of(dir: &Path, n: u32, size: u32) -> Vec<PathBuf> {
    let side = size / 2;
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("labels")).unwrap();
    (0..n)
        .map(|i| {
            let code = 1 + (i % 2) as u8;
            let (x0, y0) = (2 + (i % 5) * 3, 3 + (i % 4) * 3);
            let inside =
                |x: u32, y: u32| (x0..x0 + side).contains(&x) && (y0..y0 + side).contains(&y);
            let img = image::RgbImage::from_fn(size, size, |x, y| {
                if inside(x, y) {
                    if code == 1 {
                        image::Rgb([220, 30, 30])
                    } else {
                        image::Rgb([30, 30, 220])
                    }
                } else {
                    let v = 100 + ((x * 7 + y * 13 + i * 5) % 40) as u8;
                    image::Rgb([v, v, v])
                }
            });
            let mask = image::GrayImage::from_fn(size, size, |x, y| {
                image::Luma([if inside(x, y) { code } else { 0 }])
            });
            let p = dir.join(format!("images/scene_{i}.png"));
            img.save(&p).unwrap();
            mask.save(dir.join(format!("labels/scene_{i}_P.png")))
                .unwrap();
            p
        })
        .collect()
}

fn label_func(dir: &Path) -> impl Fn(&Path) -> PathBuf + Send + Sync + 'static {
    let labels = dir.join("labels");
    move |p: &Path| labels.join(format!("{}_P.png", file_stem(p)))
}

#[test]
fn a_unet_learns_the_squares_predicts_masks_and_shows_results() {
    let dir = tempfile::tempdir().unwrap();
    let files = scenes(dir.path(), 12);
    let dls = SegmentationDataLoaders::from_label_func(
        dir.path(),
        files,
        label_func(dir.path()),
        codes(),
    )
    .bs(4)
    .valid_pct(0.25)
    .seed(3)
    .device(DeviceChoice::Cpu)
    .build()
    .unwrap();
    assert_eq!(dls.c(), 3);
    assert_eq!((dls.train_images().len(), dls.valid_images().len()), (9, 3));
    let mut learn = UnetLearner::builder(&dls, Arch::Resnet18)
        .metrics([pixel_accuracy()])
        .seed(0)
        .build()
        .unwrap();
    learn.quiet(true);
    // From scratch: not frozen, no normalisation added (as fastai's unet_learner).
    assert!(learn.dls().normalization().is_none());
    assert_eq!(learn.model.params().n_groups(), 3);
    let before = learn.validate(None).unwrap();
    learn.fit_one_cycle(10, Some(1e-2)).unwrap();
    let after = learn.validate(None).unwrap();
    assert!(
        after[0].1 < 0.5 * before[0].1,
        "valid loss {} -> {}",
        before[0].1,
        after[0].1
    );
    // A quarter of the pixels are squares: the accuracy must beat always predicting the
    // background (0.75).
    assert!(after[1].1 > 0.9, "pixel accuracy {}", after[1].1);

    let img = dir.path().join("images/scene_1.png");
    let mask = learn.predict(&img).unwrap();
    assert_eq!((mask.width, mask.height, mask.mask.len()), (32, 32, 1024));
    assert!(mask.mask.iter().all(|&c| c < 3));
    let out = dir.path().join("pred.png");
    mask.save_grey_png(&out).unwrap();
    let back = image::open(&out).unwrap().to_luma8();
    assert_eq!(back.get_pixel(5, 5).0[0] as u32, mask.mask[5 * 32 + 5]);

    let shown = dir.path().join("results.png");
    learn.show_results(&shown, 3).unwrap();
    let pic = image::open(&shown).unwrap();
    // Three panels (image, truth, prediction) per cell.
    assert!(pic.width() >= 3 * 32, "{}", pic.width());

    // The interpretation: per-code scores over the validation pixels, whose overall share
    // right is the pixel accuracy, and each image's loss adding up to the validation loss.
    let interp = SegmentationInterpretation::from_learner(&mut learn).unwrap();
    assert_eq!(interp.len(), 3);
    let m = interp.confusion_matrix();
    let total: u64 = m.iter().flatten().sum();
    assert_eq!(total, 3 * 32 * 32);
    let right: u64 = (0..3).map(|k| m[k][k]).sum();
    assert!((right as f64 / total as f64 - after[1].1).abs() < 1e-6);
    let per_code = interp.per_code();
    assert_eq!(per_code.len(), 3);
    assert_eq!(per_code.iter().map(|s| s.pixels).sum::<u64>(), total);
    let top = interp.top_losses(3);
    let sum: f64 = top.iter().map(|t| t.loss as f64).sum();
    assert!(
        (sum - 3.0 * after[0].1).abs() < 1e-4,
        "{sum} vs 3 x {}",
        after[0].1
    );
    interp
        .write_per_code_csv(dir.path().join("per_code.csv"))
        .unwrap();
    let csv = std::fs::read_to_string(dir.path().join("per_code.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    let tl = dir.path().join("top_losses.png");
    interp.plot_top_losses(2, &tl).unwrap();
    assert!(image::open(&tl).unwrap().width() >= 3 * 32);
    let cm = dir.path().join("confusion_matrix.png");
    interp.plot_confusion_matrix(&cm, true).unwrap();
    assert!(image::open(&cm).is_ok());
}

#[test]
fn bad_masks_are_errors_naming_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let files = scenes(dir.path(), 4);
    std::fs::remove_file(dir.path().join("labels/scene_2_P.png")).unwrap();
    let e = SegmentationDataLoaders::from_label_func(
        dir.path(),
        files.clone(),
        label_func(dir.path()),
        codes(),
    )
    .bs(2)
    .seed(0)
    .device(DeviceChoice::Cpu)
    .build()
    .err()
    .expect("a missing mask is an error")
    .to_string();
    assert!(e.contains("scene_2_P.png"), "{e}");
    // Codes beyond the names: two codes only, but the masks hold code 2.
    let files = scenes(dir.path(), 4);
    let two = Codes::new(vec!["Void".into(), "red".into()]);
    let dls =
        SegmentationDataLoaders::from_label_func(dir.path(), files, label_func(dir.path()), two)
            .bs(4)
            .valid_pct(0.0)
            .seed(0)
            .device(DeviceChoice::Cpu)
            .build();
    let e = match dls {
        Err(e) => e.to_string(),
        Ok(dls) => {
            let mut it = fastcandle::core::DataLoaders::train(dls.loader(), 0);
            match it.next().unwrap() {
                Err(e) => e.to_string(),
                Ok(_) => panic!("code 2 of 2 codes is an error"),
            }
        }
    };
    assert!(e.contains("scene_") && e.contains('2'), "{e}");
}

#[test]
fn out_of_range_settings_are_build_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let files = scenes(dir.path(), 4);
    common::check_option_errors(|bs, valid_pct| {
        let (path, labels) = (dir.path(), label_func(dir.path()));
        let b = SegmentationDataLoaders::from_label_func(path, files.clone(), labels, codes());
        let b = b.valid_pct(valid_pct).bs(bs).device(DeviceChoice::Cpu);
        b.build().err().map(|e| e.to_string())
    });
}

/// A U-Net trained briefly on 64x64 scenes squished to 32x32, with a normalisation: the masks
/// and probabilities of its export equal the learner's, its PNGs decode back to its masks, and
/// a missing or corrupt export is an error naming the file.
#[test]
fn an_exported_unet_predicts_the_same_masks_and_writes_them_as_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let files = scenes_of(dir.path(), 8, 64);
    let dls = SegmentationDataLoaders::from_label_func(
        dir.path(),
        files.clone(),
        label_func(dir.path()),
        codes(),
    )
    .bs(4)
    .valid_pct(0.25)
    .seed(5)
    .item_tfms(Resize::new(32).method(ResizeMethod::Squish))
    .normalize(Normalize::imagenet())
    .device(DeviceChoice::Cpu)
    .build()
    .unwrap();
    let mut learn = UnetLearner::builder(&dls, Arch::Resnet18)
        .seed(1)
        .build()
        .unwrap();
    learn.quiet(true);
    learn.fit_one_cycle(1, Some(1e-2)).unwrap();

    let export = dir.path().join("export");
    learn.export(&export).unwrap();
    let loaded = load_unet_learner(&export, DeviceChoice::Cpu).unwrap();
    assert_eq!(loaded.codes(), ["Void", "red", "blue"]);
    assert_eq!(
        (loaded.arch(), loaded.img_size()),
        (Arch::Resnet18, (32, 32))
    );
    assert_eq!(loaded.normalization(), Some(&Normalize::imagenet()));

    let before = learn.predict_many(files.clone()).unwrap();
    let after = loaded.predict_many(files.clone()).unwrap();
    assert_eq!(before.len(), 8);
    for (b, a) in before.iter().zip(&after) {
        assert_eq!((a.width, a.height, a.n_codes()), (32, 32, 3));
        assert_eq!(a.mask, b.mask, "the same code at every pixel");
        let worst = a
            .probs
            .iter()
            .zip(&b.probs)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 1e-6, "probabilities differ by {worst}");
        // The mask is the arg-max of the probabilities.
        for (i, &code) in a.mask.iter().enumerate() {
            let (x, y) = (i % 32, i / 32);
            let p = a.prob(code as usize, x, y).unwrap();
            assert!((0..3).all(|c| a.prob(c, x, y).unwrap() <= p));
        }
    }
    // One image alone is predicted as in a batch (up to the rounding of another batch size).
    let one = loaded.predict(&files[3]).unwrap();
    assert!(
        one.mask == after[3].mask,
        "predict and predict_many disagree"
    );
    let worst = one
        .probs
        .iter()
        .zip(&after[3].probs)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(worst <= 1e-5, "probabilities differ by {worst}");

    // At the image's own size: the whole 64x64 image squished to 32x32 as in training, the
    // outputs enlarged back (nearest): each 2x2 block is one pixel of `predict`'s mask.
    let full = loaded.predict_original_size(&files[3]).unwrap();
    assert_eq!((full.width, full.height, full.n_codes()), (64, 64, 3));
    for y in 0..64 {
        for x in 0..64 {
            assert_eq!(full.code(x, y), one.code(x / 2, y / 2), "({x}, {y})");
        }
    }
    assert!(learn.predict_original_size(&files[3]).unwrap().mask == full.mask);

    // The PNGs: a palette PNG of the codes (colours of mask_palette) and a grey PNG of raw
    // codes, both decoding back to the mask.
    let png = dir.path().join("mask.png");
    after[3].save_mask_png(&png).unwrap();
    let codes_back = fastcandle::data::vision::decode_mask(&png).unwrap();
    let want: Vec<u8> = after[3].mask.iter().map(|&c| c as u8).collect();
    assert_eq!((codes_back.width(), codes_back.height()), (32, 32));
    assert_eq!(codes_back.data(), &want[..]);
    let rgb = image::open(&png).unwrap().to_rgb8();
    for (i, p) in rgb.pixels().enumerate() {
        assert_eq!(p.0, mask_colour(after[3].mask[i]), "pixel {i}");
    }
    let grey = dir.path().join("grey.png");
    after[3].save_grey_png(&grey).unwrap();
    let back = image::open(&grey).unwrap();
    assert_eq!(back.color(), image::ColorType::L8);
    assert_eq!(back.to_luma8().into_raw(), want);

    // Errors name the file: no export, a corrupt config, a corrupt or missing model, an image
    // that cannot be read.
    let e = load_unet_learner(dir.path().join("nowhere"), DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("config.json") && e.contains("nowhere"), "{e}");
    let model = export.join("model.safetensors");
    let weights = std::fs::read(&model).unwrap();
    std::fs::write(&model, &weights[..weights.len() / 2]).unwrap();
    let e = load_unet_learner(&export, DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    std::fs::remove_file(&model).unwrap();
    let e = load_unet_learner(&export, DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("model.safetensors"), "{e}");
    std::fs::write(export.join("config.json"), "{\"format\": ").unwrap();
    let e = load_unet_learner(&export, DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("config.json"), "{e}");
    // A classifier's export is not a segmentation learner's.
    std::fs::write(
        export.join("config.json"),
        r#"{"format": "fastcandle-vision-1"}"#,
    )
    .unwrap();
    let e = load_unet_learner(&export, DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("config.json") && e.contains("segmentation"),
        "{e}"
    );
    let not_image = dir.path().join("notes.png");
    std::fs::write(&not_image, "not a picture").unwrap();
    let e = loaded.predict(&not_image).err().unwrap().to_string();
    assert!(e.contains("notes.png"), "{e}");
    let e = loaded
        .predict_original_size(&not_image)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("notes.png"), "{e}");
}
