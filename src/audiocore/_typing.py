"""Type aliases for arguments, and the names they allow."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Literal, Protocol

if sys.version_info >= (3, 12):
    from collections.abc import Buffer as Buffer
elif TYPE_CHECKING:
    # The same protocol (PEP 688) for type checkers on older Pythons: typeshed gives
    # bytes, bytearray, memoryview, array and mmap a __buffer__ on every version.
    # numpy's stubs give ndarray one only from 3.12 on, so arrays are named too.
    from typing import Any, Union

    import numpy
    from typing_extensions import Buffer as _Buffer

    Buffer = Union[_Buffer, numpy.ndarray[Any, Any]]
else:
    class Buffer(Protocol):
        """Anything that supports the buffer protocol (PEP 688 spelling)."""

        def __buffer__(self, flags: int, /) -> memoryview: ...

#: An ``out=`` argument. Type checkers cannot tell a writable buffer from a
#: read-only one (typeshed's WriteableBuffer is Buffer too): passing ``bytes`` is
#: refused at run time with a TypeError naming ``out``.
WritableBuffer = Buffer

#: "pcm16": signed 16-bit little-endian; "mulaw", "alaw": G.711, a byte per sample.
Encoding = Literal["pcm16", "mulaw", "alaw"]
ENCODINGS: tuple[str, ...] = ("pcm16", "mulaw", "alaw")
