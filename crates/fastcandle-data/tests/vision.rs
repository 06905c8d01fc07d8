//! End-to-end checks of the image loader: shapes, order, determinism, bad files, real data.

use candle_core::{DType, Device, Tensor};
use fastcandle_core::{Batch, DataLoaders};
use fastcandle_data::settings::MAX_PREFETCH;
use fastcandle_data::vision::*;
use fastcandle_data::{IndexSplitter, RandomSplitter};
use std::path::{Path, PathBuf};

mod common;

/// Writes `n` PNG files `{i:02}_{cls}.png` of `w x h`: red = i (the item's id), green = 100 *
/// class, blue a horizontal ramp; class is `i % 2` named `a`/`b`.
fn write_items(dir: &Path, n: usize, w: u32, h: u32) -> Vec<PathBuf> {
    (0..n)
        .map(|i| {
            let cls = i % 2;
            let img = image::RgbImage::from_fn(w, h, |x, _| {
                image::Rgb([i as u8, 100 * cls as u8, (x * 20) as u8])
            });
            let p = dir.join(format!("{i:02}_{}.png", ["a", "b"][cls]));
            img.save(&p).unwrap();
            p
        })
        .collect()
}

fn by_suffix() -> RegexLabeller {
    RegexLabeller::new(r"_(\w)\.png$").unwrap()
}

/// The item ids (red channel of the first pixel) of a batch in `0..1` values.
fn ids(b: &Batch) -> Vec<usize> {
    let v = b.xs[0].flatten_from(1).unwrap().to_vec2::<f32>().unwrap();
    v.iter()
        .map(|row| (row[0] * 255.0).round() as usize)
        .collect()
}

#[test]
fn batch_shapes_targets_and_every_train_item_once() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 20, 6, 4);
    let valid_idx = vec![1, 4, 7, 10, 13];
    let dls = ImageLoader::from_labeller(
        &items,
        &by_suffix(),
        &IndexSplitter::new(valid_idx.clone()),
        Device::Cpu,
    )
    .unwrap()
    .bs(4)
    .unwrap()
    .seed(3)
    .item_tfms(Resize::new(4));
    assert_eq!(dls.vocab().unwrap(), ["a", "b"]);
    assert_eq!((dls.train_items().len(), dls.valid_items().len()), (15, 5));
    assert_eq!((dls.n_train_batches(), dls.n_valid_batches()), (3, 2));
    let batches: Vec<Batch> = dls.train(0).map(|b| b.unwrap()).collect();
    assert_eq!(batches.len(), 3);
    for b in &batches {
        assert_eq!(b.xs[0].dims(), [4, 3, 4, 4]);
        assert_eq!(b.xs[0].dtype(), DType::F32);
        assert_eq!(b.ys.dims(), [4]);
        assert_eq!(b.ys.dtype(), DType::U32);
        // Targets travel with their images: class = id % 2.
        let ys = b.ys.to_vec1::<u32>().unwrap();
        let id = ids(b);
        for (y, i) in ys.iter().zip(&id) {
            assert_eq!(*y as usize, i % 2);
        }
    }
    // Every training item at most once, the epoch's seeded order, the last 3 dropped.
    let seen: Vec<usize> = batches.iter().flat_map(ids).collect();
    let train_ids: Vec<usize> = (0..20).filter(|i| !valid_idx.contains(i)).collect();
    let want: Vec<usize> = dls.train_order(0)[..12]
        .iter()
        .map(|&k| train_ids[k])
        .collect();
    assert_eq!(seen, want);
    let mut all: Vec<usize> = dls
        .clone()
        .drop_last(false)
        .train(0)
        .flat_map(|b| ids(&b.unwrap()))
        .collect();
    all.sort_unstable();
    assert_eq!(all, train_ids);
    // Validation: in order, all kept.
    let v: Vec<usize> = dls.valid().flat_map(|b| ids(&b.unwrap())).collect();
    assert_eq!(v, valid_idx);
    assert_ne!(
        seen,
        dls.train(1)
            .flat_map(|b| ids(&b.unwrap()))
            .collect::<Vec<_>>()
    );
    // Without shuffling, every epoch takes the training items in the split's order.
    let unshuffled = dls.clone().shuffle(false);
    assert_eq!(unshuffled.train_order(3), (0..15).collect::<Vec<_>>());
    for epoch in [0, 1] {
        let got: Vec<usize> = unshuffled
            .train(epoch)
            .flat_map(|b| ids(&b.unwrap()))
            .collect();
        assert_eq!(got, train_ids[..12]);
    }
}

