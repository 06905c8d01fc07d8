//! What a run writes to look at beside its history and summary: `loss.png` and `sched.png`,
//! `results.png`, the interpretation (`confusion_matrix.png`, `top_losses.png`, `interp.json`
//! for classification; `per_code.csv`, `top_losses.png`, `confusion_matrix.png` for
//! segmentation), and for `lr-find`, `lr_find.png` and `lr_find.json`.

use crate::run_dir::write_json;
use anyhow::{Context, Result};
use fastcandle::interpret::{ClassificationInterpretation, Interpret, SegmentationInterpretation};
use fastcandle::plot::{plot_loss, plot_lr_find, plot_sched, plot_table};
use fastcandle::tabular::TabularLearner;
use fastcandle::train::callback::{ActivationStats, Recorder};
use fastcandle::train::{Learner, LrFindOptions};
use fastcandle::vision::{UnetLearner, VisionLearner};
use serde_json::json;
use std::path::Path;

/// How many items `results.png` and `top_losses.png` show (fastai's `max_n` is 9).
pub const N_SHOWN: usize = 9;
/// How many top losses `interp.json` lists.
pub const N_TOP_JSON: usize = 20;

/// `loss.png` and `sched.png` from the learner's Recorder. A process that ran no batch (a
/// resumed run with nothing left) has nothing to plot: the pictures are left out and `false`
/// given back.
pub fn training_plots(learn: &Learner, out: &Path) -> Result<bool> {
    let Some(rec) = learn.cb::<Recorder>() else {
        return Ok(false);
    };
    if rec.fits.iter().all(|f| f.losses.is_empty()) {
        return Ok(false);
    }
    plot_loss(rec, out.join("loss.png"))?;
    plot_sched(rec, out.join("sched.png"))?;
    Ok(true)
}

/// The interpretation files of a classifier: `confusion_matrix.png`, `top_losses.png` and
/// `interp.json`; gives the interpretation back.
pub fn classification(
    learn: &mut impl Interpret,
    out: &Path,
) -> Result<ClassificationInterpretation> {
    let interp = ClassificationInterpretation::from_learner(learn)?;
    interp.plot_confusion_matrix(out.join("confusion_matrix.png"), false)?;
    interp.plot_top_losses(N_SHOWN, out.join("top_losses.png"))?;
    write_json(&out.join("interp.json"), &interp.to_json(N_TOP_JSON))?;
    Ok(interp)
}

/// Everything an image classifier's run shows: the training plots, `results.png` and the
/// interpretation files.
pub fn vision_classifier(learn: &mut VisionLearner, out: &Path) -> Result<serde_json::Value> {
    training_plots(learn, out)?;
    activation_plot(learn, out)?;
    learn.show_results(out.join("results.png"), N_SHOWN)?;
    let interp = classification(learn, out)?;
    Ok(interp_summary(&interp))
}

/// Everything a tabular classifier's run shows: the training plots, `results.png` (rows with
/// their prediction) and the interpretation files; a regression has no interpretation.
pub fn tabular(learn: &mut TabularLearner, out: &Path) -> Result<Option<serde_json::Value>> {
    training_plots(learn, out)?;
    let shown = learn.show_results(N_SHOWN)?;
    let header: Vec<String> = shown
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let rows = fastcandle::tabular::frame_rows(&shown);
    plot_table(
        "Validation rows with their prediction",
        &header,
        &rows,
        out.join("results.png"),
    )?;
    if !learn.processor().is_classification() {
        return Ok(None);
    }
    let interp = classification(learn, out)?;
    Ok(Some(interp_summary(&interp)))
}

/// Everything a segmentation run shows: the training plots, `results.png`, `per_code.csv`,
/// the pixel `confusion_matrix.png` and `top_losses.png`; gives the mean IoU and per-code
/// scores for the summary.
pub fn segmentation(learn: &mut UnetLearner, out: &Path) -> Result<serde_json::Value> {
    training_plots(learn, out)?;
    learn.show_results(out.join("results.png"), 8)?;
    let interp = SegmentationInterpretation::from_learner(learn)?;
    interp.write_per_code_csv(out.join("per_code.csv"))?;
    interp.plot_confusion_matrix(out.join("confusion_matrix.png"), true)?;
    interp.plot_top_losses(6, out.join("top_losses.png"))?;
    let top: Vec<_> = interp
        .top_losses(6)
        .into_iter()
        .map(|t| json!({"item": t.item, "loss": t.loss, "pixel_accuracy": t.pixel_accuracy}))
        .collect();
    Ok(json!({ "mean_iou": interp.mean_iou(), "top_losses": top }))
}

