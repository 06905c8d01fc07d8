//! EfficientNet-B0 and ConvNeXt-Tiny against torchvision and timm
//! (`scripts/reference/efficientnet_convnext_reference.py`): parameter names and shapes, the
//! rename maps from timm's names, evaluation-mode outputs, training-mode gradients, the
//! stochastic-depth rates, and TensorFlow's "same" padding.
//!
//! The weights come from the formula of `vision_reference.py` (`fill`), which the script and
//! these tests share, so no weight file is committed.

use candle_core::{Device, Tensor, Var};
use fastcandle_core::tensor_io::save_safetensors;
use fastcandle_core::{ParamBuilder, ParamStore};
use fastcandle_models::convnext::{ConvNextConfig, convnext_body};
use fastcandle_models::efficientnet::{EfficientNetConfig, drop_path_rates, efficientnet_body};
use fastcandle_models::layers::{Conv2d, Conv2dConfig, Layer, pad_same};
use fastcandle_models::rename::{Rename, load_renamed_into};
use fastcandle_models::weights::hub_file_in;
use fastcandle_models::{Arch, Body};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

mod common;
use common::*;

fn reference() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| {
        serde_json::from_str(include_str!("data/efficientnet_convnext_reference.json")).unwrap()
    })
}

fn reference_keys(name: &str) -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<_> = reference()["keys"][name]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv[0].as_str().unwrap().to_string(), dims(&kv[1])))
        .collect();
    v.sort();
    v
}

fn body_of(arch: Arch, drop_path: bool) -> (ParamStore, Body) {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let body = match arch {
        Arch::EfficientnetB0 => {
            let mut cfg = EfficientNetConfig::B0;
            if !drop_path {
                cfg.stochastic_depth_prob = 0.0;
            }
            efficientnet_body(&pb, &cfg).unwrap()
        }
        Arch::ConvnextTiny => {
            let mut cfg = ConvNextConfig::TINY;
            if !drop_path {
                cfg.stochastic_depth_prob = 0.0;
            }
            convnext_body(&pb, &cfg).unwrap()
        }
        _ => unreachable!(),
    };
    (pb.store().clone(), body)
}

/// The body's names and shapes are torchvision's `features` (its classifier left out).
fn same_names_as_torchvision(arch: Arch) {
    let (store, _) = body_of(arch, true);
    let classifier = arch.spec().classifier;
    let want: Vec<_> = reference_keys(arch.name())
        .into_iter()
        .filter(|(k, _)| !classifier.iter().any(|c| k.starts_with(c)))
        .collect();
    same_keys(arch.name(), &names_and_shapes(&store), &want);
}

#[test]
fn efficientnet_b0_has_torchvisions_names() {
    same_names_as_torchvision(Arch::EfficientnetB0);
}

#[test]
fn convnext_tiny_has_torchvisions_names() {
    same_names_as_torchvision(Arch::ConvnextTiny);
}

/// Every timm key maps to a distinct torchvision key with its shape, and every torchvision key
/// is reached.
fn timm_map_covers_torchvision(arch: Arch) {
    let rename: Rename = arch.spec().hub_rename.unwrap();
    let want: HashMap<String, Vec<usize>> = reference_keys(arch.name()).into_iter().collect();
    let mut reached: HashMap<String, String> = HashMap::new();
    for (timm, shape) in reference_keys(&format!("timm_{}", arch.name())) {
        let t = Tensor::zeros(shape.as_slice(), candle_core::DType::F32, &Device::Cpu).unwrap();
        let (ours, t) = rename(&timm, t).unwrap();
        let Some(s) = want.get(&ours) else {
            panic!("{arch}: timm's {timm} maps to {ours}, which torchvision does not have");
        };
        assert_eq!(t.dims(), s.as_slice(), "{arch}: {timm} -> {ours}: shape");
        if let Some(prev) = reached.insert(ours.clone(), timm.clone()) {
            panic!("{arch}: {prev} and {timm} both map to {ours}");
        }
    }
    let missed: Vec<_> = want.keys().filter(|k| !reached.contains_key(*k)).collect();
    assert!(missed.is_empty(), "{arch}: no timm key maps to {missed:?}");
}

#[test]
fn timm_efficientnet_b0_names_map_onto_torchvisions() {
    timm_map_covers_torchvision(Arch::EfficientnetB0);
}

#[test]
fn timm_convnext_tiny_names_map_onto_torchvisions() {
    timm_map_covers_torchvision(Arch::ConvnextTiny);
}

fn eval_matches(arch: Arch) {
    let (store, body) = body_of(arch, true);
    fill_store(&store);
    let i = &reference()["input"];
    let x = det_input(
        &dims(&i["shape"]),
        i["a"].as_f64().unwrap(),
        i["b"].as_f64().unwrap(),
        i["scale"].as_f64().unwrap(),
    );
    let f = body.forward_t(&x, false).unwrap();
    let err = close_summary(
        &format!("{arch} body"),
        &f,
        &reference()[arch.name()]["body"],
    );
    println!("{arch}: evaluation-mode body relative error {err:.2e}");
}

