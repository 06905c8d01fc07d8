//! The audio module against torchaudio (`scripts/reference/audio_reference.py`, float64): a
//! real 8 kHz recording and a 16 kHz synthetic signal, both embedded in the JSON, through the
//! STFT (power and magnitude), the mel banks (HTK; Slaney with Slaney's norm, also against
//! librosa), the mel spectrograms, decibels, MFCC and resampling; then the same numbers through
//! `SpectrogramConfig::build()?.compute(..)`.
//!
//! The bar: within 1e-4 relative of torchaudio. Arrays are compared two ways, so that neither
//! can pass vacuously: the largest difference over the largest reference magnitude, and each
//! value within 1e-4 of itself (plus 1e-9 of the largest magnitude, for values at rounding's
//! level). Decibels, which cross zero, are compared against 1e-4 of their range.

use fastcandle_data::audio::{
    MelFilterBank, MelNorm, MelScale, SpectrogramConfig, Stft, amplitude_to_db, dct_matrix, mfcc,
    resample,
};
use fastcandle_testutil::{dims, floats};
use serde_json::Value;

const RTOL: f64 = 1e-4;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/audio_reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An array of the reference: its shape and values.
fn array(v: &Value) -> (Vec<usize>, Vec<f64>) {
    (dims(&v["shape"]), floats(&v["data"]))
}

/// Checks `got` against `want` (relative, see the module doc) and returns the largest
/// difference over the largest magnitude, and the largest per-value relative difference.
fn check_rel(what: &str, got: &[f64], want: &[f64]) -> (f64, f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    assert!(!want.is_empty(), "{what}: empty reference");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(scale > 0.0, "{what}: the reference is all zeros");
    assert!(
        got.iter().all(|v| v.is_finite()),
        "{what}: non-finite values"
    );
    let atol = 1e-9 * scale;
    let (mut global, mut worst) = (0f64, 0f64);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        global = global.max(d);
        assert!(
            d <= RTOL * w.abs() + atol,
            "{what}[{i}]: {g} vs torchaudio {w} (scale {scale:e})"
        );
        if w.abs() > atol {
            worst = worst.max(d / w.abs());
        }
    }
    let global = global / scale;
    assert!(global <= RTOL, "{what}: max error / max |ref| = {global:e}");
    eprintln!("{what:<44} max|d|/max|ref| {global:9.2e}   worst value rel {worst:9.2e}");
    (global, worst)
}

/// Checks decibels: every difference within 1e-4 of the reference's range; returns the
/// largest difference in dB.
fn check_db(what: &str, got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let max = want.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = want.iter().copied().fold(f64::INFINITY, f64::min);
    let range = max - min;
    assert!(range > 1.0, "{what}: a flat reference ({min} to {max} dB)");
    let mut worst = 0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        assert!(
            d <= RTOL * range,
            "{what}[{i}]: {g} vs torchaudio {w} dB (range {range})"
        );
        worst = worst.max(d);
    }
    eprintln!(
        "{what:<44} max|d| {worst:9.2e} dB over a range of {range:.1} dB ({:.2e} of it)",
        worst / range
    );
    worst
}

fn to_f64(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}

/// One waveform's case: its samples (as our reader gives them), rate and settings.
struct Case<'a> {
    name: &'static str,
    r: &'a Value,
    samples: Vec<f32>,
    rate: u32,
}

