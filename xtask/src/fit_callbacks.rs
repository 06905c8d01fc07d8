//! The training callbacks a run's flags ask for (`--save-best`, `--early-stop`,
//! `--accumulate`), what the summary says of them, and the `--tta` score.

use crate::train::CommonArgs;
use anyhow::{Context, Result};
use fastcandle::train::callback::{EarlyStoppingCallback, GradientAccumulation, SaveModelCallback};
use fastcandle::train::{Learner, TtaOptions};
use serde_json::json;
use std::path::Path;

/// The best model's file in the run folder (`--save-best`).
pub const BEST_FILE: &str = "best";

/// Adds the callbacks of `--save-best` (to `<out>/best.safetensors`), `--early-stop` and
/// `--accumulate` to `learn`, for every later fit. An `--accumulate` below the batch size is
/// refused: it would step every batch with the loss scaled up.
pub fn add(learn: &mut Learner, out: &Path, args: &CommonArgs) -> Result<()> {
    add_accumulation(learn, args)?;
    if args.save_best {
        learn.add_cb(SaveModelCallback::new().dir(out).fname(BEST_FILE));
    }
    if let Some(patience) = args.early_stop {
        learn.add_cb(EarlyStoppingCallback::new().patience(patience)?);
    }
    Ok(())
}

/// Adds `--accumulate`'s callback (also for `lr-find`, which then finds the rate of the
/// accumulated steps).
pub fn add_accumulation(learn: &mut Learner, args: &CommonArgs) -> Result<()> {
    let Some(n) = args.accumulate else {
        return Ok(());
    };
    if let Some(bs) = learn.dls.train_shape().map(|s| s.bs) {
        anyhow::ensure!(
            n >= bs,
            "--accumulate {n} is below the batch size {bs}: it counts the items per optimizer \
             step (the effective batch size), so it must be at least --bs"
        );
    }
    learn.add_cb(GradientAccumulation::new(n)?);
    Ok(())
}

/// What the summary says of the flags: each as given (`null` when not); for `--save-best`,
/// the epoch (of the last fit, from 0) whose weights the run ended with, and its value, since
/// the summary's `metrics` are the last epoch's.
pub fn summary(args: &CommonArgs, out: &Path, learn: &Learner) -> serde_json::Value {
    let best = learn.cb::<SaveModelCallback>().and_then(|s| s.best());
    json!({
        "save_best": args.save_best.then(|| json!({
            "monitor": "valid_loss",
            "file": out.join(format!("{BEST_FILE}.safetensors")).display().to_string(),
            "best_epoch_of_last_fit": best.map(|b| b.0),
            "best_value": best.map(|b| b.1),
        })),
        "early_stop": args.early_stop.map(|p| json!({ "monitor": "valid_loss", "patience": p })),
        "accumulate": args.accumulate.map(|n| json!({ "items_per_step": n })),
    })
}

/// `--tta`: fastai's `learn.tta()` (n 4, beta 0.25) on the validation set, scored with the
/// learner's metrics, beside the same metrics of the plain predictions; printed unless
/// `quiet`.
pub fn tta_scores(learn: &mut Learner, quiet: bool) -> Result<serde_json::Value> {
    let opts = TtaOptions::default();
    let t = learn.tta_with(&opts).context("tta")?;
    let mut tta = serde_json::Map::new();
    let mut plain = serde_json::Map::new();
    for m in learn.metrics.iter_mut() {
        for (preds, into) in [(&t.preds, &mut tta), (&t.plain_preds, &mut plain)] {
            m.reset();
            m.accumulate(preds, &t.targets)?;
            into.insert(m.name().to_string(), json!(m.value()));
        }
    }
    // Without random training transforms (no augmentation, a Resize of square images) every
    // pass is the plain prediction: said, rather than reported as a TTA gain.
    let spread = (&t.aug_preds - &t.plain_preds)?
        .abs()?
        .flatten_all()?
        .max(0)?
        .to_dtype(fastcandle::core::candle::DType::F32)?
        .to_scalar::<f32>()?;
    if !quiet {
        if spread == 0.0 {
            println!(
                "tta: the training transforms draw nothing at random here (no augmentation, no \
                 random crop): the augmented passes equal the plain predictions"
            );
        }
        let line = |m: &serde_json::Map<String, serde_json::Value>| {
            m.iter()
                .map(|(k, v)| format!("{k} {:.4}", v.as_f64().unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        println!(
            "tta (n {}, beta 0.25): {} (without: {})",
            opts.n,
            line(&tta),
            line(&plain)
        );
    }
    Ok(json!({
        "n": opts.n,
        "beta": opts.beta,
        "use_max": opts.use_max,
        "metrics": tta,
        "plain_metrics": plain,
        "max_abs_diff_augmented_vs_plain": spread,
    }))
}

/// Refuses the flags that only a training run uses, for `lr-find` (`--tta` is checked by
/// the tasks that take it).
pub fn refuse_for_lr_find(args: &CommonArgs) -> Result<()> {
    anyhow::ensure!(
        !args.save_best && args.early_stop.is_none(),
        "--save-best and --early-stop are for train: lr-find's fit saves and stops nothing"
    );
    Ok(())
}
