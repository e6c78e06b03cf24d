"""A scriptable conversation service on 127.0.0.1 for the bridge's tests: the test
drives each conversation from the server side (send audio, interrupt, ping, close,
drop) and reads what the bridge sent."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from typing import Any, Dict, List, Optional, Set

from aiohttp import WSMsgType, web


class Conversation:
    def __init__(self, ws: web.WebSocketResponse, cid: str) -> None:
        self.ws = ws
        self.id = cid
        self.messages: List[Dict[str, Any]] = []
        self.audio = bytearray()
        self.chunk_times: List[float] = []
        self.chunk_sizes: List[int] = []
        self.pongs: Dict[Any, float] = {}
        self.ping_sent: Dict[Any, float] = {}
        self.tool_results: List[Dict[str, Any]] = []
        self.initiation: Optional[Dict[str, Any]] = None
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()

    async def send(self, obj: Dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(obj))

    async def send_audio(self, pcm: bytes, event_id: int) -> None:
        await self.send({"type": "audio", "audio_event": {
            "audio_base_64": base64.b64encode(pcm).decode(), "event_id": event_id}})

    async def interrupt(self, event_id: int) -> None:
        await self.send({"type": "interruption", "interruption_event": {"event_id": event_id}})

    async def ping(self, event_id: int) -> float:
        """Round trip in seconds, ping sent → pong received."""
        self.ping_sent[event_id] = time.perf_counter()
        await self.send({"type": "ping", "ping_event": {"event_id": event_id, "ping_ms": 5}})
        await self.wait_for(lambda: event_id in self.pongs)
        return self.pongs[event_id] - self.ping_sent[event_id]

    async def wait_for(self, cond: Any, timeout: float = 5.0) -> None:
        async def waiter() -> None:
            while not cond():
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(waiter(), timeout)

    def note(self, msg: Dict[str, Any]) -> None:
        now = time.perf_counter()
        self.messages.append(msg)
        if "user_audio_chunk" in msg:
            data = base64.b64decode(msg["user_audio_chunk"])
            self.audio += data
            self.chunk_times.append(now)
            self.chunk_sizes.append(len(data))
        elif msg.get("type") == "pong":
            self.pongs[msg.get("event_id")] = now
        elif msg.get("type") == "client_tool_result":
            self.tool_results.append(msg)
        elif msg.get("type") == "conversation_initiation_client_data":
            self.initiation = msg
        self._changed.set()


class Service:
    """``async with Service(...) as svc``: ``svc.http_url``; ``await
    svc.next_conversation()`` returns the next :class:`Conversation` opened."""

    def __init__(self, *, api_key: str = "xi_test", agent_id: str = "agent_test",
                 user_input_audio_format: str = "pcm_16000",
                 agent_output_audio_format: str = "pcm_24000") -> None:
        self.api_key = api_key
        self.agent_id = agent_id
        self.input_format = user_input_audio_format
        self.output_format = agent_output_audio_format
        self.signatures: Set[str] = set()
        self.issued: List[str] = []
        self.refused = 0
        self.conversations: "asyncio.Queue[Conversation]" = asyncio.Queue()
        self.all: List[Conversation] = []
        self._runner: Optional[web.AppRunner] = None
        self.port = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, signature: str) -> str:
        return (f"ws://127.0.0.1:{self.port}/v1/convai/conversation?agent_id="
                f"{self.agent_id}&conversation_signature={signature}")

    def mint(self) -> str:
        sig = secrets.token_urlsafe(24)
        self.signatures.add(sig)
        self.issued.append(sig)
        return self.ws_url(sig)

    async def next_conversation(self, timeout: float = 5.0) -> Conversation:
        return await asyncio.wait_for(self.conversations.get(), timeout)

    async def _signed(self, request: web.Request) -> web.Response:
        if request.headers.get("xi-api-key") != self.api_key:
            self.refused += 1
            return web.json_response({"detail": "invalid api key"}, status=401)
        if request.query.get("agent_id") != self.agent_id:
            return web.json_response({"detail": "no such agent"}, status=404)
        return web.json_response({"signed_url": self.mint()})

    async def _conversation(self, request: web.Request) -> web.StreamResponse:
        sig = request.query.get("conversation_signature", "")
        if sig not in self.signatures:
            self.refused += 1
            raise web.HTTPForbidden(text="invalid signature")
        self.signatures.discard(sig)  # single use
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conv = Conversation(ws, f"conv_{len(self.all)}")
        self.all.append(conv)
        await conv.send({"type": "conversation_initiation_metadata",
                         "conversation_initiation_metadata_event": {
                             "conversation_id": conv.id,
                             "user_input_audio_format": self.input_format,
                             "agent_output_audio_format": self.output_format}})
        self.conversations.put_nowait(conv)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    conv.note(json.loads(msg.data))
        finally:
            conv.closed.set()
            conv._changed.set()
        return ws

    async def __aenter__(self) -> "Service":
        app = web.Application()
        app.router.add_get("/v1/convai/conversation/get-signed-url", self._signed)
        app.router.add_get("/v1/convai/conversation", self._conversation)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        for conv in self.all:
            if not conv.ws.closed:
                await conv.ws.close()
        assert self._runner is not None
        await self._runner.cleanup()
