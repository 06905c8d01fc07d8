//! ResNet18/34/50, MobileNetV2 and fastai's head against PyTorch, torchvision and fastai
//! (`scripts/reference/vision_reference.py`): parameter names and shapes, evaluation-mode
//! outputs, and training-mode gradients.
//!
//! The ResNets' weights come from a formula that the script and these tests share (`fill`), so
//! no weight file is committed for them; MobileNetV2's evaluation test uses the real ImageNet
//! weights committed in `datasets/weights`, so it runs in every clone.

use candle_core::{Device, Tensor, Var};
use fastcandle_core::{Model, ParamBuilder, ParamStore};
use fastcandle_models::layers::{BatchNorm, Conv2d, Conv2dConfig, Layer, MaxPool2d};
use fastcandle_models::mobilenet_v2::mobilenet_v2_body;
use fastcandle_models::resnet::resnet_body;
use fastcandle_models::{Arch, Body, Pretrained, ResNet, ResNetConfig, VisionModel};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

mod common;
use common::*;

/// The repository's copy of the weights the script reads (`datasets/weights`).
const MOBILENET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../datasets/weights/mobilenet_v2-imagenet-features.safetensors"
);

fn reference() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| serde_json::from_str(include_str!("data/vision_reference.json")).unwrap())
}

fn input_from(spec: &Value, shape: &[usize]) -> Tensor {
    let p: Vec<f64> = spec
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    det_input(shape, p[0], p[1], p[2])
}

fn image_batch() -> Tensor {
    let i = &reference()["input"];
    det_input(
        &dims(&i["shape"]),
        i["a"].as_f64().unwrap(),
        i["b"].as_f64().unwrap(),
        i["scale"].as_f64().unwrap(),
    )
}

fn reference_keys(arch: &str) -> Vec<(String, Vec<usize>)> {
    let mut v: Vec<_> = reference()["keys"][arch]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| (kv[0].as_str().unwrap().to_string(), dims(&kv[1])))
        .collect();
    v.sort();
    v
}

fn resnet_matches(name: &str, cfg: &ResNetConfig) {
    let dev = Device::Cpu;
    let m = ResNet::new(cfg, 10, &dev, 0).unwrap();
    same_keys(name, &names_and_shapes(m.params()), &reference_keys(name));
    fill_store(m.params());
    let x = image_batch();
    let r = &reference()[name];
    let f = m.body().forward_t(&x, false).unwrap();
    let e_body = close_summary(&format!("{name} body"), &f, &r["body"]);
    let logits = m.forward_t(&[x], false).unwrap();
    let e_logits = close_all(&format!("{name} logits"), &logits, &floats(&r["logits"]));
    println!("{name}: body relative error {e_body:.2e}, logits {e_logits:.2e}");
}

#[test]
fn resnet18_matches_torchvision() {
    resnet_matches("resnet18", &ResNetConfig::RESNET18);
}

#[test]
fn resnet34_matches_torchvision() {
    resnet_matches("resnet34", &ResNetConfig::RESNET34);
}

#[test]
fn resnet50_matches_torchvision() {
    resnet_matches("resnet50", &ResNetConfig::RESNET50);
}

#[test]
fn fastai_head_on_resnet18_matches_fastai() {
    let r = &reference()["resnet18_fastai_head"];
    let n_out = r["n_out"].as_u64().unwrap() as usize;
    let m = VisionModel::new(Arch::Resnet18, n_out, &Pretrained::No, &Device::Cpu, 0).unwrap();
    fill_store(m.params());
    let y = m.forward_t(&[image_batch()], false).unwrap();
    assert_eq!(y.dims(), &[2, n_out]);
    let e = close_all("fastai head", &y, &floats(&r["output"]));
    println!("resnet18 + fastai head: relative error {e:.2e}");
    // Three layer groups: stem to layer2, layer3 and layer4, the head.
    assert_eq!(m.n_groups(), 3);
    let group_of = |n: &str| m.params().get(n).unwrap().group;
    assert_eq!(group_of("conv1.weight"), 0);
    assert_eq!(group_of("layer2.1.bn2.weight"), 0);
    assert_eq!(group_of("layer3.0.conv1.weight"), 1);
    assert_eq!(group_of("layer4.1.bn2.running_var"), 1);
    assert_eq!(group_of("head.lin2.weight"), 2);
}

