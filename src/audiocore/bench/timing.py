"""Interleaved timing of several implementations of one case, and its statistics.

The machine is shared and noisy, so absolute times drift from one second to the
next; what holds up is the ratio of two implementations timed side by side. Every
round therefore runs one batch of each subject in turn (the order reversed on
every other round, so neither side always follows the other), and ratios are
taken round by round before the median is taken.

Each batch is one pass over the case's 50 frames (one second of audio), twice:

- once timed as a whole: the *amortised* cost of a frame is the median over
  rounds of those 50-call sums, divided by 50. For a resampler that returns
  nothing on most calls and a burst on some, this is the cost that counts.
- once with every call timed on its own: the per-call *median* and *p99*.

The harness's own cost is measured in the same run and taken off: the clock
read (for per-call figures) and the bare loop (for amortised figures). What is
left includes the Python call itself, which every caller pays.
"""

from __future__ import annotations

import functools
import gc
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

GROUP = 50
Runner = Callable[[Callable[[], Any]], Any]


def _direct(batch: Callable[[], Any]) -> Any:
    return batch()


@dataclass
class Timed:
    """What the timing loop needs of a subject: ``fn(*args[i])`` for each frame, in order.

    ``runner`` wraps each batch without being timed (the pacer's batches run inside
    an event loop).
    """

    fn: Callable[..., Any]
    args: Sequence[tuple[Any, ...]]
    runner: Runner = _direct


@dataclass
class Samples:
    """Raw timings of one subject: per-call ns and per-group ns (one per round)."""

    per_call: list[int] = field(default_factory=list)
    groups: list[int] = field(default_factory=list)


@dataclass
class Floor:
    """The harness's own cost: one clock read pair, one bare loop iteration (ns)."""

    call_ns: float
    loop_ns: float


# The timing loops are kept apart and minimal: the per-call loop and its floor
# differ only by the call, and so do the group loop and its floor.

def _time_each(fn: Callable[..., Any], args: Sequence[tuple[Any, ...]],
               out: list[int]) -> None:
    clock = time.perf_counter_ns
    append = out.append
    for a in args:
        t0 = clock()
        fn(*a)
        t1 = clock()
        append(t1 - t0)


def _time_each_floor(args: Sequence[tuple[Any, ...]], out: list[int]) -> None:
    clock = time.perf_counter_ns
    append = out.append
    for a in args:
        t0 = clock()
        t1 = clock()
        append(t1 - t0)


def _time_group(fn: Callable[..., Any], args: Sequence[tuple[Any, ...]]) -> int:
    clock = time.perf_counter_ns
    t0 = clock()
    for a in args:
        fn(*a)
    return clock() - t0


def _time_group_floor(args: Sequence[tuple[Any, ...]]) -> int:
    clock = time.perf_counter_ns
    t0 = clock()
    for a in args:
        pass
    return clock() - t0


def measure_floor(args: Sequence[tuple[Any, ...]], rounds: int = 40) -> Floor:
    calls: list[int] = []
    groups: list[int] = []
    for _ in range(rounds):
        _time_each_floor(args, calls)
        groups.append(_time_group_floor(args))
    return Floor(call_ns=median(calls), loop_ns=median(groups) / len(args))


def measure(subjects: Sequence[Timed], *, min_time: float, min_rounds: int,
            max_rounds: int, warmup_rounds: int = 2,
            clock: Callable[[], float] = time.perf_counter) -> tuple[list[Samples], int]:
    """Time ``subjects`` interleaved; returns their samples and the rounds run.

    Rounds go on until both ``min_time`` seconds and ``min_rounds`` rounds are
    reached, or ``max_rounds``. Streams keep their state from batch to batch, so
    every subject sees one continuous stream of frames.
    """
    for s in subjects:
        if len(s.args) != GROUP:
            raise ValueError(f"a subject needs {GROUP} frames per pass, got {len(s.args)}")
    samples = [Samples() for _ in subjects]
    scratch: list[int] = []
    for _ in range(warmup_rounds):
        for s in subjects:
            s.runner(functools.partial(_time_group, s.fn, s.args))
            s.runner(functools.partial(_time_each, s.fn, s.args, scratch))
    scratch.clear()
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        start = clock()
        rounds = 0
        order = list(range(len(subjects)))
        while rounds < max_rounds and (rounds < min_rounds or clock() - start < min_time):
            seq = order if rounds % 2 == 0 else order[::-1]
            for i in seq:
                s, out = subjects[i], samples[i]
                out.groups.append(s.runner(functools.partial(_time_group, s.fn, s.args)))
                s.runner(functools.partial(_time_each, s.fn, s.args, out.per_call))
            rounds += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples, rounds


