use candle_core::Tensor;
use fastcandle_core::Result;

/// A module with a forward pass that may differ in training (BatchNorm, dropout): the unit a
/// [`Sequential`] chains, and the children fastai's body cut and U-Net hooks look at.
pub trait Layer: Send + Sync {
    /// Applies the layer; `train` selects training behaviour.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor>;
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

    /// The output of every child in turn (the last is the sequence's output).
    pub fn forward_all(&self, x: &Tensor, train: bool) -> Result<Vec<Tensor>> {
        let mut outs: Vec<Tensor> = Vec::with_capacity(self.children.len());
        for c in &self.children {
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
