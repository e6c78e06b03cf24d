"""Runs the cases: builds subjects, times them interleaved, characterises the
streams, and judges the budgets."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from audiocore.bench.budgets import (NO_BUDGETS, Budget, Budgets, Verdict, exit_code,
                                     judge_absolute, judge_ratios)
from audiocore.bench.cases import Case, Subject
from audiocore.bench.peers import Peers
from audiocore.bench.signals import FRAME_MS, Signals
from audiocore.bench.streams import StreamFigures, output_counts, stream_figures
from audiocore.bench.timing import Floor, Ratio, Stats, measure, measure_floor, ratio, summarize

#: The frames one session handles per second of audio, each way.
FRAMES_PER_SECOND = 1000 // FRAME_MS


@dataclass(frozen=True)
class Mode:
    """How long to time each case: until ``min_time`` s and ``min_rounds`` rounds
    are both reached, or ``max_rounds``."""

    name: str
    min_time: float
    min_rounds: int
    max_rounds: int


# Budgeted for a 2-core machine: quick about 10 s, default about 45 s, full a few
# minutes. Cheap kernels stop at max_rounds long before min_time.
MODES = {
    "quick": Mode("quick", 0.25, 10, 100),
    "default": Mode("default", 1.8, 40, 1000),
    "full": Mode("full", 6.0, 150, 5000),
}


@dataclass
class SubjectResult:
    id: str
    label: str
    ours: bool
    stats: Stats
    stream: Optional[StreamFigures] = None
    #: ours / this subject (None for ours).
    ratio: Optional[Ratio] = None


@dataclass
class CaseResult:
    case: Case
    subjects: list[SubjectResult]
    rounds: int
    floor: Floor
    seconds: float
    budget: Budget
    verdicts: list[Verdict] = field(default_factory=list)
    absolute: Optional[str] = None

    @property
    def ours(self) -> SubjectResult:
        return self.subjects[0]

    @property
    def peers(self) -> list[SubjectResult]:
        return self.subjects[1:]


@dataclass
class Capacity:
    """One bridged session's DSP work, from the ``session`` case."""

    frame_ns: float
    #: the same from the least disturbed second of the run (see ``Stats.best_ns``).
    best_frame_ns: Optional[float] = None

    @property
    def cpu_ms_per_second(self) -> float:
        return self.frame_ns * FRAMES_PER_SECOND / 1e6

    @property
    def sessions_per_core(self) -> float:
        return _per_core(self.frame_ns)

    @property
    def best_sessions_per_core(self) -> Optional[float]:
        return None if self.best_frame_ns is None else _per_core(self.best_frame_ns)


def _per_core(frame_ns: float) -> float:
    # One core has 1e9 ns per second; a session needs FRAMES_PER_SECOND frames.
    return 1e9 / (frame_ns * FRAMES_PER_SECOND) if frame_ns > 0 else float("inf")


@dataclass
class RunResult:
    mode: Mode
    peers: Peers
    budgets: Budgets
    cases: list[CaseResult]
    seconds: float
    use_absolute: bool = False

    @property
    def verdicts(self) -> list[Verdict]:
        return [v for c in self.cases for v in c.verdicts]

    @property
    def capacity(self) -> Optional[Capacity]:
        for c in self.cases:
            if c.case.id == "session":
                return Capacity(c.ours.stats.amortised_ns, c.ours.stats.best_ns)
        return None

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdicts, [c.absolute for c in self.cases], self.use_absolute)


Progress = Callable[[int, int, str, str], None]


def _characterise(case: Case, build: Callable[[], list[Subject]]) -> dict[str, StreamFigures]:
    if case.stream is None:
        return {}
    figures = {}
    subjects = build()
    try:
        for s in subjects:
            if s.out_samples is None:
                continue
            counts = s.runner(functools.partial(output_counts, s.fn, s.args, s.out_samples))
            figures[s.id] = stream_figures(counts, FRAME_MS, case.stream.out_rate, s.delay_s)
    finally:
        for s in subjects:
            s.close()
    return figures


def run_case(case: Case, sig: Signals, peers: Peers, mode: Mode,
             budget: Budget) -> CaseResult:
    start = time.perf_counter()
    figures = _characterise(case, lambda: case.build(sig, peers))
    subjects = case.build(sig, peers)
    try:
        floor = measure_floor(subjects[0].args)
        samples, rounds = measure([s.timed() for s in subjects], min_time=mode.min_time,
                                  min_rounds=mode.min_rounds, max_rounds=mode.max_rounds)
    finally:
        for s in subjects:
            s.close()
    results = []
    for s, smp in zip(subjects, samples):
        results.append(SubjectResult(
            s.id, s.label, s.ours, summarize(smp, floor), figures.get(s.id),
            None if s.ours else ratio(samples[0], smp, floor)))
    result = CaseResult(case, results, rounds, floor, time.perf_counter() - start, budget)
    result.verdicts = judge_ratios(case.id, budget, {
        r.id: r.ratio.value for r in result.peers if r.ratio is not None})
    result.absolute = judge_absolute(budget, result.ours.stats.amortised_ns)
    return result


def run(cases: Sequence[Case], sig: Signals, peers: Peers, mode: Mode,
        budgets: Budgets = NO_BUDGETS, *, use_absolute: bool = False,
        progress: Optional[Progress] = None) -> RunResult:
    start = time.perf_counter()
    out = []
    for i, case in enumerate(cases):
        if progress:
            progress(i, len(cases), case.id, "")
        r = run_case(case, sig, peers, mode, budgets.get(case.id))
        out.append(r)
        if progress:
            progress(i + 1, len(cases), case.id, f"{r.seconds:.1f} s, {r.rounds} rounds")
    return RunResult(mode, peers, budgets, out, time.perf_counter() - start, use_absolute)
