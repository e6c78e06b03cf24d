"""Real-time frame pacing: :class:`FramePacer` turns bursts of audio into fixed
frames at a steady cadence on the asyncio event loop."""

from __future__ import annotations

import asyncio
import math
import numbers
import weakref
from collections import deque
from typing import Any

from audiocore._ring import FrameRing
from audiocore._schedule import FrameSchedule
from audiocore._typing import ENCODINGS, Buffer, Encoding
from audiocore._validate import check_channels, check_choice, check_rate

#: Default ``max_buffer_ms``: TTS services deliver a sentence or more at a time,
#: faster than real time, and it has to fit. 10 s of 48 kHz stereo PCM is under
#: 2 MB, allocated once.
DEFAULT_MAX_BUFFER_MS = 10_000

_SAMPLE_BYTES = {"pcm16": 2, "mulaw": 1, "alaw": 1}
# The code for a zero sample: linear PCM 0; G.711 mu-law 0xFF; A-law 0xD5 (+8 of
# 32768, the smallest magnitude A-law has).
_SILENCE_BYTE = {"pcm16": 0x00, "mulaw": 0xFF, "alaw": 0xD5}

_BYTE_FORMATS = frozenset(("B", "b", "c"))
# Native or explicitly little-endian int16: all PCM in audiocore is int16 LE.
_INT16_FORMATS = frozenset(("h", "<h", "=h", "@h"))


def _check_ms(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of milliseconds (int or float), "
                        f"not {type(value).__name__}")
    ms = float(value)
    if not (math.isfinite(ms) and ms > 0):
        raise ValueError(f"{name} must be a positive, finite number of milliseconds, "
                         f"got {value!r}")
    return ms


