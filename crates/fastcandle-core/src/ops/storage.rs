//! Access to the CPU values behind a tensor, for ops that compute on slices.

use candle_core::{CpuStorage, Layout, Result, Storage, Tensor, bail};
use std::mem::MaybeUninit;

/// The contiguous `f32` values of a CPU storage under `layout`.
pub(crate) fn cpu_f32<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let data = s.as_slice::<f32>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => bail!("expected a contiguous f32 tensor"),
    }
}

/// Runs `f` on the contiguous `f32` values of a CPU tensor.
pub(crate) fn with_f32<T>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<T>) -> Result<T> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => f(cpu_f32(s, layout)?),
        _ => bail!("expected a CPU tensor"),
    }
}

/// The gradient of `like` built from `values` when backward needs it (`need`), else `None`:
/// ops skip the gradients of inputs that track nothing (an input image, a frozen weight).
pub(crate) fn grad_if(need: bool, values: Vec<f32>, like: &Tensor) -> Result<Option<Tensor>> {
    if !need {
        return Ok(None);
    }
    Ok(Some(Tensor::from_vec(values, like.shape(), like.device())?))
}

/// `len` cells that `fill` writes, without zeroing them first: for an activation, `vec![0; n]`
/// is a pass over memory of its own before the op's pass.
///
/// # Safety
/// `fill` must write every one of the `len` cells.
pub(crate) unsafe fn written(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v: Vec<f32> = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: the caller guarantees that `fill` wrote every cell.
    unsafe { v.set_len(len) };
    v
}
