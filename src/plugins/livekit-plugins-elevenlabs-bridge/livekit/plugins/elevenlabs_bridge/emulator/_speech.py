"""What the emulated agent hears and says: real engines where installed, else tones.

Everything here is 16 kHz mono PCM (``SPEECH_RATE``); the conversation converts to and
from the wire formats with audiocore.
"""

from __future__ import annotations

import asyncio
import functools
import io
import math
import os
import shutil
import tempfile
import threading
import wave
from array import array
from typing import Optional, Protocol, Tuple

from ._formats import SPEECH_RATE

SPEECH_MODES = ("auto", "real", "deterministic")


class Speaker(Protocol):
    """Turns a reply's text into 16 kHz PCM."""

    name: str

    async def synthesize(self, text: str) -> bytes: ...


class Listener(Protocol):
    """Turns an utterance (16 kHz PCM) into a transcript."""

    name: str

    async def transcribe(self, pcm: bytes, seconds: float) -> str:
        """``pcm``: the utterance with a little audio either side; ``seconds``: how
        long the detector heard speech."""


def _word_tone(word: str) -> float:
    # A stable pitch per word (no hash(): it is salted per process).
    return 300.0 + 40.0 * (sum(map(ord, word)) % 12)


class ToneSpeaker:
    """Deterministic "speech": one 240 ms tone per word, 40 ms apart, at a level a
    voice activity detector takes for speech. Same text, same bytes, everywhere."""

    name = "tones"
    word_s = 0.24
    gap_s = 0.04
    amplitude = 8000

    async def synthesize(self, text: str) -> bytes:
        return b"".join(_render_word(w) for w in (text.split() or ["..."]))


@functools.lru_cache(maxsize=512)
def _render_word(word: str) -> bytes:
    """One word of :class:`ToneSpeaker`, with the gap after it (cached: replies repeat)."""
    n_word = round(ToneSpeaker.word_s * SPEECH_RATE)
    n_gap = round(ToneSpeaker.gap_s * SPEECH_RATE)
    ramp = round(0.005 * SPEECH_RATE)  # soft edges: no clicks at word boundaries
    step = 2.0 * math.pi * _word_tone(word) / SPEECH_RATE
    out = array("h", (int(ToneSpeaker.amplitude * min(1.0, i / ramp, (n_word - 1 - i) / ramp)
                          * math.sin(step * i)) for i in range(n_word)))
    out.extend([0] * n_gap)
    if array("h", [1]).tobytes() != b"\x01\x00":  # pragma: no cover - big-endian host
        out.byteswap()
    return out.tobytes()


class FliteSpeaker:
    """flite's 16 kHz ``kal16`` voice, run as a subprocess."""

    name = "flite"

    def __init__(self, binary: str) -> None:
        self._binary = binary

    async def synthesize(self, text: str) -> bytes:
        fd, path = tempfile.mkstemp(suffix=".wav")
        os.close(fd)
        try:
            proc = await asyncio.create_subprocess_exec(
                self._binary, "-voice", "kal16", "-t", text, "-o", path,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"flite failed ({proc.returncode}): "
                                   f"{err.decode(errors='replace').strip()}")
            with open(path, "rb") as f:
                data = f.read()
        finally:
            os.unlink(path)
        with wave.open(io.BytesIO(data)) as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (SPEECH_RATE, 1, 2):
                raise RuntimeError("flite's kal16 voice did not give 16 kHz mono PCM")
            return w.readframes(w.getnframes())


class DurationListener:
    """Deterministic "recognition": it names the utterance's length, so a test can
    tell which stretch of its audio the agent heard as one turn."""

    name = "duration"

    async def transcribe(self, pcm: bytes, seconds: float) -> str:
        return f"[speech {seconds:.2f} s]"


class SphinxListener:
    """pocketsphinx with the US English model inside its wheel (loaded on first use)."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._decoder: Optional[object] = None
        self._lock = threading.Lock()

    def _decode(self, pcm: bytes) -> str:
        with self._lock:  # one decoder, one utterance at a time
            if self._decoder is None:
                from pocketsphinx import Decoder

                self._decoder = Decoder(samprate=SPEECH_RATE, loglevel="FATAL")
            d = self._decoder
            d.start_utt()  # type: ignore[attr-defined]
            d.process_raw(pcm, full_utt=True)  # type: ignore[attr-defined]
            d.end_utt()  # type: ignore[attr-defined]
            hyp = d.hyp()  # type: ignore[attr-defined]
            return hyp.hypstr if hyp is not None else ""

    async def transcribe(self, pcm: bytes, seconds: float) -> str:
        # Decoding takes a while: keep it off the event loop that answers pings.
        return await asyncio.to_thread(self._decode, pcm)


def _have_pocketsphinx() -> bool:
    import importlib.util

    return importlib.util.find_spec("pocketsphinx") is not None


def engines(speech: str) -> Tuple[Speaker, Listener]:
    """The speaker and listener for ``speech``: "auto" (real engines where installed),
    "real" (both required) or "deterministic" (tones and durations)."""
    if speech not in SPEECH_MODES:
        raise ValueError(f"speech must be one of {', '.join(SPEECH_MODES)}; got {speech!r}")
    if speech == "deterministic":
        return ToneSpeaker(), DurationListener()
    flite = shutil.which("flite")
    sphinx = _have_pocketsphinx()
    if speech == "real" and not (flite and sphinx):
        missing = [n for n, ok in (("flite", flite), ("pocketsphinx", sphinx)) if not ok]
        raise RuntimeError(f"speech='real' needs {' and '.join(missing)} installed")
    speaker: Speaker = FliteSpeaker(flite) if flite else ToneSpeaker()
    listener: Listener = SphinxListener() if sphinx else DurationListener()
    return speaker, listener
