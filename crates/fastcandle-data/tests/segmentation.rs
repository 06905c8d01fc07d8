//! End-to-end checks of the segmentation loader: shapes, masks that move with their images,
//! palette masks, errors naming the files, determinism, real data.

use candle_core::{DType, Device};
use fastcandle_core::{Batch, DataLoaders};
use fastcandle_data::vision::*;
use fastcandle_data::{IndexSplitter, RandomSplitter};
use std::path::{Path, PathBuf};

mod common;

/// The image colour of each code: an image's colour tells its mask's code.
const COLOURS: [[u8; 3]; 4] = [[200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]];

/// The code of pixel `(x, y)` of item `i`: 12x12 blocks, shifted by the item.
fn code(i: usize, x: usize, y: usize) -> u8 {
    ((x / 12 + 2 * (y / 12) + i) % 4) as u8
}

/// Five codes, of which the masks use the first four.
fn codes() -> Codes {
    Codes::new(["Void", "a", "b", "c", "d"].map(String::from).to_vec())
}

/// The palette of the palette masks: colours whose brightness has nothing to do with the
/// index.
const PALETTE: [[u8; 3]; 4] = [[255, 255, 255], [0, 0, 0], [250, 0, 250], [10, 90, 0]];

/// Writes `n` items of `w x h`: `images/{i:02}.png` coloured by code and
/// `labels/{i:02}_P.png` holding the codes, palette PNGs for odd items, grey for even ones.
fn write_set(dir: &Path, n: usize, w: usize, h: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    std::fs::create_dir_all(dir.join("labels")).unwrap();
    (0..n)
        .map(|i| {
            let p = dir.join(format!("images/{i:02}.png"));
            image::RgbImage::from_fn(w as u32, h as u32, |x, y| {
                image::Rgb(COLOURS[code(i, x as usize, y as usize) as usize])
            })
            .save(&p)
            .unwrap();
            let codes = (0..w * h).map(|k| code(i, k % w, k / w)).collect();
            let mask = Image::new(w, h, 1, codes).unwrap();
            let palette = (i % 2 == 1).then_some(&PALETTE[..]);
            save_mask(&label_of(&p), &mask, palette).unwrap();
            p
        })
        .collect()
}

/// fastai's CamVid label function: `labels/{stem}_P.png` beside `images/`.
fn label_of(image: &Path) -> PathBuf {
    let root = image.parent().and_then(Path::parent).unwrap();
    root.join("labels")
        .join(format!("{}_P.png", file_stem(image)))
}

fn loader(images: &[PathBuf], valid: Vec<usize>) -> SegmentationLoader {
    SegmentationLoader::from_label_func(
        images,
        label_of,
        &IndexSplitter::new(valid),
        codes(),
        Device::Cpu,
    )
    .unwrap()
}

/// A batch's images as `[B][H * W]` pixels of 8 bits (the loader's `0..1` values, not
/// normalised) and its masks as `[B][H * W]` codes.
fn pixels_and_codes(b: &Batch) -> (Vec<Vec<[u8; 3]>>, Vec<Vec<u32>>) {
    let (n, _, h, w) = b.xs[0].dims4().unwrap();
    let x = b.xs[0].flatten_from(1).unwrap().to_vec2::<f32>().unwrap();
    let px = x
        .iter()
        .map(|v| {
            (0..h * w)
                .map(|p| std::array::from_fn(|c| (v[c * h * w + p] * 255.0).round() as u8))
                .collect()
        })
        .collect();
    let y = b.ys.flatten_from(1).unwrap().to_vec2::<u32>().unwrap();
    assert_eq!(y.len(), n);
    (px, y)
}

#[test]
fn batches_are_images_and_masks_of_codes() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_set(dir.path(), 10, 48, 36);
    let dls = loader(&images, vec![8, 9])
        .bs(4)
        .unwrap()
        .item_tfms(Resize::new(24))
        .normalize(Normalize::imagenet());
    assert_eq!(dls.vocab().unwrap(), ["Void", "a", "b", "c", "d"]);
    assert_eq!((dls.n_train_batches(), dls.n_valid_batches()), (2, 1));
    for b in dls.train(0) {
        let b = b.unwrap();
        assert_eq!(
            (b.xs[0].dims(), b.xs[0].dtype()),
            (&[4, 3, 24, 24][..], DType::F32)
        );
        assert_eq!((b.ys.dims(), b.ys.dtype()), (&[4, 24, 24][..], DType::U32));
    }
    let v = dls.valid().next().unwrap().unwrap();
    assert_eq!(
        (v.xs[0].dims(), v.ys.dims()),
        (&[2, 3, 24, 24][..], &[2, 24, 24][..])
    );
    // Normalised like the image loader's.
    let mean = v.xs[0].mean_all().unwrap().to_scalar::<f32>().unwrap();
    assert!(mean.abs() < 2.0 && mean != 0.0);

    // Without a transform the validation masks are the files' codes, pixel for pixel: item 8
    // has a grey mask, item 9 a palette mask read as its indices.
    let raw = loader(&images, vec![8, 9]).bs(2).unwrap();
    let (px, ys) = pixels_and_codes(&raw.valid().next().unwrap().unwrap());
    for (k, i) in [8, 9].into_iter().enumerate() {
        let want: Vec<u32> = (0..48 * 36)
            .map(|p| code(i, p % 48, p / 48) as u32)
            .collect();
        assert_eq!(ys[k], want, "item {i}");
        assert!(
            px[k]
                .iter()
                .zip(&want)
                .all(|(c, &code)| *c == COLOURS[code as usize])
        );
    }
    assert_eq!(
        decode_mask(&label_of(&images[9])).unwrap().data()[..3],
        [1, 1, 1]
    );
}

