"""The token server's aiohttp application: the page, its assets, and tokens."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Awaitable, Callable, List, Optional, Tuple
from urllib.parse import urlsplit

from aiohttp import web

from . import client_lib
from .tokens import (DEFAULT_IDENTITY, DEFAULT_ROOM, ParameterError, TokenServerConfig,
                     check_name, mint_token)

logger = logging.getLogger("livekit.plugins.elevenlabs_bridge.token_server")

STATIC_DIR = Path(__file__).with_name("static")
CONFIG_KEY: web.AppKey[TokenServerConfig] = web.AppKey("config", TokenServerConfig)
CLIENT_DIR_KEY: web.AppKey[Path] = web.AppKey("client_dir", Path)
# (room, identity) of every token handed out, oldest first: what tests and operators
# can check without ever seeing a token.
ISSUED_KEY: web.AppKey[List[Tuple[str, str]]] = web.AppKey("issued", list)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json_error(status: int, message: str, parameter: Optional[str] = None) -> web.Response:
    body = {"error": message}
    if parameter:
        body["parameter"] = parameter
    return web.json_response(body, status=status)


def _content_security_policy(livekit_url: str) -> str:
    # The page talks to its own origin and to the LiveKit server (signalling over
    # WebSocket, region and validation requests over HTTP); nothing else loads.
    parts = urlsplit(livekit_url)
    host = parts.netloc
    secure = parts.scheme in ("wss", "https")
    livekit = f"{'wss' if secure else 'ws'}://{host} {'https' if secure else 'http'}://{host}"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"media-src 'self' blob: mediastream:; connect-src 'self' {livekit}; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


@web.middleware
async def _headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as e:
        if e.status >= 400:
            response = _json_error(e.status, e.reason)
        else:
            raise
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


async def _index(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG_KEY]
    return web.FileResponse(STATIC_DIR / "index.html", headers={
        "Content-Security-Policy": _content_security_policy(config.livekit_url),
        "Cache-Control": "no-cache"})


async def _client_library(request: web.Request) -> web.StreamResponse:
    bundle = client_lib.cached_bundle(request.app[CLIENT_DIR_KEY])
    if bundle is None:
        logger.error("%s is missing from %s: run `python -m "
                     "livekit.plugins.elevenlabs_bridge.token_server --fetch-client`",
                     client_lib.BUNDLE, request.app[CLIENT_DIR_KEY])
        return _json_error(503, "the LiveKit client library is not installed on this server")
    return web.FileResponse(bundle, headers={"Cache-Control": "public, max-age=86400"})


async def _token(request: web.Request) -> web.Response:
    config = request.app[CONFIG_KEY]
    try:
        room = check_name("room", request.query.get("room"), DEFAULT_ROOM)
        identity = check_name("identity", request.query.get("identity"), DEFAULT_IDENTITY)
    except ParameterError as e:
        return _json_error(400, str(e), e.parameter)
    token = mint_token(config, room, identity)
    request.app[ISSUED_KEY].append((room, identity))
    logger.info("token for identity %r in room %r (valid %d s, dispatches %r)",
                identity, room, config.ttl.total_seconds(), config.agent_name)
    return web.json_response({"token": token, "url": config.livekit_url},
                             headers={"Cache-Control": "no-store"})


def create_app(config: TokenServerConfig, *, client_dir: Optional[Path] = None) -> web.Application:
    """The application: ``GET /``, ``/static/*`` and ``GET /api/livekit-token``.

    No CORS headers are sent: only pages served by this server may use its tokens.
    """
    app = web.Application(middlewares=[_headers])
    app[CONFIG_KEY] = config
    app[CLIENT_DIR_KEY] = client_dir or client_lib.default_cache_dir()
    app[ISSUED_KEY] = []
    app.router.add_get("/", _index)
    app.router.add_get("/api/livekit-token", _token)
    app.router.add_get(f"/static/{client_lib.BUNDLE}", _client_library)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    return app
