"""The LLM over HTTP: request shape, streamed text and tool calls, status codes, retries.

Most tests serve the HTTP side with an ``httpx.MockTransport`` (the responses are
streamed piece by piece, as a socket delivers them); the pooling test runs a real
server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

import httpx
import pytest
from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APIStatusError,
    APITimeoutError,
    llm,
)

from livekit.plugins import _60db
from livekit.plugins._60db import LLM, _60dbStatusError
from livekit.plugins._60db import llm as llm_module

KEY = "sk_test_llm_0123456789"
URL = "http://127.0.0.1:9/v1/chat/completions"
FAST = APIConnectOptions(max_retry=2, retry_interval=0.0, timeout=5.0)


class _Pieces(httpx.AsyncByteStream):
    """A response body delivered piece by piece, optionally failing after some."""

    def __init__(self, pieces: List[bytes], fail: Optional[Exception] = None) -> None:
        self._pieces, self._fail = pieces, fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for p in self._pieces:
            await asyncio.sleep(0)
            yield p
        if self._fail is not None:
            raise self._fail


def _sse(*objs: Any, done: bool = True) -> List[bytes]:
    text = "".join(f"data: {o if isinstance(o, str) else json.dumps(o)}\n\n" for o in objs)
    if done:
        text += "data: [DONE]\n\n"
    raw = text.encode()
    return [raw[i:i + 7] for i in range(0, len(raw), 7)]  # awkward splits


def _delta(delta: Dict[str, Any], finish: Optional[str] = None) -> Dict[str, Any]:
    return {"id": "chatcmpl-9", "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish}]}


def _stream_response(pieces: List[bytes], fail: Optional[Exception] = None) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"},
                          stream=_Pieces(pieces, fail))


class Server:
    """Answers each request with the next handler; records every request."""

    def __init__(self, *handlers: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handlers = list(handlers)
        self.requests: List[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        handler = self.handlers[min(len(self.requests), len(self.handlers)) - 1]
        return handler(request)

    def body(self, i: int = 0) -> Dict[str, Any]:
        return json.loads(self.requests[i].content)


def _make(server: Server, **kw: Any) -> LLM:
    client = httpx.AsyncClient(transport=httpx.MockTransport(server))
    return LLM(api_key=KEY, api_url=URL, http_client=client, **kw)


def _ctx(text: str = "What is the weather in Oslo?") -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="system", content="You are terse.")
    ctx.add_message(role="user", content=text)
    return ctx


@llm.function_tool
async def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: the city's name.
    """
    return f"sunny in {city}"


async def _collect(stream: llm.LLMStream) -> List[llm.ChatChunk]:
    out = []
    async with stream:
        async for chunk in stream:
            out.append(chunk)
    return out


def _text(chunks: List[llm.ChatChunk]) -> str:
    return "".join(c.delta.content or "" for c in chunks if c.delta)


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIXTY_DB_LLM_URL", raising=False)


@pytest.mark.asyncio
async def test_request_carries_context_tools_and_options() -> None:
    server = Server(lambda r: _stream_response(_sse(_delta({"content": "ok"}, "stop"))))
    model = _make(server, model="60db-tiny", temperature=0.3, max_tokens=64,
                  parallel_tool_calls=False, tool_choice="auto")
    await _collect(model.chat(chat_ctx=_ctx(), tools=[get_weather], conn_options=FAST))
    req = server.requests[0]
    assert req.method == "POST" and str(req.url) == URL
    assert req.headers["authorization"] == f"Bearer {KEY}"
    body = server.body()
    assert body["model"] == "60db-tiny" and body["stream"] is True
    assert body["temperature"] == 0.3 and body["max_tokens"] == 64
    assert body["messages"] == [{"role": "system", "content": "You are terse."},
                                {"role": "user", "content": "What is the weather in Oslo?"}]
    (tool,) = body["tools"]
    assert tool["type"] == "function" and tool["function"]["name"] == "get_weather"
    assert tool["function"]["parameters"]["properties"]["city"]["type"] == "string"
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is False
    # chat() overrides the defaults for one request; without tools neither is sent.
    await _collect(model.chat(chat_ctx=_ctx(), tools=[get_weather], tool_choice="required",
                              parallel_tool_calls=True, conn_options=FAST))
    assert server.body(1)["tool_choice"] == "required"
    assert server.body(1)["parallel_tool_calls"] is True
    await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert not {"tools", "tool_choice", "parallel_tool_calls"} & set(server.body(2))
    await model.aclose()