#[test]
fn efficientnet_b0_matches_torchvision_in_evaluation() {
    eval_matches(Arch::EfficientnetB0);
}

#[test]
fn convnext_tiny_matches_torchvision_in_evaluation() {
    eval_matches(Arch::ConvnextTiny);
}

fn input_from(spec: &Value, shape: &[usize]) -> Tensor {
    let p = floats(spec);
    det_input(shape, p[0], p[1], p[2])
}

/// A training-mode forward and backward of the whole body (stochastic depth off, as in the
/// script): the output, the input's gradient and a few parameters' gradients.
fn train_matches(arch: Arch) {
    let (store, body) = body_of(arch, false);
    fill_store(&store);
    let r = &reference()[format!("{}_train", arch.name())];
    let x = Var::from_tensor(&input_from(&r["x"], &dims(&r["x_shape"]))).unwrap();
    let out = body.forward_t(&x, true).unwrap();
    let mut worst = close_summary(&format!("{arch} out"), &out, &r["out"]);
    let up = input_from(&r["up"], out.dims());
    let grads = (out * up).unwrap().sum_all().unwrap().backward().unwrap();
    worst = worst.max(close_summary(
        &format!("{arch} dx"),
        grads.get(&x).unwrap(),
        &r["dx"],
    ));
    for (name, s) in r["grads"].as_object().unwrap() {
        let g = grads.get(store.get(name).unwrap().tensor()).unwrap();
        worst = worst.max(close_summary(&format!("{arch} d{name}"), g, s));
    }
    println!("{arch} in training: largest relative error {worst:.2e}");
}

#[test]
fn efficientnet_b0_training_gradients_match_pytorch() {
    train_matches(Arch::EfficientnetB0);
}

#[test]
fn convnext_tiny_training_gradients_match_pytorch() {
    train_matches(Arch::ConvnextTiny);
}

#[test]
fn stochastic_depth_rates_are_torchvisions() {
    let want = floats(&reference()["drop_path_efficientnet_b0"]);
    let got = drop_path_rates(EfficientNetConfig::B0.stochastic_depth_prob);
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (g - w).abs() < 1e-12,
            "efficientnet_b0: {got:?} vs {want:?}"
        );
    }
    let want = floats(&reference()["drop_path_convnext_tiny"]);
    let got = ConvNextConfig::TINY.drop_path_rates();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-12, "convnext_tiny: {got:?} vs {want:?}");
    }
}

/// TensorFlow's "same" padding then an unpadded convolution, against PyTorch with an explicit
/// `F.pad`: outputs and the input's gradient, on sizes the stride does not divide.
#[test]
fn tf_same_padding_matches_an_explicit_pad() {
    for case in reference()["tf_same"].as_array().unwrap() {
        let u = |k: &str| case[k].as_u64().unwrap() as usize;
        let (c_in, c_out, k, s, h, w, g) = (
            u("c_in"),
            u("c_out"),
            u("k"),
            u("stride"),
            u("h"),
            u("w"),
            u("groups"),
        );
        let what = format!("{c_in}->{c_out} k{k} s{s} {h}x{w} groups {g}");
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let cfg = Conv2dConfig {
            stride: s,
            groups: g,
            bias: false,
            ..Default::default()
        };
        let conv = Conv2d::new(&pb.pp("tf"), c_in, c_out, k, cfg).unwrap();
        fill_store(pb.store());
        let x = Var::from_tensor(&det_input(&[2, c_in, h, w], 0.13, 0.4, 1.0)).unwrap();
        let y = conv.forward(&pad_same(&x, k, s).unwrap()).unwrap();
        assert_eq!(y.dims(), dims(&case["y_shape"]).as_slice(), "{what}");
        close_all(&format!("{what} y"), &y, &floats(&case["y"]));
        let up = det_input(y.dims(), 0.07, 0.1, 1.0);
        let grads = (y * up).unwrap().sum_all().unwrap().backward().unwrap();
        close_all(
            &format!("{what} dx"),
            grads.get(&x).unwrap(),
            &floats(&case["dx"]),
        );
    }
}

