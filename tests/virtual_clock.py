"""An asyncio event loop on virtual time, for deterministic timing tests.

:class:`VirtualClockLoop` is a normal ``SelectorEventLoop`` except for the clock:
``time()`` is a counter, and when the loop would sleep until its next timer, the
selector jumps the counter forward by that timeout instead of waiting. Every
callback, future and task behaves as on a real loop; a 60 s schedule runs in
milliseconds, and timestamps are exact.

Real I/O (the loop's self-pipe, ``call_soon_threadsafe``) is still polled, without
blocking. A loop with nothing ready and no timers would sleep forever; here it
raises :class:`VirtualDeadlock` instead of hanging the test run.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

# Real seconds an idle loop waits for another thread before it counts as deadlocked.
IDLE_REAL_TIMEOUT = 2.0


class VirtualDeadlock(RuntimeError):
    """The loop has nothing to run and no timer to wait for."""


class _Selector(selectors.BaseSelector):
    def __init__(self, loop_clock: VirtualClockLoop) -> None:
        self._real = selectors.DefaultSelector()
        self._clock = loop_clock

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[Any]:
        events = self._real.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            events = self._real.select(IDLE_REAL_TIMEOUT)
            if not events:
                raise VirtualDeadlock("event loop is idle with no timers: it would wait forever")
            return events
        # Asyncio asks to sleep exactly until its earliest timer: jump there.
        self._clock.advance(timeout)
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` is virtual (see the module doc).

    ``start`` is the clock's first value; it is not 0 so that code which assumes
    the clock starts at zero fails.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = float(start)
        self._timers: list[asyncio.TimerHandle] = []
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward without running anything, as a blocking call
        on a real loop would."""
        if seconds < 0:
            raise ValueError("the clock is monotonic")
        self._now += seconds

    def call_at(  # type: ignore[override]
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        handle = super().call_at(when, callback, *args, context=context)
        self._timers.append(handle)
        return handle

    def pending_timers(self) -> list[asyncio.TimerHandle]:
        """Timers that are neither cancelled nor due yet."""
        self._timers = [h for h in self._timers if not h.cancelled() and h.when() > self._now]
        return list(self._timers)


def run(coro: Coroutine[Any, Any, T], *, start: float = 1000.0) -> T:
    """Run ``coro`` to completion on a fresh :class:`VirtualClockLoop`."""
    loop = VirtualClockLoop(start)
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
