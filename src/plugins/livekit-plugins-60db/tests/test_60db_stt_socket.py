"""60db STT against the emulator on 127.0.0.1: handshakes, audio, events, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator

import audiocore
import pytest
import pytest_asyncio
from livekit import rtc
from livekit.agents import APIConnectionError, APIConnectOptions, APIStatusError, APITimeoutError
from livekit.agents import stt as lstt

from _60db_speech_util import KEY, finals, room_frames, transcribe, wire_audio
from livekit.plugins._60db import STT, SpeechStream, _60dbStatusError
from livekit.plugins._60db.emulator import Emulator, Fault

E = lstt.SpeechEventType
TEXT = "Hello, world! How are you?"
FINALS = ["hello, world!", "how are you?"]
FAST = APIConnectOptions(max_retry=3, retry_interval=0.05, timeout=3.0)


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with Emulator(api_keys={KEY}, speech="fallback", ping_interval=None) as e:
        yield e


def _stt(emu: Emulator, **kw: object) -> STT:
    return STT(api_key=KEY, ws_url=emu.stt_url, **kw)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize("handshake", ["docs", "seed"])
@pytest.mark.parametrize("rate, channels, encoding, out_rate", [
    (48000, 2, "mulaw", 8000),       # a room's frames, the default service format
    (16000, 1, "linear", 16000),     # no resampling at all
    (44100, 1, "LINEAR16", 24000),
    (8000, 1, "mulaw", 48000),       # upsampling
])
async def test_audio_is_what_audiocore_makes_of_the_frames(
        emu: Emulator, handshake: str, rate: int, channels: int, encoding: str,
        out_rate: int) -> None:
    emu.handshake = handshake
    frames = room_frames(TEXT, rate, channels)
    events = await transcribe(_stt(emu, encoding=encoding, sample_rate=out_rate), frames)
    [session] = emu.records.stt
    assert session.handshake == handshake and session.stopped
    assert session.start is not None and session.start["config"]["sample_rate"] == out_rate
    assert session.encoding == ("mulaw" if encoding == "mulaw" else "linear")
    # bit-exact: nothing lost or doubled at frame boundaries, the resampler tail included
    assert bytes(session.audio) == wire_audio(frames, out_rate, session.encoding)
    # fixed 20 ms messages, except the last (the remainder and the resampler's tail)
    frame_bytes = out_rate // 50 * (1 if encoding == "mulaw" else 2)
    assert session.binary_frames == -(-len(session.audio) // frame_bytes)
    assert finals(events) == FINALS


@pytest.mark.asyncio
async def test_event_sequence(emu: Emulator) -> None:
    events = await transcribe(_stt(emu), room_frames(TEXT))
    kinds = [e.type for e in events if e.type != E.RECOGNITION_USAGE]
    # each utterance: START, interims, FINAL, END
    for utterance in range(2):
        start = kinds.index(E.START_OF_SPEECH)
        end = kinds.index(E.END_OF_SPEECH)
        middle = kinds[start + 1:end]
        assert middle[-1] == E.FINAL_TRANSCRIPT
        assert set(middle[:-1]) == {E.INTERIM_TRANSCRIPT}
        kinds = kinds[end + 1:]
    assert kinds == []
    session = emu.records.stt[0]
    request_ids = {e.request_id for e in events}
    assert request_ids == {session.sent[-1]["session_id"]}  # the docs handshake's session


@pytest.mark.asyncio
async def test_usage_is_the_audio_sent(emu: Emulator) -> None:
    frames = room_frames(TEXT)
    events = await transcribe(_stt(emu), frames)
    usage = [e.recognition_usage for e in events if e.type == E.RECOGNITION_USAGE]
    assert usage  # after a final once audio went out, and the rest at the end
    total = sum(u.audio_duration for u in usage if u is not None)
    assert total == pytest.approx(len(emu.records.stt[0].audio) / 8000)


@pytest.mark.asyncio
async def test_two_phase_finals_become_preflight_then_final(emu: Emulator) -> None:
    events = await transcribe(_stt(emu, context="greetings"), room_frames(TEXT))
    assert emu.records.stt[0].context == "greetings"
    kinds = [e.type for e in events if e.type in (E.PREFLIGHT_TRANSCRIPT, E.FINAL_TRANSCRIPT,
                                                  E.END_OF_SPEECH)]
    assert kinds == [E.PREFLIGHT_TRANSCRIPT, E.FINAL_TRANSCRIPT, E.END_OF_SPEECH] * 2
    pre = [e.alternatives[0].text for e in events if e.type == E.PREFLIGHT_TRANSCRIPT]
    assert [p.lower() for p in pre] == FINALS
    assert len(finals(events)) == 2


@pytest.mark.asyncio
async def test_empty_finals_emit_nothing(emu: Emulator) -> None:
    emu.empty_final_every = 1
    events = await transcribe(_stt(emu), room_frames(TEXT))
    assert any(m.get("type") == "transcription" and m.get("is_final") and not m.get("text")
               for m in emu.records.stt[0].sent)
    assert all(e.alternatives[0].text for e in events if e.alternatives)
    assert finals(events) == FINALS
    assert [e.type for e in events].count(E.END_OF_SPEECH) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [1011, 1006])
async def test_reconnect_mid_first_utterance_replays_it(emu: Emulator, code: int) -> None:
    frames = room_frames(TEXT)
    wire = wire_audio(frames, 8000, "mulaw")
    emu.faults.add(Fault("stt", "close", code=code, after_bytes=3000))  # inside "hello"
    events = await transcribe(_stt(emu), frames, conn_options=FAST)
    first, second = emu.records.stt
    assert 3000 <= len(first.audio) <= len(wire)
    # no final before the drop: the new session hears everything from the start
    assert bytes(second.audio) == wire
    assert finals(events) == FINALS


@pytest.mark.asyncio
async def test_reconnect_mid_second_utterance_keeps_the_first_once(emu: Emulator) -> None:
    frames = room_frames(TEXT)
    wire = wire_audio(frames, 8000, "mulaw")
    # wait for the final of "hello, world!" (about 1 s), then drop inside "how are you"
    split = next(i for i in range(len(frames))
                 if sum(f.samples_per_channel for f in frames[:i + 1]) / 48000 > 1.9)
    emu.faults.add(Fault("stt", "close", code=1011, after_bytes=int(2.4 * 8000)))
    events = await transcribe(_stt(emu), frames, conn_options=FAST, wait_final_after=split)
    first, second = emu.records.stt
    # the replay is an exact suffix of the stream that covers all the first lacked
    assert bytes(second.audio) == wire[len(wire) - len(second.audio):]
    assert len(wire) - len(second.audio) <= len(first.audio)
    # the replay began where the first final said its speech ended: the first
    # utterance is not heard twice, the second is heard whole
    final = next(m for m in first.sent if m.get("type") == "transcription" and m["is_final"])
    speech_end = (final["timestamp"] + final["duration"]) * 8000
    assert abs((len(wire) - len(second.audio)) - speech_end) <= 160
    assert finals(events) == FINALS


@pytest.mark.asyncio
async def test_malformed_message_reconnects_and_loses_nothing(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "malformed", after_messages=6))
    events = await transcribe(_stt(emu), room_frames(TEXT), conn_options=FAST)
    assert len(emu.records.stt) == 2
    assert finals(events) == FINALS


@pytest.mark.asyncio
async def test_stall_after_stop_times_out_then_completes_on_a_new_session(
        emu: Emulator) -> None:
    frames = room_frames(TEXT)
    # silent from inside "how are you" on: its final can never come on this session
    emu.faults.add(Fault("stt", "stall", after_bytes=int(2.4 * 8000)))
    opts = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=1.0)
    events = await transcribe(_stt(emu), frames, conn_options=opts)
    assert len(emu.records.stt) == 2 and emu.records.stt[1].stopped
    assert finals(events) == FINALS


@pytest.mark.asyncio
async def test_missing_session_stopped_after_the_last_final_just_closes(
        emu: Emulator) -> None:
    # a short silent tail (< the 360 ms that ends an utterance): the last final comes
    # only in answer to stop
    frames = room_frames(TEXT, tail_ms=100)
    await transcribe(_stt(emu), frames)
    sent = emu.records.stt[0].sent
    assert sent[-1]["type"] == "session_stopped"
    # the same run again, the server silent from just before session_stopped
    emu.faults.add(Fault("stt", "stall", after_messages=len(sent) - 1))
    opts = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=1.0)
    events = await transcribe(_stt(emu), frames, conn_options=opts)
    assert len(emu.records.stt[1].sent) == len(sent) - 1  # all but session_stopped
    assert len(emu.records.stt) == 2  # no new session: nothing was left to transcribe
    assert finals(events) == FINALS


@pytest.mark.asyncio
async def test_handshake_5xx_is_retried(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "refuse", status=503, times=2))
    events = await transcribe(_stt(emu), room_frames(TEXT), conn_options=FAST)
    assert finals(events) == FINALS
    assert len(emu.faults.fired) == 2


@pytest.mark.asyncio
async def test_handshake_error_message_is_retried(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "refuse", reason="temporarily unavailable"))
    events = await transcribe(_stt(emu), room_frames(TEXT), conn_options=FAST)
    assert finals(events) == FINALS
    assert len(emu.records.stt) == 2


async def _fails(model: STT, frames: list[rtc.AudioFrame],
                 opts: APIConnectOptions = FAST) -> BaseException:
    with pytest.raises(APIConnectionError) as info:
        await transcribe(model, frames, conn_options=opts)
    return info.value


@pytest.mark.asyncio
@pytest.mark.parametrize("fault, status", [
    (Fault("stt", "refuse", status=401), 401),
    (Fault("stt", "refuse", status=403), 403),
    (Fault("stt", "credits"), 402),
    (Fault("stt", "credits", after_bytes=4000), 402),
])
async def test_auth_and_credit_failures_are_not_retried(emu: Emulator, fault: Fault,
                                                        status: int) -> None:
    emu.faults.add(fault)
    err = await _fails(_stt(emu), room_frames(TEXT))
    assert isinstance(err, _60dbStatusError) and isinstance(err, APIStatusError)
    assert err.status_code == status and not err.retryable
    assert len(emu.faults.fired) == 1 and len(emu.faults.pending) == 0
    assert len(emu.records.stt) <= 1


@pytest.mark.asyncio
async def test_wrong_key_is_a_401_not_retried(emu: Emulator) -> None:
    err = await _fails(STT(api_key="sk_wrong_key_value", ws_url=emu.stt_url),
                       room_frames("hi"))
    assert isinstance(err, _60dbStatusError) and err.status_code == 401
    assert len(emu.records.stt) == 1


@pytest.mark.asyncio
async def test_handshake_stall_is_a_timeout(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "stall"))
    err = await _fails(_stt(emu), room_frames("hi"),
                       APIConnectOptions(max_retry=0, timeout=0.5))
    assert isinstance(err, APITimeoutError)


@pytest.mark.asyncio
async def test_retries_are_bounded(emu: Emulator) -> None:
    emu.faults.add(Fault("stt", "close", code=1011, after_messages=0, times=10))
    opts = APIConnectOptions(max_retry=2, retry_interval=0.05, timeout=2.0)
    err = await _fails(_stt(emu), room_frames("hi"), opts)
    assert not isinstance(err, APIStatusError)
    assert len(emu.faults.fired) == 3  # the first attempt and two retries


@pytest.mark.asyncio
async def test_unreachable_server_is_a_connection_error() -> None:
    model = STT(api_key=KEY, ws_url="ws://127.0.0.1:9/ws/stt")
    err = await _fails(model, room_frames("hi"), APIConnectOptions(max_retry=0, timeout=2))
    assert not isinstance(err, APIStatusError)


@pytest.mark.asyncio
async def test_the_documented_usage_works_as_written(emu: Emulator) -> None:
    stt = _stt(emu)  # the 60db docs' example, with the emulator's URL
    texts = []
    async with stt.stream() as stream:
        for audio_frame in room_frames(TEXT):
            stream.push_frame(audio_frame)  # push raw audio frames
        stream.end_input()
        async for event in stream:
            if event.type == stt.SpeechEventType.FINAL_TRANSCRIPT:
                texts.append(event.alternatives[0].text)
    assert texts == FINALS


@pytest.mark.asyncio
async def test_recognize(emu: Emulator) -> None:
    frames = room_frames(TEXT, 16000, 1)
    ev = await _stt(emu).recognize(frames)
    assert ev.type == E.FINAL_TRANSCRIPT
    assert ev.alternatives[0].text == " ".join(FINALS)


@pytest.mark.asyncio
async def test_a_change_of_channels_is_remixed_a_change_of_rate_refused(
        emu: Emulator) -> None:
    # livekit commits a turn by pushing mono silence into the (stereo) stream
    frames = room_frames(TEXT, 48000, 2)
    silence = rtc.AudioFrame(b"\0\0" * 9600, 48000, 1, 9600)
    events = await transcribe(_stt(emu), [*frames, silence])
    assert finals(events) == FINALS
    as_stereo = rtc.AudioFrame(audiocore.upmix(silence.data, 2), 48000, 2, 9600)
    assert bytes(emu.records.stt[0].audio) == wire_audio([*frames, as_stereo], 8000, "mulaw")
    stream = _stt(emu).stream()
    try:
        assert isinstance(stream, SpeechStream)
        stream.push_frame(rtc.AudioFrame(b"\0" * 1920, 48000, 2, 480))
        with pytest.raises(ValueError, match="sample rate"):
            stream.push_frame(rtc.AudioFrame(b"\0" * 640, 16000, 2, 160))
        with pytest.raises(TypeError, match="rtc.AudioFrame"):
            stream.push_frame(b"\0\0")  # type: ignore[arg-type]
    finally:
        await stream.aclose()


def test_constructor_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "ws://127.0.0.1:1/ws/stt"
    with pytest.raises(ValueError, match="encoding"):
        STT(api_key=KEY, ws_url=url, encoding="opus")
    with pytest.raises(ValueError, match="sample_rate"):
        STT(api_key=KEY, ws_url=url, sample_rate=22050)
    with pytest.raises(ValueError, match="languages"):
        STT(api_key=KEY, ws_url=url, languages=["en", "es", "fr", "de", "it", "pt"])
    with pytest.raises(TypeError, match="languages"):
        STT(api_key=KEY, ws_url=url, languages="en")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="utterance_end_ms"):
        STT(api_key=KEY, ws_url=url, utterance_end_ms=100)
    with pytest.raises(ValueError, match="frame_ms"):
        STT(api_key=KEY, ws_url=url, frame_ms=5)
    with pytest.raises(ValueError, match="clear text"):
        STT(api_key=KEY, ws_url="ws://api.60db.ai/ws/stt")
    from livekit.plugins._60db import _config
    monkeypatch.setattr(_config, "_default_client", None)
    monkeypatch.delenv("SIXTY_DB_API_KEY", raising=False)
    monkeypatch.chdir("/")
    with pytest.raises(ValueError, match="SIXTY_DB_API_KEY"):
        STT(ws_url=url)
    model = STT(api_key=KEY, ws_url=url, encoding="LINEAR16", sample_rate=16000)
    assert model.options.encoding == "linear"
    assert KEY not in repr(model)
