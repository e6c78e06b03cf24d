"""Measures FramePacer's cadence on a real asyncio loop: how early and how late
each frame goes out against its deadline, and the drift over the run. Writes the
figures the README quotes.

    python benchmarks/pacer_cadence.py [--seconds 60] [--json benchmarks/measured/pacer_cadence.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
from pathlib import Path

from audiocore import FramePacer

FRAME_S = 0.020


async def measure(seconds: float) -> tuple[list[float], int]:
    pacer = FramePacer(48000, frame_ms=FRAME_S * 1000, max_buffer_ms=5000)
    loop = asyncio.get_running_loop()
    frames = int(seconds / FRAME_S)
    # TTS-like: a second up front, then bursts of 200 ms every 200 ms.
    pacer.push(bytes(pacer.frame_bytes * 50))

    async def producer() -> None:
        sent = 50
        while sent < frames:
            await asyncio.sleep(0.2)
            n = min(10, frames - sent)
            pacer.push(bytes(pacer.frame_bytes * n))
            sent += n
        pacer.end()

    task = asyncio.ensure_future(producer())
    # Lateness against the pacer's own schedule: after a stall of more than a frame
    # it restarts the schedule by design (no burst), and a restart is counted, not
    # taken for drift.
    late: list[float] = []
    restarts = 0
    t0 = None
    schedule = pacer._schedule
    async for _ in pacer:
        now = loop.time()
        if schedule.t0 != t0:
            restarts += t0 is not None
            t0 = schedule.t0
        late.append(now - (schedule.t0 + (schedule.index - 1) * FRAME_S))
    await task
    return late, restarts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    late, restarts = asyncio.run(measure(args.seconds))
    late_ms = [x * 1000 for x in late]
    ordered = sorted(late_ms)
    result = {
        "seconds": args.seconds,
        "frames": len(late_ms),
        "restarts": restarts,
        "frame_ms": FRAME_S * 1000,
        "earliest_ms": round(-min(late_ms), 2),
        "p99_late_ms": round(ordered[int(0.99 * len(ordered)) - 1], 2),
        "drift_ms": round(statistics.median(late_ms[-50:]) - statistics.median(late_ms[:50]), 2),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    text = json.dumps(result, indent=2) + "\n"
    if args.json:
        args.json.write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
