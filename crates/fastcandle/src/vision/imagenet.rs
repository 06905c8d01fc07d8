//! `imagenet_classifier`: a torchvision architecture with its own ImageNet classifier (the
//! `fc` or `classifier` weights of a full checkpoint, which `vision_learner` leaves out), that
//! names what a photo shows among the 1000 ImageNet classes, with torchvision's preprocessing.
//!
//! ```no_run
//! # use fastcandle::vision::prelude::*;
//! # fn main() -> fastcandle::Result<()> {
//! let model = imagenet_classifier(Arch::Resnet18, Pretrained::File("resnet18.safetensors".into()))?;
//! for c in model.predict("photo.jpg")? {
//!     println!("{:>6.2}%  {}", 100.0 * c.prob, c.name);
//! }
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use candle_core::{DType, Device, Tensor};
use fastcandle_core::grad::no_grad;
use fastcandle_core::{DeviceChoice, Model, ParamBuilder, ParamStore};
use fastcandle_data::vision::{
    Image, ItemTransform, Normalize, PadMode, TestImages, crop_pad, resample,
};
use fastcandle_models::layers::Linear;
use fastcandle_models::weights::hub_file;
use fastcandle_models::{Arch, Body, Pretrained};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// torchvision's `weights.meta["categories"]`: the 1000 ImageNet class names, one a line in
/// class order (written by `scripts/imagenet_classes.py`).
const CLASSES_TXT: &str = include_str!("../../../../datasets/imagenet_classes.txt");

/// The number of ImageNet classes.
pub const N_IMAGENET_CLASSES: usize = 1000;

/// The 1000 ImageNet class names in class order, as torchvision names them
/// (`imagenet_classes()[0] == "tench"`).
pub fn imagenet_classes() -> &'static [&'static str] {
    static CLASSES: OnceLock<Vec<&'static str>> = OnceLock::new();
    CLASSES.get_or_init(|| CLASSES_TXT.lines().collect())
}

/// The name torchvision gives `arch`'s ImageNet classifier (a linear layer on the pooled
/// features), or `None` for an architecture without one.
fn classifier_name(arch: Arch) -> Option<&'static str> {
    match arch {
        Arch::Resnet18 | Arch::Resnet34 | Arch::Resnet50 => Some("fc"),
        Arch::MobilenetV2 => Some("classifier.1"),
        // One line here per architecture trained on ImageNet.
        _ => None,
    }
}

/// One class of an ImageNet prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassProb {
    /// The class index (0 to 999).
    pub index: usize,
    /// The class name (`tabby`, `golden retriever`).
    pub name: String,
    /// The probability (soft-max of the logits).
    pub prob: f32,
}

/// torchvision's ImageNet evaluation preprocessing as an item transform: `Resize(resize)` (the
/// short side to `resize`, the long side `int(resize * long / short)`, bilinear as Pillow's),
/// then `CenterCrop(crop)` (offsets `round((size - crop) / 2)`, rounding half to even as
/// Python does). Normalisation is the loader's (ImageNet's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResizeCenterCrop {
    /// The short side after resizing (torchvision: 256).
    pub resize: usize,
    /// The side of the square centre crop (torchvision: 224).
    pub crop: usize,
}

impl Default for ResizeCenterCrop {
    /// torchvision's `Resize(256)`, `CenterCrop(224)`.
    fn default() -> Self {
        Self {
            resize: 256,
            crop: 224,
        }
    }
}

impl ItemTransform for ResizeCenterCrop {
    fn apply(
        &self,
        img: &Image,
        _train: bool,
        _rng: &mut fastcandle_core::SeededRng,
    ) -> fastcandle_data::Result<Image> {
        let (w, h) = (img.width(), img.height());
        let s = self.resize;
        let long = |l: usize, short: usize| (s as f64 * l as f64 / short as f64) as usize;
        let (nw, nh) = if w <= h {
            (s, long(h, w))
        } else {
            (long(w, h), s)
        };
        let r = resample(
            img,
            nw,
            nh,
            fastcandle_data::vision::Interpolation::Bilinear,
        )?;
        let offset = |n: usize| ((n as f64 - self.crop as f64) / 2.0).round_ties_even() as i64;
        Ok(crop_pad(
            &r,
            offset(nw),
            offset(nh),
            self.crop,
            self.crop,
            PadMode::Zeros,
        ))
    }

