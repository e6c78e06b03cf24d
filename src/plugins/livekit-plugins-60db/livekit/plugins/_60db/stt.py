"""60db streaming speech-to-text for LiveKit Agents.

Audio path: every pushed ``rtc.AudioFrame`` (any rate, any channel count) goes through
one ``audiocore.Converter`` per stream (realtime engine: filtered, nothing held back)
into the service's encoding and rate, is cut into fixed ``frame_ms`` frames and sent as
binary WebSocket messages. The stream never asks livekit's ``RecognizeStream`` to
resample (that would run livekit's own bursty resampler).

Reconnects: a transport error or an unexpected close mid-stream reconnects with
exponential backoff (``APIConnectOptions``: ``max_retry`` attempts, delays from 0.1 s
doubling up to ``retry_interval``) and first replays the audio sent since the last final
transcript (plus a 200 ms pre-roll, at most ``REPLAY_SECONDS``), so the utterance in
flight is transcribed whole. Authentication and out-of-credit failures are not retried.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass, field
from typing import Optional, Union

from livekit import rtc
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APITimeoutError,
    stt,
    utils,
)
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import AudioBuffer, is_given
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK

from . import _config
from ._backoff import backoff_delays
from ._errors import _60dbStatusError
from ._replay import ReplayBuffer
from ._stt_audio import AudioFramer
from ._secrets import redact
from ._stt_protocol import (
    ProtocolError,
    Ready,
    ServerError,
    SessionStopped,
    SpeechStarted,
    StartConfig,
    SttSession,
    Transcript,
    TranscriptMapper,
    status_for_close,
    status_for_error,
)
from ._ws import open_socket, url_with_key
from .log import logger
from .models import STTEncodings, STTLanguages

SAMPLE_RATES = (8000, 16000, 24000, 44100, 48000)
MAX_LANGUAGES = 5
REPLAY_SECONDS = 30.0
"""The most audio replayed after a reconnect (the newest part of a longer utterance)."""
REPLAY_PREROLL_SECONDS = 0.2
"""Audio kept from before the last final transcript for a replay."""
STOP_TAIL_SECONDS = 1.0
"""When ``session_stopped`` does not come: a final after ``stop`` leaving at most this much
audio after it means the session is done; more means a new session must hear it."""


def _wire_encoding(encoding: str) -> str:
    if not isinstance(encoding, str):
        raise TypeError(f"encoding must be a str, not {type(encoding).__name__}")
    value = encoding.strip().lower()
    if value == "mulaw":
        return "mulaw"
    if value in ("linear", "linear16"):
        return "linear"
    raise ValueError(f"encoding must be 'mulaw', 'linear' or 'LINEAR16', not {encoding!r}")


def _check_languages(languages: Optional[list[str]]) -> tuple[str, ...]:
    if languages is None:
        return ("en",)
    if isinstance(languages, str) or not isinstance(languages, (list, tuple)):
        raise TypeError("languages must be a list of language codes, e.g. ['en']")
    if not 1 <= len(languages) <= MAX_LANGUAGES:
        raise ValueError(f"languages must hold 1 to {MAX_LANGUAGES} codes, not {len(languages)}")
    for code in languages:
        if not isinstance(code, str) or not code.strip():
            raise ValueError(f"languages: {code!r} is not a language code")
    return tuple(code.strip() for code in languages)


@dataclass
class STTOptions:
    languages: tuple[str, ...]
    encoding: str  # "mulaw" | "linear"
    sample_rate: int
    continuous_mode: bool
    utterance_end_ms: Optional[int]
    context: Optional[str]
    frame_ms: int
    ws_url: str  # without the key

    @property
    def bytes_per_second(self) -> int:
        return self.sample_rate * (1 if self.encoding == "mulaw" else 2)

    @property
    def frame_bytes(self) -> int:
        return self.bytes_per_second * self.frame_ms // 1000

    def start_config(self) -> StartConfig:
        return StartConfig(languages=self.languages, encoding=self.encoding,
                           sample_rate=self.sample_rate, continuous_mode=self.continuous_mode,
                           utterance_end_ms=self.utterance_end_ms, context=self.context)


class STT(stt.STT):
    """60db streaming STT.

    Args:
        api_key: the 60db key; default: the ``_60dbClient`` default, ``SIXTY_DB_API_KEY``,
            or ``.env.local``.
        ws_url: the WebSocket endpoint; default ``SIXTY_DB_STT_URL`` or
            ``wss://api.60db.ai/ws/stt``. ``ws://`` only for loopback hosts.
        languages: up to five language codes (default ``["en"]``).
        encoding: ``"mulaw"`` (default) or ``"linear"`` (``"LINEAR16"`` accepted): what
            is sent to the service. Input frames are always 16-bit PCM.
        sample_rate: the rate sent to the service: 8000 (default), 16000, 24000, 44100
            or 48000 Hz. Frames of any rate and channel count are converted by audiocore.
        continuous_mode: keep the session open across utterances (default True).
        utterance_end_ms: silence (>= 300 ms) that ends an utterance, if set.
        context: text that primes recognition; the service then sends two finals per
            sentence (the first becomes a PREFLIGHT_TRANSCRIPT).
        frame_ms: audio per WebSocket message (default 20 ms).
    """

    SpeechEventType = stt.SpeechEventType
    """livekit's event types, here too: the 60db docs compare against
    ``stt.SpeechEventType.FINAL_TRANSCRIPT`` with ``stt`` an instance of this class."""

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        ws_url: Optional[str] = None,
        languages: Optional[list[Union[STTLanguages, str]]] = None,
        encoding: Union[STTEncodings, str] = "mulaw",
        sample_rate: int = 8000,
        continuous_mode: bool = True,
        utterance_end_ms: Optional[int] = None,
        context: Optional[str] = None,
        frame_ms: int = 20,
    ) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=True, interim_results=True))
        wire = _wire_encoding(encoding)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
            raise TypeError(f"sample_rate must be an int, not {type(sample_rate).__name__}")
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"sample_rate must be one of {SAMPLE_RATES}, not {sample_rate}")
        if not isinstance(continuous_mode, bool):
            raise TypeError("continuous_mode must be a bool")
        if utterance_end_ms is not None and (isinstance(utterance_end_ms, bool)
                                             or not isinstance(utterance_end_ms, int)
                                             or utterance_end_ms < 300):
            raise ValueError(f"utterance_end_ms must be an int >= 300, not {utterance_end_ms!r}")
        if context is not None and not isinstance(context, str):
            raise TypeError("context must be a str")
        if (isinstance(frame_ms, bool) or not isinstance(frame_ms, int)
                or not 10 <= frame_ms <= 1000):
            raise ValueError(f"frame_ms must be an int from 10 to 1000, not {frame_ms!r}")
        if sample_rate * frame_ms % 1000:
            raise ValueError(f"frame_ms={frame_ms} is not a whole number of samples at "
                             f"{sample_rate} Hz")
        self._api_key = _config.resolve_api_key(api_key)
        url = _config.resolve_url(ws_url, _config.STT_URL_ENV, _config.DEFAULT_STT_URL,
                                  secure="wss", plain="ws", argument="ws_url")
        self._opts = STTOptions(
            languages=_check_languages(languages), encoding=wire, sample_rate=sample_rate,
            continuous_mode=continuous_mode, utterance_end_ms=utterance_end_ms,
            context=context, frame_ms=frame_ms, ws_url=redact(url))
        self._url = url
        self._streams: "weakref.WeakSet[SpeechStream]" = weakref.WeakSet()

    @property
    def model(self) -> str:
        return "60db-stt"

    @property
    def provider(self) -> str:
        return "60db"

    @property
    def options(self) -> STTOptions:
        return self._opts

    def __repr__(self) -> str:
        return f"STT({self._opts!r})"

    def _connect_url(self) -> str:
        return url_with_key(self._url, self._api_key)

    def stream(
        self,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> "SpeechStream":
        opts = self._opts
        if is_given(language):
            opts = STTOptions(**{**opts.__dict__, "languages": _check_languages([language])})
        stream = SpeechStream(stt=self, opts=opts, conn_options=conn_options)
        self._streams.add(stream)
        return stream

    async def _recognize_impl(
        self,
        buffer: AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions,
    ) -> stt.SpeechEvent:
        frame = rtc.combine_audio_frames(buffer)
        texts: list[str] = []
        lang = language if is_given(language) else self._opts.languages[0]
        # the caller's recognize() retries; the stream must not retry on its own too
        once = APIConnectOptions(max_retry=0, retry_interval=conn_options.retry_interval,
                                 timeout=conn_options.timeout)
        async with self.stream(language=language, conn_options=once) as stream:
            if frame.samples_per_channel:
                stream.push_frame(frame)
            stream.end_input()
            async for ev in stream:
                if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT and ev.alternatives:
                    texts.append(ev.alternatives[0].text)
                    lang = ev.alternatives[0].language
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            alternatives=[stt.SpeechData(language=lang, text=" ".join(texts))])

    async def aclose(self) -> None:
        for stream in list(self._streams):
            await stream.aclose()
        self._streams.clear()


@dataclass
class _ConnStats:
    opened_at: float = field(default_factory=time.monotonic)
    finals: int = 0


class SpeechStream(stt.RecognizeStream):
    """One streaming recognition: frames in, speech events out, across reconnects."""

    def __init__(self, *, stt: STT, opts: STTOptions, conn_options: APIConnectOptions) -> None:
        # no sample_rate=: livekit would resample with its own bursty resampler
        super().__init__(stt=stt, conn_options=conn_options)
        self._owner = stt
        self._opts = opts
        bps = opts.bytes_per_second
        preroll = int(REPLAY_PREROLL_SECONDS * bps) // opts.frame_bytes * opts.frame_bytes
        self._replay = ReplayBuffer(int(REPLAY_SECONDS * bps), preroll)
        self._framer = AudioFramer(out_rate=opts.sample_rate, encoding=opts.encoding,
                                   frame_bytes=opts.frame_bytes, replay=self._replay)
        self._mapper = TranscriptMapper(default_language=opts.languages[0])
        self._unreported_bytes = 0
        self._sent_bytes = 0
        self._connections = 0

    def __repr__(self) -> str:
        return f"SpeechStream(languages={list(self._opts.languages)!r}, " \
               f"encoding={self._opts.encoding!r}, sample_rate={self._opts.sample_rate})"

    @property
    def connections(self) -> int:
        """WebSocket connections opened so far (1 + reconnects)."""
        return self._connections

    @property
    def sent_bytes(self) -> int:
        """Audio bytes sent to the service, replays included."""
        return self._sent_bytes

    def push_frame(self, frame: rtc.AudioFrame) -> None:
        """Push audio of any rate (fixed per stream) and channel count (a frame with
        another count than the first is remixed to it by audiocore)."""
        if not isinstance(frame, rtc.AudioFrame):
            raise TypeError(f"push_frame: frame must be an rtc.AudioFrame, "
                            f"not {type(frame).__name__}")
        super().push_frame(frame)  # livekit refuses a change of sample rate

    # -- the connection loop ----------------------------------------------------------

    async def _run(self) -> None:
        opts = self._conn_options
        delays = list(backoff_delays(opts.max_retry, opts.retry_interval))
        failures = 0
        while True:
            stats = _ConnStats()
            try:
                await self._run_connection(stats)
                self._report_usage()
                return
            except APIError as e:
                self._report_usage()
                if not e.retryable:
                    raise
                if stats.finals or time.monotonic() - stats.opened_at > opts.timeout:
                    failures = 0  # that connection worked; this is a new failure
                if failures >= len(delays):
                    if not delays:
                        e.retryable = False  # retries are off: livekit must not retry either
                        raise
                    raise APIConnectionError(
                        f"60db STT: gave up after {failures + 1} attempts: {e}",
                        retryable=False) from e
                delay = delays[failures]
                failures += 1
                self._emit_error(e, recoverable=True)
                logger.warning("%s; reconnecting in %.1f s (attempt %d of %d), "
                               "replaying %d bytes", e, delay, failures, len(delays),
                               self._replay.nbytes)
                await asyncio.sleep(delay)

    async def _run_connection(self, stats: _ConnStats) -> None:
        session = SttSession(self._opts.start_config())
        self._replay.rewind()
        timeout = self._conn_options.timeout
        ws = await open_socket(self._owner._connect_url(), timeout=timeout, service="STT")
        self._connections += 1
        stats.opened_at = time.monotonic()
        send_t: Optional[asyncio.Task[None]] = None
        recv_t: Optional[asyncio.Task[None]] = None
        try:
            try:
                await asyncio.wait_for(self._handshake(ws, session), timeout)
            except asyncio.TimeoutError as e:
                raise APITimeoutError(f"60db STT: no session within {timeout:g} s") from e
            send_t = asyncio.create_task(self._send_loop(ws, session), name="60db.stt.send")
            recv_t = asyncio.create_task(self._recv_loop(ws, session, stats),
                                         name="60db.stt.recv")
            done, _ = await asyncio.wait({send_t, recv_t},
                                         return_when=asyncio.FIRST_COMPLETED)
            if recv_t in done:
                recv_t.result()
                if not session.stopped:
                    raise APIConnectionError("60db STT: the session ended before stop")
                return
            send_t.result()  # stop was sent
            finals_at_stop = stats.finals
            try:
                await asyncio.wait_for(asyncio.shield(recv_t), timeout)
            except asyncio.TimeoutError as e:
                left = self._replay.nbytes / self._opts.bytes_per_second
                if stats.finals > finals_at_stop and left <= STOP_TAIL_SECONDS:
                    # a final answered stop and covers all but a short tail: only the
                    # acknowledgement is missing
                    logger.warning("60db STT: no session_stopped within %g s of stop; "
                                   "closing", timeout)
                    return
                # nothing came back for the audio since the last final: a new session
                # hears it again (the replay) rather than dropping it
                raise APITimeoutError(
                    f"60db STT: no session_stopped within {timeout:g} s of stop") from e
        except ConnectionClosed as e:
            raise _closed_error(e) from e
        except ProtocolError as e:
            raise APIConnectionError(f"60db STT: {e}") from e
        except OSError as e:
            raise APIConnectionError(f"60db STT: connection failed ({type(e).__name__})") from e
        finally:
            await utils.aio.cancel_and_wait(*(t for t in (send_t, recv_t) if t is not None))
            await ws.close()

    async def _handshake(self, ws: ClientConnection, session: SttSession) -> None:
        while True:
            message = await ws.recv()
            ready = False
            for ev in session.receive(message):
                if isinstance(ev, Ready):
                    ready = True
                    self._mapper.request_id = ev.session_id or ""
                else:
                    self._handle(ev, None)
            for out in session.data_to_send():
                await ws.send(out)
            if ready:
                return

    async def _send_loop(self, ws: ClientConnection, session: SttSession) -> None:
        await self._drain(ws)  # the replay first
        framer = self._framer
        if not framer.finished:
            async for item in self._input_ch:
                if isinstance(item, rtc.AudioFrame):
                    framer.push(item.data, item.sample_rate, item.num_channels)
                else:  # a flush: the partial frame goes out now
                    framer.cut_partial()
                await self._drain(ws)
            framer.finish()
            await self._drain(ws)
        session.stop()
        for out in session.data_to_send():
            await ws.send(out)

    async def _drain(self, ws: ClientConnection) -> None:
        replay = self._replay
        while (frame := replay.peek()) is not None:
            await ws.send(frame)
            replay.mark_sent(frame)
            self._sent_bytes += len(frame)
            self._unreported_bytes += len(frame)

    async def _recv_loop(self, ws: ClientConnection, session: SttSession,
                         stats: _ConnStats) -> None:
        try:
            async for message in ws:
                for ev in session.receive(message):
                    if isinstance(ev, SessionStopped):
                        return
                    self._handle(ev, stats)
        except ConnectionClosedOK as e:
            raise _closed_error(e) from e
        # the iterator ends on a normal close: fine only once the session has stopped
        if not session.stopped:
            raise APIConnectionError(
                f"60db STT: the server closed the connection (code {ws.close_code})")

    def _handle(self, ev: object, stats: Optional[_ConnStats]) -> None:
        if isinstance(ev, ServerError):
            raise _server_error(ev)
        if isinstance(ev, (SpeechStarted, Transcript)):
            final = False
            for out in self._mapper.map(ev):
                self._event_ch.send_nowait(out)
                if out.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                    final = True
                    end = None
                    if isinstance(ev, Transcript) and ev.end_time is not None:
                        end = self._replay.base + int(ev.end_time * self._opts.bytes_per_second)
                    self._replay.mark_final(end)
                    if stats is not None:
                        stats.finals += 1
            if final:
                self._report_usage()

    def _report_usage(self) -> None:
        if self._unreported_bytes <= 0:
            return
        seconds = self._unreported_bytes / self._opts.bytes_per_second
        self._unreported_bytes = 0
        self._event_ch.send_nowait(stt.SpeechEvent(
            type=stt.SpeechEventType.RECOGNITION_USAGE, request_id=self._mapper.request_id,
            recognition_usage=stt.RecognitionUsage(audio_duration=seconds)))


def _server_error(ev: ServerError) -> APIError:
    status = status_for_error(ev.message, ev.code)
    text = f"60db STT error: {redact(ev.message)}" + (f" ({ev.code})" if ev.code else "")
    if status is not None:
        return _60dbStatusError(text, status_code=status, body=ev.code)
    return APIConnectionError(text)


def _closed_error(e: ConnectionClosed) -> APIError:
    code = e.rcvd.code if e.rcvd is not None else None
    reason = e.rcvd.reason if e.rcvd is not None else ""
    status = status_for_close(code, reason)
    text = (f"60db STT: connection closed (code {code if code is not None else 'none'}"
            + (f", {redact(reason)}" if reason else "") + ")")
    if status is not None:
        return _60dbStatusError(text, status_code=status)
    return APIConnectionError(text)
