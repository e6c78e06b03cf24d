"""The emulator's "model": deterministic, scriptable chat completions, and their wire
form (OpenAI chat-completions JSON and SSE chunks), without I/O.

Tests and the demo queue replies on ``emu.llm`` (a :class:`ScriptedModel`)::

    emu.llm.queue_reply("Sure, it is sunny.")
    emu.llm.queue_tool_call("get_weather", {"city": "Paris"})
    emu.llm.queue(Reply(content="", tool_calls=[ToolCall("a", {}), ToolCall("b", {})]))

Each request takes the next queued reply. With the queue empty it follows
:meth:`ScriptedModel.rules`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Deque, Dict, Iterator, List, Optional, Union

MODEL = "60db-tiny"


@dataclass
class ToolCall:
    """A call of tool ``name``; ``arguments`` is a dict (JSON-encoded on the wire) or an
    already encoded string (sent as is, even if it is not valid JSON)."""

    name: str
    arguments: Union[Dict[str, Any], str] = field(default_factory=dict)
    id: Optional[str] = None

    def arguments_json(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments, separators=(", ", ": "))


@dataclass
class Reply:
    """One assistant turn: ``content`` and/or ``tool_calls``."""

    content: str = ""
    tool_calls: List[ToolCall] = field(default_factory=list)

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(p.get("text", "") for p in content
                        if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _tools(body: Dict[str, Any]) -> List[Dict[str, Any]]:
    out = []
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            out.append(fn)
    return out


_PREPOSITIONS = {"in", "at", "for", "to", "from", "of", "near", "about", "on"}


def _name_words(name: str) -> List[str]:
    """The words of a tool name (snake_case or camelCase), lower case."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ")
    return [w.lower() for w in spaced.split() if w]


def _names_tool(name: str, text: str) -> bool:
    lowered = text.lower()
    if name.lower() in lowered or " ".join(_name_words(name)) in lowered:
        return True
    # A word of the name of four letters or more ("weather" in get_weather): short
    # ones such as "get" or "set" would match almost any request.
    said = set(re.findall(r"[a-z0-9']+", lowered))
    return any(len(w) >= 4 and w in said for w in _name_words(name))


def _argument_for(schema: Dict[str, Any], words: List[str], numbers: List[str]) -> Any:
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "integer":
        return int(float(numbers[0])) if numbers else 0
    if kind == "number":
        return float(numbers[0]) if numbers else 0.0
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    if not words:
        return ""
    # "weather in Paris", "a table for Anna": the word after the last preposition,
    # else the last word.
    for i in range(len(words) - 2, -1, -1):
        if words[i].lower() in _PREPOSITIONS:
            return words[i + 1]
    return words[-1]


