//! Fashion-MNIST from its IDX files: fastai's `SimpleCNN` from scratch at 28x28,
//! `fit_one_cycle(N)`, scored on the 10,000 test images.

use super::small_images::Spec;
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