#[test]
fn conv_bn_relu_maxpool_gradients_match_pytorch() {
    let r = &reference()["stem_grads"];
    let dev = Device::Cpu;
    let pb = ParamBuilder::new(&dev, 0);
    let cfg = Conv2dConfig {
        stride: 2,
        padding: 3,
        bias: false,
        ..Default::default()
    };
    let conv = Conv2d::new(&pb.pp("conv1"), 3, 8, 7, cfg).unwrap();
    let bn = BatchNorm::new(&pb.pp("bn1"), 8).unwrap();
    fill_store(pb.store());
    let x = Var::from_tensor(&input_from(&r["x"], &dims(&r["x_shape"]))).unwrap();
    let y = bn.forward_t(&conv.forward(&x).unwrap(), true).unwrap();
    let y = MaxPool2d::new(3, 2, 1)
        .forward_t(&y.relu().unwrap(), true)
        .unwrap();
    assert_eq!(y.dims(), dims(&r["y_shape"]).as_slice());
    let up = input_from(&r["up"], y.dims());
    let mut worst = close_all("stem y", &y, &floats(&r["y"]));
    let grads = (y * up).unwrap().sum_all().unwrap().backward().unwrap();
    worst = worst.max(close_all(
        "stem dx",
        grads.get(&x).unwrap(),
        &floats(&r["dx"]),
    ));
    let store = pb.store();
    for name in ["conv1.weight", "bn1.weight", "bn1.bias"] {
        let g = grads.get(store.get(name).unwrap().tensor()).unwrap();
        worst = worst.max(close_all(name, g, &floats(&r[name])));
    }
    for name in ["bn1.running_mean", "bn1.running_var"] {
        worst = worst.max(close_all(
            name,
            store.get(name).unwrap().tensor(),
            &floats(&r[name]),
        ));
    }
    println!("conv-BN-ReLU-maxpool: largest relative error {worst:.2e}");
}

/// A training-mode forward and backward of a body (or of its first `children` children, as
/// the reference says) against the script's summaries.
fn train_matches(what: &str, r: &Value, store: &ParamStore, body: &Body) {
    let x = Var::from_tensor(&input_from(&r["x"], &dims(&r["x_shape"]))).unwrap();
    let out = match r.get("children").and_then(Value::as_u64) {
        Some(k) => body.forward_children(&x, true).unwrap()[k as usize - 1].clone(),
        None => body.forward_t(&x, true).unwrap(),
    };
    let mut worst = close_summary(&format!("{what} out"), &out, &r["out"]);
    let up = input_from(&r["up"], out.dims());
    let grads = (out * up).unwrap().sum_all().unwrap().backward().unwrap();
    worst = worst.max(close_summary(
        &format!("{what} dx"),
        grads.get(&x).unwrap(),
        &r["dx"],
    ));
    for (k, s) in r["grads"].as_object().unwrap() {
        let name = r["names"][k].as_str().unwrap();
        let g = grads.get(store.get(name).unwrap().tensor()).unwrap();
        worst = worst.max(close_summary(&format!("{what} d{name}"), g, s));
    }
    println!("{what} in training: largest relative error {worst:.2e}");
}

#[test]
fn resnet18_training_gradients_match_pytorch() {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let body = resnet_body(&pb, &ResNetConfig::RESNET18).unwrap();
    fill_store(pb.store());
    train_matches(
        "resnet18 body",
        &reference()["resnet18_train"],
        pb.store(),
        &body,
    );
}

/// The repository's MobileNetV2 weights (committed: missing, the clone is incomplete).
fn mobilenet_weights() -> PathBuf {
    let p = PathBuf::from(MOBILENET);
    assert!(
        p.exists(),
        "{MOBILENET} is missing: it is committed in datasets/weights (an incomplete clone?)"
    );
    p
}

#[test]
fn mobilenet_v2_with_imagenet_weights_matches_torchvision() {
    let path = mobilenet_weights();
    let dev = Device::Cpu;
    let m = VisionModel::new(Arch::MobilenetV2, 2, &Pretrained::File(path), &dev, 0).unwrap();
    let body_names: Vec<_> = names_and_shapes(m.params())
        .into_iter()
        .filter(|(n, _)| !n.starts_with("head."))
        .collect();
    same_keys("mobilenet_v2", &body_names, &reference_keys("mobilenet_v2"));
    let f = m.body().forward_t(&image_batch(), false).unwrap();
    let e = close_summary(
        "mobilenet_v2 features",
        &f,
        &reference()["mobilenet_v2"]["body"],
    );
    println!("mobilenet_v2 features: relative error {e:.2e}");
    let group_of = |n: &str| m.params().get(n).unwrap().group;
    assert_eq!(group_of("features.6.conv.3.weight"), 0);
    assert_eq!(group_of("features.7.conv.0.0.weight"), 1);
    assert_eq!(group_of("features.18.1.bias"), 1);
    assert_eq!(group_of("head.bn1.weight"), 2);
}

#[test]
fn mobilenet_v2_training_gradients_match_pytorch() {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let body = mobilenet_v2_body(&pb).unwrap();
    fill_store(pb.store());
    train_matches(
        "mobilenet_v2 features[:7]",
        &reference()["mobilenet_v2_train"],
        pb.store(),
        &body,
    );
}