class FramePacer:
    """Buffers audio pushed in bursts of any size and yields it as fixed frames,
    one every ``frame_ms``, on the running event loop's monotonic clock.

    Args:
        sample_rate: samples per second per channel (a positive int up to 1000000).
        channels: interleaved channels.
        frame_ms: length of one output frame in milliseconds (int or float). It
            must give a whole number of samples per frame at ``sample_rate``
            (at 22050 Hz or 44100 Hz, 10 ms does not: 220.5 samples).
        encoding: ``"pcm16"`` (signed 16-bit little-endian, 2 bytes per sample),
            ``"mulaw"`` or ``"alaw"`` (G.711, 1 byte per sample).
        max_buffer_ms: most audio held at once, in milliseconds, at least
            ``frame_ms``. Default :data:`DEFAULT_MAX_BUFFER_MS` (10 s). The buffer
            is allocated up front.
        fill_silence: when no whole frame is buffered at a frame's deadline,
            yield a frame of silence and keep the cadence (for sinks such as
            telephony sockets that need a frame every period). When False
            (default), wait for audio instead and restart the schedule when it
            comes.

    Producer side: :meth:`push` any amount of audio (never blocks, never drops:
    raises ``OverflowError`` past ``max_buffer_ms``), :meth:`clear` on barge-in,
    :meth:`flush` at the end of a segment, :meth:`end` when there is no more.

    Consumer side: ``async for frame in pacer`` yields ``frame_bytes`` of audio
    per frame. Frame ``n`` of a run is due at ``t0 + n * frame_ms`` (computed, not
    accumulated, so there is no drift). Timing rules:

    - *Underrun*: if a deadline comes with less than a whole frame buffered (and
      neither ``fill_silence`` nor :meth:`end`), the pacer waits for audio without
      polling, and the frame that arrives is yielded at once and starts a new run
      (``t0`` = now). It never bursts to make up for the gap.
    - *Late frames*: if a frame goes out after its deadline (the consumer asked
      late because the sink is slow, or the loop was blocked), it goes out at
      once. Up to one frame late, later deadlines are kept (the schedule catches
      up by at most one frame); more than one frame late, the run restarts at
      that frame, so frames never come out in a burst: any three consecutive
      frames span at least one period.
    - A partial frame is held until more audio completes it, or :meth:`flush`
      or :meth:`end` pads it with silence. With ``fill_silence`` the held part
      stays in place while silence frames go out, so audio is never split by
      padding.

    Frames are read from the buffer only at their deadline, so after
    :meth:`clear` the next frame out is new audio.

    One consumer at a time: a second ``async for`` while the first one is still
    iterating raises ``RuntimeError`` (leaving the loop, or the iterator's
    ``aclose()``, hands the pacer over, and the schedule continues). Iterating
    creates no tasks; cancelling the consumer leaves no timers behind.

    Not thread-safe: use it from the event loop's thread (from another thread,
    ``loop.call_soon_threadsafe(pacer.push, data)``). The buffer itself is the
    native :class:`~audiocore.FrameRing`.
    """

    #: Seconds before a deadline at which the pacer's timer is armed. Event loops
    #: wake up to a millisecond late (epoll and select take whole-millisecond
    #: timeouts, rounded up); arming this much early centres frame times on the
    #: schedule instead of always trailing it. A frame never goes out more than
    #: this much before its deadline.
    TIMER_LEAD = 0.001

    __slots__ = (
        "_sample_rate", "_channels", "_frame_ms", "_encoding", "_max_buffer_ms",
        "_fill_silence", "_sample_bytes", "_frame_bytes", "_limit_bytes", "_fill",
        "_silence", "_ring", "_schedule", "_ended", "_written", "_removed",
        "_waiter", "_wake_on_data", "_playout", "_consumer",
    )

    def __init__(
        self,
        sample_rate: int,
        channels: int = 1,
        *,
        frame_ms: float = 20,
        encoding: Encoding = "pcm16",
        max_buffer_ms: float = DEFAULT_MAX_BUFFER_MS,
        fill_silence: bool = False,
    ) -> None:
        self._sample_rate = check_rate(sample_rate, "sample_rate")
        self._channels = check_channels(channels)
        frame = _check_ms(frame_ms, "frame_ms")
        self._encoding = check_choice(encoding, "encoding", ENCODINGS)
        limit = _check_ms(max_buffer_ms, "max_buffer_ms")
        if not isinstance(fill_silence, bool):
            raise TypeError(f"fill_silence must be a bool, not {type(fill_silence).__name__}")

        exact = sample_rate * frame / 1000
        samples = round(exact)
        if samples < 1 or abs(exact - samples) > 1e-9 * exact:
            step = 1000 // math.gcd(sample_rate, 1000)
            raise ValueError(
                f"frame_ms={frame_ms!r} is {exact:g} samples at sample_rate={sample_rate}; "
                f"frame_ms must give a whole number of samples per frame "
                f"(at {sample_rate} Hz, any multiple of {step} ms does)")
        if limit < frame:
            raise ValueError(f"max_buffer_ms ({max_buffer_ms!r}) must be at least "
                             f"frame_ms ({frame_ms!r})")

        self._frame_ms = frame_ms
        self._max_buffer_ms = max_buffer_ms
        self._fill_silence = fill_silence
        self._sample_bytes = _SAMPLE_BYTES[encoding] * channels
        self._frame_bytes = samples * self._sample_bytes
        # Whole samples, rounded down; the 1e-9 keeps a float product just under a
        # whole number from losing a sample.
        self._limit_bytes = int(sample_rate * limit / 1000 + 1e-9) * self._sample_bytes
        self._fill = _SILENCE_BYTE[encoding]
        self._silence = bytes([self._fill]) * self._frame_bytes
        # Room for whole frames beyond the push limit, so flush()'s padding always fits.
        capacity = -(-self._limit_bytes // self._frame_bytes) * self._frame_bytes
        self._ring = FrameRing(self._frame_bytes, capacity)
        self._schedule = FrameSchedule(samples / sample_rate)
        self._ended = False
        # Bytes into and out of the ring since creation (out = yielded or cleared);
        # written - removed == ring.available. wait_for_playout() waits on these.
        self._written = 0
        self._removed = 0
        self._waiter: asyncio.Future[bool] | None = None
        self._wake_on_data = False
        self._playout: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._consumer: weakref.ReferenceType[_FrameIterator] | None = None

    # -- configuration -------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def frame_ms(self) -> float:
        """Milliseconds per frame, as given."""
        return self._frame_ms

    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def max_buffer_ms(self) -> float:
        return self._max_buffer_ms

    @property
    def fill_silence(self) -> bool:
        return self._fill_silence

    @property
    def frame_bytes(self) -> int:
        """Bytes in each yielded frame: samples per frame x channels x bytes per sample."""
        return self._frame_bytes

    # -- state ---------------------------------------------------------------------

    @property
    def buffered_ms(self) -> float:
        """Milliseconds of audio buffered and not yet yielded (a partial frame included)."""
        return self._to_ms(self._ring.available)

    @property
    def ended(self) -> bool:
        """True after :meth:`end`."""
        return self._ended

    def _to_ms(self, nbytes: int) -> float:
        return nbytes * 1000 / (self._sample_rate * self._sample_bytes)

    # -- producer ------------------------------------------------------------------

    def push(self, data: Buffer) -> None:
        """Append ``data``: any number of whole samples (all channels) in the
        pacer's encoding, as a bytes-like object (for pcm16 also an int16 array).

        Never blocks. Raises ``OverflowError``, writing nothing, when the data
        would take the buffer past ``max_buffer_ms``; ``RuntimeError`` after
        :meth:`end`.
        """
        if self._ended:
            raise RuntimeError("FramePacer.push() after end(): the stream is finished")
        # bytes, the common case, is always a C-contiguous run of bytes.
        n = len(data) if type(data) is bytes else self._view(data).nbytes
        if n % self._sample_bytes:
            raise ValueError(
                f"data must hold whole samples of {self._channels} channel(s) of "
                f"{self._encoding} ({self._sample_bytes} bytes each): got {n} bytes")
        if n == 0:
            return
        buffered = self._ring.available
        if buffered + n > self._limit_bytes:
            raise OverflowError(
                f"FramePacer buffer is full: {self._to_ms(n):g} ms ({n} bytes) do not fit "
                f"with {self._to_ms(buffered):g} ms ({buffered} bytes) buffered and "
                f"max_buffer_ms={self._max_buffer_ms!r} ({self._limit_bytes} bytes); "
                f"nothing was written")
        self._ring.write(data)
        self._written += n
        self._poke()

    def _view(self, data: Any) -> memoryview:
        try:
            view = memoryview(data)
        except TypeError:
            kinds = "bytes, bytearray, memoryview"
            if self._encoding == "pcm16":
                kinds += ", numpy int16 array"
            raise TypeError(f"data must be a bytes-like object ({kinds}), "
                            f"not {type(data).__name__}") from None
        if view.format not in _BYTE_FORMATS and not (
                self._encoding == "pcm16" and view.format in _INT16_FORMATS):
            want = "bytes or int16 items" if self._encoding == "pcm16" else "bytes"
            raise TypeError(f"data must hold {want} for encoding {self._encoding!r}, "
                            f"got items of format {view.format!r}")
        if not view.c_contiguous:
            raise ValueError("data must be a C-contiguous buffer")
        return view

    def clear(self) -> float:
        """Drop all buffered audio at once (barge-in); returns the milliseconds
        dropped. The next frame yielded is audio pushed after this call (or, with
        ``fill_silence``, silence). Pending :meth:`wait_for_playout` calls return."""
        dropped = self._ring.clear()
        self._note_removed(dropped)
        self._poke()
        return self._to_ms(dropped)

    def flush(self) -> None:
        """Pad a buffered partial frame with silence so it plays out without
        waiting for more audio (for example at the end of a TTS segment when the
        stream goes on). The padding may take the buffer slightly past
        ``max_buffer_ms``."""
        partial = self._ring.available % self._frame_bytes
        if partial and not self._ended:
            pad = self._frame_bytes - partial
            self._ring.write(self._silence[:pad])
            self._written += pad
            self._poke()

    def end(self) -> None:
        """No more input: iteration yields what is buffered (the last partial frame
        padded with silence) at cadence, then stops. Idempotent."""
        self._ended = True
        self._poke()

    async def wait_for_playout(self) -> None:
        """Return once everything pushed before this call has been yielded or
        cleared. After :meth:`end` that means the pacer has drained. A partial
        frame counts only once it goes out (see :meth:`flush`), and without a
        consumer this waits forever."""
        target = self._written
        if self._removed >= target:
            return
        waiter = (target, asyncio.get_running_loop().create_future())
        self._playout.append(waiter)
        try:
            await waiter[1]
        finally:
            if waiter[1].cancelled() and waiter in self._playout:
                self._playout.remove(waiter)

    def _note_removed(self, nbytes: int) -> None:
        self._removed += nbytes
        # Targets were appended as the written count grew, so they are in order.
        while self._playout and self._playout[0][0] <= self._removed:
            fut = self._playout.popleft()[1]
            if not fut.done():
                fut.set_result(None)

    # -- consumer ------------------------------------------------------------------

    def __aiter__(self) -> _FrameIterator:
        it = _FrameIterator(self)
        self._claim(it)
        return it

    def _claim(self, it: _FrameIterator) -> None:
        # The consumer is held by weak reference: leaving `async for` drops the
        # iterator, which hands the pacer over without any call.
        owner = self._consumer() if self._consumer is not None else None
        if owner is not None and owner is not it and not owner._closed:
            raise RuntimeError(
                "FramePacer already has a consumer: only one task may iterate it at a "
                "time (leave the other `async for`, or call its iterator's aclose())")
        self._consumer = weakref.ref(it)

    def _release(self, it: _FrameIterator) -> None:
        if self._consumer is not None and self._consumer() is it:
            self._consumer = None

    def _poke(self) -> None:
        # The single rule for waking the consumer after push/flush/clear/end: only
        # when what it waits for may have happened, so a burst of small pushes
        # does not spin it.
        w = self._waiter
        if w is None or w.done():
            return
        available = self._ring.available
        if (self._ended and not available) or (
                self._wake_on_data and (available >= self._frame_bytes or self._ended)):
            w.set_result(False)

    async def _wait(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> bool:
        """Wait until ``deadline`` (True), or with ``deadline=None`` until a whole
        frame or end(); returns False when woken by :meth:`_poke`."""
        fut: asyncio.Future[bool] = loop.create_future()
        timer = None if deadline is None else loop.call_at(deadline, _resolve, fut)
        self._waiter = fut
        self._wake_on_data = deadline is None
        try:
            return await fut
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None
            self._wake_on_data = False

    def _due_frame(self, now: float) -> bytes | None:
        """The next frame when it is due at ``now`` and whole in the buffer: what the
        first pass of :meth:`_next_frame` would yield, without a coroutine. None
        for every other case, which :meth:`_next_frame` handles."""
        # Availability first: due() starts a stopped schedule, which _next_frame
        # does only once it has something to send.
        if self._ring.available < self._frame_bytes:
            return None
        schedule = self._schedule
        if schedule.due(now) - self.TIMER_LEAD > now:
            return None
        frame = self._ring.read()
        if frame is None:  # pragma: no cover - a whole frame is available
            return None
        self._note_removed(self._frame_bytes)
        schedule.advance(now)
        return frame

    async def _next_frame(self) -> bytes:
        loop = asyncio.get_running_loop()
        schedule = self._schedule
        fb = self._frame_bytes
        while True:
            if self._ended and not self._ring.available:
                raise StopAsyncIteration
            now = loop.time()
            wake = schedule.due(now) - self.TIMER_LEAD
            if wake > now and not await self._wait(loop, wake):
                continue
            # At the deadline: the frame is read now, not earlier, so clear() at
            # any point before this line takes effect on this frame.
            available = self._ring.available
            frame: bytes
            if available >= fb:
                whole = self._ring.read()
                if whole is None:  # pragma: no cover - a whole frame is available
                    continue
                frame = whole
                self._note_removed(fb)
            elif self._ended:
                if not available:
                    continue
                frame = self._ring.read_partial(self._fill)
                self._note_removed(available)
            elif self._fill_silence:
                frame = self._silence
            else:
                schedule.stop()
                await self._wait(loop, None)
                continue
            schedule.advance(loop.time())
            return frame

    def __repr__(self) -> str:
        return (f"FramePacer(sample_rate={self._sample_rate}, channels={self._channels}, "
                f"frame_ms={self._frame_ms!r}, encoding={self._encoding!r}, "
                f"max_buffer_ms={self._max_buffer_ms!r}, "
                f"fill_silence={self._fill_silence}, "
                f"buffered_ms={self.buffered_ms:g}, ended={self._ended})")


def _resolve(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(True)


class _FrameIterator:
    """The consumer's handle on a :class:`FramePacer`; one exists at a time."""

    __slots__ = ("_pacer", "_busy", "_closed", "__weakref__")

    def __init__(self, pacer: FramePacer) -> None:
        self._pacer = pacer
        self._busy = False
        self._closed = False

    def __aiter__(self) -> _FrameIterator:
        return self

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        if self._busy:
            raise RuntimeError("FramePacer: another task is already waiting for the next "
                               "frame on this iterator; only one consumer may iterate")
        pacer = self._pacer
        pacer._claim(self)
        self._busy = True
        try:
            # Steady playout: the frame is due and buffered, nothing to wait for.
            frame = pacer._due_frame(asyncio.get_running_loop().time())
            if frame is not None:
                return frame
            return await pacer._next_frame()
        except StopAsyncIteration:
            self._closed = True
            self._pacer._release(self)
            raise
        except BaseException:
            # Cancelled (the consumer task, or a timeout around one __anext__): the
            # traceback keeps this iterator alive, so let go of the pacer now. This
            # iterator may go on later, unless another consumer took over meanwhile.
            self._pacer._release(self)
            raise
        finally:
            self._busy = False

    async def aclose(self) -> None:
        """Stop iterating and hand the pacer to the next consumer."""
        self._closed = True
        self._pacer._release(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<FramePacer iterator ({state}) of {self._pacer!r}>"
