//! Sound as pictures: the Free Spoken Digit Dataset (`{digit}_{speaker}_{index}.wav`, 8 kHz)
//! through log-mel spectrograms and `audio_learner`; validated on the authors' split (indexes
//! 0-4 of every digit and speaker) or on one speaker held out (a voice the model never heard).

use super::vision_common::{arch_and_weights, schedule, train};
use crate::outputs;
use crate::resume;
use crate::run_dir::{finish, recorded};
use crate::train::{Mode, SpokenDigitsArgs};
use anyhow::{Context, Result, bail};
use fastcandle::audio::AudioLearner;
use fastcandle::audio::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The task's name.
pub const TASK: &str = "spoken-digits";
/// The architecture trained from scratch by default (chosen by measurement: see
/// `docs/sound.md`).
pub const DEFAULT_ARCH: Arch = Arch::Resnet18;
/// The default epochs of `fit_one_cycle` (with [`DEFAULT_BS`]: 0.992 on the authors' split in
/// 143 s on a 2-core machine; 6 epochs at batch size 64 gave 0.992 in 146 s, 8 at 32x33 pixels
/// 0.992 in 256 s).
pub const DEFAULT_EPOCHS: usize = 5;
/// The peak learning rate of `fit_one_cycle` from scratch.
pub const DEFAULT_LR: f64 = 3e-3;
/// The batch size: 32, where fastai's default is 64, since twice the steps per epoch learn
/// more per second here (a one-epoch fit: 0.58 at 32, 0.48 at 64, 0.10 at 128).
pub const DEFAULT_BS: usize = 32;
/// Where FSDD is published.
pub const WHERE_TO_GET: &str = "the `recordings/` folder of the Free Spoken Digit Dataset, \
    https://github.com/Jakobovski/free-spoken-digit-dataset";

/// The recordings this project's machines hold (`../shared/data`), used when `--data` is
/// not given.
pub fn shared_data() -> PathBuf {
    let p = crate::workspace_root().join("../shared/data/spoken-digits/recordings");
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// Which recordings validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Valid {
    /// The authors' test split: indexes 0-4 of every digit and speaker.
    Authors,
    /// Every recording of one speaker.
    Speaker(String),
}

impl std::str::FromStr for Valid {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            None if s == "authors" => Ok(Valid::Authors),
            Some(("speaker", name)) if !name.is_empty() => Ok(Valid::Speaker(name.to_string())),
            _ => Err(format!(
                "`{s}`: give `authors` (indexes 0-4 validate) or `speaker:NAME` (one speaker \
                 held out)"
            )),
        }
    }
}

impl std::fmt::Display for Valid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Valid::Authors => f.write_str("authors"),
            Valid::Speaker(s) => write!(f, "speaker:{s}"),
        }
    }
}

/// The parts of an FSDD name: `(digit, speaker, index)`, or `None` for another name.
pub fn parts(path: &Path) -> Option<(String, String, usize)> {
    let stem = file_stem(path);
    let mut it = stem.splitn(3, '_');
    let (digit, speaker, index) = (it.next()?, it.next()?, it.next()?);
    if digit.len() != 1 || !digit.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((digit.to_string(), speaker.to_string(), index.parse().ok()?))
}

/// The recordings of `data`, every name checked to be FSDD's; the speakers found.
fn recordings(data: &Path) -> Result<(Vec<PathBuf>, Vec<String>)> {
    if !data.is_dir() {
        bail!(
            "{}: no such folder; the {TASK} task needs {WHERE_TO_GET} (pass --data DIR)",
            data.display()
        );
    }
    let files = get_audio_files(data)?;
    let mut speakers = Vec::new();
    for f in &files {
        let Some((_, speaker, _)) = parts(f) else {
            bail!(
                "{}: not an FSDD name (`{{digit}}_{{speaker}}_{{index}}.wav`)",
                f.display()
            );
        };
        if !speakers.contains(&speaker) {
            speakers.push(speaker);
        }
    }
    speakers.sort();
    Ok((files, speakers))
}

/// The spectrogram settings of the run.
pub fn spectrogram(task: &SpokenDigitsArgs) -> SpectrogramConfig {
    SpectrogramConfig::default()
        .sample_rate(task.sample_rate)
        .duration(task.duration)
        .n_fft(task.n_fft)
        .hop_length(task.hop_length)
        .n_mels(Some(task.n_mels))
}

