//! The classic formats: IDX (MNIST, Fashion-MNIST) and CIFAR-10 binary batches, read from files
//! the tests write and from the real Fashion-MNIST, and their items through the image loader.

mod common;

use candle_core::Device;
use fastcandle_core::DataLoaders;
use fastcandle_data::Error;
use fastcandle_data::vision::*;
use std::path::Path;
use std::sync::Arc;

/// `n` images of `rows x cols` whose pixel `(i, y, x)` is `i + 3y + 7x` (mod 256).
fn pixels(n: usize, rows: usize, cols: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            (0..rows).flat_map(move |y| (0..cols).map(move |x| ((i + 3 * y + 7 * x) % 256) as u8))
        })
        .collect()
}

#[test]
fn idx_round_trips_gzipped_or_not() {
    let dir = tempfile::tempdir().unwrap();
    let px = pixels(5, 4, 3);
    let labels = [3u8, 0, 9, 1, 3];
    for (imgs, labs) in [
        ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    ] {
        let (ip, lp) = (dir.path().join(imgs), dir.path().join(labs));
        write_idx_images(&ip, 5, 4, 3, &px).unwrap();
        write_idx_labels(&lp, &labels).unwrap();
        let images = read_idx_images(&ip).unwrap();
        assert_eq!((images.len(), images.width(), images.height()), (5, 3, 4));
        assert_eq!(images.channels(), 1);
        assert_eq!(images.data(), &px[..]);
        assert_eq!(read_idx_labels(&lp).unwrap(), labels);
        let items = read_idx(&ip, &lp, 10).unwrap();
        assert_eq!(items.codes, [3, 0, 9, 1, 3]);
        assert_eq!(items.paths[2], Path::new(&format!("{imgs}[2]")));
    }
    // gzip is found by its magic, not by the name.
    let plain = dir.path().join("plain.gz");
    write_idx_labels(&plain, &labels).unwrap();
    let disguised = dir.path().join("labels-without-extension");
    std::fs::copy(&plain, &disguised).unwrap();
    assert_eq!(read_idx_labels(&disguised).unwrap(), labels);
}

#[test]
fn bad_idx_files_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let ip = dir.path().join("imgs-idx3-ubyte");
    write_idx_images(&ip, 4, 5, 5, &pixels(4, 5, 5)).unwrap();
    let bytes = std::fs::read(&ip).unwrap();
    let check = |e: Error, name: &str, words: &str| {
        assert!(
            matches!(e, Error::BadFormat { .. } | Error::Io { .. }),
            "{e:?}"
        );
        let s = e.to_string();
        assert!(s.contains(name), "{s}");
        assert!(s.contains(words), "{s}");
    };

    // Truncated, raw and gzipped (in the pixels, and in the header).
    let cut = dir.path().join("cut-idx3-ubyte");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    check(
        read_idx_images(&cut).unwrap_err(),
        "cut-idx3-ubyte",
        "truncated",
    );
    std::fs::write(&cut, &bytes[..10]).unwrap();
    check(
        read_idx_images(&cut).unwrap_err(),
        "cut-idx3-ubyte",
        "truncated",
    );
    let gz = dir.path().join("imgs.gz");
    write_idx_images(&gz, 4, 5, 5, &pixels(4, 5, 5)).unwrap();
    let gz_bytes = std::fs::read(&gz).unwrap();
    let cut_gz = dir.path().join("cut.gz");
    std::fs::write(&cut_gz, &gz_bytes[..gz_bytes.len() / 2]).unwrap();
    check(read_idx_images(&cut_gz).unwrap_err(), "cut.gz", "gzip");

    // Bytes past the end.
    let long = dir.path().join("long-idx3-ubyte");
    std::fs::write(&long, [bytes.clone(), vec![0, 0]].concat()).unwrap();
    check(
        read_idx_images(&long).unwrap_err(),
        "long-idx3-ubyte",
        "past its end",
    );

    // Bad magic numbers: labels read as images, images as labels, junk.
    let lp = dir.path().join("labs-idx1-ubyte");
    write_idx_labels(&lp, &[1, 2, 3]).unwrap();
    check(
        read_idx_images(&lp).unwrap_err(),
        "labs-idx1-ubyte",
        "magic",
    );
    check(
        read_idx_labels(&ip).unwrap_err(),
        "imgs-idx3-ubyte",
        "magic",
    );
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"not an idx file at all, no no").unwrap();
    check(read_idx_images(&junk).unwrap_err(), "junk", "0x6e6f7420");

    // Counts that differ, and a label past the classes.
    check(
        read_idx(&ip, &lp, 10).unwrap_err(),
        "labs-idx1-ubyte",
        "3 labels",
    );
    let lp4 = dir.path().join("four-idx1-ubyte");
    write_idx_labels(&lp4, &[1, 2, 12, 3]).unwrap();
    check(
        read_idx(&ip, &lp4, 10).unwrap_err(),
        "four-idx1-ubyte",
        "label 2 is 12",
    );

    // Missing files.
    check(
        read_idx_images(&dir.path().join("nope")).unwrap_err(),
        "nope",
        "",
    );
    let e = IdxFiles::find(dir.path()).unwrap_err().to_string();
    assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
}

