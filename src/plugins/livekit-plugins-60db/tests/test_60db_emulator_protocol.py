"""The emulator's protocol objects, its tone code, its model and its fault plan, without
sockets."""

from __future__ import annotations

import base64
import json
from typing import Any, List

import pytest
from audiocore import Converter, ulaw_encode

from livekit.plugins._60db.emulator import Fault, FaultPlan, Reply, ToolCall, tones
from livekit.plugins._60db.emulator import llm as llm_mod
from livekit.plugins._60db.emulator.actions import Close, Finish, Recognize, Send, Synthesize
from livekit.plugins._60db.emulator.engines import ToneRecognizer
from livekit.plugins._60db.emulator.stt_protocol import STTProtocol
from livekit.plugins._60db.emulator.tts_protocol import CHUNK_SIZES, TTSProtocol, chunk_sizes


def sent(actions: List[Any]) -> List[Any]:
    return [a.message for a in actions if isinstance(a, Send)]


def closes(actions: List[Any]) -> List[Close]:
    return [a for a in actions if isinstance(a, Close)]


def start(encoding: str = "mulaw", rate: int = 8000, **extra: Any) -> str:
    return json.dumps({"type": "start", "languages": ["en"],
                       "config": {"encoding": encoding, "sample_rate": rate,
                                  "continuous_mode": True}, **extra})


def run_stt(proto: STTProtocol, actions: List[Any]) -> List[Any]:
    """Carries out Recognize/Finish with the tone recognizer; returns what is sent."""
    rec = ToneRecognizer()
    out: List[Any] = []
    for a in actions:
        if isinstance(a, Recognize):
            out += run_stt(proto, proto.recognized(rec.feed(a.pcm)))
        elif isinstance(a, Finish):
            out += run_stt(proto, proto.finished(rec.finish()))
        else:
            out.append(a)
    return out


# -- tone code -------------------------------------------------------------------------


