//! Cross-entropy over a class axis as one op with its own backward.
//!
//! Composed from candle's ops, `log_softmax` then `nll` is about a dozen tensors forward and
//! two dozen backward, and a class axis other than the last (segmentation's `[B, C, H, W]`)
//! would first need a transposed copy of the logits. On the CPU this op reads the logits where
//! they lie, as `[outer, C, inner]`: the forward computes the mean loss in one pass and keeps
//! only each position's log-sum-exp; the backward rebuilds `(softmax - onehot) / n` from the
//! logits and those. Other devices and dtypes use the composed form along the axis.

use super::par::min_len;
use super::storage::{cpu_f32, with_f32};
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;
use std::sync::{Arc, Mutex};

/// The mean cross-entropy of `logits` (`[N, C]`) against class indices `target` (`u32`, `[N]`),
/// skipping targets equal to `ignore_index` (the mean is over the others).
pub fn cross_entropy(
    logits: &Tensor,
    target: &Tensor,
    ignore_index: Option<u32>,
) -> Result<Tensor> {
    let (n, _) = logits.dims2()?;
    if target.elem_count() != n {
        bail!(
            "cross_entropy: {n} rows of logits but {} targets",
            target.elem_count()
        );
    }
    cross_entropy_axis(logits, target, 1, ignore_index)
}

/// The mean cross-entropy of `logits` whose classes lie along `axis` (`[B, C, H, W]` with axis
/// 1 for segmentation) against class indices `target` (`u32`, one per position of `logits`
/// without that axis, in the same order: `[B, H, W]`), as PyTorch's
/// `F.cross_entropy(logits, target, ignore_index=...)`. Positions whose target equals
/// `ignore_index` count neither in the sum nor in the mean; if every one is ignored the loss
/// is 0. A target (not ignored) outside the classes is an error that names it.
pub fn cross_entropy_axis(
    logits: &Tensor,
    target: &Tensor,
    axis: usize,
    ignore_index: Option<u32>,
) -> Result<Tensor> {
    let dims = logits.dims();
    if axis >= dims.len() {
        bail!("cross_entropy: class axis {axis} of logits {dims:?}");
    }
    let c = dims[axis];
    let inner: usize = dims[axis + 1..].iter().product();
    let positions = logits.elem_count() / c.max(1);
    if c == 0 || target.elem_count() != positions {
        bail!(
            "cross_entropy: logits {dims:?} with classes on axis {axis} need {positions} targets, not {:?}",
            target.dims()
        );
    }
    let target = target.flatten_all()?.to_dtype(DType::U32)?;
    if super::native_f32(&[logits]) {
        let op = CrossEntropy {
            c,
            inner,
            ignore_index,
            saved: Arc::default(),
        };
        return logits.contiguous()?.apply_op2(&target, op);
    }
    composed(logits, &target, axis, ignore_index)
}

/// `log_softmax` and `nll` from candle's ops, along `axis`, for devices and dtypes without the
/// fused op. `target` is flat.
fn composed(
    logits: &Tensor,
    target: &Tensor,
    axis: usize,
    ignore_index: Option<u32>,
) -> Result<Tensor> {
    let c = logits.dim(axis)?;
    let mut index_shape = logits.dims().to_vec();
    index_shape[axis] = 1;
    let target = target.reshape(index_shape)?;
    let keep = ignore_index.map(|ix| target.ne(ix)).transpose()?;
    let safe = match &keep {
        Some(k) => k.where_cond(&target, &target.zeros_like()?)?,
        None => target,
    };
    if safe.elem_count() > 0 {
        let top = safe.max_all()?.to_scalar::<u32>()?;
        if top as usize >= c {
            bail!("cross_entropy: target {top} is not below the {c} classes");
        }
    }
    let picked = log_softmax(logits, axis)?.gather(&safe, axis)?;
    match keep {
        None => picked.mean_all()?.neg(),
        Some(keep) => {
            let keep = keep.to_dtype(logits.dtype())?;
            let count = keep.sum_all()?.maximum(1f64)?;
            (picked * keep)?.sum_all()?.div(&count)?.neg()
        }
    }
}

