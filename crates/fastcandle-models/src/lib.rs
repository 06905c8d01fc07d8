//! # fastcandle-models
//!
//! Models and the layers they are built from, with PyTorch's parameter names so that
//! checkpoints load by name. Every model implements [`fastcandle_core::Model`].
//!
//! - [`layers`]: `Linear`, `Conv2d`, `Embedding`, `BatchNorm`, `Dropout`, pooling, fastai's
//!   `LinBnDrop` and `AdaptiveConcatPool2d`, and the [`layers::Layer`] trait that chains them.
//! - [`tabular`]: fastai's `TabularModel` and its embedding-size rule.
//! - [`resnet`], [`mobilenet_v2`], [`efficientnet`], [`convnext`]: torchvision's architectures,
//!   with their names;
//!   [`simple_cnn`], fastai's `SimpleCNN` for small images trained from scratch.
//! - [`body`], [`head`], [`vision`]: fastai's vision model (a cut body and fastai's head), the
//!   list of architectures ([`Arch`]) and pretrained loading ([`Pretrained`]).
//! - [`receptive`]: the receptive field of every stage of a body, read from its layers.
//! - [`unet`]: fastai's `DynamicUnet` on any body, for segmentation.
//! - [`weights`]: weights files loaded by name (safetensors, and PyTorch checkpoints through
//!   [`pth`] and [`pickle`], with [`key_renames`] for old names), and the Hugging Face hub;
//!   [`rename`]: checkpoints under another naming scheme (timm's), mapped to ours.

pub mod body;
pub mod cam;
pub mod convnext;
pub mod efficientnet;
pub mod head;
pub mod key_renames;
pub mod layers;
pub mod mobilenet_v2;
pub mod pickle;
pub mod pretrained;
pub mod pth;
pub mod receptive;
pub mod rename;
pub mod resnet;
pub mod simple_cnn;
pub mod tabular;
pub mod unet;
pub mod vision;
pub mod weights;

pub use body::Body;
pub use head::{Head, HeadConfig};
pub use pretrained::{EmptyPretrained, Pretrained};
pub use receptive::{ReceptiveField, Stage};
pub use resnet::{BlockKind, ResNet, ResNetConfig};
pub use tabular::{TabularConfig, TabularModel, emb_sz_rule};
pub use unet::{DynamicUnet, UnetBlock};
pub use vision::{Arch, ArchSpec, UnknownArch, VisionModel, guess_arch, load_pretrained_body};
