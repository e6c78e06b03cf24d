"""The emulator's aiohttp server: sockets and HTTP in, protocol objects in between.

Only moves data: every protocol decision is made in :mod:`.stt_protocol`,
:mod:`.tts_protocol` and :mod:`.llm`; faults are applied here, at the wire.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import threading
import wave
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from aiohttp import WSMsgType, web

from audiocore import downmix, resample

from . import llm as llm_mod
from .actions import Action, Close, Finish, Recognize, Send, Synthesize
from .engines import Engines, Speech
from .faults import ABRUPT, Fault, FaultPlan, default_reason
from .http_replies import error_body, error_headers, fault_reason, fault_status
from .records import (HTTPRequest, Records, STTSession, TTSConnection, public_headers,
                      public_query)
from .stt_protocol import STTProtocol
from .stt_protocol import error as stt_error
from .tts_protocol import RATES as TTS_RATES
from .tts_protocol import TTSProtocol
from .tts_protocol import error as tts_error

logger = logging.getLogger("livekit.plugins._60db.emulator")

MALFORMED = '{"type": "transcription", "text": "unterminated'
_POLL = 0.05


class _Wire:
    """One WebSocket's sending side, with its fault applied at the wire."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request,
                 fault: Optional[Fault], record: Any, closing: asyncio.Event,
                 service: str) -> None:
        self.ws = ws
        self.request = request
        self.fault = fault
        self.record = record
        self.sent: List[Any] = record.sent
        self.closing = closing
        self.service = service
        self.messages = 0
        self.received_bytes = 0
        self.closed = False
        self.stalled = False
        self.fired = False
        self.close_code: Optional[int] = None

    async def check(self) -> None:
        """Fires the fault when its trigger is reached (before the next message)."""
        f = self.fault
        if f is None or self.fired or self.closed or not f.due(self.messages,
                                                               self.received_bytes):
            return
        if f.kind == "drip":
            return  # applies to every message after the trigger, in send()
        self.fired = True
        if f.kind == "stall":
            self.stalled = True
        elif f.kind == "malformed":
            await self._raw(MALFORMED)
        elif f.kind == "credits":
            text = f.reason or "Insufficient credits"
            message = (stt_error(text, "INSUFFICIENT_CREDITS") if self.service == "stt"
                       else tts_error(text))
            await self._raw(json.dumps(message), record=message)
            await self.close(1008, "INSUFFICIENT_CREDITS")
        elif f.kind in ("close", "refuse", "status"):
            if f.kind != "close":
                text = f.reason or "Service unavailable"
                message = (stt_error(text, "CONNECTION_REFUSED") if self.service == "stt"
                           else tts_error(text))
                await self._raw(json.dumps(message), record=message)
                await self.close(f.close_code, default_reason(f))
            else:
                await self.close(f.close_code, default_reason(f))

    async def _raw(self, text: str, record: Any = None) -> None:
        if self.closed or self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            self.closed = True
            return
        self.messages += 1
        self.sent.append(record if record is not None else text)

    async def send(self, message: Any) -> None:
        await self.check()
        if self.closed or self.stalled:
            return
        f = self.fault
        if f is not None and f.kind == "drip" and f.due(self.messages, self.received_bytes):
            await asyncio.sleep(f.delay)
        text = message if isinstance(message, str) else json.dumps(message)
        await self._raw(text, record=message)

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self.record.close_code = code
        if code == ABRUPT:
            # No close frame: the TCP connection just goes away.
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            return
        try:
            await self.ws.close(code=code, message=reason.encode()[:123])
        except (ConnectionError, RuntimeError):
            pass


