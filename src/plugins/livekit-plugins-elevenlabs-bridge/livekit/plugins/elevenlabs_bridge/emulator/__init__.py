"""A local ElevenLabs conversation service for tests, demos and offline development.

``async with Emulator() as emu:`` serves ``GET /v1/convai/conversation/get-signed-url``
and the conversation WebSocket on ``emu.http_url``; ``emu.records`` holds what it
received, ``emu.faults`` what goes wrong, ``emu.conversations`` the live
conversations a test can drive. The agent's turns come from a :class:`Brain`: it
hears the user by energy on the incoming audio (and pocketsphinx when installed) and
answers with flite speech when installed, deterministic tones otherwise.

It shares no code with the bridge's client.
"""

from ._brain import Brain, Say, ToolCall, UserTurn
from ._conversation import Conversation
from ._faults import MALFORMED, Faults
from ._formats import FORMATS, AudioFormat
from ._records import (ConversationRecord, Ping, Records, Reply, SignedUrlRequest,
                       Utterance)
from ._server import Emulator

__all__ = [
    "FORMATS",
    "MALFORMED",
    "AudioFormat",
    "Brain",
    "Conversation",
    "ConversationRecord",
    "Emulator",
    "Faults",
    "Ping",
    "Records",
    "Reply",
    "Say",
    "SignedUrlRequest",
    "ToolCall",
    "UserTurn",
    "Utterance",
]
