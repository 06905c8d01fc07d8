//! fastai's hooks on a vision model: the stored outputs of named modules, their gradients, and
//! their removal.

use candle_core::{DType, Device, Tensor, Var};
use fastcandle_core::Model;
use fastcandle_core::hooks::{hook_outputs, hook_outputs_with_grad};
use fastcandle_models::layers::Layer;
use fastcandle_models::{Arch, Pretrained, VisionModel};
use fastcandle_testutil::tensor_max_abs_diff as max_diff;

fn model(arch: Arch) -> VisionModel {
    VisionModel::new(arch, 3, &Pretrained::No, &Device::Cpu, 7).unwrap()
}

fn image(seed: f64) -> Tensor {
    Tensor::arange(0f32, (3 * 64 * 64) as f32, &Device::Cpu)
        .unwrap()
        .affine(0.013, seed)
        .unwrap()
        .sin()
        .unwrap()
        .reshape((1, 3, 64, 64))
        .unwrap()
}

#[test]
fn hooked_outputs_are_the_modules_outputs_and_go_when_dropped() {
    let m = model(Arch::Resnet18);
    assert_eq!(
        m.hook_points(),
        [
            "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "head"
        ]
    );
    let x = image(0.0);
    let children = m.body().forward_children(&x, false).unwrap();
    let hooks = {
        let hooked = hook_outputs(&m, ["layer1", "layer4", "head"]).unwrap();
        let logits = m.forward_t(std::slice::from_ref(&x), false).unwrap();
        assert_eq!(
            max_diff(&hooked.stored("layer1").unwrap(), &children[4]),
            0.0
        );
        assert_eq!(
            max_diff(&hooked.stored("layer4").unwrap(), &children[7]),
            0.0
        );
        assert_eq!(max_diff(&hooked.stored("head").unwrap(), &logits), 0.0);
        assert!(hooked.stored("layer2").is_none());
        hooked.hooks().clone()
    };
    // Dropped: another forward stores nothing more.
    let before = hooks.stored("layer4").unwrap();
    m.forward_t(&[image(1.0)], false).unwrap();
    assert_eq!(max_diff(&hooks.stored("layer4").unwrap(), &before), 0.0);

    let mb = model(Arch::MobilenetV2);
    assert_eq!(mb.hook_points()[3], "features.3");
    assert_eq!(mb.hook_points().len(), 20);
}

#[test]
fn an_unknown_module_is_an_error_naming_the_known_ones() {
    let m = model(Arch::Resnet18);
    let e = hook_outputs(&m, ["layer9"]).err().unwrap().to_string();
    assert!(
        e.contains("layer9") && e.contains("layer4") && e.contains("head"),
        "{e}"
    );
}

#[test]
fn gradients_of_hooked_outputs_are_the_heads_gradients() {
    let m = model(Arch::Resnet18);
    let x = image(0.5);
    let hooked = hook_outputs_with_grad(&m, ["layer4"]).unwrap();
    let logits = m.forward_t(std::slice::from_ref(&x), false).unwrap();
    let score = logits.get(0).unwrap().get(1).unwrap();
    let grads = score.backward().unwrap();
    let g = hooked.grad("layer4", &grads).unwrap();
    // The same gradient straight through the head from the body's output.
    let a = Var::from_tensor(&hooked.stored("layer4").unwrap().detach()).unwrap();
    let s = m.head().forward_t(a.as_tensor(), false).unwrap();
    let direct = s.get(0).unwrap().get(1).unwrap().backward().unwrap();
    let want = direct.get(a.as_tensor()).unwrap();
    assert_eq!(g.dims(), want.dims());
    assert!(max_diff(&g, want) < 1e-6);
    assert!(
        g.to_dtype(DType::F32)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 0.0
    );
    // Detached by default: no gradient.
    drop(hooked);
    let plain = hook_outputs(&m, ["layer4"]).unwrap();
    let logits = m.forward_t(&[x], false).unwrap();
    let grads = logits.sum_all().unwrap().backward().unwrap();
    assert!(plain.grad("layer4", &grads).is_none());
}

#[test]
fn a_hook_changes_no_gradient_of_the_layers_below() {
    use fastcandle_core::grad::no_grad;
    let m = model(Arch::Resnet18);
    let x = image(0.25);
    let grads_of = |m: &VisionModel| {
        let y = m.forward_t(std::slice::from_ref(&x), true).unwrap();
        let g = y.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let w = m.params().get("conv1.weight").unwrap();
        g.get(w.tensor()).unwrap().clone()
    };
    let plain = grads_of(&m);
    for hooks in [
        hook_outputs(&m, ["layer1", "layer4"]).unwrap(),
        hook_outputs_with_grad(&m, ["layer1", "layer4"]).unwrap(),
    ] {
        let hooked = grads_of(&m);
        assert!(max_diff(&plain, &hooked) < 1e-6, "a hook cut the gradient");
        drop(hooks);
    }
    let _ = no_grad(|| m.forward_t(std::slice::from_ref(&x), false)).unwrap();
}
