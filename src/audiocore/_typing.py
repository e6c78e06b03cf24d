"""Type aliases for arguments, and the names they allow."""

from __future__ import annotations

import sys
from typing import Literal, Union

if sys.version_info >= (3, 12):
    from collections.abc import Buffer as Buffer
else:
    # Before PEP 688 there is no way to spell "supports the buffer protocol".
    Buffer = Union[bytes, bytearray, memoryview]

WritableBuffer = Union[bytearray, memoryview]

#: "pcm16": signed 16-bit little-endian; "mulaw", "alaw": G.711, a byte per sample.
Encoding = Literal["pcm16", "mulaw", "alaw"]
ENCODINGS: tuple[str, ...] = ("pcm16", "mulaw", "alaw")
