//! `imagenet_classifier` against PyTorch: torchvision's resnet18 and mobilenet_v2 with weights
//! made by a formula (written here and in `scripts/reference/imagenet_reference.py`) as a full
//! checkpoint with torchvision's names, a photo made by a formula, torchvision's preprocessing,
//! and the logits and top 5 classes of `tests/data/imagenet_reference.json`; and the errors.

use candle_core::{DType, Device, Tensor};
use fastcandle::core::{Model, ParamBuilder};
use fastcandle::vision::prelude::*;
use fastcandle::vision::{ImagenetClassifier, imagenet_classes};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn reference() -> Value {
    serde_json::from_str(include_str!("data/imagenet_reference.json")).unwrap()
}

/// The script's formula for the tensor `name` of `shape`.
fn formula(name: &str, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let h = 0.1 * (name.bytes().map(u64::from).sum::<u64>() % 100) as f64;
    let v: Vec<f32> = (0..n as i64)
        .map(|i| {
            let s = (i as f64 * 0.37 + 0.5 * ((i * i) % 1009) as f64 + h).sin();
            let v = if name.ends_with("running_mean") {
                0.1 * s
            } else if name.ends_with("running_var") {
                1.0 + 0.5 * s * s
            } else if shape.len() == 1 && name.ends_with("weight") {
                0.5 + 0.2 * s
            } else if shape.len() == 1 && name.ends_with("bias") {
                0.1 * s
            } else {
                let fan_in: usize = shape[1..].iter().product();
                2.0 / (fan_in as f64).sqrt() * s
            };
            v as f32
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

/// A full checkpoint of `arch` (body, `num_batches_tracked` counters and, unless
/// `classifier` is `None`, the classifier `classifier` for `nf` features) with the formula's
/// weights.
fn checkpoint(dir: &Path, arch: Arch, classifier: Option<(&str, usize)>) -> PathBuf {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    (arch.spec().body)(&pb).unwrap();
    let mut tensors: Vec<(String, Tensor)> = Vec::new();
    for (name, t) in pb.store().state_dict() {
        if let Some(bn) = name.strip_suffix(".running_mean") {
            let counter = Tensor::zeros((), DType::I64, &Device::Cpu).unwrap();
            tensors.push((format!("{bn}.num_batches_tracked"), counter));
        }
        tensors.push((name.clone(), formula(&name, t.dims())));
    }
    if let Some((fc, nf)) = classifier {
        for (k, shape) in [("weight", vec![1000, nf]), ("bias", vec![1000])] {
            let name = format!("{fc}.{k}");
            tensors.push((name.clone(), formula(&name, &shape)));
        }
    }
    let path = dir.join(format!("{}.safetensors", arch.name()));
    fastcandle::core::tensor_io::save_safetensors(&path, &tensors, None).unwrap();
    path
}

/// The script's 320 x 250 photo.
fn photo(dir: &Path) -> PathBuf {
    let (w, h) = (320u32, 250u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let b = if (x / 8 + y / 8) % 2 == 0 { 230 } else { 30 };
        image::Rgb([(x * 255 / (w - 1)) as u8, (y * 255 / (h - 1)) as u8, b])
    });
    let p = dir.join("photo.png");
    img.save(&p).unwrap();
    p
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn logits(model: &ImagenetClassifier, photo: &Path) -> Vec<f32> {
    let images = model.test_dl(vec![photo.to_path_buf()]).unwrap();
    let batch = images.batches().next().unwrap().unwrap();
    let y = fastcandle::core::grad::no_grad(|| model.forward_t(&batch.xs, false)).unwrap();
    y.squeeze(0).unwrap().to_vec1().unwrap()
}

#[test]
fn the_preprocessing_is_torchvisions() {
    let dir = tempfile::tempdir().unwrap();
    let photo = photo(dir.path());
    let ckpt = checkpoint(dir.path(), Arch::MobilenetV2, Some(("classifier.1", 1280)));
    let model = ImagenetClassifier::new(
        Arch::MobilenetV2,
        &Pretrained::File(ckpt),
        DeviceChoice::Cpu,
    )
    .unwrap();
    let images = model.test_dl(vec![photo]).unwrap();
    let x = images.batches().next().unwrap().unwrap().xs[0].clone();
    let r = reference();
    assert_eq!(x.dims(), [1, 3, 224, 224]);
    let sum: f32 = x.sum_all().unwrap().to_scalar().unwrap();
    let abs_sum: f32 = x.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
    let (want_sum, want_abs) = (
        r["input"]["sum"].as_f64().unwrap(),
        r["input"]["abs_sum"].as_f64().unwrap(),
    );
    assert!(
        (sum as f64 - want_sum).abs() < 1e-3 * want_abs,
        "sum {sum} vs {want_sum}"
    );
    assert!(
        (abs_sum as f64 - want_abs).abs() < 1e-4 * want_abs,
        "{abs_sum} vs {want_abs}"
    );
    let x = x.squeeze(0).unwrap();
    for (key, row, cols) in [("first", 0usize, 0..8usize), ("centre", 112, 100..108)] {
        let want = floats(&r["input"][key]);
        let mut got = Vec::new();
        for c in 0..3 {
            let line: Vec<f32> = x.get(c).unwrap().get(row).unwrap().to_vec1().unwrap();
            got.extend(line[cols.clone()].iter().map(|&v| v as f64));
        }
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "{key}: {got:?} vs {want:?}");
        }
    }
}

#[test]
fn resnet18_and_mobilenet_v2_classify_as_pytorch() {
    let dir = tempfile::tempdir().unwrap();
    let photo = photo(dir.path());
    let r = reference();
    for (arch, fc, nf) in [
        (Arch::Resnet18, "fc", 512),
        (Arch::MobilenetV2, "classifier.1", 1280),
    ] {
        let ckpt = checkpoint(dir.path(), arch, Some((fc, nf)));
        let model =
            ImagenetClassifier::new(arch, &Pretrained::File(ckpt), DeviceChoice::Cpu).unwrap();
        let want = floats(&r[arch.name()]["logits"]);
        let got = logits(&model, &photo);
        let worst = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (*g as f64 - w).abs())
            .fold(0f64, f64::max);
        eprintln!("{arch}: the logits differ from PyTorch's by at most {worst:.2e}");
        assert!(worst < 1e-4, "{arch}: logits differ by {worst}");
        // The top 5, by name, as torchvision's categories say.
        let top = model.predict(&photo).unwrap();
        assert_eq!(top.len(), 5);
        assert!(top.windows(2).all(|w| w[0].prob >= w[1].prob));
        for t in &top {
            assert_eq!(t.name, imagenet_classes()[t.index]);
        }
        if arch == Arch::Resnet18 {
            for (t, w) in top.iter().zip(r[arch.name()]["top5"].as_array().unwrap()) {
                assert_eq!(t.index as u64, w["index"].as_u64().unwrap());
                assert_eq!(t.name, w["name"].as_str().unwrap());
                assert!((t.prob as f64 - w["prob"].as_f64().unwrap()).abs() < 1e-6);
            }
        }
        assert_eq!(model.predict_top_k(&photo, 1000).unwrap().len(), 1000);
    }
}

