use super::Callback;
use crate::error::Result;
use crate::learner::Learner;
use std::time::Instant;

/// What one fit recorded.
#[derive(Debug, Clone, Default)]
pub struct FitRecord {
    /// The learning rate of every group at every training batch.
    pub lrs: Vec<Vec<f64>>,
    /// The momentum of every group at every training batch.
    pub moms: Vec<Vec<f64>>,
    /// The smoothed training loss after every training batch (what fastai plots).
    pub losses: Vec<f32>,
    /// The raw training loss of every batch.
    pub raw_losses: Vec<f32>,
    /// One row per epoch: train_loss, valid_loss, then each metric.
    pub values: Vec<Vec<f64>>,
    /// Seconds per epoch.
    pub epoch_times: Vec<f64>,
}

/// fastai's `Recorder`: records learning rates, momenta and losses per batch, and the
/// validation loss and metrics per epoch. Keeps one [`FitRecord`] per fit (so that each phase
/// of `fine_tune` can be read). Also sets the learner's smoothed loss (fastai's
/// `AvgSmoothLoss`, beta 0.98, reset at each fit).
#[derive(Debug, Clone)]
pub struct Recorder {
    /// One record per fit, oldest first.
    pub fits: Vec<FitRecord>,
    /// The column names of `values`: train_loss, valid_loss, then each metric.
    pub names: Vec<String>,
    beta: f64,
    smooth: f64,
    smooth_count: i32,
    valid_total: f64,
    valid_count: usize,
    valid_ran: bool,
    epoch_start: Option<Instant>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            fits: Vec::new(),
            names: Vec::new(),
            beta: 0.98,
            smooth: 0.0,
            smooth_count: 0,
            valid_total: 0.0,
            valid_count: 0,
            valid_ran: false,
            epoch_start: None,
        }
    }
}

impl Recorder {
    /// The record of the latest fit.
    pub fn last(&self) -> Option<&FitRecord> {
        self.fits.last()
    }

    /// The latest epoch's row by column name.
    pub fn last_row(&self) -> Vec<(String, f64)> {
        match self.fits.iter().rev().find_map(|f| f.values.last()) {
            Some(v) => self.names.iter().cloned().zip(v.iter().copied()).collect(),
            None => Vec::new(),
        }
    }

    fn fit(&mut self) -> &mut FitRecord {
        if self.fits.is_empty() {
            self.fits.push(FitRecord::default());
        }
        // Invariant: a record was pushed just above when there was none.
        self.fits.last_mut().expect("a fit record")
    }
}

impl Callback for Recorder {
    fn order(&self) -> i32 {
        50
    }

    fn before_fit(&mut self, learn: &mut Learner) -> Result<()> {
        self.fits.push(FitRecord::default());
        self.names = ["train_loss", "valid_loss"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        self.names
            .extend(learn.metrics.iter().map(|m| m.name().to_string()));
        self.smooth = 0.0;
        self.smooth_count = 0;
        Ok(())
    }

    fn before_epoch(&mut self, _: &mut Learner) -> Result<()> {
        self.epoch_start = Some(Instant::now());
        self.valid_ran = false;
        Ok(())
    }

    fn before_validate(&mut self, learn: &mut Learner) -> Result<()> {
        self.valid_total = 0.0;
        self.valid_count = 0;
        self.valid_ran = true;
        for m in learn.metrics.iter_mut() {
            m.reset();
        }
        Ok(())
    }

    fn after_batch(&mut self, learn: &mut Learner) -> Result<()> {
        let loss = learn.state.loss_value;
        if learn.state.training {
            self.smooth_count += 1;
            self.smooth = self.beta * self.smooth + (1.0 - self.beta) * loss as f64;
            let smooth = (self.smooth / (1.0 - self.beta.powi(self.smooth_count))) as f32;
            learn.state.smooth_loss = smooth;
            let (lrs, moms) = (learn.opt.hyper("lr"), learn.opt.hyper("mom"));
            let f = self.fit();
            f.lrs.push(lrs);
            f.moms.push(moms);
            f.losses.push(smooth);
            f.raw_losses.push(loss);
        } else if let (Some(pred), Some(batch)) = (&learn.pred, &learn.batch) {
            let n = batch.len();
            self.valid_total += loss as f64 * n as f64;
            self.valid_count += n;
            for m in learn.metrics.iter_mut() {
                m.accumulate(pred, &batch.ys)?;
            }
        }
        Ok(())
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        let mut row = vec![learn.state.smooth_loss as f64];
        if self.valid_ran && self.valid_count > 0 {
            row.push(self.valid_total / self.valid_count as f64);
            row.extend(learn.metrics.iter().map(|m| m.value()));
        } else {
            row.extend(std::iter::repeat_n(f64::NAN, 1 + learn.metrics.len()));
        }
        let secs = self
            .epoch_start
            .map(|t| t.elapsed().as_secs_f64())
            .unwrap_or(0.0);
        let f = self.fit();
        f.values.push(row);
        f.epoch_times.push(secs);
        Ok(())
    }
}
