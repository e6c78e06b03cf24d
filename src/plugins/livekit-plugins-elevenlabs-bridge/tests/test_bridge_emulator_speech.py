"""The emulator's real speech path: flite speaks, pocketsphinx listens."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

import audiocore
from livekit.plugins.elevenlabs_bridge.emulator import Brain, Emulator

from _bridge_emulator_client import RawClient, silence, to_format

pytestmark = pytest.mark.speech

REPLY = "the weather is warm and sunny"


def flite(text: str, tmp_path: Path) -> bytes:
    """16 kHz PCM from the flite binary, made here, not by the emulator."""
    binary = shutil.which("flite")
    if binary is None:
        pytest.skip("flite is not installed")
    out = tmp_path / "say.wav"
    subprocess.run([binary, "-voice", "kal16", "-t", text, "-o", str(out)], check=True)
    with wave.open(str(out)) as w:
        assert w.getframerate() == 16000
        return w.readframes(w.getnframes())


def recognise(pcm16k: bytes) -> str:
    from pocketsphinx import Decoder

    d = Decoder(samprate=16000, loglevel="FATAL")
    d.start_utt()
    d.process_raw(pcm16k, full_utt=True)
    d.end_utt()
    return d.hyp().hypstr if d.hyp() is not None else ""


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt_in,fmt_out", [("pcm_16000", "pcm_24000"),
                                            ("pcm_48000", "ulaw_8000")])
async def test_spoken_question_and_spoken_answer(tmp_path: Path, fmt_in: str,
                                                 fmt_out: str) -> None:
    pytest.importorskip("pocketsphinx")
    question = flite("what is the weather today", tmp_path)
    async with Emulator(speech="real", brain=Brain([REPLY]), user_input_audio_format=fmt_in,
                        agent_output_audio_format=fmt_out) as emu:
        assert emu.speech == {"tts": "flite", "asr": "pocketsphinx"}
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            pcm = silence(0.3) + question + silence(0.8)
            rate = int(fmt_in.split("_")[1])
            await c.send_audio(to_format(pcm, fmt_in), chunk=rate * 2 // 50)
            transcript = await c.wait_type("user_transcript", timeout=30)
            rec = emu.records.conversations[0]
            await c.wait_for(lambda c: rec.replies and rec.replies[0].complete, timeout=30)
            await c.wait_for(lambda c: len(c.audio()) == rec.replies[0].planned_bytes)
    heard = transcript["user_transcription_event"]["user_transcript"]
    assert "weather" in heard.split()
    assert len(rec.utterances) == 1  # flite's pauses between words do not split the turn
    out_rate = int(fmt_out.split("_")[1])
    audio = c.audio()
    if fmt_out.startswith("ulaw"):
        audio = audiocore.ulaw_decode(audio)
    back = audiocore.Converter(out_rate, 1, 16000).process(audio)
    words = recognise(bytes(back)).split()  # type: ignore[arg-type]
    assert words == REPLY.split()