/// The summary's view of an interpretation: its error rate, the count, the most confused pairs.
pub fn interp_summary(interp: &ClassificationInterpretation) -> serde_json::Value {
    let confused: Vec<_> = interp
        .most_confused(1)
        .into_iter()
        .take(5)
        .map(|c| json!([c.actual, c.predicted, c.count]))
        .collect();
    json!({
        "n": interp.len(),
        "error_rate": interp.error_rate(),
        "most_confused": confused,
    })
}

/// `lr_find` on the learner as it would start training: writes `lr_find.png` and
/// `lr_find.json`, prints the suggestions unless `quiet`, and gives the JSON back.
pub fn lr_find(learn: &mut Learner, out: &Path, quiet: bool) -> Result<serde_json::Value> {
    let s = learn
        .lr_find_with(&LrFindOptions::default())
        .context("lr_find")?;
    plot_lr_find(&s, out.join("lr_find.png"))?;
    let suggestions: serde_json::Map<String, serde_json::Value> = [
        ("valley", json!(s.valley)),
        ("minimum", json!(s.minimum)),
        ("steep", json!(s.steep)),
        ("slide", json!(s.slide)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let value = json!({
        "suggestions": suggestions,
        "lrs": s.lrs,
        "losses": s.losses.iter().map(|&l| if l.is_finite() { json!(l) } else { json!(null) }).collect::<Vec<_>>(),
    });
    write_json(&out.join("lr_find.json"), &value)?;
    if !quiet {
        let text: Vec<String> = s
            .named()
            .iter()
            .map(|(k, v)| format!("{k} {v:.2e}"))
            .collect();
        println!("lr_find suggests: {}", text.join(", "));
        println!("wrote {}", out.join("lr_find.png").display());
    }
    Ok(value)
}

/// `cargo xtask lr-find <task>`: `lr_find` on the task's learner as training would start
/// (frozen, for a pretrained body), its files and its summary (the settings and the
/// suggestions).
pub fn lr_find_run(
    task: &str,
    learn: &mut Learner,
    out: &Path,
    start: std::time::Instant,
    args: &crate::train::CommonArgs,
) -> Result<serde_json::Value> {
    anyhow::ensure!(
        args.resume.is_none(),
        "lr-find starts from the learner as made; --resume is for train"
    );
    crate::fit_callbacks::refuse_for_lr_find(args)?;
    crate::fit_callbacks::add_accumulation(learn, args)?;
    let found = lr_find(learn, out, args.quiet)?;
    let summary = json!({
        "task": task,
        "mode": "lr_find",
        "seed": args.seed,
        "bs": learn.dls.train_shape().map(|s| s.bs).or(args.bs),
        "device": fastcandle::core::device::device_name(learn.dls.device()),
        "batches": found["lrs"].as_array().map(Vec::len),
        "suggestions": found["suggestions"],
        "wall_s": start.elapsed().as_secs_f64(),
    });
    crate::run_dir::finish(out, summary, args.quiet)
}

/// Adds fastai's `ActivationStats` on the body's stages (a ResNet's `maxpool` and `layer1` ..
/// `layer4`, MobileNetV2's last block at each resolution) to an image classifier, for
/// `activation_stats.png`.
pub fn add_activation_stats(learn: &mut VisionLearner) -> Result<()> {
    let probe = fastcandle::models::VisionModel::new(
        learn.arch(),
        2,
        &fastcandle::models::Pretrained::No,
        &fastcandle::core::candle::Device::Cpu,
        0,
    )?;
    let names = probe.body().names().to_vec();
    let stages: Vec<String> = probe
        .body()
        .stages()
        .iter()
        .filter_map(|s| names.get(s.child).cloned())
        .filter(|n| learn.model.hook_points().contains(n))
        .collect();
    if !stages.is_empty() {
        learn.add_cb(ActivationStats::new().modules(stages));
    }
    Ok(())
}

/// `activation_stats.png`: the mean, std and share near zero of the body's output (its last
/// hooked stage) over the last fit's training batches, when `ActivationStats` recorded them.
pub fn activation_plot(learn: &Learner, out: &Path) -> Result<bool> {
    let Some(stats) = learn.cb::<ActivationStats>() else {
        return Ok(false);
    };
    let Some(last) = stats.names.last() else {
        return Ok(false);
    };
    if stats.stats.is_empty() {
        return Ok(false);
    }
    fastcandle::plot::plot_layer_stats(stats, last, out.join("activation_stats.png"))?;
    Ok(true)
}
