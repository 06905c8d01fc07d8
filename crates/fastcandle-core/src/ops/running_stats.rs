//! The in-place update of BatchNorm running statistics.

use super::storage::cpu_f32;
use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Tensor, bail};

/// `running <- (1 - momentum) running + momentum * scale * batch`, in place: PyTorch's update of
/// BatchNorm running statistics (`scale` is `m / (m - 1)` for the unbiased variance).
pub fn update_running(running: &Tensor, batch: &Tensor, momentum: f64, scale: f64) -> Result<()> {
    if running.device().is_cpu()
        && running.dtype() == candle_core::DType::F32
        && running.is_contiguous()
    {
        return running.inplace_op2(
            &batch.contiguous()?,
            &Lerp {
                keep: (1.0 - momentum) as f32,
                take: (momentum * scale) as f32,
            },
        );
    }
    bail!("update_running: needs a contiguous f32 CPU tensor; use the composed form elsewhere")
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
