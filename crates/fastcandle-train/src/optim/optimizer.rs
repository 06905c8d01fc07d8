//! The optimizer: parameter groups, hyper-parameters per group, and per-parameter state.

use super::kernels::{OptFunc, StepCtx};
use crate::error::{Error, Result};
use candle_core::backprop::GradStore;
use candle_core::{CpuStorage, InplaceOp2, Layout, Tensor};
use fastcandle_core::Param;
use rayon::prelude::*;
use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// Tensors by name, in order.
pub type NamedTensors = Vec<(String, Tensor)>;

/// The hyper-parameters of one parameter group (fastai's names).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hypers {
    /// Learning rate.
    pub lr: f64,
    /// Momentum (Adam's beta1).
    pub mom: f64,
    /// Adam's beta2.
    pub sqr_mom: f64,
    /// Adam's epsilon.
    pub eps: f64,
    /// Weight decay.
    pub wd: f64,
}

impl Hypers {
    /// fastai's defaults for `opt`: Adam `lr=1e-3, mom=0.9, sqr_mom=0.99, eps=1e-5, wd=0.01`;
    /// SGD `lr=1e-3, mom=0.9, wd=0`.
    pub fn defaults(opt: OptFunc) -> Self {
        match opt {
            OptFunc::Adam => Hypers {
                lr: 1e-3,
                mom: 0.9,
                sqr_mom: 0.99,
                eps: 1e-5,
                wd: 0.01,
            },
            OptFunc::Sgd => Hypers {
                lr: 1e-3,
                mom: 0.9,
                sqr_mom: 0.99,
                eps: 1e-5,
                wd: 0.0,
            },
        }
    }
}

/// One group of parameters sharing hyper-parameters.
#[derive(Debug, Clone)]
pub struct ParamGroup {
    /// The parameters (buffers never appear here).
    pub params: Vec<Param>,
    /// The group's hyper-parameters.
    pub hypers: Hypers,
}

/// The state of one parameter: the step count and the rule's buffers.
#[derive(Debug, Clone)]
pub enum OptState {
    /// Buffers kept on the host, updated in place by the CPU kernels.
    Host {
        /// Steps taken.
        step: u64,
        /// One buffer per state of the rule (Adam: averages of the gradient and its square).
        bufs: Vec<Vec<f32>>,
    },
    /// Buffers as device tensors, for GPUs.
    Device {
        /// Steps taken.
        step: u64,
        /// One buffer per state of the rule.
        bufs: Vec<Tensor>,
    },
}

impl OptState {
    fn step(&self) -> u64 {
        match self {
            OptState::Host { step, .. } | OptState::Device { step, .. } => *step,
        }
    }
}

/// An optimizer over parameter groups.
pub struct Optimizer {
    /// The parameter groups, earliest layers first.
    pub groups: Vec<ParamGroup>,
    /// The update rule.
    pub opt_func: OptFunc,
    /// Decoupled weight decay (fastai's `decouple_wd`, default true); off means L2.
    pub decouple_wd: bool,
    /// Weight decay on BatchNorm and bias parameters too (fastai's `wd_bn_bias`, default false).
    pub wd_bn_bias: bool,
    state: HashMap<String, OptState>,
}

impl Optimizer {
    /// An optimizer for `groups` of parameters (buffers are left out), each starting with `hypers`.
    pub fn new(groups: Vec<Vec<Param>>, opt_func: OptFunc, hypers: Hypers) -> Self {
        let groups = groups
            .into_iter()
            .map(|ps| ParamGroup {
                params: ps
                    .into_iter()
                    .filter(|p| p.kind != fastcandle_core::ParamKind::Buffer)
                    .collect(),
                hypers,
            })
            .collect();
        Self {
            groups,
            opt_func,
            decouple_wd: true,
            wd_bn_bias: false,
            state: HashMap::new(),
        }
    }

    /// An optimizer over a model's parameters, grouped by their layer group.
    pub fn for_store(
        store: &fastcandle_core::ParamStore,
        opt_func: OptFunc,
        hypers: Hypers,
    ) -> Self {
        let mut groups = vec![Vec::new(); store.n_groups()];
        for p in store.parameters() {
            groups[p.group].push(p);
        }
        Self::new(groups, opt_func, hypers)
    }

