"""End to end: an ``AgentSession`` with no room hears a question and answers it aloud.

Speech arrives as a LiveKit room delivers it (48 kHz stereo, 10 ms frames, real
time); the plugin's STT, LLM and TTS talk to the emulator on 127.0.0.1; one tool call
goes round. With the emulator's tone voices everything is deterministic, down to the
words of the agent's audio, which are read back here; with flite and pocketsphinx
(``speech``) the words are checked loosely.
"""

from __future__ import annotations

import json
import os
import wave
from pathlib import Path
from typing import Any

import audiocore
import pytest

from livekit.plugins._60db import LLM, STT, TTS
from livekit.plugins._60db import _voice_turn as vt
from livekit.plugins._60db.emulator import Emulator, engines, tones

KEY = "sk_e2e_test_key_42"
QUESTION = "What is the weather in Paris?"


def _read_back(pcm: bytes, rate: int, channels: int) -> str:
    """The tone code's words in the agent's audio."""
    conv = audiocore.Converter(rate, channels, tones.RATE, 1)
    mono8k = bytes(conv.process(pcm)) + conv.flush()
    decoder = tones.ToneDecoder()
    events = decoder.feed(mono8k) + decoder.finish()
    return " ".join(text for kind, text, *_ in events if kind == "final" and text)


async def _turn(emu: Emulator, voice: str,
                **stt_kw: Any) -> tuple[vt.TurnReport, vt.CollectingOutput]:
    question = vt.speak_question(QUESTION, voice)
    stt = STT(api_key=KEY, ws_url=emu.stt_url, **stt_kw)
    model = LLM(api_key=KEY, api_url=emu.llm_url)
    tts = TTS(api_key=KEY, ws_url=emu.tts_url)
    try:
        return await vt.run_turn(question, stt=stt, llm_=model, tts=tts, timeout=40)
    finally:
        await model.aclose()
        await stt.aclose()
        await tts.aclose()


def _llm_bodies(emu: Emulator) -> list[Any]:
    return [r.body for r in emu.records.llm]


@pytest.mark.asyncio
async def test_voice_turn_with_a_tool_call_on_the_tone_voices() -> None:
    async with Emulator(api_keys=[KEY], speech="fallback") as emu:
        report, output = await _turn(emu, "tones")
        bodies = _llm_bodies(emu)
    assert report.errors == []
    assert report.transcript.rstrip("?. ") == "what is the weather in paris"
    assert [c["name"] for c in report.tool_calls] == ["weather"]
    assert report.tool_calls[0]["arguments"] == {"city": "paris"}
    assert vt.WEATHER in report.tool_calls[0]["output"]
    # The model saw the tool's schema, then its output, in two requests.
    assert len(bodies) == 2 and report.llm_requests == 2
    assert bodies[0]["tools"][0]["function"]["name"] == "weather"
    tool_msgs = [m for m in bodies[1]["messages"] if m.get("role") == "tool"]
    assert len(tool_msgs) == 1 and vt.WEATHER in tool_msgs[0]["content"]
    assert vt.WEATHER in report.reply
    # The agent's audio says the reply: the tone code reads it back word for word.
    pcm, rate, channels = output.pcm()
    assert rate == TTS(api_key=KEY, ws_url=emu.tts_url).sample_rate
    heard = _read_back(pcm, rate, channels)
    assert tones.normalize(vt.WEATHER) in heard
    assert tones.normalize(report.reply).startswith(heard.split(" ")[0])
    # Every stage was reached, in pipeline order.
    lat = report.latency_ms
    order = ["final_transcript", "llm_first_token", "reply_first_token",
             "tts_first_audio", "agent_first_frame"]
    assert all(lat[k] is not None for k in order), lat
    assert [lat[k] for k in order] == sorted(lat[k] for k in order)  # type: ignore[type-var]


