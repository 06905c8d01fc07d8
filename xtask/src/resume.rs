//! Every run checkpoints and can be resumed alike: the checkpoint carries the options that
//! shaped the run, and a resume with other options is refused, naming each difference.

use crate::train::CommonArgs;
use anyhow::{Context, Result};
use fastcandle::train::Learner;
use fastcandle::train::callback::{CsvLogger, SaveCheckpoint};
use fastcandle::train::checkpoint::{CheckpointInfo, changed_options, load_checkpoint};
use std::path::Path;

/// Adds the run's checkpoint (`<out>/checkpoint.safetensors`, saved with `options` every
/// `args.checkpoint_every` epochs, none for 0) and history (`<out>/history.csv`) to `learn`.
/// With `--resume`, the checkpoint is loaded first, one saved with other options is refused,
/// and the history keeps the rows of the epochs it holds; its position is given back for the
/// fit to resume from.
pub fn start(
    learn: &mut Learner,
    out: &Path,
    options: &serde_json::Value,
    args: &CommonArgs,
) -> Result<Option<CheckpointInfo>> {
    let (resume, quiet) = (&args.resume, args.quiet);
    if args.checkpoint_every > 0 {
        let mut save =
            SaveCheckpoint::new(out.join("checkpoint.safetensors")).options(options.clone());
        save.every = args.checkpoint_every;
        learn.add_cb(save);
    }
    let history = out.join("history.csv");
    let Some(ckpt) = resume else {
        learn.add_cb(CsvLogger::new(&history));
        return Ok(None);
    };
    let info = load_checkpoint(learn, ckpt)
        .with_context(|| format!("resuming from {}", ckpt.display()))?;
    if let Some(saved) = &info.options {
        let changed = changed_options(saved, options);
        anyhow::ensure!(
            changed.is_empty(),
            "{} was saved by a run with other options ({}); resume it with the options it was \
             started with",
            ckpt.display(),
            changed.join(", ")
        );
    }
    learn.add_cb(CsvLogger::resume(
        &history,
        info.epochs_before + info.epochs_done,
    )?);
    if !quiet {
        println!(
            "resuming from {} after epoch {} of a fit of {} (after {} earlier epochs)",
            ckpt.display(),
            info.epochs_done,
            info.n_epoch,
            info.epochs_before
        );
    }
    Ok(Some(info))
}