fn log_softmax(x: &Tensor, axis: usize) -> Result<Tensor> {
    let max = x.max_keepdim(axis)?;
    let shifted = x.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(axis)?.log()?;
    shifted.broadcast_sub(&lse)
}

/// Columns of one `[C, inner]` block the forward walks at once (its running max and sum stay
/// on the stack).
const TILE: usize = 64;

struct CrossEntropy {
    c: usize,
    inner: usize,
    ignore_index: Option<u32>,
    /// Each position's log-sum-exp and the number of counted positions, for the backward.
    saved: Arc<Mutex<(Vec<f32>, usize)>>,
}

impl CrossEntropy {
    /// One `[C, inner]` block `x` (block `o` of the outer axes) with its targets `t`: writes the
    /// log-sum-exp of each position to `lse`, returns the summed loss and the counted positions.
    fn block(&self, o: usize, x: &[f32], t: &[u32], lse: &mut [f32]) -> Result<(f64, usize)> {
        let (c, inner) = (self.c, self.inner);
        let (mut max, mut sum) = ([0f32; TILE], [0f32; TILE]);
        let (mut total, mut counted) = (0f64, 0usize);
        for j0 in (0..inner).step_by(TILE) {
            let w = TILE.min(inner - j0);
            let (m, s) = (&mut max[..w], &mut sum[..w]);
            m.fill(f32::NEG_INFINITY);
            s.fill(0.0);
            for k in 0..c {
                let xk = &x[k * inner + j0..][..w];
                m.iter_mut().zip(xk).for_each(|(m, &v)| *m = m.max(v));
            }
            for k in 0..c {
                let xk = &x[k * inner + j0..][..w];
                for ((s, &m), &v) in s.iter_mut().zip(m.iter()).zip(xk) {
                    *s += (v - m).exp();
                }
            }
            for j in 0..w {
                let l = m[j] + s[j].ln();
                lse[j0 + j] = l;
                let tj = t[j0 + j];
                if Some(tj) == self.ignore_index {
                    continue;
                }
                if tj as usize >= c {
                    bail!(
                        "cross_entropy: target {tj} at position {} is not below the {c} classes",
                        o * inner + j0 + j
                    );
                }
                total += (l - x[tj as usize * inner + j0 + j]) as f64;
                counted += 1;
            }
        }
        Ok((total, counted))
    }
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = cpu_f32(s1, l1)?;
        let t = match (s2, l2.contiguous_offsets()) {
            (CpuStorage::U32(t), Some((a, b))) => &t[a..b],
            _ => bail!("cross_entropy: targets must be contiguous u32"),
        };
        let (c, inner) = (self.c, self.inner);
        let mut lse = vec![0f32; t.len()];
        // Per-block sums, added in order so that the loss does not depend on the threads.
        let parts = lse
            .par_chunks_mut(inner)
            .zip(x.par_chunks(c * inner).zip(t.par_chunks(inner)))
            .enumerate()
            .with_min_len(min_len(c * inner))
            .map(|(o, (lse, (x, t)))| self.block(o, x, t, lse))
            .collect::<Result<Vec<_>>>()?;
        let (total, counted) = parts
            .into_iter()
            .fold((0f64, 0usize), |(a, n), (b, m)| (a + b, n + m));
        *self.saved.lock().expect("cross entropy lock poisoned") = (lse, counted);
        let mean = if counted == 0 {
            0.0
        } else {
            (total / counted as f64) as f32
        };
        Ok((CpuStorage::F32(vec![mean]), Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        target: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let saved = self.saved.lock().expect("cross entropy lock poisoned");
        let (lse, counted) = (&saved.0, saved.1);
        let scale = if counted == 0 {
            0.0
        } else {
            g / counted as f32
        };
        let t = target.to_vec1::<u32>()?;
        let (c, inner, ignore) = (self.c, self.inner, self.ignore_index);
        let d = with_f32(logits, |x| {
            let mut d = vec![0f32; x.len()];
            // Row `r` is class `r % c` of block `r / c`: `inner` contiguous positions.
            d.par_chunks_mut(inner)
                .zip(x.par_chunks(inner))
                .enumerate()
                .with_min_len(min_len(inner))
                .for_each(|(r, (d, x))| {
                    let (o, k) = (r / c, (r % c) as u32);
                    let lse = &lse[o * inner..][..inner];
                    let t = &t[o * inner..][..inner];
                    for (((d, &v), &l), &tj) in d.iter_mut().zip(x).zip(lse).zip(t) {
                        *d = if Some(tj) == ignore {
                            0.0
                        } else {
                            ((v - l).exp() - f32::from(u8::from(tj == k))) * scale
                        };
                    }
                });
            Ok(d)
        })?;
        Ok((
            Some(Tensor::from_vec(d, logits.shape(), logits.device())?),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};

    fn fill(n: usize) -> Vec<f32> {
        (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 2.0).collect()
    }

    /// The loss and the gradient of `3 * loss` with respect to the logits.
    fn loss_and_grad(x: &Var, t: &Tensor, axis: usize, ignore: Option<u32>) -> (f32, Vec<f32>) {
        let loss = cross_entropy_axis(x, t, axis, ignore).unwrap();
        let grads = (&loss * 3.0).unwrap().backward().unwrap();
        let g = grads.get(x.as_tensor()).unwrap();
        let g = g.to_dtype(DType::F32).unwrap().flatten_all().unwrap();
        let l = loss.to_dtype(DType::F32).unwrap().to_scalar().unwrap();
        (l, g.to_vec1().unwrap())
    }

    fn assert_close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (p, q) in a.iter().zip(b) {
            assert!((p - q).abs() < tol, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn matches_the_composed_form_forward_and_backward() {
        let dev = Device::Cpu;
        let v = fill(15);
        let t = Tensor::new(&[0u32, 2, 1, 2, 0], &dev).unwrap();
        for ignore in [None, Some(2u32)] {
            let x = Var::from_vec(v.clone(), (5, 3), &dev).unwrap();
            let ours = cross_entropy(&x, &t, ignore).unwrap();
            let logp = log_softmax(&x, 1).unwrap();
            let picked = logp
                .gather(&t.unsqueeze(1).unwrap(), 1)
                .unwrap()
                .squeeze(1)
                .unwrap();
            let keep: Vec<f32> = t
                .to_vec1::<u32>()
                .unwrap()
                .iter()
                .map(|&c| f32::from(Some(c) != ignore))
                .collect();
            let n: f32 = keep.iter().sum();
            let keep = Tensor::new(keep.as_slice(), &dev).unwrap();
            let reference =
                ((picked * keep).unwrap().sum_all().unwrap() * (-1.0 / n as f64)).unwrap();
            let a = ours.to_scalar::<f32>().unwrap();
            let b = reference.to_scalar::<f32>().unwrap();
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
            let ga = (ours * 3.0).unwrap().backward().unwrap();
            let gb = (reference * 3.0).unwrap().backward().unwrap();
            let flat = |g: &candle_core::backprop::GradStore| -> Vec<f32> {
                let g = g.get(x.as_tensor()).unwrap();
                g.flatten_all().unwrap().to_vec1().unwrap()
            };
            assert_close(&flat(&ga), &flat(&gb), 1e-6);
        }
    }

    /// The fused op (f32) against the composed form along the axis (f64), on every axis of a
    /// 4-D tensor, with and without an ignored code inside and outside the classes.
    #[test]
    fn any_class_axis_matches_the_composed_form() {
        let dev = Device::Cpu;
        let dims = [2usize, 3, 4, 5];
        let v = fill(120);
        for axis in 0..4 {
            let c = dims[axis];
            let n = 120 / c;
            let codes: Vec<u32> = (0..n).map(|i| ((i * 5 + 1) % c) as u32).collect();
            let mut with_void = codes.clone();
            with_void[3] = 255;
            with_void[n - 1] = 255;
            for (codes, ignore) in [
                (&codes, None),
                (&codes, Some(1u32)),
                (&with_void, Some(255u32)),
            ] {
                let t = Tensor::new(codes.as_slice(), &dev).unwrap();
                let x32 = Var::from_vec(v.clone(), &dims, &dev).unwrap();
                let x64 = Var::from_tensor(&x32.to_dtype(DType::F64).unwrap()).unwrap();
                let (a, ga) = loss_and_grad(&x32, &t, axis, ignore);
                let (b, gb) = loss_and_grad(&x64, &t, axis, ignore);
                assert!((a - b).abs() < 1e-5, "axis {axis} {ignore:?}: {a} vs {b}");
                assert_close(&ga, &gb, 1e-5);
            }
        }
    }

    #[test]
    fn class_axis_one_is_the_flattened_last_axis_form() {
        // [B, C, H, W] with axis 1 equals [B*H*W, C] after moving the classes last.
        let dev = Device::Cpu;
        let x = Tensor::from_vec(fill(2 * 3 * 2 * 2), (2, 3, 2, 2), &dev).unwrap();
        let t = Tensor::new(&[[[0u32, 2], [1, 1]], [[2, 0], [0, 1]]], &dev).unwrap();
        let a = cross_entropy_axis(&x, &t, 1, None).unwrap();
        let flat = x.permute((0, 2, 3, 1)).unwrap().reshape((8, 3)).unwrap();
        let b = cross_entropy(&flat, &t.flatten_all().unwrap(), None).unwrap();
        let (a, b) = (a.to_scalar::<f32>().unwrap(), b.to_scalar::<f32>().unwrap());
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn all_ignored_is_a_zero_loss_with_zero_gradient() {
        let dev = Device::Cpu;
        let x = Var::from_vec(fill(12), (1, 3, 4), &dev).unwrap();
        let t = Tensor::new(&[[9u32, 9, 9, 9]], &dev).unwrap();
        let (l, g) = loss_and_grad(&x, &t, 1, Some(9));
        assert_eq!(l, 0.0);
        assert!(g.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_target_out_of_range_is_an_error_naming_it() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3), DType::F32, &dev).unwrap();
        let t = Tensor::new(&[0u32, 3], &dev).unwrap();
        let e = cross_entropy(&x, &t, None).unwrap_err().to_string();
        assert!(e.contains("target 3"), "{e}");
        for dtype in [DType::F32, DType::F64] {
            let x = Tensor::zeros((1, 3, 2, 2), dtype, &dev).unwrap();
            let t = Tensor::new(&[[[0u32, 7], [255, 1]]], &dev).unwrap();
            let e = cross_entropy_axis(&x, &t, 1, Some(255))
                .unwrap_err()
                .to_string();
            assert!(e.contains("target 7"), "{dtype:?}: {e}");
            assert!(cross_entropy_axis(&x, &t.clamp(0u32, 2u32).unwrap(), 1, None).is_ok());
        }
    }

    #[test]
    fn a_target_count_that_does_not_fit_is_an_error() {
        let dev = Device::Cpu;
        let x = Tensor::zeros((2, 3, 2, 2), DType::F32, &dev).unwrap();
        let t = Tensor::zeros((2, 2, 3), DType::U32, &dev).unwrap();
        assert!(cross_entropy_axis(&x, &t, 1, None).is_err());
        assert!(cross_entropy_axis(&x, &t.narrow(2, 0, 2).unwrap(), 4, None).is_err());
        let t = Tensor::zeros(3, DType::U32, &dev).unwrap();
        assert!(cross_entropy(&x.reshape((8, 3)).unwrap(), &t, None).is_err());
    }
}
