//! One file per task.

pub mod adult;
pub mod camvid;
pub mod cifar10;
pub mod fashion_mnist;
pub mod mnist;
pub mod pets;
pub mod small_images;
pub mod spoken_digits;
pub mod vision_common;
