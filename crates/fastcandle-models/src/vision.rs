//! Vision models as fastai's `vision_learner` makes them: a pretrainable body cut from a
//! torchvision architecture, and fastai's head.
//!
//! Architectures are listed once, in the `archs!` invocation below; each names the function
//! that builds its body, where its pretrained weights live and which keys of a full
//! checkpoint belong to the classifier the head replaces. `docs/adding-an-architecture.md`
//! shows how to add one.

use crate::body::Body;
use crate::head::{Head, HeadConfig};
use crate::key_renames::{KeyRename, renamed_for};
use crate::layers::Layer;
use crate::mobilenet_v2::mobilenet_v2_body;
pub use crate::pretrained::Pretrained;
use crate::rename::{Rename, load_renamed_into};
use crate::resnet::{ResNetConfig, resnet_body};
use crate::weights::{hub_file, load_weights_into, read_weights, subset};
use candle_core::{Device, Tensor};
use fastcandle_core::hooks::Hooks;
use fastcandle_core::{Error, Model, ParamBuilder, ParamStore, Result};
use std::sync::{Arc, RwLock};

/// Everything the vision learner needs to know of an architecture.
#[derive(Clone, Copy)]
pub struct ArchSpec {
    /// torchvision's name (`resnet34`), which `--arch` and `str::parse::<Arch>` take.
    pub name: &'static str,
    /// Builds the body under a builder, in layer groups 0 and 1, with torchvision's names.
    pub body: fn(&ParamBuilder) -> Result<Body>,
    /// The Hugging Face hub repository of ImageNet weights (`model.safetensors`), if any.
    pub hub_repo: Option<&'static str>,
    /// Prefixes of a full checkpoint's classifier keys, skipped when loading the body.
    pub classifier: &'static [&'static str],
    /// The hub file's names (timm's) mapped to ours, where they differ (see [`crate::rename`]).
    pub hub_rename: Option<Rename>,
}

