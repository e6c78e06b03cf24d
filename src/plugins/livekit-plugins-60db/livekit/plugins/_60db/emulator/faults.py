"""The fault plan: failures the emulator injects into the next matching connection or request.

A :class:`Fault` names a service, a kind of failure and when it fires. Added to
``emu.faults``, it is consumed by the next ``times`` connections (WebSockets) or
requests (HTTP) of that service; faults fire in the order they were added, at most one
per connection or request.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Dict, List, Literal, Optional, Tuple

Service = Literal["stt", "tts", "llm", "rest"]
Kind = Literal["refuse", "status", "credits", "close", "stall", "malformed", "drip",
               "truncate", "error_event"]

SERVICES: Tuple[str, ...] = ("stt", "tts", "llm", "rest")
KINDS: Tuple[str, ...] = ("refuse", "status", "credits", "close", "stall", "malformed",
                          "drip", "truncate", "error_event")

# Close code that is never sent on the wire (RFC 6455 §7.4.1): it means "the TCP
# connection went away without a close frame", which is what the emulator then does.
ABRUPT = 1006


@dataclass
class Fault:
    """One injected failure.

    Attributes:
        service: ``"stt"`` (``/ws/stt``), ``"tts"`` (``/ws/tts``), ``"llm"``
            (``POST /v1/chat/completions``, whichever client calls it) or ``"rest"``
            (``/tts-synthesize``, ``/tts-stream``, ``/stt``; narrow it with ``path``).
        kind: what goes wrong:

            - ``"refuse"``: the handshake fails. WebSockets: with ``status`` set, the
              HTTP upgrade is answered with that status (no socket); otherwise the
              socket opens, the server sends ``{"type":"error",…}`` (STT) or
              ``{"error":{…}}`` (TTS) and closes with ``code`` (default 1008).
              HTTP: the request gets ``status`` (default 503).
            - ``"status"``: HTTP status ``status`` (401, 402, 429, 500, 503, …) with an
              OpenAI-style error body; 429 carries ``Retry-After`` (``retry_after``
              seconds) and ``X-RateLimit-Limit/-Remaining/-Reset``. On a WebSocket it
              is the same as ``"refuse"`` with that status.
            - ``"credits"``: out of credits. HTTP: 402. WebSockets: an error with
              ``error_code: "INSUFFICIENT_CREDITS"`` and a close 1008 with reason
              ``INSUFFICIENT_CREDITS``, at once or when the trigger fires.
            - ``"close"``: the server closes with ``code`` when the trigger fires
              (1011, 1008, 1000, …; ``1006`` drops the TCP connection without a close
              frame). On an SSE stream the connection is dropped after the trigger.
            - ``"stall"``: from the trigger on, the server answers nothing more (it keeps
              reading and keeps the socket or the response open, and still answers
              WebSocket pings at the protocol level).
            - ``"malformed"``: at the trigger one message that is not valid JSON is
              sent (a WebSocket text frame, or an SSE ``data:`` line); then the
              stream goes on normally.
            - ``"drip"``: every server message or SSE event after the trigger is
              delayed by ``delay`` seconds.
            - ``"truncate"``: an SSE stream (or the NDJSON of ``/tts-stream``) ends
              cleanly after the trigger, without ``data: [DONE]`` / the last lines.
            - ``"error_event"``: an SSE stream sends ``{"error":{"message":…}}`` at the
              trigger and ends.
        status: HTTP status for ``"refuse"``/``"status"``.
        code: WebSocket close code for ``"refuse"`` (default 1008) and ``"close"``
            (default 1011).
        reason: close reason or error text (a default is chosen per kind).
        after_messages: trigger once the server has sent this many messages on the
            connection (WebSocket messages including the handshake's, or SSE events
            including the first ``chat_id`` chunk). ``None`` with ``after_bytes`` also
            ``None`` means: at once (WebSockets: right after the upgrade, before any
            message; SSE: before the first event).
        after_bytes: trigger once the client has sent this many audio bytes (STT:
            binary and JSON audio frames, decoded) or text characters (TTS
            ``send_text``).
        delay: seconds between messages for ``"drip"``.
        retry_after: ``Retry-After`` seconds for a 429 (default 1).
        times: how many matching connections or requests it applies to.
        path: for ``service="rest"``, restrict to this path (e.g. ``"/tts-stream"``).
    """

    service: Service
    kind: Kind
    status: Optional[int] = None
    code: Optional[int] = None
    reason: str = ""
    after_messages: Optional[int] = None
    after_bytes: Optional[int] = None
    delay: float = 0.5
    retry_after: float = 1.0
    times: int = 1
    path: Optional[str] = None

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise ValueError(f"Fault: service must be one of {SERVICES}, not {self.service!r}")
        if self.kind not in KINDS:
            raise ValueError(f"Fault: kind must be one of {KINDS}, not {self.kind!r}")
        if self.status is not None and not (isinstance(self.status, int)
                                            and 100 <= self.status <= 599):
            raise ValueError(f"Fault: status must be an HTTP status 100..599, not {self.status!r}")
        if self.code is not None and (not isinstance(self.code, int)
                                      or not (1000 <= self.code <= 4999)):
            raise ValueError(f"Fault: code must be a WebSocket close code 1000..4999, "
                             f"not {self.code!r}")
        for name in ("after_messages", "after_bytes"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                raise ValueError(f"Fault: {name} must be a non-negative int or None")
        if not isinstance(self.times, int) or self.times < 1:
            raise ValueError("Fault: times must be a positive int")
        if self.delay < 0 or self.retry_after < 0:
            raise ValueError("Fault: delay and retry_after must be >= 0")

    @property
    def close_code(self) -> int:
        """The WebSocket close code this fault uses."""
        if self.code is not None:
            return self.code
        return 1008 if self.kind in ("refuse", "status", "credits") else 1011

    @property
    def immediate(self) -> bool:
        """True when the fault fires before anything is exchanged."""
        return self.after_messages is None and self.after_bytes is None

    def due(self, messages_sent: int, bytes_received: int) -> bool:
        """Whether the trigger has been reached."""
        if self.immediate:
            return True
        if self.after_messages is not None and messages_sent >= self.after_messages:
            return True
        return self.after_bytes is not None and bytes_received >= self.after_bytes


@dataclass
class _Entry:
    fault: Fault
    left: int


class FaultPlan:
    """The queue of pending faults (``emu.faults``). Safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: List[_Entry] = []
        self.fired: List[Fault] = []
        """Every fault taken by a connection or request, in order (one entry per use)."""

    def add(self, fault: Fault) -> Fault:
        """Queue ``fault``; returns it."""
        if not isinstance(fault, Fault):
            raise TypeError(f"faults.add: expected a Fault, not {type(fault).__name__}")
        with self._lock:
            self._entries.append(_Entry(fault, fault.times))
        return fault

    def clear(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._entries.clear()

    @property
    def pending(self) -> List[Fault]:
        """The faults not yet used up."""
        with self._lock:
            return [e.fault for e in self._entries]

    def take(self, service: str, path: Optional[str] = None) -> Optional[Fault]:
        """The next fault for a new connection or request of ``service``, if any."""
        with self._lock:
            for i, entry in enumerate(self._entries):
                f = entry.fault
                if f.service != service or (f.path is not None and f.path != path):
                    continue
                entry.left -= 1
                if entry.left <= 0:
                    del self._entries[i]
                self.fired.append(f)
                return f
        return None

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"FaultPlan(pending={self.pending!r})"


def default_reason(fault: Fault) -> str:
    """The error text a fault uses when it has no ``reason``."""
    if fault.reason:
        return fault.reason
    defaults: Dict[str, str] = {
        "refuse": "Service unavailable",
        "credits": "INSUFFICIENT_CREDITS",
        "close": "Internal server error",
        "error_event": "Upstream model error",
    }
    return defaults.get(fault.kind, "injected fault")

