"""The deterministic fallback "voice": text as tone pairs, and back.

When no speech engine is installed (or ``speech="fallback"``), TTS speaks text in this
code and STT reads it back, so text → TTS → STT round-trips through any rate and
encoding the client picks (8 kHz μ-law included) with no randomness: the same text
gives the same bytes every run.

The scheme, at 8000 Hz, 16-bit PCM:

- Each character of :data:`ALPHABET` (letters are folded to lower case; other
  characters are dropped) is one 40 ms *tone pair*: one tone from :data:`LOW_TONES`
  (the row) plus one from :data:`HIGH_TONES` (the column) of its place in the 6 × 8
  table, each at amplitude 9000, with 5 ms raised-cosine edges, followed by 30 ms of
  silence. All tones lie in 350–3300 Hz, the telephone band, so they survive 8 kHz
  μ-law and any resampling.
- A run of whitespace between words adds 120 ms of silence (150 ms in all).
- ``.``, ``!`` or ``?`` at the end of the text or before whitespace ends a sentence:
  450 ms of silence follow (480 ms in all).

The decoder cuts the signal into 5 ms blocks, treats a run of loud blocks as one
symbol, measures the 14 tones over its middle (Goertzel) and accepts the strongest
row and column tone when together they carry at least 60 % of the segment's energy
(so ordinary speech or noise decodes to nothing). Silence of 90 ms or more between
symbols is a word break; 360 ms or more ends the utterance (a final result).
"""

from __future__ import annotations

import math
from array import array
from typing import List, Optional, Tuple

RATE = 8000
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789.,?!'-:;\"%$/"
LOW_TONES: Tuple[int, ...] = (350, 460, 570, 690, 830, 990)
HIGH_TONES: Tuple[int, ...] = (1250, 1450, 1750, 2050, 2350, 2650, 2950, 3300)
assert len(ALPHABET) == len(LOW_TONES) * len(HIGH_TONES)

TONE_MS = 40
GAP_MS = 30
WORD_MS = 120
SENTENCE_MS = 450
AMPLITUDE = 9000
RAMP_MS = 5

BLOCK = RATE // 200  # 5 ms
LOUD = 1500  # mean |sample| of a block that belongs to a symbol
WORD_BREAK_S = 0.090
UTTERANCE_END_S = 0.360
MIN_PURITY = 0.6

_SENTENCE_END = ".!?"


def _samples(ms: int) -> int:
    return RATE * ms // 1000


def _tone_pair(low: float, high: float) -> array:
    n, ramp = _samples(TONE_MS), _samples(RAMP_MS)
    out = array("h", bytes(2 * n))
    wl, wh = 2 * math.pi * low / RATE, 2 * math.pi * high / RATE
    for i in range(n):
        edge = min(i, n - 1 - i)
        gain = 0.5 - 0.5 * math.cos(math.pi * edge / ramp) if edge < ramp else 1.0
        out[i] = int(round(AMPLITUDE * gain * (math.sin(wl * i) + math.sin(wh * i))))
    return out


