"""Reference numbers for fastcandle-data's audio module (`crates/fastcandle-data/src/audio/`), from
torchaudio (and librosa for a second opinion on Slaney's filter bank).

Two waveforms, both embedded in the output so that the Rust test needs no other file:

- `recording`: a real recording of the free spoken digit data set, `3_theo_7.wav` (8 kHz,
  16-bit mono), read with Python's `wave` module and stored as its int16 samples (the test
  scales them by 1/32768, as `read_wav` and torchaudio do);
- `synthetic`: 6000 samples at 16 kHz of a deterministic formula (a chirp, two tones and the
  pseudo-noise of a small LCG), rounded to float32 (what our reader gives) and stored as such.

Everything is computed in float64 (default dtype float64, `.double()` on inputs and
transforms), so that the reference itself is exact to ~1e-15. For each waveform, with its own
settings (recorded next to the outputs, with the shapes):

- `torchaudio.transforms.Spectrogram` with power 2 and power 1 (the 16 kHz one with
  `win_length` 400 < `n_fft` 512, the window centred in the frame);
- `torchaudio.functional.melscale_fbanks` on the HTK scale (norm None) and on Slaney's scale
  with `norm="slaney"`, and `librosa.filters.mel(htk=False, norm="slaney")` (transposed to
  `[n_freqs, n_mels]`) for the Slaney bank; `MelSpectrogram` with both banks;
- `AmplitudeToDB("power", top_db=80)` of the HTK mel spectrogram and
  `AmplitudeToDB("magnitude", top_db=None)` of the magnitude spectrogram;
- `torchaudio.transforms.MFCC(n_mfcc=20, melkwargs=...)` (DCT-II ortho, log_mels False), and
  for the 16 kHz one also with `power=1` in melkwargs (MFCC still takes decibels as power);
- `torchaudio.functional.resample` (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99):
  the recording to 16 kHz, the synthetic signal to 8 kHz and to 11025 Hz;

and, on the 11025 Hz resampled signal (rounded to float32), a `MelSpectrogram` with torchaudio's
default `f_max` (`sample_rate // 2`, 5512 Hz: an odd rate), alone and followed by `AmplitudeToDB`.

Run from the repository root (needs torch, torchaudio, librosa and numpy; the recording is
`../shared/data/spoken-digits/recordings/3_theo_7.wav`):

    python scripts/reference/audio_reference.py

It writes crates/fastcandle-data/tests/data/audio_reference.json.
"""
import json
import math
import os
import sys
import wave

import librosa
import numpy as np
import torch
import torchaudio
import torchaudio.functional as AF
import torchaudio.transforms as T

torch.set_default_dtype(torch.float64)

OUT = os.path.join("crates", "fastcandle-data", "tests", "data", "audio_reference.json")
RECORDING = os.path.join("..", "shared", "data", "spoken-digits", "recordings", "3_theo_7.wav")


def rounded(t):
    """A tensor or array as a flat list of floats of 9 significant digits."""
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return [float(f"{v:.9g}") for v in a.astype(np.float64).ravel()]


def array(t):
    return {"shape": list(t.shape), "data": rounded(t)}


def read_recording():
    if not os.path.exists(RECORDING):
        sys.exit(f"audio_reference.py: {RECORDING} is missing (the free spoken digit data set)")
    with wave.open(RECORDING, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2), "expected 16-bit mono"
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return rate, pcm


def synthetic(rate=16000, n=6000):
    """A chirp from 100 Hz to 6 kHz, tones at 440 Hz and 3 kHz, and LCG noise, as float32."""
    state = 12345
    noise = []
    for _ in range(n):
        state = (1103515245 * state + 12345) % 2**31
        noise.append(state / 2**31 - 0.5)
    t = np.arange(n) / rate
    dur = n / rate
    f0, f1 = 100.0, 6000.0
    chirp = np.sin(2 * math.pi * (f0 * t + (f1 - f0) * t**2 / (2 * dur)))
    x = (
        0.4 * chirp
        + 0.25 * np.sin(2 * math.pi * 440.0 * t)
        + 0.15 * np.sin(2 * math.pi * 3000.0 * t + 0.3)
        + 0.1 * np.asarray(noise)
    )
    x32 = x.astype(np.float32)
    stored = [float(f"{v:.9g}") for v in x32.astype(np.float64)]
    assert np.array_equal(np.asarray(stored, dtype=np.float32), x32), "9 digits keep a float32"
    return x32, stored


