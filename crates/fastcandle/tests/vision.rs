//! The vision application end to end on small generated images: data blocks, errors for bad
//! input, vision_learner training with frozen groups, predict, export and load_learner.

use fastcandle::vision::prelude::*;
use fastcandle::{Error, core::Model};
use std::path::{Path, PathBuf};

mod common;

/// A 12x12 RGB PNG: cats are bright on the left half, dogs on the right half.
fn write_png(path: &Path, cat: bool, k: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::RgbImage::from_fn(12, 12, |x, y| {
        let bright = (x < 6) == cat;
        let v = if bright { 200 } else { 30 } + ((x * 7 + y * 3 + k) % 20) as u8;
        image::Rgb([v, v / 2 + 10, 255 - v])
    });
    img.save(path).unwrap();
}

/// `n` images named like Pets (`Cat_3.png`, `dog_3.png`) in `dir`.
fn pets_folder(dir: &Path, n: u32) -> Vec<PathBuf> {
    (0..n)
        .map(|k| {
            let cat = k % 2 == 0;
            let p = dir.join(format!("{}_{k}.png", if cat { "Cat" } else { "dog" }));
            write_png(&p, cat, k);
            p
        })
        .collect()
}

fn is_cat(name: &str) -> bool {
    name.starts_with(char::is_uppercase)
}

fn dls(dir: &Path, n: u32) -> ImageDataLoaders {
    let files = pets_folder(dir, n);
    ImageDataLoaders::from_name_func(dir, files, is_cat)
        .valid_pct(0.25)
        .seed(7)
        .bs(4)
        .item_tfms(Resize::new(16))
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap()
}

#[test]
fn from_name_func_labels_splits_and_batches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dls(dir.path(), 16);
    assert_eq!(d.vocab(), ["False", "True"]);
    assert_eq!(d.c(), 2);
    assert_eq!((d.train_items().len(), d.valid_items().len()), (12, 4));
    let b = fastcandle::core::DataLoaders::train(d.loader(), 0)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.xs[0].dims(), [4, 3, 16, 16]);
    // The same seed gives the same split.
    let again = dls(dir.path(), 16);
    assert_eq!(again.valid_items(), d.valid_items());
}

#[test]
fn from_name_re_from_lists_and_from_folder() {
    let dir = tempfile::tempdir().unwrap();
    let files = pets_folder(dir.path(), 8);
    let d = ImageDataLoaders::from_name_re(dir.path(), files.clone(), r"^(.*)_\d+\.png$")
        .valid_pct(0.25)
        .seed(1)
        .item_tfms(Resize::new(8))
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(d.vocab(), ["Cat", "dog"]);
    // A name the pattern does not match is an error naming the file.
    let err = ImageDataLoaders::from_name_re(dir.path(), files.clone(), r"^(bird)_\d+\.png$")
        .device(DeviceChoice::Cpu)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("Cat_0.png"), "{err}");

    let labels: Vec<&str> = (0..8).map(|k| ["a", "b"][k % 2]).collect();
    let d = ImageDataLoaders::from_lists(dir.path(), files.clone(), labels)
        .valid_pct(0.25)
        .seed(1)
        .item_tfms(Resize::new(8))
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(d.vocab(), ["a", "b"]);
    let err = ImageDataLoaders::from_lists(dir.path(), files, vec!["a"; 3])
        .device(DeviceChoice::Cpu)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains('3') && err.contains('8'), "{err}");

    // train/<class>/ and valid/<class>/, as MNIST_SAMPLE.
    let root = dir.path().join("folder");
    for (split, n) in [("train", 6), ("valid", 2)] {
        for class in ["3", "7"] {
            for k in 0..n {
                write_png(
                    &root.join(split).join(class).join(format!("{k}.png")),
                    class == "3",
                    k,
                );
            }
        }
    }
    let d = ImageDataLoaders::from_folder(&root)
        .item_tfms(Resize::new(8))
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(d.vocab(), ["3", "7"]);
    assert_eq!((d.train_items().len(), d.valid_items().len()), (12, 4));
    let d = ImageDataLoaders::from_folder(&root)
        .valid_pct(0.5)
        .seed(3)
        .item_tfms(Resize::new(8))
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(d.valid_items().len(), 8);
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // An empty folder.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = ImageDataLoaders::from_folder(&empty)
        .device(DeviceChoice::Cpu)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("empty"), "{err}");
    // A label function with a single class.
    let files = pets_folder(&dir.path().join("pets"), 8);
    let err = ImageDataLoaders::from_name_func(dir.path(), files.clone(), |_: &str| "cat")
        .device(DeviceChoice::Cpu)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("class"), "{err}");
    // A corrupt image: an error naming it, or with skip_bad a counted skip.
    let bad = dir.path().join("pets/Cat_99.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let mut all = files;
    all.push(bad);
    let build = |skip: bool| {
        ImageDataLoaders::from_name_func(dir.path(), all.clone(), is_cat)
            .valid_pct(0.25)
            .seed(1)
            .item_tfms(Resize::new(8))
            .device(DeviceChoice::Cpu)
            .skip_bad(skip)
            .verify(true)
            .build()
    };
    let err = build(false).err().unwrap().to_string();
    assert!(err.contains("Cat_99.png"), "{err}");
    let d = build(true).unwrap();
    assert_eq!(d.n_skipped(), 1);
    assert_eq!(d.train_items().len() + d.valid_items().len(), 8);
}