/// Checks that a training batch's masks hold only the written codes and that, away from the
/// edges of each code's region, the image has the colour of the mask's code.
fn check_masks_follow_images(b: &Batch) {
    let (_, _, h, w) = b.xs[0].dims4().unwrap();
    let (px, ys) = pixels_and_codes(b);
    for (img, mask) in px.iter().zip(&ys) {
        assert!(mask.iter().all(|&c| c < 4), "a code that no mask holds");
        let mut checked = 0;
        for y in 2..h - 2 {
            for x in 2..w - 2 {
                let k = mask[y * w + x];
                let inner =
                    (y - 2..=y + 2).all(|yy| (x - 2..=x + 2).all(|xx| mask[yy * w + xx] == k));
                if !inner {
                    continue;
                }
                checked += 1;
                let (got, want) = (img[y * w + x], COLOURS[k as usize]);
                let close = got.iter().zip(want).all(|(&a, b)| a.abs_diff(b) <= 60);
                assert!(close, "({x}, {y}): code {k} but colour {got:?}");
            }
        }
        assert!(checked > h * w / 10, "{checked}");
    }
}

#[test]
fn augmented_masks_keep_their_codes_and_move_with_their_images() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_set(dir.path(), 8, 48, 36);
    let aug = aug_transforms()
        .max_rotate(30.0)
        .zoom(1.0, 1.3)
        .max_warp(0.2)
        .p_affine(1.0)
        .max_lighting(0.0);
    let base = || {
        loader(&images, vec![0])
            .bs(7)
            .unwrap()
            .seed(5)
            .aug_transforms(aug)
    };
    // Resize crop: window and augmentation in one resampling; squish: resize, then augment;
    // no transform: decoded at their size, then augmented.
    let squish = Resize::with_size(36, 30).method(ResizeMethod::Squish);
    let loaders = [
        base().item_tfms(Resize::new(36)),
        base().item_tfms(squish),
        base(),
        base()
            .aug_transforms(aug.flip_vert(true))
            .item_tfms(Resize::new(36)),
    ];
    for dls in &loaders {
        let plain = dls.clone().aug_transforms(None);
        for epoch in 0..2 {
            let b = dls.train(epoch).next().unwrap().unwrap();
            check_masks_follow_images(&b);
            // The masks moved.
            let still = plain.train(epoch).next().unwrap().unwrap();
            assert_ne!(pixels_and_codes(&b).1, pixels_and_codes(&still).1);
        }
    }
}

#[test]
fn batches_are_reproducible_per_seed() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_set(dir.path(), 9, 30, 20);
    let make = |seed, prefetch| {
        SegmentationLoader::from_label_func(
            &images,
            label_of,
            &RandomSplitter::new(0.2, 3),
            codes(),
            Device::Cpu,
        )
        .unwrap()
        .bs(3)
        .unwrap()
        .seed(seed)
        .prefetch(prefetch)
        .unwrap()
        .item_tfms(RandomResizedCrop::new(16).min_scale(0.3))
        .aug_transforms(aug_transforms())
    };
    let epoch = |dls: &SegmentationLoader, e| -> Vec<(Vec<f32>, Vec<u32>)> {
        dls.train(e)
            .map(|b| {
                let b = b.unwrap();
                let x = b.xs[0].flatten_all().unwrap().to_vec1::<f32>().unwrap();
                (x, b.ys.flatten_all().unwrap().to_vec1::<u32>().unwrap())
            })
            .collect()
    };
    let a = make(1, 1);
    let first = epoch(&a, 0);
    assert_eq!(first.len(), 2);
    assert_eq!(first, epoch(&a, 0), "the same epoch twice");
    assert_eq!(first, epoch(&make(1, 0), 0), "with and without prefetching");
    assert_ne!(first, epoch(&a, 1), "another epoch");
    assert_ne!(first, epoch(&make(2, 1), 0), "another seed");
    // Validation (RandomResizedCrop's centre) is the same every time.
    let v = |dls: &SegmentationLoader| dls.valid().next().unwrap().unwrap().ys.to_vec3::<u32>();
    assert_eq!(v(&a).unwrap(), v(&make(2, 0)).unwrap());
}

