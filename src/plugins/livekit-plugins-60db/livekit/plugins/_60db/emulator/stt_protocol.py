"""The 60db STT WebSocket, server side, without I/O.

Feed it the client's frames (``receive_text``, ``receive_bytes``) and the recognizer's
events (``recognized``, ``finished``); it returns :mod:`.actions` for the glue to
carry out, and keeps the session's record up to date.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any, Dict, List, Optional, Tuple

from audiocore import Converter

from .actions import Action, Close, Finish, Recognize, Send
from .records import STTSession

SAMPLE_RATES: Tuple[int, ...] = (8000, 16000, 24000, 44100, 48000)
# The docs call linear PCM "linear", the seed "LINEAR16": both mean 16-bit LE mono.
ENCODINGS: Dict[str, str] = {"mulaw": "mulaw", "linear": "linear", "linear16": "linear"}
MAX_LANGUAGES = 5
COST_PER_SECOND = 0.0001

# Close codes (RFC 6455): 1007 for a payload that is not what the protocol says
# (malformed JSON), 1008 for a policy violation (auth, credits, bad order or config).
CLOSE_INVALID = 1007
CLOSE_POLICY = 1008


def error(text: str, code: str) -> Dict[str, Any]:
    # Some clients read "message" rather than "error": a strict server gives "error";
    # carrying both costs nothing and keeps either reader informed.
    return {"type": "error", "error": text, "error_code": code, "message": text}


class STTProtocol:
    """One ``/ws/stt`` session.

    Args:
        handshake: ``"docs"`` (``connecting`` → ``connected`` → ``connection_established``
            object → client ``start`` → ``session_started``) or ``"seed"``
            (``connection_established: true`` → client ``start`` → ``connected``).
        authorized: whether the connection's key was accepted.
        recognizer_rate: the rate the recognizer wants its PCM at.
        empty_final_every: after every N-th final, send an extra empty-text final
            (0: never).
        credit_balance, user_id, workspace: what ``connection_established`` reports.
        record: the record to fill (a new one by default).
    """

    def __init__(self, *, handshake: str = "docs", authorized: bool = True,
                 recognizer_rate: int = 16000, empty_final_every: int = 0,
                 credit_balance: float = 100.0, user_id: str = "emulator-user",
                 workspace: str = "emulator", record: Optional[STTSession] = None) -> None:
        if handshake not in ("docs", "seed"):
            raise ValueError(f"handshake must be 'docs' or 'seed', not {handshake!r}")
        self.handshake = handshake
        self.authorized = authorized
        self.recognizer_rate = recognizer_rate
        self.empty_final_every = empty_final_every
        self.credit_balance = credit_balance
        self.user_id = user_id
        self.workspace = workspace
        self.record = record if record is not None else STTSession()
        self.record.handshake = handshake
        self.record.authorized = authorized
        self.session_id = f"sess_{uuid.uuid4().hex[:16]}"
        self.started = False
        self.stopping = False
        self.closed = False
        self._converter: Optional[Converter] = None
        self._odd = b""  # half a linear sample, kept for the next frame
        self._sentence = 0
        self._finals = 0

    # -- client → server -----------------------------------------------------------

    def connect(self) -> List[Action]:
        """The server's first messages once the socket is open."""
        if not self.authorized:
            return self._fail("Invalid or missing API key", "UNAUTHORIZED", CLOSE_POLICY)
        if self.handshake == "seed":
            return [Send({"connection_established": True})]
        return [
            Send({"connecting": True, "message": "Connecting to speech service"}),
            Send({"type": "connected", "server_info": {
                "service": "stt", "version": "emulator", "session_id": self.session_id}}),
            Send({"connection_established": {
                "service": "stt", "user_id": self.user_id,
                "credit_balance": self.credit_balance, "workspace": self.workspace}}),
        ]

    def receive_text(self, text: str) -> List[Action]:
        if self.closed:
            return []
        try:
            msg = json.loads(text)
        except (ValueError, TypeError):
            self.record.messages.append(text)
            return self._fail("Malformed JSON message", "INVALID_JSON", CLOSE_INVALID)
        self.record.messages.append(msg)
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            return self._fail("Message must be a JSON object with a 'type'",
                              "INVALID_MESSAGE", CLOSE_INVALID)
        kind = msg["type"]
        if kind == "start":
            return self._start(msg)
        if kind == "audio":
            return self._json_audio(msg)
        if kind == "stop":
            return self._stop()
        if kind == "config":
            return self._config(msg)
        if kind in ("ping", "keepalive", "keep_alive"):
            return [Send({"type": "pong"})] if kind == "ping" else []
        return [Send(error(f"Unknown message type {kind!r}", "UNKNOWN_MESSAGE_TYPE"))]

    def receive_bytes(self, data: bytes) -> List[Action]:
        if self.closed or self.stopping:
            return []
        if not self.started:
            return self._fail("Audio received before 'start'", "AUDIO_BEFORE_START",
                              CLOSE_POLICY)
        self.record.binary_frames += 1
        return self._audio(bytes(data))

    # -- recognizer → client -----------------------------------------------------

    def recognized(self, events: List[Tuple[str, str, float, float]]) -> List[Action]:
        """Results for the recognizer's events."""
        out: List[Action] = []
        if self.closed:
            return out
        language = self.record.languages[0] if self.record.languages else "en"
        for kind, text, start, end in events:
            if kind == "speech_started":
                out.append(Send({"type": "speech_started", "timestamp": round(start, 3)}))
                continue
            base = {"type": "transcription", "language": language,
                    "timestamp": round(start, 3), "duration": round(end - start, 3)}
            if kind == "interim":
                out.append(Send({**base, "text": text, "is_final": False,
                                 "speech_final": False, "is_partial": True,
                                 "confidence": 0.5, "sentence_id": self._sentence + 1}))
                continue
            self._sentence += 1
            self._finals += 1
            final = {**base, "is_final": True, "is_partial": False, "confidence": 0.9,
                     "sentence_id": self._sentence}
            if self.record.context:
                # Two phases sharing a sentence_id: the quick final, then the refined one.
                out.append(Send({**final, "text": text, "speech_final": False}))
                out.append(Send({**final, "text": _refine(text), "speech_final": True,
                                 "confidence": 0.95}))
            else:
                out.append(Send({**final, "text": text, "speech_final": True}))
            if self.empty_final_every and self._finals % self.empty_final_every == 0:
                self._sentence += 1
                out.append(Send({**base, "text": "", "is_final": True, "speech_final": True,
                                 "is_partial": False, "confidence": 0.0,
                                 "duration": 0.0, "sentence_id": self._sentence}))
        return out

    def finished(self, events: List[Tuple[str, str, float, float]]) -> List[Action]:
        """The last results, ``session_stopped`` and the close."""
        out = self.recognized(events)
        if self.closed:
            return out
        seconds = round(self.record.duration_seconds, 6)
        out.append(Send({"type": "session_stopped", "session_id": self.session_id,
                         "billing_summary": {
                             "total_duration_seconds": seconds,
                             "total_cost": f"{seconds * COST_PER_SECOND:.6f}"}}))
        out.append(Close(1000, "session stopped"))
        self.record.stopped = True
        self.closed = True
        return out

    # -- internals ---------------------------------------------------------------

    def _fail(self, text: str, code: str, close: int) -> List[Action]:
        self.closed = True
        return [Send(error(text, code)), Close(close, code)]

    def _start(self, msg: Dict[str, Any]) -> List[Action]:
        if self.started:
            return [Send(error("Session already started", "ALREADY_STARTED"))]
        config = msg.get("config", {})
        if not isinstance(config, dict):
            return self._fail("'config' must be an object", "INVALID_CONFIG", CLOSE_POLICY)
        languages = msg.get("languages", ["en"])
        if (not isinstance(languages, list) or not languages
                or not all(isinstance(x, str) and x for x in languages)):
            return self._fail("'languages' must be a non-empty list of language codes",
                              "INVALID_CONFIG", CLOSE_POLICY)
        if len(languages) > MAX_LANGUAGES:
            return self._fail(f"At most {MAX_LANGUAGES} languages", "INVALID_CONFIG",
                              CLOSE_POLICY)
        raw_encoding = config.get("encoding", "mulaw")
        encoding = ENCODINGS.get(raw_encoding.lower()) if isinstance(raw_encoding, str) else None
        if encoding is None:
            return self._fail(f"Unsupported encoding {raw_encoding!r} (mulaw, linear)",
                              "INVALID_CONFIG", CLOSE_POLICY)
        rate = config.get("sample_rate", 8000)
        if isinstance(rate, bool) or rate not in SAMPLE_RATES:
            return self._fail(f"Unsupported sample_rate {rate!r} "
                              f"({', '.join(map(str, SAMPLE_RATES))})",
                              "INVALID_CONFIG", CLOSE_POLICY)
        end_ms = config.get("utterance_end_ms", msg.get("utterance_end_ms"))
        if end_ms is not None and (isinstance(end_ms, bool) or not isinstance(end_ms, int)
                                   or end_ms < 300):
            return self._fail("utterance_end_ms must be an integer >= 300", "INVALID_CONFIG",
                              CLOSE_POLICY)
        context = msg.get("context", config.get("context"))
        self.started = True
        rec = self.record
        rec.start, rec.encoding, rec.sample_rate = msg, encoding, int(rate)
        rec.languages = list(languages)
        rec.context = context if isinstance(context, str) and context.strip() else None
        self._converter = Converter(int(rate), 1, self.recognizer_rate,
                                    in_encoding="mulaw" if encoding == "mulaw" else "pcm16")
        if self.handshake == "seed":
            return [Send({"type": "connected"})]
        return [Send({"type": "session_started", "session_id": self.session_id,
                      "config": {"encoding": encoding, "sample_rate": int(rate),
                                 "languages": list(languages)}})]

    def _json_audio(self, msg: Dict[str, Any]) -> List[Action]:
        if self.stopping:
            return []
        if not self.started:
            return self._fail("Audio received before 'start'", "AUDIO_BEFORE_START",
                              CLOSE_POLICY)
        payload = msg.get("audio")
        if not isinstance(payload, str):
            return [Send(error("'audio' must be a base64 string", "INVALID_AUDIO"))]
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            return [Send(error("'audio' is not valid base64", "INVALID_AUDIO"))]
        self.record.json_audio_frames += 1
        return self._audio(data)

    def _audio(self, data: bytes) -> List[Action]:
        self.record.audio += data
        assert self._converter is not None
        if self.record.encoding == "linear":
            data = self._odd + data
            whole = len(data) // 2 * 2
            data, self._odd = data[:whole], data[whole:]
        if not data:
            return []
        pcm = self._converter.process(data)
        return [Recognize(pcm)] if pcm else []

    def _stop(self) -> List[Action]:
        if self.stopping:
            return []
        self.stopping = True
        out: List[Action] = []
        if self._converter is not None:
            tail = self._converter.flush()
            if tail:
                out.append(Recognize(tail))
        out.append(Finish())
        return out

    def _config(self, msg: Dict[str, Any]) -> List[Action]:
        out: List[Action] = []
        languages = msg.get("languages")
        if isinstance(languages, list) and languages and len(languages) <= MAX_LANGUAGES:
            self.record.languages = list(languages)
            out.append(Send({"type": "language_changed", "languages": list(languages)}))
        config = msg.get("config") if isinstance(msg.get("config"), dict) else msg
        if "continuous_mode" in config:
            out.append(Send({"type": "mode_changed",
                             "continuous_mode": bool(config["continuous_mode"])}))
        if not out:
            out.append(Send(error("Nothing to change in 'config'", "INVALID_CONFIG")))
        return out


def _refine(text: str) -> str:
    """The "refined" second-phase text: capitalised, with a closing full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."
