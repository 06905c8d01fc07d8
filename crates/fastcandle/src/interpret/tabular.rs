//! Interpretation of tabular classifiers: `ClassificationInterpretation::from_learner` on a
//! [`TabularLearner`], its items the validation rows decoded.

use super::Interpret;
use super::classification::ClassificationInterpretation;
use super::shown::Shown;
use crate::error::{Error, Result};
use crate::tabular::{TabularLearner, frame_rows};

impl Interpret for TabularLearner {
    fn interpret(&mut self) -> Result<ClassificationInterpretation> {
        let processor = self.processor.clone();
        if !processor.is_classification() {
            return Err(Error::Invalid(
                "ClassificationInterpretation: the learner's target is a regression, not a \
                 category"
                    .into(),
            ));
        }
        let preds = self.learn.get_preds_with(None, false)?;
        let valid = self.loader.valid_data();
        let rows: Vec<usize> = (0..valid.n_rows).collect();
        let mut df = processor.decode(valid, &rows)?;
        // The target is shown as "actual" beside the prediction.
        if let Some(y) = processor.y_name()
            && df.get_column_names().iter().any(|n| n.as_str() == y)
        {
            df = df
                .drop(y)
                .map_err(|e| Error::Invalid(format!("interpretation: {e}")))?;
        }
        let header: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        let rows = frame_rows(&df);
        let items = rows
            .iter()
            .map(|r| {
                header
                    .iter()
                    .zip(r)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
        let vocab = self.learn.dls.vocab().unwrap_or_default().to_vec();
        ClassificationInterpretation::with_shown(
            &vocab,
            &preds,
            items,
            Shown::Rows { header, rows },
        )
    }
}
