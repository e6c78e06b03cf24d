"""A local 60db service for tests, development and the offline demo.

It speaks the STT and TTS WebSockets, the OpenAI-compatible LLM endpoint and the REST
endpoints of the official ``sixtydb`` SDK on 127.0.0.1, with real speech engines where
installed (pocketsphinx, flite) and a deterministic tone code otherwise, a fault plan
and records of what arrived::

    from livekit.plugins._60db.emulator import Emulator, Fault

    async with Emulator(api_keys={"sk_test"}, port=0, handshake="docs") as emu:
        emu.stt_url, emu.tts_url, emu.llm_url, emu.http_url
        emu.faults.add(Fault("stt", "close", code=1011, after_bytes=16000))
        emu.llm.queue_tool_call("get_weather", {"city": "Paris"})
        emu.records.stt[0].audio

It imports nothing of the plugin's client code. The names below load on first use,
so that ``audiocore --help`` (which imports the command module) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import Fault, FaultPlan
    from .llm import Reply, ScriptedModel, ToolCall
    from .records import HTTPRequest, Records, STTSession, TTSConnection, TTSContext
    from .server import Emulator

__all__ = [
    "Emulator",
    "Fault",
    "FaultPlan",
    "HTTPRequest",
    "Records",
    "Reply",
    "STTSession",
    "ScriptedModel",
    "TTSConnection",
    "TTSContext",
    "ToolCall",
]

_WHERE = {
    "Emulator": "server",
    "Fault": "faults", "FaultPlan": "faults",
    "Reply": "llm", "ScriptedModel": "llm", "ToolCall": "llm",
    "HTTPRequest": "records", "Records": "records", "STTSession": "records",
    "TTSConnection": "records", "TTSContext": "records",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(list(globals()) + __all__)