@pytest.mark.asyncio
async def test_text_tool_call_and_usage_stream_through() -> None:
    pieces = _sse(
        {"chat_id": "c-1"},  # no choices: skipped
        _delta({"role": "assistant", "content": "Let me check. "}),
        _delta({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                "function": {"name": "get_weather", "arguments": ""}}]}),
        _delta({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}),
        _delta({"tool_calls": [{"index": 0, "function": {"arguments": " \"Oslo\"}"}}]}),
        _delta({}, "tool_calls"),
        {"id": "chatcmpl-9", "choices": [], "usage": {"prompt_tokens": 40,
                                                      "completion_tokens": 9, "total_tokens": 49}},
    )
    model = _make(Server(lambda r: _stream_response(pieces)))
    metrics: List[Any] = []
    model.on("metrics_collected", metrics.append)
    chunks = await _collect(model.chat(chat_ctx=_ctx(), tools=[get_weather], conn_options=FAST))
    assert _text(chunks) == "Let me check. "
    calls = [tc for c in chunks if c.delta for tc in c.delta.tool_calls]
    assert [(c.name, json.loads(c.arguments), c.call_id) for c in calls] == [
        ("get_weather", {"city": "Oslo"}, "call_1")]
    usage = [c.usage for c in chunks if c.usage]
    assert usage and usage[0].completion_tokens == 9
    await asyncio.sleep(0)
    assert metrics and metrics[0].total_tokens == 49
    await model.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [401, 402, 403])
async def test_auth_and_credit_failures_are_final(status: int) -> None:
    server = Server(lambda r: httpx.Response(
        status, json={"error": {"message": f"denied for {KEY}"}}))
    model = _make(server)
    with pytest.raises(_60dbStatusError) as e:
        await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert len(server.requests) == 1  # not retried
    err = e.value
    assert isinstance(err, APIConnectionError) and isinstance(err, APIStatusError)
    assert err.status_code == status and not err.retryable
    assert KEY not in str(err) and KEY not in repr(err) and "denied for ***" in str(err)
    await model.aclose()


@pytest.mark.asyncio
async def test_rate_limit_waits_for_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: List[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(llm_module, "_sleep", sleep)
    server = Server(
        lambda r: httpx.Response(429, headers={"Retry-After": "1.5"}, json={"message": "slow"}),
        lambda r: _stream_response(_sse(_delta({"content": "fine"}, "stop"))))
    model = _make(server)
    chunks = await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert _text(chunks) == "fine" and len(server.requests) == 2
    # The base class waits 0.1 s before its first retry; the plugin adds the rest.
    assert waits == [pytest.approx(1.4)]
    await model.aclose()


@pytest.mark.asyncio
async def test_rate_limit_longer_than_the_timeout_is_final(monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server(lambda r: httpx.Response(429, headers={"Retry-After": "60"}))
    model = _make(server)
    with pytest.raises(_60dbStatusError) as e:
        await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert e.value.status_code == 429 and e.value.retry_after == 60.0
    assert len(server.requests) == 1
    await model.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried(status: int) -> None:
    server = Server(lambda r: httpx.Response(status, text="upstream down"),
                    lambda r: _stream_response(_sse(_delta({"content": "back"}, "stop"))))
    model = _make(server)
    assert _text(await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))) == "back"
    assert len(server.requests) == 2
    await model.aclose()


@pytest.mark.asyncio
async def test_server_errors_exhaust_retries_as_connection_error() -> None:
    server = Server(lambda r: httpx.Response(503))
    model = _make(server)
    with pytest.raises(APIConnectionError) as e:
        await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert len(server.requests) == FAST.max_retry + 1
    assert isinstance(e.value.__cause__, _60dbStatusError)
    await model.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", ["cut", "error_event", "read_error"])
async def test_no_retry_once_output_reached_the_caller(failure: str) -> None:
    first = _delta({"content": "Half a sen"})
    if failure == "cut":
        make = lambda r: _stream_response(_sse(first, done=False))  # noqa: E731
    elif failure == "error_event":
        make = lambda r: _stream_response(  # noqa: E731
            _sse(first, {"error": {"message": "upstream died"}}, done=False))
    else:
        make = lambda r: _stream_response(  # noqa: E731
            _sse(first, done=False), fail=httpx.ReadError("reset"))
    server = Server(make)
    model = _make(server)
    got: List[llm.ChatChunk] = []
    with pytest.raises(APIConnectionError) as e:
        async with model.chat(chat_ctx=_ctx(), conn_options=FAST) as stream:
            async for chunk in stream:
                got.append(chunk)
    assert not e.value.retryable
    assert len(server.requests) == 1  # a retry would have repeated "Half a sen"
    assert _text(got) == "Half a sen"
    await model.aclose()


