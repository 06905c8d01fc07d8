//! Reading WAV files ([`hound`]) into [`Waveform`]s of `f32` samples in `[-1, 1]`, scaled as
//! torchaudio's `load` scales them (a `b`-bit integer sample `s` becomes `s / 2^(b-1)`; 8-bit
//! files, unsigned in WAV, are centred first).

use crate::error::{Error, Result};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// A recording: `channels` interleaved channels of `f32` samples at `sample_rate` Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct Waveform {
    /// Samples per second.
    pub sample_rate: u32,
    /// The number of channels (1: mono, 2: stereo, ...).
    pub channels: usize,
    /// The samples, interleaved (`[l0, r0, l1, r1, ...]` for stereo).
    pub samples: Vec<f32>,
}

impl Waveform {
    /// A mono recording of `samples` at `sample_rate` Hz.
    pub fn mono(sample_rate: u32, samples: Vec<f32>) -> Self {
        Self {
            sample_rate,
            channels: 1,
            samples,
        }
    }

    /// The number of samples per channel.
    pub fn len(&self) -> usize {
        self.samples.len() / self.channels.max(1)
    }

    /// Whether the recording holds no sample.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The length in seconds.
    pub fn duration(&self) -> f64 {
        self.len() as f64 / self.sample_rate as f64
    }

    /// The channels mixed down to one: the mean of the channels at each instant (what
    /// fastaudio's `DownmixMono` and `torch.mean(wave, dim=0)` do).
    pub fn to_mono(self) -> Waveform {
        if self.channels <= 1 {
            return self;
        }
        let c = self.channels;
        let samples = self
            .samples
            .chunks_exact(c)
            .map(|frame| frame.iter().sum::<f32>() / c as f32)
            .collect();
        Waveform::mono(self.sample_rate, samples)
    }
}

/// Reads the WAV file at `path`: PCM of 8, 16, 24 or 32 bits or 32-bit float, any number of
/// channels, any rate.
///
/// # Errors
/// [`Error::BadAudio`] naming the file when it cannot be read, is not a WAV file, is
/// truncated (fewer samples than its header announces) or holds no sample;
/// [`Error::Io`] when it cannot be opened.
pub fn read_wav(path: impl AsRef<Path>) -> Result<Waveform> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode_wav(&bytes, path)
}

/// Decodes the bytes of a WAV file; `path` names it in errors (see [`read_wav`]).
pub fn decode_wav(bytes: &[u8], path: &Path) -> Result<Waveform> {
    let bad = |reason: String| Error::BadAudio {
        path: PathBuf::from(path),
        reason,
    };
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(|e| match e {
        hound::Error::FormatError(why) => bad(format!(
            "not a WAV file this reader understands ({why}); fastcandle reads RIFF WAVE files \
             of PCM or 32-bit float samples: convert the file (e.g. `ffmpeg -i in out.wav`)"
        )),
        hound::Error::Unsupported => bad(
            "a WAV file in a sample format that cannot be read (only PCM of 8 to 32 bits and \
             32-bit float are); convert it to 16-bit PCM"
                .into(),
        ),
        other => bad(format!("cannot read the WAV header ({other})")),
    })?;
    let spec = reader.spec();
    let channels = spec.channels as usize;
    if channels == 0 {
        return Err(bad("the header says the file has no channel".into()));
    }
    let declared = reader.len() as usize;
    let samples: std::result::Result<Vec<f32>, hound::Error> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect(),
        hound::SampleFormat::Int => {
            let bits = spec.bits_per_sample;
            if !(1..=32).contains(&bits) {
                return Err(bad(format!("{bits}-bit samples cannot be read")));
            }
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|s| (s as f64 * scale) as f32))
                .collect()
        }
    };
    let samples = samples.map_err(|e| match e {
        // The bytes are in memory, so a read can only fail by running out of them: hound
        // says "Failed to read enough bytes." (`ErrorKind::Other`), not `UnexpectedEof`.
        hound::Error::IoError(_) => bad(format!(
            "the file is truncated: its header announces {} samples per channel but the \
             data ends before them (an interrupted copy or download?)",
            declared / channels
        )),
        other => bad(format!("cannot read the samples ({other})")),
    })?;
    if samples.len() < declared {
        return Err(bad(format!(
            "the file is truncated: its header announces {} samples per channel, it holds {}",
            declared / channels,
            samples.len() / channels
        )));
    }
    if samples.is_empty() {
        return Err(bad(
            "the recording holds no sample (a zero-length file); remove it from the data set"
                .into(),
        ));
    }
    Ok(Waveform {
        sample_rate: spec.sample_rate,
        channels,
        samples,
    })
}

