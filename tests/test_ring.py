"""FrameRing against a collections.deque model (hypothesis state machine), plus the
documented edge cases."""

from __future__ import annotations

import array
from collections import deque

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from audiocore import FrameRing


class RingModel:
    """Byte-exact model of the documented FrameRing behaviour."""

    def __init__(self, frame: int, capacity: int, overflow: str):
        self.frame = frame
        self.capacity = capacity
        self.overflow = overflow
        self.buf: deque[int] = deque()
        self.dropped = 0

    def write(self, data: bytes) -> int:
        total = len(self.buf) + len(data)
        if total > self.capacity:
            if self.overflow == "error":
                raise OverflowError
            # Drop the fewest whole frames from the front of (buffered + new) that
            # make the rest fit; if that is more than is buffered, the front of the
            # new data goes too.
            excess = total - self.capacity
            drop = min(-(-excess // self.frame) * self.frame, total)
            self.buf.extend(data)
            for _ in range(drop):
                self.buf.popleft()
            self.dropped += drop
        else:
            self.buf.extend(data)
        return len(data)

    def read(self) -> bytes | None:
        if len(self.buf) < self.frame:
            return None
        return bytes(self.buf.popleft() for _ in range(self.frame))

    def read_partial(self, fill: int) -> bytes:
        if not self.buf:
            return b""
        n = min(self.frame, len(self.buf))
        got = bytes(self.buf.popleft() for _ in range(n))
        return got + bytes([fill]) * (self.frame - n)

    def clear(self) -> int:
        n = len(self.buf)
        self.buf.clear()
        return n


class FrameRingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.ring: FrameRing | None = None
        self.model: RingModel | None = None
        self.counter = 0

    @initialize(frame=st.integers(1, 12), extra=st.integers(0, 40),
                overflow=st.sampled_from(["error", "drop_oldest"]))
    def setup(self, frame, extra, overflow):
        capacity = frame + extra  # not always a multiple of the frame
        self.ring = FrameRing(frame, capacity, overflow=overflow)
        self.model = RingModel(frame, capacity, overflow)

    def _payload(self, n: int) -> bytes:
        # Consecutive counter bytes, so any loss, duplication or reordering shows.
        out = bytes((self.counter + i) % 251 for i in range(n))
        self.counter += n
        return out

    @rule(n=st.integers(0, 60), kind=st.sampled_from(["bytes", "bytearray", "numpy"]))
    def write(self, n, kind):
        data = self._payload(n)
        arg = {"bytes": data, "bytearray": bytearray(data),
               "numpy": np.frombuffer(data, dtype=np.uint8)}[kind]
        try:
            expected = self.model.write(data)
        except OverflowError:
            before = self.ring.available
            with pytest.raises(OverflowError):
                self.ring.write(arg)
            assert self.ring.available == before
        else:
            assert self.ring.write(arg) == expected

    @rule()
    def read(self):
        assert self.ring.read() == self.model.read()

    @rule(fill=st.sampled_from([0, 0xFF, 0xD5, 7]))
    def read_partial(self, fill):
        expected = self.model.read_partial(fill)
        got = self.ring.read_partial(fill=fill) if fill else self.ring.read_partial()
        assert type(got) is bytes
        assert got == expected

    @rule()
    def clear(self):
        assert self.ring.clear() == self.model.clear()

    @invariant()
    def counters_agree(self):
        if self.ring is None:
            return
        assert self.ring.available == len(self.model.buf)
        assert len(self.ring) == len(self.model.buf)
        assert self.ring.dropped == self.model.dropped
        assert 0 <= self.ring.available <= self.model.capacity


# derandomize: the same examples on every run, so a verdict never depends on luck;
# hypothesis' shrinking still turns a failure into a minimal sequence of calls.
FrameRingMachine.TestCase.settings = settings(max_examples=100, stateful_step_count=40,
                                              deadline=None, derandomize=True)
TestFrameRingAgainstModel = FrameRingMachine.TestCase


# ---- targeted cases ------------------------------------------------------------------


def test_basic_frames_and_partial():
    r = FrameRing(4, 16)
    assert r.write(b"abcdefghij") == 10
    assert len(r) == r.available == 10
    assert r.read() == b"abcd"
    assert r.read() == b"efgh"
    assert r.read() is None
    assert r.available == 2
    assert r.read_partial() == b"ij\x00\x00"
    assert r.read_partial() == b""
    assert r.read() is None


def test_read_partial_fill_values():
    r = FrameRing(5, 10)
    r.write(b"\x01")
    assert r.read_partial(fill=0xFF) == b"\x01\xFF\xFF\xFF\xFF"
    r.write(b"\x01\x02")
    assert r.read_partial(fill=0xD5) == b"\x01\x02\xD5\xD5\xD5"
    r.write(b"12345678")
    assert r.read_partial(fill=0xAA) == b"12345"  # a whole frame needs no fill
    assert r.read_partial(fill=0xAA) == b"678\xAA\xAA"


def test_overflow_error_writes_nothing_and_loses_nothing():
    r = FrameRing(4, 10)
    assert r.write(b"0123456") == 7
    with pytest.raises(OverflowError):
        r.write(b"ABCD")
    assert r.available == 7
    assert r.dropped == 0
    assert r.write(b"789") == 3  # exactly fills
    with pytest.raises(OverflowError):
        r.write(b"X")
    assert r.read() == b"0123"
    assert r.read() == b"4567"
    assert r.read_partial() == b"89\x00\x00"


def test_overflow_error_larger_than_capacity():
    r = FrameRing(2, 8)
    with pytest.raises(OverflowError):
        r.write(bytes(9))
    assert r.available == 0
    assert r.write(b"") == 0


def test_drop_oldest_drops_whole_frames():
    r = FrameRing(4, 12, overflow="drop_oldest")
    r.write(b"AAAABBBBCCCC")
    assert r.write(b"DD") == 2
    # Two bytes over: the oldest whole frame goes, frame boundaries stay put.
    assert r.dropped == 4
    assert r.available == 10
    assert r.read() == b"BBBB"
    assert r.read() == b"CCCC"
    assert r.read_partial(fill=0x2E) == b"DD.."


def test_drop_oldest_write_larger_than_capacity_keeps_newest():
    r = FrameRing(4, 10, overflow="drop_oldest")
    r.write(b"xy")
    data = bytes(range(30))
    assert r.write(data) == 30
    # 32 bytes in the stream, 22 too many: 24 (six frames) are dropped.
    assert r.dropped == 24
    assert r.available == 8
    assert r.read() == bytes(range(22, 26))
    assert r.read() == bytes(range(26, 30))
    assert r.read() is None


def test_clear_returns_bytes_dropped_and_keeps_dropped_counter():
    r = FrameRing(3, 9, overflow="drop_oldest")
    r.write(b"123456789")
    r.write(b"ab")  # drops one frame
    assert r.dropped == 3
    assert r.clear() == 8
    assert r.available == 0 and len(r) == 0
    assert r.clear() == 0
    assert r.read() is None and r.read_partial() == b""
    r.write(b"xyz")
    assert r.read() == b"xyz"


def test_wraparound_many_cycles():
    r = FrameRing(7, 23)
    sent = bytearray()
    got = bytearray()
    rng = np.random.default_rng(0)
    counter = 0
    for _ in range(2000):
        n = int(rng.integers(0, 12))
        if r.available + n <= 23:
            chunk = bytes((counter + i) % 256 for i in range(n))
            counter += n
            r.write(chunk)
            sent += chunk
        frame = r.read()
        if frame is not None:
            got += frame
    while (frame := r.read()) is not None:
        got += frame
    tail = r.read_partial()
    got += tail[: len(sent) - len(got)]
    assert got == sent


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "numpy-uint8",
                                  "numpy-int16", "array-h"])
