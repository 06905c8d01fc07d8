//! DynamicUnet against fastai's own (`scripts/reference/unet_reference.py`): the names and
//! shapes of every tensor, evaluation-mode outputs at the layout size and at a size not
//! divisible by 32, and a training-mode forward and backward (against float64, within what
//! PyTorch's own float32 achieves), with the weights of the shared formula (`fill`). Also the output size for ResNet34 encoders on the sizes the issue names.

use candle_core::{Device, Tensor, Var};
use fastcandle_core::{Model, ParamBuilder};
use fastcandle_models::resnet::resnet_body;
use fastcandle_models::{Arch, DynamicUnet, Pretrained, ResNetConfig};
use serde_json::Value;
use std::sync::OnceLock;

mod common;
use common::*;

fn reference() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| serde_json::from_str(include_str!("data/unet_reference.json")).unwrap())
}

/// fastai's `DynamicUnet(create_body(resnet18(), cut=-2), 5, (64, 96))`, filled by the formula.
fn resnet18_unet() -> DynamicUnet {
    let pb = ParamBuilder::new(&Device::Cpu, 0);
    let body = resnet_body(&pb, &ResNetConfig::RESNET18).unwrap();
    let unet = DynamicUnet::on_body(&pb, body, 5, (64, 96)).unwrap();
    fill_store(unet.params());
    unet
}

#[test]
fn names_and_shapes_are_fastais() {
    let unet = resnet18_unet();
    let want: Vec<(String, Vec<usize>)> = reference()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|kv| !kv[0].as_str().unwrap().ends_with("num_batches_tracked"))
        .map(|kv| (kv[0].as_str().unwrap().to_string(), dims(&kv[1])))
        .collect();
    let mut want = want;
    want.sort();
    same_keys("resnet18 unet", &names_and_shapes(unet.params()), &want);
    assert_eq!(
        unet.blocks().len() as u64,
        reference()["n_blocks"].as_u64().unwrap()
    );
    // The skips of a ResNet: layer3, layer2, layer1 and the stem's ReLU (fastai's indices).
    assert_eq!(unet.skip_indices(), [6, 5, 4, 2]);
}

#[test]
fn evaluation_outputs_match_fastai() {
    let unet = resnet18_unet();
    for key in ["eval_64x96", "eval_50x70"] {
        let r = &reference()[key];
        let x = det_input(&dims(&r["input"]), 0.05, 0.3, 1.5);
        let y = unet.forward_t(&[x], false).unwrap();
        let err = close_summary(key, &y, &r["output"]);
        println!("{key}: relative error {err:.2e}");
    }
}

#[test]
fn training_forward_and_gradients_match_fastai() {
    // Both convolution paths: direct products, then Winograd's F(2x2, 3x3) (the default).
    // The switch is process-wide; the other tests here pass on either path.
    fastcandle_core::ops::set_winograd(false);
    // With the composed forms forced (`FASTCANDLE_GENERIC_OPS=1`, what a GPU computes), the
    // BatchNorm statistics and their gradient are reduced in float32, as cuDNN's are, where
    // the CPU kernel (and PyTorch's CPU BatchNorm) accumulates in float64: the same chain
    // amplifies that as it does Winograd's rounding (1.1e-4 on one decoder weight here; 3e-4
    // at most with the reductions done in float64 instead, tried), so the floor is Winograd's.
    let direct_floor = if fastcandle_core::ops::generic_forced() {
        2.0e-3
    } else {
        1.0e-4
    };
    check_training(direct_floor);
    fastcandle_core::ops::set_winograd(true);
    // Winograd's output agrees with the direct product to ~2e-6 relative, float32's own level;
    // the chain below amplifies that as it does PyTorch's float32 (up to 1.5e-1 here), so the
    // floor rises to 2e-3 on that path.
    check_training(2.0e-3);
}

/// The U-Net's training forward, gradients and running statistics against the float64
/// reference, gradients within 4 times PyTorch's own float32 error or `floor`.
fn check_training(floor: f64) {
    let unet = resnet18_unet();
    let r = &reference()["train_64x96"];
    let x = Var::from_tensor(&det_input(&dims(&r["input"]), 0.031, 0.7, 1.5)).unwrap();
    let y = unet.forward_t(&[x.as_tensor().clone()], true).unwrap();
    let mut worst = close_summary("train output", &y, &r["output"]);
    let up = det_input(y.dims(), 0.017, 0.2, 1.0);
    let grads = (y * up).unwrap().sum_all().unwrap().backward().unwrap();
    // The reference is float64. Deep in the network the gradients cancel (training
    // BatchNorm over 12 values per channel at the bottleneck), and PyTorch's own float32 strays
    // from it by `torch_f32_err`: allow 4 times that, and `floor` where it is smaller.
    for (name, s) in r["grads"].as_object().unwrap() {
        let p = unet.params().get(name).unwrap_or_else(|| panic!("{name}"));
        let g = grads
            .get(p.tensor())
            .unwrap_or_else(|| panic!("no grad {name}"));
        let tol = (4.0 * s["torch_f32_err"].as_f64().unwrap()).max(floor.max(TOL));
        let e = close_summary_tol(&format!("d{name}"), g, s, tol);
        println!(
            "d{name}: relative error {e:.2e} (PyTorch float32: {:.2e})",
            s["torch_f32_err"].as_f64().unwrap()
        );
    }
    for (name, s) in r["running"].as_object().unwrap() {
        let p = unet.params().get(name).unwrap_or_else(|| panic!("{name}"));
        worst = worst.max(close_summary(name, p.tensor(), s));
    }
    println!("training: largest relative error {worst:.2e}");
}

#[test]
fn resnet34_unet_output_has_the_input_size() {
    let dev = Device::Cpu;
    let unet = DynamicUnet::new(Arch::Resnet34, 3, (96, 128), &Pretrained::No, &dev, 0).unwrap();
    for (h, w) in [(96, 128), (128, 128), (100, 130)] {
        let x = Tensor::zeros((1, 3, h, w), candle_core::DType::F32, &dev).unwrap();
        let y = unet.forward_t(&[x], false).unwrap();
        assert_eq!(y.dims(), [1, 3, h, w], "{h}x{w}");
    }
    // Encoder in groups 0 and 1, decoder in group 2.
    let groups: Vec<usize> = unet.params().all().iter().map(|p| p.group).collect();
    assert_eq!(unet.params().n_groups(), 3);
    assert!(
        unet.params()
            .all()
            .iter()
            .all(|p| (p.group == 2) == p.name.starts_with("decoder."))
    );
    assert!(groups.contains(&0) && groups.contains(&1));
}

#[test]
fn a_unet_needs_an_image_size_and_classes() {
    let dev = Device::Cpu;
    for (size, n_out) in [((1, 64), 3), ((64, 64), 0)] {
        let e = DynamicUnet::new(Arch::Resnet18, n_out, size, &Pretrained::No, &dev, 0);
        assert!(e.is_err(), "{size:?} {n_out}");
    }
}
