"""Driving a :class:`~audiocore.FramePacer` one frame at a time without sleeping.

The pacer's consumer waits on the event loop's clock. To time what the pacer
itself costs per frame, the benchmark runs it on a loop whose clock it sets:
before each frame the clock moves to a quarter period past that frame's
deadline, so the frame is due when asked for and ``__anext__`` completes
without waiting. That covers ``push`` (validation and the native ring write),
the schedule, the ring read and the playout bookkeeping. Not covered: the event
loop's own timer and task wake-up once per frame, which any sleeping consumer
pays whatever it does.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

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
    """Takes frames from ``pacer`` exactly when due, on a :class:`SteppedLoop`.

    ``take()`` and ``push_take()`` must run inside ``run()`` (the loop must be
    running, as for any consumer). Close with :meth:`close`.
    """

    def __init__(self, pacer: FramePacer) -> None:
        self.pacer = pacer
        self.loop = SteppedLoop()
        self._base = self.loop.now
        self._period = pacer.frame_bytes / (pacer.sample_rate * pacer.channels *
                                            (2 if pacer.encoding == "pcm16" else 1))
        self._n = 0
        self._next = pacer.__aiter__().__anext__

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
        coro = self._next()
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        coro.close()
        raise RuntimeError("the pacer waited for a frame that should have been due "
                           "(was it pushed a whole frame first?)")

    def push_take(self, frame: Any) -> bytes:
        self.pacer.push(frame)
        return self.take()

    def close(self) -> None:
        self.loop.close()
