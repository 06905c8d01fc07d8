//! What the layers of a vision model learned, as pictures.
//!
//! - [`save_filters`]: the first convolution's kernels (layer 1's edges and colour blobs).
//! - [`grad_cam_pictures`]: Grad-CAM heat maps of the predicted class over images, with the
//!   share of the heat on the object (see [`fastcandle_models::cam`] for the numbers).
//!
//! [`top_patches`]: for each stage of a body, the channels most active on average and, for
//! each, the image regions (receptive fields) that excite it most, after Zeiler & Fergus
//! (2014), "Visualizing and Understanding Convolutional Networks", figure 2.
//!
//! ```no_run
//! use fastcandle::data::vision::Normalize;
//! use fastcandle::models::{Arch, Pretrained, VisionModel};
//! use fastcandle::visualize::{Channels, save_top_patches, top_patches};
//! # fn main() -> fastcandle::Result<()> {
//! # let batches: Vec<candle_core::Tensor> = vec![];
//! let model = VisionModel::new(Arch::Resnet18, 2, &Pretrained::No, &candle_core::Device::Cpu, 0)?;
//! let stages = model.body().stages();
//! let norm = Normalize::imagenet();
//! let found = top_patches(model.body(), &batches, &stages, &Channels::MostActive(8), 9)?;
//! let images = fastcandle::visualize::decode_batches(&batches, Some(&norm))?;
//! for s in &found {
//!     save_top_patches(s, &images, format!("patches/{}.png", s.stage.name))?;
//! }
//! # Ok(())
//! # }
//! ```

mod filters;
mod gradcam;
mod patch_grid;
mod patches;

pub use filters::{first_conv, kernel_image, save_filters};
pub use gradcam::{
    GradCamOptions, GradCamRecord, MapMethod, ObjectMask, bright_pixels, grad_cam_pictures,
    heat_at, heat_on, overlay,
};
pub use patch_grid::save_top_patches;
pub use patches::{
    ChannelPatches, Channels, Patch, StagePatches, decode_batches, test_batches, top_patches,
};
