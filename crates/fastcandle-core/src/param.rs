//! Parameters registered by name, with a layer group, a kind and a trainable flag.
//!
//! A model builds its parameters through a [`ParamBuilder`], which prefixes names the way
//! PyTorch names `state_dict` keys (`layers.0.0.weight`), so that checkpoints load by name.
//! The [`ParamStore`] it fills is what optimizers, freezing and checkpoints act on.

use crate::error::{Error, Result};
use crate::init::Init;
use crate::rng::{self, SeededRng};
use candle_core::{DType, Device, Tensor, Var};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// What a parameter is for; optimizers and freezing treat kinds differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// A weight of a linear, convolution or embedding layer.
    Weight,
    /// A bias (no weight decay by default).
    Bias,
    /// A weight or bias of a normalisation layer (no weight decay by default, and trainable even
    /// in frozen groups when `train_bn` is on).
    Norm,
    /// State saved with the model but never trained (BatchNorm running statistics).
    Buffer,
}

/// One parameter or buffer of a model.
///
/// Cloning a `Param` gives another handle on the same variable and the same trainable flag.
#[derive(Debug, Clone)]
pub struct Param {
    /// The full name, as in a PyTorch `state_dict` (`layers.0.0.weight`).
    pub name: String,
    /// The layer group (0 is the earliest layers).
    pub group: usize,
    /// What the parameter is for.
    pub kind: ParamKind,
    /// The variable that holds the values.
    pub var: Var,
    trainable: Arc<AtomicBool>,
}

impl Param {
    /// Whether the optimizer updates this parameter now.
    pub fn trainable(&self) -> bool {
        self.kind != ParamKind::Buffer && self.trainable.load(Ordering::Relaxed)
    }

    /// Turns updates of this parameter on or off (buffers stay off).
    pub fn set_trainable(&self, on: bool) {
        self.trainable.store(on, Ordering::Relaxed)
    }

    /// The parameter's current values.
    pub fn tensor(&self) -> &Tensor {
        self.var.as_tensor()
    }

    /// The values for a forward pass: the variable itself while trainable, a detached handle
    /// on the same storage while frozen or under [`no_grad`](crate::grad::no_grad), so that
    /// backward computes no gradient for it (a frozen body's convolutions then skip their
    /// weight gradients).
    pub fn forward_tensor(&self) -> Tensor {
        if self.trainable() && crate::grad::grad_enabled() {
            self.var.as_tensor().clone()
        } else {
            self.var.as_tensor().detach()
        }
    }

    /// Whether weight decay applies by fastai's default (`wd_bn_bias=False`).
    pub fn decays(&self) -> bool {
        self.kind == ParamKind::Weight
    }
}

#[derive(Debug, Default)]
struct Inner {
    params: Vec<Param>,
    index: HashMap<String, usize>,
}

/// The parameters and buffers of one model, in registration order.
#[derive(Debug, Clone)]
pub struct ParamStore {
    inner: Arc<RwLock<Inner>>,
    rng: Arc<Mutex<SeededRng>>,
}

impl Default for ParamStore {
    fn default() -> Self {
        Self {
            inner: Arc::default(),
            rng: Arc::new(Mutex::new(rng::rng(0))),
        }
    }
}