/// Writes `wave` as a WAV file of 16-bit PCM (samples clipped to `[-1, 1]`), atomically (a
/// temporary file renamed into place).
pub fn write_wav(path: impl AsRef<Path>, wave: &Waveform) -> Result<()> {
    let path = path.as_ref();
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let spec = hound::WavSpec {
        channels: wave.channels as u16,
        sample_rate: wave.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut bytes = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut bytes, spec).map_err(|e| Error::BadAudio {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for &s in &wave.samples {
            let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
            w.write_sample(v).map_err(|e| Error::BadAudio {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        }
        w.finalize().map_err(|e| Error::BadAudio {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    let tmp = path.with_extension("wav.tmp");
    std::fs::write(&tmp, bytes.into_inner()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav_bytes(
        spec: hound::WavSpec,
        write: impl FnOnce(&mut hound::WavWriter<&mut Cursor<Vec<u8>>>),
    ) -> Vec<u8> {
        let mut c = Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut c, spec).unwrap();
            write(&mut w);
            w.finalize().unwrap();
        }
        c.into_inner()
    }

    fn spec(bits: u16, channels: u16, float: bool) -> hound::WavSpec {
        hound::WavSpec {
            channels,
            sample_rate: 8000,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        }
    }

    #[test]
    fn integer_depths_scale_as_torchaudio() {
        let p = Path::new("x.wav");
        let b = wav_bytes(spec(16, 1, false), |w| {
            for s in [-32768i16, 0, 16384, 32767] {
                w.write_sample(s).unwrap();
            }
        });
        let w = decode_wav(&b, p).unwrap();
        assert_eq!(w.samples, vec![-1.0, 0.0, 0.5, 32767.0 / 32768.0]);
        // 8-bit WAV is unsigned on disk; hound centres it, torchaudio gives (u - 128) / 128.
        let b = wav_bytes(spec(8, 1, false), |w| {
            for s in [-128i8, 0, 64, 127] {
                w.write_sample(s).unwrap();
            }
        });
        assert_eq!(b[b.len() - 4..], [0u8, 128, 192, 255]);
        let w = decode_wav(&b, p).unwrap();
        assert_eq!(w.samples, vec![-1.0, 0.0, 0.5, 127.0 / 128.0]);
        let b = wav_bytes(spec(24, 1, false), |w| {
            w.write_sample(-(1i32 << 23)).unwrap();
            w.write_sample(1i32 << 22).unwrap();
        });
        assert_eq!(decode_wav(&b, p).unwrap().samples, vec![-1.0, 0.5]);
        let b = wav_bytes(spec(32, 1, true), |w| {
            w.write_sample(0.25f32).unwrap();
        });
        assert_eq!(decode_wav(&b, p).unwrap().samples, vec![0.25]);
    }

    #[test]
    fn stereo_mixes_down_to_the_mean() {
        let b = wav_bytes(spec(16, 2, false), |w| {
            for s in [16384i16, 0, -16384, -16384] {
                w.write_sample(s).unwrap();
            }
        });
        let w = decode_wav(&b, Path::new("s.wav")).unwrap();
        assert_eq!((w.channels, w.len()), (2, 2));
        assert_eq!(w.to_mono().samples, vec![0.25, -0.5]);
    }

    #[test]
    fn bad_files_are_named_errors() {
        let p = Path::new("digits/7_theo_3.wav");
        let text = b"this is not a recording, only text named .wav\n";
        let e = decode_wav(text, p).unwrap_err().to_string();
        assert!(e.starts_with("digits/7_theo_3.wav: not a WAV file"), "{e}");

        let full = wav_bytes(spec(16, 1, false), |w| {
            for i in 0..1000 {
                w.write_sample(i as i16).unwrap();
            }
        });
        let e = decode_wav(&full[..full.len() - 500], p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("7_theo_3.wav: the file is truncated"), "{e}");
        assert!(e.contains("1000 samples"), "{e}");
        let e = decode_wav(&full[..20], p).unwrap_err().to_string();
        assert!(e.starts_with("digits/7_theo_3.wav:"), "{e}");

        let empty = wav_bytes(spec(16, 1, false), |_| {});
        let e = decode_wav(&empty, p).unwrap_err().to_string();
        assert!(e.contains("holds no sample"), "{e}");
        assert!(
            decode_wav(&[], p)
                .unwrap_err()
                .to_string()
                .starts_with("digits/7_theo_3.wav")
        );
    }

    #[test]
    fn write_then_read_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.wav");
        let w = Waveform::mono(16000, vec![0.0, 0.5, -0.25, 1.0]);
        write_wav(&p, &w).unwrap();
        let r = read_wav(&p).unwrap();
        assert_eq!(r.sample_rate, 16000);
        for (a, b) in r.samples.iter().zip(&w.samples) {
            assert!((a - b).abs() < 1e-4);
        }
        let e = read_wav(dir.path().join("none.wav"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("none.wav"), "{e}");
    }
}
