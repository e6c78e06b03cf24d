"""Where the API key and the service URLs come from.

Key: the ``api_key`` argument > the process-wide default set by ``_60dbClient("key")``
> ``SIXTY_DB_API_KEY`` > a ``.env.local`` file in the working directory.
URLs: the ``ws_url`` / ``api_url`` argument > ``SIXTY_DB_{STT,TTS,LLM}_URL`` > the
documented defaults.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from ._secrets import register_secret

DEFAULT_STT_URL = "wss://api.60db.ai/ws/stt"
DEFAULT_TTS_URL = "wss://api.60db.ai/ws/tts"
DEFAULT_LLM_URL = "https://api.60db.ai/v1/chat/completions"

API_KEY_ENV = "SIXTY_DB_API_KEY"
STT_URL_ENV = "SIXTY_DB_STT_URL"
TTS_URL_ENV = "SIXTY_DB_TTS_URL"
LLM_URL_ENV = "SIXTY_DB_LLM_URL"

_default_client: Optional["_60dbClient"] = None


class _60dbClient:
    """Holds an API key; the last one created is the process-wide default.

    ``_60dbClient("key")`` is what the 60db documentation calls "pass it directly in
    code": every STT, TTS and LLM built afterwards without ``api_key=`` uses it.
    """

    def __init__(self, api_key: str) -> None:
        global _default_client
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("_60dbClient: api_key must be a non-empty string")
        self._api_key = api_key.strip()
        register_secret(self._api_key)
        _default_client = self

    @property
    def api_key(self) -> str:
        return self._api_key

    def __repr__(self) -> str:
        return "_60dbClient(api_key=***)"


def _read_env_local(name: str, path: Path) -> Optional[str]:
    """The value of ``name`` in a dotenv file (``KEY=value``, optional ``export`` and quotes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        if not sep or key.strip() != name:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        return value or None
    return None


def resolve_api_key(api_key: Optional[str]) -> str:
    """The key to use, by the documented precedence; ``ValueError`` if there is none."""
    if api_key is not None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise ValueError("api_key must be a non-empty string")
        key: Optional[str] = api_key.strip()
    elif _default_client is not None:
        key = _default_client.api_key
    else:
        key = (os.environ.get(API_KEY_ENV) or "").strip() or None
        if key is None:
            key = _read_env_local(API_KEY_ENV, Path.cwd() / ".env.local")
    if not key:
        raise ValueError(
            f"60db API key is required: pass api_key=, create _60dbClient(key), set "
            f"{API_KEY_ENV}, or put {API_KEY_ENV}=... in .env.local")
    register_secret(key)
    return key


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_url(url: Optional[str], env: str, default: str, *, secure: str, plain: str,
                argument: str) -> str:
    """The endpoint to use, by the documented precedence, checked.

    ``secure``/``plain`` are the accepted schemes (``wss``/``ws`` or ``https``/``http``).
    Plain schemes are accepted only for loopback hosts: the key travels with every
    request, and must not cross a network in clear text.
    """
    source = argument
    if url is None:
        url, source = os.environ.get(env) or None, env
    if url is None:
        url, source = default, "the default"
    if not isinstance(url, str):
        raise TypeError(f"{argument} must be a str, not {type(url).__name__}")
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as e:
        raise ValueError(f"{source}: malformed URL ({e})") from None
    scheme = parts.scheme.lower()
    if scheme not in (secure, plain) or not host:
        raise ValueError(
            f"{source}: expected a {secure}:// URL with a host (set {argument} or {env})")
    if scheme == plain and not _is_loopback(host):
        raise ValueError(
            f"{source}: {plain}:// would send the API key in clear text; use {secure}:// "
            f"({plain}:// is accepted only for loopback hosts)")
    return url.strip()