#[test]
fn frozen_training_moves_only_the_head_and_batchnorm_then_predicts_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dls(dir.path(), 16);
    let mut learn = VisionLearner::builder(&d, Arch::Resnet18)
        .seed(3)
        .build()
        .unwrap()
        .metrics([error_rate()]);
    learn.quiet(true);
    learn.freeze();
    let before = learn.model.params().state_dict();
    learn.fit_one_cycle(1, Some(1e-2)).unwrap();
    let after: std::collections::HashMap<_, _> =
        learn.model.params().state_dict().into_iter().collect();
    let moved = |name: &str, t: &candle_core::Tensor| {
        let d = (t - &after[name]).unwrap().abs().unwrap();
        d.flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 0.0
    };
    for (name, t) in &before {
        let frozen_body =
            !name.starts_with("head.") && !name.contains("bn") && !name.contains("downsample.1");
        if name.ends_with("running_mean") || name.ends_with("num_batches_tracked") {
            continue;
        }
        if frozen_body {
            assert!(!moved(name, t), "{name} moved while frozen");
        } else if name.ends_with(".weight") {
            assert!(moved(name, t), "{name} did not train");
        }
    }

    // predict: a label of the vocabulary and probabilities summing to 1.
    let img = dir.path().join("Cat_0.png");
    let p = learn.predict(&img).unwrap();
    assert!(learn.vocab().contains(&p.label));
    assert!((p.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert_eq!(p.label, learn.vocab()[p.index]);
    let err = learn
        .predict(dir.path().join("nope.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.png"), "{err}");

    // export, then load_learner in "another process": the same probabilities.
    let out = dir.path().join("export");
    learn.export(&out).unwrap();
    let loaded = load_learner(&out, DeviceChoice::Cpu).unwrap();
    assert_eq!(loaded.vocab(), learn.vocab());
    let q = loaded.predict(&img).unwrap();
    assert_eq!(q.label, p.label);
    for (a, b) in p.probs.iter().zip(&q.probs) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // A damaged export is an error naming the file.
    std::fs::write(out.join("config.json"), "{}").unwrap();
    let err = load_learner(&out, DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("config.json"), "{err}");
}

/// The shared pretrained MobileNetV2 backbone, when `../shared/data` is present (always under CI).
fn shared_weights() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/weights/mobilenet_v2-imagenet-features.safetensors");
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {} is missing",
        p.display()
    );
    eprintln!("skipping: {} is absent", p.display());
    None
}

#[test]
fn a_pretrained_learner_starts_frozen_with_imagenet_normalisation() {
    let Some(weights) = shared_weights() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dls(dir.path(), 8);
    assert!(d.normalization().is_none());
    let learn = vision_learner(&d, Arch::MobilenetV2, Pretrained::File(weights.clone())).unwrap();
    assert_eq!(learn.dls().normalization(), Some(&Normalize::imagenet()));
    let params = learn.model.params();
    let conv = params.get("features.3.conv.0.0.weight").unwrap();
    let bn = params.get("features.3.conv.0.1.weight").unwrap();
    let head = params.get("head.lin1.weight").unwrap();
    assert!(!conv.trainable() && bn.trainable() && head.trainable());
    // The pretrained values were loaded.
    let (tensors, _) =
        fastcandle::core::tensor_io::load_safetensors(&weights, &candle_core::Device::Cpu).unwrap();
    let (_, want) = tensors
        .iter()
        .find(|(n, _)| n.as_str() == "features.3.conv.0.0.weight")
        .unwrap();
    let diff = (want - conv.tensor())
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap();
    assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
    // A file of the wrong architecture is an error listing keys.
    let err = vision_learner(&d, Arch::Resnet18, Pretrained::File(weights))
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("conv1.weight") || text.contains("features."),
        "{text}"
    );
    // Summarised on short lines, saying what the file is.
    assert!(text.contains("looks like mobilenet_v2"), "{text}");
    assert!(text.lines().all(|l| l.len() < 300), "{text}");
    let _: &Error = &err;
}