fn tensors(dls: &ImageLoader, epoch: usize) -> Vec<Vec<f32>> {
    dls.train(epoch)
        .map(|b| {
            b.unwrap().xs[0]
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        })
        .collect()
}

#[test]
fn augmented_epochs_are_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 12, 10, 8);
    // Resize 6 shrinks (resize, then augment); Resize 16 enlarges (both in one resampling).
    for size in [6, 16] {
        let make = |prefetch| {
            ImageLoader::from_labeller(
                &items,
                &by_suffix(),
                &RandomSplitter::new(0.25, 1),
                Device::Cpu,
            )
            .unwrap()
            .bs(3)
            .unwrap()
            .seed(9)
            .prefetch(prefetch)
            .unwrap()
            .item_tfms(Resize::new(size))
            .aug_transforms(aug_transforms().max_lighting(0.5))
            .normalize(Normalize::imagenet())
        };
        let (a, b) = (make(1), make(0));
        let e1 = tensors(&a, 1);
        assert_eq!(e1.len(), 3);
        assert_eq!(e1[0].len(), 3 * 3 * size * size);
        assert!(e1.iter().flatten().all(|v| v.is_finite() && v.abs() < 3.0));
        assert_eq!(e1, tensors(&a, 1), "the same epoch twice");
        assert_eq!(e1, tensors(&b, 1), "with and without prefetching");
        assert_ne!(e1, tensors(&a, 2), "another epoch, other draws");
        let other_seed = make(1).seed(10);
        assert_ne!(e1, tensors(&other_seed, 1));
        // Validation is not augmented: the same every time.
        let flat = |b: &Batch| b.xs[0].flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let v1: Vec<Batch> = a.valid().map(|b| b.unwrap()).collect();
        let v2: Vec<Batch> = a.valid().map(|b| b.unwrap()).collect();
        assert_eq!(flat(&v1[0]), flat(&v2[0]));
        // A training loop run on the pool (as the Learner does) gets the same batches.
        let on_pool = fastcandle_core::threads::run_in_pool(|| tensors(&a, 1));
        assert_eq!(e1, on_pool);
    }
}

#[test]
fn validation_items_go_through_the_training_transforms_for_tta() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 12, 10, 8);
    let dls = ImageLoader::from_labeller(
        &items,
        &by_suffix(),
        &IndexSplitter::new(vec![1, 2, 5, 8, 11]),
        Device::Cpu,
    )
    .unwrap()
    .bs(2)
    .unwrap()
    .seed(4)
    .item_tfms(Resize::new(6));
    let pass = |p: usize| -> Vec<Batch> {
        dls.valid_augmented(p)
            .expect("an image classifier augments its validation items")
            .map(|b| b.unwrap())
            .collect()
    };
    let plain: Vec<Batch> = dls.valid().map(|b| b.unwrap()).collect();
    let flat = |bs: &[Batch]| -> Vec<f32> {
        bs.iter()
            .flat_map(|b| b.xs[0].flatten_all().unwrap().to_vec1::<f32>().unwrap())
            .collect()
    };
    let (p0, p1) = (pass(0), pass(1));
    assert_eq!(p0.len(), plain.len());
    for (a, b) in p0.iter().zip(&plain) {
        // The same items, in order, with their targets: the red channel is each item's id.
        assert_eq!(ids(a), ids(b));
        assert_eq!(
            a.ys.to_vec1::<u32>().unwrap(),
            b.ys.to_vec1::<u32>().unwrap()
        );
        assert_eq!(a.xs[0].dims(), b.xs[0].dims());
    }
    // Random crops (training's Resize) instead of the centre crop, drawn afresh each pass and
    // the same for the same pass.
    assert_ne!(flat(&p0), flat(&plain));
    assert_ne!(flat(&p0), flat(&p1));
    assert_eq!(flat(&p0), flat(&pass(0)));
}

