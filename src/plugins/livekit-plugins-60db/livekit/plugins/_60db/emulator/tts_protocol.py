"""The 60db TTS WebSocket, server side, without I/O.

Feed it the client's text frames; it returns :mod:`.actions`. A ``Synthesize`` action
comes back through :meth:`TTSProtocol.synthesized` with the engine's PCM, which this
class converts to the context's format (``audiocore.resample``, ``ulaw_encode``) and cuts into
``audio_chunk`` messages.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Optional, Tuple

from audiocore import resample, ulaw_encode

from .actions import Action, Close, Send, Synthesize
from .records import TTSConnection, TTSContext

DEFAULT_VOICE = "fbb75ed2-975a-40c7-9e06-38e30524a9a1"
RATES: Dict[str, Tuple[int, ...]] = {
    "LINEAR16": (8000, 16000, 24000, 48000),
    "MULAW": (8000,),
}
# The service also offers OGG_OPUS at 24000; the emulator has no Opus encoder and
# says so rather than sending something that is not Opus.
UNSUPPORTED_HERE = {"OGG_OPUS": "OGG_OPUS is not available in the emulator"}
DEFAULT_MAX_CONTEXTS = 8

# Sizes of successive audio_chunk payloads in bytes, cycled. Uneven on purpose, with
# odd counts, so a 16-bit sample is split between two chunks now and then, as a
# streaming service's network chunks split them.
CHUNK_SIZES: Tuple[int, ...] = (3201, 1279, 4800, 955, 2048, 6001, 511, 3840)

CLOSE_INVALID = 1007
CLOSE_POLICY = 1008


def error(message: str, context_id: Optional[str] = None) -> Dict[str, Any]:
    return {"error": {"context_id": context_id, "message": message}}


def chunk_sizes(total: int, offset: int = 0) -> List[int]:
    """How ``total`` bytes are cut, starting ``offset`` places into :data:`CHUNK_SIZES`."""
    out, i = [], offset
    while total > 0:
        n = min(CHUNK_SIZES[i % len(CHUNK_SIZES)], total)
        out.append(n)
        total -= n
        i += 1
    return out


class TTSProtocol:
    """One ``/ws/tts`` connection.

    Args:
        handshake: ``"docs"``: ``{"connecting": true}`` and a
            ``{"connection_established": {…}}`` object on connect, replies carry
            ``{"context_id": …}`` objects. ``"seed"``: no preamble (the seed shows
            none: a client must not wait for one), replies are ``true``
            (``{"flush_completed": true}`` as the seed shows). ``audio_chunk`` carries
            ``context_id`` in both.
        authorized: whether the connection's key was accepted.
        synth_rate: the rate of the PCM handed to :meth:`synthesized`.
        max_contexts: opening one more than this while that many are open closes the
            socket with 1008.
    """

    def __init__(self, *, handshake: str = "docs", authorized: bool = True,
                 synth_rate: int = 16000, max_contexts: int = DEFAULT_MAX_CONTEXTS,
                 credit_balance: float = 100.0, user_id: str = "emulator-user",
                 workspace: str = "emulator", record: Optional[TTSConnection] = None) -> None:
        if handshake not in ("docs", "seed"):
            raise ValueError(f"handshake must be 'docs' or 'seed', not {handshake!r}")
        self.handshake = handshake
        self.authorized = authorized
        self.synth_rate = synth_rate
        self.max_contexts = max_contexts
        self.credit_balance = credit_balance
        self.user_id = user_id
        self.workspace = workspace
        self.record = record if record is not None else TTSConnection()
        self.record.authorized = authorized
        self.closed = False
        self._first = True
        self._pending: Dict[str, List[str]] = {}
        self._chunk_index = 0

    def connect(self) -> List[Action]:
        if not self.authorized:
            self.closed = True
            return [Send(error("Invalid or missing API key")), Close(CLOSE_POLICY, "UNAUTHORIZED")]
        if self.handshake == "seed":
            return []
        return [Send({"connecting": True, "message": "Connecting to TTS service"}),
                Send({"connection_established": {
                    "service": "tts", "user_id": self.user_id,
                    "credit_balance": self.credit_balance, "workspace": self.workspace}})]

    def _reply(self, key: str, context_id: str) -> Dict[str, Any]:
        return {key: True} if self.handshake == "seed" else {key: {"context_id": context_id}}

    def _fail(self, message: str, code: int, context_id: Optional[str] = None) -> List[Action]:
        self.closed = True
        return [Send(error(message, context_id)), Close(code, message[:120])]

    def receive_bytes(self, data: bytes) -> List[Action]:
        if self.closed:
            return []
        return self._fail("Binary frames are not accepted on /ws/tts", CLOSE_INVALID)

    def receive_text(self, text: str) -> List[Action]:
        if self.closed:
            return []
        try:
            msg = json.loads(text)
        except (ValueError, TypeError):
            self.record.messages.append(text)
            return self._fail("Malformed JSON message", CLOSE_INVALID)
        self.record.messages.append(msg)
        if not isinstance(msg, dict) or len(msg) != 1:
            return self._fail("Each message must be an object with one command", CLOSE_INVALID)
        (command, body), = msg.items()
        if self._first and command != "create_context":
            return self._fail("create_context must be the first message", CLOSE_POLICY)
        self._first = False
        if not isinstance(body, dict):
            return [Send(error(f"{command}: expected an object"))]
        cid = body.get("context_id")
        if not isinstance(cid, str) or not cid:
            return [Send(error(f"{command}: context_id must be a non-empty string"))]
        handler = {"create_context": self._create, "send_text": self._send_text,
                   "flush_context": self._flush, "close_context": self._close}.get(command)
        if handler is None:
            return [Send(error(f"Unknown command {command!r}", cid))]
        return handler(cid, body)

    def _open(self, cid: str) -> Optional[TTSContext]:
        ctx = self.record.contexts.get(cid)
        return ctx if ctx is not None and not ctx.closed else None

    def _create(self, cid: str, body: Dict[str, Any]) -> List[Action]:
        if self._open(cid) is not None:
            return [Send(error(f"Context {cid!r} already exists", cid))]
        config = body.get("audio_config", {})
        if not isinstance(config, dict):
            return [Send(error("audio_config must be an object", cid))]
        encoding = config.get("audio_encoding", "LINEAR16")
        rate = config.get("sample_rate_hertz", 16000)
        if not isinstance(encoding, str) or encoding.upper() in UNSUPPORTED_HERE:
            text = UNSUPPORTED_HERE.get(str(encoding).upper(),
                                        f"Unsupported audio_encoding {encoding!r}")
            return [Send(error(text, cid))]
        encoding = encoding.upper()
        if encoding not in RATES:
            return [Send(error(f"Unsupported audio_encoding {encoding!r}", cid))]
        if isinstance(rate, bool) or rate not in RATES[encoding]:
            return [Send(error(f"Unsupported sample_rate_hertz {rate!r} for {encoding} "
                               f"({', '.join(map(str, RATES[encoding]))})", cid))]
        if len(self.record.open_contexts) >= self.max_contexts:
            return self._fail(f"Too many open contexts (at most {self.max_contexts})",
                              CLOSE_POLICY, cid)
        voice = body.get("voice_id") or DEFAULT_VOICE
        self.record.contexts[cid] = TTSContext(cid, voice, encoding, int(rate))
        self.record.opened.append(cid)
        self._pending[cid] = []
        return [Send(self._reply("context_created", cid))]

    def _send_text(self, cid: str, body: Dict[str, Any]) -> List[Action]:
        ctx = self._open(cid)
        if ctx is None:
            return [Send(error(f"Unknown context {cid!r}", cid))]
        text = body.get("text")
        if not isinstance(text, str):
            return [Send(error("send_text: text must be a string", cid))]
        ctx.texts.append(text)
        self._pending[cid].append(text)
        return []

    def _flush(self, cid: str, body: Dict[str, Any]) -> List[Action]:
        ctx = self._open(cid)
        if ctx is None:
            return [Send(error(f"Unknown context {cid!r}", cid))]
        text = "".join(self._pending[cid])
        self._pending[cid] = []
        ctx.flushes.append(text)
        return [Synthesize(cid, text, ctx.voice_id)]

    def _close(self, cid: str, body: Dict[str, Any]) -> List[Action]:
        ctx = self._open(cid)
        if ctx is None:
            return [Send(error(f"Unknown context {cid!r}", cid))]
        # Text sent but never flushed is dropped, as flush_context is what triggers
        # generation.
        ctx.closed = True
        self._pending.pop(cid, None)
        self.record.closed.append(cid)
        return [Send(self._reply("context_closed", cid))]

    def synthesized(self, cid: str, pcm: bytes) -> List[Action]:
        """``audio_chunk`` messages for one flush, then ``flush_completed``."""
        if self.closed:
            return []
        ctx = self.record.contexts.get(cid)
        if ctx is None:
            return []
        out: List[Action] = []
        if pcm:
            # A whole flush at once: the one-shot resampler has no delay and gives
            # exactly len * out / in samples.
            audio = resample(pcm, self.synth_rate, ctx.sample_rate)
            if ctx.encoding == "MULAW":
                audio = ulaw_encode(audio)
            pos = 0
            for n in chunk_sizes(len(audio), self._chunk_index):
                self._chunk_index += 1
                piece = audio[pos:pos + n]
                pos += n
                ctx.audio += piece
                ctx.chunks.append(n)
                out.append(Send({"audio_chunk": {
                    "context_id": cid,
                    "audioContent": base64.b64encode(piece).decode("ascii")}}))
        out.append(Send(self._reply("flush_completed", cid)))
        return out
