"""60db TTS against the emulator on 127.0.0.1: formats, one socket, contexts, faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import audiocore
import pytest
import pytest_asyncio
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, APIStatusError, APITimeoutError

from _60db_speech_util import KEY
from livekit.plugins._60db import TTS, ChunkedStream, SynthesizeStream, _60dbStatusError
from livekit.plugins._60db.emulator import Emulator, Fault, tones
from livekit.plugins._60db.emulator.records import TTSConnection

TEXT = "Hello, world! How are you?"
FAST = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=3.0)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={KEY}, speech="fallback", ping_interval=None) as e:
        yield e


def _tts(emu: Emulator, **kw: object) -> TTS:
    return TTS(api_key=KEY, ws_url=emu.tts_url, **kw)  # type: ignore[arg-type]


async def _collect(stream: "ChunkedStream | SynthesizeStream") -> rtc.AudioFrame:
    frames = [ev.frame async for ev in stream]
    return rtc.combine_audio_frames(frames)


async def _settle(conn: TTSConnection) -> None:
    """Wait until the emulator has seen every close_context (bounded)."""
    for _ in range(200):
        if not conn.open_contexts:
            return
        await asyncio.sleep(0.01)


def _expected(ctx_audio: bytes, encoding: str, service_rate: int, rate: int) -> bytes:
    """What the plugin must emit for the service's audio: it as is, or audiocore's."""
    if encoding == "LINEAR16" and service_rate == rate:
        return ctx_audio
    conv = audiocore.Converter(service_rate, 1, rate, 1,
                               in_encoding="mulaw" if encoding == "MULAW" else "pcm16",
                               engine="realtime")
    return conv.process(ctx_audio) + conv.flush()


@pytest.mark.asyncio
@pytest.mark.parametrize("handshake", ["docs", "seed"])
@pytest.mark.parametrize("encoding, rate, service_rate", [
    ("LINEAR16", 16000, 16000), ("LINEAR16", 8000, 8000), ("LINEAR16", 24000, 24000),
    ("LINEAR16", 48000, 48000), ("LINEAR16", 44100, 48000), ("LINEAR16", 22050, 24000),
    ("MULAW", 8000, 8000), ("MULAW", 16000, 8000), ("MULAW", 48000, 8000),
])
async def test_formats_durations_and_samples(emu: Emulator, handshake: str, encoding: str,
                                             rate: int, service_rate: int) -> None:
    emu.handshake = handshake
    tts = _tts(emu, encoding=encoding, sample_rate=rate)
    try:
        frame = await _collect(tts.synthesize(TEXT))
    finally:
        await tts.aclose()
    [conn] = emu.records.tts
    [ctx] = conn.contexts.values()
    assert (ctx.encoding, ctx.sample_rate) == (encoding, service_rate)
    assert frame.sample_rate == rate and frame.num_channels == 1
    # every byte the service sent, converted by audiocore and nothing else; odd-sized
    # chunks (the emulator splits samples) never misalign
    assert frame.data.tobytes() == _expected(bytes(ctx.audio), encoding, service_rate, rate)
    assert frame.duration == pytest.approx(tones.duration(TEXT), abs=0.05)
    assert any(n % 2 for n in ctx.chunks) or encoding == "MULAW"
    assert ctx.closed


@pytest.mark.asyncio
async def test_one_socket_for_many_requests_every_context_closed(emu: Emulator) -> None:
    tts = _tts(emu)
    try:
        for i in range(4):
            frame = await _collect(tts.synthesize(f"number {i}."))
            assert frame.duration > 0.3
        stream = tts.stream()
        for piece in ["Good morning to ", "all of you. ", "See you again ", "later today!"]:
            stream.push_text(piece)
        stream.end_input()
        frame = await _collect(stream)
        await stream.aclose()
        [conn] = emu.records.tts
        await _settle(conn)
        assert tts.connections_opened == 1
        assert len(conn.opened) == 5 and sorted(conn.closed) == sorted(conn.opened)
        assert tts._conn is not None and tts._conn._queues == {}  # nothing held per request
        for _ in range(100):  # the context_closed replies clear the client's side too
            if not tts._conn.state.open_contexts:
                break
            await asyncio.sleep(0.01)
        assert tts._conn.state.open_contexts == []
        assert conn.open_contexts == []
        streamed = conn.contexts[conn.opened[-1]]
        # the stream sends and flushes sentence by sentence
        assert [f.strip() for f in streamed.flushes] == ["Good morning to all of you.",
                                                         "See you again later today!"]
        assert frame.data.tobytes() == bytes(streamed.audio)
    finally:
        await tts.aclose()


@pytest.mark.asyncio
async def test_concurrent_requests_share_the_socket_and_keep_their_audio(
        emu: Emulator) -> None:
    tts = _tts(emu)
    texts = ["alpha beta.", "one two three.", "xyz!"]
    try:
        streams = [tts.synthesize(t) for t in texts]
        frames = await asyncio.gather(*(_collect(s) for s in streams))
    finally:
        await tts.aclose()
    [conn] = emu.records.tts
    by_text = {c.flushes[0]: c for c in conn.contexts.values()}
    for text, frame in zip(texts, frames):
        assert frame.data.tobytes() == bytes(by_text[text].audio)


@pytest.mark.asyncio
async def test_barge_in_closes_the_context_and_drops_its_late_audio(emu: Emulator) -> None:
    tts = _tts(emu)
    try:
        stream = tts.stream()
        stream.push_text("this is a long reply that the user will interrupt. " * 3)
        stream.end_input()
        got = await stream.__anext__()  # the first audio reached the caller
        assert got.frame.duration > 0
        await stream.aclose()  # barge-in
        [conn] = emu.records.tts
        interrupted = conn.opened[0]
        await _settle(conn)
        assert interrupted in conn.closed
        # the server had more audio for it than reached us; none of it leaks into the next
        frame = await _collect(tts.synthesize("next."))
        nxt = conn.contexts[conn.opened[1]]
        assert frame.data.tobytes() == bytes(nxt.audio)
        await _settle(conn)
        assert conn.open_contexts == [] and tts.connections_opened == 1
    finally:
        await tts.aclose()


@pytest.mark.asyncio
async def test_two_streams_one_interrupted_the_other_whole(emu: Emulator) -> None:
    tts = _tts(emu)
    try:
        a, b = tts.stream(), tts.stream()
        for s, text in ((a, "first reply goes on for a while. " * 3), (b, "second reply.")):
            s.push_text(text)
            s.end_input()
        await a.__anext__()
        await a.aclose()
        frame = await _collect(b)
        await b.aclose()
        [conn] = emu.records.tts
        assert frame.data.tobytes() == bytes(conn.contexts[conn.opened[1]].audio)
        await _settle(conn)
        assert conn.open_contexts == []
    finally:
        await tts.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("handshake", ["docs", "seed"])
async def test_socket_dropped_between_requests_is_reopened(emu: Emulator,
                                                           handshake: str) -> None:
    emu.handshake = handshake
    tts = _tts(emu)
    try:
        await _collect(tts.synthesize("one."))
        emu.faults.add(Fault("tts", "close", code=1011, after_messages=0))
        # the fault applies to the next connection: force one by dropping the current
        assert tts._conn is not None
        await tts._conn._ws.close()
        await asyncio.sleep(0.05)
        frame = await _collect(tts.synthesize("two.", conn_options=FAST))
        assert frame.duration > 0.2
        # the first, the one the fault closed at once, the good one. Without a preamble
        # (seed) the closed one looked open until the request on it failed and was retried
        assert len(emu.records.tts) == 3
        assert tts.connections_opened == (2 if handshake == "docs" else 3)
        # what the first socket showed of the preamble is what the next ones expect
        assert tts._preamble is (handshake == "docs")
    finally:
        await tts.aclose()


@pytest.mark.asyncio
async def test_connection_failures_retry_with_backoff(emu: Emulator) -> None:
    emu.faults.add(Fault("tts", "refuse", status=503, times=2))
    tts = _tts(emu)
    try:
        frame = await _collect(tts.synthesize("hi.", conn_options=FAST))
    finally:
        await tts.aclose()
    assert frame.duration > 0.1 and len(emu.faults.fired) == 2


@pytest.mark.asyncio
async def test_drop_before_audio_is_retried_on_a_new_socket(emu: Emulator) -> None:
    emu.faults.add(Fault("tts", "close", code=1011, after_bytes=1))  # at the first text
    tts = _tts(emu)
    try:
        frame = await _collect(tts.synthesize("hello.", conn_options=FAST))
    finally:
        await tts.aclose()
    assert len(emu.records.tts) == 2
    assert frame.data.tobytes() == bytes(list(emu.records.tts[1].contexts.values())[0].audio)


@pytest.mark.asyncio
@pytest.mark.parametrize("streaming", [False, True])
async def test_drop_after_audio_is_not_retried(emu: Emulator, streaming: bool) -> None:
    emu.faults.add(Fault("tts", "close", code=1011, after_messages=6))
    tts = _tts(emu)
    try:
        if streaming:
            stream: "ChunkedStream | SynthesizeStream" = tts.stream(conn_options=FAST)
            stream.push_text(TEXT)  # type: ignore[union-attr]
            stream.end_input()  # type: ignore[union-attr]
        else:
            stream = tts.synthesize(TEXT, conn_options=FAST)
        got = []
        with pytest.raises(APIConnectionError) as info:
            async for ev in stream:
                got.append(ev)
        assert got  # some audio had gone out: a retry would repeat it
        assert not info.value.retryable
        assert len(emu.records.tts) == 1
    finally:
        await tts.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("fault, status", [
    (Fault("tts", "refuse", status=401), 401),
    (Fault("tts", "refuse", status=402), 402),
    (Fault("tts", "credits"), 402),
])
async def test_auth_and_credit_failures_are_not_retried(emu: Emulator, fault: Fault,
                                                        status: int) -> None:
    emu.faults.add(fault)
    tts = _tts(emu)
    try:
        with pytest.raises(APIConnectionError) as info:
            await _collect(tts.synthesize("hi.", conn_options=FAST))
    finally:
        await tts.aclose()
    err = info.value
    assert isinstance(err, _60dbStatusError) and isinstance(err, APIStatusError)
    assert err.status_code == status and not err.retryable
    assert len(emu.faults.fired) == 1


@pytest.mark.asyncio
async def test_wrong_key_is_a_401(emu: Emulator) -> None:
    tts = TTS(api_key="sk_wrong_key_value", ws_url=emu.tts_url)
    try:
        with pytest.raises(_60dbStatusError) as info:
            await _collect(tts.synthesize("hi.", conn_options=FAST))
    finally:
        await tts.aclose()
    assert info.value.status_code == 401


@pytest.mark.asyncio
async def test_stall_is_a_timeout(emu: Emulator) -> None:
    emu.faults.add(Fault("tts", "stall", after_bytes=1))
    tts = _tts(emu)
    try:
        with pytest.raises(APITimeoutError):
            await _collect(tts.synthesize("hi.", conn_options=APIConnectOptions(
                max_retry=0, timeout=0.5)))
    finally:
        await tts.aclose()


@pytest.mark.asyncio
async def test_malformed_message_is_a_connection_error(emu: Emulator) -> None:
    emu.handshake = "seed"  # no preamble: the malformed frame is the first reply
    emu.faults.add(Fault("tts", "malformed", after_messages=0))
    tts = _tts(emu)
    try:
        with pytest.raises(APIConnectionError) as info:
            await _collect(tts.synthesize("hi.", conn_options=APIConnectOptions(max_retry=0)))
    finally:
        await tts.aclose()
    assert "JSON" in str(info.value)


def test_constructor_checks() -> None:
    url = "ws://127.0.0.1:1/ws/tts"
    with pytest.raises(ValueError, match="encoding"):
        TTS(api_key=KEY, ws_url=url, encoding="OGG_OPUS")
    with pytest.raises(ValueError, match="sample_rate"):
        TTS(api_key=KEY, ws_url=url, sample_rate=100)
    with pytest.raises(TypeError, match="sample_rate"):
        TTS(api_key=KEY, ws_url=url, sample_rate=16000.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="voice_id"):
        TTS(api_key=KEY, ws_url=url, voice_id=" ")
    tts = TTS(api_key=KEY, ws_url=url, encoding="mulaw", sample_rate=24000)
    assert (tts.options.encoding, tts.options.service_rate) == ("MULAW", 8000)
    assert tts.sample_rate == 24000 and tts.num_channels == 1
    assert KEY not in repr(tts)


@pytest.mark.asyncio
async def test_a_context_error_fails_that_request_only(emu: Emulator) -> None:
    tts = _tts(emu)
    try:
        await _collect(tts.synthesize("one."))
        tts._opts.service_rate = 44100  # the service refuses this rate for one context
        with pytest.raises(APIConnectionError, match="sample_rate") as info:
            await _collect(tts.synthesize("two.", conn_options=FAST))
        assert not info.value.retryable  # the same request would fail again
        tts._opts.service_rate = 16000
        frame = await _collect(tts.synthesize("three."))
        assert frame.duration > 0.2
        assert tts.connections_opened == 1  # the socket survived the error
    finally:
        await tts.aclose()


@pytest.mark.asyncio
async def test_a_stream_without_text_ends_cleanly(emu: Emulator) -> None:
    tts = _tts(emu)
    try:
        stream = tts.stream()
        stream.end_input()
        frames = [ev async for ev in stream]
        await stream.aclose()
        assert frames == []
        [conn] = emu.records.tts
        await _settle(conn)
        assert conn.open_contexts == []
    finally:
        await tts.aclose()


@pytest.mark.asyncio
async def test_aclose_during_prewarm_leaves_no_socket_open(emu: Emulator) -> None:
    tts = _tts(emu)
    tts.prewarm()
    await asyncio.sleep(0)  # the prewarm is under way, its socket not yet ready
    await tts.aclose()
    for _ in range(100):  # give a prewarm that survived the close time to finish
        await asyncio.sleep(0.01)
    assert tts._conn is None
    for _ in range(200):
        if all(c.close_code is not None for c in emu.records.tts):
            break
        await asyncio.sleep(0.01)
    assert all(c.close_code is not None for c in emu.records.tts)
