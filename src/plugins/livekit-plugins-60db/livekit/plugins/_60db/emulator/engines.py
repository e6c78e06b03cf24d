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
    """Loaded pocketsphinx decoders, reused: loading the model takes about a second.

    Each comes back with its cepstral mean reset to the model's initial one, so that a
    session's results do not depend on the sessions before it.
    """

    def __init__(self, **config: Any) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._idle: List[Any] = []
        self._initial_cmn: Optional[str] = None

    def get(self) -> Any:
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
        if decoder is None:
            from pocketsphinx import Decoder

            decoder = Decoder(samprate=16000, loglevel="FATAL", **self._config)
            with self._lock:
                if self._initial_cmn is None:
                    self._initial_cmn = decoder.get_cmn()
        elif self._initial_cmn is not None:
            decoder.set_cmn(self._initial_cmn)
        return decoder

    def put(self, decoder: Any) -> None:
        with self._lock:
            if len(self._idle) < 4:
                self._idle.append(decoder)


# Live cepstral mean normalisation for the streaming pass (interims), batch (the
# mean of the whole utterance) for the finals. Live CMN starts from a fixed prior that
# fits wideband speech; on telephone-band audio it needs many seconds to adapt:
# measured on flite speech at 8 kHz mu-law, live CMN from its prior gave 78 % word
# errors where batch CMN gave 10 % (16 kHz: 2 % both).
_live_pool = _DecoderPool()
_batch_pool = _DecoderPool(cmn="batch")
_pool = _live_pool  # for code that reaches the streaming pool directly; Engines.warm_up is public

DEFAULT_ENDPOINT = 0.7


class SphinxRecognizer:
    """Streaming pocketsphinx: its endpointer (VAD) cuts utterances, interim
    hypotheses come every ``interim_interval`` seconds of speech from a streaming
    pass, and each utterance's final from a second pass over the whole utterance
    with batch cepstral normalisation (whose mean then seeds the streaming pass).
    CPU-heavy: the server runs :meth:`feed` in a worker thread.

    ``window`` is the endpointer's decision window in seconds (the session's
    ``utterance_end_ms`` when given). Short windows split utterances at every pause
    and cost accuracy, most on narrowband audio: on flite speech at 8 kHz mu-law the
    word error rate measured 39 % at 0.3 s, 12 % at 0.6 s, 10 % at 1.0 s.
    """

    rate = 16000
    blocking = True
    name = "pocketsphinx"

    def __init__(self, interim_interval: float = 0.3,
                 window: float = DEFAULT_ENDPOINT) -> None:
        from pocketsphinx import Endpointer

        self._interim_interval = interim_interval
        self._ep = Endpointer(window=window, ratio=0.9, sample_rate=self.rate)
        self._frame = self._ep.frame_bytes
        self._live: Any = None
        self._batch: Any = None
        self._pending = bytearray()
        self._utterance = bytearray()
        self._in_utt = False
        self._utt_start = 0.0
        self._since_interim = 0.0
        self._last_hyp = ""
        self._pos = 0.0

    def _dec(self) -> Any:
        if self._live is None:
            self._live = _live_pool.get()
        return self._live

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
            self._utterance.clear()
            events.append(("speech_started", "", self._utt_start, self._utt_start))
            self._since_interim, self._last_hyp = 0.0, ""
        dec.process_raw(speech, False, False)
        self._utterance += speech
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
        self._dec().end_utt()
        self._in_utt = False
        if self._batch is None:
            self._batch = _batch_pool.get()
        batch = self._batch
        batch.start_utt()
        batch.process_raw(bytes(self._utterance), False, True)
        batch.end_utt()
        hyp = batch.hyp()
        text = hyp.hypstr.strip() if hyp is not None else ""
        self._live.set_cmn(batch.get_cmn())
        self._utterance.clear()
        events.append(("final", text, self._utt_start, max(end, self._utt_start)))

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
        for attr, pool in (("_live", _live_pool), ("_batch", _batch_pool)):
            decoder = getattr(self, attr)
            setattr(self, attr, None)
            if decoder is None:
                continue
            if attr == "_live" and self._in_utt:
                try:
                    decoder.end_utt()
                except Exception:  # a decoder in a bad state is not worth keeping
                    continue
            pool.put(decoder)
        self._in_utt = False


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

    def recognizer(self, interim_interval: Optional[float] = None,
                   endpoint: Optional[float] = None) -> Any:
        """A new recognizer; ``endpoint`` (seconds of silence that end an utterance)
        applies to pocketsphinx, whose endpointer needs it; the tone code has its own
        fixed silences."""
        if self.stt_engine == "pocketsphinx":
            return SphinxRecognizer(interim_interval or 0.3, endpoint or DEFAULT_ENDPOINT)
        return ToneRecognizer(interim_interval or 0.25)

    def warm_up(self) -> None:
        """Loads the engines before the first session (blocking: call it from a
        thread, or use ``Emulator(preload=True)`` / ``await emu.warm_up()``): one
        pocketsphinx decoder of each kind into the pools (about a second each), and
        flite run once. Nothing to do for the tone code."""
        if self.stt_engine == "pocketsphinx":
            for pool in (_live_pool, _batch_pool):
                pool.put(pool.get())
        if self._flite is not None:
            self._flite.synthesize_sync("ready")

    @property
    def recognizer_rate(self) -> int:
        return SphinxRecognizer.rate if self.stt_engine == "pocketsphinx" else tones.RATE

    @property
    def synthesizer(self) -> Any:
        return self._flite if self._flite is not None else self._tones

    def __repr__(self) -> str:
        return f"Engines(stt={self.stt_engine!r}, tts={self.tts_engine!r})"
