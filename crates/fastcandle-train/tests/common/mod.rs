//! A toy model and toy data for the training tests.
#![allow(dead_code)]

use candle_core::{Device, Tensor};
use fastcandle_core::batch::BatchIter;
use fastcandle_core::init::Init;
use fastcandle_core::{Batch, DataLoaders, Model, ParamBuilder, ParamKind, ParamStore, Result};
use std::sync::Arc;

/// Two blobs in 2-D, labelled by which side of the line x + y = 0 they fall on.
pub struct ToyData {
    pub x: Vec<f32>,
    pub y: Vec<u32>,
    pub n_train: usize,
    pub bs: usize,
    pub seed: u64,
    pub device: Device,
}

impl ToyData {
    pub fn new(n: usize, bs: usize) -> Arc<Self> {
        Self::on(n, bs, &Device::Cpu)
    }

    /// The toy data, its batches made on `device`.
    pub fn on(n: usize, bs: usize, device: &Device) -> Arc<Self> {
        let mut x = Vec::with_capacity(2 * n);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let a = ((i * 7919 % 1000) as f32 / 500.0) - 1.0;
            let b = ((i * 104_729 % 997) as f32 / 498.5) - 1.0;
            x.push(a);
            x.push(b);
            y.push(u32::from(a + b > 0.0));
        }
        Arc::new(Self {
            x,
            y,
            n_train: n * 4 / 5,
            bs,
            seed: 0,
            device: device.clone(),
        })
    }

    pub fn batch(&self, idx: &[usize]) -> Result<Batch> {
        let xs: Vec<f32> = idx
            .iter()
            .flat_map(|&i| [self.x[2 * i], self.x[2 * i + 1]])
            .collect();
        let ys: Vec<u32> = idx.iter().map(|&i| self.y[i]).collect();
        Ok(Batch {
            xs: vec![Tensor::from_vec(xs, (idx.len(), 2), &self.device)?],
            ys: Tensor::from_vec(ys, idx.len(), &self.device)?,
        })
    }
}

impl DataLoaders for ToyData {
    fn train(&self, epoch: usize) -> BatchIter<'_> {
        let mut rng =
            fastcandle_core::rng::rng(fastcandle_core::rng::mix(&[self.seed, epoch as u64]));
        let order = fastcandle_core::rng::permutation(self.n_train, &mut rng);
        let n = self.n_train / self.bs;
        Box::new((0..n).map(move |b| self.batch(&order[b * self.bs..(b + 1) * self.bs])))
    }
    fn valid(&self) -> BatchIter<'_> {
        let idx: Vec<usize> = (self.n_train..self.y.len()).collect();
        let chunks: Vec<Vec<usize>> = idx.chunks(self.bs).map(|c| c.to_vec()).collect();
        Box::new(chunks.into_iter().map(move |c| self.batch(&c)))
    }
    fn n_train_batches(&self) -> usize {
        self.n_train / self.bs
    }
    fn n_valid_batches(&self) -> usize {
        (self.y.len() - self.n_train).div_ceil(self.bs)
    }
    fn device(&self) -> &Device {
        &self.device
    }
    fn train_shape(&self) -> Option<fastcandle_core::batch::TrainShape> {
        Some(fastcandle_core::batch::TrainShape {
            items: self.n_train,
            bs: self.bs,
            drop_last: true,
        })
    }
}

/// Linear(2, 8) + BatchNorm (group 0), ReLU, Linear(8, 2) (group 1).
pub struct ToyModel {
    w1: Tensor,
    bn_w: Tensor,
    bn_b: Tensor,
    w2: Tensor,
    b2: Tensor,
    store: ParamStore,
}

impl ToyModel {
    pub fn new(seed: u64) -> Self {
        Self::on(seed, &Device::Cpu)
    }