/// Declares the architectures: one line each, `Variant => ArchSpec`.
macro_rules! archs {
    ($($(#[$doc:meta])* $variant:ident => $spec:expr,)*) => {
        /// The architectures a vision model can be built on, by torchvision's names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Arch {
            $($(#[$doc])* $variant,)*
        }

        impl Arch {
            /// Every architecture, in declaration order.
            pub const ALL: &'static [Arch] = &[$(Arch::$variant,)*];

            /// What the learner needs to know of the architecture.
            pub fn spec(self) -> ArchSpec {
                match self {
                    $(Arch::$variant => $spec,)*
                }
            }
        }
    };
}

archs! {
    /// ResNet18 (basic blocks, 512 features).
    Resnet18 => ArchSpec {
        name: "resnet18",
        body: |pb| resnet_body(pb, &ResNetConfig::RESNET18),
        hub_repo: Some("timm/resnet18.a1_in1k"),
        classifier: &["fc."],
        hub_rename: None,
    },
    /// ResNet34 (basic blocks, 512 features), the lesson's default.
    Resnet34 => ArchSpec {
        name: "resnet34",
        body: |pb| resnet_body(pb, &ResNetConfig::RESNET34),
        hub_repo: Some("timm/resnet34.a1_in1k"),
        classifier: &["fc."],
        hub_rename: None,
    },
    /// ResNet50 (bottlenecks, 2048 features).
    Resnet50 => ArchSpec {
        name: "resnet50",
        body: |pb| resnet_body(pb, &ResNetConfig::RESNET50),
        hub_repo: Some("timm/resnet50.a1_in1k"),
        classifier: &["fc."],
        hub_rename: None,
    },
    /// MobileNetV2 (inverted residuals, 1280 features).
    MobilenetV2 => ArchSpec {
        name: "mobilenet_v2",
        body: mobilenet_v2_body,
        hub_repo: None,
        classifier: &["classifier."],
        hub_rename: None,
    },
    /// EfficientNet-B0 (MBConv with squeeze-excitation, SiLU, 1280 features).
    EfficientnetB0 => ArchSpec {
        name: "efficientnet_b0",
        body: crate::efficientnet::efficientnet_b0_body,
        hub_repo: Some("timm/efficientnet_b0.ra_in1k"),
        classifier: &["classifier."],
        hub_rename: Some(crate::efficientnet::from_timm),
    },
    /// ConvNeXt-Tiny (7x7 depthwise, LayerNorm, GELU, 768 features).
    ConvnextTiny => ArchSpec {
        name: "convnext_tiny",
        body: crate::convnext::convnext_tiny_body,
        hub_repo: Some("timm/convnext_tiny.fb_in1k"),
        classifier: &["classifier."],
        hub_rename: Some(crate::convnext::from_timm),
    },
    /// fastai's `SimpleCNN` (four ConvLayers, 256 features), for small images from scratch.
    SimpleCnn => ArchSpec {
        name: "simple_cnn",
        body: crate::simple_cnn::simple_cnn_body,
        hub_repo: None,
        classifier: &[],
        hub_rename: None,
    },
}

impl Arch {
    /// torchvision's name of the architecture.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// Every architecture's name, in declaration order (what `--arch` takes).
    pub fn names() -> Vec<&'static str> {
        Arch::ALL.iter().map(|a| a.name()).collect()
    }

    /// The renames of old checkpoint key names to today's (see [`crate::key_renames`]); empty
    /// for an architecture whose names never changed. A table lives in its architecture's file.
    pub fn old_names(self) -> &'static [KeyRename] {
        match self {
            Arch::MobilenetV2 => crate::mobilenet_v2::OLD_NAMES,
            _ => &[],
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is no known architecture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown architecture `{name}` (known: {known})")]
pub struct UnknownArch {
    /// The name asked for.
    pub name: String,
    /// The known names, comma-separated.
    pub known: String,
}

impl std::str::FromStr for Arch {
    type Err = UnknownArch;

    /// Parses torchvision's names (those of [`Arch::names`]), ignoring case, and `-` for `_`.
    fn from_str(s: &str) -> std::result::Result<Self, UnknownArch> {
        let want = s.trim().to_ascii_lowercase().replace('-', "_");
        Arch::ALL
            .iter()
            .copied()
            .find(|a| a.name() == want)
            .ok_or_else(|| UnknownArch {
                name: s.to_string(),
                known: Arch::names().join(", "),
            })
    }
}

impl serde::Serialize for Arch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Arch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Prefix of the head's parameter names.
const HEAD: &str = "head";

/// A vision classifier as fastai's `create_vision_model`: a body with torchvision's parameter
/// names (`conv1.weight`, `layer1.0.conv1.weight`, `features.3.conv.1.0.weight`) in layer groups
/// 0 and 1, and fastai's [`Head`] (`head.bn1.weight`, `head.lin1.weight`, ...) in group 2.
///
/// Input: one `f32` batch `[N, 3, H, W]` normalised with ImageNet statistics; output: `[N, n_out]`.
pub struct VisionModel {
    arch: Arch,
    body: Body,
    head: Head,
    params: ParamStore,
    n_out: usize,
    hooks: RwLock<Option<Arc<Hooks>>>,
}

impl VisionModel {
    /// Builds `arch` with fastai's default head for `n_out` outputs on `device`, initialised
    /// from `seed`, then loads the body's pretrained weights.
    pub fn new(
        arch: Arch,
        n_out: usize,
        pretrained: &Pretrained,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        Self::with_head(
            arch,
            n_out,
            &HeadConfig::default(),
            pretrained,
            device,
            seed,
        )
    }

    /// [`VisionModel::new`] with a head configuration.
    pub fn with_head(
        arch: Arch,
        n_out: usize,
        head: &HeadConfig,
        pretrained: &Pretrained,
        device: &Device,
        seed: u64,
    ) -> Result<Self> {
        let pb = ParamBuilder::new(device, seed);
        let spec = arch.spec();
        let body = (spec.body)(&pb)?;
        let head = Head::new(&pb.group(2).pp(HEAD), body.out_channels(), n_out, head)?;
        let model = Self {
            arch,
            body,
            head,
            params: pb.store().clone(),
            n_out,
            hooks: RwLock::default(),
        };
        model.load_body(pretrained)?;
        Ok(model)
    }

    /// Loads the body's weights (the head is left as it is).
    pub fn load_body(&self, pretrained: &Pretrained) -> Result<()> {
        load_pretrained_body(&self.params, self.arch, pretrained, HEAD)
    }

    /// The architecture.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// The head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The number of outputs (classes).
    pub fn n_out(&self) -> usize {
        self.n_out
    }
}

/// Loads `arch`'s pretrained body weights into the parameters of `params` whose names do not
/// start with `skip.` (the head or decoder built on the body, left as they are).
pub fn load_pretrained_body(
    params: &ParamStore,
    arch: Arch,
    pretrained: &Pretrained,
    skip: &str,
) -> Result<()> {
    let spec = arch.spec();
    let (path, rename) = match pretrained {
        Pretrained::No => return Ok(()),
        Pretrained::File(p) => (p.clone(), None),
        Pretrained::Hub => match spec.hub_repo {
            Some(repo) => (hub_file(repo, "model.safetensors")?, spec.hub_rename),
            None => {
                return Err(Error::BadTensor {
                    name: spec.name.into(),
                    reason: "no pretrained weights on the Hugging Face hub are known for this \
                             architecture; use Pretrained::File"
                        .into(),
                });
            }
        },
    };
    let skip = format!("{skip}.");
    let body = subset(params, |n| !n.starts_with(&skip))?;
    let is_classifier = |k: &str| spec.classifier.iter().any(|c| k.starts_with(c));
    let loaded = match rename {
        Some(rename) => load_renamed_into(&body, &path, rename, is_classifier),
        None => load_weights_into(&body, &path, is_classifier, arch.old_names()),
    };
    loaded.map_err(|e| match e {
        Error::BadTensor { name, reason } => {
            let looks_like = guess_arch(&path)
                .filter(|(a, _)| *a != arch)
                .map(|(a, share)| {
                    format!(
                        "\n  the file looks like {a} weights ({:.0}% of its keys are {a}'s), not {arch}",
                        share * 100.0
                    )
                })
                .unwrap_or_default();
            Error::BadTensor {
                name,
                reason: format!("into {arch}'s body: {reason}{looks_like}"),
            }
        }
        e => e,
    })
}

/// The architecture whose body's parameter names cover the largest share of the keys of the
/// weights file at `path` (safetensors or a PyTorch checkpoint; classifier and
/// `num_batches_tracked` keys left out, old names renamed as [`Arch::old_names`] says), with
/// that share; `None` when no architecture shares a key with it or the file cannot be read.
pub fn guess_arch(path: &std::path::Path) -> Option<(Arch, f64)> {
    let tensors = read_weights(path).ok()?;
    Arch::ALL
        .iter()
        .filter_map(|&arch| {
            let spec = arch.spec();
            let pb = ParamBuilder::new(&Device::Cpu, 0);
            (spec.body)(&pb).ok()?;
            let keys: Vec<String> = renamed_for(pb.store(), tensors.clone(), arch.old_names())
                .into_iter()
                .map(|(k, _)| k)
                .filter(|k| !k.ends_with("num_batches_tracked"))
                .filter(|k| !spec.classifier.iter().any(|c| k.starts_with(c)))
                .collect();
            let hits = keys.iter().filter(|k| pb.store().get(k).is_some()).count();
            let share = hits as f64 / keys.len().max(1) as f64;
            (hits > 0).then_some((arch, share))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

impl Model for VisionModel {
    fn forward_t(&self, xs: &[Tensor], train: bool) -> Result<Tensor> {
        let [x] = xs else {
            return Err(Error::BadTensor {
                name: "vision inputs".into(),
                reason: format!("expected one image batch, got {} tensors", xs.len()),
            });
        };
        let f = self.body.forward_t(x, train)?;
        let out = self.head.forward_t(&f, train)?;
        let hooks = self.hooks.read().unwrap_or_else(|e| e.into_inner()).clone();
        match hooks {
            Some(h) => h.tap(HEAD, out),
            None => Ok(out),
        }
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }

    /// The body's children by torchvision's names (`conv1` .. `layer4`, or `features.0` ..
    /// `features.18`), then `head` (the outputs, before any activation).
    fn hook_points(&self) -> Vec<String> {
        let mut names = self.body.names().to_vec();
        names.push(HEAD.to_string());
        names
    }

    fn set_hooks(&self, hooks: Option<Arc<Hooks>>) -> Result<()> {
        if let Some(h) = &hooks {
            fastcandle_core::hooks::check_names(self, h.names())?;
        }
        self.body.set_hooks(hooks.clone());
        *self.hooks.write().unwrap_or_else(|e| e.into_inner()) = hooks;
        Ok(())
    }
}
