//! The update rules, as fused elementwise kernels on the CPU and as candle ops elsewhere.

use super::optimizer::Hypers;
use candle_core::{Result, Tensor};

/// What one update of one parameter needs besides the parameter, its gradient and its state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepCtx {
    /// The group's hyper-parameters.
    pub h: Hypers,
    /// The weight decay that applies to this parameter (0 for BatchNorm and bias by default).
    pub wd: f64,
    /// Decoupled weight decay (else L2).
    pub decouple_wd: bool,
    /// The step count, from 1.
    pub step: u64,
}

/// An update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OptFunc {
    /// fastai's `Adam`: `weight_decay` (decoupled), `average_grad(dampening=True)`,
    /// `average_sqr_grad`, `step_stat`, `adam_step`. Equal to PyTorch's `AdamW` with
    /// `betas=(mom, sqr_mom)`.
    #[default]
    Adam,
    /// fastai's `SGD`: weight decay (decoupled, or L2 when `decouple_wd` is off), then
    /// `average_grad` without dampening and `momentum_step` when `mom > 0`.
    Sgd,
}

impl OptFunc {
    /// How many state buffers each parameter needs. SGD always keeps its momentum buffer, as
    /// schedules can raise `mom` from 0 after the state is made (with `mom` 0 the buffer is the
    /// gradient and the step is plain SGD).
    pub fn n_state(self) -> usize {
        match self {
            OptFunc::Adam => 2,
            OptFunc::Sgd => 1,
        }
    }

    /// The fastai name.
    pub fn name(self) -> &'static str {
        match self {
            OptFunc::Adam => "Adam",
            OptFunc::Sgd => "SGD",
        }
    }

    /// The update of one chunk of a parameter on the CPU.
    pub(crate) fn step_cpu(
        self,
        p: &mut [f32],
        g: &[f32],
        state: &mut [&mut [f32]],
        ctx: &StepCtx,
    ) {
        let StepCtx {
            h,
            wd,
            decouple_wd,
            step,
        } = *ctx;
        let lr = h.lr as f32;
        let decay = if decouple_wd {
            1.0 - (h.lr * wd) as f32
        } else {
            1.0
        };
        let l2 = if decouple_wd { 0.0 } else { wd as f32 };
        match self {
            OptFunc::Adam => {
                let (mom, sqr_mom) = (h.mom as f32, h.sqr_mom as f32);
                let debias1 = 1.0 - h.mom.powi(step as i32);
                let debias2 = 1.0 - h.sqr_mom.powi(step as i32);
                let step_size = (h.lr / debias1) as f32;
                let inv_d2 = (1.0 / debias2) as f32;
                let eps = h.eps as f32;
                let [m, v] = state else {
                    unreachable!("Adam keeps two buffers")
                };
                for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                    let g = g + l2 * *p;
                    *p *= decay;
                    *m = mom * *m + (1.0 - mom) * g;
                    *v = sqr_mom * *v + (1.0 - sqr_mom) * g * g;
                    *p -= step_size * *m / ((*v * inv_d2).sqrt() + eps);
                }
            }
            OptFunc::Sgd => {
                let [buf] = state else {
                    unreachable!("SGD keeps one buffer")
                };
                let mom = h.mom as f32;
                for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                    let g = g + l2 * *p;
                    *p *= decay;
                    *b = mom * *b + g;
                    *p -= lr * *b;
                }
            }
        }
    }

    /// The same update with candle ops, for devices other than the CPU. Returns the new value.
    pub(crate) fn step_tensor(
        self,
        p: &Tensor,
        g: &Tensor,
        state: &mut [Tensor],
        ctx: &StepCtx,
    ) -> Result<Tensor> {
        let StepCtx {
            h,
            wd,
            decouple_wd,
            step,
        } = *ctx;
        let g = if decouple_wd || wd == 0.0 {
            g.clone()
        } else {
            (g + (p * wd)?)?
        };
        let p = if decouple_wd && wd != 0.0 {
            (p * (1.0 - h.lr * wd))?
        } else {
            p.clone()
        };
        match self {
            OptFunc::Adam => {
                let [m, v] = state else {
                    unreachable!("Adam keeps two buffers")
                };
                *m = ((&*m * h.mom)? + (&g * (1.0 - h.mom))?)?;
                *v = ((&*v * h.sqr_mom)? + (g.sqr()? * (1.0 - h.sqr_mom))?)?;
                let debias1 = 1.0 - h.mom.powi(step as i32);
                let debias2 = 1.0 - h.sqr_mom.powi(step as i32);
                let denom = ((&*v / debias2)?.sqrt()? + h.eps)?;
                p - ((&*m / &denom)? * (h.lr / debias1))?
            }
            OptFunc::Sgd => {
                let [buf] = state else {
                    unreachable!("SGD keeps one buffer")
                };
                *buf = ((&*buf * h.mom)? + &g)?;
                p - (&*buf * h.lr)?
            }
        }
    }
}