    fn output_size(&self) -> Option<(usize, usize)> {
        Some((self.crop, self.crop))
    }
}

/// A torchvision classifier with its ImageNet weights: the body (`arch`'s, with torchvision's
/// names), global average pooling, and the classifier layer (`fc` for a ResNet,
/// `classifier.1` for MobileNetV2; 1000 outputs). Made by [`imagenet_classifier`].
///
/// Input: one `f32` batch `[N, 3, H, W]` normalised with ImageNet statistics; output: the
/// logits `[N, 1000]`.
pub struct ImagenetClassifier {
    arch: Arch,
    body: Body,
    fc: Linear,
    params: ParamStore,
    device: Device,
}

/// The ImageNet classifier of `arch` with the weights of `pretrained` (a file or the hub; a
/// full checkpoint, classifier included), on the best device (see [`DeviceChoice::Auto`]).
/// `Pretrained::No`, an architecture without an ImageNet classifier, or a checkpoint without
/// the classifier's weights (a features-only file) is an error; the last names the missing
/// keys and the file.
pub fn imagenet_classifier(arch: Arch, pretrained: Pretrained) -> Result<ImagenetClassifier> {
    ImagenetClassifier::new(arch, &pretrained, DeviceChoice::Auto)
}

impl ImagenetClassifier {
    /// [`imagenet_classifier`] on `device`.
    pub fn new(arch: Arch, pretrained: &Pretrained, device: DeviceChoice) -> Result<Self> {
        let fc_name = classifier_name(arch).ok_or_else(|| {
            Error::Invalid(format!(
                "imagenet_classifier: no ImageNet classifier is known for {arch}"
            ))
        })?;
        let path = weights_path(arch, pretrained)?;
        let device = device.device()?;
        let pb = ParamBuilder::new(&device, 0);
        let body = (arch.spec().body)(&pb)?;
        let fc = Linear::new(
            &pb.group(2).pp(fc_name),
            body.out_channels(),
            N_IMAGENET_CLASSES,
            true,
        )?;
        let params = pb.store().clone();
        load_checkpoint(&params, &path, arch, fc_name, &device)?;
        Ok(Self {
            arch,
            body,
            fc,
            params,
            device,
        })
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The top 5 classes of the photo at `path`, most probable first.
    pub fn predict(&self, path: impl AsRef<Path>) -> Result<Vec<ClassProb>> {
        self.predict_top_k(path, 5)
    }

    /// The `k` most probable classes of the photo at `path` (torchvision's preprocessing:
    /// [`ResizeCenterCrop::default`] and ImageNet's normalisation), most probable first. An
    /// image that cannot be read is an error naming it.
    pub fn predict_top_k(&self, path: impl AsRef<Path>, k: usize) -> Result<Vec<ClassProb>> {
        let path = path.as_ref();
        let images = self.test_dl(vec![path.to_path_buf()])?;
        let probs = fastcandle_core::threads::run_in_pool(|| -> Result<Vec<f32>> {
            let batch = images.batches().next().ok_or_else(|| Error::File {
                path: path.display().to_string(),
                reason: "the image gave no batch".into(),
            })??;
            let logits = no_grad(|| self.forward_t(&batch.xs, false))?;
            let probs = candle_nn::ops::softmax_last_dim(&logits.to_dtype(DType::F32)?)?;
            Ok(probs.to_device(&Device::Cpu)?.squeeze(0)?.to_vec1()?)
        })?;
        Ok(top_k(&probs, k))
    }

    /// `paths` preprocessed as torchvision does for ImageNet evaluation, in batches of 32,
    /// for [`Model::forward_t`].
    pub fn test_dl(&self, paths: Vec<PathBuf>) -> Result<TestImages> {
        Ok(TestImages::new(
            paths,
            vec![Arc::new(ResizeCenterCrop::default())],
            Some(Normalize::imagenet()),
            32,
            self.device.clone(),
        )?)
    }
}

/// The `k` largest of `probs` with their class names, largest first (ties: the lower index).
fn top_k(probs: &[f32], k: usize) -> Vec<ClassProb> {
    let mut idx: Vec<usize> = (0..probs.len()).collect();
    idx.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
    let names = imagenet_classes();
    idx.into_iter()
        .take(k)
        .map(|index| ClassProb {
            index,
            name: names.get(index).copied().unwrap_or_default().to_string(),
            prob: probs[index],
        })
        .collect()
}

/// The checkpoint `pretrained` names for `arch`.
fn weights_path(arch: Arch, pretrained: &Pretrained) -> Result<PathBuf> {
    match pretrained {
        Pretrained::File(p) => Ok(p.clone()),
        Pretrained::Hub => match arch.spec().hub_repo {
            Some(repo) => Ok(hub_file(repo, "model.safetensors")?),
            None => Err(Error::Invalid(format!(
                "imagenet_classifier: no ImageNet weights on the Hugging Face hub are known for \
                 {arch}; give Pretrained::File"
            ))),
        },
        Pretrained::No => Err(Error::Invalid(
            "imagenet_classifier: an ImageNet classifier needs trained weights; give \
             Pretrained::File (a full torchvision checkpoint) or Pretrained::Hub"
                .into(),
        )),
    }
}

/// Loads the checkpoint at `path` into `params` (`arch`'s) strictly (BatchNorm's
/// `num_batches_tracked` counters left out), after checking that it holds the classifier
/// `fc_name`; a mismatch says which architecture the file looks like.
fn load_checkpoint(
    params: &ParamStore,
    path: &Path,
    arch: Arch,
    fc_name: &str,
    device: &Device,
) -> Result<()> {
    let file_err = |reason: String| Error::File {
        path: path.display().to_string(),
        reason,
    };
    let (tensors, _) = fastcandle_core::tensor_io::load_safetensors(path, device)?;
    let missing: Vec<String> = ["weight", "bias"]
        .iter()
        .map(|k| format!("{fc_name}.{k}"))
        .filter(|k| !tensors.contains_key(k))
        .collect();
    if !missing.is_empty() {
        return Err(file_err(format!(
            "the checkpoint has no ImageNet classifier: missing {} (a features-only checkpoint, \
             such as one made for vision_learner, cannot name ImageNet classes)",
            missing.join(", ")
        )));
    }
    let tensors: HashMap<String, Tensor> = tensors
        .into_iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .collect();
    params.load_state_dict(&tensors, true).map_err(|e| {
        let looks_like = fastcandle_models::guess_arch(path)
            .filter(|(a, _)| *a != arch)
            .map(|(a, share)| {
                format!(
                    "\n  the file looks like {a} weights ({:.0}% of its keys are {a}'s)",
                    share * 100.0
                )
            })
            .unwrap_or_default();
        file_err(format!("{e}{looks_like}"))
    })
}

impl Model for ImagenetClassifier {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> fastcandle_core::Result<Tensor> {
        let [x] = xs else {
            return Err(fastcandle_core::Error::BadTensor {
                name: "ImageNet classifier inputs".into(),
                reason: format!("expected one image batch, got {} tensors", xs.len()),
            });
        };
        use fastcandle_models::layers::Layer;
        let f = self.body.forward_t(x, train)?;
        let pooled = fastcandle_core::ops::adaptive_avg_pool2d(&f, (1, 1))?.flatten_from(1)?;
        self.fc.forward(&pooled)
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_names_are_torchvisions() {
        let c = imagenet_classes();
        assert_eq!(c.len(), N_IMAGENET_CLASSES);
        assert_eq!(
            (c[0], c[1], c[281], c[999]),
            ("tench", "goldfish", "tabby", "toilet tissue")
        );
    }

    #[test]
    fn top_k_is_sorted_and_named() {
        let mut p = vec![0.0f32; 1000];
        p[281] = 0.5;
        p[1] = 0.3;
        p[0] = 0.3;
        let t = top_k(&p, 3);
        let got: Vec<(usize, &str)> = t.iter().map(|c| (c.index, c.name.as_str())).collect();
        assert_eq!(got, [(281, "tabby"), (0, "tench"), (1, "goldfish")]);
    }

    #[test]
    fn resize_and_centre_crop_are_torchvisions_sizes() {
        let img = Image::new(300, 200, 3, vec![7; 300 * 200 * 3]).unwrap();
        let mut rng = fastcandle_core::rng::rng(0);
        let t = ResizeCenterCrop::default();
        let out = t.apply(&img, false, &mut rng).unwrap();
        assert_eq!((out.width(), out.height()), (224, 224));
        assert!(out.data().iter().all(|&v| v == 7));
    }
}
