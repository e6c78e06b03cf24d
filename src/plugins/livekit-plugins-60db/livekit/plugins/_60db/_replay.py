"""The STT audio kept for replay after a reconnect.

Every fixed frame the stream produces goes in here before it is sent. A reconnect
rewinds to the oldest frame kept, so the new session hears the utterance in flight from
its start. A final transcript releases the audio before the end of its speech when the
server says where that is (``timestamp + duration``, checked against what was sent);
otherwise what was sent before the final arrived, except a short pre-roll: the final
left the server a round trip earlier, and the audio in between may already hold the
next utterance's first sound.
"""

from __future__ import annotations

from collections import deque
from typing import Optional


class ReplayBuffer:
    """Frames since the last final transcript, with a cursor for the ones not yet sent.

    Args:
        max_bytes: the most audio kept; beyond it the oldest frames go (counted in
            :attr:`dropped_bytes`). A reconnect then replays only the newest part.
        preroll_bytes: audio kept from before a final transcript.
    """

    def __init__(self, max_bytes: int, preroll_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        if preroll_bytes < 0:
            raise ValueError("preroll_bytes must be >= 0")
        self._max = max_bytes
        self._preroll = preroll_bytes
        self._frames: deque[bytes] = deque()
        self._bytes = 0
        self._next = 0  # index of the first frame not sent on the current connection
        self._start = 0  # stream offset of self._frames[0]
        self._base = 0  # stream offset where the current connection's audio began
        self.dropped_bytes = 0

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        return self._bytes

    @property
    def unsent(self) -> int:
        return len(self._frames) - self._next

    def push(self, frame: bytes) -> None:
        if not frame:
            return
        self._frames.append(frame)
        self._bytes += len(frame)
        while self._bytes > self._max and len(self._frames) > 1:
            self._pop_oldest(count_drop=True)

    def peek(self) -> bytes | None:
        """The next frame to send, or None."""
        return self._frames[self._next] if self._next < len(self._frames) else None

    def mark_sent(self, frame: bytes) -> None:
        """``frame`` (from :meth:`peek`) went out.

        The buffer may have changed while it was being sent (a final released older
        frames, or the cap dropped it): the cursor moves only if ``frame`` is still the
        next one.
        """
        if self._next < len(self._frames) and self._frames[self._next] is frame:
            self._next += 1

    def rewind(self) -> int:
        """A new connection: everything kept is to be sent again. Returns its bytes."""
        self._next = 0
        self._base = self._start
        return self._bytes

    @property
    def base(self) -> int:
        """Stream offset of the first byte the current connection was sent."""
        return self._base

    @property
    def start(self) -> int:
        """Stream offset (bytes) of the oldest frame kept."""
        return self._start

    @property
    def sent_end(self) -> int:
        """Stream offset just past the last frame sent on this connection."""
        return self._start + sum(len(self._frames[i]) for i in range(self._next))

    def mark_final(self, end: Optional[int] = None) -> None:
        """A final transcript arrived: release the audio it covered.

        ``end`` is the stream offset where the final's speech ended, when the server
        said so (it must lie within what this connection sent): everything before it is
        released. Without it the final is taken to cover what was sent, less the
        pre-roll. Frames not yet sent always stay.
        """
        sent_end = self.sent_end
        if end is not None and self._base <= end <= sent_end:
            limit = end  # the server's own word: nothing after it belongs to that final
        else:
            limit = sent_end - self._preroll
        while self._next > 0 and self._start + len(self._frames[0]) <= limit:
            self._pop_oldest(count_drop=False)

    def _pop_oldest(self, *, count_drop: bool) -> None:
        frame = self._frames.popleft()
        self._bytes -= len(frame)
        self._start += len(frame)
        if self._next > 0:
            self._next -= 1
        elif count_drop:
            self.dropped_bytes += len(frame)  # never sent: lost audio
