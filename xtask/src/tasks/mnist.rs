//! MNIST digits: fastai's `URLs.MNIST` layout (PNG folders `training/<digit>/` and
//! `testing/<digit>/`) or the four IDX files; fastai's `SimpleCNN` from scratch,
//! `fit_one_cycle(N)`, scored on the test images.

use super::small_images::Spec;
use fastcandle::vision::prelude::MNIST_CLASSES;

/// The task.
pub const SPEC: Spec = Spec {
    task: "mnist",
    idx_classes: &MNIST_CLASSES,
    cifar: false,
    png_folders: Some(("training", "testing")),
    where_to_get: "fastai's URLs.MNIST, https://s3.amazonaws.com/fast-ai-imageclas/mnist_png.tgz \
                   extracted (its mnist_png folder holds training/<digit>/ and \
                   testing/<digit>/), or a folder with the IDX files \
                   train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
                   t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz",
};
