//! Training-mode batch normalisation as one op with its own backward.
//!
//! Composed from candle's elementwise ops, a training BatchNorm allocates and walks memory about
//! ten times forward and twenty backward. Here the CPU forward is two passes per channel and
//! the backward two more, with `(mean, 1/std)` kept from the forward. Other devices use the
//! composed form, which candle differentiates.

use super::activation::Act;
use super::batch_norm_runs as runs;
use super::par::min_len;
use super::storage::{cpu_f32, with_f32, written};
use candle_core::{CpuStorage, CustomOp3, D, DType, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// Normalises `x` (`[N, C]` or `[N, C, ...]`) over every axis but the channel axis 1 with the
/// batch's own statistics, then scales by `weight` and shifts by `bias` (both `[C]`).
///
/// Returns the output and the batch mean and biased variance per channel (detached), from which
/// the caller updates its running statistics.
pub fn batch_norm_train(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    batch_norm_train_act(x, weight, bias, eps, Act::Identity)
}

/// [`batch_norm_train`] followed by `act`, in the same passes forward and backward (a
/// conv-bn-relu block's BatchNorm and ReLU): the activation's gradient gate is read from the
/// op's output, so no mask and no pre-activation tensor are kept.
pub fn batch_norm_train_act(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    act: Act,
) -> Result<(Tensor, Tensor, Tensor)> {
    let dims = nc_dims(x)?;
    let c = dims[1];
    if super::widened::native(x, &[weight, bias]) {
        return native(x, weight, bias, eps, act, false);
    }
    // Composed form for other devices and dtypes. The statistics are computed in f32 whatever
    // the activation's dtype (half precision loses the mean of a long channel), and the output
    // goes back to the activation's dtype: PyTorch's autocast keeps batch norm in f32 too.
    // Every cast is a no-op (no copy) on f32 tensors.
    let in_dtype = x.dtype();
    let x = &x.to_dtype(DType::F32)?;
    let (weight, bias) = (&weight.to_dtype(DType::F32)?, &bias.to_dtype(DType::F32)?);
    let n = x.elem_count() / c;
    let xt = x.transpose(0, 1)?.contiguous()?.reshape((c, n))?;
    let mean = xt.mean(D::Minus1)?;
    let centered = xt.broadcast_sub(&mean.unsqueeze(1)?)?;
    let var = centered.sqr()?.mean(D::Minus1)?;
    let inv = (var.clone() + eps)?.sqrt()?.recip()?;
    let mut shape = vec![1usize; dims.len()];
    shape[1] = c;
    let scale = (weight * &inv)?.reshape(shape.as_slice())?;
    let shift = (bias - (weight * &inv)?.mul(&mean)?)?.reshape(shape.as_slice())?;
    let y = x.broadcast_mul(&scale)?.broadcast_add(&shift)?;
    let y = act.apply_tensor(&y)?.to_dtype(in_dtype)?;
    Ok((y, mean.detach(), var.detach()))
}

/// A residual block's last BatchNorm, the sum with the block's identity branch and `act`, in
/// the same passes: `act(batch_norm(x) + identity)` in training mode, with the batch's
/// statistics returned as [`batch_norm_train`] returns them.
///
/// Besides the pass over memory it saves, the fused op keeps less for backward: a separate
/// sum would hold the BatchNorm's output until backward (its gradient does not need it, but
/// the recorded sum keeps its inputs), one tensor of the block's output size per block, 0.7 GB
/// of ResNet50's training at 224 pixels and batch 32.
pub fn batch_norm_train_add_act(
    x: &Tensor,
    identity: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
    act: Act,
) -> Result<(Tensor, Tensor, Tensor)> {
    let dims = nc_dims(x)?;
    if identity.dims() != dims {
        bail!(
            "batch_norm_add: the identity branch {:?} differs from the input {:?}",
            identity.dims(),
            dims
        );
    }
    if super::widened::native(x, &[identity, weight, bias]) {
        // Weight and bias as one [2, C] input: a custom op takes three tensors.
        let wb = Tensor::stack(&[weight, bias], 0)?;
        return native(x, &identity.contiguous()?, &wb, eps, act, true);
    }
    let (y, mean, var) = batch_norm_train_act(x, weight, bias, eps, Act::Identity)?;
    let y = act.apply_tensor(&(y + identity)?)?;
    Ok((y, mean, var))
}

/// The dimensions of `x`, which must be `[N, C, ...]`.
fn nc_dims(x: &Tensor) -> Result<&[usize]> {
    let dims = x.dims();
    if dims.len() < 2 {
        bail!("batch_norm: expected [N, C, ...], got {:?}", dims);
    }
    Ok(dims)
}

/// Runs the CPU op on `(x, arg2, arg3)` and returns its output with the batch's mean and biased
/// variance.
fn native(
    x: &Tensor,
    arg2: &Tensor,
    arg3: &Tensor,
    eps: f64,
    act: Act,
    residual: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let c = x.dims()[1];
    let stats = Arc::new(Mutex::new(Stats::default()));
    let op = BatchNormTrain {
        eps: eps as f32,
        stats: stats.clone(),
        act,
        residual,
    };
    let y = super::widened::apply3(x, arg2, arg3, op)?;
    let s = stats.lock().expect("batch norm stats lock poisoned");
    let mean = Tensor::from_slice(&s.mean, c, x.device())?;
    let var = Tensor::from_slice(&s.var, c, x.device())?;
    Ok((y, mean, var))
}

#[derive(Default)]
struct Stats {
    mean: Vec<f32>,
    var: Vec<f32>,
    invstd: Vec<f32>,
}

/// The op: inputs `(x, weight, bias)`, or with `residual` `(x, identity, [weight; bias])`.
struct BatchNormTrain {
    eps: f32,
    stats: Arc<Mutex<Stats>>,
    act: Act,
    residual: bool,
}

/// `(outer, channels, inner)` for a `[N, C, ...]` shape.
fn split(shape: &Shape) -> (usize, usize, usize) {
    let d = shape.dims();
    (d[0], d[1], d[2..].iter().product())
}

impl CustomOp3 for BatchNormTrain {
    fn name(&self) -> &'static str {
        "batch-norm-train"
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
        let dims = split(l1.shape());
        let (n, c, s) = dims;
        let (identity, w, b) = if self.residual {
            let wb = cpu_f32(s3, l3)?;
            if wb.len() != 2 * c {
                bail!(
                    "batch_norm_add: {c} channels but weight and bias {}",
                    wb.len()
                );
            }
            (Some(cpu_f32(s2, l2)?), &wb[..c], &wb[c..])
        } else {
            (None, cpu_f32(s2, l2)?, cpu_f32(s3, l3)?)
        };
        if w.len() != c || b.len() != c {
            bail!(
                "batch_norm: {c} channels but weight {} and bias {}",
                w.len(),
                b.len()
            );
        }
        // Per channel: mean and variance in f64 (two passes, numerically safe).
        let stats: Vec<(f32, f32)> = (0..c)
            .into_par_iter()
            .with_min_len(min_len(n * s))
            .map(|ch| runs::moments((0..n).map(|i| &x[(i * c + ch) * s..][..s])))
            .collect();
        let scale_shift: Vec<(f32, f32, f32)> = stats
            .iter()
            .enumerate()
            .map(|(ch, &(mean, var))| {
                let inv = 1.0 / (var + self.eps).sqrt();
                (mean, inv * w[ch], b[ch])
            })
            .collect();
        let fill = |y: &mut [std::mem::MaybeUninit<f32>]| {
            y.par_chunks_mut(c * s)
                .zip(x.par_chunks(c * s))
                .with_min_len(min_len(c * s))
                .enumerate()
                .for_each(|(i, (yo, xo))| {
                    for (ch, &mks) in scale_shift.iter().enumerate() {
                        let r = ch * s..(ch + 1) * s;
                        let id = identity.map(|id| &id[i * c * s..][r.clone()]);
                        runs::forward_run(&mut yo[r.clone()], &xo[r], id, self.act, mks);
                    }
                });
        };
        // SAFETY: every sample's every channel run is written above.
        let y = unsafe { written(x.len(), fill) };
        let mut st = self.stats.lock().expect("batch norm stats lock poisoned");
        st.mean = stats.iter().map(|s| s.0).collect();
        st.var = stats.iter().map(|s| s.1).collect();
        st.invstd = stats
            .iter()
            .map(|s| 1.0 / (s.1 + self.eps).sqrt())
            .collect();
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        arg2: &Tensor,
        arg3: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let act = self.act;
        let dims = split(x.shape());
        let (n, c, s) = dims;
        let m = (n * s) as f32;
        let (mean, invstd) = {
            let st = self.stats.lock().expect("batch norm stats lock poisoned");
            (st.mean.clone(), st.invstd.clone())
        };
        let w: Vec<f32> = if self.residual {
            arg3.get(0)?.to_vec1()?
        } else {
            arg2.to_vec1()?
        };
        // With a residual, the identity's gradient is the gated incoming one (the incoming one
        // itself without an activation).
        let gate_identity = self.residual && act != Act::Identity;
        let (dx, di, dw, db) = with_f32(x, |xs| {
            with_f32(grad, |gs| {
                with_f32(res, |ys| {
                    // The activation's output gates the incoming gradient (nothing to gate without one).
                    let ys = (act != Act::Identity).then_some(ys);
                    // Per channel: sum(dy) and sum(dy * xhat).
                    let sums: Vec<(f32, f32)> = (0..c)
                        .into_par_iter()
                        .with_min_len(min_len(n * s))
                        .map(|ch| {
                            let run = |i: usize| (i * c + ch) * s..(i * c + ch + 1) * s;
                            // Without an activation the gradient stands in for `y`.
                            let yv = ys.unwrap_or(gs);
                            let (sdy, mut sdyx) = runs::grad_sums(
                                (0..n).map(|i| (&gs[run(i)], &xs[run(i)], &yv[run(i)])),
                                act,
                                mean[ch],
                            );
                            sdyx *= invstd[ch] as f64;
                            (sdy as f32, sdyx as f32)
                        })
                        .collect();
                    // Sample b's input gradient, and the identity's where it is gated.
                    type Cells<'a> = &'a mut [std::mem::MaybeUninit<f32>];
                    let fill = |b: usize, dxo: Cells, mut dio: Option<Cells>| {
                        for ch in 0..c {
                            let (mu, inv) = (mean[ch], invstd[ch]);
                            let k = w[ch] * inv / m;
                            let o = (b * c + ch) * s..(b * c + ch + 1) * s;
                            let r = ch * s..(ch + 1) * s;
                            runs::grad_run(
                                &mut dxo[r.clone()],
                                dio.as_deref_mut().map(|d| &mut d[r]),
                                &gs[o.clone()],
                                &xs[o.clone()],
                                ys.map(|ys| &ys[o]),
                                act,
                                (mu, inv, k, m),
                                sums[ch],
                            );
                        }
                    };
                    let mut di = Vec::new();
                    // SAFETY: `fill` writes every cell of each sample's chunk, of `dx` and of
                    // `di` when it is made.
                    let dx = unsafe {
                        written(xs.len(), |dx| {
                            if gate_identity {
                                di = written(xs.len(), |di| {
                                    dx.par_chunks_mut(c * s)
                                        .zip(di.par_chunks_mut(c * s))
                                        .enumerate()
                                        .with_min_len(min_len(c * s))
                                        .for_each(|(b, (dxo, dio))| fill(b, dxo, Some(dio)))
                                });
                            } else {
                                dx.par_chunks_mut(c * s)
                                    .enumerate()
                                    .with_min_len(min_len(c * s))
                                    .for_each(|(b, dxo)| fill(b, dxo, None));
                            }
                        })
                    };
                    let dw: Vec<f32> = sums.iter().map(|s| s.1).collect();
                    let db: Vec<f32> = sums.iter().map(|s| s.0).collect();
                    Ok((dx, di, dw, db))
                })
            })
        })?;
        let dev = x.device();
        let dx = Some(Tensor::from_vec(dx, x.shape(), dev)?);
        if self.residual {
            let di = if gate_identity {
                Tensor::from_vec(di, x.shape(), dev)?
            } else {
                grad.clone()
            };
            let dwb = Tensor::from_vec([dw, db].concat(), (2, c), dev)?;
            return Ok((dx, Some(di), Some(dwb)));
        }
        Ok((
            dx,
            Some(Tensor::from_vec(dw, c, dev)?),
            Some(Tensor::from_vec(db, c, dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use fastcandle_testutil::tensor_max_abs_diff as max_diff;

    /// The composed reference, differentiated by candle.
    fn reference(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
        let c = x.dims()[1];
        let rank = x.rank();
        let mut axes: Vec<usize> = (0..rank).filter(|&a| a != 1).collect();
        axes.reverse();
        let mut mean = x.clone();
        for &a in &axes {
            mean = mean.mean_keepdim(a)?;
        }
        let xc = x.broadcast_sub(&mean)?;
        let mut var = xc.sqr()?;
        for &a in &axes {
            var = var.mean_keepdim(a)?;
        }
        let mut shape = vec![1usize; rank];
        shape[1] = c;
        let xhat = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
        xhat.broadcast_mul(&w.reshape(shape.as_slice())?)?
            .broadcast_add(&b.reshape(shape.as_slice())?)
    }

    fn check(shape: &[usize]) {
        let dev = Device::Cpu;
        let c = shape[1];
        let n: usize = shape.iter().product();
        let xv: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 / 13.0).sin() * 3.0 + 1.0)
            .collect();
        let x = Var::from_vec(xv, shape, &dev).unwrap();
        let w = Var::from_vec((0..c).map(|i| 0.5 + i as f32 * 0.3).collect(), c, &dev).unwrap();
        let b = Var::from_vec((0..c).map(|i| i as f32 * -0.2).collect(), c, &dev).unwrap();
        let up: Vec<f32> = (0..n).map(|i| ((i * 11 % 7) as f32 - 3.0) / 3.0).collect();
        let up = Tensor::from_vec(up, shape, &dev).unwrap();

        let (y, mean, var) = batch_norm_train(&x, &w, &b, 1e-5).unwrap();
        let yr = reference(&x, &w, &b, 1e-5).unwrap();
        let diff = (&y - &yr)
            .unwrap()
            .abs()
            .unwrap()
            .max_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(diff < 1e-4, "forward {shape:?}: {diff}");
        assert_eq!(mean.dims(), &[c]);
        assert_eq!(var.dims(), &[c]);

        let g = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
        let gr = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
        for (name, t) in [
            ("x", x.as_tensor()),
            ("w", w.as_tensor()),
            ("b", b.as_tensor()),
        ] {
            let a = g.get(t).unwrap();
            let r = gr.get(t).unwrap();
            let d = (a - r)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(d < 1e-4, "grad {name} {shape:?}: {d}");
        }
    }

    #[test]
    fn fused_activations_equal_batch_norm_then_the_activation() {
        let dev = Device::Cpu;
        let shape = (3, 4, 5, 7);
        let x = Var::from_tensor(&Tensor::randn(0f32, 2., shape, &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&(Tensor::randn(0f32, 3., 4, &dev).unwrap())).unwrap();
        let b =
            Var::from_tensor(&(Tensor::randn(0f32, 2., 4, &dev).unwrap() + 1.0).unwrap()).unwrap();
        let up = Tensor::randn(0f32, 1., shape, &dev).unwrap();
        for act in [Act::Relu, Act::Relu6] {
            let (y, m, v) = batch_norm_train_act(&x, &w, &b, 1e-5, act).unwrap();
            let (lin, mr, vr) = batch_norm_train(&x, &w, &b, 1e-5).unwrap();
            let yr = match act {
                Act::Relu => crate::ops::relu(&lin).unwrap(),
                _ => crate::ops::relu6(&lin).unwrap(),
            };
            assert_eq!(max_diff(&y, &yr), 0.0);
            assert_eq!((max_diff(&m, &mr), max_diff(&v, &vr)), (0.0, 0.0));
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for t in [x.as_tensor(), w.as_tensor(), b.as_tensor()] {
                let d = max_diff(ga.get(t).unwrap(), gb.get(t).unwrap());
                assert!(d < 1e-4, "{act:?}: {d}");
            }
        }
    }

    #[test]
    fn residual_sum_equals_batch_norm_then_the_sum_and_the_activation() {
        let dev = Device::Cpu;
        let shape = (3, 4, 5, 7);
        let x = Var::from_tensor(&Tensor::randn(0f32, 2., shape, &dev).unwrap()).unwrap();
        let id = Var::from_tensor(&Tensor::randn(0f32, 1., shape, &dev).unwrap()).unwrap();
        let w = Var::from_tensor(&(Tensor::randn(0f32, 3., 4, &dev).unwrap())).unwrap();
        let b =
            Var::from_tensor(&(Tensor::randn(0f32, 2., 4, &dev).unwrap() + 1.0).unwrap()).unwrap();
        let up = Tensor::randn(0f32, 1., shape, &dev).unwrap();
        for act in [Act::Identity, Act::Relu, Act::Relu6] {
            let (y, m, v) = batch_norm_train_add_act(&x, &id, &w, &b, 1e-5, act).unwrap();
            let (lin, mr, vr) = batch_norm_train(&x, &w, &b, 1e-5).unwrap();
            let sum = (lin + id.as_tensor()).unwrap();
            let yr = match act {
                Act::Identity => sum,
                Act::Relu => crate::ops::relu(&sum).unwrap(),
                _ => crate::ops::relu6(&sum).unwrap(),
            };
            assert_eq!(max_diff(&y, &yr), 0.0, "{act:?}");
            assert_eq!((max_diff(&m, &mr), max_diff(&v, &vr)), (0.0, 0.0));
            let ga = (y * &up).unwrap().sum_all().unwrap().backward().unwrap();
            let gb = (yr * &up).unwrap().sum_all().unwrap().backward().unwrap();
            for (name, t) in [
                ("x", x.as_tensor()),
                ("identity", id.as_tensor()),
                ("weight", w.as_tensor()),
                ("bias", b.as_tensor()),
            ] {
                let d = max_diff(ga.get(t).unwrap(), gb.get(t).unwrap());
                assert!(d < 1e-4, "{act:?} {name}: {d}");
            }
        }
        let other = Tensor::zeros((3, 4, 5, 6), DType::F32, &dev).unwrap();
        let err = batch_norm_train_add_act(&x, &other, &w, &b, 1e-5, Act::Relu).unwrap_err();
        assert!(err.to_string().contains("identity branch"), "{err}");
    }

    #[test]
    fn matches_composed_batch_norm_1d_and_2d() {
        check(&[7, 3]);
        check(&[2, 4, 3, 5]);
        check(&[1, 2, 4, 4]);
    }
}