impl Case<'_> {
    fn setting(&self, key: &str) -> usize {
        self.r["settings"][key].as_u64().unwrap() as usize
    }

    fn band(&self, scale: &str, key: &str) -> f64 {
        self.r["settings"][scale][key].as_f64().unwrap()
    }

    fn stft(&self, power: f64) -> Stft {
        Stft::new(
            self.setting("n_fft"),
            self.setting("win_length"),
            self.setting("hop_length"),
            power,
        )
    }

    fn bank(&self, scale: &str) -> MelFilterBank {
        let (norm, mel_scale) = match scale {
            "htk" => (MelNorm::None, MelScale::Htk),
            _ => (MelNorm::Slaney, MelScale::Slaney),
        };
        MelFilterBank::new(
            self.setting("n_fft") / 2 + 1,
            self.band(scale, "f_min"),
            self.band(scale, "f_max"),
            self.setting("n_mels"),
            self.rate,
            norm,
            mel_scale,
        )
    }

    fn config(&self) -> SpectrogramConfig {
        SpectrogramConfig::default()
            .sample_rate(self.rate)
            .n_fft(self.setting("n_fft"))
            .win_length(Some(self.setting("win_length")))
            .hop_length(self.setting("hop_length"))
            .n_mels(Some(self.setting("n_mels")))
            .f_min(self.band("htk", "f_min"))
            .f_max(Some(self.band("htk", "f_max")))
    }

    fn label(&self, what: &str) -> String {
        format!("{} {what}", self.name)
    }

    /// Every piece and the end-to-end path against the reference.
    fn run(&self) {
        let r = self.r;
        let n_frames = self.stft(2.0).n_frames(self.samples.len());

        // The STFT, power and magnitude.
        let mut power = Vec::new();
        for (p, key) in [(2.0, "power"), (1.0, "magnitude")] {
            let (shape, want) = array(&r[key]);
            let s = self.stft(p);
            assert_eq!(shape, [s.n_freqs(), n_frames], "{}", self.label(key));
            let got = s.compute(&self.samples);
            check_rel(&self.label(&format!("spectrogram {key}")), &got, &want);
            if p == 2.0 {
                power = got;
            }
        }

        // The banks and the mel spectrograms.
        let mut mel_htk = Vec::new();
        for scale in ["htk", "slaney"] {
            let bank = self.bank(scale);
            let (shape, want) = array(&r[format!("fbank_{scale}").as_str()]);
            assert_eq!(shape, [self.setting("n_fft") / 2 + 1, bank.n_mels()]);
            check_rel(&self.label(&format!("fbank {scale}")), &bank.dense(), &want);
            if scale == "slaney" {
                let (_, librosa) = array(&r["fbank_slaney_librosa"]);
                check_rel(
                    &self.label("fbank slaney vs librosa"),
                    &bank.dense(),
                    &librosa,
                );
            }
            let (shape, want) = array(&r[format!("mel_{scale}").as_str()]);
            assert_eq!(shape, [bank.n_mels(), n_frames]);
            let mel = bank.apply(&power, n_frames);
            check_rel(&self.label(&format!("mel {scale}")), &mel, &want);
            if scale == "htk" {
                mel_htk = mel;
            }
        }

        // Decibels.
        let mut db = mel_htk.clone();
        amplitude_to_db(&mut db, 10.0, Some(80.0));
        let (_, want_db_mel) = array(&r["db_mel_htk_power_top80"]);
        check_db(
            &self.label("dB mel htk (power, top_db 80)"),
            &db,
            &want_db_mel,
        );
        let mut db_mag = self.stft(1.0).compute(&self.samples);
        amplitude_to_db(&mut db_mag, 20.0, None);
        let (_, want_db_mag) = array(&r["db_magnitude"]);
        check_db(
            &self.label("dB magnitude (no top_db)"),
            &db_mag,
            &want_db_mag,
        );

        // MFCC: the HTK mel bands in decibels (as power, floored 80 dB below the peak), DCT-II.
        let k = self.setting("n_mfcc");
        let n_mels = self.setting("n_mels");
        let dct = dct_matrix(k, n_mels);
        let (shape, want_mfcc) = array(&r["mfcc"]);
        assert_eq!(shape, [k, n_frames]);
        let got = mfcc(&db, n_frames, &dct, k);
        check_rel(&self.label("mfcc"), &got, &want_mfcc);

        // End to end: the Spectrogrammer gives the pieces' numbers (in f32).
        let e2e = |what: &str, c: SpectrogramConfig, pieces: &[f64], want: &[f64], db: bool| {
            let s = c.build().unwrap().compute(&self.samples);
            assert_eq!(s.data.len(), want.len(), "{what}");
            let got = to_f64(&s.data);
            // f32 output: within f32's rounding of the pieces, relative to their largest value.
            let top = pieces.iter().fold(0f64, |m, v| m.max(v.abs()));
            let vs_pieces = got
                .iter()
                .zip(pieces)
                .map(|(g, p)| (g - p).abs())
                .fold(0f64, f64::max)
                / top;
            assert!(vs_pieces < 1e-6, "{what}: {vs_pieces:e} from the pieces");
            if db {
                check_db(
                    &self.label(&format!("{what} (SpectrogramConfig)")),
                    &got,
                    want,
                );
            } else {
                check_rel(
                    &self.label(&format!("{what} (SpectrogramConfig)")),
                    &got,
                    want,
                );
            }
        };
        e2e("dB mel htk", self.config(), &db, &want_db_mel, true);
        e2e(
            "mfcc",
            self.config().n_mfcc(Some(k)),
            &got,
            &want_mfcc,
            false,
        );
        let (_, want_slaney) = array(&r["mel_slaney"]);
        let slaney = self.bank("slaney").apply(&power, n_frames);
        e2e(
            "mel slaney",
            self.config()
                .mel_scale(MelScale::Slaney)
                .mel_norm(MelNorm::Slaney)
                .f_min(self.band("slaney", "f_min"))
                .f_max(Some(self.band("slaney", "f_max")))
                .to_db(false),
            &slaney,
            &want_slaney,
            false,
        );
        e2e(
            "dB magnitude",
            self.config().n_mels(None).power(1.0).top_db(None),
            &db_mag,
            &want_db_mag,
            true,
        );

        // MFCC of a magnitude mel spectrogram: torchaudio's MFCC still takes decibels as power.
        if r["settings"]["mfcc_magnitude"].as_bool().unwrap() {
            let mel = self
                .bank("htk")
                .apply(&self.stft(1.0).compute(&self.samples), n_frames);
            let mut db = mel;
            amplitude_to_db(&mut db, 10.0, Some(80.0));
            let pieces = mfcc(&db, n_frames, &dct, k);
            let (_, want) = array(&r["mfcc_magnitude"]);
            check_rel(&self.label("mfcc of magnitude"), &pieces, &want);
            e2e(
                "mfcc of magnitude",
                self.config().power(1.0).n_mfcc(Some(k)),
                &pieces,
                &want,
                false,
            );
        }

        // Resampling.
        let resampled = r["resampled"].as_object().unwrap();
        assert!(!resampled.is_empty());
        for (to, v) in resampled {
            let to: u32 = to.parse().unwrap();
            let (shape, want) = array(v);
            let got = resample(&self.samples, self.rate, to);
            assert_eq!(shape, [got.len()], "{} to {to} Hz", self.name);
            check_rel(
                &self.label(&format!("resample {} -> {to} Hz", self.rate)),
                &to_f64(&got),
                &want,
            );
        }
    }
}

