"""The TTS protocol core without sockets: contexts, routing, base64 splits, formats."""

from __future__ import annotations

import base64
import json

import pytest

from livekit.plugins._60db._tts_protocol import (
    Audio,
    ContextClosed,
    ContextCreated,
    ContextError,
    Established,
    FlushCompleted,
    ProtocolError,
    TtsConnectionState,
    service_format,
)


def _j(obj: object) -> str:
    return json.dumps(obj)


def _chunk(data: bytes, cid: "str | None" = None, *, b64: "str | None" = None) -> str:
    body: dict = {"audioContent": b64 if b64 is not None else base64.b64encode(data).decode()}
    if cid is not None:
        body["context_id"] = cid
    return _j({"audio_chunk": body})


def _state(*cids: str, encoding: str = "LINEAR16") -> TtsConnectionState:
    st = TtsConnectionState()
    for cid in cids:
        st.create_context(cid, voice_id="v", encoding=encoding, sample_rate=16000)
    return st


def test_client_messages() -> None:
    st = TtsConnectionState()
    assert json.loads(st.create_context("c1", voice_id="v1", encoding="MULAW",
                                        sample_rate=8000)) == {"create_context": {
        "context_id": "c1", "voice_id": "v1",
        "audio_config": {"audio_encoding": "MULAW", "sample_rate_hertz": 8000}}}
    assert json.loads(st.send_text("c1", "Hello!")) == {
        "send_text": {"context_id": "c1", "text": "Hello!"}}
    assert json.loads(st.flush_context("c1")) == {"flush_context": {"context_id": "c1"}}
    assert json.loads(st.close_context("c1") or "") == {"close_context": {"context_id": "c1"}}
    assert st.close_context("c1") is None  # once
    with pytest.raises(ValueError, match="not open"):
        st.send_text("c1", "late")
    with pytest.raises(ValueError, match="already open"):
        st.create_context("c1", voice_id="v", encoding="LINEAR16", sample_rate=8000)
    with pytest.raises(ValueError, match="encoding"):
        st.create_context("c2", voice_id="v", encoding="OGG", sample_rate=8000)


def test_replies_are_tested_for_presence() -> None:
    st = _state("a")
    st.flush_context("a")
    assert st.receive(_j({"context_created": {}, "context_id": "a"})) == [ContextCreated("a")]
    assert st.receive(_j({"context_created": {"context_id": "a"}})) == [ContextCreated("a")]
    assert st.receive(_j({"flush_completed": True})) == [FlushCompleted("a")]
    st.close_context("a")
    assert st.receive(_j({"context_closed": {}})) == [ContextClosed("a")]
    assert st.open_contexts == []
    assert st.receive(_j({"connection_established": {}})) == [Established()]


def test_audio_split_inside_a_sample_stays_aligned() -> None:
    pcm = bytes(range(256)) * 4  # 1024 bytes, 512 samples
    st = _state("a")
    st.flush_context("a")
    got = b""
    for lo, hi in [(0, 3), (3, 4), (4, 101), (101, 1024)]:
        for ev in st.receive(_chunk(pcm[lo:hi], "a")):
            assert isinstance(ev, Audio) and len(ev.data) % 2 == 0
            got += ev.data
    assert got == pcm


def test_unpadded_base64_split_inside_a_quantum() -> None:
    pcm = bytes(range(200))
    text = base64.b64encode(pcm).decode()
    st = _state("a")
    st.flush_context("a")
    got = b""
    for lo, hi in [(0, 5), (5, 6), (6, 63), (63, len(text))]:
        for ev in st.receive(_chunk(b"", "a", b64=text[lo:hi])):
            assert isinstance(ev, Audio)
            got += ev.data
    assert got == pcm
    # the padding was in the last piece; an unpadded tail is decoded at the flush's end
    st.flush_context("a")
    tail = base64.b64encode(b"\x01\x02\x03\x04").decode().rstrip("=")  # "AQIDBA"
    evs = st.receive(_chunk(b"", "a", b64=tail))
    evs += st.receive(_j({"flush_completed": {"context_id": "a"}}))
    data = b"".join(e.data for e in evs if isinstance(e, Audio))
    assert data == b"\x01\x02\x03\x04" and evs[-1] == FlushCompleted("a")


