//! fastai's hooks: the outputs of a model's named modules, stored at every forward pass, and
//! (through candle's gradient store) their gradients.
//!
//! A model that can be hooked names its modules ([`Model::hook_points`]: `conv1`, `layer1`,
//! `features.3`, `head`, as torchvision and fastai name them) and stores the outputs asked for
//! into the [`Hooks`] it is given ([`Model::set_hooks`]). [`hook_outputs`] does both and takes
//! the hooks out again when its guard is dropped:
//!
//! ```
//! # use fastcandle_core::hooks::hook_outputs;
//! # fn show(model: &dyn fastcandle_core::Model, x: &candle_core::Tensor) -> fastcandle_core::Result<()> {
//! let hooked = hook_outputs(model, ["layer1", "layer4"])?;
//! let _logits = model.forward_t(&[x.clone()], false)?;
//! let layer4 = hooked.stored("layer4"); // [N, 512, H/32, W/32]
//! # Ok(()) }
//! ```
//!
//! Outputs are stored detached by default, as fastai's `hook_output(detach=True)`: they hold no
//! graph. [`Hooks::with_grad`] keeps them in the graph instead, so that after a backward pass
//! [`Hooks::grad`] reads their gradients (fastai's `hook_output(grad=True)`; Grad-CAM). candle
//! keeps the gradients of variables only, so a hooked output then becomes `output + 0` with the
//! zero a variable of its own: the same numbers, the same gradient to the layers below, and the
//! output's gradient kept as the zero's.

use crate::error::{Error, Result};
use crate::model::Model;
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use std::sync::{Arc, Mutex};

/// The outputs of named modules, stored at each forward pass (fastai's `Hooks` with `stored`).
#[derive(Debug)]
pub struct Hooks {
    names: Vec<String>,
    keep_graph: bool,
    stored: Mutex<Vec<Option<Slot>>>,
}

/// A stored output, and with gradients the variable its gradient is read from.
#[derive(Debug, Clone)]
struct Slot {
    output: Tensor,
    probe: Option<Var>,
}

impl Hooks {
    /// Hooks on the modules `names`, storing detached outputs.
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Self {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        let stored = Mutex::new(vec![None; names.len()]);
        Self {
            names,
            keep_graph: false,
            stored,
        }
    }

    /// Keeps the stored outputs in the autograd graph, so that [`Hooks::grad`] can read their
    /// gradients after a backward pass. They then hold the graph below them until replaced.
    pub fn with_grad(mut self) -> Self {
        self.keep_graph = true;
        self
    }

    /// The hooked modules' names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether the output of `name` is wanted (for models storing their outputs).
    pub fn wants(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }

    /// Stores `output` as the output of `name`, if hooked, and gives back what the model goes
    /// on with: `output` itself, or with gradients `output + 0` through a variable zero whose
    /// gradient is the output's (called by models as they run).
    pub fn tap(&self, name: &str, output: Tensor) -> crate::Result<Tensor> {
        let Some(i) = self.names.iter().position(|n| n == name) else {
            return Ok(output);
        };
        // Detached or not, what is stored is a copy of the handle: the model goes on with the
        // output in the graph, so that training is unchanged by a hook.
        let (output, stored, probe) = if self.keep_graph {
            let probe = Var::zeros(output.shape(), output.dtype(), output.device())?;
            let tapped = (output + probe.as_tensor())?;
            (tapped.clone(), tapped, Some(probe))
        } else {
            let stored = output.detach();
            (output, stored, None)
        };
        self.lock()[i] = Some(Slot {
            output: stored,
            probe,
        });
        Ok(output)
    }

    /// The last output stored for `name`.
    pub fn stored(&self, name: &str) -> Option<Tensor> {
        let i = self.names.iter().position(|n| n == name)?;
        self.lock()[i].as_ref().map(|s| s.output.clone())
    }

    /// Every hooked module's last output, in the order of [`Hooks::names`].
    pub fn all(&self) -> Vec<(String, Option<Tensor>)> {
        let slots = self.lock();
        self.names
            .iter()
            .cloned()
            .zip(slots.iter().map(|s| s.as_ref().map(|s| s.output.clone())))
            .collect()
    }

    /// The gradient of the last output stored for `name`, from a backward pass's `grads`
    /// (needs [`Hooks::with_grad`]; `None` when the output took no part in the loss).
    pub fn grad(&self, name: &str, grads: &GradStore) -> Option<Tensor> {
        let i = self.names.iter().position(|n| n == name)?;
        let slots = self.lock();
        let probe = slots[i].as_ref()?.probe.as_ref()?;
        grads.get(probe.as_tensor()).cloned()
    }

    /// Forgets every stored output (and the graph it held).
    pub fn clear(&self) {
        self.lock().iter_mut().for_each(|t| *t = None);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Option<Slot>>> {
        // A panic while storing leaves the slots as they were: still usable.
        self.stored.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The hooks [`hook_outputs`] put on a model; dropping it takes them out.
pub struct HookGuard<'a> {
    model: &'a dyn Model,
    hooks: Arc<Hooks>,
}

impl HookGuard<'_> {
    /// The hooks, to read after a forward pass.
    pub fn hooks(&self) -> &Arc<Hooks> {
        &self.hooks
    }

    /// The last output stored for `name`.
    pub fn stored(&self, name: &str) -> Option<Tensor> {
        self.hooks.stored(name)
    }
}

impl Drop for HookGuard<'_> {
    fn drop(&mut self) {
        // Taking hooks out cannot fail for a model that took them.
        let _ = self.model.set_hooks(None);
    }
}

impl std::ops::Deref for HookGuard<'_> {
    type Target = Hooks;
    fn deref(&self) -> &Hooks {
        &self.hooks
    }
}

/// fastai's `hook_outputs(modules)`: stores the (detached) outputs of the modules `names` of
/// `model` at each forward pass, until the guard is dropped. A name the model does not have is
/// an error listing those it has.
pub fn hook_outputs<S: Into<String>>(
    model: &dyn Model,
    names: impl IntoIterator<Item = S>,
) -> Result<HookGuard<'_>> {
    attach(model, Hooks::new(names))
}

/// [`hook_outputs`] keeping the outputs in the graph, for their gradients (fastai's
/// `hook_output(grad=True)`): read them with [`Hooks::grad`] after a backward pass.
pub fn hook_outputs_with_grad<S: Into<String>>(
    model: &dyn Model,
    names: impl IntoIterator<Item = S>,
) -> Result<HookGuard<'_>> {
    attach(model, Hooks::new(names).with_grad())
}

fn attach(model: &dyn Model, hooks: Hooks) -> Result<HookGuard<'_>> {
    check_names(model, hooks.names())?;
    let hooks = Arc::new(hooks);
    model.set_hooks(Some(hooks.clone()))?;
    Ok(HookGuard { model, hooks })
}

/// Checks that `model` has every module of `names`, naming those it has otherwise.
pub fn check_names(model: &dyn Model, names: &[String]) -> Result<()> {
    let points = model.hook_points();
    match names.iter().find(|n| !points.contains(n)) {
        None => Ok(()),
        Some(bad) => Err(Error::BadTensor {
            name: format!("hook `{bad}`"),
            reason: if points.is_empty() {
                "this model has no module to hook".into()
            } else {
                format!("no such module; the model has {}", points.join(", "))
            },
        }),
    }
}
