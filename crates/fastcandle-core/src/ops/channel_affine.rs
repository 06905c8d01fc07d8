//! A per-channel scale and shift in one pass: evaluation-mode batch normalisation.
//!
//! candle's broadcast multiply then add walks a `[N, C, H, W]` tensor twice through strided
//! index arithmetic, and made MobileNetV2's inference slower than its training forward. Here
//! each `(sample, channel)` plane is one contiguous loop. The backward gives the gradients of
//! the input, the scale and the shift, so that a model trained with frozen statistics (fastai's
//! `bn_eval`) still learns its BatchNorm weights.

use super::activation::{Act, gate};
use super::par::min_len;
use super::storage::{cpu_f32, with_f32, written};
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// `x * scale[c] + shift[c]` for `x` `[N, C, ...]` and `scale`, `shift` `[C]`.
pub fn channel_affine(x: &Tensor, scale: &Tensor, shift: &Tensor) -> Result<Tensor> {
    channel_affine_act(x, scale, shift, Act::Identity)
}

/// [`channel_affine`] followed by `act` in the same pass (an evaluation-mode BatchNorm and its
/// ReLU); backward gates the gradient by the output, with no mask kept.
pub fn channel_affine_act(x: &Tensor, scale: &Tensor, shift: &Tensor, act: Act) -> Result<Tensor> {
    let dims = x.dims();
    if dims.len() < 2 || scale.dims() != [dims[1]] || shift.dims() != [dims[1]] {
        bail!(
            "channel_affine: x {:?} needs scale and shift of shape [{}], got {:?} and {:?}",
            dims,
            dims.get(1).copied().unwrap_or(0),
            scale.dims(),
            shift.dims()
        );
    }
    if super::native_f32(&[x, scale, shift]) {
        return x.contiguous()?.apply_op3(
            &scale.contiguous()?,
            &shift.contiguous()?,
            ChannelAffine { act },
        );
    }
    // f32 scale and shift (from the master weights and running statistics) meet a
    // half-precision activation in its dtype (no copy when equal).
    let (scale, shift) = (scale.to_dtype(x.dtype())?, shift.to_dtype(x.dtype())?);
    let mut shape = vec![1usize; dims.len()];
    shape[1] = dims[1];
    let y = x
        .broadcast_mul(&scale.reshape(shape.as_slice())?)?
        .broadcast_add(&shift.reshape(shape.as_slice())?)?;
    act.apply_tensor(&y)
}

struct ChannelAffine {
    act: Act,
}