/// timm's EfficientNet-B0 file in the hub cache (timm's names, values from the formula under
/// our names) loads into the body through the rename map, every tensor where it belongs.
#[test]
fn timm_named_hub_weights_load_through_the_rename_map() {
    let arch = Arch::EfficientnetB0;
    let spec = arch.spec();
    let rename = spec.hub_rename.unwrap();
    let mut tensors = Vec::new();
    for (timm, shape) in reference_keys("timm_efficientnet_b0") {
        let zeros = Tensor::zeros(shape.as_slice(), candle_core::DType::F32, &Device::Cpu).unwrap();
        let (ours, _) = rename(&timm, zeros).unwrap();
        let v = fill(&ours, &shape);
        tensors.push((timm, Tensor::from_vec(v, shape, &Device::Cpu).unwrap()));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("w.safetensors");
    save_safetensors(&file, &tensors, None).unwrap();
    let repo = spec.hub_repo.unwrap();
    put_in_cache(dir.path(), repo, "model.safetensors", &file);
    let cache = hf_hub_cache(dir.path());
    let path = hub_file_in(&cache, repo, "model.safetensors", true).unwrap();

    let (store, _) = body_of(arch, true);
    let is_classifier = |k: &str| spec.classifier.iter().any(|c| k.starts_with(c));
    load_renamed_into(&store, &path, rename, is_classifier).unwrap();
    for p in store.all() {
        let want = fill(&p.name, p.tensor().dims());
        let got: Vec<f32> = p.tensor().flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(got, want, "{}", p.name);
    }

    // Without the map, the same file is a strict-load error naming timm's keys.
    let err = fastcandle_models::weights::load_weights_into(&store, &path, is_classifier, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("conv_stem.weight") || err.contains("unexpected"),
        "{err}"
    );
    assert!(
        err.contains("w.safetensors") || err.contains("model.safetensors"),
        "{err}"
    );
}

fn hf_hub_cache(dir: &Path) -> hf_hub::Cache {
    hf_hub::Cache::new(dir.to_path_buf())
}

/// Lays out a file the way the hub cache does (see `tests/pretrained.rs`).
fn put_in_cache(cache: &Path, repo: &str, name: &str, file: &Path) {
    let root = cache.join(format!("models--{}", repo.replace('/', "--")));
    let commit = "0123456789abcdef0123456789abcdef01234567";
    std::fs::create_dir_all(root.join("refs")).unwrap();
    std::fs::write(root.join("refs/main"), commit).unwrap();
    let snap = root.join("snapshots").join(commit);
    std::fs::create_dir_all(&snap).unwrap();
    std::fs::copy(file, snap.join(name)).unwrap();
}

/// Our body with timm's model's weights: every tensor filled by the formula under timm's name
/// and put where the rename map says.
fn filled_through_timm_names(arch: Arch, store: &ParamStore) {
    let rename = arch.spec().hub_rename.unwrap();
    let mut set = 0;
    for (timm, shape) in reference_keys(&format!("timm_{}", arch.name())) {
        let t = Tensor::from_vec(fill(&timm, &shape), shape.as_slice(), &Device::Cpu).unwrap();
        let (ours, t) = rename(&timm, t).unwrap();
        if arch.spec().classifier.iter().any(|c| ours.starts_with(c)) {
            continue;
        }
        store.get(&ours).unwrap().var.set(&t).unwrap();
        set += 1;
    }
    assert_eq!(set, store.len(), "{arch}: every tensor set once");
}

/// timm's own models (filled under timm's names), through the rename maps: the same features.
/// `tf_efficientnet_b0` also checks TensorFlow's BatchNorm eps and "same" padding
/// (`EfficientNetConfig::TF_B0`), which change its output by ~0.4% from `efficientnet_b0`'s.
#[test]
fn timm_models_through_the_rename_maps_give_timms_features() {
    let i = &reference()["input"];
    let x = det_input(
        &dims(&i["shape"]),
        i["a"].as_f64().unwrap(),
        i["b"].as_f64().unwrap(),
        i["scale"].as_f64().unwrap(),
    );
    for (timm, arch) in [
        ("efficientnet_b0", Arch::EfficientnetB0),
        ("tf_efficientnet_b0", Arch::EfficientnetB0),
        ("convnext_tiny", Arch::ConvnextTiny),
    ] {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let body = match timm {
            "efficientnet_b0" => efficientnet_body(&pb, &EfficientNetConfig::B0),
            "tf_efficientnet_b0" => efficientnet_body(&pb, &EfficientNetConfig::TF_B0),
            _ => convnext_body(&pb, &ConvNextConfig::TINY),
        }
        .unwrap();
        filled_through_timm_names(arch, pb.store());
        let f = body.forward_t(&x, false).unwrap();
        let err = close_summary(
            &format!("timm {timm}"),
            &f,
            &reference()["timm"][timm]["body"],
        );
        println!("timm {timm}: features relative error {err:.2e}");
    }
}

/// fastai's U-Net builds on both bodies (skips where the resolution changes; ConvNeXt's stem
/// goes to 1/4 at once) and gives a map of the input's size, forward and backward (in
/// evaluation mode: one 32x32 image leaves one cell a channel to the training BatchNorms).
#[test]
fn a_unet_builds_on_both_bodies() {
    use fastcandle_core::Model;
    for arch in [Arch::EfficientnetB0, Arch::ConvnextTiny] {
        let unet = fastcandle_models::DynamicUnet::new(
            arch,
            3,
            (32, 32),
            &fastcandle_models::Pretrained::No,
            &Device::Cpu,
            0,
        )
        .unwrap();
        let x = det_input(&[1, 3, 32, 32], 0.05, 0.3, 1.0);
        let y = unet.forward_t(&[x], false).unwrap();
        assert_eq!(y.dims(), &[1, 3, 32, 32], "{arch}");
        let grads = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let stem = unet.params().get("features.0.0.weight").unwrap();
        assert!(
            grads.get(stem.tensor()).is_some(),
            "{arch}: no gradient at the stem"
        );
    }
}
