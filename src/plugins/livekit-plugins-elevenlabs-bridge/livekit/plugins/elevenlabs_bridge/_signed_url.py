"""Minting signed conversation URLs with the API key (which stays on the worker)."""

from __future__ import annotations

import asyncio
import os
from typing import Optional

import aiohttp

from ._errors import BridgeError, SignedURLRefusedError
from ._secrets import register_secret, url_host
from .log import logger

DEFAULT_BASE_URL = "https://api.elevenlabs.io"
SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"


class SignedURLProvider:
    """An async callable returning a fresh signed URL for ``agent_id`` on every call.

    Made by :func:`signed_url_provider`; its repr shows neither the key nor any URL it
    returned.
    """

    __slots__ = ("_agent_id", "_api_key", "_base_url", "_timeout")

    def __init__(self, agent_id: str, api_key: str, base_url: str, timeout: float) -> None:
        self._agent_id = agent_id
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout

    @property
    def agent_id(self) -> str:
        return self._agent_id

    async def __call__(self) -> str:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        logger.debug("requesting a signed URL for agent %s from %s", self._agent_id,
                     url_host(self._base_url))
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.get(self._base_url + SIGNED_URL_PATH,
                                    params={"agent_id": self._agent_id},
                                    headers={"xi-api-key": self._api_key}) as resp:
                    status = resp.status
                    body = await resp.json(content_type=None) if status == 200 else None
        # asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11.
        except (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ValueError) as exc:
            # aiohttp's texts name the request URL: keep only the kind of failure.
            raise BridgeError(f"get-signed-url request to {url_host(self._base_url)} "
                              f"failed ({type(exc).__name__})") from None
        if status in (401, 403):
            raise SignedURLRefusedError(
                f"get-signed-url refused the API key for agent {self._agent_id} "
                f"(HTTP {status})", status=status)
        if status != 200:
            raise BridgeError(f"get-signed-url answered HTTP {status} for agent "
                              f"{self._agent_id}")
        url = body.get("signed_url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("ws://", "wss://")):
            raise BridgeError("get-signed-url answered without a ws(s):// signed_url")
        register_secret(url)
        return url

    def __repr__(self) -> str:
        return (f"SignedURLProvider(agent_id={self._agent_id!r}, "
                f"base_url={url_host(self._base_url)!r}, api_key=***)")


def signed_url_provider(agent_id: str, api_key: Optional[str] = None, *,
                        base_url: Optional[str] = None,
                        timeout: float = 10.0) -> SignedURLProvider:
    """An async callable for :class:`BridgeSession` that calls
    ``GET {base_url}/v1/convai/conversation/get-signed-url?agent_id=…`` with the
    ``xi-api-key`` header each time a conversation starts.

    Args:
        agent_id: the Speech Engine (agent) id.
        api_key: defaults to ``ELEVENLABS_API_KEY``.
        base_url: defaults to ``ELEVENLABS_API_URL`` or ``https://api.elevenlabs.io``.
        timeout: seconds for the whole request.

    Raises ``ValueError`` when there is no agent id or no key.
    """
    if not isinstance(agent_id, str) or not agent_id:
        raise ValueError("agent_id must be a non-empty str (the Speech Engine id)")
    key = api_key if api_key is not None else os.environ.get("ELEVENLABS_API_KEY", "")
    if not isinstance(key, str) or not key:
        raise ValueError("api_key is missing: pass api_key= or set ELEVENLABS_API_KEY")
    base = base_url or os.environ.get("ELEVENLABS_API_URL") or DEFAULT_BASE_URL
    if not base.startswith(("http://", "https://")):
        raise ValueError("base_url must be an http(s):// URL")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError("timeout must be a positive number of seconds")
    register_secret(key)
    return SignedURLProvider(agent_id, key, base, float(timeout))
