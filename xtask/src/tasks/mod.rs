//! One file per task.

pub mod adult;