def test_tone_code_is_deterministic_and_sized() -> None:
    a, b = tones.encode("Hello, world!"), tones.encode("Hello, world!")
    assert a == b
    # 12 symbols of 70 ms, one word gap of 120 ms, a sentence end of 450 ms.
    assert len(a) == 2 * (12 * 560 + 960 + 3600)
    assert tones.normalize("  Héllo\tWORLD  ") == "hllo world"
    with pytest.raises(TypeError, match="text"):
        tones.encode(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("rate,encoding", [(8000, "mulaw"), (16000, "pcm16"),
                                           (24000, "pcm16"), (44100, "pcm16"),
                                           (48000, "mulaw")])
def test_tone_code_round_trips_through_any_format(rate: int, encoding: str) -> None:
    text = "Hi there, 60db! Is 3.5% ok? yes - it's fine."
    out = Converter(tones.RATE, 1, rate, out_encoding=encoding)
    wire = out.process(tones.encode(text)) + out.flush()
    back = Converter(rate, 1, tones.RATE, in_encoding=encoding)
    pcm = back.process(wire) + back.flush()
    dec = tones.ToneDecoder()
    events = []
    for i in range(0, len(pcm), 334):  # odd sizes: samples split across calls
        events += dec.feed(pcm[i:i + 334])
    events += dec.finish()
    finals = [e[1] for e in events if e[0] == "final"]
    assert finals == ["hi there, 60db!", "is 3.5% ok?", "yes - it's fine."]
    assert [e[0] for e in events].count("speech_started") == 3
    interims = [e[1] for e in events if e[0] == "interim"]
    assert len(interims) >= 6 and all(f.startswith(interims[0][:1]) for f in finals[:1])


def test_tone_decoder_ignores_noise_and_speech_like_audio() -> None:
    # A chirp is loud but no tone pair: it must decode to nothing.
    import math
    pcm = b"".join(int(8000 * math.sin(2 * math.pi * (200 + 0.5 * i) * i / 8000))
                   .to_bytes(2, "little", signed=True) for i in range(8000))
    dec = tones.ToneDecoder()
    assert [e for e in dec.feed(pcm) + dec.finish() if e[0] != "speech_started"] == []


# -- STT -------------------------------------------------------------------------------


def test_stt_docs_handshake() -> None:
    p = STTProtocol(handshake="docs", recognizer_rate=8000)
    pre = sent(p.connect())
    assert pre[0]["connecting"] is True
    assert pre[1]["type"] == "connected" and "server_info" in pre[1]
    est = pre[2]["connection_established"]
    assert set(est) == {"service", "user_id", "credit_balance", "workspace"}
    reply = sent(p.receive_text(start()))
    assert reply[0]["type"] == "session_started" and reply[0]["session_id"] == p.session_id


def test_stt_seed_handshake() -> None:
    p = STTProtocol(handshake="seed", recognizer_rate=8000)
    assert sent(p.connect()) == [{"connection_established": True}]
    assert sent(p.receive_text(start("LINEAR16", 16000))) == [{"type": "connected"}]
    assert p.record.encoding == "linear" and p.record.sample_rate == 16000


def test_stt_transcribes_and_bills_the_audio_received() -> None:
    p = STTProtocol(recognizer_rate=8000)
    p.connect()
    p.receive_text(start())
    mu = ulaw_encode(tones.encode("good morning. see you"))
    actions: List[Any] = []
    for i in range(0, len(mu), 480):
        actions += p.receive_bytes(mu[i:i + 480])
    actions += p.receive_text(json.dumps({"type": "stop"}))
    out = sent(run_stt(p, actions))
    finals = [m["text"] for m in out if m.get("type") == "transcription" and m["is_final"]]
    assert finals == ["good morning.", "see you"]
    assert any(m.get("type") == "transcription" and not m["is_final"] for m in out)
    assert out[0] == {"type": "speech_started", "timestamp": 0.0}
    stopped = out[-1]
    assert stopped["type"] == "session_stopped"
    assert stopped["billing_summary"]["total_duration_seconds"] == len(mu) / 8000
    assert p.record.audio == mu and p.record.binary_frames == -(-len(mu) // 480)


def test_stt_json_audio_and_odd_linear_frames() -> None:
    p = STTProtocol(recognizer_rate=8000)
    p.receive_text(start("linear", 8000))
    pcm = tones.encode("ok.")
    actions: List[Any] = []
    for i in range(0, len(pcm), 301):  # odd: half a sample waits for the next frame
        piece = pcm[i:i + 301]
        if i % 2:
            actions += p.receive_bytes(piece)
        else:
            actions += p.receive_text(json.dumps({"type": "audio",
                                                  "audio": base64.b64encode(piece).decode()}))
    actions += p.receive_text('{"type": "stop"}')
    out = sent(run_stt(p, actions))
    assert [m["text"] for m in out if m.get("is_final")] == ["ok."]
    assert bytes(p.record.audio) == pcm and p.record.json_audio_frames > 0


def test_stt_context_gives_two_phase_finals_and_empty_finals() -> None:
    p = STTProtocol(recognizer_rate=8000, empty_final_every=1)
    p.receive_text(start(context="a call about the weather"))
    out = sent(p.recognized([("final", "it is sunny", 0.0, 1.0)]))
    first, refined, empty = out
    assert first["sentence_id"] == refined["sentence_id"]
    assert (first["is_final"], first["speech_final"]) == (True, False)
    assert (refined["is_final"], refined["speech_final"]) == (True, True)
    assert refined["text"] == "It is sunny."
    assert empty["text"] == "" and empty["is_final"] is True


@pytest.mark.parametrize("message,code,close", [
    ('{"type": "start", "config": {"encoding": "opus", "sample_rate": 8000}}',
     "INVALID_CONFIG", 1008),
    ('{"type": "start", "config": {"encoding": "mulaw", "sample_rate": 22050}}',
     "INVALID_CONFIG", 1008),
    ('{"type": "start", "languages": ["a","b","c","d","e","f"]}', "INVALID_CONFIG", 1008),
    ('{"type": "start", "config": {"utterance_end_ms": 100}}', "INVALID_CONFIG", 1008),
    ('{"type": "audio", "audio": "AAAA"}', "AUDIO_BEFORE_START", 1008),
    ("{not json", "INVALID_JSON", 1007),
    ('["start"]', "INVALID_MESSAGE", 1007),
])
def test_stt_strict_errors(message: str, code: str, close: int) -> None:
    p = STTProtocol()
    p.connect()
    actions = p.receive_text(message)
    err = sent(actions)[0]
    assert err["type"] == "error" and err["error_code"] == code and err["error"]
    assert closes(actions)[0].code == close


def test_stt_binary_before_start_and_bad_key() -> None:
    p = STTProtocol()
    actions = p.receive_bytes(b"\x00" * 480)
    assert sent(actions)[0]["error_code"] == "AUDIO_BEFORE_START"
    assert closes(actions)[0].code == 1008
    bad = STTProtocol(authorized=False)
    actions = bad.connect()
    assert sent(actions)[0]["error_code"] == "UNAUTHORIZED" and closes(actions)[0].code == 1008


def test_stt_config_ping_unknown() -> None:
    p = STTProtocol()
    p.receive_text(start())
    assert sent(p.receive_text('{"type": "ping"}')) == [{"type": "pong"}]
    changed = sent(p.receive_text('{"type": "config", "languages": ["de"], '
                                  '"config": {"continuous_mode": false}}'))
    assert [m["type"] for m in changed] == ["language_changed", "mode_changed"]
    unknown = p.receive_text('{"type": "dance"}')
    assert sent(unknown)[0]["error_code"] == "UNKNOWN_MESSAGE_TYPE" and not closes(unknown)


# -- TTS -------------------------------------------------------------------------------


def create(cid: str, encoding: str = "LINEAR16", rate: int = 16000) -> str:
    return json.dumps({"create_context": {"context_id": cid, "voice_id": "v",
                                          "audio_config": {"audio_encoding": encoding,
                                                           "sample_rate_hertz": rate}}})


def test_tts_contexts_flush_and_chunks() -> None:
    p = TTSProtocol(synth_rate=8000)
    pre = sent(p.connect())
    assert pre[0] == {"connecting": True, "message": "Connecting to TTS service"}
    assert "connection_established" in pre[1]
    assert sent(p.receive_text(create("a"))) == [{"context_created": {"context_id": "a"}}]
    assert p.receive_text('{"send_text": {"context_id": "a", "text": "Hello "}}') == []
    p.receive_text('{"send_text": {"context_id": "a", "text": "world."}}')
    actions = p.receive_text('{"flush_context": {"context_id": "a"}}')
    assert actions == [Synthesize("a", "Hello world.", "v")]
    pcm = tones.encode("Hello world.")
    out = sent(p.synthesized("a", pcm))
    chunks = [base64.b64decode(m["audio_chunk"]["audioContent"]) for m in out[:-1]]
    assert all(m["audio_chunk"]["context_id"] == "a" for m in out[:-1])
    assert [len(c) for c in chunks] == chunk_sizes(len(b"".join(chunks)))
    assert any(len(c) % 2 for c in chunks)  # a sample split between two chunks
    assert len(b"".join(chunks)) == 2 * len(pcm)  # 8 kHz engine -> 16 kHz client
    assert out[-1] == {"flush_completed": {"context_id": "a"}}
    assert sent(p.receive_text('{"close_context": {"context_id": "a"}}')) == [
        {"context_closed": {"context_id": "a"}}]
    assert p.record.opened == ["a"] and p.record.closed == ["a"]
    assert p.record.contexts["a"].flushes == ["Hello world."]
    assert CHUNK_SIZES[0] % 2 == 1


def test_tts_seed_shapes_and_mulaw() -> None:
    p = TTSProtocol(handshake="seed", synth_rate=8000)
    assert p.connect() == []
    assert sent(p.receive_text(create("m", "MULAW", 8000))) == [{"context_created": True}]
    out = sent(p.synthesized("m", tones.encode("a")))
    audio = b"".join(base64.b64decode(m["audio_chunk"]["audioContent"]) for m in out[:-1])
    assert audio == ulaw_encode(tones.encode("a"))
    assert out[-1] == {"flush_completed": True}


@pytest.mark.parametrize("encoding,rate,fragment", [
    ("LINEAR16", 44100, "sample_rate_hertz"), ("MULAW", 16000, "sample_rate_hertz"),
    ("FLAC", 16000, "audio_encoding"), ("OGG_OPUS", 24000, "OGG_OPUS")])
def test_tts_rejects_formats(encoding: str, rate: int, fragment: str) -> None:
    p = TTSProtocol()
    actions = p.receive_text(create("x", encoding, rate))
    (err,) = sent(actions)
    assert err["error"]["context_id"] == "x" and fragment in err["error"]["message"]
    assert not closes(actions) and p.record.opened == []


def test_tts_order_limits_and_errors() -> None:
    p = TTSProtocol()
    actions = p.receive_text('{"send_text": {"context_id": "a", "text": "hi"}}')
    assert "first" in sent(actions)[0]["error"]["message"] and closes(actions)[0].code == 1008
    p = TTSProtocol(max_contexts=2)
    p.receive_text(create("a"))
    p.receive_text(create("b"))
    assert "already" in sent(p.receive_text(create("a")))[0]["error"]["message"]
    assert "Unknown" in sent(p.receive_text('{"flush_context": {"context_id": "z"}}')
                             )[0]["error"]["message"]
    actions = p.receive_text(create("c"))
    assert closes(actions)[0].code == 1008 and "Too many" in sent(actions)[0]["error"]["message"]
    p = TTSProtocol()
    assert closes(p.receive_text("{oops"))[0].code == 1007


# -- LLM -------------------------------------------------------------------------------


TOOLS = [{"type": "function", "function": {
    "name": "get_weather", "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"},
        "unit": {"type": "string", "enum": ["c", "f"]}}}}}]


