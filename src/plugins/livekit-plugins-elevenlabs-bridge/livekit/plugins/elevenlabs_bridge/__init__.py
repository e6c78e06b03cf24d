"""A LiveKit Agents worker that bridges a room to an ElevenLabs Speech Engine
conversation.

Every audio conversion (resampling, mixing, μ-law, pacing) goes through ``audiocore``::

    from livekit.plugins import elevenlabs_bridge as eb

    session = eb.BridgeSession(eb.signed_url_provider(agent_id))
    await session.start()
    await room.local_participant.publish_track(session.track)
    session.add_track(participant.identity, track)
"""

from livekit.agents import Plugin

from ._errors import BridgeError, ConversationClosedError, SignedURLRefusedError
from ._formats import AudioFormat, parse_format
from ._protocol import (AgentResponse, Audio, ClientToolCall, ConversationProtocol,
                        Interruption, Metadata, Ping, ProtocolError, StaleAudio,
                        UserTranscript)
from ._session import BridgeSession
from ._signed_url import SignedURLProvider, signed_url_provider
from .log import logger
from .version import __version__

__all__ = [
    "AgentResponse",
    "Audio",
    "AudioFormat",
    "BridgeError",
    "BridgeSession",
    "ClientToolCall",
    "ConversationClosedError",
    "ConversationProtocol",
    "Interruption",
    "Metadata",
    "Ping",
    "ProtocolError",
    "SignedURLProvider",
    "SignedURLRefusedError",
    "StaleAudio",
    "UserTranscript",
    "__version__",
    "parse_format",
    "signed_url_provider",
]


class ElevenLabsBridgePlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(ElevenLabsBridgePlugin())
