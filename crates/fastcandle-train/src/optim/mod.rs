//! Optimizers over parameter groups, as fastai builds them.
//!
//! An [`Optimizer`] holds parameter groups, each with its own [`Hypers`] (learning rate,
//! momentum, ...), and per-parameter state. The update rule is an [`OptFunc`]: fastai's `Adam`
//! (decoupled weight decay, `average_grad` with dampening, `average_sqr_grad`, debiased step) or
//! `SGD` with momentum. Freezing and discriminative learning rates act on the groups.

mod kernels;
mod optimizer;

pub use kernels::OptFunc;
pub use optimizer::{Hypers, NamedTensors, OptState, Optimizer, ParamGroup};
