"""The STT protocol core without sockets: handshakes, messages, event mapping, replay."""

from __future__ import annotations

import json

import pytest
from livekit.agents import stt

from livekit.plugins._60db._backoff import backoff_delays
from livekit.plugins._60db._replay import ReplayBuffer
from livekit.plugins._60db._stt_protocol import (
    ProtocolError,
    Ready,
    ServerError,
    SessionStopped,
    SpeechStarted,
    StartConfig,
    SttSession,
    Transcript,
    TranscriptMapper,
    status_for_close,
    status_for_error,
)

E = stt.SpeechEventType
CONFIG = StartConfig(languages=("en",), encoding="mulaw", sample_rate=8000)


def _j(obj: object) -> str:
    return json.dumps(obj)


def test_seed_handshake_order() -> None:
    s = SttSession(CONFIG)
    assert s.receive(_j({"connection_established": True})) == []
    [start] = s.data_to_send()
    assert json.loads(start) == {"type": "start", "languages": ["en"], "config": {
        "encoding": "mulaw", "sample_rate": 8000, "continuous_mode": True}}
    assert not s.audio_allowed
    assert s.receive(_j({"type": "connected"})) == [Ready(None)]
    assert s.audio_allowed and s.data_to_send() == []


def test_reference_handshake_order() -> None:
    s = SttSession(CONFIG)
    assert s.receive(_j({"connecting": True, "message": "hold on"})) == []
    # "connected" before start is not the go-ahead for audio
    assert s.receive(_j({"type": "connected", "server_info": {"v": 1}})) == []
    assert s.data_to_send() == [] and not s.audio_allowed
    s.receive(_j({"connection_established": {"service": "stt", "user_id": 7,
                                              "credit_balance": 3.5, "workspace": "w"}}))
    assert len(s.data_to_send()) == 1
    assert s.receive(_j({"type": "session_started", "session_id": "abc"})) == [Ready("abc")]
    assert s.server_info == {"v": 1}
    # a late "connected" changes nothing
    assert s.receive(_j({"type": "connected"})) == []


@pytest.mark.parametrize("value", [{}, True, {"service": "stt"}])
def test_connection_established_is_tested_for_presence(value: object) -> None:
    s = SttSession(CONFIG)
    s.receive(_j({"connection_established": value}))
    assert len(s.data_to_send()) == 1


def test_start_carries_the_optional_fields() -> None:
    cfg = StartConfig(languages=("en", "es"), encoding="linear", sample_rate=16000,
                      continuous_mode=False, utterance_end_ms=700, context="weather")
    msg = json.loads(cfg.message())
    assert msg["languages"] == ["en", "es"]
    assert msg["config"] == {"encoding": "linear", "sample_rate": 16000,
                             "continuous_mode": False, "utterance_end_ms": 700,
                             "context": "weather"}


def test_stop_and_session_stopped() -> None:
    s = SttSession(CONFIG)
    s.stop()  # not streaming yet: nothing to stop
    assert s.data_to_send() == []
    s.receive(_j({"connection_established": True}))
    s.receive(_j({"type": "connected"}))
    s.data_to_send()
    s.stop()
    s.stop()
    assert [json.loads(m) for m in s.data_to_send()] == [{"type": "stop"}]
    [ev] = s.receive(_j({"type": "session_stopped",
                         "billing_summary": {"total_duration_seconds": 2.5}}))
    assert ev == SessionStopped({"total_duration_seconds": 2.5}) and s.stopped


def test_errors_in_both_shapes() -> None:
    s = SttSession(CONFIG)
    assert s.receive(_j({"type": "error", "error": "bad key", "error_code": "UNAUTHORIZED"})) \
        == [ServerError("bad key", "UNAUTHORIZED")]
    assert s.receive(_j({"type": "error", "message": "boom"})) == [ServerError("boom", None)]


@pytest.mark.parametrize("raw", [b"\x00\x01", "not json", "[1, 2]", '"x"',
                                 _j({"type": "transcription", "text": 5})])