#[test]
fn normalisation_in_the_loader_equals_normalize_on_the_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 6, 5, 5);
    let base = ImageLoader::from_labeller(
        &items,
        &by_suffix(),
        &IndexSplitter::new(vec![0, 1, 2]),
        Device::Cpu,
    )
    .unwrap()
    .bs(3)
    .unwrap();
    let raw = base.valid().next().unwrap().unwrap();
    let n = Normalize::imagenet();
    let folded = base.clone().normalize(n).valid().next().unwrap().unwrap();
    let diff = (n.apply(&raw.xs[0]).unwrap() - &folded.xs[0])
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-5, "{diff}");
    // Item 1's first pixel: red 1, green 100, blue 0 -> by hand.
    let px = raw.xs[0]
        .get(1)
        .unwrap()
        .flatten_from(1)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(
        [px[0][0], px[1][0], px[2][0]],
        [1.0 / 255.0, 100.0 / 255.0, 0.0]
    );
}

#[test]
fn grey_files_fill_three_equal_channels() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = Vec::new();
    for i in 0..4u8 {
        let img = image::GrayImage::from_fn(3, 3, |x, y| image::Luma([i * 50 + (x + y) as u8]));
        let p = dir
            .path()
            .join(format!("{i}_{}.png", ["a", "b"][i as usize % 2]));
        img.save(&p).unwrap();
        items.push(p);
    }
    let dls = ImageLoader::from_labeller(
        &items,
        &by_suffix(),
        &IndexSplitter::new(vec![]),
        Device::Cpu,
    )
    .unwrap()
    .bs(4)
    .unwrap()
    .aug_transforms(aug_transforms());
    let b = dls.train(0).next().unwrap().unwrap();
    let x = b.xs[0].to_dtype(DType::F32).unwrap();
    let (r, g, bl) = (
        x.narrow(1, 0, 1).unwrap(),
        x.narrow(1, 1, 1).unwrap(),
        x.narrow(1, 2, 1).unwrap(),
    );
    let same = |a: &Tensor, b: &Tensor| {
        a.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            == b.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    };
    assert!(same(&r, &g) && same(&g, &bl));
}

#[test]
fn bad_files_fail_naming_them_or_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = write_items(dir.path(), 8, 4, 4);
    let whole = std::fs::read(&items[0]).unwrap();
    for (k, name) in ["08_a.png", "09_b.png"].iter().enumerate() {
        let p = dir.path().join(name);
        std::fs::write(&p, &whole[..whole.len() / (2 + k)]).unwrap();
        items.push(p);
    }
    let make = || {
        ImageLoader::from_labeller(
            &items,
            &by_suffix(),
            &IndexSplitter::new(vec![0, 9]),
            Device::Cpu,
        )
        .unwrap()
        .bs(4)
        .unwrap()
        .item_tfms(Resize::new(4))
    };
    let dls = make();
    let errors: Vec<String> = dls
        .valid()
        .filter_map(|b| b.err().map(|e| e.to_string()))
        .collect();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("09_b.png"), "{}", errors[0]);
    // Verifying names every bad file at once (both splits), not the first one met.
    let e = make().verify().unwrap_err().to_string();
    assert!(
        e.contains("2 image file(s)") && e.contains("08_a.png") && e.contains("09_b.png"),
        "{e}"
    );

    // Skipping: the batches shrink, the count is readable after the epoch.
    let dls = make().skip_bad(true).drop_last(false);
    let n_train: usize = dls.train(0).map(|b| b.unwrap().len()).sum();
    let n_valid: usize = dls.valid().map(|b| b.unwrap().len()).sum();
    assert_eq!((n_train, n_valid), (7, 1));
    assert_eq!(dls.n_skipped(), 2);
    assert_eq!(dls.skipped_files()[1].file_name().unwrap(), "09_b.png");
    // Or at build time, when it checks the files first.
    let checked = make().skip_bad(true).verify().unwrap();
    assert_eq!(checked.n_skipped(), 2);
    assert_eq!(
        (checked.train_items().len(), checked.valid_items().len()),
        (7, 1)
    );
}

