//! CIFAR-10: fastai's `URLs.CIFAR` layout (PNG folders `train/<class>/` and `test/<class>/`)
//! or the binary batches (`cifar-10-batches-bin/`); fastai's `SimpleCNN` from scratch,
//! `fit_one_cycle(N)`, scored on the 10,000 test images.

use super::small_images::Spec;
use fastcandle::vision::prelude::CIFAR10_CLASSES;

/// The task.
pub const SPEC: Spec = Spec {
    task: "cifar10",
    idx_classes: &CIFAR10_CLASSES,
    cifar: true,
    png_folders: Some(("train", "test")),
    where_to_get: "fastai's URLs.CIFAR, https://s3.amazonaws.com/fast-ai-imageclas/cifar10.tgz \
                   extracted (its cifar10 folder holds train/<class>/ and test/<class>/), or \
                   the binary batches of https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz \
                   extracted (cifar-10-batches-bin/)",
};
