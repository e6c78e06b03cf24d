"""Shared set-up of the pytest-benchmark suites.

The suites time the same cases as ``audiocore bench`` (``audiocore.bench.cases``):
ours and every installed peer, one test per (case, implementation), grouped by
case. Each benchmarked call processes 50 consecutive 20 ms frames, one second of
audio: divide by 50 for the cost per frame. Runs are stored in ``benchmarks/baseline/`` unless ``--benchmark-storage``
says otherwise, so ``--benchmark-save`` / ``--benchmark-compare`` work from any
directory against the baseline kept in the repository.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

import pytest

from audiocore.bench import cases
from audiocore.bench.budgets import NO_BUDGETS, Budgets, find_budgets_file, load_budgets
from audiocore.bench.peers import Peers, find_peers
from audiocore.bench.signals import Signals, make_signals

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline"
_DEFAULT_STORAGE = "file://./.benchmarks"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Runs before pytest-benchmark opens its storage (its own pytest_configure).
    if getattr(config.option, "benchmark_storage", None) == _DEFAULT_STORAGE:
        config.option.benchmark_storage = f"file://{BASELINE}"


@functools.lru_cache(maxsize=None)
def _world() -> tuple[Signals, Peers, Budgets]:
    path = find_budgets_file()
    return make_signals(), find_peers(), load_budgets(path) if path else NO_BUDGETS


@functools.lru_cache(maxsize=None)
def _inventory() -> dict[str, list[str]]:
    """Subject ids of every case with the peers installed here."""
    sig, peers, _ = _world()
    out = {}
    for case in cases.CASES:
        subjects = case.build(sig, peers)
        out[case.id] = [s.id for s in subjects]
        for s in subjects:
            s.close()
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject_key" not in metafunc.fixturenames:
        return
    groups = metafunc.module.GROUPS
    keys = [(c.id, sid) for c in cases.CASES if c.group in groups
            for sid in _inventory()[c.id]]
    metafunc.parametrize("subject_key", keys, ids=[f"{c}-{s}" for c, s in keys])


def _one_second(fn: Callable[..., Any], args: list[tuple[Any, ...]]) -> Callable[[], None]:
    def run() -> None:
        for a in args:
            fn(*a)
    return run


@pytest.fixture
def run_subject() -> Callable[[Any, tuple[str, str]], None]:
    """Benchmark one implementation of one case on consecutive 20 ms frames."""
    sig, peers, budgets = _world()

    def run(benchmark: Any, key: tuple[str, str]) -> None:
        case_id, subject_id = key
        case = next(c for c in cases.CASES if c.id == case_id)
        subjects = case.build(sig, peers)
        try:
            subject = next(s for s in subjects if s.id == subject_id)
            budget = budgets.get(case_id)
            benchmark.group = case_id
            benchmark.extra_info.update({
                "case": case.title, "implementation": subject.label,
                "frames_per_call": len(subject.args),
                "budget_ns_per_frame": budget.budget_ns if subject.ours else None,
                "targets": budget.targets if subject.ours else {},
            })
            # One benchmarked call is 50 consecutive 20 ms frames (1 s of audio), and a
            # stream's state carries on from call to call. A single frame would not
            # do: a resampler that returns nothing on most calls and a burst on some
            # has a per-call median that depends on how calls fall into rounds.
            subject.runner(lambda: benchmark(_one_second(subject.fn, list(subject.args))))
        finally:
            for s in subjects:
                s.close()
    return run
