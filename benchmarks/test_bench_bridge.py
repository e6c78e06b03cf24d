"""The ElevenLabs bridge, per 20 ms frame, and its latencies and capacity.

- in path: two participants' AudioStream frames (48 kHz, 2 x 10 ms each) → their
  converters → rings → one mixed slot → chunk → ``user_audio_chunk`` JSON; against
  the seed's way (livekit's ``rtc.AudioResampler`` per participant, JSON per frame,
  no mixing) measured in the same run.
- out path: ``audio`` event JSON → base64 → converter → FramePacer → one frame →
  ``rtc.AudioFrame``; plus livekit's ``capture_frame`` per frame on a real loop.
- latencies (one round each, figures in ``extra_info``): in, a click from a
  participant's source to the chunk at the service; out, an audio event to the first
  loud frame read back from the published track; barge-in, interruption to silence;
  pong, ping sent to pong received while a long reply is paced.
- capacity: process CPU seconds per second of one live session (two speaking
  participants, reply audio playing, pings), net of the same room without the bridge.

Run: ``python -m pytest benchmarks/test_bench_bridge.py --benchmark-only``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("livekit.plugins.elevenlabs_bridge")

import audiocore
from livekit import rtc
from livekit.plugins import elevenlabs_bridge as eb
from livekit.plugins.elevenlabs_bridge._formats import parse_format
from livekit.plugins.elevenlabs_bridge._mixer import InputMixer
from audiocore.bench.stepping import PacerStepper

TESTS = Path(__file__).resolve().parent.parent / "src/plugins/livekit-plugins-elevenlabs-bridge/tests"
sys.path.insert(0, str(TESTS))

from _bridge_audio import Speaker, TrackReader, tone  # noqa: E402
from _bridge_service import Service  # noqa: E402

FRAMES = 50  # one second of 20 ms frames per benchmarked call


def _voice(rate: int, seconds: float = 1.0, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (6000 * np.sin(2 * np.pi * freq * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
            ).astype(np.int16)


def _frames10(pcm: np.ndarray, rate: int) -> list:
    n = rate // 100
    return [rtc.AudioFrame(pcm[i:i + n].tobytes(), rate, 1, n)
            for i in range(0, len(pcm) - n + 1, n)]


# -- per frame ------------------------------------------------------------------------


@pytest.mark.benchmark(group="bridge-in")
def test_in_path_two_participants(benchmark):
    mixer = InputMixer(parse_format("pcm_16000"), frame_ms=20, chunk_ms=50)
    mixer.add("a")
    mixer.add("b")
    fa = _frames10(_voice(48000), 48000)
    fb = _frames10(_voice(48000, freq=330.0), 48000)
    chunk = eb.ConversationProtocol.user_audio_chunk
    sent = []

    def one_second():
        sent.clear()
        for i in range(FRAMES):
            for f in (fa[2 * i], fa[2 * i + 1]):
                mixer.feed("a", f.data, f.sample_rate, f.num_channels)
            for f in (fb[2 * i], fb[2 * i + 1]):
                mixer.feed("b", f.data, f.sample_rate, f.num_channels)
            mixer.mix_slot()
            for c in mixer.take_chunks():
                sent.append(chunk(c))

    benchmark(one_second)
    assert len(sent) in (19, 20, 21)
    benchmark.extra_info["per_frame_us"] = benchmark.stats.stats.mean / FRAMES * 1e6


@pytest.mark.benchmark(group="bridge-in")
def test_in_path_seed_way_peer(benchmark):
    """The seed: livekit resamples each participant's frames, each frame goes out as
    its own JSON message, the two participants interleaved rather than mixed."""
    ra = rtc.AudioResampler(48000, 16000, num_channels=1)
    rb = rtc.AudioResampler(48000, 16000, num_channels=1)
    fa = _frames10(_voice(48000), 48000)
    fb = _frames10(_voice(48000, freq=330.0), 48000)

    def one_second():
        for i in range(2 * FRAMES):
            for r, f in ((ra, fa[i]), (rb, fb[i])):
                for out in r.push(f):
                    json.dumps({"user_audio_chunk":
                                base64.b64encode(bytes(out.data)).decode()})

    benchmark(one_second)
    benchmark.extra_info["per_frame_us"] = benchmark.stats.stats.mean / FRAMES * 1e6


@pytest.mark.benchmark(group="bridge-out")
def test_out_path(benchmark):
    proto = eb.ConversationProtocol()
    proto.receive(json.dumps({"type": "conversation_initiation_metadata",
                              "conversation_initiation_metadata_event": {
                                  "conversation_id": "c", "user_input_audio_format": "pcm_16000",
                                  "agent_output_audio_format": "pcm_24000"}}))
    pcm = _voice(24000).tobytes()
    # The service's pieces are uneven; 50 ms on average here (20 per second).
    events = [json.dumps({"type": "audio", "audio_event": {
        "audio_base_64": base64.b64encode(pcm[i:i + 2400]).decode(), "event_id": 1}})
        for i in range(0, len(pcm), 2400)]
    conv = audiocore.Converter(24000, 1, 48000, 1)
    stepper = PacerStepper.for_pacer(audiocore.FramePacer(48000, frame_ms=20,
                                                          max_buffer_ms=60_000))
    frames = []

    def one_second():
        frames.clear()
        for text in events:
            ev = proto.receive(text)
            stepper.push(conv.process(ev.data))
        for _ in range(FRAMES - 1):  # the resampler holds back a few samples
            frames.append(rtc.AudioFrame(stepper.take(), 48000, 1, 960))

    benchmark(lambda: stepper.run(one_second))
    stepper.close()
    assert len(frames) == FRAMES - 1
    benchmark.extra_info["per_frame_us"] = benchmark.stats.stats.mean / (FRAMES - 1) * 1e6


@pytest.mark.benchmark(group="bridge-out")
def test_out_capture_frame(benchmark):
    """livekit's own cost per captured 20 ms frame (FFI request and its callback)."""
    loop = asyncio.new_event_loop()
    source = rtc.AudioSource(48000, 1, queue_size_ms=2000, loop=loop)
    frame = rtc.AudioFrame(_voice(48000, 0.02).tobytes(), 48000, 1, 960)

    async def one_second():
        for _ in range(FRAMES):
            await source.capture_frame(frame)
        source.clear_queue()

    benchmark(lambda: loop.run_until_complete(one_second()))
    loop.run_until_complete(source.aclose())
    loop.close()
    benchmark.extra_info["per_frame_us"] = benchmark.stats.stats.mean / FRAMES * 1e6


