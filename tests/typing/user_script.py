"""A user's script over the whole public API: type-checked with mypy --strict by
tests/test_typing.py, and run, so that the types it asserts are the ones the
calls return."""

from __future__ import annotations

import array
import asyncio
import importlib
import sys
from typing import TYPE_CHECKING, Any, Optional, TypeVar

import numpy as np

import audiocore
import audiocore as ac
from audiocore import audioop

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:
    T = TypeVar("T")

    def assert_type(value: T, typ: object) -> T:
        return value


def check(value: object, typ: type) -> None:
    """The run-time half of assert_type."""
    assert isinstance(value, typ), (type(value), typ)


pcm = bytes(1920)
arr = np.zeros(960, np.int16)
buf = bytearray(4096)
view = memoryview(bytearray(4096))
out_arr = np.zeros(2048, np.int16)

# Kernels: bytes without out=, the byte count with it; any buffer in and out.
for data in (pcm, bytearray(pcm), memoryview(pcm), arr, array.array("h", bytes(1920))):
    encoded = ac.ulaw_encode(data)
    assert_type(encoded, bytes)
    check(encoded, bytes)
n = ac.ulaw_encode(arr, out=buf)
assert_type(n, int)
check(n, int)
check(ac.alaw_encode(pcm, out=view), int)
check(assert_type(ac.ulaw_decode(encoded), bytes), bytes)
check(assert_type(ac.alaw_decode(encoded, out=out_arr), int), int)
check(assert_type(ac.downmix(arr, 2), bytes), bytes)
check(assert_type(ac.upmix(pcm, 2, out=bytearray(8000)), int), int)
check(assert_type(ac.mix(pcm, arr, bytearray(pcm)), bytes), bytes)
check(assert_type(ac.mix(pcm, pcm, out=buf), int), int)

# Streaming resampler, both engines, with and without out=.
r = ac.Resampler(48000, 16000, quality=None)
sent = bytearray()
for frame in (pcm, arr, memoryview(pcm)):
    sent += r.process(frame)
sent += r.flush()
s = ac.Resampler(48000, 16000, 2, engine="soxr", quality="very_high")
room = bytearray(s.max_output_bytes(len(pcm)))
written = s.process(pcm, out=room)
assert_type(written, int)
check(written, int)
delay: float = r.delay + s.delay
check(assert_type(ac.resample(arr, 48000, 8000), bytes), bytes)

# The fused chain.
c = ac.Converter(48000, 2, 8000, out_encoding="mulaw")
payload = c.process(arr)
assert_type(payload, bytes)
check(payload, bytes)
size = c.max_output_bytes(arr.nbytes)
got = c.process(arr, out=np.zeros(size, np.uint8))
assert_type(got, int)
check(got, int)
check(assert_type(c.flush(), bytes), bytes)

# The ring and the pacer.
ring = ac.FrameRing(640, 6400, overflow="drop_oldest")
ring.write(arr)
frame_or_none = ring.read()
assert_type(frame_or_none, Optional[bytes])
check(ring.read_partial(), bytes)


async def pace() -> list[bytes]:
    pacer = ac.FramePacer(16000, frame_ms=20, encoding="pcm16")
    pacer.push(arr)
    pacer.end()
    frames = []
    async for f in pacer:
        assert_type(f, bytes)
        frames.append(f)
    return frames


check(asyncio.run(pace())[0], bytes)

# audioop, as a module attribute and through install().
state: Any = None
converted, state = audiocore.audioop.ratecv(arr, 2, 1, 48000, 16000, state)
check(assert_type(converted, bytes), bytes)
check(assert_type(audioop.rms(pcm, 2), int), int)
module = audiocore.audioop.install()
# From here on `import audioop` gives audiocore.audioop (spelt through importlib:
# type checkers know no stdlib audioop on 3.13).
assert importlib.import_module("audioop") is module is audiocore.audioop
audiocore.audioop.uninstall()
print("ok", sys.version_info[:2])
