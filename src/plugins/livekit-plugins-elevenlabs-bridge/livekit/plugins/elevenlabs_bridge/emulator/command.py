"""``audiocore emulate elevenlabs``: the conversation service emulator, standalone.

Light to import: the emulator itself loads only when the command runs.
"""

from __future__ import annotations

import argparse


def configure(parser: argparse.ArgumentParser) -> None:
    """Run a local ElevenLabs conversation service (signed URLs + conversation WebSocket)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one)")
    parser.add_argument("--api-key", default="xi_test",
                        help="the xi-api-key the service accepts (a test key, not a real one)")
    parser.add_argument("--agent-id", default="agent_test", help="the agent it serves")
    parser.add_argument("--input-format", default="pcm_16000",
                        help="user_input_audio_format it announces")
    parser.add_argument("--output-format", default="pcm_24000",
                        help="agent_output_audio_format it announces")
    parser.add_argument("--speech", default="auto", choices=("auto", "real", "deterministic"),
                        help="flite/pocketsphinx where installed (auto), required (real), "
                             "or tones and utterance lengths (deterministic)")
    parser.add_argument("--first-message", default=None,
                        help="what the agent says when a conversation starts")
    parser.add_argument("--ping-interval", type=float, default=2.0, help="seconds between pings")
    parser.add_argument("--input-timeout", type=float, default=60.0,
                        help="seconds without user input before it closes with 1002")
    parser.set_defaults(func=run)


configure.help = "run a local ElevenLabs conversation service"  # type: ignore[attr-defined]


def run(args: argparse.Namespace) -> int:
    import asyncio

    from audiocore.cli import wait_for_stop_signal
    import logging

    from . import Brain, Emulator

    # What each conversation does (turns, replies, interruptions, closes) on stderr.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("livekit.plugins.elevenlabs_bridge.emulator")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    logging.getLogger(log.name + ".websockets").setLevel(logging.WARNING)

    async def serve() -> None:
        emu = Emulator(api_keys={args.api_key}, agent_id=args.agent_id,
                       user_input_audio_format=args.input_format,
                       agent_output_audio_format=args.output_format,
                       host=args.host, port=args.port, speech=args.speech,
                       brain=Brain(first_message=args.first_message),
                       ping_interval=args.ping_interval, input_timeout=args.input_timeout,
                       keep_audio=False)  # a long session would hold all its audio
        async with emu:
            print(f"# ElevenLabs conversation emulator on {emu.http_url} "
                  f"(in {emu.user_input_audio_format}, out {emu.agent_output_audio_format}; "
                  f"speech: {emu.speech['tts']} / {emu.speech['asr']}). Ctrl-C stops it.")
            for name, value in emu.env().items():
                print(f"export {name}={value}")
            print(flush=True)
            await wait_for_stop_signal()  # Ctrl-C or SIGTERM

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    except (ValueError, TypeError, RuntimeError, OSError) as e:
        import sys

        print(f"audiocore emulate elevenlabs: {e}", file=sys.stderr)
        return 2
    return 0
