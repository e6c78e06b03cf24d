"""The 60db plugin's audio paths, timed against the seed's own path in the same run.

``test_bench_60db.py`` times the plugin's sans-I/O cores alone (the STT framer, the TTS
message decoder); this file times the same paths as an agent runs them: through
livekit's ``RecognizeStream`` / ``ChunkedStream`` machinery and the plugin's tasks,
with a fake socket at the far end. Lives here, not in ``audiocore bench``: the core
never imports a plugin. Run with
``.venv/bin/python -m pytest benchmarks/test_bench_60db_streams.py`` (add ``--benchmark-only``
to skip nothing: every test here uses the ``benchmark`` fixture), or as a script,
``.venv/bin/python benchmarks/test_bench_60db_streams.py``, for the table alone.

- **STT**, 48 kHz stereo 10 ms frames → 8 kHz μ-law: the cost from ``push_frame`` to
  the bytes handed to the socket. Ours is the plugin's ``SpeechStream`` (one
  ``audiocore.Converter``: downmix, filtered resampling, μ-law; fixed 20 ms frames;
  the replay buffer). The peer is the seed's path in a livekit ``RecognizeStream`` of
  its own: ``audioop.tomono`` + ``ratecv`` (no anti-alias filter) + ``lin2ulaw``, one
  send per frame. Both run through livekit's input channel and a fake socket that only
  counts bytes, so what differs is the plugin's own work. Target: ours ≤ 1.0 × peer.
- **TTS**, ``audio_chunk`` messages of 100 ms (LINEAR16 16 kHz, and μ-law 8 kHz
  converted to 16 kHz) → frames out of livekit's ``AudioEmitter``: the cost per chunk,
  taken as the slope between requests of few and many chunks (so the request's own
  set-up cancels out). Reported beside the floor every client pays, ``json.loads`` +
  ``base64.b64decode`` of the same messages. No target: a report.

Figures are CPU µs (this thread's CPU time: the event loop runs on it) per 20 ms of
audio; batches of both sides alternate round by round and ratios are taken per round,
then the median (as ``audiocore bench`` does).
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import statistics
import sys
import time
import warnings
from array import array
from typing import Any, Callable, Dict, List, Optional

import pytest

pytest.importorskip("livekit.plugins._60db.stt", reason="the 60db plugin is not installed")

from livekit import rtc  # noqa: E402
from livekit.agents import APIConnectOptions, stt as lk_stt, tts as lk_tts  # noqa: E402

from livekit.plugins._60db import STT, TTS  # noqa: E402
from livekit.plugins._60db import stt as stt_module  # noqa: E402
from livekit.plugins._60db import tts as tts_module  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop  # type: ignore[import-not-found]  # stdlib until 3.12, audioop-lts on 3.13
    except ImportError:  # pragma: no cover - 3.13 without audioop-lts
        audioop = None

KEY = "bench-key-not-a-secret"
# CPU time of this thread: everything timed runs on it (the event loop included), and
# the other builds sharing the machine do not count against either side.
_clock = time.thread_time
IN_RATE, IN_CHANNELS, FRAME_MS = 48000, 2, 10
FRAMES_PER_BATCH = 100  # one second of audio
STT_TARGET = 1.0
ROUNDS = 25
CHUNK_MS = 100
FEW, MANY = 2, 42  # chunks per TTS request for the slope


def _room_frames(n: int) -> List[bytes]:
    """Speech-band content, both channels different (a downmix has work to do)."""
    spf = IN_RATE * FRAME_MS // 1000
    out = []
    for f in range(n):
        a = array("h")
        for i in range(spf):
            t = (f * spf + i) / IN_RATE
            left = 6000 * math.sin(2 * math.pi * 220 * t) + 2500 * math.sin(2 * math.pi * 3100 * t)
            right = 5000 * math.sin(2 * math.pi * 330 * t) + 1500 * math.sin(2 * math.pi * 9000 * t)
            a.append(int(left))
            a.append(int(right))
        if sys.byteorder == "big":
            a.byteswap()
        out.append(a.tobytes())
    return out


class _CountingSocket:
    """Enough of a WebSocket client for one 60db STT session; counts audio bytes."""

    close_code = 1000

    def __init__(self) -> None:
        self.audio_bytes = 0
        self.audio_messages = 0
        self._inbox: asyncio.Queue[Optional[str]] = asyncio.Queue()
        self._inbox.put_nowait(json.dumps({"connection_established": True}))

    async def send(self, message: Any) -> None:
        if isinstance(message, (bytes, bytearray, memoryview)):
            self.audio_bytes += len(message)
            self.audio_messages += 1
            return
        kind = json.loads(message).get("type")
        if kind == "start":
            self._inbox.put_nowait(json.dumps({"type": "connected"}))
        elif kind == "stop":
            self._inbox.put_nowait(json.dumps({"type": "session_stopped",
                                               "billing_summary": {}}))
            self._inbox.put_nowait(None)

    async def recv(self) -> str:
        msg = await self._inbox.get()
        if msg is None:
            raise StopAsyncIteration
        return msg

    def __aiter__(self) -> "_CountingSocket":
        return self

    async def __anext__(self) -> str:
        return await self.recv()

    async def close(self) -> None:
        self._inbox.put_nowait(None)


class _SeedSTT(lk_stt.STT):
    def __init__(self) -> None:
        super().__init__(capabilities=lk_stt.STTCapabilities(streaming=True,
                                                             interim_results=False))

    async def _recognize_impl(self, *a: Any, **k: Any) -> Any:  # pragma: no cover
        raise NotImplementedError


class _SeedStream(lk_stt.RecognizeStream):
    """The seed's conversion, frame by frame, as its plugin ran it."""

    def __init__(self, owner: _SeedSTT, ws: _CountingSocket) -> None:
        super().__init__(stt=owner, conn_options=APIConnectOptions())
        self._ws = ws
        self._state: Any = None

    async def _run(self) -> None:
        tomono, ratecv, lin2ulaw = audioop.tomono, audioop.ratecv, audioop.lin2ulaw
        async for frame in self._input_ch:
            if isinstance(frame, self._FlushSentinel):
                continue
            pcm = tomono(frame.data, 2, 0.5, 0.5)
            pcm, self._state = ratecv(pcm, 2, 1, frame.sample_rate, 8000, self._state)
            await self._ws.send(lin2ulaw(pcm, 2))


