"""What the sans-I/O protocol objects ask their server glue to do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union


@dataclass(frozen=True)
class Send:
    """Send one text frame: ``message`` is JSON-encoded unless it is a ``str``."""

    message: Any


@dataclass(frozen=True)
class Close:
    """Close the WebSocket with ``code`` and ``reason``."""

    code: int
    reason: str = ""


@dataclass(frozen=True)
class Recognize:
    """Feed ``pcm`` (16-bit mono at the recognizer's rate) to the recognizer, then hand
    its events to ``STTProtocol.recognized``."""

    pcm: bytes


@dataclass(frozen=True)
class Finish:
    """End the recognizer's stream, then hand its events to ``STTProtocol.finished``."""


@dataclass(frozen=True)
class Synthesize:
    """Synthesise ``text`` for a context, then hand the PCM to ``TTSProtocol.synthesized``."""

    context_id: str
    text: str
    voice_id: Any = None


Action = Union[Send, Close, Recognize, Finish, Synthesize]