# -- latencies ------------------------------------------------------------------------


def _session(svc: Service, **kw) -> eb.BridgeSession:
    return eb.BridgeSession(eb.signed_url_provider(svc.agent_id, svc.api_key,
                                                   base_url=svc.http_url), **kw)


async def _latencies() -> dict:
    out: dict = {}
    async with Service(user_input_audio_format="pcm_16000",
                       agent_output_audio_format="pcm_24000") as svc:
        session = _session(svc)
        alice = Speaker("alice")
        session.add_track("alice", alice.track)
        await session.start()
        conv = await svc.next_conversation()
        reader = TrackReader(session.track, 48000)
        await asyncio.sleep(0.5)

        # In: onsets of 200 ms bursts, from the first capture_frame to the chunk.
        ins = []
        for _ in range(8):
            mark = len(conv.audio)
            t0 = time.perf_counter()
            await alice.say(tone(450, 8000, 0.2, 48000))
            await asyncio.sleep(0.3)
            pcm = np.frombuffer(bytes(conv.audio[mark:]), np.int16)
            loud = np.flatnonzero(np.abs(pcm) > 2000)
            if not len(loud):
                continue
            byte = mark + int(loud[0]) * 2
            # The chunk that carried the onset, and the time it arrived.
            total = 0
            for size, t in zip(conv.chunk_sizes, conv.chunk_times):
                total += size
                if total > byte:
                    ins.append(t - t0)
                    break
        out["in_ms"] = sorted(1000 * x for x in ins)

        # Out: an audio event sent → first loud frame read back from the track.
        outs, barge, pongs = [], [], []
        for i in range(6):
            t0 = time.perf_counter()
            await conv.send_audio(tone(500, 8000, 0.3, 24000).tobytes(), event_id=10 + i)
            await asyncio.sleep(0.6)
            t = reader.first_loud(t0)
            if t is not None:
                outs.append(t - t0)
        out["out_ms"] = sorted(1000 * x for x in outs)

        # Barge-in: a long reply, interrupted; interruption sent → silent track.
        for i in range(6):
            await conv.send_audio(tone(500, 8000, 3.0, 24000).tobytes(), event_id=100 + 2 * i)
            await asyncio.sleep(0.4)
            t0 = time.perf_counter()
            await conv.interrupt(101 + 2 * i)
            await asyncio.sleep(0.4)
            t = reader.silent_from(t0, t0 + 0.4)
            if t is not None:
                barge.append(t - t0)
        out["barge_in_ms"] = sorted(1000 * x for x in barge)

        # Pong round trips while 3 s of reply is being paced out.
        await conv.send_audio(tone(500, 8000, 3.0, 24000).tobytes(), event_id=200)
        for i in range(10):
            await asyncio.sleep(0.1)
            pongs.append(await conv.ping(1000 + i))
        out["pong_ms"] = sorted(1000 * x for x in pongs)
        out["bridge_pong_ms_max"] = session.stats["pong_latency_max_ms"]
        out["stated_input_delay_ms"] = session.input_delay * 1000
        out["stated_output_delay_ms"] = session.output_delay * 1000
        await reader.aclose()
        await session.aclose()
        await alice.aclose()
    return out


