"""Test signals and measurements for resampler quality."""

from __future__ import annotations

import numpy as np

FULL_SCALE = 32767.0


def tone(freq: float, rate: int, seconds: float = 0.5, amplitude: float = FULL_SCALE) -> np.ndarray:
    n = int(rate * seconds)
    x = amplitude * np.sin(2 * np.pi * freq * np.arange(n) / rate)
    return np.round(x).clip(-32768, 32767).astype(np.int16)


def amplitude_at(y, rate: int, freq: float) -> float:
    """Amplitude of the component at exactly `freq`, from the middle half of `y`.

    The Blackman-windowed DTFT is evaluated at the tone's own frequency, so there is
    no FFT-bin scalloping, and the window keeps other components from leaking in.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    seg = y[n // 4: 3 * n // 4]
    w = np.blackman(len(seg))
    k = np.arange(len(seg))
    return float(2 * abs(np.sum(w * seg * np.exp(-2j * np.pi * freq * k / rate))) / w.sum())


def db(ratio: float) -> float:
    return float(20 * np.log10(max(ratio, 1e-12)))


def folded(freq: float, rate: int) -> float:
    """Where a component at `freq` lands once sampled at `rate`."""
    return abs(((freq + rate / 2) % rate) - rate / 2)


def speech(rate: int, seconds: float = 1.0, band: float | None = None, seed: int = 0) -> np.ndarray:
    """Speech-like int16 signal: voiced harmonics of a gliding 140 Hz pitch under a
    formant envelope with the usual spectral tilt, plus breath noise.

    `band` limits all content to that many Hz, as a voice channel does (3.4 kHz for
    8 kHz telephony, 7 kHz for 16 kHz wideband); None fills the whole band.
    """
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0 = 140 * (1 + 0.1 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    top = band if band else 0.98 * rate / 2
    x = np.zeros(n)
    for h in range(1, 400):
        fh = 140 * h
        if fh * 1.1 > top:  # the glide reaches 1.1 x the nominal harmonic
            break
        env = (1 + (fh / 500) ** 2) ** -0.5 * (
            1 + 2 * np.exp(-(((fh - 700) / 150) ** 2)) + 1.5 * np.exp(-(((fh - 1200) / 200) ** 2))
            + np.exp(-(((fh - 2500) / 300) ** 2)))
        x += env * np.sin(h * phase)
    noise = rng.standard_normal(n)
    if band:
        spec = np.fft.rfft(noise)
        spec[np.fft.rfftfreq(n, 1 / rate) > band] = 0
        noise = np.fft.irfft(spec, n)
    x += 0.003 * np.abs(x).max() * noise
    return np.round(x / np.abs(x).max() * 20000).astype(np.int16)


def snr_db(y, ref, trim: int) -> float:
    y = np.asarray(y, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    m = min(len(y), len(ref))
    y, ref = y[trim:m - trim], ref[trim:m - trim]
    return float(10 * np.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2)))


def pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.int16)