class ScriptedModel:
    """Queued replies first; then rules. Safe to use from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: Deque[Reply] = deque()

    def queue(self, reply: Reply) -> None:
        """Queue a reply for the next request."""
        if not isinstance(reply, Reply):
            raise TypeError(f"queue: expected a Reply, not {type(reply).__name__}")
        with self._lock:
            self._queue.append(reply)

    def queue_reply(self, content: str) -> None:
        """Queue a plain text answer."""
        self.queue(Reply(content=content))

    def queue_tool_call(self, name: str, arguments: Union[Dict[str, Any], str, None] = None,
                        content: str = "") -> None:
        """Queue a turn that calls tool ``name`` (the next request after it usually
        carries the tool's result and gets the following queued reply or the rules)."""
        self.queue(Reply(content=content, tool_calls=[ToolCall(name, arguments or {})]))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def respond(self, body: Dict[str, Any]) -> Reply:
        """The reply for a request body."""
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.rules(body)

    @staticmethod
    def rules(body: Dict[str, Any]) -> Reply:
        """The default answer:

        1. If the last message is a tool result (``role: "tool"``): "The result is:
           <its content>." (no second full stop when the content ends a sentence).
        2. Else, if tools are offered and the last user message names one (its name,
           the name with ``_`` or camelCase read as spaces, or one of its words of four
           letters or more, case-insensitive: "weather" names ``get_weather``): a call
           of the first such tool, arguments filled from its JSON schema: strings get
           the word after the message's last preposition ("in Paris"), else its last
           word, leaving out the words of the tool's name; numbers the first number in
           it, booleans ``true``, enums their first value.
        3. Else, a message from the user: "You said: <it>." (a greeting gets "Hello!
           How can I help you today?").
        4. Else (no user message): "Hello! How can I help you today?".
        """
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        if messages and messages[-1].get("role") == "tool":
            result = _text_of(messages[-1].get("content")).strip()
            end = "" if result.endswith((".", "!", "?")) else "."
            return Reply(content=f"The result is: {result}{end}")
        user = next((_text_of(m.get("content")) for m in reversed(messages)
                     if m.get("role") == "user"), None)
        if user is None and isinstance(body.get("text"), str):
            return Reply(content=body["text"].strip())  # the SDK's text-correction mode
        if user is None:
            return Reply(content="Hello! How can I help you today?")
        for fn in _tools(body):
            name = fn["name"]
            if _names_tool(name, user):
                name_words = set(_name_words(name))
                words = [w for w in re.findall(r"[A-Za-z][\w'-]*", user)
                         if w.lower() not in name_words]
                numbers = re.findall(r"-?\d+(?:\.\d+)?", user)
                params = fn.get("parameters") or {}
                props = params.get("properties") or {}
                args = {k: _argument_for(v if isinstance(v, dict) else {}, words, numbers)
                        for k, v in props.items()}
                return Reply(tool_calls=[ToolCall(name, args)])
        stripped = user.strip().rstrip(".!?")
        if stripped.lower() in ("hi", "hello", "hey", "good morning", "good evening"):
            return Reply(content="Hello! How can I help you today?")
        return Reply(content=f"You said: {stripped}.")


def _tokens(text: str) -> int:
    return max(1, len(text) // 4) if text else 0


def usage(body: Dict[str, Any], reply: Reply) -> Dict[str, int]:
    prompt = sum(_tokens(_text_of(m.get("content"))) + 3
                 for m in body.get("messages") or [] if isinstance(m, dict))
    completion = _tokens(reply.content) + sum(
        _tokens(c.name) + _tokens(c.arguments_json()) for c in reply.tool_calls)
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _call_ids(reply: Reply, request_no: int) -> List[str]:
    return [c.id or f"call_{request_no:04d}_{i}" for i, c in enumerate(reply.tool_calls)]


def completion(body: Dict[str, Any], reply: Reply, request_no: int) -> Dict[str, Any]:
    """The non-streaming response object."""
    message: Dict[str, Any] = {"role": "assistant", "content": reply.content or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function",
             "function": {"name": c.name, "arguments": c.arguments_json()}}
            for cid, c in zip(_call_ids(reply, request_no), reply.tool_calls)]
    return {
        "id": f"chatcmpl-emu{request_no:06d}", "object": "chat.completion",
        "created": int(time.time()), "model": body.get("model") or MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason,
                     "logprobs": None}],
        "usage": usage(body, reply),
    }


def _pieces(text: str, n: int) -> List[str]:
    """``text`` cut into about ``n`` pieces (at least one per non-empty text)."""
    if not text:
        return []
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


def stream_chunks(body: Dict[str, Any], reply: Reply, request_no: int) -> Iterator[Dict[str, Any]]:
    """The SSE payloads of a streamed response, without the final ``[DONE]``.

    First a chunk without ``choices`` (``chat_id``, as the service sends), then the
    role, the content word by word, each tool call (its id and name, then the
    arguments in three or more pieces, by ``index``), a chunk with ``finish_reason``
    and last one with ``usage`` and empty ``choices``.
    """
    cid = f"chatcmpl-emu{request_no:06d}"
    created = int(time.time())
    model = body.get("model") or MODEL

    def chunk(delta: Dict[str, Any], finish: Optional[str] = None) -> Dict[str, Any]:
        return {"id": cid, "object": "chat.completion.chunk", "created": created,
                "model": model, "choices": [{"index": 0, "delta": delta,
                                             "finish_reason": finish, "logprobs": None}]}

    yield {"chat_id": f"chat_{request_no:06d}", "object": "chat.metadata"}
    yield chunk({"role": "assistant", "content": ""})
    for word in re.findall(r"\S+\s*|\s+", reply.content):
        yield chunk({"content": word})
    for index, (call_id, call) in enumerate(zip(_call_ids(reply, request_no),
                                                 reply.tool_calls)):
        yield chunk({"tool_calls": [{"index": index, "id": call_id, "type": "function",
                                     "function": {"name": call.name, "arguments": ""}}]})
        for piece in _pieces(call.arguments_json(), 3):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, reply.finish_reason)
    yield {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
           "choices": [], "usage": usage(body, reply)}