# -- statistics ----------------------------------------------------------------------

def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no values")
    s = sorted(values)
    n = len(s)
    mid = n // 2
    return float(s[mid]) if n % 2 else (s[mid - 1] + s[mid]) / 2


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by the nearest-rank rule: a value that was
    actually observed, so a p99 is a real call's time."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, got {q}")
    s = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(s)))
    return float(s[rank - 1])


@dataclass
class Stats:
    """One subject's figures, in ns per 20 ms frame, net of the harness's floor."""

    median_ns: float
    p99_ns: float
    amortised_ns: float
    #: mean of every timed call: for a bursty stream, each burst weighs in
    #: exactly as often as it happens.
    mean_ns: float
    #: the cheapest 50-call sum / 50: the cost on an undisturbed core, since other
    #: processes only ever add time.
    best_ns: float
    min_ns: float
    max_ns: float
    calls: int
    groups: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "median_ns": round(self.median_ns, 1),
            "p99_ns": round(self.p99_ns, 1),
            "amortised_ns": round(self.amortised_ns, 1),
            "mean_ns": round(self.mean_ns, 1),
            "best_ns": round(self.best_ns, 1),
            "min_ns": round(self.min_ns, 1),
            "max_ns": round(self.max_ns, 1),
            "calls_timed": self.calls,
            "groups_timed": self.groups,
        }


def summarize(samples: Samples, floor: Floor, group: int = GROUP) -> Stats:
    pc = samples.per_call
    return Stats(
        median_ns=median(pc) - floor.call_ns,
        p99_ns=percentile(pc, 99) - floor.call_ns,
        amortised_ns=median(samples.groups) / group - floor.loop_ns,
        mean_ns=sum(pc) / len(pc) - floor.call_ns,
        best_ns=min(samples.groups) / group - floor.loop_ns,
        min_ns=min(pc) - floor.call_ns,
        max_ns=max(pc) - floor.call_ns,
        calls=len(pc),
        groups=len(samples.groups),
    )


@dataclass
class Ratio:
    """ours / peer in amortised cost per frame."""

    #: amortised ours / amortised peer: the figure of merit, and what the
    #: verdicts use.
    value: float
    #: the same ratio taken round by round (both sides of a round ran within
    #: milliseconds of each other): median and quartiles. A wide spread means a
    #: noisy run, or a peer whose bursts do not divide evenly into 50 calls.
    paired_median: float
    paired_q25: float
    paired_q75: float
    rounds: int

    def as_dict(self) -> dict[str, Any]:
        return {"value": round(self.value, 4), "paired_median": round(self.paired_median, 4),
                "paired_q25": round(self.paired_q25, 4),
                "paired_q75": round(self.paired_q75, 4), "rounds": self.rounds}


def ratio(ours: Samples, peer: Samples, floor: Floor, group: int = GROUP) -> Ratio:
    if len(ours.groups) != len(peer.groups) or not ours.groups:
        raise ValueError("a ratio needs the same, non-zero number of rounds on both sides")
    paired = []
    for a, b in zip(ours.groups, peer.groups):
        net_b = b / group - floor.loop_ns
        paired.append((a / group - floor.loop_ns) / net_b if net_b > 0 else math.inf)
    am_o = median(ours.groups) / group - floor.loop_ns
    am_p = median(peer.groups) / group - floor.loop_ns
    return Ratio(
        value=am_o / am_p if am_p > 0 else math.inf,
        paired_median=median(paired),
        paired_q25=percentile(paired, 25),
        paired_q75=percentile(paired, 75),
        rounds=len(paired),
    )
