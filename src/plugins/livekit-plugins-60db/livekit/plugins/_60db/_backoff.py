"""Reconnect delays, as a pure generator (no clock, no sleep: the caller waits)."""

from __future__ import annotations

from collections.abc import Iterator

FIRST_DELAY = 0.1  # seconds; a dropped socket mid-utterance should come back fast


def backoff_delays(max_retry: int, cap: float, first: float = FIRST_DELAY) -> Iterator[float]:
    """``max_retry`` delays growing ×2 from ``first``, each at most ``cap`` seconds.

    ``cap`` is ``APIConnectOptions.retry_interval``: the longest the user allowed between
    two attempts.
    """
    delay = min(first, cap)
    for _ in range(max_retry):
        yield delay
        delay = min(delay * 2.0, cap)
