"""The 60db STT WebSocket protocol without I/O: messages in, events out.

Two handshake orders exist and both are accepted:

- the seed's: server ``{"connection_established": true}`` -> client ``start`` ->
  server ``{"type": "connected"}`` -> audio;
- the API reference's: ``{"connecting": true}`` -> ``{"type": "connected", ...}`` ->
  ``{"connection_established": {...}}`` -> client ``start`` ->
  ``{"type": "session_started", ...}`` -> audio.

So ``start`` goes out once ``connection_established`` arrives (any value but
``false``/``null``: it may be an object), and audio may flow at the first ``connected``
or ``session_started`` *after* ``start``.

:class:`SttSession` is the handshake and message state; :class:`TranscriptMapper`
turns its transcript events into livekit ``SpeechEvent`` s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from livekit.agents import stt

# -- configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class StartConfig:
    """What the ``start`` message asks for."""

    languages: tuple[str, ...]
    encoding: str  # wire value: "mulaw" or "linear"
    sample_rate: int
    continuous_mode: bool = True
    utterance_end_ms: Optional[int] = None
    context: Optional[str] = None

    def message(self) -> str:
        config: dict[str, Any] = {"encoding": self.encoding, "sample_rate": self.sample_rate,
                                  "continuous_mode": self.continuous_mode}
        if self.utterance_end_ms is not None:
            config["utterance_end_ms"] = self.utterance_end_ms
        if self.context is not None:
            config["context"] = self.context
        return json.dumps({"type": "start", "languages": list(self.languages),
                           "config": config})


# -- events ---------------------------------------------------------------------------


class ProtocolError(ValueError):
    """A message the protocol does not allow (not JSON, not an object, a bad field)."""


@dataclass(frozen=True)
class Ready:
    """Audio may be sent from now on."""

    session_id: Optional[str] = None


@dataclass(frozen=True)
class SpeechStarted:
    pass


@dataclass(frozen=True)
class Transcript:
    text: str
    is_final: bool
    speech_final: Optional[bool]  # None: the field was absent
    language: Optional[str] = None
    confidence: Optional[float] = None
    sentence_id: Optional[Any] = None
    end_time: Optional[float] = None
    """``timestamp + duration``: where the speech ended, in seconds of the session's audio
    (the API reference names both fields without units; the plugin checks the value
    against what it sent before trusting it)."""


@dataclass(frozen=True)
class SessionStopped:
    billing_summary: Optional[dict[str, Any]] = None


@dataclass(frozen=True)
class ServerError:
    message: str
    code: Optional[str] = None


Event = Union[Ready, SpeechStarted, Transcript, SessionStopped, ServerError]

# -- failure classification -----------------------------------------------------------

AUTH = 401
CREDITS = 402
FORBIDDEN = 403
RATE_LIMITED = 429


def status_for_error(message: str, code: Optional[str]) -> Optional[int]:
    """The HTTP-like status an error text/code stands for, if it is one not to retry.

    Authentication and credit failures must not be retried (they would fail again and
    may cost); a rate limit maps to 429 (retried by livekit's rule).
    """
    text = f"{code or ''} {message}".upper()
    if "CREDIT" in text or "BALANCE" in text or "PAYMENT" in text:
        return CREDITS
    if ("UNAUTHORI" in text or "API KEY" in text or "API_KEY" in text or "APIKEY" in text
            or "AUTHENTICATION" in text or "INVALID_TOKEN" in text):
        return AUTH
    if "FORBIDDEN" in text:
        return FORBIDDEN
    if "RATE" in text and "LIMIT" in text:
        return RATE_LIMITED
    return None


def status_for_close(code: Optional[int], reason: str) -> Optional[int]:
    """The status a close code/reason stands for when it must not be retried."""
    status = status_for_error(reason or "", None)
    if status is not None:
        return status
    if code in (4001, 4401):
        return AUTH
    if code in (4002, 4402):
        return CREDITS
    if code in (4003, 4403):
        return FORBIDDEN
    return None


# -- session state --------------------------------------------------------------------

_AWAIT_ESTABLISHED = "await_established"
_STARTING = "starting"
_STREAMING = "streaming"
_STOPPING = "stopping"
_STOPPED = "stopped"


def _parse(message: Union[str, bytes]) -> dict[str, Any]:
    if isinstance(message, (bytes, bytearray, memoryview)):
        raise ProtocolError("unexpected binary message from the STT service")
    try:
        data = json.loads(message)
    except ValueError as e:
        raise ProtocolError(f"STT message is not JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"STT message is a JSON {type(data).__name__}, not an object")
    return data


def _present(data: dict[str, Any], key: str) -> bool:
    return key in data and data[key] is not None and data[key] is not False


@dataclass
class SttSession:
    """One connection's protocol state.

    Feed every server message to :meth:`receive`; send what :meth:`data_to_send`
    returns, in order. Audio may be sent while :attr:`audio_allowed` is true.
    """

    config: StartConfig
    state: str = _AWAIT_ESTABLISHED
    session_id: Optional[str] = None
    server_info: Optional[Any] = None
    _outgoing: list[str] = field(default_factory=list)

    @property
    def audio_allowed(self) -> bool:
        return self.state in (_STREAMING, _STOPPING)

    @property
    def started(self) -> bool:
        """``start`` has been queued."""
        return self.state != _AWAIT_ESTABLISHED

    @property
    def stopped(self) -> bool:
        return self.state == _STOPPED

    def data_to_send(self) -> list[str]:
        out, self._outgoing = self._outgoing, []
        return out

    def stop(self) -> None:
        """Queue ``stop`` (once; only after the session started streaming)."""
        if self.state == _STREAMING:
            self._outgoing.append(json.dumps({"type": "stop"}))
            self.state = _STOPPING

    def receive(self, message: Union[str, bytes]) -> list[Event]:
        data = _parse(message)
        kind = data.get("type")
        if kind is not None and not isinstance(kind, str):
            raise ProtocolError("STT message 'type' is not a string")

        if kind == "error" or (kind is None and isinstance(data.get("error"), (str, dict))):
            return [self._error(data)]

        if kind == "transcription":
            return [self._transcript(data)]
        if kind == "speech_started":
            return [SpeechStarted()]
        if kind == "session_stopped":
            summary = data.get("billing_summary")
            self.state = _STOPPED
            return [SessionStopped(summary if isinstance(summary, dict) else None)]

        if kind in ("connected", "session_started"):
            if kind == "connected" and "server_info" in data:
                self.server_info = data["server_info"]
            sid = data.get("session_id")
            if isinstance(sid, (str, int)):
                self.session_id = str(sid)
            if self.state == _STARTING:
                self.state = _STREAMING
                return [Ready(self.session_id)]
            return []  # "connected" before start (the reference's order), or a repeat

        if _present(data, "connection_established") or kind == "connection_established":
            if self.state == _AWAIT_ESTABLISHED:
                self._outgoing.append(self.config.message())
                self.state = _STARTING
            return []

        # "connecting" statuses, pongs, language_changed, mode_changed, and fields this
        # client does not know: not errors (the service adds fields over time)
        return []

    def _error(self, data: dict[str, Any]) -> ServerError:
        err = data.get("error")
        if isinstance(err, dict):
            text = err.get("message") or err.get("error") or json.dumps(err)
            code = err.get("code") or err.get("error_code")
        else:
            text = err if isinstance(err, str) else data.get("message")
            code = data.get("error_code") or data.get("code")
        return ServerError(str(text or "unknown error"), None if code is None else str(code))

    def _transcript(self, data: dict[str, Any]) -> Transcript:
        text = data.get("text", "")
        if text is None:
            text = ""
        if not isinstance(text, str):
            raise ProtocolError("transcription 'text' is not a string")
        is_final = data.get("is_final")
        if is_final is None:
            # some replies carry only is_partial
            is_final = data.get("is_partial") is False
        speech_final = data.get("speech_final")
        language = data.get("language")
        confidence = data.get("confidence")
        ts, dur = data.get("timestamp"), data.get("duration")
        end_time = None
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (ts, dur)):
            end_time = float(ts) + float(dur)  # type: ignore[arg-type]
        return Transcript(
            text=text.strip(),
            is_final=bool(is_final),
            speech_final=None if speech_final is None else bool(speech_final),
            language=language if isinstance(language, str) else None,
            confidence=float(confidence) if isinstance(confidence, (int, float))
            and not isinstance(confidence, bool) else None,
            sentence_id=data.get("sentence_id"),
            end_time=end_time,
        )


# -- mapping to livekit events --------------------------------------------------------


@dataclass
class TranscriptMapper:
    """Turns :class:`SpeechStarted` / :class:`Transcript` into livekit speech events.

    - ``speech_started`` -> START_OF_SPEECH (once per utterance);
    - an interim with text -> INTERIM_TRANSCRIPT (START_OF_SPEECH first if none yet);
    - a final with ``speech_final: false`` (context mode: a refined final follows)
      -> PREFLIGHT_TRANSCRIPT;
    - a final with ``speech_final: true`` or without the field -> FINAL_TRANSCRIPT, then
      END_OF_SPEECH;
    - an empty-text transcript emits no transcript event; if it is an utterance's last
      final after a START_OF_SPEECH, END_OF_SPEECH still follows, so that every start has
      its end.
    """

    default_language: str
    request_id: str = ""
    speaking: bool = False

    def map(self, event: Union[SpeechStarted, Transcript]) -> list[stt.SpeechEvent]:
        out: list[stt.SpeechEvent] = []
        if isinstance(event, SpeechStarted):
            self._start(out)
            return out

        ends_utterance = event.is_final and event.speech_final is not False
        if event.text:
            self._start(out)
            if not event.is_final:
                kind = stt.SpeechEventType.INTERIM_TRANSCRIPT
            elif ends_utterance:
                kind = stt.SpeechEventType.FINAL_TRANSCRIPT
            else:
                kind = stt.SpeechEventType.PREFLIGHT_TRANSCRIPT
            data = stt.SpeechData(
                language=event.language or self.default_language, text=event.text,
                confidence=event.confidence if event.confidence is not None else 0.0)
            out.append(stt.SpeechEvent(type=kind, request_id=self.request_id,
                                       alternatives=[data]))
        if ends_utterance and self.speaking:
            self.speaking = False
            out.append(stt.SpeechEvent(type=stt.SpeechEventType.END_OF_SPEECH,
                                       request_id=self.request_id))
        return out

    def _start(self, out: list[stt.SpeechEvent]) -> None:
        if not self.speaking:
            self.speaking = True
            out.append(stt.SpeechEvent(type=stt.SpeechEventType.START_OF_SPEECH,
                                       request_id=self.request_id))