    /// Sets a hyper-parameter for every group from one value per group (or one for all).
    pub fn set_hyper(&mut self, name: &str, values: &[f64]) -> Result<()> {
        let n = self.groups.len();
        if values.len() != 1 && values.len() != n {
            return Err(Error::Invalid(format!(
                "{} values of `{name}` for {n} parameter groups",
                values.len()
            )));
        }
        for (i, g) in self.groups.iter_mut().enumerate() {
            let v = if values.len() == 1 {
                values[0]
            } else {
                values[i]
            };
            let h = &mut g.hypers;
            match name {
                "lr" => h.lr = v,
                "mom" => h.mom = v,
                "sqr_mom" => h.sqr_mom = v,
                "eps" => h.eps = v,
                "wd" => h.wd = v,
                _ => return Err(Error::Invalid(format!("unknown hyper-parameter `{name}`"))),
            }
        }
        Ok(())
    }

    /// The value of a hyper-parameter in each group.
    pub fn hyper(&self, name: &str) -> Vec<f64> {
        self.groups
            .iter()
            .map(|g| match name {
                "lr" => g.hypers.lr,
                "mom" => g.hypers.mom,
                "sqr_mom" => g.hypers.sqr_mom,
                "eps" => g.hypers.eps,
                _ => g.hypers.wd,
            })
            .collect()
    }

    /// Updates every trainable parameter that has a gradient in `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        for group in &self.groups {
            let h = group.hypers;
            for p in &group.params {
                if !p.trainable() {
                    continue;
                }
                let Some(g) = grads.get(p.var.as_tensor()) else {
                    continue;
                };
                let wd = if p.decays() || self.wd_bn_bias {
                    h.wd
                } else {
                    0.0
                };
                let n_buf = self.opt_func.n_state();
                let t = p.var.as_tensor();
                // The fused host update, unless the composed (device) form is forced for checking.
                let on_cpu = fastcandle_core::ops::native_f32(&[t]);
                let state = match self.state.entry(p.name.clone()) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) if on_cpu => e.insert(OptState::Host {
                        step: 0,
                        bufs: vec![vec![0f32; t.elem_count()]; n_buf],
                    }),
                    // Allocating on a device can fail (out of memory): an error, not a panic.
                    Entry::Vacant(e) => e.insert(OptState::Device {
                        step: 0,
                        bufs: (0..n_buf)
                            .map(|_| t.zeros_like())
                            .collect::<candle_core::Result<_>>()?,
                    }),
                };
                match state {
                    OptState::Host { step, bufs } => {
                        *step += 1;
                        let g = g.contiguous()?;
                        let op = StepOp {
                            func: self.opt_func,
                            bufs: RefCell::new(bufs),
                            ctx: StepCtx {
                                h,
                                wd,
                                decouple_wd: self.decouple_wd,
                                step: *step,
                            },
                        };
                        t.inplace_op2(&g, &op)?;
                    }
                    OptState::Device { step, bufs } => {
                        *step += 1;
                        let ctx = StepCtx {
                            h,
                            wd,
                            decouple_wd: self.decouple_wd,
                            step: *step,
                        };
                        let new = self.opt_func.step_tensor(t, g, bufs, &ctx)?;
                        p.var.set(&new)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The state as named tensors (`<param>.<buffer index>`) and the step counts, for checkpoints.
    pub fn state_tensors(&self) -> Result<(NamedTensors, HashMap<String, u64>)> {
        let mut tensors = Vec::new();
        let mut steps = HashMap::new();
        for g in &self.groups {
            for p in &g.params {
                let Some(s) = self.state.get(&p.name) else {
                    continue;
                };
                steps.insert(p.name.clone(), s.step());
                match s {
                    OptState::Host { bufs, .. } => {
                        for (i, b) in bufs.iter().enumerate() {
                            let t = Tensor::from_slice(
                                b,
                                p.tensor().shape(),
                                &candle_core::Device::Cpu,
                            )?;
                            tensors.push((format!("{}.{i}", p.name), t));
                        }
                    }
                    OptState::Device { bufs, .. } => {
                        for (i, b) in bufs.iter().enumerate() {
                            tensors.push((format!("{}.{i}", p.name), b.clone()));
                        }
                    }
                }
            }
        }
        Ok((tensors, steps))
    }

    /// Restores the state saved by [`Optimizer::state_tensors`].
    pub fn load_state(
        &mut self,
        tensors: &HashMap<String, Tensor>,
        steps: &HashMap<String, u64>,
    ) -> Result<()> {
        self.state.clear();
        for g in &self.groups {
            for p in &g.params {
                let Some(&step) = steps.get(&p.name) else {
                    continue;
                };
                let mut bufs = Vec::new();
                while let Some(t) = tensors.get(&format!("{}.{}", p.name, bufs.len())) {
                    if t.dims() != p.tensor().dims() {
                        return Err(Error::Invalid(format!(
                            "optimizer state of `{}` has shape {:?}, the parameter {:?}",
                            p.name,
                            t.dims(),
                            p.tensor().dims()
                        )));
                    }
                    bufs.push(t.clone());
                }
                let t = p.tensor();
                let state = if fastcandle_core::ops::native_f32(&[t]) {
                    OptState::Host {
                        step,
                        bufs: bufs
                            .iter()
                            .map(|b| {
                                b.flatten_all()?
                                    .to_dtype(candle_core::DType::F32)?
                                    .to_vec1::<f32>()
                            })
                            .collect::<candle_core::Result<_>>()?,
                    }
                } else {
                    OptState::Device {
                        step,
                        bufs: bufs
                            .iter()
                            .map(|b| b.to_device(t.device()))
                            .collect::<candle_core::Result<_>>()?,
                    }
                };
                self.state.insert(p.name.clone(), state);
            }
        }
        Ok(())
    }

    /// Forgets all state (as a fresh optimizer).
    pub fn clear_state(&mut self) {
        self.state.clear();
    }
}

/// Elements per parallel chunk of the CPU update.
const CHUNK: usize = 1 << 15;

struct StepOp<'a> {
    func: OptFunc,
    bufs: RefCell<&'a mut Vec<Vec<f32>>>,
    ctx: StepCtx,
}