#[test]
fn cifar_batches_round_trip_and_wrong_lengths_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&folder).unwrap();
    // Image i: pixel (x, y) is (i + x, y, 200 - i) in RGB.
    let image = |i: usize| -> Vec<u8> {
        (0..32)
            .flat_map(|y| (0..32).flat_map(move |x| [(i + x) as u8, y as u8, (200 - i) as u8]))
            .collect()
    };
    for b in 1..=5 {
        let idx: Vec<usize> = (0..3).map(|k| 10 * b + k).collect();
        let px: Vec<u8> = idx.iter().flat_map(|&i| image(i)).collect();
        let labels: Vec<u8> = idx.iter().map(|&i| (i % 10) as u8).collect();
        write_cifar_batch(&folder.join(format!("data_batch_{b}.bin")), &px, &labels).unwrap();
    }
    write_cifar_batch(&folder.join("test_batch.bin"), &image(99), &[9]).unwrap();
    std::fs::write(
        folder.join("batches.meta.txt"),
        CIFAR10_CLASSES.join("\n") + "\n\n",
    )
    .unwrap();

    let (images, labels) = read_cifar_batch(&folder.join("data_batch_2.bin")).unwrap();
    assert_eq!(
        (images.len(), images.channels(), images.width()),
        (3, 3, 32)
    );
    assert_eq!(labels, [0, 1, 2]);
    assert_eq!(images.image(1).pixel(5, 7), [26, 7, 179]);
    assert_eq!(images.pixels(2), &image(22)[..]);

    // The folder: found from its parent, the five batches gathered, items named by batch.
    let files = CifarFiles::find(dir.path()).unwrap();
    assert_eq!(files.classes().unwrap(), CIFAR10_CLASSES);
    let (train, test) = files.read().unwrap();
    assert_eq!((train.len(), test.len()), (15, 1));
    assert_eq!(train.paths[7], Path::new("data_batch_3.bin[1]"));
    assert_eq!(train.codes[7], 1);
    assert_eq!(test.paths[0], Path::new("test_batch.bin[0]"));
    assert_eq!(
        test.memory.as_ref().unwrap().images.pixels(0),
        &image(99)[..]
    );

    // A batch of the wrong length.
    let bytes = std::fs::read(folder.join("data_batch_1.bin")).unwrap();
    let cut = folder.join("data_batch_cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let e = read_cifar_batch(&cut).unwrap_err();
    assert!(matches!(e, Error::BadFormat { .. }), "{e:?}");
    let s = e.to_string();
    assert!(
        s.contains("data_batch_cut.bin") && s.contains("3073"),
        "{s}"
    );
    // A label past CIFAR-10's classes.
    let mut bad = bytes.clone();
    bad[super_record(1)] = 42;
    std::fs::write(&cut, &bad).unwrap();
    let s = read_cifar_batch(&cut).unwrap_err().to_string();
    assert!(
        s.contains("data_batch_cut.bin") && s.contains("record 1 has label 42"),
        "{s}"
    );
    // A missing batch.
    std::fs::remove_file(folder.join("data_batch_4.bin")).unwrap();
    let s = CifarFiles::find(dir.path()).unwrap_err().to_string();
    assert!(s.contains("data_batch_4.bin"), "{s}");
}

