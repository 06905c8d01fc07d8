//! Fashion-MNIST from its IDX files: fastai's `SimpleCNN` from scratch at 28x28,
//! `fit_one_cycle(N)`, scored on the 10,000 test images.

use super::small_images::{Spec, run as run_small};
use crate::train::SmallImagesArgs;
use anyhow::Result;
use fastcandle::vision::prelude::FASHION_MNIST_CLASSES;

/// The task.
pub const SPEC: Spec = Spec {
    task: "fashion-mnist",
    idx_classes: &FASHION_MNIST_CLASSES,
    cifar: false,
    png_folders: None,
    where_to_get: "a folder with Zalando's train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                   t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz, from \
                   http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/ \
                   (https://github.com/zalandoresearch/fashion-mnist)",
};

/// Trains, scores, and writes the run's files; returns the summary.
pub fn run(args: &SmallImagesArgs) -> Result<serde_json::Value> {
    run_small(&SPEC, args)
}
