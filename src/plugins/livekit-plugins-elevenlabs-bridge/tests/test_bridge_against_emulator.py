"""The bridge against the conversation emulator: turns detected from the bridged
audio, barge-in with stale and equal-id audio, pings under paced playback, drops,
stalls and refusals."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from livekit.plugins import elevenlabs_bridge as eb
from livekit.plugins.elevenlabs_bridge.emulator import Brain, Emulator, Faults

from _bridge_audio import Speaker, TrackReader, tone

LONG = " ".join(["word"] * 24)  # 24 x 280 ms of reply audio: about 6.7 s


def bridge(emu: Emulator, **kw) -> eb.BridgeSession:
    return eb.BridgeSession(eb.signed_url_provider("agent_test", "xi_test",
                                                   base_url=emu.http_url), **kw)


@pytest.mark.asyncio
async def test_a_turn_through_the_bridge():
    events = []
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        brain=Brain(["the answer"]), speech="deterministic",
                        ping_interval=0.2) as emu:
        session = bridge(emu)
        session.on("user_transcript", lambda t: events.append(("user", t)))
        session.on("agent_response", lambda t: events.append(("agent", t)))
        alice = Speaker("alice")
        session.add_track("alice", alice.track)
        await session.start()
        reader = TrackReader(session.track, 48000)
        await asyncio.sleep(0.3)
        spoke = time.perf_counter()
        await alice.say(tone(450, 8000, 0.6, 48000))
        for _ in range(60):
            if reader.first_loud(spoke + 0.6) is not None and session.stats["audio_events"]:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.8)
        rec = emu.records.conversations[0]
        await reader.aclose()
        await session.aclose()
        await alice.aclose()
    assert [kind for kind, _ in events] == ["user", "agent"]
    assert events[1][1] == "the answer"
    assert len(rec.utterances) == 1
    assert 0.45 < rec.utterances[0].end - rec.utterances[0].start < 0.8
    assert reader.first_loud(spoke + 0.6) is not None  # the reply was heard on the track
    assert rec.pongs and session.stats["pings"] >= 1


@pytest.mark.asyncio
@pytest.mark.parametrize("inp,out", [("pcm_16000", "pcm_24000"), ("ulaw_8000", "pcm_44100"),
                                     ("pcm_48000", "ulaw_8000")])
async def test_barge_in_drops_stale_audio_and_plays_the_new_reply(inp, out):
    interrupted = []
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        user_input_audio_format=inp, agent_output_audio_format=out,
                        brain=Brain(["new reply here"], first_message=LONG),
                        faults=Faults(stale_audio=True), speech="deterministic",
                        ping_interval=0.5, speed=4.0) as emu:
        session = bridge(emu)
        session.on("interruption", lambda eid: interrupted.append((time.perf_counter(), eid)))
        alice = Speaker("alice")
        session.add_track("alice", alice.track)
        await session.start()
        reader = TrackReader(session.track, 48000)
        await asyncio.sleep(1.5)  # the first message is playing
        await alice.say(tone(450, 8000, 0.6, 48000))
        for _ in range(80):
            rec = emu.records.conversations[0]
            if len(rec.replies) >= 2 and rec.replies[1].complete:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)
        await reader.aclose()
        await session.aclose()
        await alice.aclose()
    rec = emu.records.conversations[0]
    assert rec.replies[0].interrupted and rec.replies[0].stale_sent
    (t_int, eid), = interrupted
    assert eid == rec.interruptions[0] == rec.replies[1].event_id
    stats = session.stats
    assert stats["interruptions"] == 1 and stats["stale_audio_dropped"] >= 1
    # The interrupted reply stops: little of it is heard after the interruption
    # arrived (one frame plus queue_ms, with room for a loaded machine), although
    # seconds of it had been received.
    heard = [f for t, f in reader.frames if t_int <= t < t_int + 0.35]
    loud_ms = sum(10 for f in heard if np.abs(f).max() > 500)
    assert loud_ms <= 250
    # The reply with the interruption's own id plays in full.
    assert reader.first_loud(t_int + 0.4) is not None


@pytest.mark.asyncio
async def test_pongs_while_a_long_reply_is_paced():
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        brain=Brain(first_message=LONG), speech="deterministic",
                        ping_interval=0.1, speed=8.0) as emu:
        session = bridge(emu)
        await session.start()
        await asyncio.sleep(1.5)
        buffered = session._playout.pacer.buffered_ms
        rec = emu.records.conversations[0]
        await session.aclose()
    assert buffered > 2000  # seconds of reply still waiting to be played
    assert len(rec.pong_latencies) >= 8
    # No pong waited behind the reply: each came back long before a frame of the
    # queued audio could have played out (not a timing benchmark: a waiting receive
    # loop would take seconds).
    assert max(rec.pong_latencies) < 1.0
    assert session.stats["pings"] == len(rec.pongs)


@pytest.mark.asyncio
async def test_reconnects_after_a_drop_and_keeps_the_room_side():
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        faults=Faults(drop_after_seconds=0.4, conversations={1}),
                        speech="deterministic", ping_interval=0.2) as emu:
        session = bridge(emu, backoff=0.05)
        alice = Speaker("alice")
        session.add_track("alice", alice.track)
        await session.start()
        track = session.track
        renewed = asyncio.Event()
        session.on("reconnected", lambda attempt: renewed.set())
        await asyncio.wait_for(renewed.wait(), 10)
        await alice.say(tone(450, 8000, 0.6, 48000))
        await asyncio.sleep(0.6)
        recs = emu.records.conversations
        await session.aclose()
        await alice.aclose()
    assert recs[0].closed_by == "drop"
    assert session.track is track  # the published track survived the reconnect
    assert session.stats["reconnects"] == 1 and session.stats["conversations"] == 2
    assert len(emu.records.signed_url_requests) == 2  # a fresh signed URL
    assert recs[1].user_audio_seconds > 0.5
    assert len(recs[1].utterances) == 1


@pytest.mark.asyncio
async def test_a_stalled_conversation_is_renewed():
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        faults=Faults(stall_after_pings=1, conversations={1}),
                        speech="deterministic", ping_interval=0.1) as emu:
        session = bridge(emu, backoff=0.05, idle_timeout=0.5)
        renewed = asyncio.Event()
        session.on("reconnected", lambda attempt: renewed.set())
        await session.start()
        await asyncio.wait_for(renewed.wait(), 10)
        await session.aclose()
    assert session.stats["reconnects"] == 1


@pytest.mark.asyncio
async def test_refused_key_fails_fast_without_retries():
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        speech="deterministic") as emu:
        session = eb.BridgeSession(eb.signed_url_provider(
            "agent_test", "xi_not_this_one", base_url=emu.http_url), max_retries=5)
        with pytest.raises(eb.SignedURLRefusedError) as info:
            await session.start()
        assert len(emu.records.signed_url_requests) == 1
    assert info.value.status == 401
    assert "xi_not_this_one" not in str(info.value)


@pytest.mark.asyncio
async def test_refusal_during_a_reconnect_ends_the_session():
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        faults=Faults(drop_after_seconds=0.3, conversations={1}),
                        speech="deterministic") as emu:
        session = bridge(emu, backoff=0.05)
        await session.start()
        emu.faults.refuse_signed_url = 403
        await asyncio.wait_for(session.wait_closed(), 10)
    assert isinstance(session.error, eb.SignedURLRefusedError)
    assert len(emu.records.signed_url_requests) == 2


@pytest.mark.asyncio
async def test_malformed_messages_are_survived():
    async with Emulator(api_keys={"xi_test"}, agent_id="agent_test",
                        faults=Faults(malformed=["{not json", "[1]", '{"type": 5}']),
                        speech="deterministic", ping_interval=0.1) as emu:
        session = bridge(emu)
        await session.start()
        await asyncio.sleep(0.4)
        await session.aclose()
    assert session.stats["malformed_messages"] >= 3
    assert session.stats["pings"] >= 2
