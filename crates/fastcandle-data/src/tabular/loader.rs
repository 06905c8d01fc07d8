//! Batches of processed tabular rows, as the training loop takes them.
//!
//! A batch is `xs = [cats u32 [bs, n_cat], conts f32 [bs, n_cont]]` and `ys` (`u32 [bs]` for
//! classes, `f32 [bs]` for values), built straight from the processed `Vec`s: no data frame is
//! touched while iterating.

use super::data::{TabularData, Targets};
use crate::error::{Error, Result};
use crate::settings::check_bs;
use candle_core::{DType, Device, Tensor};
use fastcandle_core::batch::BatchIter;
use fastcandle_core::error::Context;
use fastcandle_core::{Batch, DataLoaders, rng};

/// fastai's default batch size.
pub const DEFAULT_BS: usize = 64;

/// The training and validation loaders of a tabular data set (fastai's `TabularDataLoaders`
/// once built): the training rows shuffled every epoch with the last incomplete batch dropped,
/// the validation rows in order and all kept.
///
/// Epoch `k`'s order depends only on the seed and `k`, so a resumed fit sees the batches the
/// uninterrupted one saw.
#[derive(Debug, Clone)]
pub struct TabularLoader {
    train: TabularData,
    valid: TabularData,
    bs: usize,
    seed: u64,
    drop_last: bool,
    device: Device,
    vocab: Option<Vec<String>>,
}

impl TabularLoader {
    /// Loaders over labelled `train` and `valid` rows, batch size 64, seed 0, on `device`.
    pub fn new(train: TabularData, valid: TabularData, device: Device) -> Result<Self> {
        train.check("the training rows")?;
        valid.check("the validation rows")?;
        let bad = |reason: String| {
            Err(Error::BadData {
                what: "tabular loader".into(),
                reason,
            })
        };
        if (train.n_cat, train.n_cont) != (valid.n_cat, valid.n_cont) {
            return bad(format!(
                "the training rows have {} categorical and {} continuous columns, the validation \
                 rows {} and {}",
                train.n_cat, train.n_cont, valid.n_cat, valid.n_cont
            ));
        }
        match (&train.ys, &valid.ys) {
            (Some(Targets::Classes(_)), Some(Targets::Classes(_)))
            | (Some(Targets::Values(_)), Some(Targets::Values(_))) => {}
            (None, _) | (_, None) => {
                return bad(
                    "training and validation rows must be labelled (process them with \
                            labelled = true)"
                        .into(),
                );
            }
            _ => return bad("the training and validation targets are of different kinds".into()),
        }
        Ok(Self {
            train,
            valid,
            bs: DEFAULT_BS,
            seed: 0,
            drop_last: true,
            device,
            vocab: None,
        })
    }

    /// Sets the batch size (fastai: 64); 0 is an error naming `bs`.
    ///
    /// # Notes
    /// The validation rows are cut into batches of `bs` too, all kept. With
    /// [`drop_last`](Self::drop_last) (the default) an epoch trains on `n / bs` full batches,
    /// so up to `bs - 1` rows, different ones each epoch, are left out of it. A larger `bs`
    /// means fewer optimizer steps per epoch: fastai's default learning rates assume 64.
    pub fn bs(mut self, bs: usize) -> Result<Self> {
        self.bs = check_bs(bs)?;
        Ok(self)
    }

    /// Sets the seed of the training shuffle (default 0).
    ///
    /// # Notes
    /// The training rows are always shuffled (fastai's tabular default); epoch `k`'s order is
    /// drawn from `(seed, k)` alone, so a resumed fit sees the batches the uninterrupted one
    /// saw. The validation rows stay in order.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Whether the last incomplete training batch is dropped (fastai: yes).
    ///
    /// # Notes
    /// Only training batches are dropped; validation keeps every row. A training set smaller
    /// than [`bs`](Self::bs) gives no training batch at all with `drop_last`.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets the class names returned by [`DataLoaders::vocab`] (the processor's classes).
    pub fn with_vocab(mut self, classes: Vec<String>) -> Self {
        self.vocab = Some(classes);
        self
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.bs
    }

    /// The number of categorical columns in a batch.
    pub fn n_cat(&self) -> usize {
        self.train.n_cat
    }

    /// The number of continuous columns in a batch.
    pub fn n_cont(&self) -> usize {
        self.train.n_cont
    }

    /// The processed training rows.
    pub fn train_data(&self) -> &TabularData {
        &self.train
    }

    /// The processed validation rows.
    pub fn valid_data(&self) -> &TabularData {
        &self.valid
    }