#[test]
fn single_class_and_mixed_sizes_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 4, 4, 4);
    let one = label_func(|_: &Path| "cat");
    let e = ImageLoader::from_labeller(&items, &one, &IndexSplitter::new(vec![0]), Device::Cpu)
        .unwrap_err();
    assert!(e.to_string().contains("`cat`"), "{e}");
    // Images of two sizes without a Resize cannot be batched.
    let odd = dir.path().join("04_a.png");
    image::RgbImage::new(5, 4).save(&odd).unwrap();
    let mut items = items;
    items.push(odd);
    let dls = ImageLoader::from_labeller(
        &items,
        &by_suffix(),
        &IndexSplitter::new(vec![]),
        Device::Cpu,
    )
    .unwrap()
    .bs(5)
    .unwrap();
    let e = dls.train(0).next().unwrap().unwrap_err().to_string();
    assert!(e.contains("Resize"), "{e}");
}

#[test]
fn show_batch_writes_a_labelled_grid() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 8, 16, 12);
    let dls = ImageLoader::from_labeller(
        &items,
        &by_suffix(),
        &IndexSplitter::new(vec![0]),
        Device::Cpu,
    )
    .unwrap()
    .bs(4)
    .unwrap()
    .item_tfms(Resize::new(16))
    .aug_transforms(aug_transforms())
    .normalize(Normalize::imagenet());
    let out = dir.path().join("batch.png");
    dls.show_batch(&out, 4).unwrap();
    let png = image::open(&out).unwrap();
    // 2x2 cells of 16 px images scaled 8 times (to 128 pixels at least), under bars of one
    // line (18 px, 4 px above and below), 6 px gaps.
    assert_eq!((png.width(), png.height()), (274, 326));
}

fn animal_shapes() -> Option<PathBuf> {
    common::shared_data("animal-shapes/images")
}

/// The Pets lesson's loader, through the public builder, on the cat and dog silhouettes of
/// animal-shapes (files `Cat_*` and `dog_*`; the cats' names start with a capital).
#[test]
fn image_loader_on_real_animal_shapes() {
    let Some(dir) = animal_shapes() else { return };
    let mut items = get_image_files(&dir).unwrap();
    items.retain(|p| ["Cat_", "dog_"].iter().any(|s| file_name(p).starts_with(s)));
    let is_cat = label_func(|p: &Path| file_stem(p).starts_with(char::is_uppercase));
    let split = RandomSplitter::new(0.2, 42);
    let dls = ImageLoader::from_labeller(&items, &is_cat, &split, Device::Cpu)
        .unwrap()
        .seed(42)
        .bs(64)
        .unwrap()
        .item_tfms(Resize::new(224))
        .aug_transforms(aug_transforms())
        .normalize(Normalize::imagenet());
    assert_eq!(
        (dls.train_items().len(), dls.valid_items().len()),
        (1600, 400)
    );
    assert_eq!(dls.vocab().unwrap(), ["False", "True"]);
    assert_eq!((dls.n_train_batches(), dls.n_valid_batches()), (25, 7));
    let b = dls.valid().next().unwrap().unwrap();
    assert_eq!(b.xs[0].dims(), [64, 3, 224, 224]);
    let ys = b.ys.to_vec1::<u32>().unwrap();
    assert!(ys.contains(&0) && ys.contains(&1));
    // The labels follow the file names.
    for (p, &c) in dls
        .valid_items()
        .paths
        .iter()
        .zip(&dls.valid_items().codes)
        .take(50)
    {
        let upper = file_name(p).starts_with(char::is_uppercase);
        assert_eq!(c, upper as u32, "{}", p.display());
    }
    let t = dls.train(0).next().unwrap().unwrap();
    assert_eq!(t.xs[0].dims(), [64, 3, 224, 224]);
}

#[test]
fn out_of_range_settings_are_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let items = write_items(dir.path(), 6, 4, 4);
    let make = |splitter: &dyn ItemSplitter| {
        ImageLoader::from_labeller(&items, &by_suffix(), splitter, Device::Cpu)
    };
    let dls = make(&IndexSplitter::new(vec![0, 1])).unwrap();
    let e = dls.clone().bs(0).unwrap_err().to_string();
    assert_eq!(e, "bs: the batch size must be at least 1, got 0");
    let e = dls
        .clone()
        .prefetch(MAX_PREFETCH + 1)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("prefetch: "), "{e}");
    assert_eq!(dls.bs(1).unwrap().prefetch(0).unwrap().batch_size(), 1);
    let e = make(&RandomSplitter::new(1.5, 0)).unwrap_err().to_string();
    assert!(e.starts_with("valid_pct: ") && e.contains("1.5"), "{e}");
}
