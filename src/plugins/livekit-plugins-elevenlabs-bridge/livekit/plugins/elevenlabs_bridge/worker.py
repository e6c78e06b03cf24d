"""The bridge worker: joins the rooms it is dispatched to (``agent_name
"elevenlabs-bridge"``) and runs one :class:`BridgeSession` per room.

Environment: ``ELEVENLABS_API_KEY``; ``SPEECH_ENGINE_ID`` or ``ELEVENLABS_AGENT_ID``;
optionally ``ELEVENLABS_API_URL``; and livekit's ``LIVEKIT_URL``,
``LIVEKIT_API_KEY``, ``LIVEKIT_API_SECRET``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any, Callable, Dict, Optional

from livekit import rtc
from livekit.agents import JobContext, WorkerOptions

from ._session import BridgeSession
from ._signed_url import signed_url_provider
from .log import logger

AGENT_NAME = "elevenlabs-bridge"
TRACK_NAME = "elevenlabs-agent"
TRANSCRIPTION_TOPIC = "lk.transcription"

SessionFactory = Callable[..., BridgeSession]


def agent_id_from_env() -> str:
    """``SPEECH_ENGINE_ID``, else ``ELEVENLABS_AGENT_ID``; ``ValueError`` if neither."""
    agent_id = os.environ.get("SPEECH_ENGINE_ID") or os.environ.get("ELEVENLABS_AGENT_ID")
    if not agent_id:
        raise ValueError("set SPEECH_ENGINE_ID (or ELEVENLABS_AGENT_ID) to the Speech "
                         "Engine id the worker talks to")
    return agent_id


def make_session() -> BridgeSession:
    """A session for one room, configured from the environment."""
    return BridgeSession(signed_url_provider(agent_id_from_env()))


class _Captions:
    """Publishes the conversation's transcripts as LiveKit transcriptions (text
    streams on ``lk.transcription``, what livekit's clients render as captions)."""

    def __init__(self, room: rtc.Room, session: BridgeSession) -> None:
        self._room = room
        self._session = session
        self._tasks: set[asyncio.Task[None]] = set()
        self.failures = 0
        session.on("agent_response", lambda text: self._publish(text, agent=True))
        session.on("user_transcript", lambda text: self._publish(text, agent=False))

    def _publish(self, text: str, *, agent: bool) -> None:
        if not text:
            return
        task = asyncio.ensure_future(self._send(text, agent))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, text: str, agent: bool) -> None:
        attributes: Dict[str, str] = {"lk.segment_id": uuid.uuid4().hex[:12],
                                      "lk.transcription_final": "true"}
        if agent:
            sid = getattr(self._session.track, "sid", "")
            if sid:
                attributes["lk.transcribed_track_id"] = sid
        try:
            await self._room.local_participant.send_text(
                text, topic=TRANSCRIPTION_TOPIC, attributes=attributes)
        except Exception as exc:  # captions are optional: the room may not allow them
            self.failures += 1
            logger.debug("transcription not published (%s)", type(exc).__name__)


async def entrypoint(ctx: JobContext, *,
                     session_factory: Optional[SessionFactory] = None) -> None:
    """Bridge ``ctx.room`` to a conversation until either side ends."""
    session = (session_factory or make_session)()
    room = ctx.room

    # Registered before connect(): livekit subscribes to the tracks already in the
    # room during the connection, and those events come only once.
    def on_track_subscribed(track: rtc.Track, publication: Any,
                            participant: rtc.RemoteParticipant) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        local = room.local_participant
        if local is not None and participant.identity == local.identity:
            return
        session.add_track(participant.identity, track)

    def on_track_unsubscribed(track: rtc.Track, publication: Any,
                              participant: rtc.RemoteParticipant) -> None:
        if track.kind == rtc.TrackKind.KIND_AUDIO:
            session.remove_participant(participant.identity)

    def on_participant_disconnected(participant: rtc.RemoteParticipant) -> None:
        session.remove_participant(participant.identity)

    room.on("track_subscribed", on_track_subscribed)
    room.on("track_unsubscribed", on_track_unsubscribed)
    room.on("participant_disconnected", on_participant_disconnected)

    stopping = False

    async def shutdown(reason: str = "") -> None:
        nonlocal stopping
        stopping = True
        await session.aclose()

    ctx.add_shutdown_callback(shutdown)

    await ctx.connect()
    await session.start()
    await room.local_participant.publish_track(
        session.track, rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
    _Captions(room, session)

    def on_closed(error: Any) -> None:
        # The conversation is over (normal end, or every retry failed): the job is too.
        # Not when the job's own shutdown closed it.
        if not stopping:
            ctx.shutdown("conversation ended" if error is None else "conversation failed")

    session.on("closed", on_closed)
    if session.closed:
        on_closed(session.error)


def worker_options(**overrides: Any) -> WorkerOptions:
    """The worker's options: explicit dispatch under ``agent_name``."""
    kwargs: Dict[str, Any] = {"entrypoint_fnc": entrypoint, "agent_name": AGENT_NAME}
    kwargs.update(overrides)
    return WorkerOptions(**kwargs)