/// The task's data loaders.
pub fn data_loaders(
    task: &SpokenDigitsArgs,
    data: &Path,
) -> Result<(AudioDataLoaders, Vec<String>)> {
    let args = &task.common;
    let (files, speakers) = recordings(data)?;
    let builder = AudioDataLoaders::from_name_re(data, files, r"^(\d)_")
        .spectrogram(spectrogram(task))
        .seed(args.seed)
        .bs(args.bs.unwrap_or(DEFAULT_BS))
        .device(args.device)
        .augment((!task.no_augment).then(AudioAugment::default));
    let builder = match &task.valid {
        Valid::Authors => builder.splitter(FuncSplitter::new(|p: &Path| {
            parts(p).is_some_and(|(_, _, i)| i < 5)
        })),
        Valid::Speaker(name) => {
            if !speakers.contains(name) {
                bail!(
                    "--valid speaker:{name}: no recording of `{name}` in {}; its speakers are {}",
                    data.display(),
                    speakers.join(", ")
                );
            }
            let name = name.clone();
            builder.splitter(FuncSplitter::new(move |p: &Path| {
                parts(p).is_some_and(|(_, s, _)| s == name)
            }))
        }
    };
    Ok((builder.build()?, speakers))
}

/// The learner of the run: `--arch` (default ResNet18 from scratch) with accuracy and
/// error rate.
pub fn learner(
    task: &SpokenDigitsArgs,
    dls: &AudioDataLoaders,
) -> Result<(AudioLearner, Pretrained)> {
    let (arch, pretrained) = arch_and_weights(&task.vision(), DEFAULT_ARCH, Pretrained::No);
    let learn = AudioLearner::builder(dls, arch)
        .pretrained(pretrained.clone())
        .metrics([accuracy(), error_rate()])
        .seed(task.common.seed)
        .build()?;
    Ok((learn, pretrained))
}

