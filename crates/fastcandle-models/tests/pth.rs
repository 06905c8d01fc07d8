//! PyTorch checkpoints (`.pth`/`.pt`) as torch.save writes them: the zip and legacy formats
//! and pickle protocol 4 (files of `scripts/reference/pth_reference.py` in `tests/data/pth`),
//! nesting under `model`/`state_dict` and DataParallel's `module.` prefix, every float dtype,
//! strided views, clear errors for bad files, mismatches listed key by key; and the shared
//! legacy MobileNetV2 (old flattened names) against its safetensors twin, bit for bit.

use candle_core::{DType, Device, Tensor};
use fastcandle_core::{Model, ParamBuilder, ParamStore};
use fastcandle_models::layers::{BatchNorm, Conv2d, Conv2dConfig, Linear};
use fastcandle_models::weights::{load_weights_into, read_weights};
use fastcandle_models::{Arch, Pretrained, VisionModel, guess_arch};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pth")
        .join(name)
}

fn expected() -> Value {
    serde_json::from_str(include_str!("data/pth/checkpoint.json")).unwrap()
}

fn err_of(path: &Path) -> String {
    read_weights(path)
        .err()
        .unwrap_or_else(|| panic!("{} must not load", path.display()))
        .to_string()
}

/// Every tensor against what torch saved: names, shapes, and values bit for bit.
fn check_against_torch(path: &Path, tensors: &[(String, Tensor)]) {
    let want = expected();
    let want = want["tensors"].as_object().unwrap();
    let got: HashMap<_, _> = tensors.iter().cloned().collect();
    let mut names: Vec<_> = got.keys().cloned().collect();
    names.sort();
    let mut want_names: Vec<_> = want.keys().cloned().collect();
    want_names.sort();
    assert_eq!(names, want_names, "{}", path.display());
    for (name, w) in want {
        let t = &got[name];
        let shape: Vec<usize> = w["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(t.dims(), shape.as_slice(), "{name}: shape");
        let values = w["values"].as_array().unwrap();
        if w["dtype"] == "int64" {
            assert_eq!(t.dtype(), DType::I64, "{name}");
            let got = t.flatten_all().unwrap().to_vec1::<i64>().unwrap();
            let want: Vec<i64> = values.iter().map(|v| v.as_i64().unwrap()).collect();
            assert_eq!(got, want, "{name}");
        } else {
            assert_eq!(t.dtype(), DType::F32, "{name}");
            let got = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            let want: Vec<f32> = values.iter().map(|v| v.as_f64().unwrap() as f32).collect();
            let same = got.len() == want.len()
                && got
                    .iter()
                    .zip(&want)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{} {name}: {got:?} vs {want:?}", path.display());
        }
    }
}

#[test]
fn zip_legacy_and_protocol_4_checkpoints_read_as_torch_saved_them() {
    for file in [
        "checkpoint.pth",
        "checkpoint.legacy.pt",
        "checkpoint.protocol4.pth",
    ] {
        let path = data(file);
        let tensors = read_weights(&path).unwrap();
        // The state dict's own order; `module.` is gone.
        assert_eq!(tensors[0].0, "conv.weight", "{file}");
        check_against_torch(&path, &tensors);
    }
}

#[test]
fn a_lightning_checkpoint_nests_under_state_dict() {
    let t = read_weights(&data("lightning.pth")).unwrap();
    let names: Vec<_> = t
        .iter()
        .map(|(k, v)| (k.as_str(), v.dims().to_vec()))
        .collect();
    assert_eq!(names, [("a.weight", vec![2, 2]), ("a.bias", vec![2])]);
    // `model` naming the architecture is no nesting; `state_dict` is.
    let t = read_weights(&data("named_model.pth")).unwrap();
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].0, "b.weight");
    assert_eq!(t[0].1.to_vec1::<f32>().unwrap(), [1.0; 3]);
}

#[test]
fn what_is_not_a_state_dict_is_named() {
    let e = err_of(&data("not_a_state_dict.pth"));
    assert!(
        e.contains("not_a_state_dict.pth")
            && e.contains("not a state dict")
            && e.contains("a list"),
        "{e}"
    );
    let e = err_of(&data("module.pth"));
    assert!(
        e.contains("module.pth")
            && e.contains("torch.nn.modules.linear.Linear")
            && e.contains("model.state_dict()"),
        "{e}"
    );
    let e = err_of(&data("complex.pth"));
    assert!(
        e.contains("complex.pth")
            && e.contains("unsupported storage type torch.ComplexFloatStorage")
            && e.contains("`w`"),
        "{e}"
    );
}

#[test]
fn bad_and_truncated_files_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let e = err_of(&write("noise.pth", b"these are not weights at all"));
    assert!(
        e.contains("noise.pth") && e.contains("not a safetensors file"),
        "{e}"
    );
    let e = err_of(&write("empty.pt", b""));
    assert!(e.contains("empty.pt"), "{e}");

    let zip = std::fs::read(data("checkpoint.pth")).unwrap();
    let e = err_of(&write("cut.pth", &zip[..zip.len() / 2]));
    assert!(e.contains("cut.pth") && e.contains("truncated"), "{e}");

    let legacy = std::fs::read(data("checkpoint.legacy.pt")).unwrap();
    // Cut in the storages, then in the pickles.
    let e = err_of(&write("cut.pt", &legacy[..legacy.len() - 10]));
    assert!(e.contains("cut.pt") && e.contains("truncated"), "{e}");
    let e = err_of(&write("cut2.pt", &legacy[..300]));
    assert!(e.contains("cut2.pt") && e.contains("truncated"), "{e}");

    // A pickle that is not torch's: no magic number.
    let e = err_of(&write("plain.pkl", b"\x80\x02}q\x00."));
    assert!(e.contains("plain.pkl") && e.contains("magic number"), "{e}");

    let e = err_of(Path::new("/nonexistent/weights.pth"));
    assert!(e.contains("/nonexistent/weights.pth"), "{e}");
}