impl InplaceOp2 for StepOp<'_> {
    fn name(&self) -> &'static str {
        "optimizer-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let (CpuStorage::F32(p), CpuStorage::F32(g)) = (s1, s2) else {
            candle_core::bail!("optimizer step: expected f32 parameter and gradient")
        };
        let (Some((p0, p1)), Some((g0, g1))) = (l1.contiguous_offsets(), l2.contiguous_offsets())
        else {
            candle_core::bail!("optimizer step: expected contiguous tensors")
        };
        let (p, g) = (&mut p[p0..p1], &g[g0..g1]);
        let mut bufs = self.bufs.borrow_mut();
        // State loaded from elsewhere (a checkpoint of another model) may not fit.
        if let Some(b) = bufs.iter().find(|b| b.len() != p.len()) {
            candle_core::bail!(
                "optimizer step: a state buffer holds {} values for a parameter of {}",
                b.len(),
                p.len()
            )
        }
        let (func, ctx) = (self.func, self.ctx);
        let run =
            move |p: &mut [f32], g: &[f32], s: &mut [&mut [f32]]| func.step_cpu(p, g, s, &ctx);
        if p.len() <= CHUNK {
            let mut s: Vec<&mut [f32]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
            run(p, g, &mut s);
            return Ok(());
        }
        let mut state_chunks: Vec<_> = bufs.iter_mut().map(|b| b.chunks_mut(CHUNK)).collect();
        let mut work = Vec::with_capacity(p.len().div_ceil(CHUNK));
        for (pc, gc) in p.chunks_mut(CHUNK).zip(g.chunks(CHUNK)) {
            let sc: Vec<&mut [f32]> = state_chunks
                .iter_mut()
                .map(|it| it.next())
                .collect::<Option<_>>()
                .ok_or_else(|| candle_core::Error::Msg("optimizer step: state too short".into()))?;
            work.push((pc, gc, sc));
        }
        work.into_par_iter()
            .for_each(|(pc, gc, mut sc)| run(pc, gc, &mut sc));
        Ok(())
    }
}