async def _wait_for(cond: Callable[[], bool]) -> None:
    while not cond():
        await asyncio.sleep(0)


class _SttBench:
    """Both STT paths, opened once; ``batch_*`` pushes one second and waits for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.frames = [rtc.AudioFrame(d, IN_RATE, IN_CHANNELS, IN_RATE * FRAME_MS // 1000)
                       for d in _room_frames(FRAMES_PER_BATCH)]
        self.ours_sock = _CountingSocket()
        self.peer_sock = _CountingSocket()
        self._orig = stt_module.open_socket

        async def fake_open(*_a: Any, **_k: Any) -> _CountingSocket:
            return self.ours_sock

        stt_module.open_socket = fake_open  # type: ignore[assignment]
        self.stt = STT(api_key=KEY, ws_url="ws://127.0.0.1:9/ws/stt")  # μ-law 8 kHz, 20 ms
        self.ours = loop.run_until_complete(self._open_ours())
        self.peer = loop.run_until_complete(self._open_peer())
        # What the plugin's converter makes of a second, to know when all of it was sent.
        import audiocore

        twin = audiocore.Converter(IN_RATE, IN_CHANNELS, 8000, 1, out_encoding="mulaw")
        self._twin = twin
        self._expected = 0

    async def _open_ours(self) -> Any:
        stream = self.stt.stream()
        await asyncio.sleep(0.05)  # the handshake
        return stream

    async def _open_peer(self) -> "_SeedStream":
        return _SeedStream(_SeedSTT(), self.peer_sock)

    async def _ours(self) -> None:
        for f in self.frames:
            self._expected += len(self._twin.process(f.data))
        t0 = _clock()
        for f in self.frames:
            self.ours.push_frame(f)
        self.ours.flush()  # the partial frame goes out too: every byte is counted
        await _wait_for(lambda: self.ours_sock.audio_bytes >= self._expected)
        self.elapsed = _clock() - t0

    async def _peer(self) -> None:
        target = self.peer_sock.audio_messages + len(self.frames)
        t0 = _clock()
        for f in self.frames:
            self.peer.push_frame(f)
        await _wait_for(lambda: self.peer_sock.audio_messages >= target)
        self.elapsed = _clock() - t0

    def batch_ours(self) -> float:
        self.loop.run_until_complete(self._ours())
        return self.elapsed

    def batch_peer(self) -> float:
        self.loop.run_until_complete(self._peer())
        return self.elapsed

    def close(self) -> None:
        async def _close() -> None:
            self.ours.end_input()
            self.peer.end_input()
            for s in (self.ours, self.peer):
                try:
                    await asyncio.wait_for(s.aclose(), 5)
                except Exception:  # noqa: BLE001 - closing a benchmark rig
                    pass
            await self.stt.aclose()

        self.loop.run_until_complete(_close())
        stt_module.open_socket = self._orig  # type: ignore[assignment]


class _TtsSocket:
    """Enough of the 60db TTS service: each flush is answered with ``n`` chunks."""

    close_code = 1000

    def __init__(self, chunk_b64: str) -> None:
        self.chunk_b64 = chunk_b64
        self.chunks = FEW
        self._inbox: asyncio.Queue[Optional[str]] = asyncio.Queue()
        self._inbox.put_nowait(json.dumps({"connection_established": True}))

    async def send(self, message: str) -> None:
        data = json.loads(message)
        if "create_context" in data:
            cid = data["create_context"]["context_id"]
            self._inbox.put_nowait(json.dumps({"context_created": {"context_id": cid}}))
        elif "flush_context" in data:
            cid = data["flush_context"]["context_id"]
            msg = json.dumps({"audio_chunk": {"audioContent": self.chunk_b64,
                                              "context_id": cid}})
            for _ in range(self.chunks):
                self._inbox.put_nowait(msg)
            self._inbox.put_nowait(json.dumps({"flush_completed": {"context_id": cid}}))
        elif "close_context" in data:
            cid = data["close_context"]["context_id"]
            self._inbox.put_nowait(json.dumps({"context_closed": {"context_id": cid}}))

    def __aiter__(self) -> "_TtsSocket":
        return self

    async def __anext__(self) -> str:
        msg = await self._inbox.get()
        if msg is None:
            raise StopAsyncIteration
        return msg

    async def recv(self) -> str:
        return await self.__anext__()

    async def close(self) -> None:
        self._inbox.put_nowait(None)


class _SeedTTS(lk_tts.TTS):
    """The seed's TTS loop: each ``audio_chunk`` parsed, decoded and pushed as is."""

    def __init__(self, message: str) -> None:
        super().__init__(capabilities=lk_tts.TTSCapabilities(streaming=False),
                         sample_rate=16000, num_channels=1)
        self.message = message
        self.chunks = FEW

    def synthesize(self, text: str, *, conn_options: APIConnectOptions = APIConnectOptions()
                   ) -> "_SeedChunked":
        return _SeedChunked(tts=self, input_text=text, conn_options=conn_options)


