"""Real speech: flite speaks, the emulator's STT (pocketsphinx) transcribes, over the
WebSocket at 8 kHz μ-law and 16 kHz linear, and through the emulator's own TTS."""

from __future__ import annotations

import base64
import json
from typing import AsyncIterator, List

import pytest
import pytest_asyncio
import websockets
from audiocore import Converter

from _60db_emulator_wire import (KEY, create_context, finals, start_message, stt_session,
                                 tts_preamble)
from livekit.plugins._60db.emulator import Emulator
from livekit.plugins._60db.emulator.engines import (FliteSynthesizer, flite_path,
                                                    pocketsphinx_available)

pytestmark = [
    pytest.mark.speech,
    pytest.mark.skipif(not (flite_path() and pocketsphinx_available()),
                       reason="needs flite and pocketsphinx (the emulator extra)"),
]

SENTENCES = [
    "i would like to book a table for two people",
    "my phone number is five five five one two three four",
    "turn off the lights in the kitchen",
]
# Measured on these three sentences (flite kal16, 20 ms frames over the socket,
# pocketsphinx 5.1.1): 0 of 28 words wrong at 16 kHz linear, 2 of 28 at 8 kHz mu-law
# (on a wider set of six: 2.0 % and 11.8 %). The bounds leave room for other builds
# of flite and pocketsphinx.
WER_BOUND = {("linear", 16000): 0.10, ("mulaw", 8000): 0.20}


def word_errors(ref: str, hyp: str) -> int:
    r, h = ref.split(), hyp.split()
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[len(h)]


def test_word_errors() -> None:
    assert word_errors("a b c", "a b c") == 0
    assert word_errors("a b c", "a x c d") == 2
    assert word_errors("a b", "") == 2


@pytest.fixture(scope="module")
def speech() -> List[bytes]:
    flite = FliteSynthesizer()
    return [flite.synthesize_sync(s) for s in SENTENCES]


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={KEY}, speech="engines", preload=True) as e:
        yield e


@pytest.mark.asyncio
async def test_preload_fills_the_decoder_pools(emu: Emulator) -> None:
    from livekit.plugins._60db.emulator import engines

    assert emu.engines.stt_engine == "pocketsphinx"
    assert engines._live_pool._idle and engines._batch_pool._idle


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding,rate", [("mulaw", 8000), ("linear", 16000)])
async def test_flite_to_pocketsphinx_over_the_socket(emu: Emulator, speech: List[bytes],
                                                     encoding: str, rate: int) -> None:
    errors = words = 0
    interims = 0
    for text, pcm in zip(SENTENCES, speech):
        conv = Converter(FliteSynthesizer.rate, 1, rate,
                         out_encoding="mulaw" if encoding == "mulaw" else "pcm16")
        # Half a second of silence after the speech, as a caller's pause.
        audio = conv.process(pcm + bytes(FliteSynthesizer.rate)) + conv.flush()
        frame = rate // 50 * (1 if encoding == "mulaw" else 2)  # 20 ms
        _, out, code = await stt_session(emu.stt_url, audio, frame=frame,
                                         start=start_message(encoding, rate))
        assert code == 1000 and out[-1]["type"] == "session_stopped"
        hyp = " ".join(t for t in finals(out) if t)
        errors += word_errors(text, hyp)
        words += len(text.split())
        interims += sum(1 for m in out if m.get("type") == "transcription" and not m["is_final"])
        assert any(m.get("type") == "speech_started" for m in out)
    assert interims >= len(SENTENCES)  # interim hypotheses while speaking
    assert errors / words <= WER_BOUND[(encoding, rate)], (errors, words)


@pytest.mark.asyncio
async def test_emulator_tts_speaks_with_flite(emu: Emulator) -> None:
    async with websockets.connect(f"{emu.tts_url}?apiKey={KEY}") as ws:
        await tts_preamble(ws)
        await ws.send(create_context("c", "MULAW", 8000))
        await ws.send(json.dumps({"send_text": {"context_id": "c", "text": SENTENCES[0]}}))
        await ws.send(json.dumps({"flush_context": {"context_id": "c"}}))
        audio = b""
        while True:
            msg = json.loads(await ws.recv())
            if "audio_chunk" in msg:
                audio += base64.b64decode(msg["audio_chunk"]["audioContent"])
            elif "flush_completed" in msg:
                break
    assert emu.engines.tts_engine == "flite"
    # Two seconds or more of μ-law speech, then the same audio read back by STT.
    assert len(audio) > 2 * 8000
    _, out, _ = await stt_session(emu.stt_url, audio + b"\xff" * 8000, frame=160)
    hyp = " ".join(t for t in finals(out) if t)
    assert word_errors(SENTENCES[0], hyp) / len(SENTENCES[0].split()) <= 0.3
