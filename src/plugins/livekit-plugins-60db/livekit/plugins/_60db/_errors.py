"""The error that is both livekit's ``APIStatusError`` and the seed's ``APIConnectionError``."""

from __future__ import annotations

from typing import Optional

from livekit.agents import APIConnectionError, APIError, APIStatusError

from ._secrets import redact


class _60dbStatusError(APIStatusError, APIConnectionError):
    """An HTTP or handshake status failure.

    The 60db documentation tells users to ``except APIConnectionError`` for HTTP errors,
    while livekit's convention carries ``status_code`` on ``APIStatusError``: this class
    is both. Retry follows livekit's rule (4xx are final except 408/429/499), and
    ``retry_after`` carries a 429's ``Retry-After`` in seconds.
    """

    def __init__(self, message: str, *, status_code: int, request_id: Optional[str] = None,
                 body: object = None, retryable: Optional[bool] = None,
                 retry_after: Optional[float] = None) -> None:
        if retryable is None:
            retryable = not (400 <= status_code < 500 and status_code not in (408, 429, 499))
        # APIStatusError.__init__ would hand body= on to APIConnectionError.__init__
        # (next in this MRO), which takes none: initialise the shared base directly.
        APIError.__init__(self, redact(message), body=body, retryable=retryable)
        self.status_code = status_code
        self.request_id = request_id
        self.retry_after = retry_after

    __str__ = APIStatusError.__str__
    __repr__ = APIStatusError.__repr__