/// The first error of the validation batches, as text.
fn valid_error(dls: &SegmentationLoader) -> String {
    dls.valid()
        .find_map(|b| b.err())
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[test]
fn bad_masks_are_errors_naming_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_set(dir.path(), 4, 12, 8);
    let dls = loader(&images, vec![3]).bs(2).unwrap();
    let mask = label_of(&images[3]);
    // A mask of another size.
    save_mask(&mask, &Image::new(11, 8, 1, vec![0; 88]).unwrap(), None).unwrap();
    let e = valid_error(&dls);
    assert!(e.contains("03_P.png") && e.contains("03.png"), "{e}");
    assert!(e.contains("11x8") && e.contains("12x8"), "{e}");
    // A code beyond the codes.
    save_mask(&mask, &Image::new(12, 8, 1, vec![7; 96]).unwrap(), None).unwrap();
    let e = valid_error(&dls);
    assert!(
        e.contains("03_P.png") && e.contains("code 7") && e.contains("5 codes"),
        "{e}"
    );
    // A colour mask.
    image::RgbImage::new(12, 8).save(&mask).unwrap();
    let e = valid_error(&dls);
    assert!(
        e.contains("03_P.png") && e.contains("must be grey or palette"),
        "{e}"
    );
    // A mask gone since the loader was built, or missing when it is built.
    std::fs::remove_file(&mask).unwrap();
    let e = valid_error(&dls);
    assert!(e.contains("03_P.png") && e.contains("03.png"), "{e}");
    let e = SegmentationLoader::from_label_func(
        &images,
        label_of,
        &IndexSplitter::new(vec![3]),
        codes(),
        Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("03_P.png") && e.contains("03.png"), "{e}");
}

#[test]
fn show_batch_draws_images_beside_their_masks() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_set(dir.path(), 5, 24, 16);
    let dls = loader(&images, vec![0])
        .bs(4)
        .unwrap()
        .aug_transforms(aug_transforms())
        .normalize(Normalize::imagenet());
    let out = dir.path().join("batch.png");
    dls.show_batch(&out, 4).unwrap();
    let png = image::open(&out).unwrap();
    // 2x2 cells of (24 + 2 + 24) x 16, scaled 3 times (to 128 pixels wide at least), 6 px
    // gaps; under bars of one line (18 px) or more, 4 px above and below.
    assert_eq!(png.width(), 2 * (150 + 6) + 6);
    assert!(png.height() >= 2 * (48 + 26 + 6) + 6, "{}", png.height());
}

#[test]
fn fashion_scenes_real_data() {
    let Some(dir) = common::shared_data("fashion-scenes") else {
        return;
    };
    let codes = Codes::from_file(dir.join("codes.txt")).unwrap();
    assert_eq!((codes.len(), codes.index_of("Void")), (11, Some(0)));
    let images = get_image_files(dir.join("images")).unwrap();
    assert_eq!(images.len(), 200);
    let labels = dir.join("labels");
    let dls = SegmentationLoader::from_label_func(
        &images,
        |p| labels.join(format!("{}_P.png", file_stem(p))),
        &FileSplitter::new(dir.join("valid.txt")),
        codes,
        Device::Cpu,
    )
    .unwrap()
    .bs(8)
    .unwrap()
    .seed(42)
    .aug_transforms(aug_transforms())
    .normalize(Normalize::imagenet());
    assert_eq!(
        (dls.train_images().len(), dls.valid_images().len()),
        (160, 40)
    );
    let listed = std::fs::read_to_string(dir.join("valid.txt")).unwrap();
    let mut listed: Vec<&str> = listed.split_whitespace().collect();
    let mut valid: Vec<&str> = dls.valid_images().iter().map(|p| file_name(p)).collect();
    listed.sort_unstable();
    valid.sort_unstable();
    assert_eq!(listed, valid);
    assert_eq!((dls.n_train_batches(), dls.n_valid_batches()), (20, 5));
    let b = dls.train(0).next().unwrap().unwrap();
    assert_eq!(
        (b.xs[0].dims(), b.ys.dims()),
        (&[8, 3, 96, 128][..], &[8, 96, 128][..])
    );
    let ys = b.ys.flatten_all().unwrap().to_vec1::<u32>().unwrap();
    assert!(ys.iter().all(|&c| c < 11));
    assert!(ys.iter().any(|&c| c > 0), "some pixels belong to a garment");
    // Validation masks are the files' codes.
    let v = dls.valid().next().unwrap().unwrap();
    let first =
        v.ys.get(0)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<u32>()
            .unwrap();
    let file = decode_mask(&dls.valid_masks()[0]).unwrap();
    let want: Vec<u32> = file.data().iter().map(|&c| c as u32).collect();
    assert_eq!(first, want);
    let out = tempfile::tempdir().unwrap();
    dls.show_batch(out.path().join("scenes.png"), 4).unwrap();
}

#[test]
fn out_of_range_settings_are_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let images = write_set(dir.path(), 3, 12, 12);
    let e = loader(&images, vec![0]).bs(0).unwrap_err().to_string();
    assert_eq!(e, "bs: the batch size must be at least 1, got 0");
    let e = loader(&images, vec![0])
        .prefetch(99)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("prefetch: "), "{e}");
    let e = SegmentationLoader::from_label_func(
        &images,
        label_of,
        &RandomSplitter::new(1.5, 0),
        codes(),
        Device::Cpu,
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("valid_pct: ") && e.contains("1.5"), "{e}");
}
