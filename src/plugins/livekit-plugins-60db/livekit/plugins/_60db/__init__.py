"""60db speech services for LiveKit Agents: streaming STT and TTS, and an LLM.

Every audio conversion (downmix, resampling, μ-law) goes through ``audiocore``.
"""

from livekit.agents import Plugin

from ._config import _60dbClient
from ._errors import _60dbStatusError
from .llm import LLM, LLMStream
from .log import logger
from .stt import STT, SpeechStream
from .tts import TTS, ChunkedStream, SynthesizeStream
from .version import __version__

__all__ = [
    "STT",
    "TTS",
    "LLM",
    "ChunkedStream",
    "LLMStream",
    "SpeechStream",
    "SynthesizeStream",
    "_60dbClient",
    "_60dbStatusError",
    "__version__",
]


class _60dbPlugin(Plugin):
    def __init__(self) -> None:
        super().__init__(__name__, __version__, __package__, logger)


Plugin.register_plugin(_60dbPlugin())
