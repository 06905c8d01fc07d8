//! What a model says about one item: shared by the tabular and vision applications.

/// A prediction for one item.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// The predicted class (classification), or the value as text (regression).
    pub label: String,
    /// The index of the predicted class (0 for regression).
    pub index: usize,
    /// The probability of each class (classification), or the predicted values (regression).
    pub probs: Vec<f32>,
}

impl Prediction {
    /// The most probable of `classes` given their probabilities `probs` (ties: the first).
    pub fn from_probs(classes: &[String], probs: Vec<f32>) -> Self {
        let index = probs
            .iter()
            .enumerate()
            .fold(None::<(usize, f32)>, |best, (i, &p)| match best {
                Some((_, b)) if b >= p => best,
                _ => Some((i, p)),
            })
            .map_or(0, |(i, _)| i);
        Prediction {
            label: classes.get(index).cloned().unwrap_or_default(),
            index,
            probs,
        }
    }
}

/// The predictions of `model` for one batch of inputs `xs` over `classes` (soft-max of the
/// logits, in evaluation mode, without gradients).
pub(crate) fn predict_batch(
    model: &dyn fastcandle_core::Model,
    xs: &[candle_core::Tensor],
    classes: &[String],
) -> crate::Result<Vec<Prediction>> {
    let logits = fastcandle_core::grad::no_grad(|| model.forward_t(xs, false))?;
    let probs: Vec<Vec<f32>> = candle_nn::ops::softmax_last_dim(&logits)?
        .to_dtype(candle_core::DType::F32)?
        .to_vec2()?;
    Ok(probs
        .into_iter()
        .map(|p| Prediction::from_probs(classes, p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_most_probable_class_and_the_first_of_ties() {
        let classes = vec!["a".to_string(), "b".into(), "c".into()];
        let p = Prediction::from_probs(&classes, vec![0.2, 0.5, 0.3]);
        assert_eq!((p.label.as_str(), p.index), ("b", 1));
        let p = Prediction::from_probs(&classes, vec![0.4, 0.4, 0.2]);
        assert_eq!((p.label.as_str(), p.index), ("a", 0));
    }
}