impl ParamStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The model's generator for randomness during the forward pass (dropout masks).
    pub fn rng(&self) -> Arc<Mutex<SeededRng>> {
        self.rng.clone()
    }

    /// Reseeds the model's generator; the learner does this before every batch with a seed
    /// derived from the run's seed, epoch and step, so that a resumed fit repeats exactly.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().expect("model rng lock poisoned") = rng::rng(seed);
    }

    /// Adds a parameter; names must be unique.
    pub fn insert(&self, name: String, group: usize, kind: ParamKind, var: Var) -> Result<Param> {
        let mut inner = self.inner.write().expect("param store lock poisoned");
        if inner.index.contains_key(&name) {
            return Err(Error::DuplicateParam(name));
        }
        let p = Param {
            name: name.clone(),
            group,
            kind,
            var,
            trainable: Arc::new(AtomicBool::new(kind != ParamKind::Buffer)),
        };
        let i = inner.params.len();
        inner.params.push(p.clone());
        inner.index.insert(name, i);
        Ok(p)
    }

    /// Every parameter and buffer, in registration order.
    pub fn all(&self) -> Vec<Param> {
        self.inner
            .read()
            .expect("param store lock poisoned")
            .params
            .clone()
    }

    /// The parameters an optimizer may update (buffers excluded), trainable or not.
    pub fn parameters(&self) -> Vec<Param> {
        self.all()
            .into_iter()
            .filter(|p| p.kind != ParamKind::Buffer)
            .collect()
    }

    /// A parameter or buffer by name.
    pub fn get(&self, name: &str) -> Option<Param> {
        let inner = self.inner.read().expect("param store lock poisoned");
        inner.index.get(name).map(|&i| inner.params[i].clone())
    }

    /// How many parameters and buffers there are.
    pub fn len(&self) -> usize {
        self.inner
            .read()
            .expect("param store lock poisoned")
            .params
            .len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of layer groups (one more than the largest group index).
    pub fn n_groups(&self) -> usize {
        self.all().iter().map(|p| p.group + 1).max().unwrap_or(1)
    }

    /// The number of trainable scalars.
    pub fn n_trainable(&self) -> usize {
        self.parameters()
            .iter()
            .filter(|p| p.trainable())
            .map(|p| p.tensor().elem_count())
            .sum()
    }

    /// fastai's `freeze_to(n)`: groups before `n` stop training, the others train. A negative
    /// `n` counts from the end (`-1` freezes all but the last group). With `train_bn`,
    /// normalisation parameters keep training in frozen groups.
    pub fn freeze_to(&self, n: isize, train_bn: bool) {
        let n_groups = self.n_groups() as isize;
        let n = if n < 0 {
            (n_groups + n).max(0)
        } else {
            n.min(n_groups)
        } as usize;
        for p in self.parameters() {
            let frozen = p.group < n && !(train_bn && p.kind == ParamKind::Norm);
            p.set_trainable(!frozen);
        }
    }

    /// Makes every parameter trainable.
    pub fn unfreeze(&self) {
        for p in self.parameters() {
            p.set_trainable(true);
        }
    }

    /// Copies of the tensors of every parameter and buffer, by name (a PyTorch-style
    /// `state_dict`). They are snapshots: later training does not change them.
    pub fn state_dict(&self) -> Vec<(String, Tensor)> {
        self.all()
            .into_iter()
            .map(|p| {
                let t = p
                    .var
                    .as_detached_tensor()
                    .copy()
                    .expect("copying a parameter");
                (p.name.clone(), t)
            })
            .collect()
    }

    /// Copies named tensors into the store. With `strict`, every name must be present and
    /// nothing else; in any case every shape must match. Errors list all offending keys.
    pub fn load_state_dict(&self, tensors: &HashMap<String, Tensor>, strict: bool) -> Result<()> {
        let all = self.all();
        let mut missing = Vec::new();
        let mut wrong_shape = Vec::new();
        for p in &all {
            match tensors.get(&p.name) {
                None => missing.push(p.name.clone()),
                Some(t) if t.dims() != p.tensor().dims() => wrong_shape.push(format!(
                    "{}: expected {:?}, found {:?}",
                    p.name,
                    p.tensor().dims(),
                    t.dims()
                )),
                Some(_) => {}
            }
        }
        let mut unexpected: Vec<String> = tensors
            .keys()
            .filter(|k| self.get(k).is_none())
            .cloned()
            .collect();
        unexpected.sort();
        if !wrong_shape.is_empty() || (strict && (!missing.is_empty() || !unexpected.is_empty())) {
            return Err(Error::BadTensor {
                name: "state dict".into(),
                reason: mismatch_summary(&missing, &unexpected, &wrong_shape),
            });
        }
        for p in all {
            if let Some(t) = tensors.get(&p.name) {
                let t = t
                    .to_device(p.tensor().device())?
                    .to_dtype(p.tensor().dtype())?;
                p.var.set(&t)?;
            }
        }
        Ok(())
    }
}

