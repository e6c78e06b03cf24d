"""60db's OpenAI-compatible chat completions as a livekit ``LLM``, streamed over SSE."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from dataclasses import dataclass, replace
from typing import Any, Dict, List, Literal, Optional, Union

import httpx
from livekit.agents import (
    DEFAULT_API_CONNECT_OPTIONS,
    APIConnectionError,
    APIConnectOptions,
    APITimeoutError,
    llm,
)
from livekit.agents.llm import ToolChoice
from livekit.agents.types import NOT_GIVEN, NotGivenOr
from livekit.agents.utils import is_given

from . import _config
from ._chat_protocol import CompletionParser, InStreamError, StreamProtocolError, error_message
from ._errors import _60dbStatusError
from ._secrets import redact
from ._sse import SSEDecoder
from .log import logger

#: Models the 60db chat endpoint names; any other id is passed through as given.
LLMModels = Literal["60db-tiny"]

DEFAULT_MODEL = "60db-tiny"

# The pause before honouring Retry-After; a module name so tests can watch it.
_sleep = asyncio.sleep

# How much of an error body is read for its message: enough for any JSON error.
_ERROR_BODY_LIMIT = 8192


@dataclass
class _LLMOptions:
    model: str
    temperature: Optional[float]
    max_tokens: Optional[int]
    parallel_tool_calls: Optional[bool]
    tool_choice: Optional[ToolChoice]


def _check_temperature(value: Any) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"temperature must be a number, not {type(value).__name__}")
    if not 0.0 <= float(value) <= 2.0:
        raise ValueError(f"temperature must be between 0 and 2, got {value}")
    return float(value)


def _check_max_tokens(value: Any) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"max_tokens must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"max_tokens must be at least 1, got {value}")
    return value


def _check_tool_choice(value: Any) -> Optional[ToolChoice]:
    if value is None or value in ("auto", "required", "none"):
        return value  # type: ignore[no-any-return]
    if (isinstance(value, dict) and value.get("type") == "function"
            and isinstance(value.get("function"), dict)
            and isinstance(value["function"].get("name"), str)):
        return value  # type: ignore[return-value]
    raise ValueError("tool_choice must be 'auto', 'required', 'none' or "
                     "{'type': 'function', 'function': {'name': ...}}")


def _check_bool(value: Any, name: str) -> Optional[bool]:
    if value is None or isinstance(value, bool):
        return value
    raise TypeError(f"{name} must be a bool, not {type(value).__name__}")


def _check_model(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("model must be a non-empty string")
    return value.strip()


def _retry_after(headers: httpx.Headers) -> Optional[float]:
    """Seconds a 429 asks to wait: ``Retry-After`` as seconds or as an HTTP date."""
    raw = headers.get("retry-after")
    if not raw:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class LLM(llm.LLM):
    """60db chat completions (OpenAI-compatible) with streaming and tool calls.

    Args:
        model: the model id (``"60db-tiny"`` by default).
        api_key: the 60db key; else ``_60dbClient``'s, ``SIXTY_DB_API_KEY`` or
            ``.env.local``.
        api_url: the chat-completions URL; else ``SIXTY_DB_LLM_URL``, else
            ``https://api.60db.ai/v1/chat/completions``.
        temperature, max_tokens: sampling options sent with every request.
        parallel_tool_calls, tool_choice: defaults for requests that carry tools;
            ``chat()`` may override them.
        http_client: an ``httpx.AsyncClient`` to use (not closed by :meth:`aclose`);
            by default the LLM opens one pooled client and keeps it, so requests after
            the first reuse the connection.

    A missing key or a malformed URL raises ``ValueError`` here.
    """

    def __init__(
        self,
        *,
        model: Union[LLMModels, str] = DEFAULT_MODEL,
        api_key: Optional[str] = None,
        api_url: Optional[str] = None,
        temperature: Optional[float] = None,
        max_tokens: Optional[int] = None,
        parallel_tool_calls: Optional[bool] = None,
        tool_choice: Optional[ToolChoice] = None,
        http_client: Optional[httpx.AsyncClient] = None,
    ) -> None:
        super().__init__()
        self._opts = _LLMOptions(
            model=_check_model(model),
            temperature=_check_temperature(temperature),
            max_tokens=_check_max_tokens(max_tokens),
            parallel_tool_calls=_check_bool(parallel_tool_calls, "parallel_tool_calls"),
            tool_choice=_check_tool_choice(tool_choice),
        )
        self._api_key = _config.resolve_api_key(api_key)
        self._url = _config.resolve_url(
            api_url, _config.LLM_URL_ENV, _config.DEFAULT_LLM_URL,
            secure="https", plain="http", argument="api_url")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise TypeError("http_client must be an httpx.AsyncClient")
        self._client = http_client
        self._owns_client = http_client is None

    @property
    def model(self) -> str:
        return self._opts.model

    @property
    def provider(self) -> str:
        return "60db"

    def update_options(
        self,
        *,
        model: NotGivenOr[str] = NOT_GIVEN,
        temperature: NotGivenOr[Optional[float]] = NOT_GIVEN,
        max_tokens: NotGivenOr[Optional[int]] = NOT_GIVEN,
        parallel_tool_calls: NotGivenOr[Optional[bool]] = NOT_GIVEN,
        tool_choice: NotGivenOr[Optional[ToolChoice]] = NOT_GIVEN,
    ) -> None:
        """Change options for the requests that follow (checked as in the constructor)."""
        opts = self._opts
        if is_given(model):
            opts = replace(opts, model=_check_model(model))
        if is_given(temperature):
            opts = replace(opts, temperature=_check_temperature(temperature))
        if is_given(max_tokens):
            opts = replace(opts, max_tokens=_check_max_tokens(max_tokens))
        if is_given(parallel_tool_calls):
            opts = replace(opts, parallel_tool_calls=_check_bool(
                parallel_tool_calls, "parallel_tool_calls"))
        if is_given(tool_choice):
            opts = replace(opts, tool_choice=_check_tool_choice(tool_choice))
        self._opts = opts

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            # One pool per LLM: the TLS handshake is paid once, not per turn.
            self._client = httpx.AsyncClient(
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=10,
                                    keepalive_expiry=120.0),
                follow_redirects=False)
            self._owns_client = True
        return self._client

    async def _prewarm_impl(self) -> None:
        # livekit calls this when a session is built: the client's TLS set-up (tens of
        # ms) and the first connection are paid then, not in the user's first turn. A
        # bare HEAD of the origin, without the key: any answer leaves a pooled
        # connection behind.
        parts = httpx.URL(self._url)
        origin = parts.copy_with(path="/", query=None, fragment=None)
        try:
            await self._http().head(origin, timeout=httpx.Timeout(5.0))
        except httpx.HTTPError:
            pass

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: Optional[List[llm.Tool]] = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[Dict[str, Any]] = NOT_GIVEN,
    ) -> "LLMStream":
        """Stream a completion of ``chat_ctx``; ``tools`` are offered to the model."""
        opts = self._opts
        if is_given(parallel_tool_calls):
            opts = replace(opts, parallel_tool_calls=_check_bool(
                parallel_tool_calls, "parallel_tool_calls"))
        if is_given(tool_choice):
            opts = replace(opts, tool_choice=_check_tool_choice(tool_choice))
        extra = dict(extra_kwargs) if is_given(extra_kwargs) else {}
        return LLMStream(self, opts=opts, chat_ctx=chat_ctx, tools=list(tools or []),
                         conn_options=conn_options, extra=extra)

    async def aclose(self) -> None:
        await super().aclose()  # a prewarm still running goes first: it uses the client
        if self._client is not None and self._owns_client:
            await self._client.aclose()
        self._client = None

    def __repr__(self) -> str:
        return f"LLM(model={self._opts.model!r}, api_url={redact(self._url)!r}, api_key=***)"


class LLMStream(llm.LLMStream):
    """One streamed completion; iterate it for ``ChatChunk``s.

    Retries (by livekit's base class, within ``APIConnectOptions``) happen only
    while nothing has reached the caller: a retry after that would repeat text or
    tool calls, so errors from then on are final.
    """

    def __init__(self, llm_: LLM, *, opts: _LLMOptions, chat_ctx: llm.ChatContext,
                 tools: List[llm.Tool], conn_options: APIConnectOptions,
                 extra: Dict[str, Any]) -> None:
        super().__init__(llm_, chat_ctx=chat_ctx, tools=tools, conn_options=conn_options)
        self._owner = llm_
        self._opts = opts
        self._extra = extra
        self._attempt = 0
        self._emitted = False
        # livekit's own guard against retrying after output (1.8); ours below does not
        # rely on it.
        self._retry_on_chunk_sent = False

    def _body(self) -> Dict[str, Any]:
        messages, _ = self._chat_ctx.to_provider_format("openai")
        body: Dict[str, Any] = {
            "model": self._opts.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self._opts.temperature is not None:
            body["temperature"] = self._opts.temperature
        if self._opts.max_tokens is not None:
            body["max_tokens"] = self._opts.max_tokens
        if self._tools:
            schemas = llm.ToolContext(self._tools).parse_function_tools("openai", strict=False)
            if schemas:
                body["tools"] = schemas
                if self._opts.tool_choice is not None:
                    body["tool_choice"] = self._opts.tool_choice
                if self._opts.parallel_tool_calls is not None:
                    body["parallel_tool_calls"] = self._opts.parallel_tool_calls
        body.update(self._extra)
        return body

    def _send(self, chunk: llm.ChatChunk) -> None:
        if chunk.delta is not None and (chunk.delta.content or chunk.delta.tool_calls):
            self._emitted = True
        self._event_ch.send_nowait(chunk)

    async def _run(self) -> None:
        attempt = self._attempt
        self._attempt += 1
        try:
            await self._request(attempt)
        except (APIConnectionError, APITimeoutError, _60dbStatusError) as e:
            if self._emitted:
                e.retryable = False
            raise
        except httpx.TimeoutException as e:
            raise APITimeoutError("60db LLM request timed out",
                                  retryable=not self._emitted) from e
        except InStreamError as e:
            if e.status_code is not None:
                raise _60dbStatusError(
                    f"60db LLM error in stream: {e.message}", status_code=e.status_code,
                    body=e.body, retryable=False if self._emitted else None) from e
            raise APIConnectionError(f"60db LLM error in stream: {e.message}",
                                     retryable=not self._emitted) from e
        except StreamProtocolError as e:
            raise APIConnectionError(f"60db LLM: {e}", retryable=not self._emitted) from e
        except httpx.HTTPError as e:
            raise APIConnectionError(
                f"60db LLM request failed: {type(e).__name__}: {redact(str(e))}",
                retryable=not self._emitted) from e

    async def _request(self, attempt: int) -> None:
        body = self._body()
        headers = {
            "Authorization": f"Bearer {self._owner._api_key}",
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
        }
        timeout = httpx.Timeout(self._conn_options.timeout)
        client = self._owner._http()
        async with client.stream("POST", self._owner._url, content=json.dumps(body),
                                 headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                await self._raise_status(response, attempt)
            if response.status_code != 200:
                raise APIConnectionError(
                    f"60db LLM: unexpected HTTP status {response.status_code}",
                    retryable=False)
            request_id = response.headers.get("x-request-id")
            parser = CompletionParser(request_id)
            ctype = response.headers.get("content-type", "")
            if "json" in ctype and "event-stream" not in ctype:
                # A server that ignores "stream": the whole completion in one body.
                raw = await response.aread()
                try:
                    obj = json.loads(raw)
                except ValueError as e:
                    raise StreamProtocolError("chat reply is not JSON") from e
                for chunk in parser.feed_object(obj):
                    self._send(chunk)
                parser.finished = True
            else:
                decoder = SSEDecoder()
                # Read to the end of the body even after [DONE]: a body left unread
                # makes httpx drop the connection instead of pooling it.
                async for data in response.aiter_bytes():
                    if parser.done:
                        continue
                    for event in decoder.feed(data):
                        for chunk in parser.feed(event):
                            self._send(chunk)
                        if parser.done:
                            break
                if not parser.done:
                    for event in decoder.close():
                        for chunk in parser.feed(event):
                            self._send(chunk)
            for chunk in parser.end():
                self._send(chunk)

    async def _raise_status(self, response: httpx.Response, attempt: int) -> None:
        status = response.status_code
        raw = b""
        async for piece in response.aiter_bytes():
            raw += piece
            if len(raw) >= _ERROR_BODY_LIMIT:
                break
        body: object = None
        # Redacted before anything keeps it: an error body may echo the request.
        text_body = redact(raw.decode("utf-8", "replace"))
        message = text_body[:500].strip()
        try:
            body = json.loads(text_body)
            message = error_message(body.get("error", body) if isinstance(body, dict) else body)
        except ValueError:
            pass
        reason = {401: "invalid or missing API key", 402: "out of credits",
                  403: "forbidden", 429: "rate limit exceeded"}.get(status)
        text = f"60db LLM: HTTP {status}" + (f" ({reason})" if reason else "")
        if message:
            text += f": {message}"
        retry_after = _retry_after(response.headers) if status == 429 else None
        err = _60dbStatusError(text, status_code=status,
                               request_id=response.headers.get("x-request-id"),
                               body=body, retry_after=retry_after)
        if status == 429 and retry_after is not None:
            wait = self._retry_after_wait(retry_after, attempt)
            if wait is None:
                err.retryable = False
            elif wait > 0:
                logger.warning("60db LLM rate limited; retrying after %.1f s", retry_after)
                await _sleep(wait)
        raise err

    def _retry_after_wait(self, retry_after: float, attempt: int) -> Optional[float]:
        """Extra sleep so that the base class's retry comes no sooner than asked.

        ``None`` when no retry should happen: the last attempt, or a wait longer than
        the request timeout (a voice turn would be long gone).
        """
        opts = self._conn_options
        if attempt >= opts.max_retry or retry_after > opts.timeout:
            return None
        return max(0.0, retry_after - opts._interval_for_retry(attempt))