    /// The order of the training rows in `epoch`: a permutation drawn from
    /// `mix([seed, epoch])`.
    pub fn train_order(&self, epoch: usize) -> Vec<usize> {
        let mut g = rng::rng(rng::mix(&[self.seed, epoch as u64]));
        rng::permutation(self.train.n_rows, &mut g)
    }
}

impl DataLoaders for TabularLoader {
    fn train(&self, epoch: usize) -> BatchIter<'_> {
        let n_batches = self.n_train_batches();
        Box::new(Batches::new(
            &self.train,
            Some(self.train_order(epoch)),
            self.bs,
            n_batches,
            &self.device,
        ))
    }

    fn valid(&self) -> BatchIter<'_> {
        let n_batches = self.n_valid_batches();
        Box::new(Batches::new(
            &self.valid,
            None,
            self.bs,
            n_batches,
            &self.device,
        ))
    }

    fn n_train_batches(&self) -> usize {
        n_batches(self.train.n_rows, self.bs, self.drop_last)
    }

    fn train_shape(&self) -> Option<fastcandle_core::batch::TrainShape> {
        Some(fastcandle_core::batch::TrainShape {
            items: self.train.n_rows,
            bs: self.bs,
            drop_last: self.drop_last,
        })
    }

    fn n_valid_batches(&self) -> usize {
        n_batches(self.valid.n_rows, self.bs, false)
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn vocab(&self) -> Option<&[String]> {
        self.vocab.as_deref()
    }
}

/// A loader over one set of processed rows (a test set or new data): in order, no row dropped.
///
/// Unlabelled rows give batches whose `ys` is an empty `f32 [bs, 0]` tensor, so that
/// [`Batch::len`] is right and a loss computed on them fails loudly.
#[derive(Debug, Clone)]
pub struct TabularDataLoader {
    data: TabularData,
    bs: usize,
    device: Device,
}

impl TabularDataLoader {
    /// A loader over `data`, batch size 64, on `device`.
    pub fn new(data: TabularData, device: Device) -> Result<Self> {
        data.check("the rows")?;
        Ok(Self {
            data,
            bs: DEFAULT_BS,
            device,
        })
    }

    /// Sets the batch size (fastai: 64); 0 is an error naming `bs`.
    ///
    /// # Notes
    /// Every row is kept: the last batch holds what is left.
    pub fn bs(mut self, bs: usize) -> Result<Self> {
        self.bs = check_bs(bs)?;
        Ok(self)
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.bs
    }

    /// The batches, in row order, the last one possibly smaller.
    pub fn batches(&self) -> BatchIter<'_> {
        Box::new(Batches::new(
            &self.data,
            None,
            self.bs,
            self.n_batches(),
            &self.device,
        ))
    }

    /// How many batches [`Self::batches`] yields.
    pub fn n_batches(&self) -> usize {
        n_batches(self.data.n_rows, self.bs, false)
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.data.n_rows
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.data.n_rows == 0
    }

    /// The number of categorical columns in a batch.
    pub fn n_cat(&self) -> usize {
        self.data.n_cat
    }

    /// The number of continuous columns in a batch.
    pub fn n_cont(&self) -> usize {
        self.data.n_cont
    }

    /// The processed rows.
    pub fn data(&self) -> &TabularData {
        &self.data
    }

    /// The device the batches are put on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}

fn n_batches(n: usize, bs: usize, drop_last: bool) -> usize {
    if drop_last { n / bs } else { n.div_ceil(bs) }
}

/// The batches of `data`, in `order` (row order when `None`).
struct Batches<'a> {
    data: &'a TabularData,
    order: Option<Vec<usize>>,
    bs: usize,
    n_batches: usize,
    next: usize,
    device: &'a Device,
}

impl<'a> Batches<'a> {
    fn new(
        data: &'a TabularData,
        order: Option<Vec<usize>>,
        bs: usize,
        n_batches: usize,
        device: &'a Device,
    ) -> Self {
        Self {
            data,
            order,
            bs,
            n_batches,
            next: 0,
            device,
        }
    }
}

