"""A token server on 127.0.0.1 in a thread of its own, for sync (browser) and async tests."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

from aiohttp import web

from livekit.plugins.elevenlabs_bridge.token_server import (ISSUED_KEY, TokenServerConfig,
                                                            create_app)

API_KEY = "devkey_test"
API_SECRET = "Sup3r-S3cret-Value-that-must-never-leave-0123456789"


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedServer:
    def __init__(self, config: TokenServerConfig, client_dir: Optional[Path] = None) -> None:
        self.app = create_app(config, client_dir=client_dir)
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self.app, access_log=None)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""

    def __enter__(self) -> "ThreadedServer":
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._runner.setup(), self._loop).result(10)
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(site.start(), self._loop).result(10)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def issued(self) -> List[Tuple[str, str]]:
        return list(self.app[ISSUED_KEY])


def serve(livekit_url: str, client_dir: Optional[Path] = None, **kw: object) -> Iterator[ThreadedServer]:
    config = TokenServerConfig(livekit_url=livekit_url, api_key=API_KEY, api_secret=API_SECRET,
                               **kw)  # type: ignore[arg-type]
    with ThreadedServer(config, client_dir) as server:
        yield server
