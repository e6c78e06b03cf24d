"""60db text-to-speech for LiveKit Agents over one reused WebSocket.

Each TTS instance keeps one socket and opens a context per request (``synthesize`` or
``stream``); every context opened is closed. Cancelling a request (barge-in) sends
``close_context`` at once and drops the late audio of that context only.

``sample_rate`` is the rate emitted to LiveKit. The service is asked for it when it
makes it (LINEAR16: 8000/16000/24000/48000 Hz), else for the nearest rate it makes
(MULAW: 8000 Hz); μ-law decoding and resampling then run in one ``audiocore.Converter``
per request.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass
from typing import Optional, Union

import audiocore
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APIError,
    APITimeoutError,
    tokenize,
    tts,
    utils,
)
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from . import _config
from ._backoff import backoff_delays
from ._errors import _60dbStatusError
from ._secrets import redact
from ._stt_protocol import status_for_close, status_for_error
from ._tts_protocol import (
    Audio,
    ContextClosed,
    ContextError,
    Established,
    FlushCompleted,
    ProtocolError,
    TtsConnectionState,
    service_format,
)
from ._ws import open_socket, url_with_key
from .log import logger
from .models import TTSEncodings

DEFAULT_VOICE_ID = "fbb75ed2-975a-40c7-9e06-38e30524a9a1"
PREAMBLE_GRACE = 0.25
"""Seconds to wait for the server's ``connection_established`` before the first message.
Servers of the seed's kind send no preamble; the reference's send one at once."""


@dataclass
class TTSOptions:
    voice_id: str
    encoding: str  # asked of the service: "LINEAR16" | "MULAW"
    sample_rate: int  # emitted to LiveKit
    service_rate: int  # asked of the service
    ws_url: str  # without the key


class _ConnectionLost:
    def __init__(self, error: APIError) -> None:
        self.error = error


_Item = Union[Audio, FlushCompleted, ContextClosed, ContextError, _ConnectionLost, None]


class _Connection:
    """One socket: a send queue, a receive loop routing events to each context's queue."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self.state = TtsConnectionState()
        self._queues: dict[str, asyncio.Queue[_Item]] = {}
        self._send_ch = utils.aio.Chan[str]()
        self._established = asyncio.Event()
        self._preamble_seen = asyncio.Event()
        self._closed = False
        self.error: Optional[APIError] = None
        self.requests = 0
        self._send_t = asyncio.create_task(self._send_loop(), name="60db.tts.send")
        self._recv_t = asyncio.create_task(self._recv_loop(), name="60db.tts.recv")

    @property
    def alive(self) -> bool:
        return not self._closed and self.error is None

    async def wait_ready(self, timeout: float, *, expect_preamble: Optional[bool]) -> bool:
        """Wait for the preamble: ``connection_established`` if the server sends anything
        first, nothing if it stays silent for :data:`PREAMBLE_GRACE` (or at all, when an
        earlier socket of this server sent none). Returns whether a preamble came."""
        if expect_preamble is False:
            return False
        try:
            await asyncio.wait_for(self._preamble_seen.wait(),
                                   timeout if expect_preamble else PREAMBLE_GRACE)
        except asyncio.TimeoutError as e:
            if expect_preamble:
                raise APITimeoutError(
                    f"60db TTS: no connection_established within {timeout:g} s") from e
            return False
        try:
            await asyncio.wait_for(self._established.wait(), timeout)
        except asyncio.TimeoutError as e:
            raise APITimeoutError(
                f"60db TTS: no connection_established within {timeout:g} s") from e
        if self.error is not None:
            raise self.error
        return True

    def open(self, context_id: str, opts: TTSOptions) -> asyncio.Queue[_Item]:
        if not self.alive:
            raise self.error or APIConnectionError("60db TTS: connection closed")
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._queues[context_id] = queue
        self._send(self.state.create_context(context_id, voice_id=opts.voice_id,
                                             encoding=opts.encoding,
                                             sample_rate=opts.service_rate))
        self.requests += 1
        return queue

    def send_text(self, context_id: str, text: str) -> None:
        self._send(self.state.send_text(context_id, text))

    def flush(self, context_id: str) -> None:
        self._send(self.state.flush_context(context_id))

    def close_context(self, context_id: str) -> None:
        """Sent at once (queued ahead of nothing that could delay it); late audio dropped."""
        self._queues.pop(context_id, None)
        if not self.alive:
            self.state.forget(context_id)
            return
        msg = self.state.close_context(context_id)
        if msg is not None:
            self._send(msg)

    def _send(self, message: str) -> None:
        if not self.alive:
            raise self.error or APIConnectionError("60db TTS: connection closed")
        self._send_ch.send_nowait(message)

    async def _send_loop(self) -> None:
        try:
            async for message in self._send_ch:
                await self._ws.send(message)
        except ConnectionClosed as e:
            self._fail(_closed_error(e))
        except Exception as e:  # noqa: BLE001 - every failure ends the socket for all
            self._fail(APIConnectionError(f"60db TTS: send failed ({type(e).__name__})"))

    async def _recv_loop(self) -> None:
        try:
            async for message in self._ws:
                self._preamble_seen.set()
                for ev in self.state.receive(message):
                    self._dispatch(ev)
            code = self._ws.close_code
            self._fail(APIConnectionError(f"60db TTS: the server closed the connection "
                                          f"(code {code})"), quiet=not self._queues)
        except ConnectionClosed as e:
            self._fail(_closed_error(e))
        except ProtocolError as e:
            self._fail(APIConnectionError(f"60db TTS: {e}"))
        except Exception as e:  # noqa: BLE001
            self._fail(APIConnectionError(f"60db TTS: receive failed ({type(e).__name__})"))

    def _dispatch(self, ev: object) -> None:
        if isinstance(ev, Established):
            self._established.set()
            return
        if isinstance(ev, ContextError) and ev.context_id is None:
            # not about one request: it ends the socket (and answers a handshake)
            self._fail(_context_error(ev))
            return
        cid = getattr(ev, "context_id", None)
        queue = self._queues.get(cid) if cid is not None else None
        if queue is not None:
            queue.put_nowait(ev)  # type: ignore[arg-type]

    def _fail(self, error: APIError, *, quiet: bool = False) -> None:
        if self.error is None:
            self.error = error
            if not quiet:
                logger.debug("60db TTS socket ended: %s", error)
        self._established.set()
        self._preamble_seen.set()
        for queue in self._queues.values():
            queue.put_nowait(_ConnectionLost(error))
        self._closed = True
        self._send_ch.close()

    async def aclose(self) -> None:
        self._closed = True
        self._send_ch.close()
        try:
            # let queued close_context messages out before the socket goes
            await asyncio.wait_for(asyncio.shield(self._send_t), 1.0)
        except (asyncio.TimeoutError, Exception):
            pass
        await self._ws.close()
        await utils.aio.cancel_and_wait(self._send_t, self._recv_t)


