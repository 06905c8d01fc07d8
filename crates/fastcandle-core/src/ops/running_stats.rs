//! The in-place update of BatchNorm running statistics.

use super::storage::cpu_f32;
use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Var, bail};

/// `running <- (1 - momentum) running + momentum * scale * batch`: PyTorch's update of
/// BatchNorm running statistics (`scale` is `m / (m - 1)` for the unbiased variance). In place
/// on the CPU for `f32`; elsewhere (and with [`set_force_generic`](super::set_force_generic))
/// a new tensor in `running`'s dtype replaces the old one.
pub fn update_running(
    running: &Var,
    batch: &candle_core::Tensor,
    momentum: f64,
    scale: f64,
) -> Result<()> {
    let r = running.as_tensor();
    if r.dims() != batch.dims() {
        bail!(
            "update_running: running statistics of shape {:?}, batch statistics of shape {:?}",
            r.dims(),
            batch.dims()
        );
    }
    if super::native_f32(&[r]) && r.is_contiguous() {
        return r.inplace_op2(
            &batch.to_dtype(candle_core::DType::F32)?.contiguous()?,
            &Lerp {
                keep: (1.0 - momentum) as f32,
                take: (momentum * scale) as f32,
            },
        );
    }
    let batch = batch.to_dtype(r.dtype())?.detach();
    let new = ((r.detach() * (1.0 - momentum))? + (batch * (momentum * scale))?)?;
    running.set(&new)
}

struct Lerp {
    keep: f32,
    take: f32,
}

impl InplaceOp2 for Lerp {
    fn name(&self) -> &'static str {
        "running-stat-update"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let b = cpu_f32(s2, l2)?.to_vec();
        let (CpuStorage::F32(r), Some((a, z))) = (s1, l1.contiguous_offsets()) else {
            bail!("running-stat-update: expected a contiguous f32 tensor")
        };
        for (r, b) in r[a..z].iter_mut().zip(b) {
            *r = self.keep * *r + self.take * b;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Tensor};

    fn updated(force_generic: bool) -> Vec<f32> {
        let dev = Device::Cpu;
        let running = Var::from_tensor(&Tensor::new(&[1f32, 2.0, -3.0], &dev).unwrap()).unwrap();
        let batch = Tensor::new(&[0.5f32, 4.0, 1.0], &dev).unwrap();
        if force_generic {
            // The composed form, as on a GPU, on an f64 copy so that the switch stays
            // untouched for the tests running beside this one.
            let r64 = Var::from_tensor(&running.as_tensor().to_dtype(DType::F64).unwrap()).unwrap();
            update_running(&r64, &batch, 0.1, 1.5).unwrap();
            assert_eq!(
                r64.dtype(),
                DType::F64,
                "the dtype of the statistics is kept"
            );
            return r64.to_dtype(DType::F32).unwrap().to_vec1().unwrap();
        }
        update_running(&running, &batch, 0.1, 1.5).unwrap();
        running.to_vec1().unwrap()
    }

    #[test]
    fn the_in_place_and_composed_updates_are_pytorchs() {
        // PyTorch: running = (1 - momentum) * running + momentum * scale * batch.
        let want = [0.9 + 0.075, 1.8 + 0.6, -2.7 + 0.15];
        for generic in [false, true] {
            let got = updated(generic);
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (g - w).abs() < 1e-6,
                    "generic {generic}: {got:?} vs {want:?}"
                );
            }
        }
        let r = Var::zeros(3, DType::F32, &Device::Cpu).unwrap();
        let e = update_running(
            &r,
            &Tensor::zeros(4, DType::F32, &Device::Cpu).unwrap(),
            0.1,
            1.0,
        )
        .unwrap_err();
        assert!(e.to_string().contains("[3]"), "{e}");
    }
}