/// Trains, scores, and writes the run's files; returns the summary.
pub fn run_as(task: &SpokenDigitsArgs, mode: Mode) -> Result<serde_json::Value> {
    let args = &task.common;
    let start = Instant::now();
    let data = args.data.clone().unwrap_or_else(shared_data);
    let (dls, speakers) = data_loaders(task, &data)
        .with_context(|| format!("reading the recordings of {}", data.display()))?;
    let run = args.run_dir(TASK)?;
    let out = run.path();
    let (mut learn, pretrained) = learner(task, &dls)?;
    let arch = learn.arch();
    learn.quiet(args.quiet);
    learn.set_mixed_precision(args.mixed_precision());
    if mode == Mode::LrFind {
        return outputs::lr_find_run(TASK, &mut learn.learn, out, start, args);
    }
    let epochs = args.epochs.unwrap_or(DEFAULT_EPOCHS);
    let bs = args.bs.unwrap_or(DEFAULT_BS);
    let mut options = args.shaping(TASK, &data, epochs, bs);
    options["arch"] = arch.name().into();
    options["pretrained"] = pretrained.to_string().into();
    options["valid"] = task.valid.to_string().into();
    options["spectrogram"] = serde_json::to_value(spectrogram(task))?;
    options["augment"] = (!task.no_augment).into();
    let resumed = resume::start(&mut learn, out, &options, args)?;
    crate::fit_callbacks::add(&mut learn, out, args)?;
    let from_scratch = pretrained == Pretrained::No;
    let (lr, schedule) = schedule(from_scratch, epochs, args.lr, DEFAULT_LR);
    let (rows, cols) = dls.pipeline().config().shape();
    let device = fastcandle::core::device::device_name(dls.device());
    if !args.quiet {
        println!(
            "{TASK}: {} ({} train / {} valid recordings, valid {}, speakers {}), {rows}x{cols} \
             log-mel pictures, {arch} pretrained {pretrained}, {schedule}, bs {bs}, seed {}, \
             device {device}",
            data.display(),
            dls.train_paths().len(),
            dls.valid_paths().len(),
            task.valid,
            speakers.join(", "),
            args.seed,
        );
    }
    dls.show_batch(out.join("batch.png"), 9)?;
    let train_start = Instant::now();
    train(&mut learn, from_scratch, epochs, lr, resumed.as_ref())?;
    let train_s = train_start.elapsed().as_secs_f64();

    let (last, epoch_times) = recorded(&out.join("history.csv"))?;
    learn.export(out)?;
    outputs::training_plots(&learn, out)?;
    learn.show_results(out.join("results.png"), outputs::N_SHOWN)?;
    let interp = outputs::classification(&mut learn, out)?;
    let summary = json!({
        "task": TASK,
        "data": data.display().to_string(),
        "valid": task.valid.to_string(),
        "speakers": speakers,
        "train_recordings": dls.train_paths().len(),
        "valid_recordings": dls.valid_paths().len(),
        "spectrogram": spectrogram(task),
        "picture": [rows, cols],
        "augment": !task.no_augment,
        "arch": arch.name(),
        "pretrained": pretrained.to_string(),
        "seed": args.seed,
        "device": device,
        "epochs": epochs,
        "schedule": schedule,
        "bs": bs,
        "lr": lr,
        "metrics": last,
        "callbacks": crate::fit_callbacks::summary(args, out, &learn),
        "interpretation": outputs::interp_summary(&interp),
        "epoch_times_s": epoch_times,
        "train_s": train_s,
        "wall_s": start.elapsed().as_secs_f64(),
    });
    finish(out, summary, args.quiet)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::CommonArgs;

    /// FSDD's recordings of george and theo, indexes 0-6 of every digit, copied to `dir`; `None`
    /// when `../shared/data` is absent (a failure on CI).
    fn small_fsdd(dir: &Path) -> Option<PathBuf> {
        let shared = shared_data();
        if !shared.is_dir() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{} is missing on CI",
                shared.display()
            );
            eprintln!("note: {} is absent; skipping", shared.display());
            return None;
        }
        let out = dir.join("recordings");
        std::fs::create_dir_all(&out).unwrap();
        for f in get_audio_files(&shared).unwrap() {
            let (_, speaker, index) = parts(&f).unwrap();
            if (speaker == "george" || speaker == "theo") && index < 7 {
                std::fs::copy(&f, out.join(file_name(&f))).unwrap();
            }
        }
        Some(out)
    }

    fn args(dir: &Path, data: PathBuf, valid: Valid) -> SpokenDigitsArgs {
        let mut common = CommonArgs::new(1, DeviceChoice::Cpu, dir.join("run"));
        common.data = Some(data);
        common.quiet = true;
        common.bs = Some(16);
        common.force = true;
        SpokenDigitsArgs {
            common,
            arch: Some(Arch::SimpleCnn),
            pretrained: None,
            sample_rate: 8000,
            n_mels: 32,
            duration: 0.5,
            n_fft: 256,
            hop_length: 125,
            valid,
            no_augment: false,
        }
    }

    #[test]
    fn valid_parses_authors_and_speakers() {
        assert_eq!("authors".parse::<Valid>(), Ok(Valid::Authors));
        assert_eq!(
            "speaker:theo".parse::<Valid>(),
            Ok(Valid::Speaker("theo".into()))
        );
        for bad in ["speaker:", "theo", "speakers:theo"] {
            assert!(bad.parse::<Valid>().unwrap_err().contains(bad), "{bad}");
        }
        assert_eq!(
            parts(Path::new("a/7_theo_12.wav")),
            Some(("7".into(), "theo".into(), 12))
        );
        assert_eq!(parts(Path::new("theo_7_12.wav")), None);
    }

    #[test]
    fn a_run_on_the_authors_split_and_a_speaker_held_out() {
        let tmp = tempfile::tempdir().unwrap();
        let Some(data) = small_fsdd(tmp.path()) else {
            return;
        };
        let summary = run_as(&args(tmp.path(), data.clone(), Valid::Authors), Mode::Train).unwrap();
        // Indexes 0-4 of 10 digits and 2 speakers validate; 5 and 6 train.
        assert_eq!(summary["valid_recordings"], 100);
        assert_eq!(summary["train_recordings"], 40);
        assert_eq!(summary["picture"], json!([32, 33]));
        for f in [
            "batch.png",
            "results.png",
            "confusion_matrix.png",
            "top_losses.png",
        ] {
            assert!(tmp.path().join("run").join(f).is_file(), "{f}");
        }
        let learn = load_audio_learner(tmp.path().join("run"), DeviceChoice::Cpu).unwrap();
        assert_eq!(learn.vocab().len(), 10);
        // The finished run resumes to the same metrics; other epochs are refused, named.
        let mut again = args(tmp.path(), data.clone(), Valid::Authors);
        again.common.resume = Some(tmp.path().join("run/checkpoint.safetensors"));
        let resumed = run_as(&again, Mode::Train).unwrap();
        assert_eq!(resumed["metrics"], summary["metrics"]);
        again.common.epochs = Some(2);
        let err = format!("{:#}", run_as(&again, Mode::Train).unwrap_err());
        assert!(err.contains("epochs: 1 -> 2"), "{err}");

        let held = run_as(
            &args(tmp.path(), data.clone(), Valid::Speaker("theo".into())),
            Mode::Train,
        )
        .unwrap();
        assert_eq!(held["valid_recordings"], 70);
        assert_eq!(held["speakers"], json!(["george", "theo"]));

        let err = format!(
            "{:#}",
            run_as(
                &args(tmp.path(), data.clone(), Valid::Speaker("ann".into())),
                Mode::Train
            )
            .unwrap_err()
        );
        assert!(
            err.contains("no recording of `ann`") && err.contains("george, theo"),
            "{err}"
        );

        std::fs::write(data.join("hello.wav"), b"RIFF").unwrap();
        let err = format!(
            "{:#}",
            run_as(&args(tmp.path(), data, Valid::Authors), Mode::Train).unwrap_err()
        );
        assert!(err.contains("hello.wav: not an FSDD name"), "{err}");
    }
}
