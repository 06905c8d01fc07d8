//! Sound files on disk, good and bad: `read_wav` scales 8-, 24-bit and float files as
//! torchaudio does and mixes stereo down to the mean; a truncated file, a text file named
//! `.wav`, a recording of no sample and an empty file are errors naming the file, never
//! panics, also when they hide in an `AudioLoader`'s set.

use candle_core::Device;
use fastcandle_data::audio::{AudioItems, AudioLoader, SpectrogramConfig, read_wav};
use std::path::{Path, PathBuf};

fn spec(bits: u16, channels: u16, rate: u32, float: bool) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: if float {
            hound::SampleFormat::Float
        } else {
            hound::SampleFormat::Int
        },
    }
}

/// Writes a WAV file of `spec` at `path`, its samples written by `write`.
fn write_file(
    path: &Path,
    spec: hound::WavSpec,
    write: impl FnOnce(&mut hound::WavWriter<std::io::BufWriter<std::fs::File>>),
) {
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    write(&mut w);
    w.finalize().unwrap();
}

/// A 16-bit mono recording of a 440 Hz tone, `n` samples at 8 kHz.
fn tone(path: &Path, n: usize) {
    write_file(path, spec(16, 1, 8000, false), |w| {
        for i in 0..n {
            let v = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 8000.0).sin() * 8000.0;
            w.write_sample(v as i16).unwrap();
        }
    });
}

/// The error of reading `path`, checked to name the file.
fn read_error(path: &Path) -> String {
    let e = read_wav(path).unwrap_err().to_string();
    assert!(
        e.contains(&path.display().to_string()),
        "the error does not name {}: {e}",
        path.display()
    );
    e
}

#[test]
fn bad_files_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Truncated: a valid header announcing 1000 samples, the data cut (at a sample's
    // boundary, and inside a sample).
    let full = d.join("full.wav");
    tone(&full, 1000);
    let bytes = std::fs::read(&full).unwrap();
    assert!(read_wav(&full).is_ok());
    for (name, cut) in [("cut_even.wav", 500), ("cut_odd.wav", 501)] {
        let p = d.join(name);
        std::fs::write(&p, &bytes[..bytes.len() - cut]).unwrap();
        let e = read_error(&p);
        assert!(e.contains("truncated") && e.contains("1000 samples"), "{e}");
    }
    // Cut inside the header.
    let p = d.join("cut_header.wav");
    std::fs::write(&p, &bytes[..20]).unwrap();
    read_error(&p);

    // Text named .wav.
    let p = d.join("notes.wav");
    std::fs::write(&p, "this is not a recording, only text named .wav\n").unwrap();
    let e = read_error(&p);
    assert!(e.contains("not a WAV file"), "{e}");

    // A valid header and no sample.
    let p = d.join("silent.wav");
    write_file(&p, spec(16, 1, 8000, false), |_| {});
    assert!(std::fs::metadata(&p).unwrap().len() > 0);
    let e = read_error(&p);
    assert!(e.contains("holds no sample"), "{e}");

    // An empty file.
    let p = d.join("empty.wav");
    std::fs::write(&p, b"").unwrap();
    read_error(&p);

    // A missing file.
    read_error(&d.join("missing.wav"));
}

#[test]
fn eight_bit_reads_as_torchaudio() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u8.wav");
    let values = [-128i8, -64, -1, 0, 1, 64, 127];
    write_file(&p, spec(8, 1, 8000, false), |w| {
        for s in values {
            w.write_sample(s).unwrap();
        }
    });
    // On disk 8-bit WAV is unsigned: u = s + 128.
    let bytes = std::fs::read(&p).unwrap();
    let on_disk = &bytes[bytes.len() - values.len()..];
    assert_eq!(on_disk, [0u8, 64, 127, 128, 129, 192, 255]);
    let w = read_wav(&p).unwrap();
    assert_eq!(
        (w.sample_rate, w.channels, w.len()),
        (8000, 1, values.len())
    );
    // torchaudio: (u - 128) / 128.
    let want: Vec<f32> = on_disk
        .iter()
        .map(|&u| (u as f32 - 128.0) / 128.0)
        .collect();
    assert_eq!(w.samples, want);
}