def _closed_error(e: ConnectionClosed) -> APIError:
    code = e.rcvd.code if e.rcvd is not None else None
    reason = e.rcvd.reason if e.rcvd is not None else ""
    status = status_for_close(code, reason)
    text = (f"60db TTS: connection closed (code {code if code is not None else 'none'}"
            + (f", {redact(reason)}" if reason else "") + ")")
    if status is not None:
        return _60dbStatusError(text, status_code=status)
    return APIConnectionError(text)


def _context_error(ev: ContextError) -> APIError:
    status = status_for_error(ev.message, ev.code)
    text = f"60db TTS error: {redact(ev.message)}" + (f" ({ev.code})" if ev.code else "")
    if status is not None:
        return _60dbStatusError(text, status_code=status, body=ev.code)
    return APIConnectionError(text, retryable=ev.context_id is None)


class TTS(tts.TTS):
    """60db streaming TTS.

    Args:
        api_key: the 60db key; default: the ``_60dbClient`` default, ``SIXTY_DB_API_KEY``,
            or ``.env.local``.
        ws_url: the WebSocket endpoint; default ``SIXTY_DB_TTS_URL`` or
            ``wss://api.60db.ai/ws/tts``. ``ws://`` only for loopback hosts.
        voice_id: the 60db voice.
        encoding: ``"LINEAR16"`` (default) or ``"MULAW"``: what is asked of the service.
            LiveKit always gets 16-bit PCM.
        sample_rate: the rate emitted to LiveKit (default 16000).
    """

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        ws_url: Optional[str] = None,
        voice_id: str = DEFAULT_VOICE_ID,
        encoding: Union[TTSEncodings, str] = "LINEAR16",
        sample_rate: int = 16000,
    ) -> None:
        if not isinstance(voice_id, str) or not voice_id.strip():
            raise ValueError("voice_id must be a non-empty string")
        if not isinstance(encoding, str):
            raise TypeError(f"encoding must be a str, not {type(encoding).__name__}")
        enc = encoding.strip().upper()
        if enc not in ("LINEAR16", "MULAW"):
            raise ValueError(f"encoding must be 'LINEAR16' or 'MULAW', not {encoding!r}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
            raise TypeError(f"sample_rate must be an int, not {type(sample_rate).__name__}")
        if not 8000 <= sample_rate <= 192000:
            raise ValueError(f"sample_rate must be from 8000 to 192000 Hz, not {sample_rate}")
        super().__init__(capabilities=tts.TTSCapabilities(streaming=True),
                         sample_rate=sample_rate, num_channels=1)
        self._api_key = _config.resolve_api_key(api_key)
        url = _config.resolve_url(ws_url, _config.TTS_URL_ENV, _config.DEFAULT_TTS_URL,
                                  secure="wss", plain="ws", argument="ws_url")
        self._url = url
        _, service_rate = service_format(enc, sample_rate)
        self._opts = TTSOptions(voice_id=voice_id.strip(), encoding=enc,
                                sample_rate=sample_rate, service_rate=service_rate,
                                ws_url=redact(url))
        self._conn: Optional[_Connection] = None
        self._conn_lock: Optional[asyncio.Lock] = None
        self._streams: "weakref.WeakSet[SynthesizeStream]" = weakref.WeakSet()
        self.connections_opened = 0
        self._prewarm_task: "Optional[asyncio.Future[None]]" = None
        # whether this server opens with connecting/connection_established (the API
        # reference) or says nothing (the seed): learnt on the first socket, so that
        # later sockets wait neither the grace period nor for a preamble never sent
        self._preamble: Optional[bool] = None

    @property
    def model(self) -> str:
        return "60db-tts"

    @property
    def provider(self) -> str:
        return "60db"

    @property
    def options(self) -> TTSOptions:
        return self._opts

    def __repr__(self) -> str:
        return f"TTS({self._opts!r})"

    def prewarm(self) -> None:
        """Open the shared socket ahead of the first request."""
        self._prewarm_task = asyncio.ensure_future(self._prewarm())

    async def _prewarm(self) -> None:
        try:
            await self._connection(DEFAULT_API_CONNECT_OPTIONS)
        except APIError as e:
            logger.debug("60db TTS prewarm failed: %s", e)

    async def _connection(self, conn_options: APIConnectOptions) -> tuple[_Connection, float, bool]:
        """The shared socket, opened (with exponential backoff) if there is none."""
        if self._conn_lock is None:
            self._conn_lock = asyncio.Lock()
        async with self._conn_lock:
            if self._conn is not None and self._conn.alive:
                return self._conn, 0.0, True
            if self._conn is not None:
                await self._conn.aclose()
                self._conn = None
            t0 = time.perf_counter()
            delays = list(backoff_delays(conn_options.max_retry, conn_options.retry_interval))
            attempt = 0
            while True:
                try:
                    ws = await open_socket(url_with_key(self._url, self._api_key),
                                           timeout=conn_options.timeout, service="TTS")
                    conn = _Connection(ws)
                    try:
                        self._preamble = await conn.wait_ready(
                            conn_options.timeout, expect_preamble=self._preamble)
                    except BaseException:
                        await conn.aclose()
                        raise
                    self.connections_opened += 1
                    self._conn = conn
                    return conn, time.perf_counter() - t0, False
                except APIError as e:
                    if not e.retryable:
                        raise
                    if attempt >= len(delays):
                        # retried here already: livekit's loop must not multiply it
                        e.retryable = False
                        raise
                    logger.warning("%s; reconnecting in %.1f s", e, delays[attempt])
                    await asyncio.sleep(delays[attempt])
                    attempt += 1

    def synthesize(self, text: str, *,
                   conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> "ChunkedStream":
        return ChunkedStream(tts=self, input_text=text, conn_options=conn_options)

    def stream(self, *,
               conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> "SynthesizeStream":
        stream = SynthesizeStream(tts=self, conn_options=conn_options)
        self._streams.add(stream)
        return stream

    async def aclose(self) -> None:
        prewarm, self._prewarm_task = self._prewarm_task, None
        if prewarm is not None and not prewarm.done():
            # a prewarm still connecting would otherwise install a socket (and its two
            # tasks) after this close, left open for good
            await utils.aio.cancel_and_wait(prewarm)
        for stream in list(self._streams):
            await stream.aclose()
        if self._conn is not None:
            await self._conn.aclose()
            self._conn = None


class _Request:
    """One context on the shared socket: text out, converted PCM to the emitter."""

    def __init__(self, tts_: TTS, conn: _Connection, emitter: tts.AudioEmitter,
                 timeout: float) -> None:
        self.id = utils.shortuuid("ctx_")
        self._conn = conn
        self._emitter = emitter
        self._timeout = timeout
        opts = tts_._opts
        self._converter: Optional[audiocore.Converter] = None
        if opts.encoding == "MULAW" or opts.service_rate != opts.sample_rate:
            self._converter = audiocore.Converter(
                opts.service_rate, 1, opts.sample_rate, 1,
                in_encoding="mulaw" if opts.encoding == "MULAW" else "pcm16",
                engine="realtime")
        self._queue = conn.open(self.id, opts)
        self._flushes = 0
        self._completed = 0
        self._released = False
        self.pushed_bytes = 0
        self._input_done = asyncio.Event()

    def send_text(self, text: str) -> None:
        self._conn.send_text(self.id, text)

    def flush(self) -> None:
        self._conn.flush(self.id)
        self._flushes += 1

    def input_done(self) -> None:
        self._input_done.set()
        self._queue.put_nowait(None)  # wake the pump

    def close(self) -> None:
        """End the request: ``close_context`` unless the server closed it already, and
        the connection forgets the request either way."""
        if not self._released:
            self._released = True
            self._conn.close_context(self.id)  # sends nothing for a context already gone

    async def pump(self) -> None:
        """Audio to the emitter until input ended and every flush completed."""
        while not (self._input_done.is_set() and self._completed >= self._flushes):
            outstanding = self._completed < self._flushes
            try:
                item = await asyncio.wait_for(self._queue.get(),
                                              self._timeout if outstanding else None)
            except asyncio.TimeoutError as e:
                raise APITimeoutError(
                    f"60db TTS: no audio within {self._timeout:g} s of a flush") from e
            if isinstance(item, Audio):
                self._push(item.data)
            elif isinstance(item, FlushCompleted):
                self._completed += 1
            elif isinstance(item, ContextError):
                raise _context_error(item)
            elif isinstance(item, _ConnectionLost):
                raise item.error
            elif isinstance(item, ContextClosed):
                if self._completed < self._flushes:
                    raise APIConnectionError("60db TTS: the server closed the context early")
        if self._converter is not None:
            self._emit(self._converter.flush())  # the resampler's held-back tail

    def _push(self, data: bytes) -> None:
        if self._converter is not None and data:
            data = self._converter.process(data)
        self._emit(data)

    def _emit(self, data: bytes) -> None:
        if data:
            self.pushed_bytes += len(data)
            self._emitter.push(data)


def _no_retry_after_audio(e: APIError, request: _Request) -> Optional[APIError]:
    """The error to raise instead of ``e`` once audio went out, or None to raise ``e``.

    livekit would restart the request and play its beginning twice.
    """
    if e.retryable and request.pushed_bytes:
        return APIConnectionError(f"{e} (audio had gone out: not retried)", retryable=False)
    return None


class ChunkedStream(tts.ChunkedStream):
    """``TTS.synthesize(text)``: the whole text in one context, one flush."""

    def __init__(self, *, tts: TTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._tts: TTS = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        conn, self._acquire_time, self._connection_reused = await self._tts._connection(
            self._conn_options)
        request = _Request(self._tts, conn, output_emitter, self._conn_options.timeout)
        output_emitter.initialize(request_id=request.id, sample_rate=self._tts.sample_rate,
                                  num_channels=1, mime_type="audio/pcm")
        try:
            if self._input_text.strip():
                request.send_text(self._input_text)
                request.flush()
            request.input_done()
            await request.pump()
            # no output_emitter.flush(): the base ends the segment, and a flush first would
            # make it append a 10 ms silent marker to the audio
        except APIError as e:
            final = _no_retry_after_audio(e, request)
            if final is None:
                raise
            raise final from e
        finally:
            request.close()


class SynthesizeStream(tts.SynthesizeStream):
    """``TTS.stream()``: text pushed as it comes, sent sentence by sentence, each sentence
    flushed so that audio starts after the first one."""

    def __init__(self, *, tts: TTS, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, conn_options=conn_options)
        self._tts: TTS = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        conn, self._acquire_time, self._connection_reused = await self._tts._connection(
            self._conn_options)
        request = _Request(self._tts, conn, output_emitter, self._conn_options.timeout)
        output_emitter.initialize(request_id=request.id, sample_rate=self._tts.sample_rate,
                                  num_channels=1, mime_type="audio/pcm", stream=True)
        output_emitter.start_segment(segment_id=request.id)
        sentences = tokenize.basic.SentenceTokenizer().stream()

        async def input_task() -> None:
            async for data in self._input_ch:
                if isinstance(data, self._FlushSentinel):
                    sentences.flush()
                else:
                    sentences.push_text(data)
            sentences.end_input()

        async def send_task() -> None:
            async for ev in sentences:
                text = ev.token.strip()
                if not text:
                    continue
                self._mark_started()
                request.send_text(text + " ")
                request.flush()
            request.input_done()

        tasks = [asyncio.create_task(input_task()), asyncio.create_task(send_task())]
        pump = asyncio.create_task(request.pump())
        try:
            done, _ = await asyncio.wait([pump, *tasks], return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                if t.exception() is not None:
                    t.result()
            await pump
            output_emitter.end_segment()
        except APIError as e:
            final = _no_retry_after_audio(e, request)
            if final is None:
                raise
            raise final from e
        finally:
            request.close()
            await utils.aio.cancel_and_wait(*tasks, pump)
            await sentences.aclose()
