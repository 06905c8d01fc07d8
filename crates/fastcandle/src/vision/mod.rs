//! fastai's vision application: [`ImageDataLoaders`] (`from_name_func`, `from_name_re`,
//! `from_folder`, `from_lists`, and, for the classic formats held in memory, `from_idx` and
//! `from_cifar`), [`vision_learner`] (and `cnn_learner`), `predict`, `export` and
//! [`load_learner`]; for segmentation, [`SegmentationDataLoaders`] (`from_label_func`) and
//! [`unet_learner`] (`predict` giving a [`MaskPrediction`], `show_results`, `export`) and
//! [`load_unet_learner`]; [`imagenet_classifier`], a torchvision model with its own ImageNet
//! classifier.

mod classic;
mod data_loaders;
pub(crate) mod export;
mod imagenet;
mod learner;
pub(crate) mod learner_options;
mod mask_prediction;
mod options;
pub mod prelude;
mod seg_export;
mod seg_predict;
mod segmentation;
mod test_set;
mod unet_learner;

pub use classic::{InMemoryDataLoadersBuilder, InMemoryFiles, classic_test_items};
pub use data_loaders::{ImageDataLoaders, ImageDataLoadersBuilder, ImageFiles};
pub use export::{VisionPredictor, load_learner};
pub use imagenet::{
    ClassProb, ImagenetClassifier, N_IMAGENET_CLASSES, ResizeCenterCrop, imagenet_classes,
    imagenet_classifier,
};
pub use learner::{VisionLearner, VisionLearnerBuilder, cnn_learner, vision_learner};
pub use learner_options::{AppLearner, LearnerBuilder};
pub use mask_prediction::{MaskPrediction, mask_colour, mask_palette};
pub(crate) use options::resolve_files;
pub use options::{DataLoadersBuilder, VisionDataLoaders};
pub use seg_export::{SegmentationPredictor, load_unet_learner};
pub use segmentation::{
    SegmentationDataLoaders, SegmentationDataLoadersBuilder, SegmentationFiles,
};
pub use unet_learner::{UnetLayout, UnetLearner, UnetLearnerBuilder, unet_learner};
