"""The bridge's exceptions. None of their texts carries a URL or a key."""

from __future__ import annotations

from typing import Optional


class BridgeError(Exception):
    """The conversation could not be started or went on failing."""


class SignedURLRefusedError(BridgeError):
    """The service refused the API key or the signed URL (HTTP 401/403): retrying
    cannot help, so the session fails at once."""

    def __init__(self, message: str, *, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


class ConversationClosedError(BridgeError):
    """The conversation closed abnormally and no new one could be started."""

    def __init__(self, message: str, *, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code
