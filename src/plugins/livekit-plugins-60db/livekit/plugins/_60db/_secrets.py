"""Keeping API keys out of logs, exception texts and reprs.

Every key the plugin resolves is registered here; ``redact`` replaces each occurrence,
and ``RedactingFilter`` applies it to log records of the libraries that log URLs
(websockets and httpx log the request line, which carries ``?apiKey=`` for the
WebSocket services).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Set

_lock = threading.Lock()
_secrets: Set[str] = set()
_pattern: "re.Pattern[str] | None" = None

# Query parameters that carry credentials, redacted even when the value is not known.
_QUERY_SECRET = re.compile(r"(?i)\b(apiKey|api_key|token|key|signature)=([^&\s'\"]+)")

MASK = "***"

# Loggers that print request URLs or headers. A filter on a logger applies only to
# records created on that very logger, so each is named.
_NOISY_LOGGERS = (
    "websockets", "websockets.client", "websockets.protocol", "websockets.server",
    "httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
    "livekit.agents", "livekit.plugins._60db",
)


def register_secret(value: str) -> None:
    global _pattern
    if len(value) < 4:  # too short to mask without mangling ordinary text
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        _pattern = re.compile("|".join(re.escape(s) for s in
                                       sorted(_secrets, key=len, reverse=True)))
        _install_filters()


def redact(text: str) -> str:
    """``text`` with every registered secret and credential query value masked."""
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)


class RedactingFilter(logging.Filter):
    """Renders the record's message once, redacted, and drops its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logger's problem, not ours
            return True
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


_filter = RedactingFilter()


def _install_filters() -> None:
    for name in _NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)


def safe_repr(obj: Any) -> str:
    return redact(repr(obj))