/// Builds parameters into a [`ParamStore`] under a name prefix and a layer group.
#[derive(Clone)]
pub struct ParamBuilder {
    store: ParamStore,
    prefix: String,
    group: usize,
    device: Device,
    dtype: DType,
    rng: Arc<Mutex<SeededRng>>,
}

impl ParamBuilder {
    /// A builder for a new store on `device`, with initialisations drawn from `seed`.
    pub fn new(device: &Device, seed: u64) -> Self {
        Self {
            store: ParamStore::new(),
            prefix: String::new(),
            group: 0,
            device: device.clone(),
            dtype: DType::F32,
            rng: Arc::new(Mutex::new(rng::rng(seed))),
        }
    }

    /// A builder whose names are prefixed with `name.`.
    pub fn pp(&self, name: impl std::fmt::Display) -> Self {
        let prefix = if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        };
        Self {
            prefix,
            ..self.clone()
        }
    }

    /// A builder that puts its parameters in layer group `group`.
    pub fn group(&self, group: usize) -> Self {
        Self {
            group,
            ..self.clone()
        }
    }

    /// The store being filled.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// The device parameters are made on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The full name a parameter `name` gets here.
    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{}", self.prefix, name)
        }
    }

    /// Creates and registers a parameter of `shape`, filled by `init`.
    pub fn param(
        &self,
        name: &str,
        shape: &[usize],
        kind: ParamKind,
        init: Init,
    ) -> Result<Tensor> {
        Ok(self
            .param_ref(name, shape, kind, init)?
            .var
            .as_tensor()
            .clone())
    }

    /// [`ParamBuilder::param`], giving the registered [`Param`] (whose
    /// [`Param::forward_tensor`] follows its trainable flag).
    pub fn param_ref(
        &self,
        name: &str,
        shape: &[usize],
        kind: ParamKind,
        init: Init,
    ) -> Result<Param> {
        let n = shape.iter().product();
        let values = {
            let mut rng = self.rng.lock().expect("init rng lock poisoned");
            init.sample(n, &mut rng)
        };
        let t = Tensor::from_vec(values, shape, &self.device)?.to_dtype(self.dtype)?;
        let var = Var::from_tensor(&t)?;
        self.store.insert(self.path(name), self.group, kind, var)
    }

    /// Registers a buffer (saved, never trained) and returns its variable so the layer can update it.
    pub fn buffer(&self, name: &str, value: &Tensor) -> Result<Var> {
        let var = Var::from_tensor(value)?;
        let p = self
            .store
            .insert(self.path(name), self.group, ParamKind::Buffer, var)?;
        Ok(p.var)
    }

    /// Draws from the builder's generator (for layers that need more than an [`Init`]).
    pub fn with_rng<T>(&self, f: impl FnOnce(&mut SeededRng) -> T) -> T {
        f(&mut self.rng.lock().expect("init rng lock poisoned"))
    }
}

/// How many keys of each kind a mismatch message names before it says how many more.
const KEYS_SHOWN: usize = 5;

