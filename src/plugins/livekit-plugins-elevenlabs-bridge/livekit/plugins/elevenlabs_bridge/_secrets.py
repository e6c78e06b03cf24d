"""Keeping the API key and signed URLs out of logs, exception texts and reprs.

A signed URL carries a ``conversation_signature`` that lets anyone start a conversation
on the account's agent, so it is a secret as much as the API key. Every value the
bridge handles is registered here; :func:`redact` masks each occurrence, and
:class:`RedactingFilter` is installed on the loggers that print request URLs
(aiohttp's client and websocket loggers, livekit's).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Set

_lock = threading.Lock()
_secrets: Set[str] = set()
_pattern: "re.Pattern[str] | None" = None

# Query parameters that carry credentials, masked even when the value was never
# registered (a URL seen only in a library's log line).
_QUERY_SECRET = re.compile(
    r"(?i)\b(conversation_signature|signature|token|api_key|xi-api-key|key)=([^&\s'\"]+)")

MASK = "***"

_LOGGERS = (
    "aiohttp", "aiohttp.client", "aiohttp.websocket", "aiohttp.access",
    "aiohttp.internal", "aiohttp.server", "livekit", "livekit.agents",
    "livekit.plugins.elevenlabs_bridge",
)


def register_secret(value: str) -> None:
    """Mask ``value`` (and, for a URL, its query string) from now on."""
    global _pattern
    if not isinstance(value, str) or len(value) < 4:
        return
    values = {value}
    if "?" in value:
        values.add(value.split("?", 1)[1])
    with _lock:
        if values <= _secrets:
            return
        _secrets.update(values)
        _pattern = re.compile("|".join(re.escape(s) for s in
                                       sorted(_secrets, key=len, reverse=True)))
    install_filters()


def redact(text: str) -> str:
    """``text`` with every registered secret and credential query value masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)


def url_host(url: str) -> str:
    """The scheme and host of a URL, the only part of a signed URL safe to show."""
    head, sep, rest = url.partition("://")
    if not sep:
        return "<url>"
    return f"{head}://{rest.split('/', 1)[0].split('?', 1)[0]}"


class RedactingFilter(logging.Filter):
    """Renders a record's message once, redacted, and drops its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the caller's bug, not a leak
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = str(exc)
            if redact(text) != text:
                # The traceback would print the exception text: keep only its type.
                record.exc_info = None
                record.exc_text = None
                record.msg = f"{record.msg} ({type(exc).__name__}, details withheld)"
        return True


_filter = RedactingFilter()


def install_filters() -> None:
    """Put the redacting filter on every logger that may print a URL or header."""
    for name in _LOGGERS:
        log = logging.getLogger(name)
        if _filter not in log.filters:
            log.addFilter(_filter)
