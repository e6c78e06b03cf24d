"""The key travels in the STT/TTS URL: with every logger at DEBUG and every fault
triggered, it appears in no log line, exception text (chains included) or repr."""

from __future__ import annotations

import logging
import traceback

import pytest
from livekit.agents import APIConnectOptions, APIError

from _60db_speech_util import KEY, room_frames, transcribe
from livekit.plugins._60db import STT, TTS
from livekit.plugins._60db.emulator import Emulator, Fault

FAST = APIConnectOptions(max_retry=1, retry_interval=0.05, timeout=1.0)

STT_FAULTS = [
    None,
    Fault("stt", "refuse", status=401),
    Fault("stt", "refuse", reason="try again"),
    Fault("stt", "credits", after_bytes=2000),
    Fault("stt", "close", code=1011, after_bytes=2000),
    Fault("stt", "close", code=1006, after_bytes=2000),
    Fault("stt", "malformed", after_messages=3),
    Fault("stt", "stall", times=2),
]
TTS_FAULTS = [
    None,
    Fault("tts", "refuse", status=401),
    Fault("tts", "refuse", status=503, times=2),
    Fault("tts", "credits"),
    Fault("tts", "close", code=1011, after_messages=4),
    Fault("tts", "close", code=1006, after_bytes=1),
    Fault("tts", "malformed", after_messages=0),
    Fault("tts", "stall", after_bytes=1, times=2),
]


def _all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + repr(exc)


@pytest.mark.asyncio
async def test_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.DEBUG)
    texts: list[str] = []
    async with Emulator(api_keys={KEY}, speech="fallback", ping_interval=None) as emu:
        model = STT(api_key=KEY, ws_url=emu.stt_url)
        texts += [repr(model), repr(model.options)]
        stream = model.stream(conn_options=FAST)
        texts.append(repr(stream))
        await stream.aclose()
        for fault in STT_FAULTS:
            if fault is not None:
                emu.faults.add(fault)
            try:
                await transcribe(model, room_frames("hi there."), conn_options=FAST)
            except APIError as e:
                texts.append(_all_text(e))
            emu.faults.clear()
        unreachable = STT(api_key=KEY, ws_url="ws://127.0.0.1:9/ws/stt")
        try:
            await transcribe(unreachable, room_frames("hi."),
                             conn_options=APIConnectOptions(max_retry=0, timeout=1))
        except APIError as e:
            texts.append(_all_text(e))

        for fault in TTS_FAULTS:
            tts = TTS(api_key=KEY, ws_url=emu.tts_url)  # a new socket for each fault
            texts += [repr(tts), repr(tts.options)]
            if fault is not None:
                emu.faults.add(fault)
            try:
                async for _ in tts.synthesize("hi there.", conn_options=FAST):
                    pass
            except APIError as e:
                texts.append(_all_text(e))
            emu.faults.clear()
            if tts._conn is not None:
                texts.append(repr(tts._conn) + repr(tts._conn._ws))
            await tts.aclose()
        fired = len(emu.faults.fired)

    assert fired >= len(STT_FAULTS) + len(TTS_FAULTS) - 2  # every fault was triggered
    raised = [t for t in texts if "Error" in t]
    assert len(raised) >= 5  # the failures that are not retried, or not enough, raised
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "> GET /ws/stt?apiKey=***" in logged  # websockets logged its request lines
    assert "> GET /ws/tts?apiKey=***" in logged
    assert KEY not in logged
    for text in texts:
        assert KEY not in text