class Emulator:
    """A local 60db service: STT and TTS WebSockets, the LLM endpoint and the REST
    endpoints of the official SDK, on 127.0.0.1.

    Args:
        api_keys: the keys it accepts (``?apiKey=`` on the WebSockets, ``Authorization:
            Bearer`` on HTTP). ``None`` accepts any non-empty key.
        port: TCP port; 0 picks a free one (read it back from :attr:`port` or the URLs).
        handshake: the STT handshake order and TTS reply shapes, ``"docs"`` or
            ``"seed"`` (see :class:`STTProtocol`, :class:`TTSProtocol`). May be changed
            between connections through the attribute of the same name.
        host: interface to listen on.
        speech: ``"auto"`` (pocketsphinx and flite where installed, the tone code
            otherwise), ``"engines"`` (require both) or ``"fallback"`` (the tone code:
            fast, deterministic, and TTS → STT round-trips).
        empty_final_every: STT sends an extra empty-text final after every N-th final
            (0: never).
        max_tts_contexts: open TTS contexts allowed per socket; one more closes it 1008.
        ping_interval: seconds between the server's WebSocket pings (a pong must come
            within half of it); ``None`` disables them.
        credit_balance: what ``connection_established`` reports.
        voice: the flite voice (16 kHz voices only: ``kal16``, ``slt``, ``rms``, ``awb``).
        preload: load the speech engines while starting (see :meth:`warm_up`), so that
            the first session does not wait for the model.

    Use ``async with Emulator(...) as emu`` on an event loop, or ``with Emulator(...) as
    emu`` (equivalently :meth:`start` / :meth:`stop`) to run it on a thread of its own,
    e.g. for synchronous clients.

    Attributes:
        faults: the :class:`FaultPlan`; ``emu.faults.add(Fault(...))``.
        records: the :class:`Records` of what arrived.
        llm: the :class:`ScriptedModel` (queue replies and tool calls on it).
        engines: which recognizer and synthesizer are in use.
    """

    def __init__(self, api_keys: Optional[Iterable[str]] = None, port: int = 0,
                 handshake: str = "docs", *, host: str = "127.0.0.1",
                 speech: Speech = "auto", empty_final_every: int = 0,
                 max_tts_contexts: int = 8, ping_interval: Optional[float] = 30.0,
                 credit_balance: float = 100.0, voice: str = "kal16",
                 preload: bool = False) -> None:
        if isinstance(api_keys, str):
            raise TypeError("api_keys must be a collection of keys, not one str")
        self.api_keys = None if api_keys is None else frozenset(api_keys)
        if not isinstance(port, int) or not (0 <= port <= 65535):
            raise ValueError(f"port must be an int in 0..65535, not {port!r}")
        if handshake not in ("docs", "seed"):
            raise ValueError(f"handshake must be 'docs' or 'seed', not {handshake!r}")
        if not isinstance(empty_final_every, int) or empty_final_every < 0:
            raise ValueError("empty_final_every must be a non-negative int")
        if not isinstance(max_tts_contexts, int) or max_tts_contexts < 1:
            raise ValueError("max_tts_contexts must be a positive int")
        self.handshake = handshake
        self.host = host
        self._port = port
        self.engines = Engines(speech, voice)
        self.empty_final_every = empty_final_every
        self.max_tts_contexts = max_tts_contexts
        self.ping_interval = ping_interval
        self.credit_balance = credit_balance
        self.preload = preload
        self.faults = FaultPlan()
        self.records = Records()
        self.llm = llm_mod.ScriptedModel()
        self._runner: Optional[web.AppRunner] = None
        self._closing: Optional[asyncio.Event] = None
        self._thread: Optional[threading.Thread] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._llm_requests = 0
        self._tasks: set = set()

    # -- URLs ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def http_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def stt_url(self) -> str:
        return f"ws://{self.host}:{self._port}/ws/stt"

    @property
    def tts_url(self) -> str:
        return f"ws://{self.host}:{self._port}/ws/tts"

    @property
    def llm_url(self) -> str:
        return f"{self.http_url}/v1/chat/completions"

    def __repr__(self) -> str:
        state = "running" if self._runner is not None else "stopped"
        return (f"Emulator({self.http_url}, handshake={self.handshake!r}, "
                f"{self.engines!r}, {state})")

    # -- lifecycle -------------------------------------------------------------------

    async def __aenter__(self) -> "Emulator":
        await self.open()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Starts listening on the running event loop."""
        if self._runner is not None:
            raise RuntimeError("Emulator is already running")
        self._closing = asyncio.Event()
        if self.preload:
            await self.warm_up()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/ws/stt", self._stt)
        app.router.add_get("/ws/tts", self._tts)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/tts-synthesize", self._tts_synthesize)
        app.router.add_post("/tts-stream", self._tts_stream)
        app.router.add_post("/stt", self._stt_rest)
        # No access log: the request line of a WebSocket carries ?apiKey=.
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0,
                               handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._port = runner.addresses[0][1]
        self._runner = runner

    async def aclose(self) -> None:
        """Stops listening and ends every open connection."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        if self._closing is not None:
            self._closing.set()
        await runner.shutdown()
        await runner.cleanup()

    async def warm_up(self) -> None:
        """Loads the speech engines now (in a worker thread): a pocketsphinx decoder of
        each kind (about a second each) and one flite run. Cheap when already done."""
        await asyncio.to_thread(self.engines.warm_up)

    def start(self) -> "Emulator":
        """Runs the emulator on a thread of its own; returns once it listens."""
        if self._thread is not None:
            raise RuntimeError("Emulator is already running")
        ready = threading.Event()
        failure: List[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.open())
            except BaseException as e:  # reported to start()'s caller
                failure.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.aclose())
                loop.close()

        self._thread = threading.Thread(target=main, name="60db-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Stops the emulator that :meth:`start` runs."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = self._loop = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------

    def _key_ok(self, key: Optional[str]) -> bool:
        if not key:
            return False
        return self.api_keys is None or key in self.api_keys

    def _ws_key(self, request: web.Request) -> Optional[str]:
        q = request.query
        key = q.get("apiKey") or q.get("api_key") or q.get("token")
        if key:
            return key
        return _bearer(request)

    async def _gone(self, request: web.Request) -> bool:
        transport = request.transport
        return (transport is None or transport.is_closing()
                or (self._closing is not None and self._closing.is_set()))

    async def _hang(self, request: web.Request) -> None:
        """Waits, answering nothing, until the client or the server goes away."""
        while not await self._gone(request):
            await asyncio.sleep(_POLL)

    async def _ws_refused(self, fault: Fault) -> Optional[web.Response]:
        if fault.kind in ("refuse", "status") and fault.status is not None:
            return _http_error(fault.status, fault_reason(fault, fault.status),
                               fault.retry_after)
        return None

    async def _accept(self, request: web.Request, service: str,
                      record: Any) -> "Union[_Wire, web.StreamResponse]":
        """Records the connection, applies a refusing fault, else upgrades it."""
        fault = self.faults.take(service)
        self.records.add(service, record)
        record.fault = fault
        if fault is not None:
            refused = await self._ws_refused(fault)
            if refused is not None:
                return refused
        ws = web.WebSocketResponse(heartbeat=self.ping_interval, max_msg_size=16 << 20)
        await ws.prepare(request)
        assert self._closing is not None
        return _Wire(ws, request, fault, record, self._closing, service)

    # -- STT -------------------------------------------------------------------------

    async def _stt(self, request: web.Request) -> web.StreamResponse:
        record = STTSession(query=public_query(request.query))
        wire = await self._accept(request, "stt", record)
        if isinstance(wire, web.StreamResponse):
            return wire
        ws = wire.ws
        proto = STTProtocol(
            handshake=self.handshake, authorized=self._key_ok(self._ws_key(request)),
            recognizer_rate=self.engines.recognizer_rate,
            empty_final_every=self.empty_final_every, credit_balance=self.credit_balance,
            record=record)
        recognizer: Any = None
        queue: "asyncio.Queue[Optional[Action]]" = asyncio.Queue()
        gone = False

        async def worker() -> None:
            nonlocal recognizer
            while True:
                action = await queue.get()
                if action is None:
                    return
                if isinstance(action, (Recognize, Finish)):
                    if gone or wire.closed:
                        continue
                    if recognizer is None:
                        interval, endpoint = _timing(record.start)
                        recognizer = self.engines.recognizer(interval, endpoint)
                    if isinstance(action, Recognize):
                        fn, args = recognizer.feed, (action.pcm,)
                    else:
                        fn, args = recognizer.finish, ()
                    if recognizer.blocking:
                        events = await asyncio.to_thread(fn, *args)
                    else:
                        events = fn(*args)
                    follow = (proto.recognized(events) if isinstance(action, Recognize)
                              else proto.finished(events))
                    for a in follow:
                        await self._wire_do(wire, a)
                else:
                    await self._wire_do(wire, action)

        task = asyncio.ensure_future(worker())
        try:
            await self._read_socket(ws, wire, proto, queue, task,
                                    received=lambda: len(record.audio))
        finally:
            gone = True
            queue.put_nowait(None)
            finished = False
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=30)
                finished = True
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                logger.exception("STT session worker failed")
            # A worker cut short may still be decoding in its thread: its decoders are
            # dropped, not pooled for another session.
            if recognizer is not None and finished:
                await asyncio.to_thread(recognizer.close)
            record.close_code = wire.close_code if wire.close_code is not None else ws.close_code
        return ws

    async def _read_socket(self, ws: web.WebSocketResponse, wire: _Wire, proto: Any,
                           queue: "asyncio.Queue[Optional[Action]]", task: "asyncio.Future[None]",
                           *, received: Callable[[], int]) -> None:
        """The client's messages through ``proto`` into the worker's ``queue``, the same for
        STT and TTS: ``received`` counts what arrived, for faults that fire after N bytes."""
        await wire.check()
        for a in proto.connect():
            queue.put_nowait(a)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                actions = proto.receive_text(msg.data)
            elif msg.type == WSMsgType.BINARY:
                actions = proto.receive_bytes(msg.data)
            else:
                continue
            # Recorded even when stalled: the records show what arrived.
            wire.received_bytes = received()
            if wire.stalled:
                continue
            await wire.check()
            for a in actions:
                queue.put_nowait(a)
            if task.done():
                break

    async def _wire_do(self, wire: _Wire, action: Action) -> None:
        if isinstance(action, Send):
            await wire.send(action.message)
        elif isinstance(action, Close):
            await wire.check()
            if not wire.stalled:
                await wire.close(action.code, action.reason)

    # -- TTS -------------------------------------------------------------------------

    async def _tts(self, request: web.Request) -> web.StreamResponse:
        record = TTSConnection(query=public_query(request.query))
        wire = await self._accept(request, "tts", record)
        if isinstance(wire, web.StreamResponse):
            return wire
        ws = wire.ws
        synth = self.engines.synthesizer
        proto = TTSProtocol(handshake=self.handshake,
                            authorized=self._key_ok(self._ws_key(request)),
                            synth_rate=synth.rate, max_contexts=self.max_tts_contexts,
                            credit_balance=self.credit_balance, record=record)
        queue: "asyncio.Queue[Optional[Action]]" = asyncio.Queue()
        gone = False

        async def worker() -> None:
            while True:
                action = await queue.get()
                if action is None:
                    return
                if isinstance(action, Synthesize):
                    if gone or wire.closed:
                        continue
                    try:
                        pcm = await synth.synthesize(action.text, action.voice_id)
                    except Exception as e:  # an engine failure is the client's error message
                        logger.warning("TTS engine failed: %s", e)
                        await wire.send(tts_error("Synthesis failed", action.context_id))
                        continue
                    for a in proto.synthesized(action.context_id, pcm):
                        await self._wire_do(wire, a)
                else:
                    await self._wire_do(wire, action)

        task = asyncio.ensure_future(worker())
        try:
            await self._read_socket(ws, wire, proto, queue, task,
                                    received=lambda: sum(len(t) for c in record.contexts.values()
                                                         for t in c.texts))
        finally:
            gone = True
            queue.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=30)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                logger.exception("TTS connection worker failed")
            record.close_code = wire.close_code if wire.close_code is not None else ws.close_code
        return ws

    # -- HTTP ------------------------------------------------------------------------

    def _http_auth(self, request: web.Request) -> Optional[web.Response]:
        key = _bearer(request) or request.headers.get("x-api-key")
        if not self._key_ok(key):
            return _http_error(401)
        return None

    async def _http_fault(self, request: web.Request, fault: Optional[Fault]
                          ) -> Optional[web.StreamResponse]:
        """Applies a fault that decides the whole response (a status, a stall, a drop)."""
        if fault is None:
            return None
        status = fault_status(fault)
        if status is not None:
            return _http_error(status, fault_reason(fault, status), fault.retry_after)
        if fault.immediate and fault.kind == "stall":
            await self._hang(request)
            return web.Response(status=504)
        if fault.immediate and fault.kind == "close":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        return None

    async def _json_body(self, request: web.Request) -> Any:
        try:
            return await request.json(loads=json.loads)
        except (ValueError, UnicodeDecodeError):
            return _INVALID

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        fault = self.faults.take("llm")
        record = self.records.add("llm", HTTPRequest(
            path=request.path, headers=public_headers(request.headers)))
        record.fault = fault
        refused = self._http_auth(request)
        if refused is None:
            refused = await self._http_fault(request, fault)
        if refused is not None:
            record.status = refused.status
            return refused
        body = await self._json_body(request)
        if body is _INVALID or not isinstance(body, dict):
            record.status = 400
            return _http_error(400, "Request body must be a JSON object")
        record.body = body
        if not isinstance(body.get("messages"), list) and not isinstance(body.get("text"), str):
            record.status = 400
            return _http_error(400, "'messages' must be a list")
        self._llm_requests += 1
        number = self._llm_requests
        reply = self.llm.respond(body)
        record.stream = bool(body.get("stream"))
        if not record.stream:
            return await self._chat_whole(request, fault, body, reply, number)
        return await self._chat_stream(request, fault, body, reply, number)

    async def _chat_whole(self, request: web.Request, fault: Optional[Fault],
                          body: Dict[str, Any], reply: llm_mod.Reply,
                          number: int) -> web.StreamResponse:
        data = json.dumps(llm_mod.completion(body, reply, number)).encode()
        if fault is not None:
            if fault.kind == "stall":
                await self._hang(request)
                return web.Response(status=504)
            if fault.kind == "drip":
                await asyncio.sleep(fault.delay)
            if fault.kind == "malformed":
                data = data[: len(data) // 2]
            if fault.kind in ("close", "truncate"):
                resp = web.StreamResponse(status=200, headers={
                    "Content-Type": "application/json", "Content-Length": str(len(data))})
                await resp.prepare(request)
                await resp.write(data[: len(data) // 2])
                if request.transport is not None:
                    request.transport.abort()
                return resp
        return web.Response(body=data, content_type="application/json")

    async def _chat_stream(self, request: web.Request, fault: Optional[Fault],
                           body: Dict[str, Any], reply: llm_mod.Reply,
                           number: int) -> web.StreamResponse:
        resp = web.StreamResponse(status=200, headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        await resp.prepare(request)
        sent = 0
        try:
            for payload in list(llm_mod.stream_chunks(body, reply, number)) + ["[DONE]"]:
                if fault is not None and fault.due(sent, 0):
                    kind = fault.kind
                    if kind == "stall":
                        await self._hang(request)
                        return resp
                    if kind == "close":
                        if request.transport is not None:
                            request.transport.abort()
                        return resp
                    if kind == "truncate":
                        break
                    if kind == "error_event":
                        await resp.write(_sse({"error": {
                            "message": default_reason(fault), "type": "server_error",
                            "code": fault.status or 500}}))
                        break
                    if kind == "malformed":
                        await resp.write(b"data: {\"id\": \"chatcmpl-broken\", \"choices\": [\n\n")
                        fault = None  # once, then the stream goes on
                    elif kind == "drip":
                        await asyncio.sleep(fault.delay)
                await resp.write(_sse(payload))
                sent += 1
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass  # the client went away
        return resp

    # -- REST (the official SDK) -------------------------------------------------------

    async def _rest_begin(self, request: web.Request
                          ) -> "tuple[HTTPRequest, Optional[Fault], Optional[web.StreamResponse]]":
        fault = self.faults.take("rest", request.path)
        record = self.records.add("rest", HTTPRequest(
            path=request.path, headers=public_headers(request.headers)))
        record.fault = fault
        refused = self._http_auth(request)
        if refused is None:
            refused = await self._http_fault(request, fault)
        if refused is not None:
            record.status = refused.status
        return record, fault, refused

    async def _rest_tts_request(self, request: web.Request, record: HTTPRequest
                                ) -> "tuple[Optional[str], int, Optional[web.Response]]":
        body = await self._json_body(request)
        if body is _INVALID or not isinstance(body, dict):
            record.status = 400
            return None, 0, _http_error(400, "Request body must be a JSON object")
        record.body = body
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            record.status = 400
            return None, 0, _http_error(400, "'text' must be a non-empty string")
        rate = body.get("sample_rate", body.get("sample_rate_hertz", 16000))
        if isinstance(rate, bool) or rate not in TTS_RATES["LINEAR16"]:
            record.status = 400
            return None, 0, _http_error(400, f"Unsupported sample_rate {rate!r}")
        return text, int(rate), None

    async def _speak(self, text: str, rate: int, voice: Any) -> bytes:
        synth = self.engines.synthesizer
        pcm = await synth.synthesize(text, voice)
        return resample(pcm, synth.rate, rate) if pcm else b""

    async def _tts_synthesize(self, request: web.Request) -> web.StreamResponse:
        record, fault, refused = await self._rest_begin(request)
        if refused is not None:
            return refused
        text, rate, bad = await self._rest_tts_request(request, record)
        if bad is not None:
            return bad
        assert text is not None
        pcm = await self._speak(text, rate, record.body.get("voice_id"))
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm)
        if fault is not None and fault.kind == "stall":
            await self._hang(request)
            return web.Response(status=504)
        return web.json_response({"success": True, "backendResponse": {
            "audio_base64": base64.b64encode(buf.getvalue()).decode("ascii"),
            "format": "wav", "sample_rate": rate,
            "duration": round(len(pcm) / (2 * rate), 3)}})

    async def _tts_stream(self, request: web.Request) -> web.StreamResponse:
        record, fault, refused = await self._rest_begin(request)
        if refused is not None:
            return refused
        text, rate, bad = await self._rest_tts_request(request, record)
        if bad is not None:
            return bad
        assert text is not None
        record.stream = True
        pcm = await self._speak(text, rate, record.body.get("voice_id"))
        resp = web.StreamResponse(status=200, headers={
            "Content-Type": "application/x-ndjson; charset=utf-8"})
        await resp.prepare(request)
        lines: List[Dict[str, Any]] = []
        pos = 0
        for i, n in enumerate(_ndjson_chunks(len(pcm))):
            lines.append({"type": "chunk", "index": i, "result": {
                "audioContent": base64.b64encode(pcm[pos:pos + n]).decode("ascii"),
                "encoding": "LINEAR16", "sample_rate": rate}})
            pos += n
        lines.append({"type": "done", "done": True})
        try:
            for sent, line in enumerate(lines):
                if fault is not None and fault.due(sent, 0):
                    if fault.kind == "stall":
                        await self._hang(request)
                        return resp
                    if fault.kind == "close":
                        if request.transport is not None:
                            request.transport.abort()
                        return resp
                    if fault.kind == "truncate":
                        break
                    if fault.kind == "error_event":
                        await resp.write(json.dumps({"type": "error",
                                                     "message": default_reason(fault)}
                                                    ).encode() + b"\n")
                        break
                    if fault.kind == "malformed":
                        await resp.write(b'{"type": "chunk", "result": \n')
                        fault = None
                    elif fault.kind == "drip":
                        await asyncio.sleep(fault.delay)
                await resp.write(json.dumps(line).encode() + b"\n")
            await resp.write_eof()
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def _stt_rest(self, request: web.Request) -> web.StreamResponse:
        record, fault, refused = await self._rest_begin(request)
        if refused is not None:
            return refused
        if not request.content_type.startswith("multipart/"):
            record.status = 400
            return _http_error(400, "Expected multipart/form-data with an 'audio' file")
        fields: Dict[str, Any] = {}
        audio: Optional[bytes] = None
        filename = None
        reader = await request.multipart()
        async for part in reader:
            name = getattr(part, "name", None)
            if name in ("audio", "file") and audio is None:
                filename = getattr(part, "filename", None)
                audio = bytes(await part.read())
            elif name:
                fields[name] = await part.text()
        record.body = {**fields, "audio_bytes": len(audio or b""), "filename": filename}
        if audio is None:
            record.status = 400
            return _http_error(400, "Missing file field 'audio' (or 'file')")
        try:
            pcm, rate, channels = _read_wav(audio)
        except ValueError as e:
            record.status = 415
            return _http_error(415, str(e))
        recognizer = self.engines.recognizer()
        if channels > 1:
            pcm = downmix(pcm, channels)
        pcm16 = resample(pcm, rate, recognizer.rate)

        def run() -> List[Any]:
            try:
                return recognizer.feed(pcm16) + recognizer.finish()
            finally:
                recognizer.close()

        events = await asyncio.to_thread(run) if recognizer.blocking else run()
        finals = [(t, s, e) for kind, t, s, e in events if kind == "final" and t]
        text = " ".join(t for t, _, _ in finals)
        context = fields.get("context")
        if context and text:
            text = text[0].upper() + text[1:]
        language = fields.get("language") or "en"
        if language == "auto":
            language = "en"
        if fault is not None and fault.kind == "stall":
            await self._hang(request)
            return web.Response(status=504)
        return web.json_response({
            "success": True, "text": text, "language": language,
            "duration": round(len(pcm) / (2 * rate), 3),
            "segments": [{"text": t, "start": round(s, 3), "end": round(e, 3)}
                         for t, s, e in finals]})


_INVALID = object()


def _bearer(request: web.Request) -> Optional[str]:
    auth = request.headers.get("Authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _http_error(status: int, message: Optional[str] = None,
                retry_after: float = 1.0) -> web.Response:
    return web.Response(status=status, body=error_body(status, message),
                        headers=error_headers(status, retry_after))


def _sse(payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return f"data: {data}\n\n".encode()


def _timing(start: Optional[Dict[str, Any]]) -> "tuple[Optional[float], Optional[float]]":
    """Seconds between interim results and of the endpoint silence, from ``start``'s
    ``interim_results_frequency`` and ``utterance_end_ms`` (both in ms)."""
    start = start or {}
    config = start.get("config")
    out: List[Optional[float]] = []
    for name in ("interim_results_frequency", "utterance_end_ms"):
        ms = config.get(name) if isinstance(config, dict) else None
        ms = start.get(name) if ms is None else ms
        ok = isinstance(ms, (int, float)) and not isinstance(ms, bool) and ms > 0
        out.append(ms / 1000.0 if ok else None)  # type: ignore[operator]
    return out[0], out[1]


def _ndjson_chunks(total: int) -> List[int]:
    sizes = (6400, 3200, 9600, 4800)
    out, i = [], 0
    while total > 0:
        n = min(sizes[i % len(sizes)], total)
        out.append(n)
        total -= n
        i += 1
    return out


def _read_wav(data: bytes) -> "tuple[bytes, int, int]":
    """PCM16 samples, rate and channels of a WAV file; ``ValueError`` for anything else."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getsampwidth() != 2:
                raise ValueError("Unsupported audio: only 16-bit PCM WAV is accepted here")
            return w.readframes(w.getnframes()), w.getframerate(), w.getnchannels()
    except (wave.Error, EOFError) as e:
        raise ValueError(f"Unsupported audio format: send a 16-bit PCM WAV file ({e})") from None
