"""The chat-completions stream, turned into livekit ``ChatChunk``s without I/O.

``CompletionParser.feed`` takes the payload of one SSE event (a JSON text, or the
``[DONE]`` marker) and returns the chunks to hand to livekit. Tool calls arrive as
``tool_calls`` deltas keyed by ``index``: the first delta of an index carries the id
and the name, later ones pieces of ``arguments``. Each index is assembled on its own
(providers may interleave them) and handed on whole, as one ``FunctionToolCall``, when
the choice finishes or the stream ends.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from livekit.agents import llm

from ._secrets import redact

DONE = "[DONE]"


class StreamProtocolError(Exception):
    """The stream carried something a chat-completions stream may not."""


class InStreamError(Exception):
    """The server reported an error inside the stream (``{"error": {...}}``)."""

    def __init__(self, message: str, *, status_code: Optional[int], body: object) -> None:
        super().__init__(redact(message))
        self.message = redact(message)
        self.status_code = status_code
        self.body = body


@dataclass
class _PendingCall:
    call_id: str = ""
    name: str = ""
    arguments: List[str] = field(default_factory=list)


def _as_status(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 400 <= value <= 599:
        return value
    return None


def error_message(err: Any) -> str:
    """The human part of an error object, in any of the shapes servers use."""
    if isinstance(err, dict):
        for key in ("message", "error", "detail"):
            value = err.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict):
                return error_message(value)
        return json.dumps(err)[:500]
    return str(err)[:500]


class CompletionParser:
    """State of one streamed completion: ids, tool calls in flight, what was seen."""

    def __init__(self, request_id: Optional[str] = None) -> None:
        self._id = request_id or f"60db-{uuid.uuid4().hex[:12]}"
        self._calls: Dict[int, _PendingCall] = {}
        self.done = False          # [DONE] arrived
        self.finished = False      # a finish_reason arrived
        self.finish_reason: Optional[str] = None
        self.usage: Optional[llm.CompletionUsage] = None

    @property
    def id(self) -> str:
        return self._id

    def feed(self, data: str) -> List[llm.ChatChunk]:
        """Chunks for one SSE event's data; raises ``InStreamError``/``StreamProtocolError``."""
        text = data.strip()
        if not text:
            return []
        if text == DONE:
            self.done = True
            return self._flush_calls()
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            # One event per line without blank lines between them is a common
            # server mistake: the standard joins such lines into one event.
            lines = [line for line in text.split("\n") if line.strip()]
            if len(lines) < 2:
                raise StreamProtocolError(
                    f"chat stream: an event is not JSON ({text[:80]!r})") from None
            out: List[llm.ChatChunk] = []
            for line in lines:
                out.extend(self.feed(line))
            return out
        return self.feed_object(obj)

    def feed_object(self, obj: Any) -> List[llm.ChatChunk]:
        """Chunks for one decoded chunk (or a whole non-streamed completion)."""
        if not isinstance(obj, dict):
            raise StreamProtocolError(
                f"chat stream: expected a JSON object, got {type(obj).__name__}")
        if obj.get("error"):
            err = obj["error"]
            status = _as_status(err.get("code")) if isinstance(err, dict) else None
            if status is None and isinstance(err, dict):
                status = _as_status(err.get("status"))
            raise InStreamError(error_message(err), status_code=status,
                                body=json.loads(redact(json.dumps(obj))))
        if isinstance(obj.get("id"), str) and obj["id"]:
            self._id = obj["id"]
        out: List[llm.ChatChunk] = []
        choices = obj.get("choices")
        if isinstance(choices, list):
            for choice in choices:
                # One reply is asked for; a server that sends more gets the first read.
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    out.extend(self._feed_choice(choice))
        elif choices is not None:
            raise StreamProtocolError("chat stream: 'choices' is not a list")
        usage = obj.get("usage")
        if isinstance(usage, dict):
            self.usage = _usage(usage)
            out.append(llm.ChatChunk(id=self._id, usage=self.usage))
        return out

    def end(self) -> List[llm.ChatChunk]:
        """The body ended: hand on tool calls still held; raise if it was cut short."""
        if not (self.done or self.finished):
            raise StreamProtocolError(
                "chat stream ended before a finish_reason or [DONE]")
        return self._flush_calls()

    def _feed_choice(self, choice: Dict[str, Any]) -> List[llm.ChatChunk]:
        out: List[llm.ChatChunk] = []
        # A streamed chunk has "delta"; a non-streamed completion has "message".
        delta = choice.get("delta")
        if delta is None:
            delta = choice.get("message")
        if isinstance(delta, dict):
            content = delta.get("content")
            if isinstance(content, str) and content:
                out.append(llm.ChatChunk(
                    id=self._id, delta=llm.ChoiceDelta(role="assistant", content=content)))
            tool_calls = delta.get("tool_calls")
            if isinstance(tool_calls, list):
                for position, tc in enumerate(tool_calls):
                    self._feed_tool_call(tc, position)
        reason = choice.get("finish_reason")
        if reason:
            self.finished = True
            self.finish_reason = str(reason)
            out.extend(self._flush_calls())
        return out

    def _feed_tool_call(self, tc: Any, position: int) -> None:
        if not isinstance(tc, dict):
            raise StreamProtocolError("chat stream: a tool call is not an object")
        index = tc.get("index", position)
        if not isinstance(index, int) or isinstance(index, bool):
            raise StreamProtocolError("chat stream: a tool call's index is not an integer")
        call = self._calls.setdefault(index, _PendingCall())
        if isinstance(tc.get("id"), str) and tc["id"]:
            call.call_id = tc["id"]
        fn = tc.get("function")
        if isinstance(fn, dict):
            if isinstance(fn.get("name"), str) and fn["name"]:
                # Some servers repeat the name on every delta: it names, never appends.
                call.name = fn["name"]
            args = fn.get("arguments")
            if isinstance(args, str) and args:
                call.arguments.append(args)
            elif isinstance(args, dict):  # a non-streamed reply may carry an object
                call.arguments.append(json.dumps(args))

    def _flush_calls(self) -> List[llm.ChatChunk]:
        if not self._calls:
            return []
        calls = []
        for index in sorted(self._calls):
            pending = self._calls[index]
            if not pending.name:
                raise StreamProtocolError(
                    f"chat stream: tool call {index} never named its function")
            calls.append(llm.FunctionToolCall(
                name=pending.name,
                arguments="".join(pending.arguments) or "{}",
                call_id=pending.call_id or f"call_{uuid.uuid4().hex[:12]}",
            ))
        self._calls.clear()
        return [llm.ChatChunk(id=self._id,
                              delta=llm.ChoiceDelta(role="assistant", tool_calls=calls))]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _usage(u: Dict[str, Any]) -> llm.CompletionUsage:
    details = u.get("prompt_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    prompt, completion = _int(u.get("prompt_tokens")), _int(u.get("completion_tokens"))
    total = _int(u.get("total_tokens")) or prompt + completion
    return llm.CompletionUsage(completion_tokens=completion, prompt_tokens=prompt,
                               prompt_cached_tokens=cached, total_tokens=total)
