"""mix(): sample-wise saturating sum, clipped once (order of inputs irrelevant)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import audiocore


def mix_numpy(*arrays: np.ndarray) -> np.ndarray:
    return np.clip(np.sum([a.astype(np.int32) for a in arrays], axis=0),
                   -32768, 32767).astype(np.int16)


def as_i16(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype=np.int16)


@pytest.mark.parametrize("count", [1, 2, 3, 5, 17])
def test_mix_matches_numpy(count):
    rng = np.random.default_rng(count)
    # 1000 samples: not a multiple of any internal block size.
    arrays = [rng.integers(-32768, 32768, size=1000, dtype=np.int16) for _ in range(count)]
    arrays[0][:4] = [32767, -32768, 32767, -32768]
    got = audiocore.mix(*[a.tobytes() for a in arrays])
    assert type(got) is bytes
    np.testing.assert_array_equal(as_i16(got), mix_numpy(*arrays))


@pytest.mark.parametrize("order", list(itertools.permutations([30000, 30000, -30000])))
def test_mix_saturates_once_whatever_the_order(order):
    bufs = [np.full(300, v, dtype=np.int16).tobytes() for v in order]
    np.testing.assert_array_equal(as_i16(audiocore.mix(*bufs)), np.full(300, 30000))


def test_mix_saturation_both_ways():
    a = np.array([32767, -32768, 20000, -20000, 32767, 0], dtype=np.int16)
    b = np.array([1, -1, 20000, -20000, -32768, 0], dtype=np.int16)
    got = as_i16(audiocore.mix(a, b))
    np.testing.assert_array_equal(got, [32767, -32768, 32767, -32768, -1, 0])


@pytest.mark.parametrize("value,expected", [(32767, 32767), (-32768, -32768)])
def test_mix_many_full_scale_inputs_do_not_wrap(value, expected):
    # 65535 full-scale inputs sum to about +-2**31: an accumulator that is too narrow
    # (or wraps) flips the sign here.
    buf = np.full(3, value, dtype=np.int16).tobytes()
    got = as_i16(audiocore.mix(*([buf] * 65535)))
    np.testing.assert_array_equal(got, [expected] * 3)


def test_mix_many_inputs_cancel_exactly():
    # 300 inputs (more than fit one accumulator block) whose sum is small again.
    rng = np.random.default_rng(3)
    half = [rng.integers(-32767, 32768, size=700, dtype=np.int16) for _ in range(150)]
    arrays = half + [-a for a in half]
    arrays[0] = arrays[0].copy()
    arrays[0][:5] = 5
    got = as_i16(audiocore.mix(*arrays))
    np.testing.assert_array_equal(got, mix_numpy(*arrays))


def test_mix_single_buffer_is_copy():
    x = np.arange(-500, 500, dtype=np.int16)
    assert audiocore.mix(x.tobytes()) == x.tobytes()


def test_mix_empty_buffers():
    assert audiocore.mix(b"", b"", b"") == b""


@settings(max_examples=60, deadline=None, derandomize=True)
@given(data=st.data(), count=st.integers(1, 6), n=st.integers(0, 600))
def test_mix_property(data, count, n):
    arrays = [data.draw(hnp.arrays(np.int16, n)) for _ in range(count)]
    got = as_i16(audiocore.mix(*arrays))
    np.testing.assert_array_equal(got, mix_numpy(*arrays) if arrays else [])
    # Order independence on arbitrary data as well.
    assert audiocore.mix(*arrays[::-1]) == got.tobytes()


def test_mix_mixed_buffer_kinds():
    x = np.arange(0, 2000, 7, dtype=np.int16)
    kinds = [x.tobytes(), bytearray(x.tobytes()), memoryview(x.tobytes()), x]
    got = audiocore.mix(*kinds)
    np.testing.assert_array_equal(as_i16(got), mix_numpy(*([x] * 4)))


def test_mix_out():
    a = np.full(100, 20000, dtype=np.int16)
    b = np.full(100, 20000, dtype=np.int16)
    out = bytearray(b"\x77" * 204)
    assert audiocore.mix(a, b, out=out) == 200
    np.testing.assert_array_equal(as_i16(bytes(out[:200])), np.full(100, 32767))
    assert out[200:] == b"\x77" * 4


def test_mix_out_too_small():
    with pytest.raises(ValueError, match=r"\bout\b"):
        audiocore.mix(bytes(200), bytes(200), out=bytearray(199))


def test_mix_unequal_lengths_names_the_buffers():
    with pytest.raises(ValueError) as e:
        audiocore.mix(bytes(200), bytes(200), bytes(198))
    msg = str(e.value)
    assert "equal" in msg or "same length" in msg
    assert "200" in msg and "198" in msg
