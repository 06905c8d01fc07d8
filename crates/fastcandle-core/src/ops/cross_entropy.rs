//! Cross-entropy over the last axis as one op with its own backward.
//!
//! Composed from candle's ops, `log_softmax` then `nll` is about a dozen tensors forward and
//! two dozen backward. On the CPU this op computes the mean loss in one pass over the logits and
//! keeps the softmax for a backward of `(softmax - onehot) / n`. Other devices use the composed
//! form.

use super::storage::cpu_f32;
use candle_core::{CpuStorage, CustomOp2, D, DType, Layout, Result, Shape, Tensor, bail};
use std::sync::{Arc, Mutex};

/// The mean cross-entropy of `logits` (`[N, C]`) against class indices `target` (`u32`, `[N]`),
/// skipping targets equal to `ignore_index` (the mean is over the others).
pub fn cross_entropy(
    logits: &Tensor,
    target: &Tensor,
    ignore_index: Option<u32>,
) -> Result<Tensor> {
    let (n, c) = logits.dims2()?;
    if target.elem_count() != n {
        bail!(
            "cross_entropy: {n} rows of logits but {} targets",
            target.elem_count()
        );
    }
    let target = target.flatten_all()?.to_dtype(DType::U32)?;
    if logits.device().is_cpu() && logits.dtype() == DType::F32 {
        let op = CrossEntropy {
            c,
            ignore_index,
            softmax: Arc::default(),
        };
        return logits.contiguous()?.apply_op2(&target, op);
    }
    let logp = candle_nn_free_log_softmax(logits)?;
    match ignore_index {
        None => logp
            .gather(&target.unsqueeze(1)?, 1)?
            .squeeze(1)?
            .mean_all()?
            .neg(),
        Some(ix) => {
            let keep = target.ne(ix)?;
            let safe = keep.where_cond(&target, &target.zeros_like()?)?;
            let picked = logp.gather(&safe.unsqueeze(1)?, 1)?.squeeze(1)?;
            let keep = keep.to_dtype(logits.dtype())?;
            let count = keep.sum_all()?.maximum(1f64)?;
            (picked * keep)?.sum_all()?.div(&count)?.neg()
        }
    }
}

fn candle_nn_free_log_softmax(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?;
    let shifted = x.broadcast_sub(&max)?;
    let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
    shifted.broadcast_sub(&lse)
}

struct CrossEntropy {
    c: usize,
    ignore_index: Option<u32>,
    /// Softmax of the forward's logits and the number of counted rows, for the backward.
    softmax: Arc<Mutex<(Vec<f32>, usize)>>,
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
        let c = self.c;
        let mut soft = vec![0f32; x.len()];
        let mut total = 0f64;
        let mut counted = 0usize;
        for (i, (row, out)) in x.chunks(c).zip(soft.chunks_mut(c)).enumerate() {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0f32;
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - max).exp();
                sum += *o;
            }
            let inv = 1.0 / sum;
            out.iter_mut().for_each(|o| *o *= inv);
            let ti = t[i];
            if Some(ti) == self.ignore_index {
                out.iter_mut().for_each(|o| *o = 0.0);
                continue;
            }
            if ti as usize >= c {
                bail!("cross_entropy: target {ti} at row {i} is not below the {c} classes");
            }
            total += (max + sum.ln() - row[ti as usize]) as f64;
            counted += 1;
            out[ti as usize] -= 1.0;
        }
        *self.softmax.lock().expect("cross entropy lock poisoned") = (soft, counted);
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
        _t: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.to_dtype(DType::F32)?.to_scalar::<f32>()?;
        let (d, counted) = {
            let s = self.softmax.lock().expect("cross entropy lock poisoned");
            (s.0.clone(), s.1)
        };
        let k = if counted == 0 {
            0.0
        } else {
            g / counted as f32
        };
        let d: Vec<f32> = d.into_iter().map(|v| v * k).collect();
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

    #[test]
    fn matches_the_composed_form_forward_and_backward() {
        let dev = Device::Cpu;
        let v: Vec<f32> = (0..15).map(|i| ((i * 7 % 11) as f32 - 5.0) / 2.0).collect();
        let t = Tensor::new(&[0u32, 2, 1, 2, 0], &dev).unwrap();
        for ignore in [None, Some(2u32)] {
            let x = Var::from_vec(v.clone(), (5, 3), &dev).unwrap();
            let ours = cross_entropy(&x, &t, ignore).unwrap();
            let logp = candle_nn_free_log_softmax(&x).unwrap();
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
            let ga: Vec<f32> = ga
                .get(x.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            let gb: Vec<f32> = gb
                .get(x.as_tensor())
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1()
                .unwrap();
            for (p, q) in ga.iter().zip(&gb) {
                assert!((p - q).abs() < 1e-6, "{ga:?} vs {gb:?}");
            }
        }
    }

    #[test]
    fn a_target_out_of_range_is_an_error() {
        let x = Tensor::zeros((2, 3), DType::F32, &Device::Cpu).unwrap();
        let t = Tensor::new(&[0u32, 3], &Device::Cpu).unwrap();
        assert!(cross_entropy(&x, &t, None).is_err());
    }
}