def test_protocol_surprises_raise(raw: object) -> None:
    with pytest.raises(ProtocolError):
        SttSession(CONFIG).receive(raw)  # type: ignore[arg-type]


def test_unknown_messages_are_ignored() -> None:
    s = SttSession(CONFIG)
    assert s.receive(_j({"type": "language_changed", "languages": ["fr"]})) == []
    assert s.receive(_j({"type": "pong"})) == []


def test_transcript_fields() -> None:
    s = SttSession(CONFIG)
    [t] = s.receive(_j({"type": "transcription", "text": " hi there ", "is_final": True,
                        "speech_final": False, "language": "en", "confidence": 0.9,
                        "sentence_id": 4}))
    assert t == Transcript("hi there", True, False, "en", 0.9, 4)
    [t] = s.receive(_j({"type": "transcription", "text": "a", "is_partial": False}))
    assert t.is_final and t.speech_final is None
    [t] = s.receive(_j({"type": "transcription", "text": "a"}))
    assert not t.is_final


def _types(events: list[stt.SpeechEvent]) -> list[E]:
    return [e.type for e in events]


def test_mapping_of_a_plain_utterance() -> None:
    m = TranscriptMapper("en")
    assert _types(m.map(SpeechStarted())) == [E.START_OF_SPEECH]
    assert _types(m.map(SpeechStarted())) == []  # once per utterance
    out = m.map(Transcript("hel", False, None))
    assert _types(out) == [E.INTERIM_TRANSCRIPT] and out[0].alternatives[0].text == "hel"
    out = m.map(Transcript("hello", True, None, "en", 0.8))
    assert _types(out) == [E.FINAL_TRANSCRIPT, E.END_OF_SPEECH]
    assert out[0].alternatives[0].confidence == 0.8
    assert out[0].alternatives[0].language == "en"


def test_mapping_without_speech_started_opens_the_utterance() -> None:
    m = TranscriptMapper("en")
    assert _types(m.map(Transcript("hi", False, None))) == [E.START_OF_SPEECH,
                                                            E.INTERIM_TRANSCRIPT]


def test_two_phase_finals() -> None:
    m = TranscriptMapper("en")
    assert _types(m.map(Transcript("whats the whether", True, False))) == [
        E.START_OF_SPEECH, E.PREFLIGHT_TRANSCRIPT]
    out = m.map(Transcript("what's the weather", True, True))
    assert _types(out) == [E.FINAL_TRANSCRIPT, E.END_OF_SPEECH]
    assert out[0].alternatives[0].text == "what's the weather"


def test_empty_finals_emit_no_transcript() -> None:
    m = TranscriptMapper("en")
    assert m.map(Transcript("", True, True)) == []
    assert m.map(Transcript("", False, None)) == []
    assert m.map(Transcript("", True, False)) == []
    # after a start, the empty final still closes the utterance
    m.map(SpeechStarted())
    assert _types(m.map(Transcript("", True, True))) == [E.END_OF_SPEECH]
    assert _types(m.map(SpeechStarted())) == [E.START_OF_SPEECH]


def test_failure_classification() -> None:
    assert status_for_error("Insufficient credits", "INSUFFICIENT_CREDITS") == 402
    assert status_for_error("Invalid API key", None) == 401
    assert status_for_error("x", "UNAUTHORIZED") == 401
    assert status_for_error("rate limit exceeded", None) == 429
    assert status_for_error("internal error", "INTERNAL") is None
    assert status_for_close(1008, "INSUFFICIENT_CREDITS") == 402
    assert status_for_close(4001, "") == 401
    assert status_for_close(1011, "server error") is None
    assert status_for_close(1006, "") is None


def test_backoff_is_exponential_and_capped() -> None:
    assert list(backoff_delays(5, 1.0)) == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert list(backoff_delays(0, 2.0)) == []
    assert list(backoff_delays(2, 0.05)) == [0.05, 0.05]


