"""downmix / upmix against audioop (2 channels) and numpy one-liners (any count)."""

from __future__ import annotations

import array

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import audioop as ref

import audiocore

EXTREMES = np.array([-32768, 32767, -32768, -32768, 32767, 32767, -1, 0, 1, -32767],
                    dtype=np.int16)


def random_pcm(n: int, seed: int) -> np.ndarray:
    """Uniform int16 samples with the extremes planted at the start, the end and in
    runs, so that every channel position sees -32768 and 32767 together."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-32768, 32768, size=n, dtype=np.int16)
    x[:len(EXTREMES)] = EXTREMES
    x[-len(EXTREMES):] = EXTREMES[::-1]
    for start in rng.integers(0, max(1, n - 64), size=8):
        x[start:start + 64] = rng.choice([-32768, 32767], size=min(64, n - start))
    return x


def downmix_numpy(frames: np.ndarray) -> np.ndarray:
    """Floor of the channel mean; frames has shape (n, channels)."""
    return np.floor_divide(frames.astype(np.int64).sum(axis=1), frames.shape[1]).astype(np.int16)


def as_i16(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype=np.int16)


# ---- downmix ----------------------------------------------------------------------


def test_downmix_stereo_matches_audioop_tomono():
    pcm = random_pcm(200_000, seed=1).tobytes()
    assert audiocore.downmix(pcm, 2) == ref.tomono(pcm, 2, 0.5, 0.5)


def test_downmix_stereo_every_pair_of_extremes():
    vals = np.array([-32768, -32767, -2, -1, 0, 1, 2, 32766, 32767], dtype=np.int16)
    left, right = np.meshgrid(vals, vals)
    pcm = np.stack([left.ravel(), right.ravel()], axis=1).tobytes()
    assert audiocore.downmix(pcm, 2) == ref.tomono(pcm, 2, 0.5, 0.5)


@pytest.mark.parametrize("channels", range(1, 9))
def test_downmix_matches_floor_of_mean(channels):
    n = 6000 * channels
    x = random_pcm(n, seed=channels)
    got = as_i16(audiocore.downmix(x.tobytes(), channels))
    np.testing.assert_array_equal(got, downmix_numpy(x.reshape(-1, channels)))


@pytest.mark.parametrize("channels", [3, 5, 7, 16, 63, 64])
def test_downmix_all_min_all_max_and_negative_rounding(channels):
    frames = np.array([
        [-32768] * channels,
        [32767] * channels,
        [-1] + [0] * (channels - 1),          # mean -1/ch: floors to -1, not 0
        [1] + [0] * (channels - 1),           # mean 1/ch: floors to 0
        [-32768] + [32767] * (channels - 1),
        [32767] + [-32768] * (channels - 1),
    ], dtype=np.int16)
    got = as_i16(audiocore.downmix(frames.tobytes(), channels))
    np.testing.assert_array_equal(got, downmix_numpy(frames))
    assert got[2] == -1 and got[3] == 0


@settings(max_examples=100, deadline=None, derandomize=True)
@given(channels=st.integers(1, 12), data=st.data())
def test_downmix_property(channels, data):
    frames = data.draw(hnp.arrays(np.int16, st.tuples(st.integers(0, 40), st.just(channels))))
    got = as_i16(audiocore.downmix(frames.tobytes(), channels))
    np.testing.assert_array_equal(got, downmix_numpy(frames))


def test_downmix_mono_is_copy():
    x = random_pcm(1001, seed=3).tobytes()
    got = audiocore.downmix(x, 1)
    assert type(got) is bytes and got == x


@pytest.mark.parametrize("channels", [1, 2, 3, 8])
def test_downmix_empty(channels):
    assert audiocore.downmix(b"", channels) == b""


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "numpy", "numpy-2d", "array"])
def test_downmix_buffer_kinds(kind):
    x = random_pcm(3000, seed=4)
    expected = ref.tomono(x.tobytes(), 2, 0.5, 0.5)
    src = {
        "bytearray": lambda: bytearray(x.tobytes()),
        "memoryview": lambda: memoryview(x.tobytes()),
        "numpy": lambda: x,
        "numpy-2d": lambda: x.reshape(-1, 2),
        "array": lambda: array.array("h", x.tobytes()),
    }[kind]()
    got = audiocore.downmix(src, 2)
    assert type(got) is bytes and got == expected


def test_downmix_out():
    x = random_pcm(4 * 1000, seed=5)
    out = np.full(1000 + 4, 0x1234, dtype=np.int16)
    n = audiocore.downmix(x.tobytes(), 4, out=out)
    assert n == 2000
    np.testing.assert_array_equal(out[:1000], downmix_numpy(x.reshape(-1, 4)))
    assert (out[1000:] == 0x1234).all()


def test_downmix_out_too_small():
    out = bytearray(1999)
    with pytest.raises(ValueError, match=r"\bout\b"):
        audiocore.downmix(bytes(8000), 4, out=out)


# ---- upmix -------------------------------------------------------------------------


def test_upmix_stereo_matches_audioop_tostereo():
    x = random_pcm(100_001, seed=6).tobytes()
    assert audiocore.upmix(x, 2) == ref.tostereo(x, 2, 1, 1)


@pytest.mark.parametrize("channels", range(1, 9))
def test_upmix_matches_numpy_repeat(channels):
    x = random_pcm(5003, seed=10 + channels)
    got = as_i16(audiocore.upmix(x.tobytes(), channels))
    np.testing.assert_array_equal(got, np.repeat(x, channels))


@pytest.mark.parametrize("channels", [1, 2, 3, 6, 64])
def test_downmix_undoes_upmix(channels):
    x = random_pcm(2000, seed=20)
    assert audiocore.downmix(audiocore.upmix(x.tobytes(), channels), channels) == x.tobytes()


@pytest.mark.parametrize("kind", ["bytearray", "memoryview", "numpy", "array"])
def test_upmix_buffer_kinds(kind):
    x = random_pcm(777, seed=7)
    src = {
        "bytearray": lambda: bytearray(x.tobytes()),
        "memoryview": lambda: memoryview(x.tobytes()),
        "numpy": lambda: x,
        "array": lambda: array.array("h", x.tobytes()),
    }[kind]()
    got = audiocore.upmix(src, 3)
    assert type(got) is bytes and got == np.repeat(x, 3).tobytes()


def test_upmix_out():
    x = random_pcm(500, seed=8)
    out = bytearray(b"\xEE" * (500 * 2 * 5 + 3))
    assert audiocore.upmix(x.tobytes(), 5, out=out) == 5000
    assert bytes(out[:5000]) == np.repeat(x, 5).tobytes()
    assert out[5000:] == b"\xEE" * 3


def test_upmix_out_too_small():
    with pytest.raises(ValueError, match=r"\bout\b"):
        audiocore.upmix(bytes(1000), 2, out=bytearray(1999))


def test_upmix_empty():
    assert audiocore.upmix(b"", 4) == b""
