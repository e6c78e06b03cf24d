"""``audiocore emulate 60db``: the emulator in the foreground.

Light to import on purpose (``audiocore --help`` loads it): aiohttp and the engines
load inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_PORT = 8060
DEFAULT_KEY = "sk_local_emulator"


def configure(parser: argparse.ArgumentParser) -> None:
    """run a local 60db service (STT, TTS, LLM, REST) in the foreground"""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks one)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--handshake", choices=("docs", "seed"), default="docs",
                        help="STT handshake order and TTS reply shapes (default docs)")
    parser.add_argument("--speech", choices=("auto", "engines", "fallback"), default="auto",
                        help="pocketsphinx/flite where installed (auto), required "
                             "(engines), or the deterministic tone code (fallback)")
    parser.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                        help=f"a key to accept (repeatable; default {DEFAULT_KEY})")
    parser.set_defaults(func=run)


configure.help = "run a local 60db service (STT, TTS, LLM, REST) in the foreground"  # type: ignore[attr-defined]


def exports(emu: "object", key_shown: str) -> str:
    """The ``export`` lines a user pastes into another shell."""
    e = emu  # an Emulator
    return "\n".join([
        f"export SIXTY_DB_API_KEY={key_shown}",
        f"export SIXTY_DB_STT_URL={e.stt_url}",  # type: ignore[attr-defined]
        f"export SIXTY_DB_TTS_URL={e.tts_url}",  # type: ignore[attr-defined]
        f"export SIXTY_DB_LLM_URL={e.llm_url}",  # type: ignore[attr-defined]
    ])


def run(args: argparse.Namespace) -> int:
    import asyncio

    from audiocore.cli import wait_for_stop_signal

    from .server import Emulator

    keys = args.api_keys or [DEFAULT_KEY]
    # A key the user chose is theirs to paste; only the built-in default is printed.
    shown = DEFAULT_KEY if not args.api_keys else "<one of the keys you passed>"
    try:
        # Engines load before the URLs are printed: the first session does not wait.
        emu = Emulator(api_keys=set(keys), port=args.port, handshake=args.handshake,
                       host=args.host, speech=args.speech, preload=True)
    except (ValueError, RuntimeError) as e:
        print(f"audiocore emulate 60db: {e}", file=sys.stderr)
        return 2

    async def main() -> None:
        async with emu:
            print(f"# 60db emulator on {emu.http_url} (handshake {args.handshake}, "
                  f"STT {emu.engines.stt_engine}, TTS {emu.engines.tts_engine}); "
                  f"Ctrl-C stops it. In another shell:", flush=True)
            print(exports(emu, shown), flush=True)
            await wait_for_stop_signal()  # Ctrl-C or SIGTERM

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except OSError as e:
        print(f"audiocore emulate 60db: cannot listen on {args.host}:{args.port}: {e}",
              file=sys.stderr)
        return 1
    return 0