impl Iterator for Batches<'_> {
    type Item = fastcandle_core::Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.n_batches {
            return None;
        }
        let start = self.next * self.bs;
        let end = (start + self.bs).min(self.data.n_rows);
        self.next += 1;
        Some(match &self.order {
            Some(order) => make_batch(self.data, &order[start..end], self.device),
            None => make_batch(self.data, &(start..end).collect::<Vec<_>>(), self.device),
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.n_batches - self.next;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Batches<'_> {}

/// Gathers `rows` of `data` into one batch on `device`.
fn make_batch(
    data: &TabularData,
    rows: &[usize],
    device: &Device,
) -> fastcandle_core::Result<Batch> {
    let (b, n_cat, n_cont) = (rows.len(), data.n_cat, data.n_cont);
    let mut cats = Vec::with_capacity(b * n_cat);
    let mut conts = Vec::with_capacity(b * n_cont);
    for &r in rows {
        cats.extend_from_slice(data.cat_row(r));
        conts.extend_from_slice(data.cont_row(r));
    }
    let what = || "building a tabular batch".to_string();
    let cats = Tensor::from_vec(cats, (b, n_cat), device).context(what)?;
    let conts = Tensor::from_vec(conts, (b, n_cont), device).context(what)?;
    let ys = match &data.ys {
        Some(Targets::Classes(ys)) => {
            Tensor::from_vec(rows.iter().map(|&r| ys[r]).collect::<Vec<u32>>(), b, device)
        }
        Some(Targets::Values(ys)) => {
            Tensor::from_vec(rows.iter().map(|&r| ys[r]).collect::<Vec<f32>>(), b, device)
        }
        None => Tensor::zeros((b, 0), DType::F32, device),
    }
    .context(what)?;
    Ok(Batch {
        xs: vec![cats, conts],
        ys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` rows whose codes and values tell the row: cats `[i, 2i]`, conts `[i]`, ys `i % 3`.
    fn data(n: usize) -> TabularData {
        TabularData {
            cats: (0..n as u32).flat_map(|i| [i, 2 * i]).collect(),
            conts: (0..n).map(|i| i as f32).collect(),
            ys: Some(Targets::Classes((0..n as u32).map(|i| i % 3).collect())),
            n_rows: n,
            n_cat: 2,
            n_cont: 1,
        }
    }

    fn rows_of(batch: &Batch) -> Vec<usize> {
        batch.xs[1]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|&x| x as usize)
            .collect()
    }

    #[test]
    fn batch_shapes_and_contents() {
        let dls = TabularLoader::new(data(10), data(10), Device::Cpu)
            .unwrap()
            .bs(4)
            .unwrap();
        let b = dls.valid().next().unwrap().unwrap();
        assert_eq!(b.xs[0].dims(), [4, 2]);
        assert_eq!(b.xs[0].dtype(), DType::U32);
        assert_eq!(b.xs[1].dims(), [4, 1]);
        assert_eq!(b.xs[1].dtype(), DType::F32);
        assert_eq!(b.ys.dims(), [4]);
        assert_eq!(b.ys.dtype(), DType::U32);
        assert_eq!(
            b.xs[0].to_vec2::<u32>().unwrap(),
            [[0, 0], [1, 2], [2, 4], [3, 6]]
        );
        assert_eq!(b.ys.to_vec1::<u32>().unwrap(), [0, 1, 2, 0]);
        // Each train batch keeps codes, values and targets of the same rows together.
        for b in dls.train(3) {
            let b = b.unwrap();
            let rows = rows_of(&b);
            let cats = b.xs[0].to_vec2::<u32>().unwrap();
            let ys = b.ys.to_vec1::<u32>().unwrap();
            for (k, &r) in rows.iter().enumerate() {
                assert_eq!(cats[k], [r as u32, 2 * r as u32]);
                assert_eq!(ys[k], r as u32 % 3);
            }
        }
    }

    #[test]
    fn train_drops_last_valid_keeps_all() {
        let dls = TabularLoader::new(data(10), data(10), Device::Cpu)
            .unwrap()
            .bs(4)
            .unwrap();
        assert_eq!((dls.n_train_batches(), dls.n_valid_batches()), (2, 3));
        let sizes: Vec<usize> = dls.train(0).map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, [4, 4]);
        let sizes: Vec<usize> = dls.valid().map(|b| b.unwrap().len()).collect();
        assert_eq!(sizes, [4, 4, 2]);
        let rows: Vec<usize> = dls.valid().flat_map(|b| rows_of(&b.unwrap())).collect();
        assert_eq!(rows, (0..10).collect::<Vec<_>>());
        let dls = dls.drop_last(false);
        assert_eq!(dls.train(0).count(), 3);
    }

    #[test]
    fn every_train_row_once_per_epoch_in_a_seeded_order() {
        let dls = TabularLoader::new(data(12), data(3), Device::Cpu)
            .unwrap()
            .bs(4)
            .unwrap()
            .seed(7);
        let epoch = |e| {
            dls.train(e)
                .flat_map(|b| rows_of(&b.unwrap()))
                .collect::<Vec<_>>()
        };
        let e0 = epoch(0);
        let mut sorted = e0.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..12).collect::<Vec<_>>());
        assert_ne!(e0, sorted, "the training rows are shuffled");
        assert_eq!(e0, epoch(0));
        assert_eq!(e0, dls.train_order(0));
        assert_ne!(e0, epoch(1));
        let other = TabularLoader::new(data(12), data(3), Device::Cpu)
            .unwrap()
            .bs(4)
            .unwrap()
            .seed(8);
        assert_ne!(e0, other.train_order(0));
        // With a dropped last batch, no row comes twice.
        let dls = dls.bs(5).unwrap();
        let rows = epoch_rows(&dls, 2);
        let mut dedup = rows.clone();
        dedup.sort_unstable();
        dedup.dedup();
        assert_eq!((rows.len(), dedup.len()), (10, 10));
    }

    fn epoch_rows(dls: &TabularLoader, e: usize) -> Vec<usize> {
        dls.train(e).flat_map(|b| rows_of(&b.unwrap())).collect()
    }

    #[test]
    fn regression_targets_and_vocab() {
        let mut d = data(5);
        d.ys = Some(Targets::Values(vec![0.5, 1.5, 2.5, 3.5, 4.5]));
        let dls = TabularLoader::new(d.clone(), d, Device::Cpu)
            .unwrap()
            .bs(2)
            .unwrap();
        let b = dls.valid().next().unwrap().unwrap();
        assert_eq!(b.ys.dtype(), DType::F32);
        assert_eq!(b.ys.to_vec1::<f32>().unwrap(), [0.5, 1.5]);
        assert!(dls.vocab().is_none());
        let dls = dls.with_vocab(vec!["a".into(), "b".into()]);
        assert_eq!(dls.vocab().unwrap(), ["a", "b"]);
    }

    #[test]
    fn unlabelled_or_mismatched_data_is_refused() {
        let mut unlabelled = data(4);
        unlabelled.ys = None;
        assert!(TabularLoader::new(unlabelled.clone(), data(4), Device::Cpu).is_err());
        let mut narrow = data(4);
        narrow.n_cont = 0;
        narrow.conts.clear();
        assert!(TabularLoader::new(data(4), narrow, Device::Cpu).is_err());
        let mut broken = data(4);
        broken.cats.pop();
        assert!(TabularLoader::new(broken, data(4), Device::Cpu).is_err());
        // A test-set loader takes unlabelled rows: ys is [bs, 0].
        let dl = TabularDataLoader::new(unlabelled, Device::Cpu)
            .unwrap()
            .bs(3)
            .unwrap();
        let batches: Vec<Batch> = dl.batches().map(|b| b.unwrap()).collect();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[1].ys.dims(), [1, 0]);
        assert_eq!(batches[1].len(), 1);
        assert_eq!((dl.n_cat(), dl.n_cont(), dl.len()), (2, 1, 4));
    }

    #[test]
    fn bs_0_is_an_error_naming_bs() {
        let dls = TabularLoader::new(data(4), data(4), Device::Cpu).unwrap();
        let e = dls.bs(0).unwrap_err().to_string();
        assert_eq!(e, "bs: the batch size must be at least 1, got 0");
        let dl = TabularDataLoader::new(data(4), Device::Cpu).unwrap();
        let e = dl.bs(0).unwrap_err().to_string();
        assert!(e.starts_with("bs: "), "{e}");
    }

    #[test]
    fn no_categorical_columns_gives_an_empty_cats_tensor() {
        let d = TabularData {
            cats: vec![],
            conts: vec![1.0, 2.0, 3.0],
            ys: Some(Targets::Classes(vec![0, 1, 0])),
            n_rows: 3,
            n_cat: 0,
            n_cont: 1,
        };
        let dl = TabularDataLoader::new(d, Device::Cpu).unwrap();
        let b = dl.batches().next().unwrap().unwrap();
        assert_eq!(b.xs[0].dims(), [3, 0]);
    }

    #[test]
    fn an_adult_sized_epoch_is_fast() {
        // 26,049 training rows (Adult's 80%), 9 categorical and 3 continuous columns.
        let n = 26_049;
        let d = TabularData {
            cats: (0..n * 9).map(|i| (i % 17) as u32).collect(),
            conts: (0..n * 3).map(|i| i as f32).collect(),
            ys: Some(Targets::Classes((0..n).map(|i| (i % 2) as u32).collect())),
            n_rows: n,
            n_cat: 9,
            n_cont: 3,
        };
        let dls = TabularLoader::new(d.clone(), d, Device::Cpu).unwrap();
        let start = std::time::Instant::now();
        let mut seen = 0;
        for b in dls.train(0) {
            seen += b.unwrap().len();
        }
        let took = start.elapsed();
        assert_eq!(seen, n / 64 * 64);
        let limit_ms = if cfg!(debug_assertions) { 1000 } else { 50 };
        assert!(
            took.as_millis() < limit_ms,
            "an epoch of batches took {took:?}"
        );
        eprintln!("adult-sized epoch: {took:?}");
    }
}
