//! `use fastcandle::vision::prelude::*;` brings the vision lesson's names.

pub use super::{
    ImageDataLoaders, ImagenetClassifier, MaskPrediction, SegmentationDataLoaders,
    SegmentationPredictor, UnetLearner, VisionLearner, VisionPredictor, cnn_learner,
    imagenet_classifier, load_learner, load_unet_learner, mask_colour, mask_palette, unet_learner,
    vision_learner,
};
pub use crate::Prediction;
pub use crate::data::vision::{
    CIFAR10_CLASSES, Codes, FASHION_MNIST_CLASSES, FileSplitter, LoaderSettings, MNIST_CLASSES,
    Normalize, RandomResizedCrop, Resize, ResizeMethod, aug_transforms, file_name, file_stem,
    get_image_files, parent_label,
};
pub use crate::models::{Arch, HeadConfig, Pretrained};
pub use crate::prelude::*;
