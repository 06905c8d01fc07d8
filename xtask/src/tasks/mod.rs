//! One file per task.

pub mod adult;
pub mod pets;
