"""The sans-I/O protocol core: JSON in → events, commands → JSON out."""

import base64
import json

import pytest

from livekit.plugins.elevenlabs_bridge import (AgentResponse, Audio, ClientToolCall,
                                               ConversationProtocol, Interruption,
                                               Metadata, Ping, ProtocolError, StaleAudio,
                                               UserTranscript, parse_format)


def meta(inp="pcm_16000", out="pcm_24000"):
    return json.dumps({"type": "conversation_initiation_metadata",
                       "conversation_initiation_metadata_event": {
                           "conversation_id": "c1", "user_input_audio_format": inp,
                           "agent_output_audio_format": out}})


def audio(pcm, event_id):
    return json.dumps({"type": "audio", "audio_event": {
        "audio_base_64": base64.b64encode(pcm).decode(), "event_id": event_id}})


@pytest.mark.parametrize("name,rate,enc", [
    ("pcm_8000", 8000, "pcm16"), ("pcm_16000", 16000, "pcm16"),
    ("pcm_22050", 22050, "pcm16"), ("pcm_24000", 24000, "pcm16"),
    ("pcm_44100", 44100, "pcm16"), ("pcm_48000", 48000, "pcm16"),
    ("ulaw_8000", 8000, "mulaw")])
def test_formats(name, rate, enc):
    fmt = parse_format(name)
    assert (fmt.rate, fmt.encoding) == (rate, enc)


@pytest.mark.parametrize("bad", ["pcm_11025", "ulaw_16000", "mp3_44100", "", 16000, None])
def test_bad_formats_raise_naming_the_field(bad):
    with pytest.raises(ValueError, match="user_input_audio_format"):
        parse_format(bad, "user_input_audio_format")


def test_metadata_is_trusted_and_only_once():
    proto = ConversationProtocol()
    ev = proto.receive(meta("ulaw_8000", "pcm_44100"))
    assert isinstance(ev, Metadata)
    assert ev.user_input_format.encoding == "mulaw"
    assert ev.agent_output_format.rate == 44100
    assert proto.metadata is ev
    with pytest.raises(ProtocolError, match="twice"):
        proto.receive(meta())


def test_metadata_with_unknown_format_is_an_error():
    with pytest.raises(ProtocolError, match="agent_output_audio_format"):
        ConversationProtocol().receive(meta(out="pcm_12345"))


def test_audio_decodes_base64():
    proto = ConversationProtocol()
    proto.receive(meta())
    ev = proto.receive(audio(b"\x01\x00\x02\x00", 3))
    assert ev == Audio(3, b"\x01\x00\x02\x00")


def test_interruption_drops_strictly_older_audio_only():
    proto = ConversationProtocol()
    proto.receive(meta())
    assert proto.receive(audio(b"\0\0" * 10, 4)) == Audio(4, b"\0\0" * 10)
    ev = proto.receive(json.dumps({"type": "interruption",
                                   "interruption_event": {"event_id": 5}}))
    assert ev == Interruption(5)
    stale = proto.receive(audio(b"\1\0" * 10, 4))
    assert isinstance(stale, StaleAudio) and stale.event_id == 4 and stale.nbytes == 20
    # The interruption's own id is the new reply: it plays.
    assert isinstance(proto.receive(audio(b"\2\0" * 10, 5)), Audio)
    assert isinstance(proto.receive(audio(b"\3\0" * 10, 6)), Audio)
    assert proto.stale_dropped == 1
    # An older interruption arriving late does not move the line back.
    proto.receive(json.dumps({"type": "interruption", "interruption_event": {"event_id": 2}}))
    assert proto.interrupted_id == 5


def test_odd_pcm_byte_count_and_bad_base64_are_protocol_errors():
    proto = ConversationProtocol()
    proto.receive(meta())
    with pytest.raises(ProtocolError, match="odd"):
        proto.receive(audio(b"\0\0\0", 1))
    with pytest.raises(ProtocolError, match="base64"):
        proto.receive(json.dumps({"type": "audio",
                                  "audio_event": {"audio_base_64": "@@@", "event_id": 1}}))


@pytest.mark.parametrize("text", ["not json", "[1,2]", '{"no_type": 1}', b"\xff\xfe"])
def test_malformed_messages(text):
    with pytest.raises(ProtocolError):
        ConversationProtocol().receive(text)


def test_other_events():
    proto = ConversationProtocol()
    assert proto.receive(json.dumps({"type": "ping", "ping_event": {
        "event_id": 7, "ping_ms": 30}})) == Ping(7, 30.0)
    assert proto.receive(json.dumps({"type": "user_transcript", "user_transcription_event": {
        "user_transcript": "hello"}})) == UserTranscript("hello")
    assert proto.receive(json.dumps({"type": "agent_response", "agent_response_event": {
        "agent_response": "hi there"}})) == AgentResponse("hi there")
    assert proto.receive(json.dumps({"type": "client_tool_call", "client_tool_call": {
        "tool_name": "lookup", "tool_call_id": "t1", "parameters": {"q": 1}}})) == \
        ClientToolCall("lookup", "t1", {"q": 1})
    unknown = proto.receive('{"type": "something_new", "x": 1}')
    assert unknown.type == "something_new"


def test_commands():
    P = ConversationProtocol
    assert json.loads(P.initiation()) == {"type": "conversation_initiation_client_data"}
    assert json.loads(P.initiation({"name": "a"}))["dynamic_variables"] == {"name": "a"}
    chunk = json.loads(P.user_audio_chunk(b"\x01\x02\x03\x04"))
    assert list(chunk) == ["user_audio_chunk"]
    assert base64.b64decode(chunk["user_audio_chunk"]) == b"\x01\x02\x03\x04"
    assert json.loads(P.pong(9)) == {"type": "pong", "event_id": 9}
    res = json.loads(P.client_tool_result("t1", {"ok": True}, is_error=False))
    assert res == {"type": "client_tool_result", "tool_call_id": "t1",
                   "result": '{"ok": true}', "is_error": False}