def test_llm_rules() -> None:
    rules = llm_mod.ScriptedModel.rules
    call = rules({"messages": [{"role": "user", "content": "get weather for 3 days in Paris"}],
                  "tools": TOOLS})
    assert call.tool_calls[0].name == "get_weather"
    assert call.tool_calls[0].arguments == {"city": "Paris", "days": 3, "unit": "c"}
    after = rules({"messages": [{"role": "tool", "content": "sunny"}]})
    assert after.content == "The result is: sunny." and not after.tool_calls
    ended = rules({"messages": [{"role": "tool", "content": "It is sunny in Paris. "}]})
    assert ended.content == "The result is: It is sunny in Paris."
    assert rules({"messages": [{"role": "user", "content": "Tell me a joke."}]}).content == \
        "You said: Tell me a joke."
    # A word of the tool's name names it; short words ("get") do not.
    said = rules({"messages": [{"role": "user", "content": "What is the weather in Oslo?"}],
                  "tools": TOOLS})
    assert said.tool_calls[0].arguments["city"] == "Oslo"
    plain = rules({"messages": [{"role": "user", "content": "get me a coffee"}], "tools": TOOLS})
    assert plain.tool_calls == [] and plain.content == "You said: get me a coffee."


def test_llm_queue_and_stream_chunks() -> None:
    model = llm_mod.ScriptedModel()
    model.queue_tool_call("f", {"q": "long argument text"})
    model.queue(Reply(content="two calls", tool_calls=[ToolCall("a", "{}"), ToolCall("b", {})]))
    body = {"messages": [{"role": "user", "content": "hi"}]}
    first = model.respond(body)
    assert first.tool_calls[0].name == "f" and model.queued == 1
    chunks = list(llm_mod.stream_chunks(body, first, 1))
    assert "choices" not in chunks[0] and "chat_id" in chunks[0]
    deltas = [c["choices"][0]["delta"] for c in chunks[1:] if c["choices"]]
    pieces = [d["tool_calls"][0]["function"]["arguments"] for d in deltas if "tool_calls" in d]
    assert len(pieces) >= 4 and json.loads("".join(pieces)) == {"q": "long argument text"}
    assert [c["choices"][0]["finish_reason"] for c in chunks[1:] if c["choices"]][-1] == \
        "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    second = model.respond(body)
    whole = llm_mod.completion(body, second, 2)
    calls = whole["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["a", "b"] and calls[0]["id"] != calls[1]["id"]
    assert model.respond(body).content == "Hello! How can I help you today?"


# -- fault plan --------------------------------------------------------------------------


def test_fault_plan_order_times_and_validation() -> None:
    plan = FaultPlan()
    a = plan.add(Fault("stt", "close", code=1006, times=2))
    b = plan.add(Fault("rest", "status", status=500, path="/stt"))
    assert plan.take("tts") is None
    assert plan.take("stt") is a and plan.take("stt") is a and plan.take("stt") is None
    assert plan.take("rest", "/tts-stream") is None and plan.take("rest", "/stt") is b
    assert plan.fired == [a, a, b] and len(plan) == 0
    assert Fault("stt", "refuse").close_code == 1008
    assert Fault("stt", "close").close_code == 1011
    f = Fault("llm", "truncate", after_messages=3)
    assert not f.immediate and not f.due(2, 0) and f.due(3, 0)
    for bad in (dict(service="x", kind="close"), dict(service="stt", kind="explode"),
                dict(service="stt", kind="close", code=99),
                dict(service="llm", kind="status", status=42),
                dict(service="stt", kind="close", times=0),
                dict(service="stt", kind="close", after_bytes=-1)):
        with pytest.raises(ValueError):
            Fault(**bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        plan.add("close")  # type: ignore[arg-type]