#[test]
fn checkpoints_without_a_classifier_and_bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // The committed MobileNetV2 features (for vision_learner) have no classifier.
    let features = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/weights/mobilenet_v2-imagenet-features.safetensors");
    let e = imagenet_classifier(Arch::MobilenetV2, Pretrained::File(features))
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("mobilenet_v2-imagenet-features.safetensors")
            && e.contains("classifier.1.weight")
            && e.contains("classifier.1.bias"),
        "{e}"
    );
    let body_only = checkpoint(dir.path(), Arch::Resnet18, None);
    let e = ImagenetClassifier::new(
        Arch::Resnet18,
        &Pretrained::File(body_only),
        DeviceChoice::Cpu,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("resnet18.safetensors") && e.contains("fc.weight"),
        "{e}"
    );
    // MobileNetV2 weights are not ResNet18's: the keys that do not fit are named.
    let mobilenet = checkpoint(dir.path(), Arch::MobilenetV2, Some(("fc", 1280)));
    let e = ImagenetClassifier::new(
        Arch::Resnet18,
        &Pretrained::File(mobilenet),
        DeviceChoice::Cpu,
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("mobilenet_v2.safetensors")
            && e.contains("conv1.weight")
            && e.contains("features.0.0.weight")
            && e.contains("looks like mobilenet_v2"),
        "{e}"
    );
    let e = imagenet_classifier(Arch::Resnet18, Pretrained::No)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("Pretrained::File"), "{e}");
    let e = imagenet_classifier(Arch::SimpleCnn, Pretrained::File("x.safetensors".into()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("simple_cnn"), "{e}");
    let e = imagenet_classifier(Arch::Resnet18, Pretrained::File(dir.path().join("none.st")))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("none.st"), "{e}");
    // A photo that cannot be read is named.
    let ckpt = checkpoint(dir.path(), Arch::MobilenetV2, Some(("classifier.1", 1280)));
    let model = ImagenetClassifier::new(
        Arch::MobilenetV2,
        &Pretrained::File(ckpt),
        DeviceChoice::Cpu,
    )
    .unwrap();
    let bad = dir.path().join("cat.jpg");
    std::fs::write(&bad, "no picture").unwrap();
    let e = model.predict(&bad).err().unwrap().to_string();
    assert!(e.contains("cat.jpg"), "{e}");
}
