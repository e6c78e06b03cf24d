"""The emulated agent's script: what it says, when it calls a client tool, when it ends."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import (TYPE_CHECKING, Any, Awaitable, Callable, Dict, Optional, Sequence,
                    Union)

if TYPE_CHECKING:
    from ._records import ConversationRecord


@dataclass(frozen=True)
class ToolCall:
    """A ``client_tool_call`` the agent makes before it speaks; it waits ``timeout``
    seconds for the client's ``client_tool_result``."""

    name: str
    parameters: Dict[str, Any] = field(default_factory=dict)
    timeout: float = 10.0


@dataclass(frozen=True)
class Say:
    """One agent turn.

    ``text`` is spoken (``{result}`` in it becomes the tool's result, when there is a
    ``tool_call``). With ``close``, the conversation ends with that close code once
    the reply has been played out (1000 is a normal end).
    """

    text: str
    tool_call: Optional[ToolCall] = None
    close: Optional[int] = None
    close_reason: str = ""


@dataclass(frozen=True)
class UserTurn:
    """What the brain is asked to answer: a transcript (``source="speech"``) or a
    ``user_message`` (``source="text"``)."""

    text: str
    index: int  # 0-based, per conversation
    event_id: int
    source: str
    record: "ConversationRecord"


Answer = Union[str, Say, None]
Script = Union[Sequence[Union[str, Say]], Callable[[UserTurn], Union[Answer, Awaitable[Answer]]]]


class Brain:
    """The agent's script, shared by every conversation of an emulator.

    Args:
        script: ``None`` echoes every turn ("You said: …"); a sequence answers the
            n-th user turn of each conversation with its n-th entry and stays silent
            after the last; a callable (sync or async) gets a :class:`UserTurn` and
            returns a ``str``, a :class:`Say` or ``None`` (no reply).
        first_message: what the agent says as soon as the conversation starts.
    """

    def __init__(self, script: Optional[Script] = None, *,
                 first_message: Union[str, Say, None] = None) -> None:
        if script is not None and not callable(script):
            if isinstance(script, (str, bytes)) or not isinstance(script, Sequence):
                raise TypeError("script must be a sequence of str/Say or a callable")
            for item in script:
                if not isinstance(item, (str, Say)):
                    raise TypeError(f"script entries must be str or Say, not "
                                    f"{type(item).__name__}")
        if first_message is not None and not isinstance(first_message, (str, Say)):
            raise TypeError("first_message must be a str or Say")
        self._script = script
        self.first_message: Optional[Say] = _as_say(first_message)

    async def respond(self, turn: UserTurn) -> Optional[Say]:
        """The reply to ``turn`` (``None``: the agent stays silent)."""
        script = self._script
        if script is None:
            return Say(f"You said: {turn.text}")
        if callable(script):
            answer = script(turn)
            if inspect.isawaitable(answer):
                answer = await answer
            return _as_say(answer)  # type: ignore[arg-type]
        return _as_say(script[turn.index]) if turn.index < len(script) else None


def _as_say(answer: Answer) -> Optional[Say]:
    if answer is None or isinstance(answer, Say):
        return answer
    if isinstance(answer, str):
        return Say(answer)
    raise TypeError(f"a brain answers with str, Say or None, not {type(answer).__name__}")