def spectrogram_case(wave_f64, rate, s, resample_to):
    """Every output for one waveform (`[time]` float64) and its settings `s`."""
    x = wave_f64.double()
    out = {"settings": s}
    for power, key in [(2.0, "power"), (1.0, "magnitude")]:
        spec = T.Spectrogram(
            n_fft=s["n_fft"], win_length=s["win_length"], hop_length=s["hop_length"], power=power
        ).double()(x)
        out[key] = array(spec)
    n_freqs = s["n_fft"] // 2 + 1
    banks = {}
    for name, scale, norm, f_min, f_max in [
        ("htk", "htk", None, s["htk"]["f_min"], s["htk"]["f_max"]),
        ("slaney", "slaney", "slaney", s["slaney"]["f_min"], s["slaney"]["f_max"]),
    ]:
        fb = AF.melscale_fbanks(n_freqs, f_min, f_max, s["n_mels"], rate, norm, scale)
        banks[name] = fb
        out[f"fbank_{name}"] = array(fb)
        mel = T.MelSpectrogram(
            sample_rate=rate,
            n_fft=s["n_fft"],
            win_length=s["win_length"],
            hop_length=s["hop_length"],
            f_min=f_min,
            f_max=f_max,
            n_mels=s["n_mels"],
            power=2.0,
            norm=norm,
            mel_scale=scale,
        ).double()(x)
        out[f"mel_{name}"] = array(mel)
    lib = librosa.filters.mel(
        sr=rate,
        n_fft=s["n_fft"],
        n_mels=s["n_mels"],
        fmin=s["slaney"]["f_min"],
        fmax=s["slaney"]["f_max"],
        htk=False,
        norm="slaney",
        dtype=np.float64,
    ).T
    out["fbank_slaney_librosa"] = array(lib)
    out["librosa_vs_torchaudio_max_abs"] = float(np.abs(lib - banks["slaney"].numpy()).max())
    mel_htk = T.MelSpectrogram(
        sample_rate=rate,
        n_fft=s["n_fft"],
        win_length=s["win_length"],
        hop_length=s["hop_length"],
        f_min=s["htk"]["f_min"],
        f_max=s["htk"]["f_max"],
        n_mels=s["n_mels"],
        power=2.0,
    ).double()(x)
    to_db = T.AmplitudeToDB(stype="power", top_db=80.0).double()
    out["db_mel_htk_power_top80"] = array(to_db(mel_htk))
    mag = T.Spectrogram(
        n_fft=s["n_fft"], win_length=s["win_length"], hop_length=s["hop_length"], power=1.0
    ).double()(x)
    out["db_magnitude"] = array(T.AmplitudeToDB(stype="magnitude", top_db=None).double()(mag))
    for power, key in [(2.0, "mfcc")] + ([(1.0, "mfcc_magnitude")] if s["mfcc_magnitude"] else []):
        melkwargs = {
            "n_fft": s["n_fft"],
            "win_length": s["win_length"],
            "hop_length": s["hop_length"],
            "f_min": s["htk"]["f_min"],
            "f_max": s["htk"]["f_max"],
            "n_mels": s["n_mels"],
            "power": power,
        }
        m = T.MFCC(
            sample_rate=rate, n_mfcc=s["n_mfcc"], norm="ortho", log_mels=False, melkwargs=melkwargs
        )
        out[key] = array(m.double()(x))
    out["resampled"] = {}
    for to in resample_to:
        y = AF.resample(
            x, rate, to, lowpass_filter_width=6, rolloff=0.99, resampling_method="sinc_interp_hann"
        )
        out["resampled"][str(to)] = array(y)
    return out


