"""What a run prints (the tables, the verdicts, the capacity) and what ``--json``
writes."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import sys
from typing import Any, Optional

from audiocore.bench.budgets import HELD, MISSED, OVER, SKIPPED, Verdict
from audiocore.bench.runner import CaseResult, RunResult, SubjectResult
from audiocore.bench.streams import CALLS
from audiocore.bench.timing import GROUP
from audiocore.bench.work import Work

SCHEMA = "audiocore-bench/1"

METHOD = f"""\
Method: each case times ours and its peers in the same process, interleaved: every
round runs {GROUP} consecutive 20 ms frames (1 s of speech-like audio) through each
implementation, once as a whole and once call by call, the order reversed every other
round. amort = median of the {GROUP}-call sums / {GROUP}; med and p99 are per call. The
harness's own clock and loop cost is measured in the run and taken off. ratio = ours
amort / peer amort; a target is the most that ratio may be. Streams keep their state
across calls. Pacer: push one frame, then take one frame from the iterator on an event
loop whose clock is set just past that frame's deadline, so nothing sleeps; the loop's
timer wake-up (once per frame for any sleeping consumer) is not included."""


def _us(ns: Optional[float]) -> str:
    if ns is None:
        return "-"
    return f"{ns / 1000:.2f}"


def _ratio(r: Optional[float]) -> str:
    return "-" if r is None else f"{r:.3f}"


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for k, r in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _verdict_cell(v: Optional[Verdict]) -> str:
    if v is None:
        return ""
    return {HELD: "pass", MISSED: "MISS", SKIPPED: "skip"}[v.status]


def main_table(run: RunResult) -> str:
    head = ["case", "ours med", "p99", "amort", "budget", "peer", "amort", "ratio",
            "target", "pass"]
    rows = [head]
    for c in run.cases:
        o = c.ours.stats
        budget = _us(c.budget.budget_ns)
        if c.absolute == OVER:
            budget += " over"
        verdicts = {v.peer: v for v in c.verdicts}
        ours_cells = [c.case.id, _us(o.median_ns), _us(o.p99_ns), _us(o.amortised_ns), budget]
        peers: list[Optional[SubjectResult]] = list(c.peers) or [None]
        for i, p in enumerate(peers):
            left = ours_cells if i == 0 else [""] * len(ours_cells)
            if p is None:
                rows.append(left + ["-", "", "", "", ""])
                continue
            v = verdicts.get(p.id)
            rows.append(left + [
                p.label, _us(p.stats.amortised_ns),
                _ratio(p.ratio.value if p.ratio else None),
                f"<= {v.target:g}" if v else "", _verdict_cell(v)])
        # A target whose peer was not installed still gets its line.
        for v in c.verdicts:
            if v.status == SKIPPED:
                rows.append([""] * len(ours_cells) + [f"{v.peer} (not installed)", "", "",
                                                      f"<= {v.target:g}", "skip"])
    return _table(rows, right={1, 2, 3, 4, 6, 7})


def stream_table(run: RunResult) -> str:
    rows = [["case", "subject", "empty calls", "largest burst ms", "held back ms",
             "delay ms", "latency ms"]]
    shown: set[tuple[str, int, int]] = set()
    for c in run.cases:
        first = True
        for s in c.subjects:
            f = s.stream
            if f is None or c.case.stream is None:
                continue
            # A peer on the same rate pair behaves the same in every case: once is enough.
            key = (s.label, c.case.stream.in_rate, c.case.stream.out_rate)
            if not s.ours and key in shown:
                continue
            shown.add(key)
            rows.append([c.case.id if first else "", s.label, f"{100 * f.empty_share:.0f} %",
                         f"{f.largest_burst_ms:.1f}", f"{f.held_back_ms:.2f}",
                         f"{f.delay_ms:.2f}" if s.ours else "-", f"{f.latency_ms:.2f}"])
            first = False
    if len(rows) == 1:
        return ""
    return _table(rows, right={2, 3, 4, 5, 6})


def work_text(work: Optional[Work]) -> str:
    if work is None or not work.cases:
        return ""
    rows = [["case", "multiply-adds", "floor us", "ours us", "of floor"]]
    for w in work.cases:
        rows.append([w.case, f"{w.macs:,.0f}", _us(w.floor_ns), _us(w.ours_ns),
                     f"{100 * w.fraction:.0f} %"])
    return (f"Kernel work per 20 ms frame ({work.kernels} kernels). floor = the "
            f"multiply-adds at the rate of a FIR inner loop with nothing in its way, "
            f"measured in this run: {work.macs_per_ns:.1f} per ns (one aligned L1 load "
            f"per multiply-add); of floor = floor / ours.\n" + _table(rows, right={1, 2, 3, 4}))


def capacity_text(run: RunResult) -> str:
    cap = run.capacity
    if cap is None:
        return ""
    text = (f"Capacity: one bridged session (room audio 48k -> 16k in; agent audio 24k -> 48k "
            f"out, paced in 20 ms frames) costs {cap.frame_ns / 1000:.2f} us of DSP per 20 ms: "
            f"{cap.cpu_ms_per_second:.2f} ms CPU per session-second, "
            f"{cap.sessions_per_core:,.0f} sessions per core (DSP only).")
    if cap.best_frame_ns is not None and cap.best_sessions_per_core is not None:
        text += (f" Least disturbed second of the run: {cap.best_frame_ns / 1000:.2f} us, "
                 f"{cap.best_sessions_per_core:,.0f} sessions per core.")
    return text


def verdict_text(run: RunResult) -> str:
    vs = run.verdicts
    held = [v for v in vs if v.status == HELD]
    missed = [v for v in vs if v.status == MISSED]
    skipped = [v for v in vs if v.status == SKIPPED]
    lines = []
    if run.budgets.path is None:
        lines.append("No budgets file found (audiocore/bench/budgets.json is missing "
                     "from this install; pass --budgets PATH): no verdicts.")
    elif not vs:
        lines.append("No ratio targets in the cases run.")
    else:
        lines.append(f"Targets: {len(held)} held, {len(missed)} missed, "
                     f"{len(skipped)} skipped (peer not installed).")
    for v in missed:
        assert v.ratio is not None and v.shortfall is not None
        lines.append(f"  MISSED {v.case} vs {v.peer}: ours/peer = {v.ratio:.3f}, target "
                     f"<= {v.target:g} ({v.shortfall:.1f}x the target)")
    for v in skipped:
        lines.append(f"  skipped {v.case} vs {v.peer}: {v.peer} is not installed")
    over = [c for c in run.cases if c.absolute == OVER]
    if over:
        decide = "they fail the run (--absolute)" if run.use_absolute else \
            "shown only; ratio targets decide"
        lines.append(f"Absolute budgets over on this machine ({decide}): " + ", ".join(
            f"{c.case.id} {_us(c.ours.stats.amortised_ns)} > {_us(c.budget.budget_ns)} us"
            for c in over))
    return "\n".join(lines)


def header(run: RunResult, env: dict[str, Any]) -> str:
    lines = [
        f"audiocore {env['versions']['audiocore']} bench ({run.mode.name}, "
        f"{run.seconds:.1f} s): {env['python']}, {env['platform']}, {env['cpu']} "
        f"({env['cpu_count']} CPUs)",
        run.peers.describe(),
    ]
    if run.budgets.path is not None:
        lines.append(f"budgets: {run.budgets.path}"
                     + (f" (set on: {run.budgets.machine})" if run.budgets.machine else ""))
    return "\n".join(lines)


def render(run: RunResult, env: dict[str, Any], work: Optional[Work] = None) -> str:
    parts = [header(run, env), "",
             "Cost per 20 ms frame in us (ours: per-call median and p99, amortised; budget: "
             "amortised on the machine kind of the budgets file).",
             main_table(run)]
    streams = stream_table(run)
    if streams:
        parts += ["", f"Streams: {CALLS} consecutive 20 ms frames into a fresh instance "
                  "(a peer is shown once per rate pair). held back = most audio in but not "
                  "yet out; delay = group delay inside the output; latency = both.", streams]
    work_lines = work_text(work)
    if work_lines:
        parts += ["", work_lines]
    cap = capacity_text(run)
    if cap:
        parts += ["", cap]
    parts += ["", verdict_text(run), "", METHOD]
    return "\n".join(parts) + "\n"


# -- JSON ------------------------------------------------------------------------------

def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(run: Optional[RunResult] = None) -> dict[str, Any]:
    import audiocore
    from audiocore._realtime import kernels
    from audiocore._soxr import LIBSOXR_VERSION

    versions: dict[str, Optional[str]] = {
        "audiocore": audiocore.__version__,
        "libsoxr": LIBSOXR_VERSION,
        "realtime kernels": kernels(),
    }
    if run is not None:
        for name in ("audioop", "soxr", "livekit", "numpy"):
            versions[name] = run.peers.found.get(name)
    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": f"{platform.system()} {platform.release()} {platform.machine()}",
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "executable": sys.executable,
        "versions": versions,
    }


def _case_json(c: CaseResult) -> dict[str, Any]:
    subjects = []
    for s in c.subjects:
        d: dict[str, Any] = {"id": s.id, "label": s.label, "ours": s.ours, **s.stats.as_dict()}
        if s.ratio is not None:
            d["ratio"] = s.ratio.as_dict()
        if s.stream is not None:
            d["stream"] = s.stream.as_dict()
        subjects.append(d)
    return {
        "id": c.case.id,
        "group": c.case.group,
        "title": c.case.title,
        "stream": None if c.case.stream is None else {
            "in_rate": c.case.stream.in_rate, "out_rate": c.case.stream.out_rate},
        "rounds": c.rounds,
        "seconds": round(c.seconds, 3),
        "floor": {"call_ns": c.floor.call_ns, "loop_ns": round(c.floor.loop_ns, 2)},
        "budget": {"budget_ns": c.budget.budget_ns, "peer": c.budget.peer,
                   "targets": c.budget.targets, "absolute": c.absolute},
        "verdicts": [v.as_dict() for v in c.verdicts],
        "subjects": subjects,
    }


def to_json(run: RunResult, env: dict[str, Any], work: Optional[Work] = None
            ) -> dict[str, Any]:
    cap = run.capacity
    vs = run.verdicts
    return {
        "schema": SCHEMA,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": {"name": run.mode.name, "min_time_s": run.mode.min_time,
                 "min_rounds": run.mode.min_rounds, "max_rounds": run.mode.max_rounds,
                 "group": GROUP, "stream_calls": CALLS},
        "seconds": round(run.seconds, 2),
        "environment": env,
        "peers": run.peers.as_dict(),
        "budgets": {"path": None if run.budgets.path is None else str(run.budgets.path),
                    "machine": run.budgets.machine, "absolute_decides": run.use_absolute},
        "units": "ns per 20 ms frame; ms for stream figures",
        "cases": [_case_json(c) for c in run.cases],
        "work": None if work is None else work.as_dict(),
        "capacity": None if cap is None else {
            "frame_ns": round(cap.frame_ns, 1),
            "cpu_ms_per_session_second": round(cap.cpu_ms_per_second, 4),
            "sessions_per_core": round(cap.sessions_per_core, 1),
            "best_frame_ns": None if cap.best_frame_ns is None else round(cap.best_frame_ns, 1),
            "best_sessions_per_core": None if cap.best_sessions_per_core is None
            else round(cap.best_sessions_per_core, 1),
        },
        "summary": {
            "held": sum(v.status == HELD for v in vs),
            "missed": [v.as_dict() for v in vs if v.status == MISSED],
            "skipped": [v.as_dict() for v in vs if v.status == SKIPPED],
            "absolute_over": [c.case.id for c in run.cases if c.absolute == OVER],
            "exit_code": run.exit_code,
        },
    }
