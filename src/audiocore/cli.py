"""The ``audiocore`` command."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Optional, Sequence


def _info(_args: argparse.Namespace) -> int:
    import audiocore
    from audiocore._soxr import LIBSOXR_VERSION
    from audiocore.resampling import ENGINES, QUALITIES

    print(f"audiocore {audiocore.__version__}")
    print(f"python    {platform.python_implementation()} {platform.python_version()} "
          f"({platform.machine()})")
    print(f"libsoxr   {LIBSOXR_VERSION}")
    print(f"engines   {', '.join(ENGINES)}")
    print(f"qualities {', '.join(QUALITIES)}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from audiocore.bench.command import run_command

    return run_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="audiocore", description="Native real-time audio DSP for voice agents.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="show versions, engines and the libsoxr build")
    p.set_defaults(func=_info)
    p = sub.add_parser(
        "bench", help="time every kernel and chain against the peers; check the budgets",
        description="Times every kernel and chain on 20 ms frames of speech-like audio, "
                    "interleaved with the peers that are installed (audioop / audioop-lts, "
                    "python-soxr, livekit, numpy), prints a table to stdout (progress goes "
                    "to stderr), and exits 1 when a ratio target is missed.")
    from audiocore.bench.command import add_arguments

    add_arguments(p)
    p.set_defaults(func=_bench)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # The reader went away (`audiocore bench | head`): not an error of ours.
        # Point stdout at devnull so the interpreter's final flush stays quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
