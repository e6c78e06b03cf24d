"""The ``audiocore`` command.

The core owns ``info`` and ``bench``. Installed distributions add commands through
the ``audiocore.commands`` entry-point group, so the core never imports a plugin:

- an entry named ``demo`` adds ``audiocore demo``;
- an entry named ``emulate.60db`` adds ``audiocore emulate 60db`` (every name with a
  dot becomes a sub-command of the group before the dot).

Each entry point names a callable ``configure(parser)`` that receives the
sub-command's ``argparse.ArgumentParser``, adds its arguments and calls
``parser.set_defaults(func=run)`` where ``run(args) -> int``. Its ``help`` comes from
the callable's ``help`` attribute, else the first line of its docstring. Keep the
module an entry point names light to import: ``audiocore --help`` loads it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

ENTRY_POINT_GROUP = "audiocore.commands"


def _info(_args: argparse.Namespace) -> int:
    import audiocore
    from audiocore._realtime import available_kernels, kernels
    from audiocore._soxr import LIBSOXR_VERSION
    from audiocore.resampling import ENGINES, QUALITIES

    print(f"audiocore {audiocore.__version__}")
    print(f"python    {platform.python_implementation()} {platform.python_version()} "
          f"({platform.machine()})")
    print(f"libsoxr   {LIBSOXR_VERSION}")
    print(f"engines   {', '.join(ENGINES)}")
    print(f"qualities {', '.join(QUALITIES)}")
    print(f"kernels   {kernels()} (this CPU runs: {', '.join(available_kernels())})")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from audiocore.bench.command import run_command

    return run_command(args)


async def wait_for_stop_signal() -> int:
    """Waits until SIGINT (Ctrl-C) or SIGTERM reaches the process; returns its number.

    For plugin commands that serve in the foreground. The handlers are installed on
    the running loop, so a stop works even where SIGINT was inherited as ignored
    (a job started in the background of a non-interactive shell, some CI runners).
    """
    import asyncio
    import signal

    loop = asyncio.get_running_loop()
    received: "asyncio.Future[int]" = loop.create_future()
    signals = [signal.SIGINT, signal.SIGTERM]

    def on_signal(number: int) -> None:
        if not received.done():
            received.set_result(number)

    for sig in signals:
        loop.add_signal_handler(sig, on_signal, int(sig))
    try:
        return await received
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)


def _plugin_commands() -> List[Tuple[str, Any]]:
    """The installed ``audiocore.commands`` entry points, as (name, entry point)."""
    from importlib.metadata import entry_points

    eps = entry_points()
    if hasattr(eps, "select"):
        found = list(eps.select(group=ENTRY_POINT_GROUP))
    else:  # pragma: no cover - importlib.metadata before 3.10's selectable API
        found = list(eps.get(ENTRY_POINT_GROUP, []))  # type: ignore[attr-defined]
    # Two distributions installed twice (e.g. editable and not) give the same name.
    unique: Dict[str, Any] = {}
    for ep in found:
        unique.setdefault(ep.name, ep)
    return sorted(unique.items())


def _help_of(fn: Callable[..., Any]) -> Optional[str]:
    text = getattr(fn, "help", None)
    if isinstance(text, str):
        return text
    lines = (fn.__doc__ or "").strip().splitlines()
    return lines[0] if lines else None


def _add_plugin_commands(sub: Any, argv: Sequence[str]) -> None:
    """Adds every plugin command; loads only the one that ``argv`` selects.

    Loading a plugin's entry point imports its package (for a LiveKit plugin, all of
    livekit-agents): ``audiocore --help`` and the core's own commands stay fast and
    never touch a plugin.
    """
    words = [a for a in argv if not a.startswith("-")][:2]
    groups: Dict[str, Any] = {}
    for name, ep in _plugin_commands():
        head, _, tail = name.partition(".")
        if head in sub.choices and head not in groups:
            continue  # the core's own commands win
        dist = getattr(getattr(ep, "dist", None), "name", None) or ep.value
        if tail:
            if head not in groups:
                group = sub.add_parser(head, help=f"{head} commands from installed plugins")
                groups[head] = group.add_subparsers(dest=f"{head}_command", metavar="NAME")
            parent, selected = groups[head], words == [head, tail]
            cmd = tail
        else:
            parent, selected, cmd = sub, words[:1] == [head], head
        if not selected:
            parent.add_parser(cmd, help=f"(from {dist})")
            continue
        try:
            configure = ep.load()
        except Exception as e:  # a broken plugin must not take the core's commands down
            print(f"audiocore: command {name.replace('.', ' ')!r} from {dist} failed to "
                  f"load: {type(e).__name__}: {e}", file=sys.stderr)
            parent.add_parser(cmd, help="(failed to load)")
            continue
        configure(parent.add_parser(cmd, help=_help_of(configure),
                                    description=_help_of(configure)))


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The command's parser; ``argv`` selects which plugin command (if any) to load."""
    parser = argparse.ArgumentParser(
        prog="audiocore", description="Native real-time audio DSP for voice agents.")
    from audiocore._version import __version__

    parser.add_argument("--version", action="version", version=f"audiocore {__version__}")
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
    _add_plugin_commands(sub, argv)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv)
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
