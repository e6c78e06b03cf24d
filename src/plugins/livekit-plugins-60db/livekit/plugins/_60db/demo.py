"""``audiocore demo``: one complete voice turn through this plugin's STT, LLM and TTS.

Light to import on purpose (``audiocore`` loads it to build its parser): livekit, the
emulator and the speech engines are imported only when the command runs.
"""

from __future__ import annotations

import argparse

DEFAULT_QUESTION = "What is the weather in Paris?"


def configure(parser: argparse.ArgumentParser) -> None:
    """Run one voice turn (speech in, a tool call, speech out) against the 60db emulator."""
    parser.add_argument("--question", default=DEFAULT_QUESTION,
                        help="what the user says (spoken by flite; default: %(default)r)")
    parser.add_argument("--out", metavar="WAV", help="write the agent's reply audio here")
    parser.add_argument("--json", metavar="FILE", dest="json_path",
                        help="write every figure of the run here")
    parser.add_argument("--live", action="store_true",
                        help="use the real 60db service (needs SIXTY_DB_API_KEY) instead "
                             "of the embedded emulator")
    parser.add_argument("--speech", choices=("auto", "engines", "fallback"), default="auto",
                        help="emulator voices: flite + pocketsphinx ('engines'), the "
                             "deterministic tone code ('fallback'), or engines when "
                             "installed ('auto', the default)")
    parser.add_argument("--timeout", type=float, default=45.0,
                        help="give up after this many seconds (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log livekit and the plugin at INFO")
    parser.set_defaults(func=run)


configure.help = ("one voice turn through the 60db STT, LLM (with a tool call) and TTS, "
                  "offline against the embedded emulator")  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    from ._voice_turn import run_command

    return run_command(args)
