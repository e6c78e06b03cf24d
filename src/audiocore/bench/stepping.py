"""Driving a pacer one frame at a time without sleeping.

A pacer's consumer waits on the event loop's clock. To time what the pacer
itself costs per frame, the benchmark runs it on a loop whose clock it sets:
before each frame the clock moves to a quarter period past that frame's
deadline, so the frame is due when asked for and ``__anext__`` completes
without waiting. For :class:`~audiocore.FramePacer` that covers ``push``
(validation and the native ring write), the schedule, the ring read and the
playout bookkeeping. Not covered: the event loop's own timer and task wake-up
once per frame, which any sleeping consumer pays whatever it does.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Callable

from audiocore.pacing import FramePacer


class SteppedLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` is whatever the driver last set."""

    def __init__(self, start: float = 1000.0) -> None:
        super().__init__()
        self.now = start

    def time(self) -> float:
        return self.now


async def _call(batch: Callable[[], Any]) -> Any:
    return batch()


class PacerStepper:
    """Takes frames from a pacer exactly when due, on a :class:`SteppedLoop`.

    ``push`` puts audio in; ``frames`` is the consumer's async iterator over
    frames of ``period`` seconds. ``take()`` and ``push_take()`` must run inside
    :meth:`run` (the loop must be running, as for any consumer). Close with
    :meth:`close`.
    """

    def __init__(self, push: Callable[[Any], Any], frames: AsyncIterator[bytes],
                 period: float) -> None:
        self.push = push
        self.loop = SteppedLoop()
        self._base = self.loop.now
        self._period = period
        self._n = 0
        self._next = frames.__anext__

    @classmethod
    def for_pacer(cls, pacer: FramePacer) -> PacerStepper:
        sample_bytes = 2 if pacer.encoding == "pcm16" else 1
        period = pacer.frame_bytes / (pacer.sample_rate * pacer.channels * sample_bytes)
        return cls(pacer.push, pacer.__aiter__(), period)

    def run(self, batch: Callable[[], Any]) -> Any:
        """Run ``batch()`` with this stepper's loop running."""
        return self.loop.run_until_complete(_call(batch))

    def take(self) -> bytes:
        # Frame n of the run is due at t0 + n * period, t0 being the first frame's
        # time; a quarter period of slack keeps float rounding from putting the
        # deadline a hair in the future, which would make the pacer wait.
        n = self._n
        self.loop.now = self._base + (n * self._period + self._period / 4 if n else 0.0)
        self._n = n + 1
        # __anext__ of an async generator or a coroutine function: either way
        # an object with send() and close(), stepped here as a Task would.
        coro: Any = self._next()
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        coro.close()
        raise RuntimeError("the pacer waited for a frame that should have been due "
                           "(was it pushed a whole frame first?)")

    def push_take(self, frame: Any) -> bytes:
        self.push(frame)
        return self.take()

    def close(self) -> None:
        self.loop.close()


class HandRolledPacer:
    """The pacer a voice agent writes without :class:`~audiocore.FramePacer`: a
    ``bytearray`` and an async generator on deadlines ``t0 + n * period``. No
    validation, no ``clear()``, no buffer limit, no playout tracking: the
    least a pacer can do, as a reference for what ours costs."""

    def __init__(self, frame_bytes: int, period: float) -> None:
        self.frame_bytes = frame_bytes
        self.period = period
        self.buf = bytearray()

    def push(self, data: Any) -> None:
        self.buf += data

    async def frames(self) -> AsyncIterator[bytes]:
        loop = asyncio.get_running_loop()
        fb, period, buf = self.frame_bytes, self.period, self.buf
        t0 = loop.time()
        n = 0
        while True:
            delay = t0 + n * period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            while len(buf) < fb:
                await asyncio.sleep(period)
            out = bytes(buf[:fb])
            del buf[:fb]
            n += 1
            yield out
