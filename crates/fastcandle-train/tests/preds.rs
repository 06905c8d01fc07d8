//! `get_preds_with`: per-item losses that add up to `validate`'s, decoded predictions, inputs
//! on request, in the validation set's order.

mod common;

use common::{ToyData, ToyModel};
use fastcandle_core::DataLoaders;
use fastcandle_train::{CrossEntropyLossFlat, Learner};

fn learner() -> (Learner, std::sync::Arc<ToyData>) {
    let data = ToyData::new(200, 16);
    let mut learn = Learner::new(
        Box::new(ToyModel::new(1)),
        data.clone(),
        Box::new(CrossEntropyLossFlat::default()),
    );
    learn.quiet(true);
    learn.fit(1, Some(1e-2)).unwrap();
    (learn, data)
}

#[test]
fn per_item_losses_sum_to_the_validation_loss_times_the_count() {
    let (mut learn, data) = learner();
    let p = learn.get_preds_with(None, false).unwrap();
    let n_valid = data.y.len() - data.n_train;
    assert_eq!(p.len(), n_valid);
    let total: f64 = p.loss_values().unwrap().iter().map(|&l| l as f64).sum();
    let valid_loss = learn.validate(None).unwrap()[0].1;
    assert!(
        (total - valid_loss * n_valid as f64).abs() < 1e-4 * total.abs().max(1.0),
        "{total} against {valid_loss} x {n_valid}"
    );
    // Targets in the validation set's order, decoded predictions the arg-max.
    let targets = p.targets.to_vec1::<u32>().unwrap();
    assert_eq!(targets, data.y[data.n_train..]);
    let decoded = p.decoded.to_vec1::<u32>().unwrap();
    let probs = p.probs.to_vec2::<f32>().unwrap();
    for (d, row) in decoded.iter().zip(&probs) {
        assert_eq!(*d, u32::from(row[1] > row[0]));
    }
    assert!(p.inputs.is_none());
}

#[test]
fn inputs_come_back_when_asked_and_top_losses_are_the_largest() {
    let (mut learn, data) = learner();
    let p = learn.get_preds_with(Some(data.valid()), true).unwrap();
    let inputs = p.inputs.as_ref().unwrap();
    assert_eq!(inputs[0].dims(), &[p.len(), 2]);
    let first = inputs[0].get(0).unwrap().to_vec1::<f32>().unwrap();
    assert_eq!(first, data.x[2 * data.n_train..2 * data.n_train + 2]);
    let losses = p.loss_values().unwrap();
    let top = p.top_losses(3).unwrap();
    assert_eq!(top.len(), 3);
    assert!(top.windows(2).all(|w| w[0].1 >= w[1].1));
    let max = losses.iter().copied().fold(f32::MIN, f32::max);
    assert_eq!(top[0].1, max);
    assert_eq!(losses[top[0].0], max);
}
