//! The classic formats through the vision application: `ImageDataLoaders::from_idx` and
//! `from_cifar` on files the tests write, a quick SimpleCNN training on a few hundred in-memory
//! images, and ImageNet-style folders (`train/<class>/`, `val/<class>/`) with `from_folder`.

use fastcandle::data::vision::{write_cifar_batch, write_idx_images, write_idx_labels};
use fastcandle::vision::prelude::*;
use std::path::Path;

/// `n` 12x12 grey images, class `i % 2`: a horizontal bar (0) or a vertical one (1), at a
/// place that moves with `i`, over a little noise.
fn bars(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut px = Vec::with_capacity(n * 144);
    for i in 0..n {
        let at = 2 + (i / 2) % 8;
        for y in 0..12 {
            for x in 0..12 {
                let on = if i % 2 == 0 { y == at } else { x == at };
                px.push(if on {
                    230
                } else {
                    ((x * 7 + y * 13 + i) % 40) as u8
                });
            }
        }
    }
    (px, (0..n).map(|i| (i % 2) as u8).collect())
}

fn write_idx_folder(dir: &Path, n_train: usize, n_test: usize) {
    for (stem, n) in [("train", n_train), ("t10k", n_test)] {
        let (px, labels) = bars(n);
        write_idx_images(
            &dir.join(format!("{stem}-images-idx3-ubyte.gz")),
            n,
            12,
            12,
            &px,
        )
        .unwrap();
        write_idx_labels(&dir.join(format!("{stem}-labels-idx1-ubyte")), &labels).unwrap();
    }
}

#[test]
fn from_idx_trains_a_simple_cnn_in_seconds() {
    let dir = tempfile::tempdir().unwrap();
    write_idx_folder(dir.path(), 320, 64);
    let dls = ImageDataLoaders::from_idx(dir.path())
        .classes(["horizontal", "vertical"])
        .seed(1)
        .bs(32)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(dls.vocab(), ["horizontal", "vertical"]);
    assert_eq!(
        (dls.train_items().len(), dls.valid_items().len()),
        (320, 64)
    );
    assert_eq!(
        dls.valid_items().paths[3],
        Path::new("t10k-images-idx3-ubyte.gz[3]")
    );
    let head = HeadConfig {
        ps: 0.0,
        ..HeadConfig::default()
    };
    let mut learn = VisionLearner::builder(&dls, Arch::SimpleCnn)
        .head(head)
        .seed(1)
        .build()
        .unwrap()
        .metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(4, Some(1e-2)).unwrap();
    let scores = learn.validate(None).unwrap();
    let acc = scores.iter().find(|(k, _)| k == "accuracy").unwrap().1;
    assert!(acc >= 0.9, "accuracy {acc} ({scores:?})");

    // A random split of the training files instead of the test files.
    let dls = ImageDataLoaders::from_idx(dir.path())
        .valid_pct(0.25)
        .seed(1)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(
        (dls.train_items().len(), dls.valid_items().len()),
        (240, 80)
    );
    assert_eq!(dls.vocab().len(), 10); // MNIST's classes by default

    // Too few class names for the labels, and a folder without the files.
    let err = ImageDataLoaders::from_idx(dir.path())
        .classes(["only one"])
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("train-labels-idx1-ubyte"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = ImageDataLoaders::from_idx(empty.path())
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("train-images-idx3-ubyte.gz"), "{err}");
}

#[test]
fn from_cifar_reads_the_batches_with_their_class_names() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&folder).unwrap();
    for (i, name) in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin"]
        .into_iter()
        .chain(["data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"])
        .enumerate()
    {
        let px: Vec<u8> = (0..4 * 32 * 32 * 3)
            .map(|k| ((k + i) % 251) as u8)
            .collect();
        write_cifar_batch(&folder.join(name), &px, &[0, 3, 9, (i % 10) as u8]).unwrap();
    }
    let dls = ImageDataLoaders::from_cifar(dir.path())
        .bs(4)
        .seed(0)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(dls.vocab(), CIFAR10_CLASSES);
    assert_eq!((dls.train_items().len(), dls.valid_items().len()), (20, 4));
    assert_eq!(
        dls.train_items().paths[13],
        Path::new("data_batch_4.bin[1]")
    );
    let b = fastcandle::core::DataLoaders::valid(dls.loader())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.xs[0].dims(), [4, 3, 32, 32]);
    assert_eq!(b.ys.to_vec1::<u32>().unwrap(), [0, 3, 9, 5]);
    // A truncated batch: an error naming it.
    let bytes = std::fs::read(folder.join("data_batch_2.bin")).unwrap();
    std::fs::write(folder.join("data_batch_2.bin"), &bytes[..5000]).unwrap();
    let err = ImageDataLoaders::from_cifar(dir.path())
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("data_batch_2.bin"), "{err}");
}

#[test]
fn imagenet_style_folders_split_on_train_and_val() {
    let dir = tempfile::tempdir().unwrap();
    for (split, n) in [("train", 6), ("val", 2), ("test", 3)] {
        for class in ["n01440764", "n02102040"] {
            let d = dir.path().join(split).join(class);
            std::fs::create_dir_all(&d).unwrap();
            for k in 0..n {
                let v = if class.ends_with('4') { 40 } else { 200 } + k as u8;
                image::RgbImage::from_pixel(10, 8, image::Rgb([v, v, v]))
                    .save(d.join(format!("{class}_{k}.JPEG.png")))
                    .unwrap();
            }
        }
    }
    let dls = ImageDataLoaders::from_folder(dir.path())
        .folders("train", "val")
        .item_tfms(Resize::new(8))
        .bs(4)
        .seed(0)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(dls.vocab(), ["n01440764", "n02102040"]);
    // test/ is left out.
    assert_eq!((dls.train_items().len(), dls.valid_items().len()), (12, 4));
    assert!(
        dls.valid_items().paths.iter().all(|p| p
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .ends_with("val"))
    );
    let b = fastcandle::core::DataLoaders::valid(dls.loader())
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.xs[0].dims(), [4, 3, 8, 8]);
}