    /// The toy model with its parameters on `device` (the same values as on the CPU).
    pub fn on(seed: u64, device: &Device) -> Self {
        let pb = ParamBuilder::new(device, seed);
        let body = pb.pp("body").group(0);
        let head = pb.pp("head").group(1);
        let w1 = body
            .param(
                "0.weight",
                &[8, 2],
                ParamKind::Weight,
                Init::PytorchDefault { fan_in: 2 },
            )
            .unwrap();
        let bn_w = body
            .param("1.weight", &[8], ParamKind::Norm, Init::Const(1.0))
            .unwrap();
        let bn_b = body
            .param("1.bias", &[8], ParamKind::Norm, Init::Const(0.0))
            .unwrap();
        let w2 = head
            .param(
                "weight",
                &[2, 8],
                ParamKind::Weight,
                Init::PytorchDefault { fan_in: 8 },
            )
            .unwrap();
        let b2 = head
            .param(
                "bias",
                &[2],
                ParamKind::Bias,
                Init::PytorchDefault { fan_in: 8 },
            )
            .unwrap();
        Self {
            w1,
            bn_w,
            bn_b,
            w2,
            b2,
            store: pb.store().clone(),
        }
    }
}

impl Model for ToyModel {
    fn forward_t(&self, xs: &[Tensor], _train: bool) -> Result<Tensor> {
        let h = xs[0].matmul(&self.w1.t()?)?;
        let (h, _, _) = fastcandle_core::ops::batch_norm_train(&h, &self.bn_w, &self.bn_b, 1e-5)?;
        let h = h.relu()?;
        Ok(h.matmul(&self.w2.t()?)?.broadcast_add(&self.b2)?)
    }
    fn params(&self) -> &ParamStore {
        &self.store
    }
}

pub fn learner(seed: u64, n: usize, bs: usize) -> fastcandle_train::Learner {
    learner_on(seed, n, bs, &Device::Cpu)
}

/// [`learner`] with its model and batches on `device`.
pub fn learner_on(seed: u64, n: usize, bs: usize, device: &Device) -> fastcandle_train::Learner {
    let mut l = fastcandle_train::Learner::new(
        Box::new(ToyModel::on(seed, device)),
        ToyData::on(n, bs, device),
        Box::new(fastcandle_train::CrossEntropyLossFlat::default()),
    )
    .metrics([fastcandle_train::accuracy()]);
    l.quiet(true);
    l
}

pub fn weights(l: &fastcandle_train::Learner) -> Vec<(String, Vec<f32>)> {
    l.model
        .params()
        .state_dict()
        .into_iter()
        .map(|(k, v)| (k, v.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect()
}

/// Linear(2, 8), ReLU, Linear(8, 2), with no BatchNorm: its gradient over a batch is the mean
/// of its items', whatever the batch size.
pub struct MlpModel {
    w1: Tensor,
    b1: Tensor,
    w2: Tensor,
    b2: Tensor,
    store: ParamStore,
}

impl MlpModel {
    pub fn new(seed: u64) -> Self {
        let pb = ParamBuilder::new(&Device::Cpu, seed);
        let body = pb.pp("body").group(0);
        let head = pb.pp("head").group(1);
        let fan = |n| Init::PytorchDefault { fan_in: n };
        let w1 = body
            .param("weight", &[8, 2], ParamKind::Weight, fan(2))
            .unwrap();
        let b1 = body.param("bias", &[8], ParamKind::Bias, fan(2)).unwrap();
        let w2 = head
            .param("weight", &[2, 8], ParamKind::Weight, fan(8))
            .unwrap();
        let b2 = head.param("bias", &[2], ParamKind::Bias, fan(8)).unwrap();
        Self {
            w1,
            b1,
            w2,
            b2,
            store: pb.store().clone(),
        }
    }
}

impl Model for MlpModel {
    fn forward_t(&self, xs: &[Tensor], _train: bool) -> Result<Tensor> {
        let h = xs[0]
            .matmul(&self.w1.t()?)?
            .broadcast_add(&self.b1)?
            .relu()?;
        Ok(h.matmul(&self.w2.t()?)?.broadcast_add(&self.b2)?)
    }
    fn params(&self) -> &ParamStore {
        &self.store
    }
}

/// A quiet learner of [`MlpModel`] on `dls`.
pub fn mlp_learner(seed: u64, dls: Arc<dyn DataLoaders>) -> fastcandle_train::Learner {
    let mut l = fastcandle_train::Learner::new(
        Box::new(MlpModel::new(seed)),
        dls,
        Box::new(fastcandle_train::CrossEntropyLossFlat::default()),
    )
    .metrics([fastcandle_train::accuracy()]);
    l.quiet(true);
    l
}
