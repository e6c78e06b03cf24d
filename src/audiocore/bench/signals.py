"""Speech-like test signals for the benchmarks, in pure Python (no numpy needed).

Timing on silence or a pure tone flatters some kernels (a constant sign, one
G.711 segment, a predictable branch), so every case runs on a source-filter
model of voiced speech: a glottal pulse train with a gliding pitch, a spectral
tilt, three formant resonators and breath noise, under a syllable-rate envelope
that never drops to silence. It is the same idea as ``tests/dsp.py``'s
harmonic generator, built sample by sample so the installed package does not
depend on numpy.
"""

from __future__ import annotations

import math
import random
from array import array
from dataclasses import dataclass, field

FRAME_MS = 20
#: Length of every signal: 50 frames of 20 ms, cycled by the benchmarks. A whole
#: second covers several syllables and pitch glides, so consecutive frames differ.
SECONDS = 1.0
BASE_RATE = 48000
PEAK = 20000.0

# Klatt-style cascade formants of an open vowel: (centre Hz, bandwidth Hz).
_FORMANTS = ((700.0, 130.0), (1220.0, 90.0), (2600.0, 160.0), (3300.0, 250.0))


def voice(rate: int = BASE_RATE, seconds: float = SECONDS, *, f0: float = 140.0,
          seed: int = 0) -> array[int]:
    """One speaker: int16 samples (``array('h')``) at ``rate``.

    ``f0`` is the mean pitch in Hz; it glides by +-10 % at 3 Hz. ``seed`` picks
    the breath noise. Peak level is ``PEAK`` (about -4 dBFS).
    """
    n = int(round(rate * seconds))
    rng = random.Random(seed)
    t_step = 1.0 / rate
    # Glottal pulses through a one-pole low-pass at 100 Hz (-6 dB/octave) and lip
    # radiation (+6 dB/octave, a first difference); the formant cascade then gives
    # the fall of speech above ~1 kHz (2-4 kHz about 20 dB under the total).
    a_tilt = math.exp(-2 * math.pi * 100.0 * t_step)
    coeffs = []
    for fc, bw in _FORMANTS:
        c = -math.exp(-2 * math.pi * bw * t_step)
        b = 2 * math.exp(-math.pi * bw * t_step) * math.cos(2 * math.pi * fc * t_step)
        coeffs.append((1.0 - b - c, b, c))
    (a1, b1, c1), (a2, b2, c2), (a3, b3, c3), (a4, b4, c4) = coeffs
    lp = prev = 0.0
    y11 = y12 = y21 = y22 = y31 = y32 = y41 = y42 = 0.0
    phase = 0.0
    out = [0.0] * n
    two_pi_3 = 2 * math.pi * 3.0
    two_pi_syl = 2 * math.pi * 4.0
    for i in range(n):
        t = i * t_step
        phase += f0 * (1.0 + 0.1 * math.sin(two_pi_3 * t)) * t_step
        pulse = 0.0
        if phase >= 1.0:
            phase -= 1.0
            pulse = 1.0
        lp = (1 - a_tilt) * pulse + a_tilt * lp
        g = lp - prev
        prev = lp
        y1 = a1 * g + b1 * y11 + c1 * y12
        y12, y11 = y11, y1
        y2 = a2 * y1 + b2 * y21 + c2 * y22
        y22, y21 = y21, y2
        y3 = a3 * y2 + b3 * y31 + c3 * y32
        y32, y31 = y31, y3
        y4 = a4 * y3 + b4 * y41 + c4 * y42
        y42, y41 = y41, y4
        # Syllables at 4 Hz; the voicing never stops, so no frame is near silence.
        env = 0.35 + 0.65 * math.sin(two_pi_syl * t + seed) ** 2
        out[i] = env * y4
    peak = max(abs(v) for v in out) or 1.0
    scale = PEAK / peak
    # Breath noise 36 dB under the peak: it fills the band above 4 kHz (about
    # -30 dB there, as fricatives and breath do) and keeps the low bits busy.
    noise = PEAK * 0.015
    gauss = rng.gauss
    return array("h", (max(-32768, min(32767, round(v * scale + noise * gauss(0.0, 1.0))))
                       for v in out))


def frames(pcm: bytes, rate: int, channels: int = 1, sample_bytes: int = 2,
           frame_ms: int = FRAME_MS) -> list[bytes]:
    """Split ``pcm`` into whole ``frame_ms`` frames (a trailing partial one is dropped)."""
    size = rate * frame_ms // 1000 * channels * sample_bytes
    return [pcm[i:i + size] for i in range(0, len(pcm) - size + 1, size)]


@dataclass
class Signals:
    """The benchmark inputs, made once per run: 20 ms frames of one second of speech.

    ``mono[rate]`` is a list of PCM frames at each rate, ``stereo48`` a 48 kHz room
    recording (two microphones: the second hears the talker 0.4 ms later and
    quieter, with its own noise), ``other[rate]`` a second talker for mixing, and
    ``ulaw8``/``alaw8`` the 8 kHz speech encoded by G.711.
    """

    mono: dict[int, list[bytes]] = field(default_factory=dict)
    other: dict[int, list[bytes]] = field(default_factory=dict)
    stereo48: list[bytes] = field(default_factory=list)
    ulaw8: list[bytes] = field(default_factory=list)
    alaw8: list[bytes] = field(default_factory=list)


RATES = (8000, 16000, 24000, 44100, 48000)


def make_signals(rates: tuple[int, ...] = RATES) -> Signals:
    """Build every input. Other rates come from the 48 kHz signal through libsoxr
    (one-shot, "high"), so each is properly band-limited."""
    import audiocore as ac

    talker = voice(BASE_RATE, seed=0).tobytes()
    second = voice(BASE_RATE, f0=210.0, seed=1).tobytes()
    sig = Signals()
    for rate in rates:
        a = talker if rate == BASE_RATE else ac.resample(talker, BASE_RATE, rate)
        b = second if rate == BASE_RATE else ac.resample(second, BASE_RATE, rate)
        sig.mono[rate] = frames(a, rate)
        sig.other[rate] = frames(b, rate)

    left = array("h", talker)
    lag = int(0.0004 * BASE_RATE)
    rng = random.Random(2)
    right = array("h", (max(-32768, min(32767, round(0.8 * (left[i - lag] if i >= lag else 0)
                                                    + 60 * rng.gauss(0.0, 1.0))))
                        for i in range(len(left))))
    both = array("h", bytes(4 * len(left)))
    both[0::2] = left
    both[1::2] = right
    sig.stereo48 = frames(both.tobytes(), BASE_RATE, channels=2)

    pcm8 = b"".join(sig.mono[8000]) if 8000 in sig.mono else ac.resample(talker, BASE_RATE, 8000)
    sig.ulaw8 = frames(ac.ulaw_encode(pcm8), 8000, sample_bytes=1)
    sig.alaw8 = frames(ac.alaw_encode(pcm8), 8000, sample_bytes=1)
    return sig
