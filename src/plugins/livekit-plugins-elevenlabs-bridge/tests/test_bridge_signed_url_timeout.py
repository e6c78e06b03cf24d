"""A get-signed-url request that times out is a BridgeError (retried by the session),
on every supported Python (asyncio.TimeoutError differs from TimeoutError on 3.10)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from livekit.plugins import elevenlabs_bridge as eb


@pytest.mark.asyncio
async def test_a_stalled_signed_url_request_is_a_bridge_error():
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({"signed_url": "ws://127.0.0.1/x"})

    app = web.Application()
    app.router.add_get("/v1/convai/conversation/get-signed-url", stall)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        provider = eb.signed_url_provider("agent_test", "xi_secret_key",
                                          base_url=f"http://127.0.0.1:{port}",
                                          timeout=0.2)
        with pytest.raises(eb.BridgeError) as info:
            await provider()
        assert "xi_secret_key" not in str(info.value)
    finally:
        await runner.cleanup()