#[test]
fn deep_and_float_stereo_mix_down_to_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    // 24-bit stereo: s / 2^23 per channel, mono the mean.
    let p = dir.path().join("s24.wav");
    let frames: [(i32, i32); 4] = [
        (-(1 << 23), 0),
        ((1 << 23) - 1, -(1 << 22)),
        (1 << 22, 1 << 21),
        (12345, -54321),
    ];
    write_file(&p, spec(24, 2, 44100, false), |w| {
        for (l, r) in frames {
            w.write_sample(l).unwrap();
            w.write_sample(r).unwrap();
        }
    });
    let w = read_wav(&p).unwrap();
    assert_eq!((w.sample_rate, w.channels, w.len()), (44100, 2, 4));
    let scale = 1.0 / (1u32 << 23) as f64;
    let want: Vec<f32> = frames
        .iter()
        .flat_map(|&(l, r)| [(l as f64 * scale) as f32, (r as f64 * scale) as f32])
        .collect();
    assert_eq!(w.samples, want);
    let mono = w.to_mono();
    assert_eq!((mono.channels, mono.len()), (1, 4));
    for (m, pair) in mono.samples.iter().zip(want.chunks(2)) {
        assert!((m - (pair[0] + pair[1]) / 2.0).abs() < 1e-7, "{m} {pair:?}");
    }

    // 32-bit float stereo: the values themselves.
    let p = dir.path().join("f32.wav");
    let frames = [(0.5f32, -0.25f32), (1.0, 1.0), (-0.75, 0.125), (0.0, -1.0)];
    write_file(&p, spec(32, 2, 16000, true), |w| {
        for (l, r) in frames {
            w.write_sample(l).unwrap();
            w.write_sample(r).unwrap();
        }
    });
    let w = read_wav(&p).unwrap();
    assert_eq!((w.sample_rate, w.channels, w.len()), (16000, 2, 4));
    let want: Vec<f32> = frames.iter().flat_map(|&(l, r)| [l, r]).collect();
    assert_eq!(w.samples, want);
    assert_eq!(
        w.to_mono().samples,
        frames
            .iter()
            .map(|&(l, r)| (l + r) / 2.0)
            .collect::<Vec<_>>()
    );
}

/// Good recordings labelled by their name's first letter.
fn good_set(dir: &Path, names: &[&str]) -> (Vec<PathBuf>, Vec<String>) {
    let paths: Vec<PathBuf> = names.iter().map(|n| dir.join(n)).collect();
    for p in &paths {
        tone(p, 1600);
    }
    let labels = names.iter().map(|n| n[..1].to_string()).collect();
    (paths, labels)
}

#[test]
fn a_loader_names_the_bad_file_in_its_set() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = SpectrogramConfig::default().duration(0.25);
    let (train_paths, train_labels) = good_set(d, &["a1.wav", "a2.wav", "b1.wav", "b2.wav"]);
    let (valid_paths, valid_labels) = good_set(d, &["a3.wav", "b3.wav"]);
    let items = |p: &[PathBuf], l: &[String]| AudioItems::new(p.to_vec(), l.to_vec()).unwrap();
    // The good set loads (so that the failures below are the bad file's).
    let dls = AudioLoader::new(
        items(&train_paths, &train_labels),
        items(&valid_paths, &valid_labels),
        &config,
        Device::Cpu,
    )
    .unwrap();
    assert_eq!(dls.classes(), ["a", "b"]);

    let bad = d.join("b_bad.wav");
    let full = std::fs::read(&train_paths[0]).unwrap();
    std::fs::write(&bad, &full[..full.len() / 2]).unwrap();
    let text = d.join("a_text.wav");
    std::fs::write(&text, "not audio").unwrap();
    let silent = d.join("b_silent.wav");
    write_file(&silent, spec(16, 1, 8000, false), |_| {});
    for file in [&bad, &text, &silent] {
        let name = file.display().to_string();
        let label = file.file_name().unwrap().to_str().unwrap()[..1].to_string();
        // In the training set, cached and read at each use.
        let mut tp = train_paths.clone();
        let mut tl = train_labels.clone();
        tp.insert(2, file.clone());
        tl.insert(2, label.clone());
        for limit in [u64::MAX, 0] {
            let e = AudioLoader::with_cache_limit(
                AudioItems::new(tp.clone(), tl.clone()).unwrap(),
                items(&valid_paths, &valid_labels),
                &config,
                Device::Cpu,
                limit,
            )
            .unwrap_err()
            .to_string();
            assert!(e.contains(&name), "train set, cache limit {limit}: {e}");
        }
        // In the validation set.
        let mut vp = valid_paths.clone();
        let mut vl = valid_labels.clone();
        vp.push(file.clone());
        vl.push(label);
        let e = AudioLoader::new(
            items(&train_paths, &train_labels),
            AudioItems::new(vp, vl).unwrap(),
            &config,
            Device::Cpu,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains(&name), "valid set: {e}");
    }

    let e = AudioItems::new(train_paths, vec!["a".into()])
        .unwrap_err()
        .to_string();
    assert!(e.contains("4 files but 1 labels"), "{e}");
}
