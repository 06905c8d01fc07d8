//! The examples of `docs/custom-metrics-and-callbacks.md`, run. The page's snippets are the
//! lines between the `ANCHOR` comments of this file, and `the_page_shows_this_files_code`
//! checks that they still agree, so the page cannot drift from code that compiles and passes.

mod common;

use candle_core::{DType, Tensor};
use fastcandle_train::{
    Callback, Cancel, Error, Learner, Metric, Result, accuracy, dice_multi, foreground_acc,
};

// ANCHOR: metric
/// The recall of one class: of the items labelled `class`, the share predicted as `class`.
pub struct Recall {
    class: u32,
    hits: usize,
    total: usize,
}

impl Recall {
    /// The recall of `class`.
    pub fn new(class: u32) -> Self {
        Self {
            class,
            hits: 0,
            total: 0,
        }
    }
}

impl Metric for Recall {
    fn name(&self) -> &str {
        "recall"
    }

    fn reset(&mut self) {
        self.hits = 0;
        self.total = 0;
    }

    fn accumulate(&mut self, pred: &Tensor, target: &Tensor) -> Result<()> {
        let pred: Vec<u32> = pred.argmax(1)?.to_vec1()?;
        let target: Vec<u32> = target.to_dtype(DType::U32)?.to_vec1()?;
        for (p, t) in pred.iter().zip(&target) {
            if *t == self.class {
                self.total += 1;
                self.hits += usize::from(p == t);
            }
        }
        Ok(())
    }

    fn value(&self) -> f64 {
        self.hits as f64 / self.total as f64
    }
}
// ANCHOR_END: metric

// ANCHOR: callback
/// Skips the optimizer step of every training batch whose loss is above `max_loss` (fastai's
/// `CancelBatchException`) and stops the fit after `max_epochs` epochs (`CancelFitException`).
pub struct Guard {
    max_loss: f32,
    max_epochs: usize,
    /// How many batches were skipped.
    pub skipped: usize,
}

impl Callback for Guard {
    // After the Recorder (50), so that the epoch that stops the fit is still recorded.
    fn order(&self) -> i32 {
        90
    }

    fn after_loss(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.training && learn.state.loss_value > self.max_loss {
            self.skipped += 1;
            return Err(Error::Cancelled(Cancel::Batch));
        }
        Ok(())
    }

    fn after_epoch(&mut self, learn: &mut Learner) -> Result<()> {
        if learn.state.epoch + 1 >= self.max_epochs {
            return Err(Error::Cancelled(Cancel::Fit));
        }
        Ok(())
    }
}
// ANCHOR_END: callback

#[test]
fn a_custom_metric_sits_in_a_list_with_the_built_in_ones() -> Result<()> {
    let learn = common::learner(0, 200, 16);
    // ANCHOR: use_metric
    let mut learn = learn.metrics([accuracy(), Recall::new(1).into()]);
    learn.fit_one_cycle(2, None)?;
    let row = learn.validate(None)?; // [("valid_loss", ..), ("accuracy", ..), ("recall", ..)]
    // ANCHOR_END: use_metric
    let names: Vec<&str> = row.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["valid_loss", "accuracy", "recall"]);
    assert!((0.0..=1.0).contains(&row[2].1), "{row:?}");
    Ok(())
}

#[test]
fn a_mixed_list_of_metric_kinds_needs_no_boxing() -> Result<()> {
    // Classification and segmentation metrics in one list (on `[B, C]` outputs the class axis
    // 1 is the last); `foreground_acc` leaves out the items of class 0.
    let mut learn = common::learner(0, 200, 16).metrics([
        accuracy(),
        foreground_acc(),
        dice_multi(),
        Recall::new(1).into(),
    ]);
    let row = learn.validate(None)?;
    let names: Vec<&str> = row.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "valid_loss",
            "accuracy",
            "foreground_acc",
            "dice_multi",
            "recall"
        ]
    );
    Ok(())
}

#[test]
fn a_callback_skips_batches_and_stops_the_fit() -> Result<()> {
    let mut learn = common::learner(0, 200, 16);
    let before = common::weights(&learn);
    // ANCHOR: use_callback
    // No loss is below 0: every step is skipped, and the fit stops after 2 of its 5 epochs.
    learn.add_cb(Guard {
        max_loss: 0.0,
        max_epochs: 2,
        skipped: 0,
    });
    learn.fit(5, Some(1e-2))?;
    let guard = learn.cb::<Guard>().expect("the guard is still there");
    assert_eq!(guard.skipped, 2 * 10); // 2 epochs of 10 batches
    // ANCHOR_END: use_callback
    assert_eq!(common::weights(&learn), before, "no step was taken");
    let epochs = learn
        .recorder()
        .and_then(|r| r.last())
        .map(|f| f.values.len());
    assert_eq!(epochs, Some(2));
    Ok(())
}

/// Takes the prediction away after the forward pass, as a careless callback might.
struct ClearPred;

impl Callback for ClearPred {
    fn after_pred(&mut self, learn: &mut Learner) -> Result<()> {
        learn.pred = None;
        Ok(())
    }
}

#[test]
fn a_callback_that_clears_the_prediction_is_an_error_not_a_panic() {
    let mut learn = common::learner(0, 200, 16);
    learn.add_cb(ClearPred);
    let e = learn.fit(1, None).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Cleared {
                stage: "after_pred",
                what: "prediction"
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "after_pred: the prediction was cleared by a callback; a callback that takes it must \
         put one back"
    );
}

/// The code blocks of the page, in order.
fn page_blocks() -> Vec<String> {
    let page = include_str!("../../../docs/custom-metrics-and-callbacks.md");
    page.split("```rust\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_string())
        .collect()
}

/// The lines of this file between `// ANCHOR: name` and `// ANCHOR_END: name`, unindented
/// as far as their least indented line.
fn anchored(name: &str) -> String {
    let file = include_str!("custom_metric_and_callback.rs");
    let start = format!("// ANCHOR: {name}\n");
    let end = format!("// ANCHOR_END: {name}");
    let body = file.split(start.as_str()).nth(1).expect("the anchor");
    let body = &body[..body.find(end.as_str()).expect("the anchor's end")];
    // The end anchor's own indentation is not part of the block.
    let body = body.trim_end_matches(' ');
    let lines: Vec<&str> = body.lines().collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").to_string() + "\n")
        .collect()
}

#[test]
fn the_page_shows_this_files_code() {
    let blocks = page_blocks();
    let names = ["metric", "use_metric", "callback", "use_callback"];
    assert_eq!(blocks.len(), names.len(), "one block per anchor");
    for (block, name) in blocks.iter().zip(names) {
        assert_eq!(block, &anchored(name), "the page's `{name}` block");
    }
}
