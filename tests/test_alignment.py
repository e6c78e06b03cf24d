"""Buffers that start at an odd address: int16 kernels must neither read nor write
samples there directly (undefined behaviour in C, a fault on strict-alignment CPUs;
UBSan in .ci/sanitize aborts on it). Results equal those of aligned buffers."""

from __future__ import annotations

import numpy as np
import pytest

import audiocore
from audiocore import Converter, Resampler


def odd(data: bytes) -> memoryview:
    """A read-only view of `data` that starts at an odd address."""
    base = bytearray(len(data) + 1)
    base[1:] = data
    view = memoryview(base)[1:]
    assert np.frombuffer(view, np.uint8).ctypes.data % 2 == 1
    return view


def odd_out(n: int) -> memoryview:
    """A writable `out=` view of `n` bytes at an odd address."""
    return memoryview(bytearray(n + 1))[1:]


@pytest.fixture
def pcm() -> bytes:
    # Over NOGIL_MIN_BYTES so the no-GIL branch runs too.
    return np.random.default_rng(3).integers(-32768, 32768, 6000, dtype=np.int16).tobytes()


@pytest.mark.parametrize("fn", [audiocore.ulaw_encode, audiocore.alaw_encode])
def test_encode_from_odd_address(fn, pcm):
    assert fn(odd(pcm)) == fn(pcm)


@pytest.mark.parametrize("fn", [audiocore.ulaw_decode, audiocore.alaw_decode])
def test_decode_into_odd_address(fn, pcm):
    out = odd_out(2 * len(pcm))
    assert fn(pcm, out=out) == 2 * len(pcm)
    assert bytes(out) == fn(pcm)


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_downmix_odd_in_and_out(channels, pcm):
    data = pcm[: len(pcm) // (2 * channels) * 2 * channels]
    want = audiocore.downmix(data, channels)
    assert audiocore.downmix(odd(data), channels) == want
    out = odd_out(len(want))
    assert audiocore.downmix(odd(data), channels, out=out) == len(want)
    assert bytes(out) == want


@pytest.mark.parametrize("channels", [2, 5])
def test_upmix_odd_in_and_out(channels, pcm):
    want = audiocore.upmix(pcm, channels)
    assert audiocore.upmix(odd(pcm), channels) == want
    out = odd_out(len(want))
    assert audiocore.upmix(odd(pcm), channels, out=out) == len(want)
    assert bytes(out) == want


def test_mix_odd_in_and_out(pcm):
    other = pcm[::-1][: len(pcm)]
    want = audiocore.mix(pcm, other)
    assert audiocore.mix(odd(pcm), other) == want
    out = odd_out(len(want))
    assert audiocore.mix(pcm, odd(other), out=out) == len(want)
    assert bytes(out) == want


@pytest.mark.parametrize("engine", ["realtime", "soxr"])
def test_resampler_odd_in_and_out(engine, pcm):
    a = Resampler(16000, 8000, engine=engine)
    b = Resampler(16000, 8000, engine=engine)
    want = a.process(pcm) + a.flush()
    out = odd_out(len(pcm))
    n = b.process(odd(pcm), out=out)
    assert bytes(out[:n]) + b.flush() == want


@pytest.mark.parametrize("out_encoding", ["pcm16", "mulaw"])
def test_converter_odd_in_and_out(out_encoding, pcm):
    a = Converter(16000, 2, 8000, 1, out_encoding=out_encoding)
    b = Converter(16000, 2, 8000, 1, out_encoding=out_encoding)
    want = a.process(pcm)
    out = odd_out(len(pcm))
    n = b.process(odd(pcm), out=out)
    assert bytes(out[:n]) == want
