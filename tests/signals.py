"""Test signals and measurements for the DSP tests.

Levels are in dBFS relative to int16 full scale: a sine of amplitude 32768 is
0 dBFS. Every generator is deterministic (fixed seeds) so a failing measurement
reproduces exactly.
"""

from __future__ import annotations

import functools
import math

import numpy as np

FULL_SCALE = 32768.0

# Kaiser beta 20 puts the window's side lobes near -190 dB, far below the -90 dB
# alias limits measured with it, so leakage from other components cannot hide or
# fake a tone. Its main lobe is about +-6.5 bins wide.
_KAISER_BETA = 20.0
_MAIN_LOBE_BINS = 8


def to_int16(x: np.ndarray) -> np.ndarray:
    """Round and saturate a float signal (in int16 units) to int16."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def sine(freq: float, rate: int, n: int, *, level_dbfs: float = 0.0,
         phase: float = 0.0) -> np.ndarray:
    """int16 sine of `n` samples; level 0 dBFS is the largest amplitude int16 holds."""
    amp = min(FULL_SCALE * 10 ** (level_dbfs / 20), 32767.0)
    t = np.arange(n, dtype=np.float64)
    return to_int16(amp * np.sin(2 * np.pi * freq * t / rate + phase))


def full_scale_sine(freq: float, rate: int, n: int) -> np.ndarray:
    return sine(freq, rate, n, level_dbfs=0.0)


def impulse(n: int, position: int, amplitude: int = 32767) -> np.ndarray:
    x = np.zeros(n, dtype=np.int16)
    x[position] = amplitude
    return x


# Formant centres and bandwidths (Hz) of an open vowel, roughly /a/.
_FORMANTS = ((730.0, 90.0), (1090.0, 110.0), (2440.0, 170.0), (3400.0, 250.0))


def _formant_gain(f: np.ndarray) -> np.ndarray:
    g = np.zeros_like(f)
    for centre, bw in _FORMANTS:
        g += 1.0 / (1.0 + ((f - centre) / (bw / 2)) ** 2)
    # Glottal source roll-off, about -12 dB per octave above 200 Hz.
    return g / (1.0 + (f / 200.0) ** 2) ** 0.5


def speech_like(rate: int, seconds: float, *, seed: int = 0, peak_dbfs: float = -1.0,
                noise_db: float = -50.0, channels: int = 1) -> np.ndarray:
    """Voiced harmonics of a gliding pitch under a formant envelope, with syllable-rate
    amplitude modulation, plus white noise `noise_db` below the voiced peak (breath,
    and broadband content up to Nyquist that exercises the filters' transition
    band). Returns int16, interleaved if `channels` > 1 (each channel a different
    seed, so channels are not identical)."""
    if channels > 1:
        chans = [_speech_like(rate, seconds, seed + c, peak_dbfs, noise_db)
                 for c in range(channels)]
        return np.stack(chans, axis=1).reshape(-1)
    return _speech_like(rate, seconds, seed, peak_dbfs, noise_db).copy()


# Many tests use the same few signals; synthesis costs far more than the DSP under test.
@functools.lru_cache(maxsize=128)
def _speech_like(rate: int, seconds: float, seed: int, peak_dbfs: float,
                 noise_db: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(round(rate * seconds))
    t = np.arange(n) / rate
    f0 = 120.0 + 30.0 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)) \
        + 5.0 * np.sin(2 * np.pi * 5.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    top = min(0.45 * rate, 7000.0)
    x = np.zeros(n)
    for k in range(1, int(top / 90.0) + 1):
        fk = k * f0
        if fk.min() >= top:
            break
        # Harmonics that would cross `top` fade out instead of switching off abruptly.
        gain = _formant_gain(fk) * np.clip((top - fk) / 200.0, 0.0, 1.0)
        x += gain * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi))
    x *= envelope
    x += 10 ** (noise_db / 20) * np.max(np.abs(x)) * rng.standard_normal(n)
    x *= FULL_SCALE * 10 ** (peak_dbfs / 20) / np.max(np.abs(x))
    out = to_int16(x)
    out.flags.writeable = False
    return out


def as_float(x) -> np.ndarray:
    """int16 samples from bytes or an array, as float64."""
    if isinstance(x, (bytes, bytearray, memoryview)):
        x = np.frombuffer(x, dtype=np.int16)
    return np.asarray(x, dtype=np.float64)


def tone_level_dbfs(x, rate: int, freq: float, *, trim_seconds: float = 0.0) -> float:
    """Level (dBFS) of the sinusoid at `freq` in `x`, from a Kaiser-windowed FFT.

    The power in the window's main lobe around `freq` is summed, so the result does
    not depend on where the tone falls between bins. `trim_seconds` is cut from both
    ends first, to leave out filter onset transients. Returns -inf for silence.
    """
    y = as_float(x)
    cut = int(round(trim_seconds * rate))
    if cut:
        y = y[cut:len(y) - cut]
    n = len(y)
    if n < 64:
        raise ValueError(f"too few samples ({n}) to measure a tone")
    w = np.kaiser(n, _KAISER_BETA)
    spec = np.fft.rfft(y * w)
    k = int(round(freq * n / rate))
    lo, hi = max(0, k - _MAIN_LOBE_BINS), min(len(spec), k + _MAIN_LOBE_BINS + 1)
    power = float(np.sum(np.abs(spec[lo:hi]) ** 2))
    if power == 0.0:
        return -math.inf
    # A tone of amplitude A puts N * sum(w^2) * A^2 / 4 into the positive half.
    amp = math.sqrt(4.0 * power / (n * float(np.sum(w * w))))
    return 20 * math.log10(amp / FULL_SCALE)


def peak_spectrum_dbfs(x, rate: int, *, trim_seconds: float = 0.0) -> tuple[float, float]:
    """(frequency, level in dBFS) of the strongest spectral peak, same scale as
    :func:`tone_level_dbfs`; level -inf for silence."""
    y = as_float(x)
    cut = int(round(trim_seconds * rate))
    if cut:
        y = y[cut:len(y) - cut]
    n = len(y)
    w = np.kaiser(n, _KAISER_BETA)
    spec = np.abs(np.fft.rfft(y * w))
    k = int(np.argmax(spec))
    freq = k * rate / n
    return freq, tone_level_dbfs(y, rate, freq)


def alias_frequency(freq: float, out_rate: int) -> float:
    """Where a tone at `freq` lands after sampling at `out_rate` without filtering."""
    f = math.fmod(freq, out_rate)
    return out_rate - f if f > out_rate / 2 else f


def snr_db(signal, reference) -> float:
    """10 log10(energy of reference / energy of (signal - reference)); the two must
    have the same length. +inf when identical."""
    s = as_float(signal)
    r = as_float(reference)
    if s.shape != r.shape:
        raise ValueError(f"signal has {s.shape} samples, reference {r.shape}")
    err = float(np.sum((s - r) ** 2))
    if err == 0.0:
        return math.inf
    return 10 * math.log10(float(np.sum(r * r)) / err)
