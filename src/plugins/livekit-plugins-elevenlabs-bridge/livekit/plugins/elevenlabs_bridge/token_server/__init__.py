"""A token server for the bridge: LiveKit tokens that dispatch it, and a browser page.

``python -m livekit.plugins.elevenlabs_bridge.token_server [--port N]`` serves
``GET /`` (a page that joins a room with the microphone on and plays the agent) and
``GET /api/livekit-token?room=…&identity=…`` → ``{"token": …, "url": LIVEKIT_URL}``.
The LiveKit API secret stays in this process.
"""

from .app import ISSUED_KEY, create_app
from .client_lib import CLIENT_VERSION, ClientLibraryError, fetch_client
from .tokens import (DEFAULT_AGENT_NAME, DEFAULT_TTL, ConfigError, ParameterError,
                     TokenServerConfig, check_name, mint_token)

__all__ = [
    "CLIENT_VERSION",
    "ClientLibraryError",
    "ConfigError",
    "DEFAULT_AGENT_NAME",
    "DEFAULT_TTL",
    "ISSUED_KEY",
    "ParameterError",
    "TokenServerConfig",
    "check_name",
    "create_app",
    "fetch_client",
    "mint_token",
]
