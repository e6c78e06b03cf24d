"""Opening a 60db WebSocket: the key goes into the query string, errors become livekit's.

``websockets`` logs the request line (``GET /ws/stt?apiKey=...``) at DEBUG: every
connection gets a logger that redacts before anything is formatted, on top of the
filters that ``_secrets`` installs on the library's own loggers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping, MutableMapping, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from livekit.agents import APIConnectionError, APITimeoutError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from ._errors import _60dbStatusError
from ._secrets import redact

# Audio and TTS chunks are small; a reply larger than this is a protocol fault.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


class _RedactingAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """Formats each record itself, redacted, so no handler ever sees the raw arguments."""

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        try:
            text = str(msg) % args if args else str(msg)
        except Exception:  # a malformed format is not worth losing the record over
            text = f"{msg} {args!r}"
        kwargs.pop("stacklevel", None)
        self.logger.log(level, "%s", redact(text), stacklevel=2, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs


ws_logger = _RedactingAdapter(logging.getLogger("websockets.client"), {})


def url_with_key(base: str, api_key: str) -> str:
    """``base`` with ``apiKey=KEY`` in its query (any ``apiKey`` already there is replaced)."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "apiKey"]
    query.append(("apiKey", api_key))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _retry_after(headers: Optional[Mapping[str, str]]) -> Optional[float]:
    if not headers:
        return None
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


async def open_socket(url: str, *, timeout: float, service: str) -> ClientConnection:
    """Connect to ``url`` (which carries the key) within ``timeout`` seconds.

    Raises ``APITimeoutError`` on timeout, ``_60dbStatusError`` when the server answers
    the upgrade with an HTTP status, ``APIConnectionError`` for anything else.
    """
    try:
        return await connect(url, open_timeout=timeout, max_size=MAX_MESSAGE_BYTES,
                             logger=ws_logger, compression=None, close_timeout=1.0)
    except InvalidStatus as e:
        response = e.response
        status = response.status_code
        body = None
        try:
            body = redact(response.body.decode("utf-8", "replace")) if response.body else None
        except Exception:
            body = None
        raise _60dbStatusError(
            f"60db {service}: the server refused the WebSocket with HTTP {status}"
            + (f" ({body[:200]})" if body else ""),
            status_code=status, body=body,
            retry_after=_retry_after(dict(response.headers.raw_items()))) from e
    except InvalidURI:
        # its text holds the URL, key included: do not chain it
        raise APIConnectionError(f"60db {service}: invalid URL {redact(url)}",
                                 retryable=False) from None
    except (asyncio.TimeoutError, TimeoutError) as e:
        raise APITimeoutError(f"60db {service}: no WebSocket within {timeout:g} s") from e
    except (OSError, InvalidHandshake) as e:
        raise APIConnectionError(
            f"60db {service}: could not connect ({type(e).__name__}: {redact(str(e))})") from e
