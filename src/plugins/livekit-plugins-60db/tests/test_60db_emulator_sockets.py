"""The emulator on 127.0.0.1, driven by a minimal websockets client (and aiohttp-free
HTTP through httpx), in both handshake orders."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from typing import AsyncIterator

import httpx
import pytest
import pytest_asyncio
import websockets
from audiocore import Converter, ulaw_encode

from _60db_emulator_wire import (KEY, create_context, finals, recv_json, start_message,
                                 stt_session, tts_preamble)
from livekit.plugins._60db.emulator import Emulator, tones


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={KEY}, port=0, speech="fallback") as e:
        yield e


def test_urls_and_validation() -> None:
    e = Emulator(api_keys={KEY}, port=0)
    assert e.llm_url.endswith("/v1/chat/completions")
    with pytest.raises(ValueError, match="handshake"):
        Emulator(handshake="other")
    with pytest.raises(ValueError, match="port"):
        Emulator(port=70000)
    with pytest.raises(TypeError, match="api_keys"):
        Emulator(api_keys="sk_test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="speech"):
        Emulator(speech="loud")  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize("handshake", ["docs", "seed"])
async def test_stt_both_handshakes(emu: Emulator, handshake: str) -> None:
    emu.handshake = handshake
    audio = ulaw_encode(tones.encode("Hello there. Nice to meet you"))
    pre, out, code = await stt_session(emu.stt_url, audio)
    if handshake == "docs":
        assert pre[0].get("connecting") is True
        assert pre[1]["type"] == "connected"
        assert isinstance(pre[2]["connection_established"], dict)
        assert pre[3]["type"] == "session_started"
    else:
        assert pre == [{"connection_established": True}, {"type": "connected"}]
    assert finals(out) == ["hello there.", "nice to meet you"]
    assert any(m.get("type") == "transcription" and not m["is_final"] for m in out)
    assert out[0]["type"] == "speech_started"
    assert out[-1]["type"] == "session_stopped"
    assert out[-1]["billing_summary"]["total_duration_seconds"] == pytest.approx(
        len(audio) / 8000)
    assert code == 1000
    (rec,) = emu.records.stt
    assert bytes(rec.audio) == audio and rec.encoding == "mulaw" and rec.sample_rate == 8000
    assert rec.handshake == handshake and rec.stopped and rec.close_code == 1000
    assert "apiKey" not in rec.query and rec.messages[0]["type"] == "start"


@pytest.mark.asyncio
@pytest.mark.parametrize("encoding,rate", [("linear", 16000), ("LINEAR16", 48000),
                                           ("linear", 44100), ("mulaw", 24000)])
async def test_stt_rates_and_encodings(emu: Emulator, encoding: str, rate: int) -> None:
    conv = Converter(tones.RATE, 1, rate,
                     out_encoding="mulaw" if encoding == "mulaw" else "pcm16")
    audio = conv.process(tones.encode("one two three.")) + conv.flush()
    _, out, _ = await stt_session(emu.stt_url, audio, start=start_message(encoding, rate),
                                  frame=rate // 25 * 2 + 1)  # 40 ms + 1 byte: odd frames
    assert finals(out) == ["one two three."]
    assert emu.records.stt[0].encoding == ("mulaw" if encoding == "mulaw" else "linear")


@pytest.mark.asyncio
async def test_stt_json_audio_and_context(emu: Emulator) -> None:
    audio = ulaw_encode(tones.encode("fine thanks"))
    async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
        while "connection_established" not in await recv_json(ws):
            pass
        await ws.send(start_message(context="small talk"))
        assert (await recv_json(ws))["type"] == "session_started"
        for i in range(0, len(audio), 800):
            await ws.send(json.dumps({"type": "audio", "encoding": "mulaw", "sample_rate": 8000,
                                      "audio": base64.b64encode(audio[i:i + 800]).decode()}))
        await ws.send('{"type": "stop"}')
        out = [json.loads(m) async for m in ws]
    two = [m for m in out if m.get("type") == "transcription" and m["is_final"]]
    assert [(m["text"], m["speech_final"]) for m in two] == [("fine thanks", False),
                                                             ("Fine thanks.", True)]
    assert two[0]["sentence_id"] == two[1]["sentence_id"]
    assert emu.records.stt[0].json_audio_frames == -(-len(audio) // 800)


@pytest.mark.asyncio
async def test_stt_empty_finals() -> None:
    async with Emulator(api_keys={KEY}, speech="fallback", empty_final_every=1) as emu:
        _, out, _ = await stt_session(emu.stt_url, ulaw_encode(tones.encode("yes.")))
    texts = [m["text"] for m in out if m.get("type") == "transcription" and m["is_final"]]
    assert texts == ["yes.", ""]


@pytest.mark.asyncio
@pytest.mark.parametrize("first,code,error_code", [
    (start_message("opus", 8000), 1008, "INVALID_CONFIG"),
    (start_message("mulaw", 11025), 1008, "INVALID_CONFIG"),
    ("{broken", 1007, "INVALID_JSON"),
    (b"\xff" * 480, 1008, "AUDIO_BEFORE_START"),
])
async def test_stt_strict_server(emu: Emulator, first: object, code: int,
                                 error_code: str) -> None:
    async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
        while "connection_established" not in await recv_json(ws):
            pass
        await ws.send(first)  # type: ignore[arg-type]
        err = await recv_json(ws)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert err["type"] == "error" and err["error_code"] == error_code
    assert ws.close_code == code


@pytest.mark.asyncio
@pytest.mark.parametrize("service", ["stt", "tts"])
async def test_websocket_bad_key(emu: Emulator, service: str) -> None:
    url = emu.stt_url if service == "stt" else emu.tts_url
    async with websockets.connect(f"{url}?apiKey=sk_wrong") as ws:
        err = await recv_json(ws)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1008
    assert (err.get("error_code") == "UNAUTHORIZED" if service == "stt"
            else "API key" in err["error"]["message"])
    assert "sk_wrong" not in json.dumps(err)


@pytest.mark.asyncio
@pytest.mark.parametrize("handshake", ["docs", "seed"])
async def test_tts_contexts_on_one_socket(emu: Emulator, handshake: str) -> None:
    emu.handshake = handshake
    async with websockets.connect(f"{emu.tts_url}?apiKey={KEY}") as ws:
        pre = await tts_preamble(ws)
        await ws.send(create_context("a"))
        await ws.send(create_context("b", "MULAW", 8000))
        for cid, text in (("a", "First one."), ("b", "Second.")):
            await ws.send(json.dumps({"send_text": {"context_id": cid, "text": text}}))
            await ws.send(json.dumps({"flush_context": {"context_id": cid}}))
        await ws.send(json.dumps({"close_context": {"context_id": "a"}}))
        await ws.send(json.dumps({"close_context": {"context_id": "b"}}))
        msgs = []
        while sum("context_closed" in m for m in msgs) < 2:
            msgs.append(await recv_json(ws))
    if handshake == "docs":
        assert pre[0]["connecting"] is True and isinstance(pre[1]["connection_established"], dict)
        assert {"context_created": {"context_id": "a"}} in msgs
    else:
        assert pre == [] and {"context_created": True} in msgs
    audio = {"a": b"", "b": b""}
    for m in msgs:
        if "audio_chunk" in m:
            audio[m["audio_chunk"]["context_id"]] += base64.b64decode(
                m["audio_chunk"]["audioContent"])
    kinds = [next(iter(m)) for m in msgs]
    assert kinds.count("flush_completed") == 2
    # Each flush's audio comes before its flush_completed, and the closes come last.
    assert kinds[-2:] == ["context_closed", "context_closed"]
    back = Converter(16000, 1, tones.RATE)
    pcm = back.process(audio["a"]) + back.flush()
    dec = tones.ToneDecoder()
    assert [e[1] for e in dec.feed(pcm) + dec.finish() if e[0] == "final"] == ["first one."]
    from audiocore import ulaw_decode
    dec = tones.ToneDecoder()
    assert [e[1] for e in dec.feed(ulaw_decode(audio["b"])) + dec.finish()
            if e[0] == "final"] == ["second."]
    (rec,) = emu.records.tts
    assert rec.opened == ["a", "b"] and rec.closed == ["a", "b"]
    assert bytes(rec.contexts["a"].audio) == audio["a"]
    assert rec.contexts["b"].encoding == "MULAW" and rec.contexts["a"].flushes == ["First one."]


@pytest.mark.asyncio
async def test_tts_errors_and_too_many_contexts() -> None:
    async with Emulator(api_keys={KEY}, speech="fallback", max_tts_contexts=2) as emu:
        async with websockets.connect(f"{emu.tts_url}?apiKey={KEY}") as ws:
            await tts_preamble(ws)
            await ws.send(create_context("x", "LINEAR16", 44100))
            err = await recv_json(ws)
            assert err["error"]["context_id"] == "x"
            assert "sample_rate_hertz" in err["error"]["message"]
            await ws.send(create_context("a"))
            await ws.send(create_context("b"))
            await ws.send(create_context("c"))
            got = [await recv_json(ws) for _ in range(3)]
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        assert "Too many" in got[2]["error"]["message"] and ws.close_code == 1008
        async with websockets.connect(f"{emu.tts_url}?apiKey={KEY}") as ws:
            await tts_preamble(ws)
            await ws.send(json.dumps({"send_text": {"context_id": "a", "text": "hi"}}))
            err = await recv_json(ws)
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        assert "first" in err["error"]["message"] and ws.close_code == 1008


@pytest.mark.asyncio
async def test_server_pings(caplog: pytest.LogCaptureFixture) -> None:
    # websockets answers pings by itself; its frame log shows them arrive.
    caplog.set_level(logging.DEBUG, logger="websockets.client")
    async with Emulator(api_keys={KEY}, speech="fallback", ping_interval=0.2) as emu:
        async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
            await tts_preamble(ws, timeout=1.0)
            assert ws.state is websockets.State.OPEN  # every ping answered in time
    pings = [r for r in caplog.records if r.getMessage().startswith("< PING")]
    assert len(pings) >= 2


@pytest.mark.asyncio
async def test_http_auth_and_bad_body(emu: Emulator) -> None:
    async with httpx.AsyncClient(base_url=emu.http_url) as http:
        r = await http.post("/v1/chat/completions", json={"messages": []},
                            headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        r = await http.post("/v1/chat/completions", content=b"{",
                            headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 400
        r = await http.post("/tts-synthesize", json={"text": ""},
                            headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 400
        r = await http.post("/stt", files={"audio": ("a.mp3", b"ID3\x03junk", "audio/mpeg")},
                            headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 415 and "WAV" in r.json()["message"]
    assert [x.status for x in emu.records.llm] == [401, 400]
    assert all("authorization" not in {k.lower() for k in x.headers} for x in emu.records.llm)


def test_sync_start_stop_from_another_thread() -> None:
    with Emulator(api_keys={KEY}, speech="fallback") as emu:
        r = httpx.post(emu.llm_url, json={"messages": [{"role": "user", "content": "hi"}]},
                       headers={"Authorization": f"Bearer {KEY}"})
        assert r.json()["choices"][0]["message"]["content"].startswith("Hello")
        port = emu.port
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", json={})