@pytest.mark.asyncio
async def test_error_event_before_any_output_is_retried() -> None:
    server = Server(
        lambda r: _stream_response(_sse({"error": {"message": "warming up"}}, done=False)),
        lambda r: _stream_response(_sse(_delta({"content": "ready"}, "stop"))))
    model = _make(server)
    assert _text(await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))) == "ready"
    assert len(server.requests) == 2
    await model.aclose()


@pytest.mark.asyncio
async def test_error_event_with_a_status_is_a_status_error() -> None:
    server = Server(lambda r: _stream_response(
        _sse({"error": {"message": "no credits", "code": 402}}, done=False)))
    model = _make(server)
    with pytest.raises(_60dbStatusError) as e:
        await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert e.value.status_code == 402 and len(server.requests) == 1
    await model.aclose()


@pytest.mark.asyncio
async def test_timeouts_become_api_timeout_errors() -> None:
    def stall(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    server = Server(stall)
    model = _make(server)
    with pytest.raises(APITimeoutError):
        await _collect(model.chat(chat_ctx=_ctx(),
                                  conn_options=APIConnectOptions(max_retry=0, timeout=1.0)))
    with pytest.raises(APIConnectionError) as e:  # retried, then livekit's wrapper
        await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
    assert isinstance(e.value.__cause__, APITimeoutError)
    assert len(server.requests) == 1 + FAST.max_retry + 1
    await model.aclose()


@pytest.mark.asyncio
async def test_a_non_streamed_json_reply_is_accepted() -> None:
    server = Server(lambda r: httpx.Response(200, json={
        "id": "x", "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": "whole"}}]}))
    model = _make(server)
    assert _text(await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))) == "whole"
    await model.aclose()


def test_bad_options_name_the_argument() -> None:
    for kw, exc, word in [({"temperature": 3}, ValueError, "temperature"),
                          ({"temperature": "hot"}, TypeError, "temperature"),
                          ({"max_tokens": 0}, ValueError, "max_tokens"),
                          ({"max_tokens": 1.5}, TypeError, "max_tokens"),
                          ({"tool_choice": "sometimes"}, ValueError, "tool_choice"),
                          ({"parallel_tool_calls": "yes"}, TypeError, "parallel_tool_calls"),
                          ({"model": ""}, ValueError, "model"),
                          ({"api_url": "http://example.com/v1"}, ValueError, "clear text"),
                          ({"http_client": object()}, TypeError, "http_client")]:
        with pytest.raises(exc, match=word):
            LLM(api_key=KEY, **{"api_url": URL, **kw})
    model = LLM(api_key=KEY, api_url=URL)
    model.update_options(temperature=0.5, model="other")
    assert model.model == "other" and model.provider == "60db"
    with pytest.raises(ValueError, match="temperature"):
        model.update_options(temperature=-1)


def test_key_and_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIXTY_DB_API_KEY", KEY)
    monkeypatch.setenv("SIXTY_DB_LLM_URL", "http://localhost:8123/v1/chat/completions")
    model = LLM()
    assert model._url == "http://localhost:8123/v1/chat/completions"
    assert KEY not in repr(model) and "api_key=***" in repr(model)
    monkeypatch.delenv("SIXTY_DB_LLM_URL")
    assert LLM()._url == "https://api.60db.ai/v1/chat/completions"
    assert "LLM" in _60db.__all__ and "LLMStream" in _60db.__all__


@pytest.mark.asyncio
async def test_one_pooled_connection_serves_many_requests(caplog: pytest.LogCaptureFixture) -> None:
    from aiohttp import web

    peers: List[Any] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.append(request.transport.get_extra_info("peername"))
        assert request.headers["Authorization"] == f"Bearer {KEY}"
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for piece in _sse(_delta({"content": "pong"}, "stop")):
            await resp.write(piece)
        await resp.write_eof()
        return resp

    heads: List[Any] = []

    async def head(request: web.Request) -> web.Response:
        heads.append((request.transport.get_extra_info("peername"),
                      request.headers.get("Authorization")))
        return web.Response(status=404)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", handler)
    app.router.add_route("HEAD", "/", head)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        with caplog.at_level(logging.DEBUG):
            model = LLM(api_key=KEY, api_url=f"http://127.0.0.1:{port}/v1/chat/completions")
            # What an AgentSession does when it is built: the connection opens early.
            model.prewarm()
            assert model._prewarm_task is not None
            await model._prewarm_task
            for _ in range(3):
                chunks = await _collect(model.chat(chat_ctx=_ctx(), conn_options=FAST))
                assert _text(chunks) == "pong"
            await model.aclose()
        assert len(peers) == 3 and len(set(peers)) == 1  # one client port: one connection
        # The prewarm's connection is the one the requests used; it carried no key.
        assert [h[0] for h in heads] == [peers[0]] and heads[0][1] is None
        assert KEY not in caplog.text
    finally:
        await runner.cleanup()