@pytest.mark.asyncio
async def test_a_failed_llm_request_is_retried_within_the_turn() -> None:
    from livekit.plugins._60db.emulator import Fault

    async with Emulator(api_keys=[KEY], speech="fallback") as emu:
        emu.faults.add(Fault("llm", "status", status=503))
        report, _ = await _turn(emu, "tones")
        statuses = [r.status for r in emu.records.llm]
    assert statuses[:2] == [503, 200] and len(statuses) == 3  # retry, then after the tool
    assert report.ok and report.errors == []
    assert len(report.warnings) == 1 and "503" in report.warnings[0]
    assert vt.WEATHER in report.reply


@pytest.mark.speech
@pytest.mark.asyncio
async def test_voice_turn_with_flite_and_pocketsphinx() -> None:
    if not (vt.flite_available() and engines.pocketsphinx_available()):
        pytest.fail("the speech tests need flite and pocketsphinx (bash .ci/setup installs both)")
    async with Emulator(api_keys=[KEY], speech="engines") as emu:
        # pocketsphinx's wideband model needs 16 kHz (it reads 8 kHz mu-law poorly).
        report, output = await _turn(emu, "flite", encoding="linear", sample_rate=16000)
    assert report.errors == []
    words = report.transcript.lower().split()
    assert "weather" in words and "paris" in words, report.transcript
    assert [c["name"] for c in report.tool_calls] == ["weather"]
    assert report.tool_calls[0]["arguments"] == {"city": "paris"}
    assert vt.WEATHER in report.reply
    assert report.reply_audio_s > 1.0  # flite speaking a sentence
    assert report.latency_ms["agent_first_frame"] is not None


def test_demo_command_runs_a_turn_and_writes_its_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    from audiocore import cli

    monkeypatch.chdir(tmp_path)
    # Through the audiocore command and its entry point, as `audiocore demo` runs it
    # (in-process: a fresh interpreter would only add livekit's import time).
    code = cli.main(["demo", "--speech", "fallback", "--out", "reply.wav",
                     "--json", "report.json"])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["ok"] is True and report["voices"] == "fallback"
    assert report["tool_calls"][0]["name"] == "weather"
    assert set(report["latency_ms"]) >= {"final_transcript", "llm_first_token",
                                         "tts_first_audio", "agent_first_frame"}
    with wave.open(str(tmp_path / "reply.wav"), "rb") as w:
        seconds = w.getnframes() / w.getframerate()
    assert seconds == pytest.approx(report["reply_audio_s"], abs=0.01) and seconds > 0.5
    for text in ("user said", "tool call", "weather(", "agent replied", "first agent frame"):
        assert text in out


def test_demo_is_a_command_of_the_installed_distribution() -> None:
    # The entry point `bash .ci/setup` installs: what `.venv/bin/audiocore demo` resolves.
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="audiocore.commands") if ep.name == "demo"]
    assert eps and eps[0].value == "livekit.plugins._60db.demo:configure"
    assert eps[0].dist is not None and eps[0].dist.name == "livekit-plugins-60db"


def test_demo_live_without_a_key_fails_with_what_to_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from livekit.plugins._60db import _config, demo

    for name in [k for k in os.environ if k.startswith("SIXTY_DB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(_config, "_default_client", None)
    monkeypatch.chdir(tmp_path)  # no .env.local here
    parser = argparse.ArgumentParser()
    demo.configure(parser)
    args = parser.parse_args(["--live"])
    assert args.func(args) == 2
    assert "SIXTY_DB_API_KEY" in capsys.readouterr().err


def test_demo_exits_non_zero_when_the_turn_does_not_complete(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import argparse

    from livekit.plugins._60db import demo

    parser = argparse.ArgumentParser()
    demo.configure(parser)
    # Far shorter than the question itself: no reply can come in time.
    args = parser.parse_args(["--speech", "fallback", "--timeout", "0.3",
                              "--json", str(tmp_path / "r.json")])
    assert args.func(args) == 1
    out = capsys.readouterr()
    assert "FAILED" in out.err and "no spoken reply within 0.3 s" in out.out
    assert json.loads((tmp_path / "r.json").read_text())["ok"] is False
