"""``python -m livekit.plugins.elevenlabs_bridge.token_server [--port N]``."""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from .client_lib import CLIENT_VERSION, ClientLibraryError, fetch_client
from .tokens import DEFAULT_TTL, ConfigError, TokenServerConfig


def _load_dotenv() -> None:
    try:
        from dotenv import load_dotenv
    except ImportError:  # python-dotenv is optional: the environment alone works
        return
    load_dotenv(".env.local")
    load_dotenv()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m livekit.plugins.elevenlabs_bridge.token_server",
        description="Serves LiveKit tokens that dispatch the ElevenLabs bridge, and a "
                    "browser page that uses them. Needs LIVEKIT_URL, LIVEKIT_API_KEY and "
                    "LIVEKIT_API_SECRET in the environment.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=3002, help="port (default 3002)")
    parser.add_argument("--agent-name", default=None,
                        help="agent to dispatch (default $BRIDGE_AGENT_NAME or elevenlabs-bridge)")
    parser.add_argument("--ttl", type=float, default=DEFAULT_TTL.total_seconds(),
                        help="token lifetime in seconds (default %(default)s)")
    parser.add_argument("--client-dir", type=Path, default=None,
                        help="directory holding livekit-client.umd.js (default: the cache)")
    parser.add_argument("--fetch-client", action="store_true",
                        help=f"fetch livekit-client {CLIENT_VERSION} with npm into the "
                             "cache and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if args.fetch_client:
        try:
            print(fetch_client(args.client_dir))
        except ClientLibraryError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0

    _load_dotenv()
    try:
        config = TokenServerConfig.from_env(agent_name=args.agent_name,
                                            ttl=_dt.timedelta(seconds=args.ttl))
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        fetch_client(args.client_dir)
    except ClientLibraryError as e:  # the tokens still work; the page says what is missing
        logging.getLogger(__name__).warning("%s", e)

    from aiohttp import web

    from .app import create_app

    web.run_app(create_app(config, client_dir=args.client_dir), host=args.host,
                port=args.port, print=lambda msg: print(msg, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
