"""Kernel work: the multiply-adds each realtime case does per frame, against the
machine's floor for them.

The floor is the rate of the kernels' floor loop (``peak_multiply_adds``): the
inner loop of a direct-form FIR with nothing in its way, one aligned input load per
multiply-add from L1, in the same build of the kernels the cases run. It is
measured in the run, like every figure here, so a regression in the kernels shows
as a smaller fraction of the floor, whatever the machine and its load.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

from audiocore import _realtime
from audiocore.bench.runner import CaseResult, RunResult
from audiocore.bench.signals import FRAME_MS
from audiocore.resampling import filter_bank

#: Floor loop passes per timing (each pass is 4-8 x 512 multiply-adds: about 0.5 ms).
PEAK_REPS = 2000
PEAK_ROUNDS = 15


@dataclass(frozen=True)
class CaseWork:
    case: str
    macs: float            # multiply-adds per 20 ms frame
    floor_ns: float        # at the floor rate
    ours_ns: float         # our amortised cost per frame

    @property
    def fraction(self) -> float:
        return self.floor_ns / self.ours_ns if self.ours_ns > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"case": self.case, "macs_per_frame": round(self.macs),
                "floor_ns": round(self.floor_ns, 1), "ours_ns": round(self.ours_ns, 1),
                "fraction_of_floor": round(self.fraction, 4)}


@dataclass(frozen=True)
class Work:
    kernels: str
    macs_per_ns: float     # the floor rate
    cases: list[CaseWork]

    def as_dict(self) -> dict[str, Any]:
        return {"kernels": self.kernels, "floor_macs_per_ns": round(self.macs_per_ns, 2),
                "cases": [c.as_dict() for c in self.cases]}


def frame_macs(pairs: tuple[tuple[int, int], ...]) -> float:
    """Multiply-adds per 20 ms frame of mono audio through each realtime pair."""
    return sum(filter_bank(a, b, "high").macs_per_input * a * FRAME_MS / 1000
               for a, b in pairs)


def floor_rate(rounds: int = PEAK_ROUNDS, reps: int = PEAK_REPS) -> float:
    """The floor loop's best rate in multiply-adds per ns over ``rounds`` timings."""
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter_ns()
        done = _realtime.peak_multiply_adds(reps)
        elapsed = time.perf_counter_ns() - t
        if elapsed > 0:
            best = max(best, done / elapsed)
    return best


def _case_work(c: CaseResult, rate: float) -> Optional[CaseWork]:
    if not c.case.work or rate <= 0:
        return None
    macs = frame_macs(c.case.work)
    return CaseWork(c.case.id, macs, macs / rate, c.ours.stats.amortised_ns)


def measure(run: RunResult) -> Optional[Work]:
    """The work table of a run; None when no case it ran does realtime work."""
    if not any(c.case.work for c in run.cases):
        return None
    rate = floor_rate()
    rows = [w for c in run.cases if (w := _case_work(c, rate)) is not None]
    return Work(_realtime.kernels(), rate, rows)
