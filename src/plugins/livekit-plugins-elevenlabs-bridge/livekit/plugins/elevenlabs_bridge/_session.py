"""BridgeSession: one conversation (renewed when it drops) carrying a room's audio in
both directions."""

from __future__ import annotations

import asyncio
import inspect
import time
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple, Union

import aiohttp
from livekit import rtc

from . import _protocol as p
from ._errors import BridgeError, ConversationClosedError, SignedURLRefusedError
from ._mixer import InputMixer
from ._playout import Playout
from ._secrets import install_filters, register_secret, url_host
from .log import logger

SignedURL = Union[str, Callable[[], Awaitable[str]]]
ClientTool = Callable[[Dict[str, Any]], Any]

#: The input side asks livekit for the Opus rate so that livekit does not resample.
STREAM_RATE = 48000
_OUTPUT_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
# Slots the clock mixes at once after the loop was held up; beyond it the lost time is
# skipped rather than sent as a burst.
_MAX_CATCHUP_SLOTS = 5


def _check_ms(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of milliseconds, "
                        f"not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


class BridgeSession(rtc.EventEmitter[str]):
    """Bridges LiveKit audio tracks to an ElevenLabs conversation and back.

    Args:
        signed_url: a signed conversation URL, or an async callable returning a fresh
            one (called for every new conversation; see :func:`signed_url_provider`).
            A plain str cannot start a second conversation after a drop.
        output_rate: sample rate of the published track.
        frame_ms: frame length on both sides (mixer slots, published frames).
        chunk_ms: length of each ``user_audio_chunk``.
        queue_ms: livekit ``AudioSource`` queue; bounds what plays after a barge-in.
        client_tools: tool name → handler taking the call's parameters (sync or async);
            its return value is sent as the result.
        max_retries: new conversations tried after an unexpected close.
        backoff: seconds before the first retry, doubled each time (at most 8 s).
        connect_timeout: seconds for the socket to open and the metadata to come.
        idle_timeout: seconds without any message (the service pings every few
            seconds) after which the conversation counts as dropped and is renewed.
        dynamic_variables, overrides: sent in ``conversation_initiation_client_data``.

    Events (``session.on(name, callback)``): ``"metadata"`` (:class:`Metadata`),
    ``"user_transcript"`` (str), ``"agent_response"`` (str), ``"interruption"``
    (event id), ``"tool_call"`` (:class:`ClientToolCall`), ``"reconnected"`` (attempt),
    ``"closed"`` (``None`` or the :class:`BridgeError` that ended it).
    """

    def __init__(
        self,
        signed_url: SignedURL,
        *,
        output_rate: int = 48000,
        frame_ms: int = 20,
        chunk_ms: int = 50,
        queue_ms: int = 100,
        client_tools: Optional[Mapping[str, ClientTool]] = None,
        max_retries: int = 5,
        backoff: float = 0.5,
        connect_timeout: float = 10.0,
        idle_timeout: float = 30.0,
        dynamic_variables: Optional[Dict[str, Any]] = None,
        overrides: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__()
        if isinstance(signed_url, str):
            if not signed_url.startswith(("ws://", "wss://")):
                raise ValueError("signed_url must be a ws:// or wss:// URL "
                                 "(or an async callable returning one)")
            register_secret(signed_url)
        elif not callable(signed_url):
            raise TypeError(f"signed_url must be a str or an async callable, "
                            f"not {type(signed_url).__name__}")
        if isinstance(output_rate, bool) or not isinstance(output_rate, int):
            raise TypeError(f"output_rate must be an int, not {type(output_rate).__name__}")
        if output_rate not in _OUTPUT_RATES:
            raise ValueError(f"output_rate must be one of {_OUTPUT_RATES}, got {output_rate}")
        self._frame_ms = _check_ms(frame_ms, "frame_ms")
        if (output_rate * frame_ms) % 1000 or (8000 * frame_ms) % 1000 \
                or (22050 * frame_ms) % 1000:
            raise ValueError(f"frame_ms={frame_ms} must give whole samples at "
                             f"output_rate and at every input rate (a multiple of 20 ms)")
        self._chunk_ms = _check_ms(chunk_ms, "chunk_ms")
        if chunk_ms < frame_ms:
            raise ValueError(f"chunk_ms ({chunk_ms}) must be at least frame_ms ({frame_ms})")
        self._queue_ms = _check_ms(queue_ms, "queue_ms")
        if queue_ms < frame_ms:
            raise ValueError(f"queue_ms ({queue_ms}) must be at least frame_ms ({frame_ms})")
        tools: Dict[str, ClientTool] = {}
        for name, fn in (client_tools or {}).items():
            if not isinstance(name, str) or not callable(fn):
                raise TypeError("client_tools must map tool names (str) to callables")
            tools[name] = fn
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) \
                or max_retries < 0:
            raise ValueError("max_retries must be an int >= 0")
        if not isinstance(backoff, (int, float)) or backoff < 0:
            raise ValueError("backoff must be a number of seconds >= 0")

        self._signed_url = signed_url
        self._output_rate = output_rate
        self._tools = tools
        self._max_retries = max_retries
        self._backoff = float(backoff)
        self._connect_timeout = float(connect_timeout)
        if not isinstance(idle_timeout, (int, float)) or idle_timeout <= 0:
            raise ValueError("idle_timeout must be a positive number of seconds")
        self._idle_timeout = float(idle_timeout)
        self._dynamic_variables = dynamic_variables
        self._overrides = overrides

        self._tracks: Dict[str, Tuple[rtc.Track, Optional[asyncio.Task[None]]]] = {}
        self._playout: Optional[Playout] = None
        self._mixer: Optional[InputMixer] = None
        self._proto = p.ConversationProtocol()
        self._http: Optional[aiohttp.ClientSession] = None
        self._ws: Optional[aiohttp.ClientWebSocketResponse] = None
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._main: Optional[asyncio.Task[None]] = None
        self._clock: Optional[asyncio.Task[None]] = None
        self._player: Optional[asyncio.Task[None]] = None
        self._started = False
        self._closing = False
        self._closed = asyncio.Event()
        self._error: Optional[BridgeError] = None
        self.metadata: Optional[p.Metadata] = None
        self._stats: Dict[str, Any] = {
            "frames_in": 0, "frames_out": 0, "chunks_sent": 0, "chunks_dropped": 0,
            "audio_events": 0, "interruptions": 0, "stale_audio_dropped": 0,
            "malformed_messages": 0, "reconnects": 0, "conversations": 0,
            "pings": 0, "pong_latency_ms": None, "pong_latency_max_ms": None,
            "tool_calls": 0, "last_close_code": None,
        }
        self._pong_sum = 0.0
        install_filters()

    # -- public API ----------------------------------------------------------------

    @property
    def track(self) -> rtc.LocalAudioTrack:
        """The agent's voice; publish it once :meth:`start` returned."""
        if self._playout is None:
            raise RuntimeError("BridgeSession.track is available after start()")
        return self._playout.track

    @property
    def stats(self) -> Dict[str, Any]:
        """Counters: frames in/out, chunks sent, interruptions, dropped stale audio,
        reconnects, pong latency (last and worst, ms, ping received → pong sent)."""
        s = dict(self._stats)
        if self._playout is not None:
            s["frames_out"] = self._playout.frames_out
            s["reply_overflow_ms"] = self._playout.overflow_ms
        s["stale_audio_dropped"] += self._proto.stale_dropped
        s["participants"] = len(self._tracks)
        return s

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def error(self) -> Optional[BridgeError]:
        """What ended the session, if it ended in failure."""
        return self._error

    @property
    def input_delay(self) -> float:
        """Seconds added room → conversation: one chunk plus the resampler."""
        delay = self._chunk_ms / 1000
        if self._mixer is not None:
            delay += self._mixer.delay
        return delay

    @property
    def output_delay(self) -> float:
        """Seconds added conversation → room at steady state: the resampler, the
        pacer's frame and the lead kept in livekit's queue (at most one frame plus
        ``queue_ms`` in all, whatever the load)."""
        delay = self._frame_ms / 1000
        if self._playout is not None:
            delay += self._playout.delay
        return delay

    async def start(self) -> None:
        """Open the conversation and wait for its initiation metadata; then the audio
        flows both ways. Raises :class:`SignedURLRefusedError` on 401/403 and
        :class:`BridgeError` when the conversation cannot be opened."""
        if self._started:
            raise RuntimeError("BridgeSession.start() was already called")
        self._started = True
        self._playout = Playout(self._output_rate, frame_ms=self._frame_ms,
                                queue_ms=self._queue_ms)
        self._http = aiohttp.ClientSession()
        try:
            ws = await self._open()
        except BaseException:
            await self._teardown()
            raise
        self._main = self._spawn(self._conversation(ws), "conversation")
        self._clock = self._spawn(self._slot_clock(), "slot clock")
        self._player = self._spawn(self._playout.run(), "playout")
        for identity, (track, _) in list(self._tracks.items()):
            self._tracks[identity] = (track, self._spawn(self._read(identity, track),
                                                         f"reader {identity}"))

    def add_track(self, identity: str, track: rtc.Track) -> None:
        """Mix ``track`` (a participant's audio) into the conversation's input.
        Calling it again with the same track does nothing; another track replaces
        the participant's previous one."""
        if not isinstance(identity, str) or not identity:
            raise ValueError("identity must be a non-empty str")
        if not isinstance(track, rtc.Track):
            raise TypeError(f"track must be an rtc.Track, not {type(track).__name__}")
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            raise ValueError(f"track of {identity} is not an audio track")
        old = self._tracks.get(identity)
        if old is not None:
            if old[0] is track or (track.sid and old[0].sid == track.sid):
                return
            self.remove_participant(identity)
        if self._closing or self.closed:
            return
        task = None
        if self._mixer is not None:
            self._mixer.add(identity)
        if self._main is not None:
            task = self._spawn(self._read(identity, track), f"reader {identity}")
        self._tracks[identity] = (track, task)
        logger.debug("participant %s added", identity)

    def remove_participant(self, identity: str) -> None:
        """Stop mixing ``identity`` (left the room or unpublished)."""
        entry = self._tracks.pop(identity, None)
        if entry is None:
            return
        if entry[1] is not None:
            entry[1].cancel()
        if self._mixer is not None:
            self._mixer.remove(identity)
        logger.debug("participant %s removed", identity)

    async def wait_closed(self) -> None:
        """Return when the conversation has ended (normally, by failure or aclose)."""
        await self._closed.wait()

    async def aclose(self) -> None:
        """Close the conversation (code 1000) and stop everything. Idempotent."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await asyncio.wait_for(ws.close(code=1000), 2.0)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError):
                pass
        await self._teardown()

    def __repr__(self) -> str:
        state = ("closed" if self.closed else "running" if self._main is not None
                 else "new")
        return (f"BridgeSession(output_rate={self._output_rate}, frame_ms={self._frame_ms}, "
                f"chunk_ms={self._chunk_ms}, queue_ms={self._queue_ms}, "
                f"participants={len(self._tracks)}, state={state})")

    # -- conversation ----------------------------------------------------------------

    async def _resolve_url(self) -> str:
        if isinstance(self._signed_url, str):
            return self._signed_url
        url = self._signed_url()
        if inspect.isawaitable(url):
            url = await url
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise BridgeError("the signed_url callable returned no ws(s):// URL")
        register_secret(url)
        return url

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        """A new conversation: fresh URL, socket, initiation, metadata."""
        url = await self._resolve_url()
        host = url_host(url)
        assert self._http is not None
        logger.debug("opening a conversation at %s", host)
        try:
            ws = await self._http.ws_connect(
                url, autoping=True, max_msg_size=0,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0))
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                raise SignedURLRefusedError(
                    f"the conversation service at {host} refused the signed URL "
                    f"(HTTP {exc.status})", status=exc.status) from None
            raise BridgeError(f"the conversation service at {host} answered "
                              f"HTTP {exc.status}") from None
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise BridgeError(f"cannot connect to the conversation service at {host} "
                              f"({type(exc).__name__})") from None
        try:
            await ws.send_str(p.ConversationProtocol.initiation(
                self._dynamic_variables, self._overrides))
            # A new conversation starts a new protocol state; keep the count of stale
            # audio the previous one dropped, or stats would lose it on every reconnect.
            self._stats["stale_audio_dropped"] += self._proto.stale_dropped
            self._proto = p.ConversationProtocol()
            meta = await asyncio.wait_for(self._await_metadata(ws), self._connect_timeout)
        except BaseException:
            await ws.close()
            raise
        self._configure(meta)
        self._ws = ws
        self._stats["conversations"] += 1
        logger.info("conversation %s started (input %s, output %s)", meta.conversation_id,
                    meta.user_input_format.name, meta.agent_output_format.name)
        return ws

    async def _await_metadata(self, ws: aiohttp.ClientWebSocketResponse) -> p.Metadata:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                ev = self._proto.receive(msg.data)
            except p.ProtocolError as exc:
                self._stats["malformed_messages"] += 1
                if "format" in str(exc):
                    raise BridgeError(f"conversation metadata: {exc}") from None
                logger.warning("ignoring a malformed message: %s", exc)
                continue
            if isinstance(ev, p.Metadata):
                return ev
            if isinstance(ev, p.Ping):
                await self._pong(ws, ev, time.perf_counter())
        raise ConversationClosedError(
            f"the conversation closed before its metadata (code {ws.close_code})",
            code=ws.close_code)

    def _configure(self, meta: p.Metadata) -> None:
        self.metadata = meta
        if self._mixer is None:
            self._mixer = InputMixer(meta.user_input_format, frame_ms=self._frame_ms,
                                     chunk_ms=self._chunk_ms)
            for identity in self._tracks:
                self._mixer.add(identity)
        elif self._mixer.format != meta.user_input_format:
            self._mixer.configure(meta.user_input_format)
        assert self._playout is not None
        self._playout.interrupt()
        self._playout.configure(meta.agent_output_format)
        self.emit("metadata", meta)

    async def _conversation(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        error: Optional[BridgeError] = None
        try:
            while True:
                code, reason = await self._receive(ws)
                self._ws = None
                if self._closing:
                    return
                self._stats["last_close_code"] = code
                if code == 1000:
                    logger.info("the conversation ended (code 1000 %s)", reason or "")
                    return
                logger.warning("the conversation closed unexpectedly (code %s %s); "
                               "starting a new one", code, reason or "")
                ws = await self._reopen(code)
        except BridgeError as exc:
            error = exc
            logger.error("bridge session failed: %s", exc)
        except Exception as exc:
            error = BridgeError(f"the conversation loop failed ({type(exc).__name__})")
            logger.error("bridge session failed: %s", type(exc).__name__, exc_info=exc)
        finally:
            if not self._closing:
                self._error = error
                self._spawn(self._finish(), "finish")

    async def _reopen(self, code: Optional[int]) -> aiohttp.ClientWebSocketResponse:
        delay = self._backoff
        last: Optional[BridgeError] = None
        for attempt in range(1, self._max_retries + 1):
            if attempt > 1 or delay:
                await asyncio.sleep(min(delay, 8.0))
                delay *= 2
            try:
                ws = await self._open()
            except SignedURLRefusedError:
                raise
            except BridgeError as exc:
                last = exc
                logger.warning("new conversation, attempt %d of %d, failed: %s",
                               attempt, self._max_retries, exc)
                continue
            self._stats["reconnects"] += 1
            self.emit("reconnected", attempt)
            return ws
        raise ConversationClosedError(
            f"the conversation closed (code {code}) and {self._max_retries} new "
            f"conversations failed" + (f"; last: {last}" if last else ""), code=code)

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse
                       ) -> Tuple[Optional[int], str]:
        """The receive loop. It never waits on playback: audio goes into the pacer
        and the loop reads on, so a ping or an interruption is handled as soon as it
        arrives."""
        reason = ""
        while True:
            try:
                msg = await ws.receive(timeout=self._idle_timeout)
            except asyncio.TimeoutError:
                logger.warning("no message from the conversation for %.0f s",
                               self._idle_timeout)
                await ws.close(code=1000)
                return None, "idle timeout"
            except (aiohttp.ClientError, OSError) as exc:
                return None, type(exc).__name__
            if msg.type == aiohttp.WSMsgType.TEXT:
                await self._handle(ws, msg.data, time.perf_counter())
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                              aiohttp.WSMsgType.CLOSED):
                if msg.type == aiohttp.WSMsgType.CLOSE and isinstance(msg.extra, str):
                    reason = msg.extra
                return ws.close_code, reason
            elif msg.type == aiohttp.WSMsgType.ERROR:
                return ws.close_code, type(msg.data).__name__

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, text: str,
                      received: float) -> None:
        try:
            ev = self._proto.receive(text)
        except p.ProtocolError as exc:
            self._stats["malformed_messages"] += 1
            logger.warning("ignoring a malformed message: %s", exc)
            return
        playout = self._playout
        assert playout is not None
        if isinstance(ev, p.Audio):
            self._stats["audio_events"] += 1
            playout.push(ev.data)
        elif isinstance(ev, p.Ping):
            await self._pong(ws, ev, received)
        elif isinstance(ev, p.Interruption):
            dropped = playout.interrupt()
            self._stats["interruptions"] += 1
            logger.debug("interruption %s: %.0f ms of reply dropped", ev.event_id, dropped)
            self.emit("interruption", ev.event_id)
        elif isinstance(ev, p.StaleAudio):
            logger.debug("dropped stale audio event %d", ev.event_id)
        elif isinstance(ev, p.ClientToolCall):
            self._stats["tool_calls"] += 1
            self.emit("tool_call", ev)
            self._spawn(self._run_tool(ws, ev), f"tool {ev.tool_name}")
        elif isinstance(ev, p.UserTranscript):
            self.emit("user_transcript", ev.text)
        elif isinstance(ev, p.AgentResponse):
            self.emit("agent_response", ev.text)
        elif isinstance(ev, p.ServerError):
            logger.warning("conversation service error: %s", ev.message)
        elif isinstance(ev, p.Metadata):  # pragma: no cover - the protocol raises first
            pass

    async def _pong(self, ws: aiohttp.ClientWebSocketResponse, ev: p.Ping,
                    received: float) -> None:
        await self._send(ws, p.ConversationProtocol.pong(ev.event_id))
        ms = (time.perf_counter() - received) * 1000
        s = self._stats
        s["pings"] += 1
        s["pong_latency_ms"] = ms
        s["pong_latency_max_ms"] = max(ms, s["pong_latency_max_ms"] or 0.0)
        self._pong_sum += ms
        s["pong_latency_mean_ms"] = self._pong_sum / s["pings"]

    async def _run_tool(self, ws: aiohttp.ClientWebSocketResponse,
                        call: p.ClientToolCall) -> None:
        handler = self._tools.get(call.tool_name)
        if handler is None:
            result: Any = f"unknown client tool {call.tool_name!r}"
            is_error = True
        else:
            try:
                result = handler(call.parameters)
                if inspect.isawaitable(result):
                    result = await result
                is_error = False
            except Exception as exc:  # the tool's failure goes back to the agent
                result, is_error = f"{type(exc).__name__}: {exc}", True
                logger.warning("client tool %s raised %s", call.tool_name,
                               type(exc).__name__)
        if ws is self._ws and not ws.closed:
            await self._send(ws, p.ConversationProtocol.client_tool_result(
                call.tool_call_id, "" if result is None else result, is_error=is_error))

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, text: str) -> bool:
        if ws.closed:
            return False
        async with self._send_lock:
            try:
                await ws.send_str(text)
            except (aiohttp.ClientError, OSError, RuntimeError):
                return False  # the receive loop sees the close and reconnects
        return True

    # -- room → conversation ---------------------------------------------------------

    async def _read(self, identity: str, track: rtc.Track) -> None:
        stream = rtc.AudioStream.from_track(track=track, sample_rate=STREAM_RATE,
                                            num_channels=1)
        stats = self._stats
        try:
            async for event in stream:
                frame = event.frame
                mixer = self._mixer
                if mixer is not None:
                    mixer.feed(identity, frame.data, frame.sample_rate, frame.num_channels)
                stats["frames_in"] += 1
        finally:
            await stream.aclose()

    async def _slot_clock(self) -> None:
        """Every ``frame_ms`` on the loop's monotonic clock: mix one slot of every
        participant (silence when nobody speaks) and send the chunks that are whole."""
        loop = asyncio.get_running_loop()
        period = self._frame_ms / 1000
        t0 = loop.time()
        n = 0
        stats = self._stats
        while True:
            wait = t0 + (n + 1) * period - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            due = int((loop.time() - t0) / period)
            if due - n > 1:
                # Woken late: the readers' frames for these slots may be waiting in
                # the loop's queue too; let them land before mixing.
                await asyncio.sleep(0)
            if due - n > _MAX_CATCHUP_SLOTS:
                n = due - _MAX_CATCHUP_SLOTS
            mixer = self._mixer
            if mixer is None:
                n = due
                continue
            while n < due:
                mixer.mix_slot()
                n += 1
            for chunk in mixer.take_chunks():
                ws = self._ws
                if ws is not None and await self._send(
                        ws, p.ConversationProtocol.user_audio_chunk(chunk)):
                    stats["chunks_sent"] += 1
                else:
                    stats["chunks_dropped"] += 1

    # -- lifecycle -------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            logger.error("bridge task failed: %s", type(exc).__name__,
                         exc_info=exc)

    async def _finish(self) -> None:
        """The conversation is over (1000 or failure): let the last reply play out,
        then stop."""
        if self._clock is not None:
            self._clock.cancel()
        if self._playout is not None and self._error is None:
            self._playout.close()
            if self._player is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(self._player), 30.0)
                except (asyncio.TimeoutError, Exception):
                    pass
        if not self._closing:
            self._closing = True
            await self._teardown()

    async def _teardown(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for identity in list(self._tracks):
            self._tracks[identity] = (self._tracks[identity][0], None)
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        self._ws = None
        if self._playout is not None:
            await self._playout.aclose()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if not self._closed.is_set():
            self._closed.set()
            self.emit("closed", self._error)
