"""Faults the emulator injects, as a client sees them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Optional, Sequence, Tuple, Union

# Server messages a robust client survives: not JSON, not an object, fields missing,
# audio that is not base64, a type nobody knows, a binary frame.
MALFORMED: Tuple[Union[str, bytes], ...] = (
    "{not json",
    "[1, 2, 3]",
    '{"type": "audio"}',
    '{"type": "audio", "audio_event": {"audio_base_64": "***", "event_id": 1}}',
    '{"type": "ping", "ping_event": {}}',
    '{"type": "interruption", "interruption_event": {"event_id": "x"}}',
    '{"type": "no_such_event", "no_such_event": {}}',
    b"\x00\x01binary",
)


@dataclass
class Faults:
    """What goes wrong. The emulator reads these at the moment they matter, so a test
    may change them between (or during) conversations through ``emu.faults``.

    Signed URLs:
        refuse_signed_url: every ``get-signed-url`` answers this HTTP status (401,
            403, 429, 500 …) with an error body, whatever the key.
        refuse_signed_url_times: with ``refuse_signed_url``, refuse only this many
            requests, then serve normally.
        refuse_connection: the conversation WebSocket's upgrade is answered with
            this HTTP status instead.

    Conversations (only those whose 1-based index is in ``conversations``, when set):
        drop_after_audio: after this many ``audio`` events, the TCP connection is
            aborted (no close frame: the client sees an abnormal closure, 1006).
        drop_after_seconds: the same, this long after the metadata was sent.
        stall_after_pings: after this many pings the service goes quiet: no pings,
            audio or replies; the socket stays open and keeps reading.
        stale_audio: after each interruption, one more ``audio`` event of the
            interrupted reply (its older ``event_id``) is sent.
        malformed: messages sent as they are right after the metadata (see
            :data:`MALFORMED`).
        close_after_metadata: ``(code, reason)``: close right after the metadata.
    """

    refuse_signed_url: Optional[int] = None
    refuse_signed_url_times: Optional[int] = None
    refuse_connection: Optional[int] = None
    drop_after_audio: Optional[int] = None
    drop_after_seconds: Optional[float] = None
    stall_after_pings: Optional[int] = None
    stale_audio: bool = False
    malformed: Sequence[Union[str, bytes]] = ()
    close_after_metadata: Optional[Tuple[int, str]] = None
    conversations: Optional[Collection[int]] = None

    def applies_to(self, index: int) -> bool:
        """Whether the conversation faults apply to conversation ``index`` (1-based)."""
        return self.conversations is None or index in self.conversations
