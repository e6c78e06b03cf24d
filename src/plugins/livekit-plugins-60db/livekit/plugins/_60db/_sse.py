"""Server-sent events, decoded incrementally and without I/O.

The HTML living standard's event-stream rules, reduced to what a chat-completions
stream uses: ``data:`` fields (several lines join with ``\\n``), comments (``:``) and
the blank line that ends an event. Bytes may arrive split anywhere, including inside
a UTF-8 sequence or between the ``\\r`` and ``\\n`` of a line break.
"""

from __future__ import annotations

import codecs
from typing import List


class SSEDecoder:
    """Feed bytes as they arrive; get back the ``data`` of every completed event."""

    __slots__ = ("_text", "_line", "_data", "_after_cr")

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line: List[str] = []
        self._data: List[str] = []
        self._after_cr = False  # a "\r" ended the last chunk: a "\n" next is the same break

    def feed(self, chunk: bytes) -> List[str]:
        """The data of each event that ``chunk`` completes, in order."""
        if not isinstance(chunk, (bytes, bytearray, memoryview)):
            raise TypeError(f"chunk must be bytes, not {type(chunk).__name__}")
        return self._scan(self._text.decode(bytes(chunk)))

    def close(self) -> List[str]:
        """End of stream: an event left without its closing blank line still counts.

        The standard drops such an event; servers that end the body right after the
        last ``data:`` line are common enough that a client should not lose it.
        """
        events = self._scan(self._text.decode(b"", final=True))
        if self._line:
            self._field("".join(self._line))
            self._line.clear()
        if self._data:
            events.append("\n".join(self._data))
            self._data.clear()
        return events

    def _scan(self, text: str) -> List[str]:
        events: List[str] = []
        start = 0
        i = 0
        n = len(text)
        if self._after_cr and n:
            self._after_cr = False
            if text[0] == "\n":
                start = i = 1
        while i < n:
            c = text[i]
            if c == "\r" or c == "\n":
                self._line.append(text[start:i])
                line = "".join(self._line)
                self._line.clear()
                if c == "\r":
                    if i + 1 < n:
                        if text[i + 1] == "\n":
                            i += 1
                    else:
                        self._after_cr = True
                if line:
                    self._field(line)
                elif self._data:
                    events.append("\n".join(self._data))
                    self._data.clear()
                start = i + 1
            i += 1
        if start < n:
            self._line.append(text[start:])
        return events

    def _field(self, line: str) -> None:
        if line.startswith(":"):
            return  # a comment (keep-alive)
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        # "event", "id" and "retry" carry nothing a chat-completions client needs.
