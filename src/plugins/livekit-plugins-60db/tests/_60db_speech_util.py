"""Shared helpers of the STT/TTS socket tests: test audio, the reference conversion."""

from __future__ import annotations

import asyncio
from typing import Optional

import audiocore
from livekit import rtc
from livekit.agents import APIConnectOptions, stt

from livekit.plugins._60db.emulator import tones

KEY = "sk_test_0123456789abcdef"


def room_frames(text: str, rate: int = 48000, channels: int = 2, frame_ms: int = 10,
                lead_ms: int = 100, tail_ms: int = 600) -> list[rtc.AudioFrame]:
    """``text`` in the emulator's tone code, as a room would deliver it: fixed frames of
    ``rate`` Hz and ``channels`` channels, with silence around it."""
    pcm = (b"\0\0" * (tones.RATE * lead_ms // 1000) + tones.encode(text)
           + b"\0\0" * (tones.RATE * tail_ms // 1000))
    up = audiocore.Converter(tones.RATE, 1, rate, channels, engine="realtime")
    data = up.process(pcm) + up.flush()
    step = rate * frame_ms // 1000 * channels * 2
    return [rtc.AudioFrame(data[i:i + step], rate, channels, step // (2 * channels))
            for i in range(0, len(data) - step + 1, step)]


def wire_audio(frames: list[rtc.AudioFrame], rate: int, encoding: str) -> bytes:
    """What audiocore makes of ``frames`` for the service: the bytes it must receive."""
    conv = audiocore.Converter(frames[0].sample_rate, frames[0].num_channels, rate, 1,
                               out_encoding="mulaw" if encoding == "mulaw" else "pcm16",
                               engine="realtime")
    return b"".join(conv.process(f.data) for f in frames) + conv.flush()


async def transcribe(model: stt.STT, frames: list[rtc.AudioFrame], *,
                     conn_options: Optional[APIConnectOptions] = None,
                     wait_final_after: Optional[int] = None) -> list[stt.SpeechEvent]:
    """Push ``frames`` (all at once, or waiting for a final after frame
    ``wait_final_after``), end the input and collect every event."""
    kwargs = {"conn_options": conn_options} if conn_options is not None else {}
    stream = model.stream(**kwargs)
    events: list[stt.SpeechEvent] = []
    got_final = asyncio.Event()

    async def read() -> None:
        async for ev in stream:
            events.append(ev)
            if ev.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                got_final.set()

    reader = asyncio.create_task(read())
    try:
        for i, frame in enumerate(frames):
            stream.push_frame(frame)
            if wait_final_after is not None and i == wait_final_after:
                await asyncio.wait_for(got_final.wait(), 10)
        stream.end_input()
        await asyncio.wait_for(reader, 30)
    finally:
        reader.cancel()
        await stream.aclose()
    return events


def finals(events: list[stt.SpeechEvent]) -> list[str]:
    return [e.alternatives[0].text for e in events
            if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT]
