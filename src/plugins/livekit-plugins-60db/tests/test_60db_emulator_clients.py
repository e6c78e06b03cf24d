"""Clients nobody here wrote, against the emulator: the official ``sixtydb`` SDK (REST
TTS, TTS stream, STT, chat) and the ``openai`` client (streaming, tools)."""

from __future__ import annotations

import io
import json
import wave
from typing import Iterator, List

import openai
import pytest
import sixtydb

from livekit.plugins._60db.emulator import Emulator, Reply, ToolCall

KEY = "sk_test"
TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}]


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    # The SDK is synchronous (requests): the emulator runs on its own thread.
    with Emulator(api_keys={KEY}, speech="fallback") as e:
        yield e


@pytest.fixture
def sdk(emu: Emulator) -> sixtydb.SixtyDBClient:
    emu.records.clear()
    emu.llm.clear()
    return sixtydb.SixtyDBClient(KEY, base_url=emu.http_url)


@pytest.fixture
def client(emu: Emulator) -> openai.OpenAI:
    emu.records.clear()
    emu.llm.clear()
    return openai.OpenAI(api_key=KEY, base_url=emu.http_url + "/v1", max_retries=0)


def test_sdk_rest_tts_then_stt(sdk: sixtydb.SixtyDBClient, emu: Emulator, tmp_path) -> None:
    audio = sdk.text_to_speech("Good evening, everyone.", voice_id="v1")
    with wave.open(io.BytesIO(audio)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 16000)
        assert w.getnframes() > 16000
    path = tmp_path / "speech.wav"
    path.write_bytes(audio)
    result = sdk.speech_to_text(str(path), language="en")
    assert result["text"] == "good evening, everyone."
    assert result["segments"][0]["text"] == result["text"]
    with open(path, "rb") as f:
        refined = sdk.speech_to_text(f, context="a greeting")
    assert refined["text"] == "Good evening, everyone."
    tts, stt, stt2 = emu.records.rest
    assert tts.body["voice_id"] == "v1" and tts.path == "/tts-synthesize"
    assert stt.body["language"] == "en" and stt.body["audio_bytes"] == len(audio)
    assert stt2.body["context"] == "a greeting"


def test_sdk_tts_stream(sdk: sixtydb.SixtyDBClient, emu: Emulator) -> None:
    chunks: List[bytes] = []
    done: List[bool] = []
    errors: List[str] = []
    sdk.text_to_speech_stream("Streaming works.", on_chunk=chunks.append,
                              on_complete=lambda: done.append(True), on_error=errors.append)
    whole = sdk.text_to_speech("Streaming works.")
    with wave.open(io.BytesIO(whole)) as w:
        pcm = w.readframes(w.getnframes())
    assert done == [True] and errors == [] and len(chunks) > 1
    assert b"".join(chunks) == pcm  # the stream is the same speech, as raw PCM16


def test_sdk_chat(sdk: sixtydb.SixtyDBClient, emu: Emulator) -> None:
    reply = sdk.chat.completion(messages=[{"role": "user", "content": "What is 60db?"}])
    assert reply["choices"][0]["message"]["content"] == "You said: What is 60db."
    emu.llm.queue_reply("A speech platform.")
    chunks = list(sdk.chat.completions.create(
        messages=[{"role": "user", "content": "again"}], stream=True))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks
                   if c.get("choices"))
    assert text == "A speech platform."
    assert emu.records.llm[1].body["stream"] is True
    assert emu.records.llm[1].body["model"] == "60db-tiny"


def test_sdk_bad_key(emu: Emulator) -> None:
    import requests

    with pytest.raises(requests.HTTPError) as info:
        sixtydb.SixtyDBClient("sk_nope", base_url=emu.http_url).text_to_speech("hi")
    assert info.value.response.status_code == 401


def test_openai_streaming_tool_round_trip(client: openai.OpenAI, emu: Emulator) -> None:
    messages = [{"role": "user", "content": "Please get_weather for Lisbon"}]
    stream = client.chat.completions.create(model="60db-tiny", messages=messages,
                                            tools=TOOLS, stream=True,
                                            stream_options={"include_usage": True})
    calls: dict = {}
    finish = usage = None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices or []:
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, {"id": None, "name": "", "args": ""})
                entry["id"] = tc.id or entry["id"]
                entry["name"] += (tc.function.name or "") if tc.function else ""
                entry["args"] += (tc.function.arguments or "") if tc.function else ""
            finish = choice.finish_reason or finish
    assert finish == "tool_calls" and usage is not None and usage.total_tokens > 0
    (call,) = calls.values()
    assert call["name"] == "get_weather" and json.loads(call["args"]) == {"city": "Lisbon"}
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call["id"], "type": "function",
             "function": {"name": call["name"], "arguments": call["args"]}}]},
        {"role": "tool", "tool_call_id": call["id"], "content": "18 C and sunny"}]
    stream = client.chat.completions.create(model="60db-tiny", messages=messages,
                                            tools=TOOLS, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "The result is: 18 C and sunny."
    assert emu.records.llm[1].body["messages"][-1]["tool_call_id"] == call["id"]


def test_openai_queued_parallel_calls_non_streaming(client: openai.OpenAI,
                                                    emu: Emulator) -> None:
    emu.llm.queue(Reply(tool_calls=[ToolCall("a", {"x": 1}), ToolCall("b", {"y": "z"})]))
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "go"}])
    calls = r.choices[0].message.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("a", {"x": 1}), ("b", {"y": "z"})]
    assert r.choices[0].finish_reason == "tool_calls" and r.usage.total_tokens > 0
    emu.llm.queue(Reply(tool_calls=[ToolCall("a", {"n": "x" * 40}), ToolCall("b", {})]))
    stream = client.chat.completions.create(model="m", stream=True,
                                            messages=[{"role": "user", "content": "go"}])
    by_index: dict = {}
    for chunk in stream:
        for choice in chunk.choices or []:
            for tc in choice.delta.tool_calls or []:
                by_index.setdefault(tc.index, []).append(tc.function.arguments or "")
    assert json.loads("".join(by_index[0])) == {"n": "x" * 40}
    assert len(by_index[0]) >= 4  # the id/name delta, then arguments in pieces
    assert json.loads("".join(by_index[1])) == {}


def test_openai_errors(client: openai.OpenAI) -> None:
    bad = openai.OpenAI(api_key="sk_bad", base_url=str(client.base_url), max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
