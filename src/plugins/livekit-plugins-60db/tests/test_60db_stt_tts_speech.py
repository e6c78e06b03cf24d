"""The real speech engines through the plugin: flite speaks via TTS, pocketsphinx listens
via STT, with the audio delivered to STT as a room would (48 kHz stereo, 10 ms)."""

from __future__ import annotations

import pytest

import audiocore
from livekit import rtc

from _60db_speech_util import KEY, finals, transcribe
from livekit.plugins._60db import STT, TTS
from livekit.plugins._60db.emulator import Emulator


@pytest.mark.speech
@pytest.mark.asyncio
@pytest.mark.parametrize("encoding, rate", [("mulaw", 8000), ("linear", 16000)])
async def test_flite_to_pocketsphinx_through_the_plugin(encoding: str, rate: int) -> None:
    async with Emulator(api_keys={KEY}, speech="engines", ping_interval=None) as emu:
        tts = TTS(api_key=KEY, ws_url=emu.tts_url, sample_rate=24000)
        try:
            spoken = rtc.combine_audio_frames(
                [ev.frame async for ev in tts.synthesize("what is the weather in paris")])
        finally:
            await tts.aclose()
        # as a room delivers it
        up = audiocore.Converter(24000, 1, 48000, 2)
        data = up.process(spoken.data) + up.flush() + b"\0" * 4 * 48000
        frames = [rtc.AudioFrame(data[i:i + 1920], 48000, 2, 480)
                  for i in range(0, len(data) - 1919, 1920)]
        events = await transcribe(STT(api_key=KEY, ws_url=emu.stt_url, encoding=encoding,
                                      sample_rate=rate), frames)
    text = " ".join(finals(events)).lower()
    assert "weather" in text and "paris" in text