impl CustomOp3 for ChannelAffine {
    fn name(&self) -> &'static str {
        "channel-affine"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s1, l1)?;
        let (scale, shift) = (cpu_f32(s2, l2)?, cpu_f32(s3, l3)?);
        let c = scale.len();
        let plane = x.len() / (l1.dims()[0] * c).max(1);
        let p = plane.max(1);
        let fill = |y: &mut [MaybeUninit<f32>]| {
            y.par_chunks_mut(p)
                .zip(x.par_chunks(p))
                .enumerate()
                .with_min_len(min_len(plane))
                .for_each(|(i, (yp, xp))| {
                    let (a, b) = (scale[i % c], shift[i % c]);
                    match self.act {
                        Act::Identity => {
                            for (yv, &xv) in yp.iter_mut().zip(xp) {
                                yv.write(xv * a + b);
                            }
                        }
                        act => {
                            for (yv, &xv) in yp.iter_mut().zip(xp) {
                                yv.write(act.apply(xv * a + b));
                            }
                        }
                    }
                })
        };
        // SAFETY: the planes of `y` cover it and every cell of each is written.
        let y = unsafe { written(x.len(), fill) };
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        scale: &Tensor,
        _shift: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        // Through the activation: the gradient zeroed where the output says it does not pass.
        let gated;
        let grad = match self.act {
            Act::Identity => grad,
            act => {
                gated = gate(res, grad, act)?;
                &gated
            }
        };
        let c = scale.dims1()?;
        let plane = x.elem_count() / (x.dims()[0] * c).max(1);
        let sc: Vec<f32> = scale.to_dtype(DType::F32)?.to_vec1()?;
        let (dx, dscale, dshift) = with_f32(x, |xs| {
            with_f32(grad, |gs| {
                let p = plane.max(1);
                let mut dx = vec![0f32; xs.len()];
                dx.par_chunks_mut(p)
                    .zip(gs.par_chunks(p))
                    .enumerate()
                    .with_min_len(min_len(plane))
                    .for_each(|(i, (dp, gp))| {
                        let a = sc[i % c];
                        for (d, &g) in dp.iter_mut().zip(gp) {
                            *d = g * a;
                        }
                    });
                // Per-plane sums, then per channel.
                let sums: Vec<(f32, f32)> = xs
                    .par_chunks(plane.max(1))
                    .zip(gs.par_chunks(plane.max(1)))
                    .with_min_len(min_len(plane))
                    .map(|(xp, gp)| {
                        xp.iter()
                            .zip(gp)
                            .fold((0f32, 0f32), |(sx, sg), (&x, &g)| (sx + x * g, sg + g))
                    })
                    .collect();
                let (mut dscale, mut dshift) = (vec![0f32; c], vec![0f32; c]);
                for (i, (sx, sg)) in sums.into_iter().enumerate() {
                    dscale[i % c] += sx;
                    dshift[i % c] += sg;
                }
                Ok((dx, dscale, dshift))
            })
        })?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dscale, c, dev)?.to_dtype(scale.dtype())?),
            Some(Tensor::from_vec(dshift, c, dev)?.to_dtype(scale.dtype())?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    #[test]
    fn matches_the_broadcast_form_with_gradients() {
        let dev = Device::Cpu;
        for dims in [vec![3usize, 4, 5, 6], vec![5, 4]] {
            let x =
                Var::from_tensor(&Tensor::randn(0f32, 1., dims.as_slice(), &dev).unwrap()).unwrap();
            let a = Var::from_tensor(&Tensor::randn(0f32, 1., 4, &dev).unwrap()).unwrap();
            let b = Var::from_tensor(&Tensor::randn(0f32, 1., 4, &dev).unwrap()).unwrap();
            let mut shape = vec![1usize; dims.len()];
            shape[1] = 4;
            let y = channel_affine(&x, &a, &b).unwrap();
            let yr = x
                .broadcast_mul(&a.reshape(shape.as_slice()).unwrap())
                .unwrap()
                .broadcast_add(&b.reshape(shape.as_slice()).unwrap())
                .unwrap();
            assert!(max_diff(&y, &yr) < 1e-6);
            let up = Tensor::randn(0f32, 1., dims.as_slice(), &dev).unwrap();
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), a.as_tensor(), b.as_tensor()] {
                assert!(max_diff(ga.get(t).unwrap(), gb.get(t).unwrap()) < 1e-4);
            }
        }
    }

    #[test]
    fn fused_activations_equal_the_separate_ops_with_gradients() {
        let dev = Device::Cpu;
        let x = Var::from_tensor(&(Tensor::randn(0f32, 4., (3, 4, 5, 6), &dev).unwrap())).unwrap();
        let a = Var::from_tensor(&Tensor::randn(0f32, 1., 4, &dev).unwrap()).unwrap();
        let b = Var::from_tensor(&Tensor::randn(0f32, 1., 4, &dev).unwrap()).unwrap();
        let up = Tensor::randn(0f32, 1., (3, 4, 5, 6), &dev).unwrap();
        for act in [Act::Relu, Act::Relu6] {
            let y = channel_affine_act(&x, &a, &b, act).unwrap();
            let lin = channel_affine(&x, &a, &b).unwrap();
            let yr = match act {
                Act::Relu => crate::ops::relu(&lin).unwrap(),
                _ => crate::ops::relu6(&lin).unwrap(),
            };
            assert_eq!(max_diff(&y, &yr), 0.0);
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), a.as_tensor(), b.as_tensor()] {
                assert!(
                    max_diff(ga.get(t).unwrap(), gb.get(t).unwrap()) < 1e-4,
                    "{act:?}"
                );
            }
        }
    }

    #[test]
    fn a_scale_of_the_wrong_length_is_an_error() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3, 4, 4), DType::F32, &dev).unwrap();
        let s = Tensor::zeros(4, DType::F32, &dev).unwrap();
        let e = channel_affine(&x, &s, &s).unwrap_err().to_string();
        assert!(e.contains("[3]"), "{e}");
    }
}
