"""Minting LiveKit access tokens that dispatch the bridge worker (no I/O)."""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from typing import Mapping, Optional
from urllib.parse import urlsplit

from livekit import api

DEFAULT_AGENT_NAME = "elevenlabs-bridge"
DEFAULT_ROOM = "demo-room"
DEFAULT_IDENTITY = "web-user"
# Short enough that a leaked token is soon useless, long enough to join: the token is
# needed only for the connection handshake (LiveKit refreshes it on a live connection).
DEFAULT_TTL = _dt.timedelta(minutes=10)

# Room names and identities end up in URLs, logs and other participants' screens: a
# conservative alphabet, and a length LiveKit itself accepts.
MAX_NAME_LENGTH = 64
_ROOM_RE = re.compile(r"[A-Za-z0-9_-]+")
_IDENTITY_RE = re.compile(r"[A-Za-z0-9_.@-]+")


class ConfigError(ValueError):
    """The server's environment is incomplete or invalid; it must not start."""


class ParameterError(ValueError):
    """A request parameter is invalid (answered with HTTP 400)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass(frozen=True)
class TokenServerConfig:
    """What the server needs; ``from_env`` reads it from ``LIVEKIT_*``."""

    livekit_url: str
    api_key: str
    api_secret: str = field(repr=False)
    agent_name: str = DEFAULT_AGENT_NAME
    ttl: _dt.timedelta = DEFAULT_TTL

    def __post_init__(self) -> None:
        parts = urlsplit(self.livekit_url)
        if parts.scheme not in ("ws", "wss", "http", "https") or not parts.hostname:
            raise ConfigError(
                "LIVEKIT_URL must be a ws://, wss://, http:// or https:// URL with a host")
        if not self.api_key or not self.api_secret:
            raise ConfigError("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be non-empty")
        if not self.agent_name or not _ROOM_RE.fullmatch(self.agent_name):
            raise ConfigError("the agent name must be letters, digits, '_' or '-'")
        if not (_dt.timedelta(seconds=10) <= self.ttl <= _dt.timedelta(hours=24)):
            raise ConfigError("the token TTL must be between 10 s and 24 h")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, *,
                 agent_name: Optional[str] = None,
                 ttl: Optional[_dt.timedelta] = None) -> "TokenServerConfig":
        env = os.environ if env is None else env
        missing = [n for n in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
                   if not env.get(n)]
        if missing:
            raise ConfigError(
                f"set {', '.join(missing)} in the environment (or a .env file): the token "
                f"server signs tokens with the LiveKit API secret, which stays on the server")
        return cls(livekit_url=env["LIVEKIT_URL"], api_key=env["LIVEKIT_API_KEY"],
                   api_secret=env["LIVEKIT_API_SECRET"],
                   agent_name=agent_name or env.get("BRIDGE_AGENT_NAME") or DEFAULT_AGENT_NAME,
                   ttl=ttl or DEFAULT_TTL)


def check_name(parameter: str, value: Optional[str], default: str) -> str:
    """``value`` validated as a room name or identity (``default`` when absent)."""
    if value is None:
        return default
    pattern = _ROOM_RE if parameter == "room" else _IDENTITY_RE
    if not value:
        raise ParameterError(parameter, "must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise ParameterError(parameter, f"at most {MAX_NAME_LENGTH} characters")
    if not pattern.fullmatch(value):
        allowed = "letters, digits, '_' and '-'" if parameter == "room" \
            else "letters, digits, '_', '-', '.' and '@'"
        raise ParameterError(parameter, f"only {allowed} are allowed")
    return value


def mint_token(config: TokenServerConfig, room: str, identity: str) -> str:
    """A JWT that lets ``identity`` join ``room`` only, and dispatches the bridge there."""
    return (
        api.AccessToken(config.api_key, config.api_secret)
        .with_identity(identity)
        .with_ttl(config.ttl)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_room_config(api.RoomConfiguration(
            agents=[api.RoomAgentDispatch(agent_name=config.agent_name)]))
        .to_jwt()
    )
