//! Sound as pictures end to end: recordings written here (a low and a high tone, two
//! "speakers"), `AudioDataLoaders` from their names, `audio_learner` trained a few epochs,
//! `predict`, export and `load_audio_learner`, `show_batch`, the interpretation, and the
//! refusals.

mod common;

use fastcandle::audio::prelude::*;
use fastcandle::data::audio::{Waveform, write_wav};
use fastcandle::interpret::ClassificationInterpretation;
use std::path::{Path, PathBuf};

/// `n` recordings per class and speaker: tones of 300 Hz ("low") and 1,500 Hz ("high") of
/// 0.3 to 0.5 s at 8 kHz, with a little deterministic noise, named `{class}_{speaker}_{i}.wav`.
fn recordings(dir: &Path, n: usize) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut state = 12345u64;
    for (class, hz) in [("low", 300.0), ("high", 1500.0)] {
        for speaker in ["ann", "bob"] {
            for i in 0..n {
                let len = 2400 + (i * 397) % 1600;
                let samples = (0..len)
                    .map(|t| {
                        state = state
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let noise = ((state >> 33) as f32 / (1u64 << 31) as f32 - 0.5) * 0.05;
                        let f = hz * if speaker == "bob" { 1.1 } else { 1.0 };
                        0.4 * (2.0 * std::f32::consts::PI * f * t as f32 / 8000.0).sin() + noise
                    })
                    .collect();
                let p = dir.join(format!("{class}_{speaker}_{i}.wav"));
                write_wav(&p, &Waveform::mono(8000, samples)).unwrap();
                files.push(p);
            }
        }
    }
    files
}

fn class_of(name: &str) -> String {
    name.split('_').next().unwrap_or_default().to_string()
}

fn small_config() -> SpectrogramConfig {
    SpectrogramConfig::default()
        .sample_rate(8000)
        .duration(0.5)
        .n_fft(256)
        .hop_length(125)
        .n_mels(Some(24))
}

#[test]
fn trains_predicts_exports_and_shows() {
    let dir = tempfile::tempdir().unwrap();
    let files = recordings(dir.path(), 12);
    let dls = AudioDataLoaders::from_name_func(dir.path(), files, class_of)
        .spectrogram(small_config())
        .splitter(FuncSplitter::new(|p: &Path| {
            file_stem(p).ends_with("_1") || file_stem(p).ends_with("_7")
        }))
        .bs(8)
        .seed(1)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert_eq!(dls.vocab(), ["high", "low"]);
    assert_eq!((dls.train_paths().len(), dls.valid_paths().len()), (40, 8));
    let (rows, cols) = dls.pipeline().config().shape();
    assert_eq!((rows, cols), (24, 33));
    let b = fastcandle::core::DataLoaders::train(dls.loader(), 0)
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(b.xs[0].dims(), &[8, 3, 24, 33]);

    let png = dir.path().join("batch.png");
    dls.show_batch(&png, 4).unwrap();
    assert!(image::open(&png).unwrap().width() > 128);

    let mut learn = audio_learner(&dls, Arch::SimpleCnn, Pretrained::No)
        .unwrap()
        .metrics([accuracy()]);
    learn.quiet(true);
    learn.fit_one_cycle(8, Some(1e-2)).unwrap();
    let scores = learn.validate(None).unwrap();
    assert!(scores[1].1 >= 0.99, "{scores:?}");

    let wav = dls.valid_paths()[0].clone();
    let p = learn.predict(&wav).unwrap();
    assert_eq!(p.label, class_of(file_name(&wav)));
    assert!((p.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);

    let export = dir.path().join("export");
    learn.export(&export).unwrap();
    let loaded = load_audio_learner(&export, DeviceChoice::Cpu).unwrap();
    assert_eq!(loaded.vocab(), dls.vocab());
    let q = loaded.predict(&wav).unwrap();
    assert_eq!(q.label, p.label);
    for (a, b) in p.probs.iter().zip(&q.probs) {
        assert!((a - b).abs() < 1e-6, "{a} {b}");
    }

    let interp = ClassificationInterpretation::from_learner(&mut learn).unwrap();
    assert_eq!(interp.confusion_matrix().iter().flatten().sum::<usize>(), 8);
    interp
        .plot_top_losses(4, dir.path().join("top.png"))
        .unwrap();
    learn
        .show_results(dir.path().join("results.png"), 4)
        .unwrap();
    assert!(dir.path().join("top.png").is_file() && dir.path().join("results.png").is_file());

    // A vision export is not an audio one, and the error says so.
    std::fs::write(
        export.join("config.json"),
        r#"{"format": "fastcandle-vision-1"}"#,
    )
    .unwrap();
    let e = load_audio_learner(&export, DeviceChoice::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("fastcandle-audio-1"), "{e}");
}

#[test]
fn a_speaker_held_out_and_refusals_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let files = recordings(dir.path(), 3);
    let dls = AudioDataLoaders::from_name_re(dir.path(), files.clone(), r"^([a-z]+)_")
        .spectrogram(small_config())
        .splitter(FuncSplitter::new(|p: &Path| file_name(p).contains("_bob_")))
        .bs(4)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    assert!(
        dls.valid_paths()
            .iter()
            .all(|p| file_name(p).contains("_bob_"))
    );
    assert!(
        dls.train_paths()
            .iter()
            .all(|p| file_name(p).contains("_ann_"))
    );

    // Pictures of one channel cannot feed a body made for three.
    let one = AudioDataLoaders::from_name_func(dir.path(), files.clone(), class_of)
        .spectrogram(small_config())
        .channels(1)
        .device(DeviceChoice::Cpu)
        .build()
        .unwrap();
    let e = audio_learner(&one, Arch::SimpleCnn, Pretrained::No)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("channels(3)"), "{e}");

    // A bad recording is named when the loaders are built, not mid-epoch.
    let bad = dir.path().join("low_ann_99.wav");
    std::fs::write(&bad, b"RIFF but then nothing sensible").unwrap();
    let mut with_bad = files.clone();
    with_bad.push(bad);
    let e = AudioDataLoaders::from_name_func(dir.path(), with_bad, class_of)
        .spectrogram(small_config())
        .device(DeviceChoice::Cpu)
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("low_ann_99.wav"), "{e}");

    // Settings out of range name the option before any file is read.
    let e = AudioDataLoaders::from_name_func(dir.path(), files.clone(), class_of)
        .spectrogram(small_config().hop_length(0))
        .build()
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("hop_length"), "{e}");
    common::check_option_errors(|bs, valid_pct| {
        AudioDataLoaders::from_name_func(dir.path(), files.clone(), class_of)
            .spectrogram(small_config())
            .valid_pct(valid_pct)
            .bs(bs)
            .device(DeviceChoice::Cpu)
            .build()
            .err()
            .map(|e| e.to_string())
    });
}
