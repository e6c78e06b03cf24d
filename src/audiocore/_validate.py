"""Argument checks shared by the Python front classes."""

from __future__ import annotations

from typing import Any

#: Highest sample rate accepted, in Hz.
MAX_RATE = 1_000_000
#: Most interleaved channels accepted.
MAX_CHANNELS = 64


def check_rate(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of Hz, not {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of Hz, got {value}")
    if value > MAX_RATE:
        raise ValueError(f"{name} must be at most {MAX_RATE} Hz, got {value}")
    return value


#: Largest conversion factor either way. Voice needs at most 48000/8000 = 6; far
#: beyond this libsoxr itself misbehaves (a crash at ~300000:1, hangs at ~500000:1).
MAX_RATIO = 256


def check_ratio(in_rate: int, out_rate: int) -> None:
    if max(in_rate, out_rate) > MAX_RATIO * min(in_rate, out_rate):
        raise ValueError(
            f"out_rate / in_rate must be between 1/{MAX_RATIO} and {MAX_RATIO}: "
            f"got {out_rate} / {in_rate}; convert in several steps")


def check_channels(value: Any, name: str = "channels") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= MAX_CHANNELS:
        raise ValueError(f"{name} must be between 1 and {MAX_CHANNELS}, got {value}")
    return value


def check_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {', '.join(map(repr, choices))}; "
                        f"got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_nbytes(value: Any, frame_bytes: int, name: str = "nbytes") -> int:
    """A byte count of whole frames of ``frame_bytes``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int number of bytes, not {type(value).__name__}")
    if value < 0 or value % frame_bytes:
        raise ValueError(f"{name} must be a non-negative multiple of the frame size "
                         f"({frame_bytes} bytes), got {value}")
    return value
