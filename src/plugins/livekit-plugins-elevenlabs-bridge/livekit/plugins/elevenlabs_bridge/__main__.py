"""``python -m livekit.plugins.elevenlabs_bridge dev|start``: the bridge worker under
livekit's CLI."""

import os
import sys

from livekit.agents import cli

from .worker import agent_id_from_env, worker_options

_RUN_COMMANDS = ("dev", "start", "console", "connect")


def main() -> None:
    if any(arg in _RUN_COMMANDS for arg in sys.argv[1:2]):
        # Fail at launch, not at the first dispatch, when the worker cannot work.
        try:
            agent_id_from_env()
            if not os.environ.get("ELEVENLABS_API_KEY"):
                raise ValueError("set ELEVENLABS_API_KEY (it stays on the worker)")
        except ValueError as exc:
            print(f"elevenlabs-bridge: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    cli.run_app(worker_options())


if __name__ == "__main__":
    main()
