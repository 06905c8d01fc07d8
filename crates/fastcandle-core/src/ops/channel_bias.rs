//! A per-channel bias added in one pass: the bias of a convolution.
//!
//! candle's broadcast add walks a `[N, C, H, W]` tensor through strided index arithmetic, and
//! its backward sums the gradient over `N, H, W` with a generic reduction that cost a U-Net
//! (whose decoder convolutions all have biases) about a tenth of its training step. Here the
//! forward is one contiguous loop per `(sample, channel)` plane; the backward passes the
//! gradient through unchanged (no copy) and sums each plane once for the bias.

use super::par::min_len;
use super::storage::{cpu_f32, grad_if, with_f32};
use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// `x + bias[c]` for `x` `[N, C, ...]` and `bias` `[C]`.
pub fn add_channel_bias(x: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let dims = x.dims();
    if dims.len() < 2 || bias.dims() != [dims[1]] {
        bail!(
            "add_channel_bias: x {:?} needs a bias of shape [{}], got {:?}",
            dims,
            dims.get(1).copied().unwrap_or(0),
            bias.dims()
        );
    }
    if super::native_f32(&[x, bias]) {
        return x.contiguous()?.apply_op2(&bias.contiguous()?, ChannelBias);
    }
    let mut shape = vec![1usize; dims.len()];
    shape[1] = dims[1];
    if x.dtype() != bias.dtype() {
        // A half-precision activation and an f32 master bias: the sum is taken in f32 and
        // narrowed, so that the bias gradient (a sum over every position of the gradient) is
        // accumulated in f32, as PyTorch's autocast does, not in the half dtype, which lost a
        // third of a small conv bias gradient in bf16.
        let dt = x.dtype();
        let y = x
            .to_dtype(bias.dtype())?
            .broadcast_add(&bias.reshape(shape.as_slice())?)?;
        return y.to_dtype(dt);
    }
    x.broadcast_add(&bias.reshape(shape.as_slice())?)
}

struct ChannelBias;

impl CustomOp2 for ChannelBias {
    fn name(&self) -> &'static str {
        "channel-bias"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s1, l1)?;
        let bias = cpu_f32(s2, l2)?;
        let c = bias.len();
        let plane = (x.len() / (l1.dims()[0] * c).max(1)).max(1);
        let mut y = x.to_vec();
        y.par_chunks_mut(plane)
            .enumerate()
            .with_min_len(min_len(plane))
            .for_each(|(i, yp)| {
                let b = bias[i % c];
                for v in yp {
                    *v += b;
                }
            });
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        bias: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let dx = x.track_op().then(|| grad.clone());
        if !bias.track_op() {
            return Ok((dx, None));
        }
        let c = bias.dims1()?;
        let plane = (x.elem_count() / (x.dims()[0] * c).max(1)).max(1);
        let db = with_f32(grad, |gs| {
            let sums: Vec<f32> = gs
                .par_chunks(plane)
                .with_min_len(min_len(plane))
                .map(|p| p.iter().sum::<f32>())
                .collect();
            let mut db = vec![0f32; c];
            for (i, s) in sums.into_iter().enumerate() {
                db[i % c] += s;
            }
            Ok(db)
        })?;
        Ok((dx, grad_if(true, db, bias)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::DType;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn matches_the_broadcast_form_with_gradients() {
        let dev = Device::Cpu;
        for dims in [vec![3usize, 4, 5, 6], vec![5, 4], vec![1, 4, 1, 1]] {
            let x =
                Var::from_tensor(&Tensor::randn(0f32, 1., dims.as_slice(), &dev).unwrap()).unwrap();
            let b = Var::from_tensor(&Tensor::randn(0f32, 1., 4, &dev).unwrap()).unwrap();
            let mut shape = vec![1usize; dims.len()];
            shape[1] = 4;
            let y = add_channel_bias(&x, &b).unwrap();
            let yr = x
                .broadcast_add(&b.reshape(shape.as_slice()).unwrap())
                .unwrap();
            assert!(max_diff(&y, &yr) < 1e-6);
            let up = Tensor::randn(0f32, 1., dims.as_slice(), &dev).unwrap();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), b.as_tensor()] {
                assert!(max_diff(ga.get(t).unwrap(), gb.get(t).unwrap()) < 1e-4);
            }
        }
    }

    #[test]
    fn a_frozen_bias_gets_no_gradient_and_a_bad_shape_is_an_error() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&Tensor::ones((2, 3, 2, 2), DType::F32, &dev).unwrap()).unwrap();
        let b = Tensor::ones(3, DType::F32, &dev).unwrap();
        let g = add_channel_bias(&x, &b)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        assert!(g.get(&b).is_none());
        assert!(g.get(&x).is_some());
        let e = add_channel_bias(&x, &Tensor::ones(4, DType::F32, &dev).unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("[3]"), "{e}");
    }
}
