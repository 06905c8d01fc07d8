//! ReLU and ReLU6 as ops with a one-pass backward.
//!
//! candle's `relu` backward builds a mask tensor, converts it and multiplies (four passes and
//! three allocations), and `clamp` is a maximum then a minimum, each with a mask backward: at
//! MobileNetV2's sizes ReLU6 cost fifteen times PyTorch's. Here forward and backward are each one
//! pass on the CPU. Other devices use candle's ops.

use super::par::PAR_MIN;
use super::storage::{cpu_f32, with_f32};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// `max(x, 0)`; the gradient passes where `x > 0`, as PyTorch's.
pub fn relu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1(Clamp { max: f32::INFINITY });
    }
    x.relu()
}

/// `min(max(x, 0), 6)` (MobileNetV2's activation); the gradient passes where `0 < x < 6`, as
/// PyTorch's `hardtanh_backward`.
pub fn relu6(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1(Clamp { max: 6.0 });
    }
    x.clamp(0f32, 6f32)
}

/// `min(max(x, 0), max)`.
struct Clamp {
    max: f32,
}

impl CustomOp1 for Clamp {
    fn name(&self) -> &'static str {
        "clamp-relu"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s, l)?;
        let mut y = vec![0f32; x.len()];
        let max = self.max;
        y.par_chunks_mut(PAR_MIN)
            .zip(x.par_chunks(PAR_MIN))
            .for_each(|(yc, xc)| {
                for (yv, &xv) in yc.iter_mut().zip(xc) {
                    // NaN propagates, as in PyTorch.
                    *yv = if xv.is_nan() {
                        xv
                    } else {
                        xv.max(0.0).min(max)
                    };
                }
            });
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let max = self.max;
        let dx = with_f32(x, |xs| {
            with_f32(grad, |gs| {
                let mut dx = vec![0f32; xs.len()];
                dx.par_chunks_mut(PAR_MIN)
                    .zip(xs.par_chunks(PAR_MIN).zip(gs.par_chunks(PAR_MIN)))
                    .for_each(|(dc, (xc, gc))| {
                        for ((d, &xv), &gv) in dc.iter_mut().zip(xc).zip(gc) {
                            *d = if xv > 0.0 && xv < max { gv } else { 0.0 };
                        }
                    });
                Ok(dx)
            })
        })?;
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    #[test]
    fn values_and_gradients_follow_pytorch() {
        let dev = Device::Cpu;
        let v = [-2f32, -0.0, 0.0, 0.5, 5.9, 6.0, 7.5];
        let x = Var::new(&v, &dev).unwrap();
        let up = Tensor::new(&[1f32, 2., 3., 4., 5., 6., 7.], &dev).unwrap();
        let y6 = relu6(&x).unwrap();
        assert_eq!(
            y6.to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 0.5, 5.9, 6., 6.]
        );
        let g = (y6 * &up).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 4., 5., 0., 0.]
        );
        let y = relu(&x).unwrap();
        assert_eq!(
            y.to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 0.5, 5.9, 6., 7.5]
        );
        let g = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
        assert_eq!(
            g.get(&x).unwrap().to_vec1::<f32>().unwrap(),
            vec![0., 0., 0., 4., 5., 6., 7.]
        );
    }
}