/// The offset of record `i`'s label.
fn super_record(i: usize) -> usize {
    i * CIFAR_RECORD
}

#[test]
fn in_memory_items_go_through_the_loader() {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = (dir.path().join("imgs.gz"), dir.path().join("labs.gz"));
    let n = 40;
    write_idx_images(&ip, n, 6, 5, &pixels(n, 6, 5)).unwrap();
    write_idx_labels(&lp, &(0..n).map(|i| (i % 2) as u8).collect::<Vec<_>>()).unwrap();
    let items = read_idx(&ip, &lp, 2).unwrap();
    let train = items.subset(&(0..30).collect::<Vec<_>>());
    let valid = items.subset(&(30..40).collect::<Vec<_>>());
    assert_eq!(valid.paths[0], Path::new("imgs.gz[30]"));
    let dls = ImageLoader::new(train, valid, vec!["a".into(), "b".into()], Device::Cpu)
        .unwrap()
        .bs(8)
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!((dls.n_train_batches(), dls.n_valid_batches()), (3, 2));
    let b = dls.valid().next().unwrap().unwrap();
    assert_eq!(b.xs[0].dims(), [8, 3, 6, 5]);
    // Grey fills the three channels; values are scaled to 0..1.
    let flat = b.xs[0].flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let want = |i: usize, y: usize, x: usize| ((i + 3 * y + 7 * x) % 256) as f32 / 255.0;
    let plane = 6 * 5;
    for c in 0..3 {
        assert!((flat[c * plane + 2 * 5 + 4] - want(30, 2, 4)).abs() < 1e-6);
    }
    assert_eq!(b.ys.to_vec1::<u32>().unwrap()[..3], [0, 1, 0]);
    // Resize and augmentation work on them as on files.
    let dls = dls
        .item_tfms(Resize::new(8))
        .aug_transforms(aug_transforms());
    let b = dls.train(0).next().unwrap().unwrap();
    assert_eq!(b.xs[0].dims(), [8, 3, 8, 8]);
    dls.show_batch(dir.path().join("batch.png"), 4).unwrap();
    // A labelled test set in memory.
    let test = dls
        .test_dl_items(items.subset(&[0, 1, 2]))
        .unwrap()
        .with_codes(vec![1, 1, 0])
        .unwrap();
    assert_eq!(test.paths()[2], Path::new("imgs.gz[2]"));
    let b = test.batches().next().unwrap().unwrap();
    assert_eq!(b.ys.to_vec1::<u32>().unwrap(), [1, 1, 0]);
    // Items of another size fail the batch with the item's name.
    let odd = Arc::new(InMemoryImages::new("odd.idx", 2, 3, 3, 1, vec![0; 18]).unwrap());
    let e = ImageItems::in_memory(odd, vec![0, 2], vec![0, 1]).unwrap_err();
    assert!(e.to_string().contains("odd.idx"), "{e}");
}

#[test]
fn real_fashion_mnist() {
    let Some(dir) = common::shared_data("fashion-mnist") else {
        return;
    };
    let files = IdxFiles::find(&dir).unwrap();
    let (train, test) = files.read(10).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    for items in [&train, &test] {
        let imgs = &items.memory.as_ref().unwrap().images;
        assert_eq!((imgs.width(), imgs.height(), imgs.channels()), (28, 28, 1));
        assert!(items.codes.iter().all(|&c| c < 10));
        // Fashion-MNIST is balanced: every class has a tenth of the items.
        for c in 0..10 {
            let k = items.codes.iter().filter(|&&x| x == c).count();
            assert_eq!(k, items.len() / 10, "class {c}");
        }
    }
    // The first training item is an ankle boot, the first test item too (Zalando's files).
    assert_eq!(train.codes[0], 9);
    assert_eq!(FASHION_MNIST_CLASSES[train.codes[0] as usize], "Ankle boot");
    assert_eq!(test.codes[0], 9);
    assert_eq!(train.paths[0], Path::new("train-images-idx3-ubyte.gz[0]"));
}
