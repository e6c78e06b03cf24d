"""The 60db TTS WebSocket protocol without I/O: contexts, messages, demultiplexing.

One socket carries many contexts. Client messages: ``create_context`` (first for each
context), ``send_text``, ``flush_context`` (generation starts), ``close_context``.
Server messages: ``context_created``, ``audio_chunk`` (base64 PCM, maybe with a
``context_id``), ``flush_completed``, ``context_closed``, ``error``. The reply fields
carry an object (``{"context_id": ...}``) or ``true``, so they are tested for presence:
an empty ``{}`` is falsy but still a reply.

Audio without a ``context_id`` belongs to the oldest context with a flush outstanding
(the service generates flushes in order). A context being closed takes no more audio:
what arrives late is dropped, other contexts go on. Base64 chunks may end inside a
sample, or (unpadded) inside a base64 quantum: both remainders are carried to the next
chunk of the same context, so PCM never misaligns.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional, Union

SERVICE_RATES: dict[str, tuple[int, ...]] = {
    "LINEAR16": (8000, 16000, 24000, 48000),
    "MULAW": (8000,),
}
SAMPLE_WIDTH = {"LINEAR16": 2, "MULAW": 1}


def service_format(encoding: str, sample_rate: int) -> tuple[str, int]:
    """The (encoding, rate) to ask the service for, to emit ``sample_rate`` Hz.

    The rate itself when the service makes it; else the nearest it makes (ties go to
    the higher rate, which keeps more of the band). μ-law exists only at 8000 Hz.
    """
    rates = SERVICE_RATES[encoding]
    if sample_rate in rates:
        return encoding, sample_rate
    return encoding, min(rates, key=lambda r: (abs(r - sample_rate), -r))


class ProtocolError(ValueError):
    """A TTS message the protocol does not allow."""


@dataclass(frozen=True)
class Established:
    pass


@dataclass(frozen=True)
class ContextCreated:
    context_id: str


@dataclass(frozen=True)
class Audio:
    context_id: str
    data: bytes  # whole samples in the context's encoding


@dataclass(frozen=True)
class FlushCompleted:
    context_id: str


@dataclass(frozen=True)
class ContextClosed:
    context_id: str


@dataclass(frozen=True)
class ContextError:
    context_id: Optional[str]  # None: the error concerns the connection
    message: str
    code: Optional[str] = None


Event = Union[Established, ContextCreated, Audio, FlushCompleted, ContextClosed, ContextError]


@dataclass
class _Context:
    context_id: str
    width: int
    b64_carry: str = ""
    byte_carry: bytes = b""
    closing: bool = False
    flushes: int = 0  # outstanding


def _reply_context(value: Any, data: dict[str, Any]) -> Optional[str]:
    if isinstance(value, dict):
        cid = value.get("context_id", value.get("contextId"))
    else:
        cid = None
    if cid is None:
        cid = data.get("context_id", data.get("contextId"))
    return None if cid is None else str(cid)


@dataclass
class TtsConnectionState:
    """Every context of one socket, and the routing of what the server sends."""

    contexts: dict[str, _Context] = field(default_factory=dict)
    dropped_bytes: int = 0
    """Audio dropped: late audio of closed contexts, or audio for no known context."""
    misaligned_bytes: int = 0
    """Bytes left over inside a sample when a flush completed (a server fault)."""
    _flush_order: deque[str] = field(default_factory=deque)

    # -- client messages ----------------------------------------------------------

    def create_context(self, context_id: str, *, voice_id: str, encoding: str,
                       sample_rate: int) -> str:
        if context_id in self.contexts:
            raise ValueError(f"context {context_id!r} is already open")
        if encoding not in SAMPLE_WIDTH:
            raise ValueError(f"encoding must be one of {tuple(SAMPLE_WIDTH)}, not {encoding!r}")
        self.contexts[context_id] = _Context(context_id, SAMPLE_WIDTH[encoding])
        return json.dumps({"create_context": {
            "context_id": context_id, "voice_id": voice_id,
            "audio_config": {"audio_encoding": encoding, "sample_rate_hertz": sample_rate}}})

    def send_text(self, context_id: str, text: str) -> str:
        self._open(context_id)
        return json.dumps({"send_text": {"context_id": context_id, "text": text}})

    def flush_context(self, context_id: str) -> str:
        ctx = self._open(context_id)
        ctx.flushes += 1
        self._flush_order.append(context_id)
        return json.dumps({"flush_context": {"context_id": context_id}})

    def close_context(self, context_id: str) -> Optional[str]:
        """The ``close_context`` message, or None if it went out already.

        From now on the context's audio is dropped.
        """
        ctx = self.contexts.get(context_id)
        if ctx is None or ctx.closing:
            return None
        ctx.closing = True
        return json.dumps({"close_context": {"context_id": context_id}})

    @property
    def open_contexts(self) -> list[str]:
        """Contexts created and not yet confirmed closed by the server."""
        return list(self.contexts)

    def forget(self, context_id: str) -> None:
        """Drop a context's state without a ``context_closed`` (the socket is gone)."""
        self.contexts.pop(context_id, None)
        self._flush_order = deque(c for c in self._flush_order if c != context_id)

    def _open(self, context_id: str) -> _Context:
        ctx = self.contexts.get(context_id)
        if ctx is None or ctx.closing:
            raise ValueError(f"context {context_id!r} is not open")
        return ctx

    # -- server messages ----------------------------------------------------------

    def receive(self, message: Union[str, bytes]) -> list[Event]:
        if isinstance(message, (bytes, bytearray, memoryview)):
            raise ProtocolError("unexpected binary message from the TTS service")
        try:
            data = json.loads(message)
        except ValueError as e:
            raise ProtocolError(f"TTS message is not JSON ({e.msg})") from None
        if not isinstance(data, dict):
            raise ProtocolError(f"TTS message is a JSON {type(data).__name__}, not an object")

        if "error" in data or data.get("type") == "error":
            return [self._error(data)]
        out: list[Event] = []
        if "audio_chunk" in data:
            out.extend(self._audio(data))
        if "context_created" in data:
            cid = _reply_context(data["context_created"], data)
            if cid is not None and cid in self.contexts:
                out.append(ContextCreated(cid))
        if "flush_completed" in data:
            out.extend(self._flush_completed(data))
        if "context_closed" in data:
            out.extend(self._context_closed(data))
        if ("connection_established" in data and data["connection_established"] is not False) \
                or data.get("type") in ("connection_established", "connected"):
            out.append(Established())
        return out

    def _route(self, cid: Optional[str]) -> Optional[_Context]:
        if cid is None:
            while self._flush_order and self._flush_order[0] not in self.contexts:
                self._flush_order.popleft()
            if self._flush_order:
                cid = self._flush_order[0]
            elif len(self.contexts) == 1:
                cid = next(iter(self.contexts))
        return self.contexts.get(cid) if cid is not None else None

    def _audio(self, data: dict[str, Any]) -> list[Event]:
        chunk = data["audio_chunk"]
        if not isinstance(chunk, dict):
            raise ProtocolError("audio_chunk is not an object")
        content = chunk.get("audioContent", chunk.get("audio_content", ""))
        if not isinstance(content, str):
            raise ProtocolError("audio_chunk.audioContent is not a base64 string")
        ctx = self._route(_reply_context(chunk, data))
        if ctx is None or ctx.closing:
            text = "".join(content.split())
            self.dropped_bytes += len(text) * 3 // 4 - (len(text) - len(text.rstrip("=")))
            return []
        pcm = self._decode(ctx, content, final=False)
        return [Audio(ctx.context_id, pcm)] if pcm else []

    def _decode(self, ctx: _Context, content: str, *, final: bool) -> bytes:
        text = ctx.b64_carry + "".join(content.split())
        if text.endswith("=") or final:
            whole, ctx.b64_carry = text, ""
            if final and len(whole) % 4:
                whole += "=" * (-len(whole) % 4)
        else:
            cut = len(text) // 4 * 4
            whole, ctx.b64_carry = text[:cut], text[cut:]
        try:
            raw = base64.b64decode(whole, validate=True) if whole else b""
        except (binascii.Error, ValueError) as e:
            raise ProtocolError(f"audio_chunk is not valid base64 ({e})") from None
        raw = ctx.byte_carry + raw
        cut = len(raw) // ctx.width * ctx.width
        ctx.byte_carry = raw[cut:]
        return raw[:cut]

    def _flush_completed(self, data: dict[str, Any]) -> list[Event]:
        cid = _reply_context(data["flush_completed"], data)
        ctx = self._route(cid)
        if ctx is None:
            return []
        if ctx.context_id in self._flush_order:
            self._flush_order.remove(ctx.context_id)
        ctx.flushes = max(0, ctx.flushes - 1)
        tail = self._decode(ctx, "", final=True) if ctx.b64_carry else b""
        if ctx.byte_carry:
            self.misaligned_bytes += len(ctx.byte_carry)
            ctx.byte_carry = b""
        if ctx.closing:
            return []
        out: list[Event] = [Audio(ctx.context_id, tail)] if tail else []
        out.append(FlushCompleted(ctx.context_id))
        return out

    def _context_closed(self, data: dict[str, Any]) -> list[Event]:
        cid = _reply_context(data["context_closed"], data)
        if cid is None:
            closing = [c for c in self.contexts.values() if c.closing]
            if not closing:
                return []
            cid = closing[0].context_id
        if cid not in self.contexts:
            return []
        self.forget(cid)
        return [ContextClosed(cid)]

    def _error(self, data: dict[str, Any]) -> ContextError:
        err = data.get("error")
        if isinstance(err, dict):
            cid = err.get("context_id", data.get("context_id"))
            text = err.get("message") or err.get("error") or "unknown error"
            code = err.get("code") or err.get("error_code")
        else:
            cid = data.get("context_id")
            text = err if isinstance(err, str) and err else data.get("message") or "unknown error"
            code = data.get("error_code") or data.get("code")
        return ContextError(None if cid is None else str(cid), str(text),
                            None if code is None else str(code))
