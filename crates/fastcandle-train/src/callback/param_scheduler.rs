use super::Callback;
use crate::error::Result;
use crate::learner::Learner;
use crate::schedule::Sched;

/// fastai's `ParamScheduler`: before every training batch, sets hyper-parameters from
/// schedules of the fit's progress (`pct_train`). Each hyper-parameter has one schedule per
/// parameter group, or one for all.
#[derive(Debug, Clone)]
pub struct ParamScheduler {
    /// `(hyper-parameter name, schedules)`.
    pub scheds: Vec<(String, Vec<Sched>)>,
}

impl ParamScheduler {
    /// A scheduler for the given hyper-parameters.
    pub fn new(scheds: Vec<(String, Vec<Sched>)>) -> Self {
        Self { scheds }
    }
}

impl Callback for ParamScheduler {
    fn order(&self) -> i32 {
        60
    }

    fn before_batch(&mut self, learn: &mut Learner) -> Result<()> {
        if !learn.state.training {
            return Ok(());
        }
        let pos = learn.state.pct_train;
        for (name, scheds) in &self.scheds {
            let values: Vec<f64> = scheds.iter().map(|s| s.at(pos)).collect();
            learn.opt.set_hyper(name, &values)?;
        }
        Ok(())
    }
}