#[test]
fn recording_matches_torchaudio() {
    let r = reference();
    let rec = &r["recording"];
    let scale = rec["scale"].as_f64().unwrap();
    assert_eq!(scale, 1.0 / 32768.0);
    let samples: Vec<f32> = rec["pcm16"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap() as f32 / 32768.0)
        .collect();
    assert!(samples.len() > 1000);
    Case {
        name: "recording",
        r: rec,
        samples,
        rate: rec["sample_rate"].as_u64().unwrap() as u32,
    }
    .run();
}

#[test]
fn synthetic_signal_matches_torchaudio() {
    let r = reference();
    let syn = &r["synthetic"];
    let samples: Vec<f32> = floats(&syn["samples"]).iter().map(|&v| v as f32).collect();
    assert!(samples.len() > 1000);
    Case {
        name: "synthetic",
        r: syn,
        samples,
        rate: syn["sample_rate"].as_u64().unwrap() as u32,
    }
    .run();
}

/// An odd rate with the default `f_max`: torchaudio takes `sample_rate // 2` (5512 Hz at
/// 11025 Hz), as it does for the FFT bins' frequencies.
#[test]
fn odd_rate_default_f_max_matches_torchaudio() {
    let r = reference();
    let o = &r["odd_rate"];
    let s = &o["settings"];
    let rate = s["sample_rate"].as_u64().unwrap() as u32;
    let samples: Vec<f32> = floats(&r["synthetic"]["resampled"][rate.to_string().as_str()]["data"])
        .iter()
        .map(|&v| v as f32)
        .collect();
    let u = |k: &str| s[k].as_u64().unwrap() as usize;
    assert!(s["f_max"].is_null());
    let c = SpectrogramConfig::default()
        .sample_rate(rate)
        .n_fft(u("n_fft"))
        .hop_length(u("hop_length"))
        .n_mels(Some(u("n_mels")))
        .top_db(Some(s["top_db"].as_f64().unwrap()));
    let got = c.build().unwrap().compute(&samples);
    let (shape, want) = array(&o["db_mel"]);
    assert_eq!(shape, [got.rows, got.cols]);
    check_db(
        "odd rate 11025 Hz dB mel, default f_max",
        &to_f64(&got.data),
        &want,
    );
    let got = c.to_db(false).build().unwrap().compute(&samples);
    let (shape, want) = array(&o["mel"]);
    assert_eq!(shape, [got.rows, got.cols]);
    check_rel(
        "odd rate 11025 Hz mel, default f_max",
        &to_f64(&got.data),
        &want,
    );
}