def test_write_accepts_every_buffer_kind(kind):
    # The ring carries 16-bit PCM frames (pacing for AudioSource), so int16 arrays
    # are its everyday input, as for every other audiocore function.
    pcm = np.arange(-8, 8, dtype=np.int16)
    raw = pcm.tobytes()
    src = {
        "bytes": lambda: raw,
        "bytearray": lambda: bytearray(raw),
        "memoryview": lambda: memoryview(raw),
        "numpy-uint8": lambda: np.frombuffer(raw, dtype=np.uint8),
        "numpy-int16": lambda: pcm,
        "array-h": lambda: array.array("h", raw),
    }[kind]()
    r = FrameRing(8, 64)
    assert r.write(src) == len(raw)
    assert b"".join(iter(r.read, None)) == raw


def test_large_frames_round_trip():
    # Frames above the no-GIL threshold take the other code path in read().
    frame = 20_000
    r = FrameRing(frame, 3 * frame + 5)
    data = np.random.default_rng(1).integers(0, 256, 3 * frame + 5, dtype=np.uint8).tobytes()
    assert r.write(data) == len(data)
    assert r.read() == data[:frame]
    assert r.read() == data[frame:2 * frame]
    assert r.read() == data[2 * frame:3 * frame]
    assert r.read() is None
    assert r.read_partial() == data[3 * frame:] + bytes(frame - 5)


def test_properties():
    r = FrameRing(160, 3200, overflow="drop_oldest")
    assert r.frame_bytes == 160
    assert r.capacity_bytes == 3200
    assert r.overflow == "drop_oldest"
    assert FrameRing(1, 1).overflow == "error"
    assert r.dropped == 0