/// A store with the checkpoint's `conv`, `bn` and `fc` under torch's names.
fn small_store(kernel: usize, extra: bool) -> ParamStore {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let cfg = Conv2dConfig {
        bias: false,
        ..Default::default()
    };
    Conv2d::new(&pb.pp("conv"), 3, 4, kernel, cfg).unwrap();
    BatchNorm::new(&pb.pp("bn"), 4).unwrap();
    Linear::new(&pb.pp("fc"), 3, 5, true).unwrap();
    if extra {
        Linear::new(&pb.pp("extra"), 2, 2, false).unwrap();
    }
    pb.store().clone()
}

#[test]
fn a_pth_state_dict_loads_into_a_store_by_name() {
    let path = data("checkpoint.pth");
    let store = small_store(3, false);
    let ours = |k: &str| ["conv.", "bn.", "fc."].iter().any(|p| k.starts_with(p));
    load_weights_into(&store, &path, |k| !ours(k), &[]).unwrap();
    let tensors: HashMap<_, _> = read_weights(&path).unwrap().into_iter().collect();
    for p in store.all() {
        let want = &tensors[&p.name];
        let d = fastcandle_testutil::tensor_max_abs_diff(p.tensor(), want);
        assert_eq!(d, 0.0, "{}", p.name);
    }
    // The transposed view came back as torch's `fc.weight` ([5, 3] of the [3, 5] it viewed).
    assert_eq!(store.get("fc.weight").unwrap().tensor().dims(), &[5, 3]);
}

#[test]
fn a_pth_mismatch_lists_every_key() {
    let path = data("checkpoint.legacy.pt");
    let store = small_store(5, true);
    let e = load_weights_into(&store, &path, |_| false, &[])
        .unwrap_err()
        .to_string();
    for needle in [
        "checkpoint.legacy.pt",
        "conv.weight",   // mis-shaped: 5x5 here, 3x3 in the file
        "extra.weight",  // missing from the file
        "tied.bias",     // unexpected
        "double.matrix", // unexpected
    ] {
        assert!(e.contains(needle), "`{needle}` missing from: {e}");
    }
    assert!(!e.contains("num_batches_tracked"), "{e}");
}

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/weights/");

/// A file of `../shared/data/weights`, or `None` (with a note) where it is absent.
fn shared(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(SHARED).join(name);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{} is missing, and CI=true requires it",
        p.display()
    );
    eprintln!("note: {} is absent; test skipped", p.display());
    None
}

#[test]
fn the_legacy_mobilenet_v2_loads_identical_to_its_safetensors() {
    let (Some(legacy), Some(st)) = (
        shared("mobilenet_v2-imagenet-features.legacy.pt"),
        shared("mobilenet_v2-imagenet-features.safetensors"),
    ) else {
        return;
    };
    let dev = Device::Cpu;
    let a = VisionModel::new(
        Arch::MobilenetV2,
        2,
        &Pretrained::File(legacy.clone()),
        &dev,
        0,
    )
    .unwrap();
    let b = VisionModel::new(Arch::MobilenetV2, 2, &Pretrained::File(st), &dev, 0).unwrap();
    let mut n = 0;
    for p in a.params().all() {
        let q = b.params().get(&p.name).unwrap();
        let (x, y) = (
            p.tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            q.tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        );
        let same = x.len() == y.len() && x.iter().zip(&y).all(|(u, v)| u.to_bits() == v.to_bits());
        assert!(same, "{} differs", p.name);
        n += usize::from(!p.name.starts_with("head."));
    }
    // 52 BatchNorms of 4 tensors and 52 convolutions.
    assert_eq!(n, 52 * 5);
    let x = Tensor::rand(-2f32, 2f32, (2, 3, 64, 48), &dev).unwrap();
    let ya = a.forward_t(std::slice::from_ref(&x), false).unwrap();
    let yb = b.forward_t(&[x], false).unwrap();
    let (ya, yb) = (
        ya.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        yb.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
    );
    assert!(ya.iter().zip(&yb).all(|(u, v)| u.to_bits() == v.to_bits()));
    // The old names are renamed only for MobileNetV2, and the file is recognised as one.
    let (arch, share) = guess_arch(&legacy).unwrap();
    assert_eq!(arch, Arch::MobilenetV2);
    assert!(share > 0.99, "{share}");
}

#[test]
fn the_legacy_mobilenet_v2_into_a_resnet_lists_the_mismatch_and_the_likely_arch() {
    let Some(legacy) = shared("mobilenet_v2-imagenet-features.legacy.pt") else {
        return;
    };
    let e = VisionModel::new(
        Arch::Resnet18,
        2,
        &Pretrained::File(legacy),
        &Device::Cpu,
        0,
    )
    .err()
    .expect("MobileNetV2 weights must not load into a ResNet18")
    .to_string();
    for needle in [
        "mobilenet_v2-imagenet-features.legacy.pt",
        "into resnet18's body",
        "missing (",
        "conv1.weight",
        "unexpected (",
        "features.0.0.weight",
        "looks like mobilenet_v2",
    ] {
        assert!(e.contains(needle), "`{needle}` missing from: {e}");
    }
}
