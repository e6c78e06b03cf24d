"""BridgeSession against a conversation service on 127.0.0.1, with real LiveKit audio
objects: participants are AudioSource → LocalAudioTrack, and the published track is
read back with AudioStream.from_track."""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
import pytest

from livekit.plugins import elevenlabs_bridge as eb

from _bridge_audio import Speaker, TrackReader, level, mostly_at, tone, window_levels
from _bridge_service import Service


def session_for(svc: Service, **kw) -> eb.BridgeSession:
    return eb.BridgeSession(eb.signed_url_provider(svc.agent_id, svc.api_key,
                                                   base_url=svc.http_url), **kw)


async def settle(seconds: float) -> None:
    await asyncio.sleep(seconds)


@pytest.mark.asyncio
async def test_two_participants_arrive_mixed_and_continuous():
    async with Service(user_input_audio_format="pcm_16000") as svc:
        session = session_for(svc)
        a, b = Speaker("alice"), Speaker("bob")
        session.add_track("alice", a.track)
        session.add_track("alice", a.track)  # idempotent
        session.add_track("bob", b.track)
        await session.start()
        conv = await svc.next_conversation()
        await conv.wait_for(lambda: conv.initiation is not None)
        assert conv.initiation == {"type": "conversation_initiation_client_data"}
        await settle(0.2)
        start = len(conv.audio)
        await asyncio.gather(a.say(tone(450, 4000, 1.0, 48000)),
                             b.say(tone(1000, 8000, 1.0, 48000)))
        await settle(0.3)
        pcm = np.frombuffer(bytes(conv.audio[start:]), np.int16)
        await session.aclose()
        await a.aclose()
        await b.aclose()
    assert session.stats["participants"] == 2
    # Every chunk is chunk_ms of 16 kHz PCM, and they kept coming through silence.
    assert set(conv.chunk_sizes) == {1600}
    assert session.stats["chunks_sent"] == len(conv.chunk_sizes)
    # Both voices at their levels in each 20 ms window of the loud part: mixed, not
    # interleaved (interleaving would leave each window with one voice only).
    loud = np.flatnonzero(np.abs(pcm) > 3000)
    body = pcm[loud[0] + 1600:loud[-1] - 1600]
    assert len(body) > 16000 * 0.6
    assert mostly_at(window_levels(body, 450, 16000), 4000)
    assert mostly_at(window_levels(body, 1000, 16000), 8000)


@pytest.mark.asyncio
async def test_silence_is_sent_while_nobody_speaks():
    async with Service() as svc:
        session = session_for(svc, chunk_ms=40)
        await session.start()
        conv = await svc.next_conversation()
        await settle(0.5)
        await session.aclose()
    audio = np.frombuffer(bytes(conv.audio), np.int16)
    assert len(conv.chunk_sizes) >= 8  # 0.5 s at 40 ms, allowing for a slow start
    assert set(conv.chunk_sizes) == {1280}
    assert not audio.any()


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt,rate,sample_bytes", [
    ("pcm_8000", 8000, 2), ("pcm_16000", 16000, 2), ("pcm_22050", 22050, 2),
    ("pcm_24000", 24000, 2), ("pcm_44100", 44100, 2), ("pcm_48000", 48000, 2),
    ("ulaw_8000", 8000, 1)])
async def test_each_input_format(fmt, rate, sample_bytes):
    import audiocore
    async with Service(user_input_audio_format=fmt) as svc:
        session = session_for(svc)
        a = Speaker("alice")
        session.add_track("alice", a.track)
        await session.start()
        conv = await svc.next_conversation()
        await a.say(tone(300, 6000, 0.8, 48000))
        await settle(0.2)
        await session.aclose()
        await a.aclose()
    assert session.metadata.user_input_format.name == fmt
    assert set(conv.chunk_sizes) == {round(rate * 0.05) * sample_bytes}
    raw = bytes(conv.audio)
    pcm = np.frombuffer(audiocore.ulaw_decode(raw) if sample_bytes == 1 else raw, np.int16)
    loud = np.flatnonzero(np.abs(pcm) > 2000)
    body = pcm[loud[0] + rate // 20:loud[-1] - rate // 20]
    # As for the output formats: a short window is a late frame, not the format.
    assert mostly_at(window_levels(body, 300, rate), 6000, rel=0.1, share=0.8)


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt,rate", [
    ("pcm_8000", 8000), ("pcm_16000", 16000), ("pcm_22050", 22050),
    ("pcm_24000", 24000), ("pcm_44100", 44100), ("pcm_48000", 48000),
    ("ulaw_8000", 8000)])
