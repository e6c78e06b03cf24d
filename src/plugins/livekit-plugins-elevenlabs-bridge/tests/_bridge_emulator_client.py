"""A raw conversation client for the emulator's tests (aiohttp, no bridge code), and
test signals."""

from __future__ import annotations

import asyncio
import base64
import json
import math
from array import array
from typing import Any, Dict, List, Optional

import aiohttp

import audiocore

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"


def tone(seconds: float, rate: int = 16000, freq: float = 440.0, amp: int = 8000) -> bytes:
    """A sine as 16-bit PCM."""
    n = round(seconds * rate)
    step = 2 * math.pi * freq / rate
    return array("h", (int(amp * math.sin(step * i)) for i in range(n))).tobytes()


def silence(seconds: float, rate: int = 16000) -> bytes:
    return b"\0\0" * round(seconds * rate)


def to_format(pcm16k: bytes, fmt: str) -> bytes:
    """16 kHz PCM in a wire format (``pcm_N`` or ``ulaw_8000``), through audiocore."""
    rate = int(fmt.split("_")[1])
    enc = "mulaw" if fmt.startswith("ulaw") else "pcm16"
    conv = audiocore.Converter(16000, 1, rate, 1, out_encoding=enc)
    out = conv.process(pcm16k)
    return bytes(out) + conv.flush()  # type: ignore[operator]


def from_format(data: bytes, fmt: str) -> bytes:
    """A wire format's bytes as 16-bit PCM at their own rate."""
    return audiocore.ulaw_decode(data) if fmt.startswith("ulaw") else data


async def get_signed_url(http_url: str, agent_id: str = "agent_test",
                         key: Optional[str] = "xi_test") -> aiohttp.ClientResponse:
    headers = {"xi-api-key": key} if key is not None else {}
    params = {"agent_id": agent_id} if agent_id is not None else {}
    async with aiohttp.ClientSession() as s:
        resp = await s.get(http_url + SIGNED_URL_PATH, params=params, headers=headers)
        await resp.read()
        return resp


class RawClient:
    """A conversation socket that answers pings and keeps every message it got."""

    def __init__(self, *, pong: bool = True, send_client_data: bool = True) -> None:
        self.pong = pong
        self.send_client_data = send_client_data
        self.messages: List[Dict[str, Any]] = []
        self.raw: List[Any] = []  # messages that were not JSON objects
        self.close_code: Optional[int] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self.ws: Optional[aiohttp.ClientWebSocketResponse] = None
        self._reader: Optional[asyncio.Task] = None
        self._arrived = asyncio.Event()

    async def connect(self, url: str) -> "RawClient":
        self._session = aiohttp.ClientSession()
        self.ws = await self._session.ws_connect(url, autoping=True)
        if self.send_client_data:
            await self.send({"type": "conversation_initiation_client_data"})
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                try:
                    obj = json.loads(msg.data)
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    self.messages.append(obj)
                    if self.pong and obj.get("type") == "ping":
                        event_id = (obj.get("ping_event") or {}).get("event_id")
                        if isinstance(event_id, int):
                            await self.send({"type": "pong", "event_id": event_id})
                else:
                    self.raw.append(msg.data)
            else:
                self.raw.append(msg.data)
            self._arrived.set()
        self.close_code = self.ws.close_code
        self._arrived.set()

    async def send(self, obj: Dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(obj))

    async def send_audio(self, data: bytes, chunk: int = 640, pause: float = 0.0) -> None:
        """``data`` (wire format) as ``user_audio_chunk`` messages of ``chunk`` bytes."""
        for i in range(0, len(data), chunk):
            await self.send({"user_audio_chunk": base64.b64encode(data[i:i + chunk]).decode()})
            if pause:
                await asyncio.sleep(pause)

    def of_type(self, kind: str) -> List[Dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    def audio(self, event_id: Optional[int] = None) -> bytes:
        """The reply audio received (optionally of one event_id), concatenated."""
        return b"".join(base64.b64decode(m["audio_event"]["audio_base_64"])
                        for m in self.of_type("audio")
                        if event_id is None or m["audio_event"]["event_id"] == event_id)

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        """Until ``predicate(self)`` holds (or the socket closed: then it must hold)."""
        async def loop() -> None:
            while not predicate(self):
                if self._reader is not None and self._reader.done():
                    assert predicate(self), "the socket closed first"
                    return
                self._arrived.clear()
                await self._arrived.wait()
        await asyncio.wait_for(loop(), timeout)

    async def wait_type(self, kind: str, count: int = 1, timeout: float = 10.0) -> Dict[str, Any]:
        await self.wait_for(lambda c: len(c.of_type(kind)) >= count, timeout)
        return self.of_type(kind)[count - 1]

    async def wait_closed(self, timeout: float = 10.0) -> Optional[int]:
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        return self.close_code

    async def aclose(self) -> None:
        if self.ws is not None and not self.ws.closed:
            await self.ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 5)
            except (asyncio.TimeoutError, aiohttp.ClientError):
                self._reader.cancel()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> "RawClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
