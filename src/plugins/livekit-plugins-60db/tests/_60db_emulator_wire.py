"""A minimal websockets client for the emulator's tests: no plugin code, only the wire."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional, Tuple

import websockets

KEY = "sk_test"


def start_message(encoding: str = "mulaw", rate: int = 8000, **extra: Any) -> str:
    return json.dumps({"type": "start", "languages": ["en"],
                       "config": {"encoding": encoding, "sample_rate": rate,
                                  "continuous_mode": True}, **extra})


async def recv_json(ws: Any, timeout: float = 5.0) -> Dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def stt_handshake(ws: Any, start: str) -> List[Dict[str, Any]]:
    """Either order: skip ``connecting``, send ``start`` at ``connection_established``
    (object or true), done at the first ``connected``/``session_started`` after it."""
    seen: List[Dict[str, Any]] = []
    sent_start = False
    while True:
        msg = await recv_json(ws)
        seen.append(msg)
        if msg.get("type") == "error":
            raise RuntimeError(msg)
        if "connection_established" in msg and not sent_start:
            await ws.send(start)
            sent_start = True
        elif sent_start and msg.get("type") in ("connected", "session_started"):
            return seen


async def stt_session(url: str, audio: bytes, *, start: Optional[str] = None,
                      frame: int = 480, key: str = KEY
                      ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]], Any]:
    """Handshake, ``audio`` in ``frame``-byte binary frames, stop; returns (handshake,
    messages after it, close code)."""
    async with websockets.connect(f"{url}?apiKey={key}") as ws:
        pre = await stt_handshake(ws, start or start_message())
        for i in range(0, len(audio), frame):
            await ws.send(audio[i:i + frame])
        await ws.send(json.dumps({"type": "stop"}))
        out = [json.loads(m) async for m in ws]
        return pre, out, ws.close_code


async def tts_preamble(ws: Any, timeout: float = 0.3) -> List[Dict[str, Any]]:
    """The messages a TTS socket sends before the client speaks (none in seed mode)."""
    seen = []
    try:
        while True:
            seen.append(await recv_json(ws, timeout))
    except asyncio.TimeoutError:
        return seen


def create_context(cid: str, encoding: str = "LINEAR16", rate: int = 16000) -> str:
    return json.dumps({"create_context": {
        "context_id": cid, "voice_id": "fbb75ed2-975a-40c7-9e06-38e30524a9a1",
        "audio_config": {"audio_encoding": encoding, "sample_rate_hertz": rate}}})


def finals(messages: List[Dict[str, Any]]) -> List[str]:
    return [m["text"] for m in messages if m.get("type") == "transcription"
            and m.get("is_final") and m.get("speech_final", True)]
