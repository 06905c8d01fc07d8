//! Class activation maps (fastbook chapter 18): where in an image a vision model finds a class.
//!
//! - [`grad_cam`]: Grad-CAM on any hooked module: the module's output, each channel weighted
//!   by the mean gradient of the class's score over it, summed over the channels.
//! - [`class_activation_map`]: fastbook's CAM: the last linear layer's weights for the class
//!   applied to the body's output, position by position (needs a head whose last layer takes as
//!   many features as the body gives, as ResNet18/34's 512 under fastai's default head).
//!
//! Both give the map as fastbook computes it, before any ReLU: [`ClassMap::positive`] keeps
//! what speaks for the class, the Grad-CAM paper's ReLU.

use crate::vision::VisionModel;
use candle_core::{DType, Tensor};
use fastcandle_core::hooks::hook_outputs_with_grad;
use fastcandle_core::{Error, Model, Result};

/// A class activation map of one image.
#[derive(Debug, Clone)]
pub struct ClassMap {
    /// The class the map is for.
    pub class: usize,
    /// The model's outputs for the image (before softmax).
    pub logits: Vec<f32>,
    /// The map, `[h, w]` at the module's resolution, row by row (`map[y * w + x]`).
    pub map: Vec<f32>,
    /// The map's height.
    pub height: usize,
    /// The map's width.
    pub width: usize,
}

impl ClassMap {
    /// The map with its negative values set to 0 (the Grad-CAM paper's ReLU): the evidence
    /// for the class.
    pub fn positive(&self) -> Vec<f32> {
        self.map.iter().map(|v| v.max(0.0)).collect()
    }

    /// The predicted class (the largest output).
    pub fn predicted(&self) -> usize {
        self.logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
            .unwrap_or(0)
    }
}

/// Grad-CAM (fastbook chapter 18) of `model` for the single image `x` (`[1, 3, H, W]`,
/// normalised as the model was trained), class `class`, at the module `layer` (a name of
/// [`Model::hook_points`]; fastbook uses the body's output, `layer4` for a ResNet): the
/// module's output `A` (`[k, h, w]`) and the gradient `G` of the class's output with respect to
/// it; the map is `sum_k mean_hw(G_k) * A_k`. Runs in evaluation mode.
pub fn grad_cam(model: &VisionModel, x: &Tensor, class: usize, layer: &str) -> Result<ClassMap> {
    check_input(model, x, class)?;
    let hooked = hook_outputs_with_grad(model, [layer])?;
    let logits = model.forward_t(std::slice::from_ref(x), false)?;
    let score = logits.get(0)?.get(class)?;
    let grads = score.backward()?;
    let act = hooked
        .stored(layer)
        .ok_or_else(|| bad(layer, "stored no output"))?;
    let grad = hooked
        .grad(layer, &grads)
        .ok_or_else(|| bad(layer, "the class's output does not depend on it"))?;
    let (_, _, h, w) = act.dims4().map_err(|_| {
        bad(
            layer,
            &format!("output {:?} is not [1, C, H, W]", act.dims()),
        )
    })?;
    let weights = grad.get(0)?.mean_keepdim(2)?.mean_keepdim(1)?; // [k, 1, 1]
    let map = act.get(0)?.broadcast_mul(&weights)?.sum(0)?; // [h, w]
    finish(class, &logits, &map, h, w)
}

/// fastbook's CAM of `model` for the single image `x` and class `class`: the weights of the
/// head's last linear layer for the class (`[k]`) applied to the body's output (`[k, h, w]`),
/// `sum_k W[class, k] * A_k`. fastbook reads it off a ResNet34 under fastai's head, whose last
/// layer takes 512 features as the body gives 512 channels; another pairing is an error.
pub fn class_activation_map(model: &VisionModel, x: &Tensor, class: usize) -> Result<ClassMap> {
    check_input(model, x, class)?;
    let weight = last_linear_weight(model)?; // [n_out, k]
    let feats = model.body().forward_children(x, false)?;
    let act = feats
        .last()
        .ok_or_else(|| bad("body", "has no layer"))?
        .get(0)?; // [k, h, w]
    let (k, h, w) = act.dims3()?;
    if weight.dim(1)? != k {
        return Err(bad(
            "head",
            &format!(
                "CAM needs the head's last layer to take the body's {k} channels, it takes {}; \
                 use grad_cam",
                weight.dim(1)?
            ),
        ));
    }
    let row = weight.get(class)?.reshape((k, 1, 1))?;
    let map = act.broadcast_mul(&row)?.sum(0)?;
    let logits = model.forward_t(std::slice::from_ref(x), false)?;
    finish(class, &logits, &map, h, w)
}

/// The weight of the head's last linear layer (`head.linN.weight` with the largest `N`).
fn last_linear_weight(model: &VisionModel) -> Result<Tensor> {
    let number = |name: &str| -> Option<usize> {
        name.strip_prefix("head.lin")?
            .strip_suffix(".weight")?
            .parse()
            .ok()
    };
    model
        .params()
        .all()
        .into_iter()
        .filter_map(|p| number(&p.name).map(|n| (n, p)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, p)| p.tensor().to_dtype(DType::F32))
        .transpose()?
        .ok_or_else(|| bad("head", "has no linear layer"))
}

/// Checks the image is one `[1, 3, H, W]` batch and the class one of the outputs.
fn check_input(model: &VisionModel, x: &Tensor, class: usize) -> Result<()> {
    match x.dims() {
        [1, _, _, _] => {}
        d => {
            return Err(bad(
                "image",
                &format!("a map needs one image [1, 3, H, W], got {d:?}"),
            ));
        }
    }
    let n_out = model.n_out();
    if class >= n_out {
        return Err(bad(
            "class",
            &format!("class {class} asked for, the model has {n_out} outputs"),
        ));
    }
    Ok(())
}

fn finish(class: usize, logits: &Tensor, map: &Tensor, h: usize, w: usize) -> Result<ClassMap> {
    Ok(ClassMap {
        class,
        logits: logits.get(0)?.to_dtype(DType::F32)?.to_vec1()?,
        map: map.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?,
        height: h,
        width: w,
    })
}

fn bad(name: &str, reason: &str) -> Error {
    Error::BadTensor {
        name: name.to_string(),
        reason: reason.to_string(),
    }
}
