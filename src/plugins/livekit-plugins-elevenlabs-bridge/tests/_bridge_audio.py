"""Real LiveKit audio objects without a server: participants that speak into an
``rtc.AudioSource`` and a reader of the bridge's published track."""

from __future__ import annotations

import asyncio
import math
import time
from typing import List, Optional, Tuple

import numpy as np
from livekit import rtc


def tone(freq: float, amplitude: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * math.pi * freq * t)).astype(np.int16)


def level(x: np.ndarray, freq: float, rate: int) -> float:
    """Amplitude of the ``freq`` component of ``x`` (a single-bin DFT)."""
    t = np.arange(len(x)) / rate
    x = x.astype(np.float64)
    c = np.dot(x, np.cos(2 * math.pi * freq * t))
    s = np.dot(x, np.sin(2 * math.pi * freq * t))
    return 2 * math.hypot(c, s) / len(x)


def window_levels(x: np.ndarray, freq: float, rate: int, window_s: float = 0.02
                  ) -> np.ndarray:
    """:func:`level` of ``freq`` in each whole window of ``x``."""
    n = int(rate * window_s)
    return np.array([level(x[i:i + n], freq, rate) for i in range(0, len(x) - n + 1, n)])


def mostly_at(levels: np.ndarray, expected: float, rel: float = 0.15,
              share: float = 0.9) -> bool:
    """At least ``share`` of the windows within ``rel`` of ``expected``: a loaded
    machine may delay a frame now and then, the mixing itself may not."""
    ok = np.abs(levels - expected) <= rel * expected
    return len(levels) > 0 and ok.mean() >= share


class Speaker:
    """A participant: a 48 kHz source and track, fed 10 ms frames in real time."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.source = rtc.AudioSource(48000, 1, queue_size_ms=40)
        self.track = rtc.LocalAudioTrack.create_audio_track(name, self.source)
        self._task: Optional[asyncio.Task[None]] = None

    def say(self, pcm: np.ndarray) -> asyncio.Task[None]:
        self._task = asyncio.ensure_future(self._feed(pcm))
        return self._task

    async def _feed(self, pcm: np.ndarray) -> None:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i, start in enumerate(range(0, len(pcm), 480)):
            frame = pcm[start:start + 480]
            if len(frame) < 480:
                frame = np.pad(frame, (0, 480 - len(frame)))
            # Paced by the clock, so the input arrives as a live microphone's would.
            wait = t0 + i * 0.01 - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.source.capture_frame(rtc.AudioFrame(frame.tobytes(), 48000, 1, 480))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.source.aclose()


class TrackReader:
    """Reads a published track back; keeps (arrival time, samples) per frame."""

    def __init__(self, track: rtc.Track, rate: int) -> None:
        self.rate = rate
        self.frames: List[Tuple[float, np.ndarray]] = []
        self._stream = rtc.AudioStream.from_track(track=track, sample_rate=rate,
                                                  num_channels=1)
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for ev in self._stream:
            self.frames.append((time.perf_counter(),
                                np.frombuffer(bytes(ev.frame.data), np.int16).copy()))

    def audio(self, since: float = 0.0) -> np.ndarray:
        parts = [f for t, f in self.frames if t >= since]
        return np.concatenate(parts) if parts else np.zeros(0, np.int16)

    def first_loud(self, since: float, threshold: int = 500) -> Optional[float]:
        for t, f in self.frames:
            if t >= since and np.abs(f).max() >= threshold:
                return t
        return None

    def silent_from(self, since: float, until: float = float("inf"),
                    threshold: int = 200) -> Optional[float]:
        """Arrival time of the first frame in [since, until) from which every frame
        up to ``until`` is silent."""
        frames = [(t, f) for t, f in self.frames if since <= t < until]
        last_loud = None
        for t, f in frames:
            if np.abs(f).max() >= threshold:
                last_loud = t
        later = [t for t, _ in frames if last_loud is None or t > last_loud]
        return later[0] if later else None

    async def aclose(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._stream.aclose()
