"""Every fault of the plan, as a client sees it."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator, List

import httpx
import openai
import pytest
import pytest_asyncio
import websockets
from audiocore import ulaw_encode

from _60db_emulator_wire import (KEY, create_context, recv_json, start_message,
                                 stt_handshake, tts_preamble)
from livekit.plugins._60db.emulator import Emulator, Fault, tones

AUDIO = ulaw_encode(tones.encode("one. two. three."))
USER = [{"role": "user", "content": "hello"}]


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={KEY}, speech="fallback") as e:
        yield e


async def stt_run(emu: Emulator, frame: int = 480) -> List[Any]:
    """A session that streams AUDIO and stops; returns every message (non-JSON as str)
    and finally the ConnectionClosed it ended with (or the close code)."""
    out: List[Any] = []
    async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
        try:
            await stt_handshake(ws, start_message())
            for i in range(0, len(AUDIO), frame):
                await ws.send(AUDIO[i:i + frame])
            await ws.send('{"type": "stop"}')
            async for raw in ws:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    out.append(raw)
        except websockets.ConnectionClosed as e:
            out.append(e)
            return out
    out.append(ws.close_code)
    return out


@pytest.mark.asyncio
async def test_stt_refused_with_http_status(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "refuse", status=503))
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(f"{emu.stt_url}?apiKey={KEY}")
    assert info.value.response.status_code == 503
    assert emu.faults.fired[0].status == 503 and len(emu.faults) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("service", ["stt", "tts"])
async def test_refused_with_error_and_close(emu: Emulator, service: str) -> None:
    emu.faults.add(Fault(service, "refuse", reason="Maintenance"))  # type: ignore[arg-type]
    url = emu.stt_url if service == "stt" else emu.tts_url
    async with websockets.connect(f"{url}?apiKey={KEY}") as ws:
        err = await recv_json(ws)
        with pytest.raises(websockets.ConnectionClosed):
            await recv_json(ws)
    assert ws.close_code == 1008
    assert (err["error"] if service == "stt" else err["error"]["message"]) == "Maintenance"


@pytest.mark.asyncio
async def test_stt_out_of_credits_mid_stream(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "credits", after_bytes=4000))
    out = await stt_run(emu)
    closed = out[-1]
    assert isinstance(closed, websockets.ConnectionClosed)
    assert closed.rcvd.code == 1008 and closed.rcvd.reason == "INSUFFICIENT_CREDITS"
    errors = [m for m in out if isinstance(m, dict) and m.get("type") == "error"]
    assert errors[-1]["error_code"] == "INSUFFICIENT_CREDITS"
    assert len(emu.records.stt[0].audio) >= 4000
    assert not any(isinstance(m, dict) and m.get("type") == "session_stopped" for m in out)


@pytest.mark.asyncio
async def test_stt_credits_at_handshake(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "credits"))
    async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
        first = await recv_json(ws)
        with pytest.raises(websockets.ConnectionClosed) as info:
            await recv_json(ws)
    assert first["error_code"] == "INSUFFICIENT_CREDITS"
    assert info.value.rcvd.code == 1008 and info.value.rcvd.reason == "INSUFFICIENT_CREDITS"


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [1011, 1008, 1000])
async def test_stt_close_after_bytes(emu: Emulator, code: int) -> None:
    emu.faults.add(Fault("stt", "close", code=code, after_bytes=8000))
    out = await stt_run(emu)
    closed = out[-1]
    if code == 1000:  # a normal close ends the iteration without an exception
        assert closed == 1000
    else:
        assert isinstance(closed, websockets.ConnectionClosed) and closed.rcvd.code == code
    rec = emu.records.stt[0]
    assert 8000 <= len(rec.audio) < len(AUDIO) and rec.close_code == code
    assert not any(isinstance(m, dict) and m.get("type") == "session_stopped" for m in out)


@pytest.mark.asyncio
async def test_stt_abrupt_drop(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "close", code=1006, after_messages=5))
    out = await stt_run(emu)
    closed = out[-1]
    assert isinstance(closed, websockets.ConnectionClosedError)
    assert closed.rcvd is None  # no close frame: the TCP connection went away
    # docs handshake: 4 messages, then the first result.
    assert len([m for m in out if isinstance(m, dict)]) == 1


@pytest.mark.asyncio
async def test_stt_stall(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "stall", after_messages=4))
    async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
        await stt_handshake(ws, start_message())
        await ws.send(AUDIO)
        await ws.send('{"type": "stop"}')
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
        assert ws.state is websockets.State.OPEN
        await ws.ping()  # the socket still answers at the protocol level
    assert len(emu.records.stt[0].sent) == 4 and len(emu.records.stt[0].audio) == len(AUDIO)


@pytest.mark.asyncio
async def test_stt_malformed_message(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "malformed", after_messages=4))
    out = await stt_run(emu)
    assert isinstance(out[0], str)
    with pytest.raises(ValueError):
        json.loads(out[0])
    assert out[-2]["type"] == "session_stopped" and out[-1] == 1000  # then it goes on


@pytest.mark.asyncio
async def test_stt_drip(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "drip", after_messages=1, delay=1.0))
    async with websockets.connect(f"{emu.stt_url}?apiKey={KEY}") as ws:
        assert (await recv_json(ws))["connecting"] is True
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.2)
        assert (await recv_json(ws))["type"] == "connected"  # late, but it comes


@pytest.mark.asyncio
async def test_tts_close_after_messages(emu: Emulator) -> None:
    emu.faults.add(Fault("tts", "close", code=1011, after_messages=4))
    async with websockets.connect(f"{emu.tts_url}?apiKey={KEY}") as ws:
        await tts_preamble(ws, timeout=0.2)
        await ws.send(create_context("a"))
        await ws.send(json.dumps({"send_text": {"context_id": "a", "text": "some words"}}))
        await ws.send(json.dumps({"flush_context": {"context_id": "a"}}))
        got = []
        with pytest.raises(websockets.ConnectionClosed) as info:
            while True:
                got.append(await recv_json(ws))
    assert info.value.rcvd.code == 1011
    assert "context_created" in got[0] and "audio_chunk" in got[1] and len(got) == 2


@pytest.mark.asyncio
async def test_tts_refused_with_401(emu: Emulator) -> None:
    emu.faults.add(Fault("tts", "status", status=401))
    with pytest.raises(websockets.InvalidStatus) as info:
        await websockets.connect(f"{emu.tts_url}?apiKey={KEY}")
    assert info.value.response.status_code == 401


def llm(emu: Emulator, **kw: Any) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=KEY, base_url=emu.http_url + "/v1", max_retries=0, **kw)


@pytest.mark.asyncio
@pytest.mark.parametrize("status,error", [
    (401, openai.AuthenticationError), (402, openai.APIStatusError),
    (429, openai.RateLimitError), (500, openai.InternalServerError),
    (503, openai.InternalServerError)])
async def test_llm_statuses(emu: Emulator, status: int, error: type) -> None:
    emu.faults.add(Fault("llm", "status", status=status, retry_after=7))
    with pytest.raises(error) as info:
        await llm(emu).chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    assert info.value.status_code == status  # type: ignore[attr-defined]
    headers = info.value.response.headers  # type: ignore[attr-defined]
    if status == 429:
        assert headers["retry-after"] == "7" and headers["x-ratelimit-remaining"] == "0"
        assert int(headers["x-ratelimit-reset"]) > 0 and "x-ratelimit-limit" in headers
    else:
        assert "retry-after" not in headers


@pytest.mark.asyncio
async def test_llm_credits_is_402(emu: Emulator) -> None:
    emu.faults.add(Fault("llm", "credits"))
    async with httpx.AsyncClient() as http:
        r = await http.post(emu.llm_url, json={"messages": USER},
                            headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 402 and r.json()["error"]["code"] == "INSUFFICIENT_CREDITS"


async def sse_lines(emu: Emulator, timeout: float = 5.0) -> List[str]:
    async with httpx.AsyncClient(timeout=timeout) as http:
        async with http.stream("POST", emu.llm_url, json={"messages": USER, "stream": True},
                               headers={"Authorization": f"Bearer {KEY}"}) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            return [line async for line in r.aiter_lines() if line]


@pytest.mark.asyncio
async def test_llm_truncated_stream(emu: Emulator) -> None:
    full = await sse_lines(emu)
    assert full[-1] == "data: [DONE]"
    emu.faults.add(Fault("llm", "truncate", after_messages=3))
    cut = await sse_lines(emu)
    assert len(full) > 5 and len(cut) == 3 and "[DONE]" not in "".join(cut)
    chunks = [c async for c in await llm(emu).chat.completions.create(
        model="m", messages=USER, stream=True)]  # type: ignore[arg-type]
    assert chunks  # the openai client just ends: no finish_reason was seen
    emu.faults.add(Fault("llm", "truncate", after_messages=3))
    chunks = [c async for c in await llm(emu).chat.completions.create(
        model="m", messages=USER, stream=True)]  # type: ignore[arg-type]
    assert not any(ch.finish_reason for c in chunks for ch in c.choices or [])


@pytest.mark.asyncio
async def test_llm_error_event(emu: Emulator) -> None:
    emu.faults.add(Fault("llm", "error_event", after_messages=2, reason="model overloaded"))
    with pytest.raises(openai.APIError, match="model overloaded"):
        async for _ in await llm(emu).chat.completions.create(
                model="m", messages=USER, stream=True):  # type: ignore[arg-type]
            pass


@pytest.mark.asyncio
async def test_llm_malformed_event(emu: Emulator) -> None:
    emu.faults.add(Fault("llm", "malformed", after_messages=1))
    lines = await sse_lines(emu)
    with pytest.raises(ValueError):
        json.loads(lines[1][len("data:"):])
    assert lines[-1] == "data: [DONE]"


@pytest.mark.asyncio
async def test_llm_dropped_mid_stream(emu: Emulator) -> None:
    emu.faults.add(Fault("llm", "close", after_messages=2))
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        async for _ in await llm(emu).chat.completions.create(
                model="m", messages=USER, stream=True):  # type: ignore[arg-type]
            pass


@pytest.mark.asyncio
async def test_llm_stall_and_drip_hit_client_timeouts(emu: Emulator) -> None:
    emu.faults.add(Fault("llm", "stall"))
    with pytest.raises(openai.APITimeoutError):
        await llm(emu, timeout=0.3).chat.completions.create(
            model="m", messages=USER)  # type: ignore[arg-type]
    emu.faults.add(Fault("llm", "drip", after_messages=2, delay=1.0))
    with pytest.raises(httpx.ReadTimeout):
        await sse_lines(emu, timeout=0.3)
    emu.faults.add(Fault("llm", "stall", after_messages=2))
    with pytest.raises(httpx.ReadTimeout):
        await sse_lines(emu, timeout=0.3)


@pytest.mark.asyncio
async def test_rest_faults_by_path(emu: Emulator) -> None:
    emu.faults.add(Fault("rest", "status", status=500, path="/tts-stream"))
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=emu.http_url) as http:
        ok = await http.post("/tts-synthesize", json={"text": "hi"}, headers=headers)
        assert ok.status_code == 200  # another path: the fault waits
        r = await http.post("/tts-stream", json={"text": "hi"}, headers=headers)
        assert r.status_code == 500
        emu.faults.add(Fault("rest", "error_event", after_messages=1, path="/tts-stream"))
        r = await http.post("/tts-stream", json={"text": "hello there"}, headers=headers)
        lines = [json.loads(x) for x in r.text.splitlines()]
        assert "result" in lines[0] and lines[-1]["type"] == "error"
        emu.faults.add(Fault("rest", "status", status=429, path="/stt"))
        r = await http.post("/stt", files={"audio": ("a.wav", b"", "audio/wav")},
                            headers=headers)
        assert r.status_code == 429 and r.headers["Retry-After"] == "1"


@pytest.mark.asyncio
async def test_llm_non_streaming_faults(emu: Emulator) -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient() as http:
        emu.faults.add(Fault("llm", "malformed"))
        r = await http.post(emu.llm_url, json={"messages": USER}, headers=headers)
        assert r.status_code == 200
        with pytest.raises(ValueError):
            r.json()
        emu.faults.add(Fault("llm", "truncate"))
        with pytest.raises(httpx.RemoteProtocolError):  # body shorter than its length
            await http.post(emu.llm_url, json={"messages": USER}, headers=headers)
        r = await http.post(emu.llm_url, json={"messages": USER}, headers=headers)
        assert r.json()["object"] == "chat.completion"  # the plan is used up
