"""Sizing out= with max_output_bytes, quality=None, and allocation failures that
say what did not fit."""

from __future__ import annotations

import numpy as np
import pytest

import audiocore as ac
from audiocore import audioop
from dsp import speech


@pytest.mark.parametrize("engine", ["realtime", "soxr"])
def test_resampler_quality_none_means_high(engine):
    x = speech(48000, 0.2).tobytes()
    r = ac.Resampler(48000, 16000, engine=engine, quality=None)
    assert r.quality == "high"
    ref = ac.Resampler(48000, 16000, engine=engine, quality="high")
    assert r.process(x) + r.flush() == ref.process(x) + ref.flush()
    assert ac.resample(x, 48000, 8000, quality=None) == ac.resample(x, 48000, 8000)


@pytest.mark.parametrize("pair", [(48000, 16000), (8000, 16000), (44100, 16000),
                                  (16000, 48000)])
@pytest.mark.parametrize("channels", [1, 2])
def test_soxr_out_of_max_output_bytes_is_always_accepted(pair, channels):
    a, b = pair
    x = np.repeat(speech(a, 1.0), channels).tobytes()
    r = ac.Resampler(a, b, channels, engine="soxr")
    ref = ac.Resampler(a, b, channels, engine="soxr")
    frame = 2 * channels
    rng = np.random.default_rng(1)
    pos, got, expected = 0, bytearray(), bytearray()
    while pos < len(x):
        n = int(rng.integers(0, a // 25)) * frame  # 0 to 40 ms
        chunk = x[pos:pos + n]
        pos += n
        size = r.max_output_bytes(len(chunk))
        assert size % frame == 0
        if size >= frame:  # one frame less is refused: the size is the check itself
            with pytest.raises(ValueError, match="out is too small"):
                r.process(chunk, out=bytearray(size - frame))
        out = bytearray(size)
        written = r.process(chunk, out=out)
        assert written <= size
        got += out[:written]
        expected += ref.process(chunk)
    assert got == expected


@pytest.mark.parametrize("pair", [(48000, 16000), (48000, 8000), (22050, 48000)])
def test_realtime_max_output_bytes_is_the_exact_output(pair):
    a, b = pair
    x = speech(a, 0.5).tobytes()
    r = ac.Resampler(a, b)
    for i in range(0, len(x), 2 * (a // 50)):
        chunk = x[i:i + 2 * (a // 50)]
        size = r.max_output_bytes(len(chunk))
        assert len(r.process(chunk)) == size


def test_max_output_bytes_checks_its_argument():
    r = ac.Resampler(48000, 16000, 2)
    assert r.max_output_bytes(0) == 0
    with pytest.raises(ValueError, match="nbytes"):
        r.max_output_bytes(6)  # not whole frames of 4 bytes
    with pytest.raises(ValueError, match="nbytes"):
        r.max_output_bytes(-4)
    with pytest.raises(TypeError, match="nbytes"):
        r.max_output_bytes(b"")  # type: ignore[arg-type]


def test_huge_ratecv_raises_memory_error_with_a_message():
    # 65536 frames x 2**31 - 1 out / 1 in, 8 bytes a frame: about 2**50 bytes,
    # past any address space, so the allocation fails even with overcommit.
    with pytest.raises(MemoryError) as e:
        audioop.ratecv(bytes(65536 * 8), 4, 2, 1, 2**31 - 1, None)
    message = str(e.value)
    assert message.startswith("not enough memory for an output of ")
    assert int(message.split()[-2]) > 2**49  # the size that did not fit
