"""The LLM against the emulator on 127.0.0.1: every fault of its plan maps to the
documented error and retry behaviour, and the key never shows."""

from __future__ import annotations

import logging
from typing import Any, List, Optional, Tuple

import pytest
from livekit.agents import (
    APIConnectionError,
    APIConnectOptions,
    APITimeoutError,
    llm,
)

from livekit.plugins._60db import LLM, _60dbStatusError
from livekit.plugins._60db.emulator import Emulator, Fault

KEY = "sk_llm_emulator_secret_77"
OPTS = APIConnectOptions(max_retry=2, retry_interval=0.0, timeout=1.0)


def _ctx() -> llm.ChatContext:
    ctx = llm.ChatContext.empty()
    ctx.add_message(role="user", content="tell me a short story about a cat")
    return ctx


@llm.function_tool
async def get_weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: the city.
    """
    return f"sunny in {city}"


async def _run(model: LLM, *, tools: Optional[list] = None,
               ctx: Optional[llm.ChatContext] = None) -> Tuple[str, List[Any], Optional[BaseException]]:
    text, calls = [], []
    error: Optional[BaseException] = None
    try:
        async with model.chat(chat_ctx=ctx or _ctx(), tools=tools or [], conn_options=OPTS) as s:
            async for chunk in s:
                if chunk.delta:
                    text.append(chunk.delta.content or "")
                    calls.extend(chunk.delta.tool_calls)
    except Exception as e:  # noqa: BLE001 - the test inspects it
        error = e
    return "".join(text), calls, error


@pytest.mark.asyncio
async def test_text_and_a_tool_call_from_the_emulator() -> None:
    async with Emulator(api_keys=[KEY], speech="fallback") as emu:
        model = LLM(api_key=KEY, api_url=emu.llm_url, temperature=0.2)
        emu.llm.queue_reply("Once upon a time, a cat sat in the sun.")
        text, calls, err = await _run(model)
        assert err is None and text == "Once upon a time, a cat sat in the sun." and calls == []
        ctx = llm.ChatContext.empty()
        ctx.add_message(role="user", content="get weather for Oslo")
        text, calls, err = await _run(model, tools=[get_weather], ctx=ctx)
        assert err is None and text == ""
        assert [(c.name, c.arguments) for c in calls] == [("get_weather", '{"city": "Oslo"}')]
        body = emu.records.llm[-1].body
        assert body["stream"] is True and body["temperature"] == 0.2
        assert body["tools"][0]["function"]["name"] == "get_weather"
        await model.aclose()


# (fault, requests the client makes, what it ends with)
CASES = [
    (Fault("llm", "status", status=401), 1, (_60dbStatusError, 401, False)),
    (Fault("llm", "status", status=402), 1, (_60dbStatusError, 402, False)),
    (Fault("llm", "credits"), 1, (_60dbStatusError, 402, False)),
    (Fault("llm", "status", status=403), 1, (_60dbStatusError, 403, False)),
    (Fault("llm", "status", status=429, retry_after=0.2), 2, None),
    (Fault("llm", "status", status=500), 2, None),
    (Fault("llm", "status", status=503, times=2), 3, None),
    # Retries spent: livekit's own wrapper (its retryable flag is livekit's default).
    (Fault("llm", "status", status=503, times=5), 3, (APIConnectionError, None, None)),
    (Fault("llm", "error_event", after_messages=1), 2, None),  # before any text: retried
    (Fault("llm", "truncate", after_messages=1), 2, None),
    (Fault("llm", "malformed", after_messages=1), 2, None),
    (Fault("llm", "close", after_messages=1), 2, None),
    (Fault("llm", "stall", after_messages=1), 2, None),  # read timeout, retried
    # Once text reached the caller, every failure is final: no duplicated words.
    (Fault("llm", "error_event", after_messages=4), 1, (_60dbStatusError, 500, False)),
    (Fault("llm", "truncate", after_messages=4), 1, (APIConnectionError, None, False)),
    (Fault("llm", "malformed", after_messages=4), 1, (APIConnectionError, None, False)),
    (Fault("llm", "close", after_messages=4), 1, (APIConnectionError, None, False)),
    (Fault("llm", "stall", after_messages=4), 1, (APITimeoutError, None, False)),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("fault,requests,outcome", CASES,
                         ids=[f"{c[0].kind}-{c[0].status or ''}-{c[0].after_messages}-{c[0].times}"
                              for c in CASES])
async def test_faults_map_to_errors_and_retries(fault: Fault, requests: int, outcome: Any,
                                                caplog: pytest.LogCaptureFixture) -> None:
    story = "One two three four five six seven."
    caplog.set_level(logging.DEBUG)
    async with Emulator(api_keys=[KEY], speech="fallback") as emu:
        model = LLM(api_key=KEY, api_url=emu.llm_url)
        for _ in range(6):
            emu.llm.queue_reply(story)
        emu.faults.add(fault)
        text, _, err = await _run(model)
        await model.aclose()
        made = len(emu.records.llm)
    assert made == requests
    if outcome is None:
        assert err is None, err
        assert text == story  # whole, and once
    else:
        cls, status, retryable = outcome
        assert isinstance(err, cls), repr(err)
        assert isinstance(err, APIConnectionError)  # what the seed tells users to catch
        if status is not None:
            assert getattr(err, "status_code", None) == status
        if retryable is not None:
            assert err.retryable is retryable  # type: ignore[attr-defined]
        else:
            assert isinstance(err.__cause__, _60dbStatusError)
        assert story.startswith(text)  # a prefix at most, never a repeat
        for e in (err, err.__cause__, err.__context__):
            if e is not None:
                assert KEY not in str(e) and KEY not in repr(e)
    assert KEY not in caplog.text


@pytest.mark.asyncio
async def test_the_seeds_documented_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 60db docs: a global key from ``_60dbClient``, the URL from the environment,
    ``async for chunk in model.chat(chat_ctx=ctx, conn_options=opts)``, and
    ``except APIConnectionError`` for HTTP errors."""
    from livekit.plugins._60db import _60dbClient, _config

    monkeypatch.setattr(_config, "_default_client", None)
    monkeypatch.delenv("SIXTY_DB_API_KEY", raising=False)
    async with Emulator(api_keys=[KEY], speech="fallback") as emu:
        monkeypatch.setenv("SIXTY_DB_LLM_URL", emu.llm_url)
        _60dbClient(KEY)
        model = LLM()
        opts = APIConnectOptions(timeout=30.0)
        emu.llm.queue_reply("Hello from 60db.")
        text = ""
        async for chunk in model.chat(chat_ctx=_ctx(), conn_options=opts):
            if chunk.delta and chunk.delta.content:
                text += chunk.delta.content
        assert text == "Hello from 60db."
        assert emu.records.llm[-1].status == 200
        emu.faults.add(Fault("llm", "status", status=401))
        caught = None
        try:
            async for _ in model.chat(chat_ctx=_ctx(), conn_options=opts):
                pass
        except APIConnectionError as e:  # as the docs say to catch HTTP errors
            caught = e
        assert caught is not None and getattr(caught, "status_code", None) == 401
        await model.aclose()