def test_replay_keeps_everything_since_the_last_final() -> None:
    r = ReplayBuffer(max_bytes=1000, preroll_bytes=20)
    frames = [bytes([i]) * 10 for i in range(6)]
    for f in frames[:4]:
        r.push(f)
    for _ in range(3):
        f = r.peek()
        assert f is not None
        r.mark_sent(f)
    assert r.unsent == 1
    r.mark_final()  # sent: 0, 1, 2 -> keep the last 20 bytes of them (1, 2) and unsent 3
    assert r.nbytes == 30 and r.unsent == 1
    r.push(frames[4])
    assert r.rewind() == 40
    sent = []
    while (f := r.peek()) is not None:
        sent.append(f)
        r.mark_sent(f)
    assert sent == frames[1:5]


def test_replay_trusts_a_final_end_only_within_what_was_sent() -> None:
    r = ReplayBuffer(max_bytes=1000, preroll_bytes=10)
    frames = [bytes([i]) * 10 for i in range(6)]
    for f in frames:
        r.push(f)
    for _ in range(5):
        r.mark_sent(r.peek())  # type: ignore[arg-type]
    r.mark_final(end=25)  # speech ended inside frame 2: frames 0 and 1 go
    assert r.start == 20 and r.nbytes == 40
    r.mark_final(end=10_000)  # beyond what was sent: not trusted -> sent end less pre-roll
    assert r.start == 40
    r.rewind()
    assert r.base == 40
    r.mark_final(end=20)  # before this connection's audio: not trusted either
    assert r.start == 40


def test_replay_is_bounded_and_survives_changes_during_a_send() -> None:
    r = ReplayBuffer(max_bytes=30, preroll_bytes=0)
    frames = [bytes([i]) * 10 for i in range(5)]
    for f in frames:
        r.push(f)
    assert r.nbytes == 30 and r.dropped_bytes == 20  # never sent: lost, and counted
    first = r.peek()
    assert first == frames[2]
    r.push(b"x" * 10)  # while frames[2] was being sent, the cap dropped it
    assert first is not None
    r.mark_sent(first)  # the cursor must not skip frames[3]
    assert r.peek() == frames[3]


def test_replay_arguments() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        ReplayBuffer(0, 0)
    with pytest.raises(ValueError, match="preroll_bytes"):
        ReplayBuffer(10, -1)


def test_framer_streams_exactly_what_one_conversion_makes() -> None:
    import audiocore

    from livekit.plugins._60db._stt_audio import AudioFramer

    pcm = bytes(range(256)) * 150  # 9600 stereo samples of a 48 kHz stream
    replay = ReplayBuffer(1 << 20, 0)
    framer = AudioFramer(out_rate=8000, encoding="mulaw", frame_bytes=160, replay=replay)
    pos = 0
    for n in (0, 4, 68, 2036, 4, 9000, 17 * 4):  # awkward whole-frame chunk sizes
        framer.push(pcm[pos:pos + n], 48000, 2)
        pos += n
    framer.cut_partial()
    framer.push(pcm[pos:], 48000, 2)
    framer.finish()
    framer.finish()  # once
    sent = []
    while (f := replay.peek()) is not None:
        sent.append(f)
        replay.mark_sent(f)
    conv = audiocore.Converter(48000, 2, 8000, 1, out_encoding="mulaw", engine="realtime")
    assert b"".join(sent) == conv.process(pcm) + conv.flush()
    sizes = [len(f) for f in sent]
    assert sizes.count(160) >= len(sizes) - 2  # fixed frames but a flush and the tail
    with pytest.raises(ValueError, match="sample rate"):
        framer2 = AudioFramer(out_rate=8000, encoding="mulaw", frame_bytes=160, replay=replay)
        framer2.push(b"\0" * 4, 48000, 2)
        framer2.push(b"\0" * 4, 16000, 2)
    with pytest.raises(ValueError, match="encoding"):
        AudioFramer(out_rate=8000, encoding="opus", frame_bytes=160, replay=replay)
