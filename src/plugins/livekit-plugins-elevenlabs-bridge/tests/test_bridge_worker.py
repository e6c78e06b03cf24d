"""The worker's entrypoint against a fake JobContext whose room emits livekit's
events; the audio objects and the conversation service are real."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any, List

import numpy as np
import pytest
from livekit import rtc

from livekit.plugins.elevenlabs_bridge import worker

from _bridge_audio import Speaker, tone
from _bridge_service import Service


class FakeLocalParticipant:
    def __init__(self) -> None:
        self.identity = "agent-bridge"
        self.published: List[rtc.LocalTrack] = []
        self.texts: List[tuple] = []

    async def publish_track(self, track: rtc.LocalTrack, options: Any = None) -> Any:
        self.published.append(track)
        return SimpleNamespace(sid="TR_agent")

    async def send_text(self, text: str, *, topic: str = "", attributes: Any = None,
                        **kw: Any) -> Any:
        self.texts.append((topic, text, dict(attributes or {})))


class FakeRoom(rtc.EventEmitter[str]):
    def __init__(self) -> None:
        super().__init__()
        self.local_participant = FakeLocalParticipant()


class FakeJobContext:
    """What the entrypoint uses of livekit's JobContext. connect() subscribes to the
    tracks already in the room, as livekit does during the handshake: a listener
    registered after connect() would miss them."""

    def __init__(self, existing: List[tuple]) -> None:
        self.room = FakeRoom()
        self._existing = existing
        self.callbacks: List[Any] = []
        self.shutdown_reason: Any = None
        self.connected = False

    def add_shutdown_callback(self, cb: Any) -> None:
        self.callbacks.append(cb)

    async def connect(self, **kw: Any) -> None:
        self.connected = True
        for track, participant in self._existing:
            self.room.emit("track_subscribed", track, SimpleNamespace(sid="PUB"),
                           participant)

    def shutdown(self, reason: str = "") -> None:
        self.shutdown_reason = reason

    async def run_shutdown(self) -> None:
        for cb in self.callbacks:
            await cb(self.shutdown_reason or "test")


def participant(identity: str) -> Any:
    return SimpleNamespace(identity=identity)


@pytest.mark.asyncio
async def test_entrypoint_bridges_the_room(monkeypatch):
    async with Service() as svc:
        monkeypatch.setenv("ELEVENLABS_API_KEY", svc.api_key)
        monkeypatch.setenv("SPEECH_ENGINE_ID", svc.agent_id)
        monkeypatch.delenv("ELEVENLABS_AGENT_ID", raising=False)
        monkeypatch.setenv("ELEVENLABS_API_URL", svc.http_url)
        alice, bob, own = Speaker("alice"), Speaker("bob"), Speaker("agent-echo")
        made = []
        real_make = worker.make_session
        monkeypatch.setattr(worker, "make_session",
                            lambda: made.append(real_make()) or made[-1])
        ctx = FakeJobContext([(alice.track, participant("alice")),
                              (own.track, participant("agent-bridge"))])
        await worker.entrypoint(ctx)
        conv = await svc.next_conversation()
        assert ctx.connected and ctx.callbacks
        published = ctx.room.local_participant.published
        assert len(published) == 1 and isinstance(published[0], rtc.LocalAudioTrack)
        # A participant who joins later.
        ctx.room.emit("track_subscribed", bob.track, SimpleNamespace(sid="PUB2"),
                      participant("bob"))
        await asyncio.sleep(0.1)
        start = len(conv.audio)
        await asyncio.gather(alice.say(tone(450, 4000, 0.5, 48000)),
                             own.say(tone(1000, 8000, 0.5, 48000)))
        # The chunks are continuous: wait for 0.7 s of them (the tone and what is still
        # in flight), however slowly a busy machine delivers them.
        for _ in range(200):
            if len(conv.audio) - start >= 2 * 16000 * 7 // 10:
                break
            await asyncio.sleep(0.05)
        heard = np.frombuffer(bytes(conv.audio[start:]), np.int16)
        # Bob leaves; the session follows.
        assert made[0].stats["participants"] == 2
        ctx.room.emit("participant_disconnected", participant("bob"))
        assert made[0].stats["participants"] == 1
        await conv.send({"type": "agent_response",
                         "agent_response_event": {"agent_response": "Hello there"}})
        await conv.send({"type": "user_transcript",
                         "user_transcription_event": {"user_transcript": "hi"}})
        await asyncio.sleep(0.2)
        texts = list(ctx.room.local_participant.texts)
        await ctx.run_shutdown()
        await asyncio.sleep(0.1)
        assert ctx.shutdown_reason is None  # closing in the shutdown does not re-trigger it
        for s in (alice, bob, own):
            await s.aclose()
        assert conv.closed.is_set()  # the shutdown callback closed the conversation
    from _bridge_audio import window_levels
    # Per 20 ms window, so the verdict does not depend on when the tone fell in the take.
    assert window_levels(heard, 450, 16000).max() > 2000   # alice is bridged (4000)
    assert window_levels(heard, 1000, 16000).max() < 100   # the worker's own track is not
    assert ("lk.transcription", "Hello there") in [(t, x) for t, x, _ in texts]
    assert ("lk.transcription", "hi") in [(t, x) for t, x, _ in texts]


@pytest.mark.asyncio
async def test_entrypoint_ends_the_job_when_the_conversation_ends(monkeypatch):
    async with Service() as svc:
        monkeypatch.setenv("ELEVENLABS_API_KEY", svc.api_key)
        monkeypatch.delenv("SPEECH_ENGINE_ID", raising=False)
        monkeypatch.setenv("ELEVENLABS_AGENT_ID", svc.agent_id)
        monkeypatch.setenv("ELEVENLABS_API_URL", svc.http_url)
        ctx = FakeJobContext([])
        await worker.entrypoint(ctx)
        conv = await svc.next_conversation()
        await conv.ws.close(code=1000)
        for _ in range(100):
            if ctx.shutdown_reason:
                break
            await asyncio.sleep(0.05)
        await ctx.run_shutdown()
    assert ctx.shutdown_reason == "conversation ended"


def test_worker_options_use_explicit_dispatch():
    opts = worker.worker_options()
    assert opts.agent_name == "elevenlabs-bridge"
    assert opts.entrypoint_fnc is worker.entrypoint


def test_missing_agent_id_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("SPEECH_ENGINE_ID", raising=False)
    monkeypatch.delenv("ELEVENLABS_AGENT_ID", raising=False)
    with pytest.raises(ValueError, match="SPEECH_ENGINE_ID"):
        worker.make_session()


def test_module_refuses_to_start_without_configuration():
    env = {k: v for k, v in os.environ.items()
           if k not in ("SPEECH_ENGINE_ID", "ELEVENLABS_AGENT_ID", "ELEVENLABS_API_KEY")}
    proc = subprocess.run([sys.executable, "-m", "livekit.plugins.elevenlabs_bridge", "dev"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "SPEECH_ENGINE_ID" in proc.stderr


@pytest.mark.asyncio
async def test_worker_process_registers_at_the_livekit_url():
    """``python -m livekit.plugins.elevenlabs_bridge start`` connects to LIVEKIT_URL
    (here a 127.0.0.1 stand-in for the server's /agent endpoint) and registers for
    explicit dispatch under its agent name."""
    from aiohttp import WSMsgType, web
    from livekit.protocol import agent as agent_pb

    registered: "asyncio.Future[agent_pb.RegisterWorkerRequest]" = \
        asyncio.get_running_loop().create_future()
    auth = {}

    async def endpoint(request: web.Request) -> web.WebSocketResponse:
        auth["header"] = request.headers.get("Authorization", "")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.BINARY and not registered.done():
                m = agent_pb.WorkerMessage()
                m.ParseFromString(msg.data)
                if m.HasField("register"):
                    registered.set_result(m.register)
        return ws

    app = web.Application()
    app.router.add_get("/agent", endpoint)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    env = dict(os.environ, LIVEKIT_URL=f"ws://127.0.0.1:{port}", LIVEKIT_API_KEY="devkey",
               LIVEKIT_API_SECRET="s" * 32, ELEVENLABS_API_KEY="xi_test",
               SPEECH_ENGINE_ID="agent_test")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "livekit.plugins.elevenlabs_bridge", "start", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        register = await asyncio.wait_for(registered, 60)
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
        await runner.cleanup()
    assert register.agent_name == "elevenlabs-bridge"
    assert auth["header"].startswith("Bearer ")