_SYMBOLS = {}
for _index, _char in enumerate(ALPHABET):
    _SYMBOLS[_char] = (LOW_TONES[_index // len(HIGH_TONES)],
                       HIGH_TONES[_index % len(HIGH_TONES)])
_PCM_CACHE: dict = {}


def _symbol_pcm(char: str) -> bytes:
    pcm = _PCM_CACHE.get(char)
    if pcm is None:
        low, high = _SYMBOLS[char]
        pcm = _tone_pair(low, high).tobytes() + bytes(2 * _samples(GAP_MS))
        _PCM_CACHE[char] = pcm
    return pcm


def normalize(text: str) -> str:
    """The text as the code can carry it: lower case, known characters, single spaces."""
    kept = []
    for ch in text.lower():
        if ch.isspace():
            kept.append(" ")
        elif ch in _SYMBOLS:
            kept.append(ch)
    return " ".join("".join(kept).split())


def encode(text: str) -> bytes:
    """``text`` as 16-bit mono PCM at :data:`RATE` (see the module docs for the scheme)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    words = normalize(text).split(" ")
    out = bytearray()
    for w, word in enumerate(words):
        for ch in word:
            out += _symbol_pcm(ch)
        if not word:
            continue
        last = w == len(words) - 1
        if word[-1] in _SENTENCE_END:
            out += bytes(2 * _samples(SENTENCE_MS))
        elif not last:
            out += bytes(2 * _samples(WORD_MS))
    return bytes(out)


def duration(text: str) -> float:
    """Seconds of audio :func:`encode` makes for ``text``."""
    return len(encode(text)) / (2 * RATE)


def _goertzel_power(x: List[int], freq: float) -> float:
    w = 2 * math.pi * freq / RATE
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + c * s1 - s2, s1
    return s1 * s1 + s2 * s2 - c * s1 * s2


def decode_symbol(x: List[int]) -> Optional[str]:
    """The character a tone-pair segment carries, or ``None`` if it is not one."""
    n = len(x)
    if n < _samples(10):
        return None
    energy = sum(v * v for v in x)
    if energy <= 0:
        return None
    # Goertzel power of a sinusoid with amplitude A over n samples is (A n / 2)^2,
    # and its energy n A^2 / 2: 2 P / n is the part of the energy at that frequency.
    lows = [2 * _goertzel_power(x, f) / n for f in LOW_TONES]
    highs = [2 * _goertzel_power(x, f) / n for f in HIGH_TONES]
    lo = max(range(len(lows)), key=lows.__getitem__)
    hi = max(range(len(highs)), key=highs.__getitem__)
    if (lows[lo] + highs[hi]) < MIN_PURITY * energy:
        return None
    return ALPHABET[lo * len(HIGH_TONES) + hi]


class ToneDecoder:
    """Streaming decoder of :func:`encode`'s code, fed 16-bit mono PCM at :data:`RATE`.

    :meth:`feed` returns events as ``(kind, text, start, end)`` tuples, ``kind`` one of
    ``"speech_started"``, ``"interim"`` (the utterance so far, at most every
    ``interim_interval`` seconds of audio, and at word breaks) and ``"final"`` (at an
    utterance's end silence, or at :meth:`finish`). Times are seconds of audio fed.
    """

    def __init__(self, interim_interval: float = 0.25) -> None:
        self._interim_interval = interim_interval
        self._pending = bytearray()
        self._pos = 0  # samples consumed
        self._segment: List[int] = []
        self._segment_start = 0
        self._quiet = 0  # samples of silence since the last symbol
        self._text = ""
        self._utt_start: Optional[int] = None
        self._last_interim_text = ""
        self._last_interim_at = 0

    def _t(self, samples: int) -> float:
        return samples / RATE

    def feed(self, pcm: bytes) -> List[Tuple[str, str, float, float]]:
        events: List[Tuple[str, str, float, float]] = []
        self._pending += pcm
        usable = len(self._pending) // (2 * BLOCK) * (2 * BLOCK)
        if not usable:
            return events
        samples = array("h")
        samples.frombytes(bytes(self._pending[:usable]))
        del self._pending[:usable]
        for b in range(0, len(samples), BLOCK):
            block = samples[b:b + BLOCK]
            loud = sum(map(abs, block)) >= LOUD * BLOCK
            if loud:
                if not self._segment:
                    self._segment_start = self._pos
                self._segment.extend(block)
            else:
                if self._segment:
                    self._end_segment(events)
                self._quiet += BLOCK
                self._check_silence(events)
            self._pos += BLOCK
        return events

    def _end_segment(self, events: List[Tuple[str, str, float, float]]) -> None:
        edge = _samples(RAMP_MS)
        core = self._segment[edge:-edge] if len(self._segment) > 2 * edge + 1 else []
        char = decode_symbol(core)
        start = self._segment_start
        self._segment = []
        if char is None:
            return
        if self._utt_start is None:
            self._utt_start = start
            events.append(("speech_started", "", self._t(start), self._t(start)))
        elif self._quiet >= WORD_BREAK_S * RATE and not self._text.endswith(" "):
            self._text += " "
        self._text += char
        self._quiet = 0
        if self._pos - self._last_interim_at >= self._interim_interval * RATE:
            self._interim(events)

    def _interim(self, events: List[Tuple[str, str, float, float]]) -> None:
        text = self._text.strip()
        if text and text != self._last_interim_text:
            start = self._t(self._utt_start or 0)
            events.append(("interim", text, start, self._t(self._pos)))
            self._last_interim_text = text
            self._last_interim_at = self._pos

    def _check_silence(self, events: List[Tuple[str, str, float, float]]) -> None:
        if self._utt_start is None:
            return
        if self._quiet == int(WORD_BREAK_S * RATE) // BLOCK * BLOCK + BLOCK:
            self._interim(events)  # a word just ended
        if self._quiet >= UTTERANCE_END_S * RATE:
            self._final(events, self._pos - self._quiet + BLOCK)

    def _final(self, events: List[Tuple[str, str, float, float]], end: int) -> None:
        text = self._text.strip()
        start = self._utt_start or 0
        self._text, self._utt_start, self._last_interim_text = "", None, ""
        if text:
            events.append(("final", text, self._t(start), self._t(max(end, start))))

    def finish(self) -> List[Tuple[str, str, float, float]]:
        """Ends the stream: decodes what is pending and returns the last final."""
        events: List[Tuple[str, str, float, float]] = []
        if self._segment:
            self._end_segment(events)
        if self._utt_start is not None:
            self._final(events, self._pos)
        return events