def test_mulaw_has_one_byte_samples() -> None:
    st = _state("m", encoding="MULAW")
    st.flush_context("m")
    [ev] = st.receive(_chunk(b"\x01\x02\x03", "m"))
    assert ev == Audio("m", b"\x01\x02\x03")


def test_audio_without_context_id_goes_to_the_oldest_flush() -> None:
    st = _state("a", "b")
    st.flush_context("a")
    st.flush_context("b")
    assert st.receive(_chunk(b"\x01\x00")) == [Audio("a", b"\x01\x00")]
    assert st.receive(_j({"flush_completed": True})) == [FlushCompleted("a")]
    assert st.receive(_chunk(b"\x02\x00")) == [Audio("b", b"\x02\x00")]


def test_closed_context_drops_late_audio_without_disturbing_others() -> None:
    st = _state("a", "b")
    st.flush_context("a")
    st.flush_context("b")
    st.close_context("a")  # barge-in
    assert st.receive(_chunk(b"\x01\x00" * 8, "a")) == []
    assert st.dropped_bytes == 16
    assert st.receive(_chunk(b"\x02\x00", "b")) == [Audio("b", b"\x02\x00")]
    # a flush_completed of the closed context is swallowed
    assert st.receive(_j({"flush_completed": {"context_id": "a"}})) == []
    assert st.receive(_j({"context_closed": {"context_id": "a"}})) == [ContextClosed("a")]
    assert st.open_contexts == ["b"]
    # audio of a context that no longer exists: dropped
    assert st.receive(_chunk(b"\x01\x00", "a")) == []


def test_half_sample_left_at_the_end_of_a_flush_is_counted_not_emitted() -> None:
    st = _state("a")
    st.flush_context("a")
    [ev] = st.receive(_chunk(b"\x01\x00\x02", "a"))
    assert ev == Audio("a", b"\x01\x00")
    assert st.receive(_j({"flush_completed": {"context_id": "a"}})) == [FlushCompleted("a")]
    assert st.misaligned_bytes == 1
    st.flush_context("a")
    [ev] = st.receive(_chunk(b"\x05\x00", "a"))
    assert ev == Audio("a", b"\x05\x00")  # the stray byte did not shift the next flush


def test_errors() -> None:
    st = _state("a")
    assert st.receive(_j({"error": {"context_id": "a", "message": "Unsupported sample_rate_hertz"}})) \
        == [ContextError("a", "Unsupported sample_rate_hertz")]
    assert st.receive(_j({"error": "bad key", "error_code": "UNAUTHORIZED"})) == [
        ContextError(None, "bad key", "UNAUTHORIZED")]
    assert st.receive(_j({"type": "error", "message": "x"})) == [ContextError(None, "x")]


@pytest.mark.parametrize("raw", [b"\x00", "{", "[]", _j({"audio_chunk": "x"}),
                                 _j({"audio_chunk": {"audioContent": 5}}),
                                 _j({"audio_chunk": {"audioContent": "!!!="}})])
def test_protocol_surprises_raise(raw: object) -> None:
    st = _state("a")
    st.flush_context("a")
    with pytest.raises(ProtocolError):
        st.receive(raw)  # type: ignore[arg-type]


@pytest.mark.parametrize("encoding, rate, expected", [
    ("LINEAR16", 16000, 16000), ("LINEAR16", 24000, 24000), ("LINEAR16", 48000, 48000),
    ("LINEAR16", 8000, 8000), ("LINEAR16", 44100, 48000), ("LINEAR16", 22050, 24000),
    ("LINEAR16", 12000, 16000), ("LINEAR16", 11025, 8000), ("MULAW", 8000, 8000),
    ("MULAW", 16000, 8000), ("MULAW", 48000, 8000)])
def test_service_format(encoding: str, rate: int, expected: int) -> None:
    assert service_format(encoding, rate) == (encoding, expected)