def main():
    rate, pcm = read_recording()
    rec = torch.from_numpy(pcm.astype(np.float64) / 32768.0)
    rec_settings = {
        "sample_rate": rate,
        "n_fft": 256,
        "win_length": 256,
        "hop_length": 64,
        "n_mels": 32,
        "n_mfcc": 20,
        "mfcc_magnitude": False,
        "htk": {"f_min": 0.0, "f_max": rate / 2},
        "slaney": {"f_min": 20.0, "f_max": 3800.0},
    }
    syn32, syn_stored = synthetic()
    syn = torch.from_numpy(syn32.astype(np.float64))
    syn_settings = {
        "sample_rate": 16000,
        "n_fft": 512,
        "win_length": 400,
        "hop_length": 160,
        "n_mels": 64,
        "n_mfcc": 20,
        "mfcc_magnitude": True,
        "htk": {"f_min": 0.0, "f_max": 8000.0},
        "slaney": {"f_min": 50.0, "f_max": 7600.0},
    }
    ref = {
        "torch": torch.__version__,
        "torchaudio": torchaudio.__version__,
        "librosa": librosa.__version__,
        "dtype": "float64",
        "resample": {"method": "sinc_interp_hann", "lowpass_filter_width": 6, "rolloff": 0.99},
        "amplitude_to_db": {"amin": 1e-10, "ref": 1.0},
        "mfcc": {
            "dct_type": 2,
            "norm": "ortho",
            "log_mels": False,
            "top_db": 80.0,
            "stype": "power",
        },
        "recording": {
            "file": os.path.basename(RECORDING),
            "sample_rate": rate,
            "scale": 1 / 32768,
            "pcm16": pcm.astype(int).tolist(),
            **spectrogram_case(rec, rate, rec_settings, [16000]),
        },
        "synthetic": {
            "formula": "0.4 chirp(100 -> 6000 Hz) + 0.25 sin(440 Hz) + 0.15 sin(3 kHz + 0.3) "
            "+ 0.1 (LCG 1103515245 s + 12345 mod 2^31, seed 12345, / 2^31 - 0.5), as float32",
            "sample_rate": 16000,
            "samples": syn_stored,
            **spectrogram_case(syn, 16000, syn_settings, [8000, 11025]),
        },
    }
    # A mel dB picture at an odd rate with torchaudio's default f_max (sample_rate // 2), on the
    # resampled signal rounded to float32 (as our resample returns it).
    odd_rate = 11025
    y32 = np.asarray(ref["synthetic"]["resampled"][str(odd_rate)]["data"], dtype=np.float32)
    odd = {
        "sample_rate": odd_rate,
        "n_fft": 256,
        "win_length": 256,
        "hop_length": 128,
        "n_mels": 32,
        "f_min": 0.0,
        "f_max": None,
        "top_db": 80.0,
    }
    mel = T.MelSpectrogram(
        sample_rate=odd_rate, n_fft=256, hop_length=128, n_mels=32, power=2.0
    ).double()(torch.from_numpy(y32.astype(np.float64)))
    ref["odd_rate"] = {
        "settings": odd,
        "input": "synthetic.resampled.11025.data, rounded to float32",
        "torchaudio_f_max": float(odd_rate // 2),
        "mel": array(mel),
        "db_mel": array(T.AmplitudeToDB(stype="power", top_db=80.0).double()(mel)),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    print(
        "wrote",
        OUT,
        f"({os.path.getsize(OUT) / 1e6:.2f} MB);",
        "librosa vs torchaudio Slaney banks:",
        ref["recording"]["librosa_vs_torchaudio_max_abs"],
        ref["synthetic"]["librosa_vs_torchaudio_max_abs"],
    )


if __name__ == "__main__":
    main()
