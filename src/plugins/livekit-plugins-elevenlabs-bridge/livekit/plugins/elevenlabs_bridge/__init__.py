"""A LiveKit Agents worker that bridges a room to an ElevenLabs Speech Engine conversation.

Every audio conversion (resampling, mixing, pacing) goes through ``audiocore``.
"""

from livekit.agents import Plugin

from .log import logger
from .version import __version__

__all__ = ["__version__"]


class ElevenLabsBridgePlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(ElevenLabsBridgePlugin())