async def test_each_output_format(fmt, rate):
    import audiocore
    async with Service(agent_output_audio_format=fmt) as svc:
        session = session_for(svc, output_rate=48000)
        await session.start()
        conv = await svc.next_conversation()
        reader = TrackReader(session.track, 48000)
        pcm = tone(500, 7000, 0.6, rate).tobytes()
        wire = audiocore.ulaw_encode(pcm) if fmt.startswith("ulaw") else pcm
        # Uneven pieces, sent at once: a burst the pacer spreads out.
        cuts = [0, 999 * 2, 3001 * 2, len(wire) // 2 * 2, len(wire)]
        if fmt.startswith("ulaw"):
            cuts = [0, 999, 3001, len(wire)]
        for i, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
            if hi > lo:
                await conv.send_audio(wire[lo:hi], event_id=1)
        await settle(1.0)
        await reader.aclose()
        await session.aclose()
    out = reader.audio()
    loud = np.flatnonzero(np.abs(out) > 2000)
    assert len(loud) and 0.55 <= (loud[-1] - loud[0]) / 48000 <= 0.75
    body = out[loud[0] + 2400:loud[-1] - 2400]
    # The level is the format's test; a window short of it is a frame the loaded
    # machine played late (a gap, not a wrong conversion), hence the 80 %.
    assert mostly_at(window_levels(body, 500, 48000), 7000, rel=0.1, share=0.8)
    assert session.stats["frames_out"] >= 29


@pytest.mark.asyncio
async def test_interruption_stops_playback_and_drops_only_older_audio():
    async with Service(agent_output_audio_format="pcm_16000") as svc:
        session = session_for(svc)
        await session.start()
        conv = await svc.next_conversation()
        reader = TrackReader(session.track, 48000)
        await conv.send_audio(tone(400, 8000, 3.0, 16000).tobytes(), event_id=1)
        await settle(0.5)
        sent = time.perf_counter()
        await conv.interrupt(2)
        await conv.send_audio(tone(400, 8000, 0.5, 16000).tobytes(), event_id=1)  # stale
        await settle(0.4)
        equal_sent = time.perf_counter()
        quiet = reader.audio(since=sent + 0.2)
        await conv.send_audio(tone(900, 8000, 0.4, 16000).tobytes(), event_id=2)  # equal id
        await settle(0.7)
        await reader.aclose()
        await session.aclose()
    silent_at = reader.silent_from(sent, equal_sent)
    assert silent_at is not None
    # Silence within one frame plus the source's queue, plus the reader's own frame.
    assert silent_at - sent < 0.02 + 0.1 + 0.06
    assert quiet.size and np.abs(quiet).max() < 200  # the stale reply never played
    after = reader.audio(since=equal_sent)
    assert level(after, 900, 48000) > 1000  # the equal-id reply did
    stats = session.stats
    assert stats["interruptions"] == 1 and stats["stale_audio_dropped"] == 1


@pytest.mark.asyncio
async def test_pings_are_answered_at_once_while_audio_is_paced():
    async with Service(agent_output_audio_format="pcm_24000") as svc:
        session = session_for(svc)
        await session.start()
        conv = await svc.next_conversation()
        await conv.send_audio(tone(400, 8000, 2.0, 24000).tobytes(), event_id=1)
        trips = []
        for i in range(5):
            await settle(0.1)
            trips.append(await conv.ping(10 + i))
        playing = session._playout.pacer.buffered_ms
        await session.aclose()
    assert playing > 1000  # the reply was still being paced out during the pings
    # Answered before the reply played: far less than one frame of playback each.
    assert max(trips) < 0.5
    assert session.stats["pings"] == 5
    assert session.stats["pong_latency_max_ms"] is not None


@pytest.mark.asyncio
async def test_reconnects_with_a_fresh_signed_url_after_a_drop():
    async with Service() as svc:
        session = session_for(svc, backoff=0.05)
        a = Speaker("alice")
        session.add_track("alice", a.track)
        reconnected = asyncio.Event()
        session.on("reconnected", lambda attempt: reconnected.set())
        await session.start()
        first = await svc.next_conversation()
        await settle(0.2)
        await first.ws.close(code=1011, message=b"internal")
        second = await svc.next_conversation()
        await asyncio.wait_for(reconnected.wait(), 5)
        await a.say(tone(440, 5000, 0.3, 48000))
        await settle(0.3)
        assert not session.closed
        await session.aclose()
        await a.aclose()
    assert len(svc.issued) == 2 and svc.issued[0] != svc.issued[1]
    assert session.stats["reconnects"] == 1
    assert session.stats["last_close_code"] == 1011
    assert np.abs(np.frombuffer(bytes(second.audio), np.int16)).max() > 2000


@pytest.mark.asyncio
async def test_stale_audio_count_survives_a_reconnect():
    async with Service(agent_output_audio_format="pcm_16000") as svc:
        session = session_for(svc, backoff=0.05)
        reconnected = asyncio.Event()
        session.on("reconnected", lambda attempt: reconnected.set())
        await session.start()
        first = await svc.next_conversation()
        await first.interrupt(2)
        await first.send_audio(tone(400, 8000, 0.1, 16000).tobytes(), event_id=1)  # stale
        await settle(0.2)
        assert session.stats["stale_audio_dropped"] == 1
        await first.ws.close(code=1011, message=b"internal")
        await svc.next_conversation()
        await asyncio.wait_for(reconnected.wait(), 5)
        stats = session.stats
        await session.aclose()
    assert stats["reconnects"] == 1
    assert stats["stale_audio_dropped"] == 1


@pytest.mark.asyncio
async def test_normal_close_ends_the_session():
    async with Service() as svc:
        session = session_for(svc)
        await session.start()
        conv = await svc.next_conversation()
        await conv.ws.close(code=1000)
        await asyncio.wait_for(session.wait_closed(), 5)
    assert session.error is None
    assert session.stats["reconnects"] == 0 and len(svc.all) == 1


@pytest.mark.asyncio
async def test_gives_up_after_bounded_retries():
    async with Service() as svc:
        calls = 0

        async def flaky() -> str:
            nonlocal calls
            calls += 1
            if calls == 1:
                return svc.mint()
            return svc.ws_url("never-issued")  # 403 from now on

        session = eb.BridgeSession(flaky, backoff=0.01, max_retries=3)
        await session.start()
        conv = await svc.next_conversation()
        await conv.ws.close(code=1011)
        await asyncio.wait_for(session.wait_closed(), 5)
    # A refused URL fails at once, without the remaining retries.
    assert isinstance(session.error, eb.SignedURLRefusedError)
    assert calls == 2


@pytest.mark.asyncio
async def test_refused_key_fails_fast():
    async with Service() as svc:
        session = eb.BridgeSession(eb.signed_url_provider(
            svc.agent_id, "xi_wrong_key", base_url=svc.http_url))
        with pytest.raises(eb.SignedURLRefusedError, match="HTTP 401") as info:
            await session.start()
        assert svc.refused == 1
    assert "xi_wrong_key" not in str(info.value)


@pytest.mark.asyncio
async def test_refused_signed_url_fails_fast():
    async with Service() as svc:
        url = svc.ws_url("forged")
        session = eb.BridgeSession(url)
        t0 = time.perf_counter()
        with pytest.raises(eb.SignedURLRefusedError, match="HTTP 403") as info:
            await session.start()
        assert time.perf_counter() - t0 < 2
    assert "forged" not in str(info.value) and "forged" not in repr(session)


@pytest.mark.asyncio
async def test_client_tools():
    async def lookup(params):
        return {"city": params["q"].upper()}

    def broken(params):
        raise RuntimeError("no database")

    async with Service() as svc:
        session = session_for(svc, client_tools={"lookup": lookup, "broken": broken})
        await session.start()
        conv = await svc.next_conversation()
        for name, cid in (("lookup", "t1"), ("broken", "t2"), ("missing", "t3")):
            await conv.send({"type": "client_tool_call", "client_tool_call": {
                "tool_name": name, "tool_call_id": cid, "parameters": {"q": "paris"}}})
        await conv.wait_for(lambda: len(conv.tool_results) == 3)
        await session.aclose()
    results = {r["tool_call_id"]: r for r in conv.tool_results}
    assert results["t1"]["is_error"] is False and "PARIS" in results["t1"]["result"]
    assert results["t2"]["is_error"] is True and "no database" in results["t2"]["result"]
    assert results["t3"]["is_error"] is True


@pytest.mark.asyncio
async def test_transcripts_are_events():
    got = []
    async with Service() as svc:
        session = session_for(svc)
        session.on("user_transcript", lambda t: got.append(("user", t)))
        session.on("agent_response", lambda t: got.append(("agent", t)))
        await session.start()
        conv = await svc.next_conversation()
        await conv.send({"type": "user_transcript",
                         "user_transcription_event": {"user_transcript": "hello"}})
        await conv.send({"type": "agent_response",
                         "agent_response_event": {"agent_response": "hi"}})
        await conv.send({"type": "garbage"})
        await conv.ws.send_str("{not json")
        await settle(0.2)
        await session.aclose()
    assert got == [("user", "hello"), ("agent", "hi")]
    assert session.stats["malformed_messages"] == 1


@pytest.mark.asyncio
async def test_removed_participant_is_no_longer_mixed():
    async with Service() as svc:
        session = session_for(svc)
        a = Speaker("alice")
        session.add_track("alice", a.track)
        await session.start()
        conv = await svc.next_conversation()
        session.remove_participant("alice")
        await settle(0.1)
        start = len(conv.audio)
        await a.say(tone(440, 5000, 0.4, 48000))
        await settle(0.2)
        await session.aclose()
        await a.aclose()
    assert session.stats["participants"] == 0
    assert not np.frombuffer(bytes(conv.audio[start:]), np.int16).any()


def test_bad_arguments():
    with pytest.raises(ValueError, match="signed_url"):
        eb.BridgeSession("https://example.com")
    with pytest.raises(TypeError, match="signed_url"):
        eb.BridgeSession(42)
    with pytest.raises(ValueError, match="output_rate"):
        eb.BridgeSession("wss://x/y", output_rate=12345)
    with pytest.raises(ValueError, match="frame_ms"):
        eb.BridgeSession("wss://x/y", frame_ms=15)
    with pytest.raises(ValueError, match="chunk_ms"):
        eb.BridgeSession("wss://x/y", chunk_ms=10)
    with pytest.raises(ValueError, match="queue_ms"):
        eb.BridgeSession("wss://x/y", queue_ms=5)
    with pytest.raises(TypeError, match="client_tools"):
        eb.BridgeSession("wss://x/y", client_tools={"a": 1})
    with pytest.raises(ValueError, match="api_key"):
        eb.signed_url_provider("agent", api_key="")


@pytest.mark.asyncio
async def test_secrets_absent_from_logs_at_debug(caplog):
    caplog.set_level(logging.DEBUG)
    async with Service() as svc:
        provider = eb.signed_url_provider(svc.agent_id, svc.api_key, base_url=svc.http_url)
        session = eb.BridgeSession(provider, backoff=0.01)
        await session.start()
        conv = await svc.next_conversation()
        await conv.ws.close(code=1011)
        await svc.next_conversation()
        await settle(0.2)
        await session.aclose()
        bad = eb.BridgeSession(svc.ws_url("forged-signature-value"))
        with pytest.raises(eb.SignedURLRefusedError) as info:
            await bad.start()
    text = caplog.text + repr(provider) + repr(session) + str(info.value)
    assert "conversation" in caplog.text  # the logs did talk about it
    for secret in [svc.api_key, "forged-signature-value", *svc.issued]:
        assert secret not in text