class _SeedChunked(lk_tts.ChunkedStream):
    async def _run(self, output_emitter: lk_tts.AudioEmitter) -> None:
        owner: _SeedTTS = self._tts  # type: ignore[assignment]
        output_emitter.initialize(request_id="seed", sample_rate=16000, num_channels=1,
                                  mime_type="audio/pcm")
        inbox: asyncio.Queue[str] = asyncio.Queue()  # as a socket's receive queue
        for _ in range(owner.chunks):
            inbox.put_nowait(owner.message)
        for _ in range(owner.chunks):
            data = json.loads(await inbox.get())
            output_emitter.push(base64.b64decode(data["audio_chunk"]["audioContent"]))
        output_emitter.flush()


class _TtsBench:
    """One TTS (one socket, reused); ``request(n)`` times a synthesis of ``n`` chunks."""

    def __init__(self, loop: asyncio.AbstractEventLoop, encoding: str) -> None:
        self.loop = loop
        rate = 8000 if encoding == "MULAW" else 16000
        width = 1 if encoding == "MULAW" else 2
        raw = bytes(range(256)) * (rate * CHUNK_MS // 1000 * width // 256 + 1)
        raw = raw[:rate * CHUNK_MS // 1000 * width]
        self.message = json.dumps({"audio_chunk": {"audioContent":
                                                   base64.b64encode(raw).decode()}})
        self.sock = _TtsSocket(base64.b64encode(raw).decode())
        self._orig = tts_module.open_socket

        async def fake_open(*_a: Any, **_k: Any) -> _TtsSocket:
            return self.sock

        tts_module.open_socket = fake_open  # type: ignore[assignment]
        self.tts = TTS(api_key=KEY, ws_url="ws://127.0.0.1:9/ws/tts", encoding=encoding,
                       sample_rate=16000)
        # The seed asked for LINEAR16 16 kHz and pushed it unconverted: its peer.
        pcm16 = (bytes(range(256)) * 13)[:16000 * CHUNK_MS // 1000 * 2]
        self.seed = _SeedTTS(json.dumps({"audio_chunk": {
            "audioContent": base64.b64encode(pcm16).decode()}}))

    async def _request(self, n: int) -> float:
        self.sock.chunks = n
        t0 = _clock()
        frames = 0
        async for ev in self.tts.synthesize("bench"):
            frames += ev.frame.samples_per_channel
        elapsed = _clock() - t0
        expected = n * 16000 * CHUNK_MS // 1000
        if abs(frames - expected) > 160:  # the resampler's delay, at most
            raise AssertionError(f"TTS emitted {frames} samples for {expected}")
        return elapsed

    def request(self, n: int) -> float:
        return self.loop.run_until_complete(self._request(n))

    async def _seed_request(self, n: int) -> float:
        self.seed.chunks = n
        t0 = _clock()
        frames = 0
        async for ev in self.seed.synthesize("bench"):
            frames += ev.frame.samples_per_channel
        elapsed = _clock() - t0
        if abs(frames - n * 16000 * CHUNK_MS // 1000) > 160:  # the emitter may pad 10 ms
            raise AssertionError(f"seed TTS emitted {frames} samples")
        return elapsed

    def seed_request(self, n: int) -> float:
        return self.loop.run_until_complete(self._seed_request(n))

    def floor(self, n: int) -> float:
        t0 = _clock()
        for _ in range(n):
            base64.b64decode(json.loads(self.message)["audio_chunk"]["audioContent"])
        return _clock() - t0

    def close(self) -> None:
        self.loop.run_until_complete(self.tts.aclose())
        tts_module.open_socket = self._orig  # type: ignore[assignment]


PER_20MS_STT = FRAMES_PER_BATCH * FRAME_MS / 20  # 20 ms slices in one batch
PER_20MS_TTS = CHUNK_MS / 20


def measure_stt(rounds: int = ROUNDS) -> Dict[str, float]:
    """µs per 20 ms for ours and the seed's path, and the median per-round ratio."""
    loop = asyncio.new_event_loop()
    bench = _SttBench(loop)
    try:
        for _ in range(3):  # warm both
            bench.batch_ours()
            bench.batch_peer()
        ours, peer, ratios = [], [], []
        for r in range(rounds):
            if r % 2:
                p, o = bench.batch_peer(), bench.batch_ours()
            else:
                o, p = bench.batch_ours(), bench.batch_peer()
            ours.append(o)
            peer.append(p)
            ratios.append(o / p)
    finally:
        bench.close()
        loop.close()
    return {"ours_us": statistics.median(ours) / PER_20MS_STT * 1e6,
            "peer_us": statistics.median(peer) / PER_20MS_STT * 1e6,
            "ratio": statistics.median(ratios)}


def measure_tts(encoding: str, rounds: int = ROUNDS) -> Dict[str, float]:
    """µs per 20 ms of audio for one chunk's path, and the parse-only floor."""
    loop = asyncio.new_event_loop()
    bench = _TtsBench(loop, encoding)
    try:
        for _ in range(3):
            bench.request(FEW)
            bench.request(MANY)
            bench.seed_request(FEW)
            bench.seed_request(MANY)
        slopes, seeds, ratios, floors = [], [], [], []
        for r in range(rounds):
            if r % 2:
                many, few = bench.request(MANY), bench.request(FEW)
                s_many, s_few = bench.seed_request(MANY), bench.seed_request(FEW)
            else:
                s_few, s_many = bench.seed_request(FEW), bench.seed_request(MANY)
                few, many = bench.request(FEW), bench.request(MANY)
            slopes.append((many - few) / (MANY - FEW))
            seeds.append((s_many - s_few) / (MANY - FEW))
            ratios.append(slopes[-1] / seeds[-1])
            floors.append(bench.floor(MANY) / MANY)
    finally:
        bench.close()
        loop.close()
    scale = 1e6 / PER_20MS_TTS
    return {"ours_us": statistics.median(slopes) * scale,
            "seed_us": statistics.median(seeds) * scale,
            "ratio": statistics.median(ratios),
            "floor_us": statistics.median(floors) * scale}


needs_audioop = pytest.mark.skipif(audioop is None,
                                   reason="the seed's path needs audioop (audioop-lts on 3.13)")


@needs_audioop
def test_stt_push_frame_to_socket_vs_seed_path(benchmark: Any) -> None:
    result = benchmark.pedantic(measure_stt, rounds=1, iterations=1)
    benchmark.extra_info.update({"unit": "us per 20 ms of audio", **result,
                                 "target_ratio": STT_TARGET})
    print(f"\nSTT 48k stereo 10 ms -> 8k mu-law: ours {result['ours_us']:.1f} us, seed path "
          f"{result['peer_us']:.1f} us per 20 ms; ratio {result['ratio']:.2f} "
          f"(target <= {STT_TARGET})")
    assert result["ratio"] <= STT_TARGET


@pytest.mark.parametrize("encoding", ["LINEAR16", "MULAW"])
def test_tts_audio_chunk_to_emitter(benchmark: Any, encoding: str) -> None:
    result = benchmark.pedantic(measure_tts, args=(encoding,), rounds=1, iterations=1)
    benchmark.extra_info.update({"unit": "us per 20 ms of audio", "encoding": encoding,
                                 "chunk_ms": CHUNK_MS, **result})
    print(f"\nTTS {encoding} chunk -> emitter: {result['ours_us']:.1f} us per 20 ms; seed "
          f"loop {result['seed_us']:.1f} us; ratio {result['ratio']:.2f}")
    assert result["ours_us"] > 0


def main() -> int:
    print(f"python {sys.version.split()[0]}; CPU µs per 20 ms of audio (median of {ROUNDS} rounds)")
    ok = True
    if audioop is not None:
        r = measure_stt()
        verdict = "ok" if r["ratio"] <= STT_TARGET else "MISSED"
        ok = ok and r["ratio"] <= STT_TARGET
        print(f"STT push_frame -> socket, 48k stereo -> 8k mu-law: ours {r['ours_us']:7.1f}  "
              f"seed audioop path {r['peer_us']:7.1f}  ratio {r['ratio']:.2f} "
              f"(target <= {STT_TARGET}: {verdict})")
    else:
        print("STT: audioop not found (pip install audioop-lts on 3.13): no peer")
    for enc in ("LINEAR16", "MULAW"):
        try:
            t = measure_tts(enc)
        except Exception as e:  # noqa: BLE001 - report the path that failed, go on
            print(f"TTS {enc:8}: FAILED: {type(e).__name__}: {e}")
            ok = False
            continue
        print(f"TTS {enc:8} {CHUNK_MS} ms chunk -> emitter (16 kHz out): ours {t['ours_us']:7.1f}  "
              f"seed loop (LINEAR16, unconverted) {t['seed_us']:7.1f}  ratio {t['ratio']:.2f}  "
              f"(json+base64 alone {t['floor_us']:.1f})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
