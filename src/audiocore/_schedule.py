"""Frame deadlines on a monotonic clock, with no I/O: the timing rules of the pacer."""

from __future__ import annotations


class FrameSchedule:
    """Deadlines ``t0 + n * period`` for frames ``n = 0, 1, 2, ...``.

    Each deadline is computed from ``t0`` by one multiplication, never by adding
    ``period`` to the previous deadline, so waking late (or rounding) on one frame
    does not shift the ones after it: there is no cumulative drift.

    Clock values are plain floats in seconds from any monotonic clock (the pacer
    uses ``loop.time()``); this class never reads a clock itself.

    Args:
        period: seconds per frame, > 0.
        max_late: how far past its deadline a frame may go out before the
            schedule restarts. Within it, later frames keep their deadlines, so
            the schedule catches up by at most ``max_late``; beyond it, catching
            up would mean a burst of frames, so the late frame becomes frame 0 of
            a new run instead. Defaults to one period, which keeps any three
            consecutive frames at least one period apart.
    """

    __slots__ = ("_period", "_max_late", "_t0", "_n")

    def __init__(self, period: float, max_late: float | None = None) -> None:
        if not period > 0:
            raise ValueError(f"period must be > 0 seconds, got {period}")
        self._period = float(period)
        self._max_late = self._period if max_late is None else float(max_late)
        if not self._max_late >= 0:
            raise ValueError(f"max_late must be >= 0 seconds, got {max_late}")
        self._t0: float | None = None
        self._n = 0

    @property
    def period(self) -> float:
        return self._period

    @property
    def max_late(self) -> float:
        return self._max_late

    @property
    def running(self) -> bool:
        """False before the first frame and after :meth:`stop`."""
        return self._t0 is not None

    @property
    def t0(self) -> float | None:
        """Clock time of frame 0 of the current run, or None when stopped."""
        return self._t0

    @property
    def index(self) -> int:
        """Frames taken since ``t0`` (the index of the next frame)."""
        return self._n

    def start(self, now: float) -> None:
        """Begin a new run: the next frame is due at ``now``."""
        self._t0 = now
        self._n = 0

    def stop(self) -> None:
        """End the run (an underrun): the next :meth:`due` starts a new one."""
        self._t0 = None
        self._n = 0

    def due(self, now: float) -> float:
        """Deadline of the next frame; starts a run at ``now`` when stopped.

        A deadline earlier than ``now`` means the frame is late: it is due at once.
        """
        if self._t0 is None:
            self.start(now)
        return self._t0 + self._n * self._period  # type: ignore[operator]

    def advance(self, now: float) -> None:
        """Mark the next frame as gone out at clock time ``now``.

        The lateness rule is applied here, when the frame actually leaves, so it
        covers both a consumer that asked late and a timer that fired late
        because the loop was blocked.
        """
        if self._t0 is None:
            raise RuntimeError("advance() on a stopped schedule; call due() or start() first")
        if now - (self._t0 + self._n * self._period) > self._max_late:
            self._t0 = now
            self._n = 0
        self._n += 1