#[test]
fn fine_tune_gives_each_group_fastais_rates_and_groups_split_the_body() {
    // MobileNetV2's groups: features.0-6, features.7-18, the head.
    let m = fastcandle::models::VisionModel::new(
        Arch::MobilenetV2,
        2,
        &Pretrained::No,
        &candle_core::Device::Cpu,
        0,
    )
    .unwrap();
    for p in m.params().parameters() {
        let want = if p.name.starts_with("head.") {
            2
        } else {
            let i: usize = p.name.split('.').nth(1).unwrap().parse().unwrap();
            usize::from(i >= 7)
        };
        assert_eq!(p.group, want, "{}", p.name);
    }

    let dir = tempfile::tempdir().unwrap();
    let d = dls(dir.path(), 16);
    let mut learn = VisionLearner::builder(&d, Arch::Resnet18)
        .seed(1)
        .build()
        .unwrap();
    learn.quiet(true);
    learn.fine_tune(1).unwrap();
    let rec = learn.recorder().unwrap();
    assert_eq!(rec.fits.len(), 2);
    // Frozen phase: slice(2e-3) → [2e-4, 2e-4, 2e-3] at the peak (pct_start 0.99: the last
    // batch); unfrozen: from 1e-3/100 to 1e-3 across groups, peaking after 30%.
    let peak = |lrs: &[Vec<f64>]| -> Vec<f64> {
        (0..3)
            .map(|g| lrs.iter().map(|l| l[g]).fold(0.0, f64::max))
            .collect()
    };
    let frozen = peak(&rec.fits[0].lrs);
    let unfrozen = peak(&rec.fits[1].lrs);
    // Rates relative to the last group's, and the last group's peak (with 3 batches an
    // epoch the schedule does not reach its very top).
    let ratios = |v: &[f64]| -> Vec<f64> { v.iter().map(|x| x / v[2]).collect() };
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6 * y);
    assert!(close(&ratios(&frozen), &[0.1, 0.1, 1.0]), "{frozen:?}");
    assert!(frozen[2] <= 2e-3 && frozen[2] > 1e-3, "{frozen:?}");
    assert!(close(&ratios(&unfrozen), &[0.01, 0.1, 1.0]), "{unfrozen:?}");
    assert!(unfrozen[2] <= 1e-3 && unfrozen[2] > 0.7e-3, "{unfrozen:?}");
}

#[test]
fn out_of_range_settings_are_build_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let files = pets_folder(dir.path(), 4);
    common::check_option_errors(|bs, valid_pct| {
        let b = ImageDataLoaders::from_name_func(dir.path(), files.clone(), is_cat);
        let b = b.valid_pct(valid_pct).bs(bs).device(DeviceChoice::Cpu);
        b.build().err().map(|e| e.to_string())
    });
    // The in-memory builders check the same way, before reading any file.
    let e = ImageDataLoaders::from_idx(dir.path()).bs(0).build().err();
    assert!(e.unwrap().to_string().starts_with("bs: "));
    // A resize to nothing (`--size 0`) trained on empty images: now a build error.
    let e = ImageDataLoaders::from_name_func(dir.path(), files.clone(), is_cat)
        .item_tfms(Resize::new(0))
        .build()
        .err();
    assert!(e.unwrap().to_string().starts_with("item_tfms: "));
}

#[test]
fn a_test_folder_is_labelled_like_the_training_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dls(&dir.path().join("train"), 8);
    let test = pets_folder(&dir.path().join("test"), 6);
    let tdl = d.test_dl_with_labels(test.clone()).unwrap();
    let codes: Vec<u32> = tdl
        .batches()
        .flat_map(|b| b.unwrap().ys.to_vec1::<u32>().unwrap())
        .collect();
    // `Cat_0` is `True`, code 1 in the sorted vocabulary ["False", "True"].
    assert_eq!(codes, [1, 0, 1, 0, 1, 0]);
    // The same through explicit labels; a label outside the vocabulary names its file.
    let labels = ["True", "False", "True", "False", "True", "False"];
    let explicit = d.test_dl_labelled(test.clone(), labels.to_vec()).unwrap();
    assert_eq!(explicit.len(), 6);
    let mut wrong = labels.to_vec();
    wrong[2] = "horse";
    let err = d
        .test_dl_labelled(test.clone(), wrong)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Cat_2.png") && err.contains("`horse`"),
        "{err}"
    );
    // Labels given as lists cannot label new files: the error says what to use.
    let files = pets_folder(&dir.path().join("lists"), 8);
    let lists = ImageDataLoaders::from_lists(
        dir.path(),
        files.clone(),
        files.iter().map(|p| is_cat(file_name(p))).collect(),
    )
    .bs(4)
    .item_tfms(Resize::new(16))
    .device(DeviceChoice::Cpu)
    .build()
    .unwrap();
    let err = lists.test_dl_with_labels(test).unwrap_err().to_string();
    assert!(err.contains("test_dl_labelled"), "{err}");
}

