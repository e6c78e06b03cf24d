"""What the emulator received and sent (``emu.records``), so tests can prove what arrived.

Records hold no API keys: ``query`` drops the credential parameters and ``headers``
drops ``Authorization``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class STTSession:
    """One ``/ws/stt`` connection.

    ``audio`` holds every audio byte received after ``start`` (binary frames and the
    decoded payloads of JSON ``audio`` frames), in the session's ``encoding`` and
    ``sample_rate`` (``None`` until ``start``). ``messages`` are the client's text
    frames (parsed JSON, or the raw text when it did not parse); ``sent`` the server's
    messages; ``results`` only the ``transcription`` messages.
    """

    query: Dict[str, str] = field(default_factory=dict)
    handshake: str = "docs"
    authorized: bool = False
    start: Optional[Dict[str, Any]] = None
    encoding: Optional[str] = None
    sample_rate: Optional[int] = None
    languages: List[str] = field(default_factory=list)
    context: Optional[str] = None
    audio: bytearray = field(default_factory=bytearray)
    binary_frames: int = 0
    json_audio_frames: int = 0
    messages: List[Any] = field(default_factory=list)
    sent: List[Any] = field(default_factory=list)
    stopped: bool = False
    close_code: Optional[int] = None
    fault: Any = None

    @property
    def duration_seconds(self) -> float:
        """Seconds of audio received (0 before ``start``)."""
        if not self.sample_rate or not self.encoding:
            return 0.0
        width = 1 if self.encoding == "mulaw" else 2
        return len(self.audio) / (width * self.sample_rate)

    @property
    def results(self) -> List[Dict[str, Any]]:
        return [m for m in self.sent if isinstance(m, dict) and m.get("type") == "transcription"]

    @property
    def finals(self) -> List[str]:
        """The text of every final result that ended an utterance (``speech_final``)."""
        return [m["text"] for m in self.results if m.get("is_final") and m.get("speech_final")]


@dataclass
class TTSContext:
    """One context of a ``/ws/tts`` connection.

    ``texts`` are the ``send_text`` pieces in order, ``flushes`` the text each
    ``flush_context`` synthesised, ``audio`` every audio byte sent for it (in
    ``encoding`` at ``sample_rate``), ``chunks`` the byte count of each ``audio_chunk``.
    """

    context_id: str
    voice_id: Optional[str] = None
    encoding: str = "LINEAR16"
    sample_rate: int = 16000
    texts: List[str] = field(default_factory=list)
    flushes: List[str] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    chunks: List[int] = field(default_factory=list)
    closed: bool = False


@dataclass
class TTSConnection:
    """One ``/ws/tts`` connection: its contexts by id, and the ids in the order opened
    and closed (a context id may be reused after it was closed; ``contexts`` then holds
    the latest)."""

    query: Dict[str, str] = field(default_factory=dict)
    authorized: bool = False
    contexts: Dict[str, TTSContext] = field(default_factory=dict)
    opened: List[str] = field(default_factory=list)
    closed: List[str] = field(default_factory=list)
    messages: List[Any] = field(default_factory=list)
    sent: List[Any] = field(default_factory=list)
    close_code: Optional[int] = None
    fault: Any = None

    @property
    def open_contexts(self) -> List[str]:
        return [cid for cid, c in self.contexts.items() if not c.closed]


@dataclass
class HTTPRequest:
    """One HTTP request: ``body`` is the parsed JSON (LLM, REST TTS) or, for ``/stt``,
    the form fields plus ``{"audio_bytes": n, "filename": …}``."""

    path: str
    method: str = "POST"
    headers: Dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int = 200
    stream: bool = False
    fault: Any = None


class Records:
    """Everything the emulator saw, per service, in arrival order.

    - ``stt``: list of :class:`STTSession`
    - ``tts``: list of :class:`TTSConnection`
    - ``llm``: list of :class:`HTTPRequest` for ``POST /v1/chat/completions``
    - ``rest``: list of :class:`HTTPRequest` for ``/tts-synthesize``, ``/tts-stream``,
      ``/stt``
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.stt: List[STTSession] = []
        self.tts: List[TTSConnection] = []
        self.llm: List[HTTPRequest] = []
        self.rest: List[HTTPRequest] = []

    def add(self, kind: str, record: Any) -> Any:
        with self._lock:
            getattr(self, kind).append(record)
        return record

    def clear(self) -> None:
        with self._lock:
            self.stt.clear()
            self.tts.clear()
            self.llm.clear()
            self.rest.clear()

    def __repr__(self) -> str:
        return (f"Records(stt={len(self.stt)}, tts={len(self.tts)}, llm={len(self.llm)}, "
                f"rest={len(self.rest)})")


_SECRET_QUERY = {"apikey", "api_key", "token", "key"}


def public_query(query: Any) -> Dict[str, str]:
    """The query parameters without credentials."""
    return {k: v for k, v in query.items() if k.lower() not in _SECRET_QUERY}


def public_headers(headers: Any) -> Dict[str, str]:
    """The request headers without credentials."""
    return {k: v for k, v in headers.items()
            if k.lower() not in ("authorization", "x-api-key", "cookie")}