/// A state dict that does not fit, summarised: the count of each kind of mismatch, then each
/// kind on its own line with its first few keys (a checkpoint of another architecture has
/// hundreds).
pub fn mismatch_summary(
    missing: &[String],
    unexpected: &[String],
    wrong_shape: &[String],
) -> String {
    let kinds = [
        ("missing", missing),
        ("unexpected", unexpected),
        ("mis-shaped", wrong_shape),
    ];
    let counts: Vec<String> = kinds
        .iter()
        .map(|(kind, keys)| format!("{} {kind}", keys.len()))
        .collect();
    let mut text = format!("cannot load: {} key(s)", counts.join(", "));
    for (kind, keys) in kinds.iter().filter(|(_, keys)| !keys.is_empty()) {
        let shown = keys[..keys.len().min(KEYS_SHOWN)].join(", ");
        text.push_str(&format!("\n  {kind} ({}): {shown}", keys.len()));
        if keys.len() > KEYS_SHOWN {
            text.push_str(&format!(" ... and {} more", keys.len() - KEYS_SHOWN));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ParamStore {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        let g0 = pb.pp("body").group(0);
        g0.param("weight", &[2, 3], ParamKind::Weight, Init::Const(1.0))
            .unwrap();
        g0.param("bn.weight", &[2], ParamKind::Norm, Init::Const(1.0))
            .unwrap();
        g0.buffer(
            "bn.running_mean",
            &Tensor::zeros(2, DType::F32, &Device::Cpu).unwrap(),
        )
        .unwrap();
        let g1 = pb.pp("head").group(1);
        g1.param("weight", &[1, 2], ParamKind::Weight, Init::Const(0.5))
            .unwrap();
        g1.param("bias", &[1], ParamKind::Bias, Init::Const(0.0))
            .unwrap();
        pb.store().clone()
    }

    #[test]
    fn names_groups_and_kinds() {
        let s = store();
        let names: Vec<_> = s.all().into_iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "body.weight",
                "body.bn.weight",
                "body.bn.running_mean",
                "head.weight",
                "head.bias"
            ]
        );
        assert_eq!(s.n_groups(), 2);
        assert_eq!(s.parameters().len(), 4);
        assert!(!s.get("body.bn.running_mean").unwrap().trainable());
        assert!(s.get("head.weight").unwrap().decays());
        assert!(!s.get("head.bias").unwrap().decays());
        assert!(!s.get("body.bn.weight").unwrap().decays());
    }

    #[test]
    fn freeze_keeps_batchnorm_training() {
        let s = store();
        s.freeze_to(-1, true);
        assert!(!s.get("body.weight").unwrap().trainable());
        assert!(s.get("body.bn.weight").unwrap().trainable());
        assert!(s.get("head.weight").unwrap().trainable());
        assert_eq!(s.n_trainable(), 2 + 2 + 1);
        s.freeze_to(-1, false);
        assert!(!s.get("body.bn.weight").unwrap().trainable());
        s.unfreeze();
        assert!(s.get("body.weight").unwrap().trainable());
        assert!(!s.get("body.bn.running_mean").unwrap().trainable());
    }

    #[test]
    fn duplicate_names_are_errors() {
        let pb = ParamBuilder::new(&Device::Cpu, 0);
        pb.param("w", &[1], ParamKind::Weight, Init::Const(0.0))
            .unwrap();
        let err = pb
            .param("w", &[1], ParamKind::Weight, Init::Const(0.0))
            .unwrap_err();
        assert!(err.to_string().contains("`w`"));
    }

    #[test]
    fn load_state_dict_lists_bad_keys() {
        let s = store();
        let mut sd: HashMap<String, Tensor> = s.state_dict().into_iter().collect();
        sd.remove("head.bias");
        sd.insert(
            "extra".into(),
            Tensor::zeros(1, DType::F32, &Device::Cpu).unwrap(),
        );
        sd.insert(
            "head.weight".into(),
            Tensor::zeros((2, 2), DType::F32, &Device::Cpu).unwrap(),
        );
        let err = s.load_state_dict(&sd, true).unwrap_err().to_string();
        assert!(
            err.contains("head.bias") && err.contains("extra") && err.contains("head.weight"),
            "{err}"
        );
    }

    #[test]
    fn a_large_mismatch_is_summarised_on_short_lines() {
        let keys = |prefix: &str, n: usize| -> Vec<String> {
            (0..n).map(|i| format!("{prefix}.{i}.weight")).collect()
        };
        let text = mismatch_summary(&keys("layer", 300), &keys("features", 312), &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "cannot load: 300 missing, 312 unexpected, 0 mis-shaped key(s)"
        );
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].contains("layer.0.weight") && lines[1].ends_with("and 295 more"));
        assert!(lines[2].starts_with("  unexpected (312): features.0.weight"));
        assert!(text.len() < 400, "{} bytes", text.len());
    }

    #[test]
    fn load_state_dict_round_trips() {
        let a = store();
        let b = store();
        b.get("head.weight")
            .unwrap()
            .var
            .set(&Tensor::new(&[[3f32, 4.]], &Device::Cpu).unwrap())
            .unwrap();
        let sd: HashMap<String, Tensor> = b.state_dict().into_iter().collect();
        a.load_state_dict(&sd, true).unwrap();
        let w: Vec<Vec<f32>> = a.get("head.weight").unwrap().tensor().to_vec2().unwrap();
        assert_eq!(w, vec![vec![3., 4.]]);
    }
}
