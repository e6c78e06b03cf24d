"""The 60db plugin's own audio paths, per 20 ms of audio.

- ``stt-frame``: a room's 10 ms 48 kHz stereo frames to the 8 kHz μ-law messages the
  STT socket sends (the plugin's ``AudioFramer``: one ``audiocore.Converter``, realtime
  engine, then fixed frames into the replay buffer and out), against the seed's own path
  in the same run: ``audioop.tomono`` + ``ratecv`` + ``lin2ulaw`` (no anti-alias filter).
- ``tts-chunk``: a received ``audio_chunk`` message to the PCM handed to livekit's
  emitter (JSON, base64, sample alignment; plus μ-law decode and 8 -> 16 kHz in one
  Converter for MULAW).

Each benchmarked call covers one second of audio: divide by 50 for 20 ms. Run:

    pytest benchmarks/test_bench_60db.py --benchmark-group-by=group \
        --benchmark-columns=median,iqr,ops
"""

from __future__ import annotations

import base64
import json
import math
import warnings

import pytest

import audiocore

pytest.importorskip("livekit.plugins._60db")

from livekit.plugins._60db._replay import ReplayBuffer  # noqa: E402
from livekit.plugins._60db._stt_audio import AudioFramer  # noqa: E402
from livekit.plugins._60db._tts_protocol import TtsConnectionState  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # stdlib <= 3.12, audioop-lts >= 3.13

ROUNDS, ITERATIONS, WARMUP = 40, 1, 5


def _voice(rate: int, seconds: float, channels: int) -> bytes:
    n = int(rate * seconds)
    out = bytearray()
    for i in range(n):
        t = i / rate
        v = int(6000 * math.sin(2 * math.pi * 130 * t) + 2500 * math.sin(2 * math.pi * 1500 * t)
                + 1200 * math.sin(2 * math.pi * 3100 * t))
        out += v.to_bytes(2, "little", signed=True) * channels
    return bytes(out)


ROOM = _voice(48000, 1.0, 2)
ROOM_FRAMES = [ROOM[i:i + 1920] for i in range(0, len(ROOM), 1920)]  # 10 ms each


def _plugin_stt_second(framer: AudioFramer, replay: ReplayBuffer) -> int:
    sent = 0
    for frame in ROOM_FRAMES:
        framer.push(frame, 48000, 2)
        while (out := replay.peek()) is not None:  # what the socket is handed
            replay.mark_sent(out)
            sent += len(out)
        replay.mark_final()  # keep the buffer from growing across rounds
    return sent


def _seed_stt_second() -> int:
    state = None
    sent = 0
    for frame in ROOM_FRAMES:
        mono = audioop.tomono(frame, 2, 0.5, 0.5)
        pcm, state = audioop.ratecv(mono, 2, 1, 48000, 8000, state)
        sent += len(audioop.lin2ulaw(pcm, 2))
    return sent


@pytest.mark.benchmark(group="60db stt-frame (1 s of 10 ms 48k stereo -> 8k mulaw)")
@pytest.mark.parametrize("impl", ["plugin (audiocore)", "seed (audioop)"])
def test_stt_frame_path(benchmark: pytest.FixtureRequest, impl: str) -> None:
    if impl.startswith("plugin"):
        replay = ReplayBuffer(1 << 20, 0)
        framer = AudioFramer(out_rate=8000, encoding="mulaw", frame_bytes=160, replay=replay)
        sent = benchmark.pedantic(_plugin_stt_second, args=(framer, replay), rounds=ROUNDS,
                                  iterations=ITERATIONS, warmup_rounds=WARMUP)
    else:
        sent = benchmark.pedantic(_seed_stt_second, rounds=ROUNDS, iterations=ITERATIONS,
                                  warmup_rounds=WARMUP)
    assert abs(sent - 8000) <= 160  # one second of 8 kHz μ-law, give or take a frame


def _chunks(encoding: str, rate: int) -> list[str]:
    width = 2 if encoding == "LINEAR16" else 1
    pcm = _voice(rate, 1.0, 1)
    data = pcm if width == 2 else audiocore.ulaw_encode(pcm)
    # the uneven sizes the service sends, odd ones splitting samples
    sizes, out, pos, k = (3201, 1279, 4800, 955, 2048, 6001, 511, 3840), [], 0, 0
    while pos < len(data):
        n = sizes[k % len(sizes)]
        out.append(json.dumps({"audio_chunk": {"context_id": "c",
                                               "audioContent": base64.b64encode(
                                                   data[pos:pos + n]).decode()}}))
        pos, k = pos + n, k + 1
    return out


def _tts_second(encoding: str, service_rate: int, out_rate: int, messages: list[str]) -> int:
    state = TtsConnectionState()
    state.create_context("c", voice_id="v", encoding=encoding, sample_rate=service_rate)
    state.flush_context("c")
    conv = None
    if encoding == "MULAW" or service_rate != out_rate:
        conv = audiocore.Converter(service_rate, 1, out_rate, 1, engine="realtime",
                                   in_encoding="mulaw" if encoding == "MULAW" else "pcm16")
    emitted = 0
    for msg in messages:
        for ev in state.receive(msg):
            data = ev.data  # type: ignore[attr-defined]
            if conv is not None:
                data = conv.process(data)
            emitted += len(data)
    return emitted


@pytest.mark.benchmark(group="60db tts-chunk (1 s of audio_chunk -> PCM16 for the emitter)")
@pytest.mark.parametrize("encoding, service_rate, out_rate", [
    ("LINEAR16", 16000, 16000), ("MULAW", 8000, 16000), ("LINEAR16", 24000, 48000)])
def test_tts_chunk_path(benchmark: pytest.FixtureRequest, encoding: str, service_rate: int,
                        out_rate: int) -> None:
    messages = _chunks(encoding, service_rate)
    emitted = benchmark.pedantic(_tts_second, args=(encoding, service_rate, out_rate,
                                                    messages),
                                 rounds=ROUNDS, iterations=ITERATIONS, warmup_rounds=WARMUP)
    assert abs(emitted - 2 * out_rate) <= 2 * out_rate // 50
