use crate::receptive::ReceptiveField;
use candle_core::Tensor;
use fastcandle_core::Result;

/// A module with a forward pass that may differ in training (BatchNorm, dropout): the unit a
/// [`Sequential`] chains, and the children fastai's body cut and U-Net hooks look at.
pub trait Layer: Send + Sync {
    /// Applies the layer; `train` selects training behaviour.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor>;

    /// The receptive field of the output given that of the input: unchanged for a layer that
    /// works position by position (the default: BatchNorm, activations, dropout).
    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        input
    }

    /// The channels of the output given those of the input: unchanged by default.
    fn out_channels_from(&self, c_in: usize) -> usize {
        c_in
    }
}

/// Layers applied one after the other, as PyTorch's `nn.Sequential`.
#[derive(Default)]
pub struct Sequential {
    children: Vec<Box<dyn Layer>>,
}

impl Sequential {
    /// An empty sequence.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a layer.
    pub fn push(&mut self, layer: impl Layer + 'static) {
        self.children.push(Box::new(layer));
    }

    /// Appends a layer (builder style).
    pub fn with(mut self, layer: impl Layer + 'static) -> Self {
        self.push(layer);
        self
    }

    /// The number of children.
    pub fn len(&self) -> usize {
        self.children.len()
    }

    /// Whether there are no children.
    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// The sequence's output, each child's output passed through `each(i, output)` before the
    /// next child takes it (what hooks read, and with gradients replace).
    pub fn forward_each(
        &self,
        x: &Tensor,
        train: bool,
        mut each: impl FnMut(usize, Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        let mut x = x.clone();
        for (i, c) in self.children.iter().enumerate() {
            x = each(i, c.forward_t(&x, train)?)?;
        }
        Ok(x)
    }

    /// The receptive field and channels after every child in turn, from those of the input.
    pub fn geometry_all(
        &self,
        field: ReceptiveField,
        channels: usize,
    ) -> Vec<(ReceptiveField, usize)> {
        let mut acc = (field, channels);
        self.children
            .iter()
            .map(|c| {
                acc = (c.receptive_field(acc.0), c.out_channels_from(acc.1));
                acc
            })
            .collect()
    }

    /// The output of every child in turn (the last is the sequence's output).
    pub fn forward_all(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        self.forward_first(x, self.children.len(), train)
    }

    /// The outputs of the first `n` children in turn (the later ones are not run).
    pub fn forward_first(&self, x: &Tensor, n: usize, train: bool) -> Result<Vec<Tensor>> {
        let mut outs: Vec<Tensor> = Vec::with_capacity(n.min(self.children.len()));
        for c in self.children.iter().take(n) {
            let input = outs.last().unwrap_or(x);
            let y = c.forward_t(input, train)?;
            outs.push(y);
        }
        Ok(outs)
    }
}

impl Layer for Sequential {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut x = x.clone();
        for c in &self.children {
            x = c.forward_t(&x, train)?;
        }
        Ok(x)
    }

    fn receptive_field(&self, input: ReceptiveField) -> ReceptiveField {
        self.children
            .iter()
            .fold(input, |f, c| c.receptive_field(f))
    }

    fn out_channels_from(&self, c_in: usize) -> usize {
        self.children
            .iter()
            .fold(c_in, |c, child| child.out_channels_from(c))
    }
}

impl Layer for super::BatchNorm {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        super::BatchNorm::forward_t(self, x, train)
    }
}

impl Layer for super::Dropout {
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        super::Dropout::forward_t(self, x, train)
    }
}

impl Layer for super::Linear {
    fn forward_t(&self, x: &Tensor, _train: bool) -> Result<Tensor> {
        self.forward(x)
    }
}
