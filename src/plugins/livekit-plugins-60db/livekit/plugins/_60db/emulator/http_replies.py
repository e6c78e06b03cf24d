"""HTTP error replies as the service gives them (JSON body, rate-limit headers)."""

from __future__ import annotations

import json
import time
from typing import Dict, Optional, Tuple

from .faults import Fault, default_reason

_TYPES: Dict[int, Tuple[str, str]] = {
    400: ("invalid_request_error", "bad_request"),
    401: ("authentication_error", "invalid_api_key"),
    402: ("insufficient_credits", "INSUFFICIENT_CREDITS"),
    404: ("not_found_error", "not_found"),
    415: ("invalid_request_error", "unsupported_media_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", "internal_error"),
    503: ("server_error", "service_unavailable"),
}
_TEXT: Dict[int, str] = {
    400: "Bad request", 401: "Invalid or missing API key",
    402: "Insufficient credits", 404: "Not found", 429: "Rate limit exceeded",
    500: "Internal server error", 503: "Service unavailable",
}


def error_body(status: int, message: Optional[str] = None) -> bytes:
    """An error body both OpenAI-style readers (``error.message``) and the 60db SDK
    (``message``) understand."""
    kind, code = _TYPES.get(status, ("api_error", str(status)))
    text = message or _TEXT.get(status, "Error")
    return json.dumps({"success": False, "message": text,
                       "error": {"message": text, "type": kind, "code": code}}).encode()


def error_headers(status: int, retry_after: float = 1.0) -> Dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if status == 429:
        seconds = max(0, int(round(retry_after)))
        headers.update({
            "Retry-After": str(seconds),
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(int(time.time()) + seconds),
        })
    return headers


def fault_status(fault: Fault) -> Optional[int]:
    """The HTTP status a fault answers a request with, or ``None`` if it is not one
    that refuses the request outright."""
    if fault.kind == "credits":
        return 402
    if fault.kind == "refuse":
        return fault.status or 503
    if fault.kind == "status":
        return fault.status or 500
    return None


def fault_reason(fault: Fault, status: int) -> str:
    if fault.reason:
        return fault.reason
    if fault.kind == "credits":
        return default_reason(fault)
    return _TEXT.get(status, "Error")
