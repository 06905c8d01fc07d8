//! One file per task.

pub mod adult;
pub mod camvid;
pub mod pets;
pub mod vision_common;
