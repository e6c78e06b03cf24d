"""Speech engines behind the emulator: pocketsphinx and flite when installed, the tone
code of :mod:`.tones` otherwise.

Recognizers take 16-bit mono PCM at their own ``rate`` (the STT protocol converts the
client's audio with an ``audiocore.Converter``) and return events
``(kind, text, start, end)``; synthesizers return 16-bit mono PCM at their ``rate``
(the TTS protocol converts it to the client's format).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
import wave
from typing import Any, List, Literal, Optional, Tuple

from . import tones

Event = Tuple[str, str, float, float]
Speech = Literal["auto", "engines", "fallback"]
SPEECH_MODES = ("auto", "engines", "fallback")


class ToneRecognizer:
    """The fallback recognizer: decodes :mod:`.tones` (cheap: runs on the event loop)."""

    rate = tones.RATE
    blocking = False
    name = "tones"

    def __init__(self, interim_interval: float = 0.25) -> None:
        self._decoder = tones.ToneDecoder(interim_interval)

    def feed(self, pcm: bytes) -> List[Event]:
        return self._decoder.feed(pcm)

    def finish(self) -> List[Event]:
        return self._decoder.finish()

    def close(self) -> None:
        pass


def pocketsphinx_available() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


def flite_path() -> Optional[str]:
    return shutil.which("flite")


class _DecoderPool:
    """Loaded pocketsphinx decoders, reused: loading the model takes about a second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: List[Any] = []

    def get(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        from pocketsphinx import Decoder

        return Decoder(samprate=16000, loglevel="FATAL")

    def put(self, decoder: Any) -> None:
        with self._lock:
            if len(self._idle) < 4:
                self._idle.append(decoder)


_pool = _DecoderPool()


class SphinxRecognizer:
    """Streaming pocketsphinx: its endpointer (VAD) cuts utterances, interim
    hypotheses come every ``interim_interval`` seconds of speech, a final at each
    endpoint. CPU-heavy: the server runs :meth:`feed` in a worker thread."""

    rate = 16000
    blocking = True
    name = "pocketsphinx"

    def __init__(self, interim_interval: float = 0.3) -> None:
        from pocketsphinx import Endpointer

        self._interim_interval = interim_interval
        self._ep = Endpointer(window=0.3, ratio=0.9, sample_rate=self.rate)
        self._frame = self._ep.frame_bytes
        self._decoder: Any = None
        self._pending = bytearray()
        self._in_utt = False
        self._utt_start = 0.0
        self._since_interim = 0.0
        self._last_hyp = ""
        self._pos = 0.0

    def _dec(self) -> Any:
        if self._decoder is None:
            self._decoder = _pool.get()
        return self._decoder

    def _hyp(self) -> str:
        hyp = self._dec().hyp()
        return hyp.hypstr.strip() if hyp is not None else ""

    def _speech(self, speech: Optional[bytes], events: List[Event]) -> None:
        if speech is None:
            return
        dec = self._dec()
        if not self._in_utt:
            self._in_utt = True
            # The endpointer hands back audio from before the transition (its window).
            self._utt_start = max(0.0, self._ep.speech_start)
            dec.start_utt()
            events.append(("speech_started", "", self._utt_start, self._utt_start))
            self._since_interim, self._last_hyp = 0.0, ""
        dec.process_raw(speech, False, False)
        self._since_interim += len(speech) / (2 * self.rate)
        if self._since_interim >= self._interim_interval:
            self._since_interim = 0.0
            text = self._hyp()
            if text and text != self._last_hyp:
                self._last_hyp = text
                events.append(("interim", text, self._utt_start, self._pos))
        if not self._ep.in_speech:
            self._end(events, self._ep.speech_end)

    def _end(self, events: List[Event], end: float) -> None:
        dec = self._dec()
        dec.end_utt()
        self._in_utt = False
        events.append(("final", self._hyp(), self._utt_start, max(end, self._utt_start)))

    def feed(self, pcm: bytes) -> List[Event]:
        events: List[Event] = []
        self._pending += pcm
        while len(self._pending) >= self._frame:
            frame = bytes(self._pending[:self._frame])
            del self._pending[:self._frame]
            self._pos += self._frame / (2 * self.rate)
            self._speech(self._ep.process(frame), events)
        return events

    def finish(self) -> List[Event]:
        events: List[Event] = []
        tail = bytes(self._pending[: len(self._pending) // 2 * 2])
        self._pending.clear()
        speech = self._ep.end_stream(tail)
        if speech is not None:
            self._speech(speech, events)
        if self._in_utt:
            self._end(events, self._pos)
        return events

    def close(self) -> None:
        if self._decoder is not None:
            if self._in_utt:
                try:
                    self._decoder.end_utt()
                except Exception:  # a decoder in a bad state is not worth keeping
                    self._decoder = None
                    return
            _pool.put(self._decoder)
            self._decoder = None


class ToneSynthesizer:
    """The fallback synthesizer: :func:`.tones.encode`."""

    rate = tones.RATE
    name = "tones"

    async def synthesize(self, text: str, voice_id: Optional[str] = None) -> bytes:
        return tones.encode(text)

    def synthesize_sync(self, text: str, voice_id: Optional[str] = None) -> bytes:
        return tones.encode(text)


class FliteSynthesizer:
    """Debian's ``flite`` in a subprocess (voice ``kal16``: 16 kHz)."""

    rate = 16000
    name = "flite"

    def __init__(self, voice: str = "kal16", path: Optional[str] = None) -> None:
        self._voice = voice
        self._path = path or flite_path() or "flite"

    def _args(self, text: str, out: str) -> List[str]:
        # "-t TEXT" takes the next word as text even when it starts with "-".
        return [self._path, "-voice", self._voice, "-t", text, "-o", out]

    @staticmethod
    def _read(out: str) -> bytes:
        with wave.open(out, "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise RuntimeError("flite wrote an unexpected WAV format")
            if w.getframerate() != FliteSynthesizer.rate:
                raise RuntimeError(f"flite voice speaks at {w.getframerate()} Hz, "
                                   f"expected {FliteSynthesizer.rate}")
            return w.readframes(w.getnframes())

    async def synthesize(self, text: str, voice_id: Optional[str] = None) -> bytes:
        if not text.strip():
            return b""
        fd, out = tempfile.mkstemp(suffix=".wav", prefix="emu60db-")
        os.close(fd)
        try:
            proc = await asyncio.create_subprocess_exec(
                *self._args(text, out), stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"flite failed ({proc.returncode}): "
                                   f"{err.decode(errors='replace').strip()[:200]}")
            return self._read(out)
        finally:
            try:
                os.unlink(out)
            except OSError:
                pass

    def synthesize_sync(self, text: str, voice_id: Optional[str] = None) -> bytes:
        import subprocess

        if not text.strip():
            return b""
        fd, out = tempfile.mkstemp(suffix=".wav", prefix="emu60db-")
        os.close(fd)
        try:
            subprocess.run(self._args(text, out), check=True, capture_output=True)
            return self._read(out)
        finally:
            try:
                os.unlink(out)
            except OSError:
                pass


class Engines:
    """Chooses the recognizer and synthesizer for ``speech``:

    - ``"auto"``: pocketsphinx and flite where installed, each falling back to the
      tone code on its own;
    - ``"engines"``: both real engines, ``RuntimeError`` at construction if either is
      missing;
    - ``"fallback"``: the tone code for both (fast, deterministic, round-trips).
    """

    def __init__(self, speech: Speech = "auto", voice: str = "kal16") -> None:
        if speech not in SPEECH_MODES:
            raise ValueError(f"speech must be one of {SPEECH_MODES}, not {speech!r}")
        self.speech = speech
        sphinx = speech != "fallback" and pocketsphinx_available()
        flite = flite_path() if speech != "fallback" else None
        if speech == "engines" and not (sphinx and flite):
            missing = [n for n, ok in (("pocketsphinx", sphinx), ("flite", flite)) if not ok]
            raise RuntimeError(f"speech='engines' but not installed: {', '.join(missing)}")
        self.stt_engine = "pocketsphinx" if sphinx else "tones"
        self.tts_engine = "flite" if flite else "tones"
        self._voice = voice
        self._flite = FliteSynthesizer(voice, flite) if flite else None
        self._tones = ToneSynthesizer()

    def recognizer(self, interim_interval: Optional[float] = None) -> Any:
        if self.stt_engine == "pocketsphinx":
            return SphinxRecognizer(interim_interval or 0.3)
        return ToneRecognizer(interim_interval or 0.25)

    @property
    def recognizer_rate(self) -> int:
        return SphinxRecognizer.rate if self.stt_engine == "pocketsphinx" else tones.RATE

    @property
    def synthesizer(self) -> Any:
        return self._flite if self._flite is not None else self._tones

    def __repr__(self) -> str:
        return f"Engines(stt={self.stt_engine!r}, tts={self.tts_engine!r})"