#[test]
fn interpretation_counts_the_validation_set_and_draws_its_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let d = dls(dir.path(), 24);
    let mut learn = VisionLearner::builder(&d, Arch::SimpleCnn)
        .seed(3)
        .build()
        .unwrap()
        .metrics([error_rate()]);
    learn.quiet(true);
    learn.fit_one_cycle(1, Some(1e-2)).unwrap();
    let scores = learn.validate(None).unwrap();
    let (valid_loss, error) = (scores[0].1, scores[1].1);
    let interp = ClassificationInterpretation::from_learner(&mut learn).unwrap();
    let n = d.valid_items().len();
    let cm = interp.confusion_matrix();
    assert_eq!(cm.iter().flatten().sum::<usize>(), n);
    let trace: usize = (0..cm.len()).map(|i| cm[i][i]).sum();
    assert!((1.0 - trace as f64 / n as f64 - error).abs() < 1e-9);
    assert!((interp.error_rate() - error).abs() < 1e-9);
    // Each item's loss, added up, is the validation loss of the whole set.
    let total: f64 = interp.losses().iter().map(|&l| l as f64).sum();
    assert!((total - valid_loss * n as f64).abs() < 1e-4 * total.max(1.0));
    // Items are the validation files, in order.
    assert_eq!(
        interp.items()[0],
        d.valid_items().paths[0].display().to_string()
    );
    let top = interp.top_losses(3);
    assert!(top.windows(2).all(|w| w[0].loss >= w[1].loss));
    assert!(interp.vocab().contains(&top[0].actual));

    let png = |name: &str| dir.path().join(name);
    interp
        .plot_confusion_matrix(png("confusion_matrix.png"), false)
        .unwrap();
    interp.plot_top_losses(4, png("top_losses.png")).unwrap();
    learn.show_results(png("results.png"), 4).unwrap();
    for name in ["confusion_matrix.png", "top_losses.png", "results.png"] {
        let img = image::open(png(name)).unwrap();
        assert!(img.width() >= 100 && img.height() >= 100, "{name}");
    }
    assert!(interp.plot_top_losses(0, png("none.png")).is_err());
}

/// EfficientNet-B0 and ConvNeXt-Tiny from scratch on tiny images: the body splits into groups
/// at `features.4`; frozen, one epoch trains the head and the norm layers (BatchNorm, and
/// LayerNorm, which fastai's `train_bn` counts too) but not the body's convolutions; unfrozen,
/// one more epoch trains those too, and every weight stays finite.
#[test]
fn efficientnet_and_convnext_train_frozen_then_unfrozen() {
    let dir = tempfile::tempdir().unwrap();
    let files = pets_folder(dir.path(), 16);
    // 32 pixels: ConvNeXt's last downsampling needs 2x2 cells at 1/16.
    let d = ImageDataLoaders::from_name_func(dir.path(), files, is_cat)
        .valid_pct(0.25)
        .seed(7)
        .bs(4)
        .item_tfms(Resize::new(32))
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    for arch in [Arch::EfficientnetB0, Arch::ConvnextTiny] {
        let mut learn = VisionLearner::builder(&d, arch).seed(3).build().unwrap();
        learn.quiet(true);
        for p in learn.model.params().parameters() {
            let want = if p.name.starts_with("head.") {
                2
            } else {
                let i: usize = p.name.split('.').nth(1).unwrap().parse().unwrap();
                usize::from(i >= 4)
            };
            assert_eq!(p.group, want, "{arch}: {}", p.name);
        }
        let value = |learn: &VisionLearner, name: &str| {
            let p = learn.model.params().get(name).unwrap();
            p.tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        let watched = [
            "features.0.0.weight",
            "features.0.1.weight",
            "head.lin2.weight",
        ];
        let before: Vec<_> = watched.iter().map(|n| value(&learn, n)).collect();
        learn.freeze();
        learn.fit_one_cycle(1, Some(1e-3)).unwrap();
        let frozen: Vec<_> = watched.iter().map(|n| value(&learn, n)).collect();
        assert_eq!(
            before[0], frozen[0],
            "{arch}: the stem's convolution moved while frozen"
        );
        assert_ne!(
            before[1], frozen[1],
            "{arch}: the stem's norm did not train"
        );
        assert_ne!(before[2], frozen[2], "{arch}: the head did not train");
        learn.unfreeze();
        learn.fit_one_cycle(1, Some(1e-3)).unwrap();
        let after = value(&learn, watched[0]);
        assert_ne!(
            frozen[0], after,
            "{arch}: the stem's convolution did not train"
        );
        for p in learn.model.params().all() {
            let v = p.tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap();
            assert!(
                v.iter().all(|x| x.is_finite()),
                "{arch}: {} not finite",
                p.name
            );
        }
    }
}
