"""``audiocore bench``: arguments, progress on stderr, the report on stdout."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, Optional

EXIT_OK, EXIT_MISSED, EXIT_USAGE = 0, 1, 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    length = p.add_mutually_exclusive_group()
    length.add_argument("--quick", dest="mode", action="store_const", const="quick",
                        help="shorter run (about 10 s): rough figures")
    length.add_argument("--full", dest="mode", action="store_const", const="full",
                        help="longer run (a few minutes): steadier figures")
    p.set_defaults(mode="default")
    p.add_argument("--json", metavar="PATH", type=Path,
                   help="write every figure, the environment and the verdicts as JSON")
    p.add_argument("--plot", metavar="PATH", type=Path,
                   help="write a PNG chart of ours against the peers (needs matplotlib: "
                        "the 'plot' extra)")
    p.add_argument("--budgets", metavar="PATH", type=Path,
                   help="budgets file (default: the one installed with audiocore, "
                        "audiocore/bench/budgets.json)")
    p.add_argument("--absolute", action="store_true",
                   help="absolute ns budgets decide the exit code too, not only the ratio "
                        "targets (use on a quiet machine of the budgets' kind)")
    p.add_argument("--only", metavar="PATTERN", action="append", default=[],
                   help="run only cases whose id matches this shell pattern, e.g. "
                        "'resample.realtime.*' (repeatable)")
    p.add_argument("--skip-peer", metavar="NAME", action="append", default=[],
                   choices=("audioop", "soxr", "livekit", "numpy"),
                   help="leave a peer out even if installed (repeatable)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")


class _Progress:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.perf_counter()

    def note(self, text: str) -> None:
        self._clear()
        print(f"bench: {text}", file=self.stream, flush=True)

    def _clear(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")

    def __call__(self, done: int, total: int, case_id: str, detail: str) -> None:
        elapsed = time.perf_counter() - self.start
        if not detail:
            if self.tty:
                self._clear()
                self.stream.write(f"[{done + 1:2}/{total}] {case_id} ... ({elapsed:.0f} s)")
                self.stream.flush()
            return
        if not self.tty:
            print(f"[{done:2}/{total}] {case_id}: {detail}", file=self.stream, flush=True)
        elif done == total:
            self._clear()
            self.stream.flush()


def run_command(args: argparse.Namespace, out: Optional[IO[str]] = None,
                err: Optional[IO[str]] = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    from audiocore.bench import budgets as bud
    from audiocore.bench import cases as cs

    try:
        chosen = cs.select(args.only)
    except ValueError as e:
        print(f"audiocore bench: {e}", file=err)
        return EXIT_USAGE
    if args.list:
        for c in chosen:
            print(f"{c.id:30} {c.title}", file=out)
        return EXIT_OK
    if args.plot is not None:
        from audiocore.bench.plot import check_matplotlib
        try:
            check_matplotlib()
        except ImportError as e:
            print(f"audiocore bench: {e}", file=err)
            return EXIT_USAGE

    path: Optional[Path] = args.budgets or bud.find_budgets_file()
    if args.budgets is not None and not args.budgets.is_file():
        print(f"audiocore bench: no budgets file at {args.budgets}", file=err)
        return EXIT_USAGE
    try:
        budgets = bud.load_budgets(path) if path else bud.NO_BUDGETS
    except (OSError, ValueError) as e:
        print(f"audiocore bench: bad budgets file: {e}", file=err)
        return EXIT_USAGE

    from audiocore.bench.peers import find_peers
    from audiocore.bench.report import environment, render, to_json
    from audiocore.bench.runner import MODES, run
    from audiocore.bench.signals import make_signals

    progress = _Progress(err)
    peers = find_peers(tuple(args.skip_peer))
    progress.note(peers.describe())
    sig = make_signals()
    mode = MODES[args.mode]
    progress.note(f"{len(chosen)} cases, {mode.name} mode")
    result = run(chosen, sig, peers, mode, budgets, use_absolute=args.absolute,
                 progress=progress)
    from audiocore.bench.work import measure
    work = measure(result)
    env = environment(result)
    out.write(render(result, env, work))
    out.flush()
    if args.json is not None:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(to_json(result, env, work), f, indent=2)
            f.write("\n")
        progress.note(f"wrote {args.json}")
    if args.plot is not None:
        from audiocore.bench.plot import write_plot
        write_plot(result, args.plot)
        progress.note(f"wrote {args.plot}")
    return result.exit_code
