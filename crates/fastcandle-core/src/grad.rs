//! Turning gradient tracking off, as PyTorch's `torch.no_grad()` (which fastai's validation,
//! `get_preds` and `predict` run under).
//!
//! candle records an op whenever one of its inputs is a variable or was itself recorded, and a
//! recorded output keeps its inputs alive. A forward pass for evaluation then holds every
//! activation of the network until its output is dropped. Under [`no_grad`], layers take their
//! parameters through [`tracked`] (or [`Param::forward_tensor`](crate::Param::forward_tensor)),
//! which hands out detached handles on the same storage: nothing is recorded, and each
//! activation is freed as soon as the next layer has read it.

use candle_core::Tensor;
use std::cell::Cell;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on parameters are recorded for backward on this thread (yes, unless inside
/// [`no_grad`]).
pub fn grad_enabled() -> bool {
    ENABLED.with(Cell::get)
}

/// Runs `f` with gradient tracking off on this thread, and restores the previous setting after
/// (also when `f` panics). Work that `f` hands to other threads (the pool's workers inside one
/// op) does not build graphs, so a thread-local switch covers a whole forward pass.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            ENABLED.with(|e| e.set(self.0));
        }
    }
    let _restore = Restore(ENABLED.with(|e| e.replace(false)));
    f()
}

/// `t` for a forward pass: itself while gradients are tracked, a detached handle on the same
/// storage under [`no_grad`].
pub fn tracked(t: &Tensor) -> Tensor {
    if grad_enabled() {
        t.clone()
    } else {
        t.detach()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn no_grad_detaches_and_restores() {
        let v = Var::new(&[1f32, 2.0], &Device::Cpu).unwrap();
        let y = (tracked(v.as_tensor()) * 3.0).unwrap().sum_all().unwrap();
        assert!(y.backward().unwrap().get(v.as_tensor()).is_some());
        let (inner, nested) = no_grad(|| {
            let y = (tracked(v.as_tensor()) * 3.0).unwrap().sum_all().unwrap();
            let nested = no_grad(grad_enabled);
            (y.backward().unwrap().get(v.as_tensor()).is_some(), nested)
        });
        assert!(!inner && !nested);
        assert!(grad_enabled());
        let panicked = std::panic::catch_unwind(|| no_grad(|| panic!("inside")));
        assert!(panicked.is_err());
        assert!(grad_enabled());
    }
}
