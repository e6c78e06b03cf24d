"""What the emulator received and sent: plain data a test reads after (or during) a run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class SignedUrlRequest:
    """One ``GET …/get-signed-url``: the agent asked for and the status answered."""

    agent_id: Optional[str]
    status: int
    key_ok: bool


@dataclass
class Ping:
    """A ``ping`` sent, and the client's ``pong`` if one came."""

    event_id: int
    sent_at: float  # time.monotonic()
    pong_at: Optional[float] = None

    @property
    def latency(self) -> Optional[float]:
        """Seconds from sending the ping to receiving its pong."""
        return None if self.pong_at is None else self.pong_at - self.sent_at


@dataclass
class Utterance:
    """A stretch of user speech the energy detector found."""

    event_id: int
    start: float  # seconds into the conversation's user audio
    end: Optional[float] = None
    transcript: Optional[str] = None
    interrupted: Optional[int] = None  # event_id of the reply it talked over


@dataclass
class Reply:
    """One agent turn as sent: its text, event_id and the audio events carrying it."""

    event_id: int
    text: str
    chunks: List[int] = field(default_factory=list)  # bytes per audio event, in order
    audio_bytes: int = 0  # total sent (wire format)
    planned_bytes: int = 0  # what the whole reply would have been
    interrupted: bool = False
    stale_sent: int = 0  # audio events sent after its interruption (the stale fault)

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.audio_bytes == self.planned_bytes


@dataclass
class ConversationRecord:
    """Everything about one conversation WebSocket.

    ``user_audio`` holds the decoded ``user_audio_chunk`` payloads, concatenated, in
    ``user_input_audio_format`` exactly as the client sent them; ``user_chunks`` their
    sizes. ``client_messages`` holds every other message the client sent, parsed, in
    order. ``sent`` lists what the emulator sent: each message's ``type``, plus
    ``event_id`` and ``bytes`` for audio.
    """

    index: int  # 1-based, in order of connection
    conversation_id: str
    agent_id: str
    query: Dict[str, str]  # the WebSocket URL's query, signature removed
    user_input_audio_format: str
    agent_output_audio_format: str
    user_audio: bytearray = field(default_factory=bytearray)
    user_chunks: List[int] = field(default_factory=list)
    client_messages: List[Dict[str, Any]] = field(default_factory=list)
    initiation_client_data: Optional[Dict[str, Any]] = None
    pings: List[Ping] = field(default_factory=list)
    tool_calls: List[Dict[str, Any]] = field(default_factory=list)
    tool_results: List[Dict[str, Any]] = field(default_factory=list)
    contextual_updates: List[str] = field(default_factory=list)
    user_messages: List[str] = field(default_factory=list)
    user_activity: int = 0
    utterances: List[Utterance] = field(default_factory=list)
    replies: List[Reply] = field(default_factory=list)
    interruptions: List[int] = field(default_factory=list)  # interruption event_ids sent
    sent: List[Dict[str, Any]] = field(default_factory=list)
    unknown: List[Dict[str, Any]] = field(default_factory=list)  # types the service ignores
    bad_input: List[str] = field(default_factory=list)  # why a message was refused
    close_code: Optional[int] = None
    close_reason: Optional[str] = None
    closed_by: Optional[str] = None  # "server", "client", or "drop" (no close frame)

    @property
    def pongs(self) -> List[Ping]:
        """The pings the client answered."""
        return [p for p in self.pings if p.pong_at is not None]

    @property
    def pong_latencies(self) -> List[float]:
        """Seconds from each answered ping to its pong."""
        return [p.latency for p in self.pings if p.latency is not None]

    @property
    def user_audio_seconds(self) -> float:
        from ._formats import FORMATS

        return FORMATS[self.user_input_audio_format].duration(len(self.user_audio))


@dataclass
class Records:
    """All that an :class:`Emulator` saw, in order."""

    signed_url_requests: List[SignedUrlRequest] = field(default_factory=list)
    conversations: List[ConversationRecord] = field(default_factory=list)
    refused_connections: List[str] = field(default_factory=list)  # why each was refused