def test_latencies(benchmark):
    figures = benchmark.pedantic(lambda: asyncio.run(_latencies()), rounds=1, iterations=1)
    for key, value in figures.items():
        if isinstance(value, list) and value:
            benchmark.extra_info[key + "_median"] = value[len(value) // 2]
            benchmark.extra_info[key + "_max"] = value[-1]
        else:
            benchmark.extra_info[key] = value
    print("\nbridge latencies:", json.dumps(benchmark.extra_info, indent=1))
    assert figures["in_ms"] and figures["out_ms"] and figures["barge_in_ms"]


# -- capacity -------------------------------------------------------------------------


async def _room(seconds: float, bridged: int) -> float:
    """CPU seconds used while ``bridged`` sessions (0: the room alone) run for
    ``seconds``; each room has two speaking participants, a reader of the agent's
    track and a service sending reply audio and pings."""
    async with Service() as svc:
        rooms = []
        for _ in range(max(bridged, 1)):
            a, b = Speaker("a"), Speaker("b")
            session = _session(svc) if bridged else None
            if session is not None:
                session.add_track("a", a.track)
                session.add_track("b", b.track)
                await session.start()
                conv = await svc.next_conversation()
                track = session.track
            else:
                conv, track = None, rtc.LocalAudioTrack.create_audio_track(
                    "idle", rtc.AudioSource(48000, 1))
            rooms.append((a, b, session, conv, TrackReader(track, 48000)))
        await asyncio.sleep(0.3)
        c0 = time.process_time()
        speech = [s.say(tone(300 + 10 * i, 6000, seconds, 48000))
                  for i, r in enumerate(rooms) for s in r[:2]]

        async def agent(conv):
            for k in range(int(seconds / 0.5)):
                await conv.send_audio(tone(500, 6000, 0.5, 24000).tobytes(), event_id=k + 1)
                await conv.ping(k)
                await asyncio.sleep(0.5)

        talk = [agent(r[3]) for r in rooms if r[3] is not None]
        await asyncio.gather(*speech, *talk)
        used = time.process_time() - c0
        for a, b, session, conv, reader in rooms:
            await reader.aclose()
            if session is not None:
                await session.aclose()
            await a.aclose()
            await b.aclose()
    return used


def test_capacity(benchmark):
    """Sessions per core, from the CPU one session adds to its room (one session
    alone, and four at once: the second shows how it scales on this machine)."""
    seconds = 3.0

    def measure():
        base = asyncio.run(_room(seconds, 0))
        return base, asyncio.run(_room(seconds, 1)), asyncio.run(_room(seconds, 4))

    base, one, four = benchmark.pedantic(measure, rounds=1, iterations=1)
    # The room alone (its two participants feeding livekit, the track reader) is not
    # the bridge's cost: subtract it once per room.
    per1 = max(one - base, 1e-9) / seconds
    per4 = max(four - 4 * base, 1e-9) / 4 / seconds
    benchmark.extra_info.update({
        "cpu_per_session_1": per1, "sessions_per_core_1": 1 / per1,
        "cpu_per_session_4": per4, "sessions_per_core_4": 1 / per4,
        "room_only_cpu_s_per_s": base / seconds,
    })
    print("\nbridge capacity:", json.dumps(benchmark.extra_info, indent=1))
    assert per1 > 0 and per4 > 0
