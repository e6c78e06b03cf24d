"""The conversation protocol without I/O: JSON text in → typed events; commands →
JSON text out.

:class:`ConversationProtocol` holds the only state the wire needs: whether the
initiation metadata has arrived, and the newest interruption, below which reply
audio is stale. Audio whose ``event_id`` is *strictly* older than the last
interruption is dropped; audio carrying the interruption's own id is the reply
that follows it and plays.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Union

from ._formats import AudioFormat, parse_format


class ProtocolError(ValueError):
    """A message that does not follow the conversation protocol."""


@dataclass(frozen=True)
class Metadata:
    conversation_id: str
    user_input_format: AudioFormat
    agent_output_format: AudioFormat


@dataclass(frozen=True)
class Audio:
    event_id: Optional[int]
    data: bytes  # in the agent output format, already base64-decoded


@dataclass(frozen=True)
class StaleAudio:
    """Reply audio from before the last interruption: not to be played."""

    event_id: int
    nbytes: int


@dataclass(frozen=True)
class Interruption:
    event_id: Optional[int]


@dataclass(frozen=True)
class Ping:
    event_id: Any
    ping_ms: Optional[float]


@dataclass(frozen=True)
class UserTranscript:
    text: str


@dataclass(frozen=True)
class AgentResponse:
    text: str


@dataclass(frozen=True)
class AgentResponseCorrection:
    original: str
    corrected: str


@dataclass(frozen=True)
class ClientToolCall:
    tool_name: str
    tool_call_id: str
    parameters: Dict[str, Any]


@dataclass(frozen=True)
class VadScore:
    score: float


@dataclass(frozen=True)
class ServerError:
    message: str


@dataclass(frozen=True)
class Unknown:
    type: str
    message: Dict[str, Any] = field(repr=False)


Event = Union[Metadata, Audio, StaleAudio, Interruption, Ping, UserTranscript,
              AgentResponse, AgentResponseCorrection, ClientToolCall, VadScore,
              ServerError, Unknown]


def _dumps(obj: Dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _int_or_none(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _sub(msg: Dict[str, Any], key: str) -> Dict[str, Any]:
    value = msg.get(key)
    return value if isinstance(value, dict) else {}


class ConversationProtocol:
    """State machine of one conversation. Feed every text message to
    :meth:`receive`; build every outgoing message with the command methods."""

    def __init__(self) -> None:
        self.metadata: Optional[Metadata] = None
        #: The newest interruption's event id; audio below it is stale.
        self.interrupted_id: Optional[int] = None
        self.stale_dropped = 0

    # -- server → client ---------------------------------------------------------

    def receive(self, text: Union[str, bytes]) -> Event:
        """Parse one message. Raises :class:`ProtocolError` for text that is not a
        JSON object or a known message with broken fields; unknown types come back
        as :class:`Unknown` (the service adds types over time)."""
        try:
            msg = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"message is not JSON ({exc.__class__.__name__})") from None
        if not isinstance(msg, dict):
            raise ProtocolError(f"message is a JSON {type(msg).__name__}, not an object")
        kind = msg.get("type")
        if not isinstance(kind, str):
            raise ProtocolError("message has no 'type'")
        handler = _HANDLERS.get(kind)
        if handler is None:
            return Unknown(kind, msg)
        return handler(self, msg)

    def _metadata(self, msg: Dict[str, Any]) -> Event:
        ev = _sub(msg, "conversation_initiation_metadata_event")
        if self.metadata is not None:
            raise ProtocolError("conversation_initiation_metadata arrived twice")
        meta = Metadata(
            conversation_id=str(ev.get("conversation_id", "")),
            user_input_format=_format(ev, "user_input_audio_format"),
            agent_output_format=_format(ev, "agent_output_audio_format"),
        )
        self.metadata = meta
        return meta

    def _audio(self, msg: Dict[str, Any]) -> Event:
        ev = _sub(msg, "audio_event")
        b64 = ev.get("audio_base_64")
        if not isinstance(b64, str):
            raise ProtocolError("audio event without audio_base_64")
        event_id = _int_or_none(ev.get("event_id"))
        if (event_id is not None and self.interrupted_id is not None
                and event_id < self.interrupted_id):
            self.stale_dropped += 1
            # Length of the decoded audio without decoding it.
            nbytes = len(b64) * 3 // 4 - b64[-2:].count("=")
            return StaleAudio(event_id, nbytes)
        try:
            data = base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("audio_base_64 is not valid base64") from None
        if self.metadata is not None and self.metadata.agent_output_format.sample_bytes == 2 \
                and len(data) % 2:
            raise ProtocolError(f"audio event {event_id} has an odd byte count "
                                f"({len(data)}) for 16-bit PCM")
        return Audio(event_id, data)

    def _interruption(self, msg: Dict[str, Any]) -> Event:
        event_id = _int_or_none(_sub(msg, "interruption_event").get("event_id"))
        if event_id is not None and (self.interrupted_id is None
                                     or event_id > self.interrupted_id):
            self.interrupted_id = event_id
        return Interruption(event_id)

    def _ping(self, msg: Dict[str, Any]) -> Event:
        ev = _sub(msg, "ping_event")
        ping_ms = ev.get("ping_ms")
        return Ping(ev.get("event_id"),
                    float(ping_ms) if isinstance(ping_ms, (int, float))
                    and not isinstance(ping_ms, bool) else None)

    def _user_transcript(self, msg: Dict[str, Any]) -> Event:
        return UserTranscript(str(_sub(msg, "user_transcription_event")
                                  .get("user_transcript") or ""))

    def _agent_response(self, msg: Dict[str, Any]) -> Event:
        return AgentResponse(str(_sub(msg, "agent_response_event")
                                 .get("agent_response") or ""))

    def _correction(self, msg: Dict[str, Any]) -> Event:
        ev = _sub(msg, "agent_response_correction_event")
        return AgentResponseCorrection(str(ev.get("original_agent_response") or ""),
                                       str(ev.get("corrected_agent_response") or ""))

    def _tool_call(self, msg: Dict[str, Any]) -> Event:
        ev = _sub(msg, "client_tool_call")
        name, call_id = ev.get("tool_name"), ev.get("tool_call_id")
        if not isinstance(name, str) or not isinstance(call_id, str):
            raise ProtocolError("client_tool_call without tool_name and tool_call_id")
        params = ev.get("parameters")
        return ClientToolCall(name, call_id, params if isinstance(params, dict) else {})

    def _vad(self, msg: Dict[str, Any]) -> Event:
        score = _sub(msg, "vad_score_event").get("vad_score")
        return VadScore(float(score) if isinstance(score, (int, float)) else 0.0)

    def _error(self, msg: Dict[str, Any]) -> Event:
        ev = msg.get("error_event")
        text = msg.get("message") or (ev.get("message") if isinstance(ev, dict) else ev)
        return ServerError(str(text or "unspecified error"))

    # -- client → server ---------------------------------------------------------

    @staticmethod
    def initiation(dynamic_variables: Optional[Dict[str, Any]] = None,
                   overrides: Optional[Dict[str, Any]] = None) -> str:
        """The first message of a conversation."""
        msg: Dict[str, Any] = {"type": "conversation_initiation_client_data"}
        if dynamic_variables:
            msg["dynamic_variables"] = dynamic_variables
        if overrides:
            msg["conversation_config_override"] = overrides
        return _dumps(msg)

    @staticmethod
    def user_audio_chunk(data: bytes) -> str:
        """One chunk of user audio in the announced input format."""
        return '{"user_audio_chunk":"' + base64.b64encode(data).decode("ascii") + '"}'

    @staticmethod
    def pong(event_id: Any) -> str:
        return _dumps({"type": "pong", "event_id": event_id})

    @staticmethod
    def client_tool_result(tool_call_id: str, result: Any, *, is_error: bool) -> str:
        if not isinstance(result, str):
            try:
                result = json.dumps(result)
            except (TypeError, ValueError):
                result = str(result)
        return _dumps({"type": "client_tool_result", "tool_call_id": tool_call_id,
                       "result": result, "is_error": is_error})

    @staticmethod
    def user_activity() -> str:
        return _dumps({"type": "user_activity"})

    @staticmethod
    def contextual_update(text: str) -> str:
        return _dumps({"type": "contextual_update", "text": text})


def _format(ev: Dict[str, Any], key: str) -> AudioFormat:
    try:
        return parse_format(ev.get(key), key)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None


_HANDLERS = {
    "conversation_initiation_metadata": ConversationProtocol._metadata,
    "audio": ConversationProtocol._audio,
    "interruption": ConversationProtocol._interruption,
    "ping": ConversationProtocol._ping,
    "user_transcript": ConversationProtocol._user_transcript,
    "agent_response": ConversationProtocol._agent_response,
    "agent_response_correction": ConversationProtocol._correction,
    "client_tool_call": ConversationProtocol._tool_call,
    "vad_score": ConversationProtocol._vad,
    "error": ConversationProtocol._error,
}
