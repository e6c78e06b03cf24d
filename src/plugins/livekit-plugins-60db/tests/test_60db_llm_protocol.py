"""The SSE decoder and the chat-completions parser, without sockets."""

from __future__ import annotations

import json
from typing import Any, List

import pytest
from livekit.agents import llm

from livekit.plugins._60db._chat_protocol import (
    CompletionParser,
    InStreamError,
    StreamProtocolError,
)
from livekit.plugins._60db._sse import SSEDecoder


def _events(pieces: List[bytes]) -> List[str]:
    d = SSEDecoder()
    out: List[str] = []
    for p in pieces:
        out.extend(d.feed(p))
    return out + d.close()


STREAM = (
    ": keep-alive\r\n\r\n"
    "event: message\r\ndata: {\"a\": \"héllo wörld ☃\"}\r\n\r\n"
    "data: line one\ndata: line two\n\n"
    "id: 7\rdata:no-space\r\r"
    "data: [DONE]\n\n"
).encode()


def test_sse_events_are_the_same_for_every_split_point() -> None:
    whole = _events([STREAM])
    assert whole == ['{"a": "héllo wörld ☃"}', "line one\nline two", "no-space", "[DONE]"]
    for cut in range(1, len(STREAM)):
        assert _events([STREAM[:cut], STREAM[cut:]]) == whole, cut
    assert _events([STREAM[i:i + 1] for i in range(len(STREAM))]) == whole


def test_sse_crlf_split_between_cr_and_lf_is_one_break() -> None:
    # "\r" then "\n" in the next chunk must not read as an empty line (which would
    # end the event early and split "a" from "b").
    assert _events([b"data: a\r", b"\ndata: b\r\n\r\n"]) == ["a\nb"]


def test_sse_event_without_closing_blank_line_is_kept_at_close() -> None:
    d = SSEDecoder()
    assert d.feed(b"data: {\"x\": 1}") == []
    assert d.close() == ['{"x": 1}']


def test_sse_rejects_text() -> None:
    with pytest.raises(TypeError, match="chunk"):
        SSEDecoder().feed("data: x\n\n")  # type: ignore[arg-type]


def _chunk(delta: dict, finish: Any = None, **extra: Any) -> str:
    return json.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                       **extra})


def _text(chunks: List[llm.ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta)


def _calls(chunks: List[llm.ChatChunk]) -> List[llm.FunctionToolCall]:
    return [tc for c in chunks if c.delta for tc in c.delta.tool_calls]


def test_content_deltas_usage_and_chunks_without_choices() -> None:
    p = CompletionParser()
    out: List[llm.ChatChunk] = []
    out += p.feed(json.dumps({"chat_id": "abc"}))           # no choices: nothing
    out += p.feed(_chunk({"role": "assistant", "content": ""}))
    out += p.feed(_chunk({"content": "Hello"}))
    out += p.feed(_chunk({"content": ", world"}))
    out += p.feed(_chunk({}, "stop"))
    out += p.feed(json.dumps({"id": "chatcmpl-1", "choices": [],
                              "usage": {"prompt_tokens": 12, "completion_tokens": 3,
                                        "total_tokens": 15}}))
    out += p.feed("[DONE]")
    out += p.end()
    assert _text(out) == "Hello, world"
    assert [c.delta.content for c in out if c.delta] == ["Hello", ", world"]
    assert all(c.id == "chatcmpl-1" for c in out)
    usage = [c.usage for c in out if c.usage]
    assert len(usage) == 1 and usage[0].prompt_tokens == 12 and usage[0].total_tokens == 15
    assert p.finish_reason == "stop"


def test_tool_call_arguments_in_pieces_assembled_per_index() -> None:
    p = CompletionParser()
    out: List[llm.ChatChunk] = []
    # Two calls whose argument pieces interleave.
    out += p.feed(_chunk({"tool_calls": [{"index": 0, "id": "call_a", "type": "function",
                                          "function": {"name": "get_weather",
                                                       "arguments": ""}}]}))
    out += p.feed(_chunk({"tool_calls": [{"index": 1, "id": "call_b", "type": "function",
                                          "function": {"name": "get_time",
                                                       "arguments": "{\"tz\""}}]}))
    out += p.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{\"ci"}}]}))
    out += p.feed(_chunk({"tool_calls": [{"index": 1, "function": {"arguments": ": \"UTC\"}"}}]}))
    out += p.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "ty\": \"Oslo\"}"}}]}))
    assert _calls(out) == []  # nothing handed on before the call is complete
    out += p.feed(_chunk({}, "tool_calls"))
    calls = _calls(out)
    assert [(c.call_id, c.name) for c in calls] == [("call_a", "get_weather"), ("call_b", "get_time")]
    assert json.loads(calls[0].arguments) == {"city": "Oslo"}
    assert json.loads(calls[1].arguments) == {"tz": "UTC"}
    assert p.feed("[DONE]") == [] and p.end() == []  # handed on exactly once


def test_tool_call_without_finish_reason_is_handed_on_at_done() -> None:
    p = CompletionParser()
    assert p.feed(_chunk({"tool_calls": [{"index": 0, "id": "c1",
                                          "function": {"name": "now"}}]})) == []
    calls = _calls(p.feed("[DONE]"))
    assert [(c.name, c.arguments, c.call_id) for c in calls] == [("now", "{}", "c1")]


def test_in_stream_error_carries_message_and_status() -> None:
    p = CompletionParser()
    with pytest.raises(InStreamError, match="model overloaded") as e:
        p.feed(json.dumps({"error": {"message": "model overloaded", "code": 503}}))
    assert e.value.status_code == 503
    with pytest.raises(InStreamError, match="broken") as e:
        p.feed(json.dumps({"error": "broken"}))
    assert e.value.status_code is None


def test_cut_stream_and_bad_payloads_are_protocol_errors() -> None:
    p = CompletionParser()
    p.feed(_chunk({"content": "Hel"}))
    with pytest.raises(StreamProtocolError, match="ended before"):
        p.end()
    with pytest.raises(StreamProtocolError, match="not JSON"):
        CompletionParser().feed("{not json")
    with pytest.raises(StreamProtocolError, match="JSON object"):
        CompletionParser().feed("[1, 2]")
    with pytest.raises(StreamProtocolError, match="never named"):
        q = CompletionParser()
        q.feed(_chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))
        q.feed(_chunk({}, "tool_calls"))


def test_events_joined_by_a_server_that_omits_blank_lines_still_parse() -> None:
    p = CompletionParser()
    out = p.feed(_chunk({"content": "a"}) + "\n" + _chunk({"content": "b"}, "stop"))
    assert _text(out) == "ab" and p.finished


def test_a_whole_completion_object_is_read_as_well() -> None:
    p = CompletionParser()
    out = p.feed_object({"id": "x", "choices": [{"index": 0, "finish_reason": "tool_calls",
                                                 "message": {"role": "assistant", "content": None,
                                                             "tool_calls": [{"id": "c", "type": "function",
                                                                             "function": {"name": "f",
                                                                                          "arguments": "{\"k\": 1}"}}]}}]})
    assert [(c.name, c.arguments) for c in _calls(out)] == [("f", '{"k": 1}')]
