"""The realtime engine's kernel builds (portable, AVX2+FMA, AVX-512+FMA): each one
streams exactly as it converts in one shot, the fused builds agree bit for bit, and
the portable build stays within 1 LSB of them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import audiocore as ac
from audiocore import _realtime, resampling
from audiocore.resampling import filter_bank

BUILDS = _realtime.available_kernels()
FUSED = [b for b in BUILDS if b != "portable"]

# Every path of the kernels: aligned decimation by 3 and by 2, aligned upsampling by
# 2 and 3, two-stage decimation and upsampling (short unshifted second/first stage),
# a rational ratio with exact phases, an interpolated one.
PAIRS = [(48000, 16000), (32000, 16000), (16000, 48000), (24000, 48000),
         (48000, 8000), (8000, 48000), (44100, 16000), (8000, 44101), (16000, 12000)]


@pytest.fixture
def build():
    """Selects a build for the streams a test creates, and restores the default."""
    yield resampling.use_kernels
    resampling.use_kernels(None)


def noise(n: int, seed: int, channels: int = 1) -> bytes:
    rng = np.random.default_rng(seed)
    return rng.integers(-32768, 32768, n * channels, dtype=np.int16).tobytes()


def one_shot(a, b, x, channels=1, quality="high", **kw):
    r = ac.Resampler(a, b, channels, quality=quality, **kw)
    return r.process(x) + r.flush()


def chunked(a, b, x, sizes, channels=1, quality="high"):
    r = ac.Resampler(a, b, channels, quality=quality)
    out, pos, frame = [], 0, 2 * channels
    for n in sizes:
        out.append(r.process(x[pos:pos + n * frame]))
        pos += n * frame
    out.append(r.process(x[pos:]))
    return b"".join(out) + r.flush()


def test_builds_are_listed_fastest_first_and_portable_always_runs():
    assert BUILDS[-1] == "portable"
    assert _realtime.kernels() == BUILDS[0]
    assert set(BUILDS) <= {"avx512+fma", "avx2+fma", "portable"}
    assert ac.Resampler(16000, 48000)._native.kernels == BUILDS[0]


def test_selecting_a_build_applies_to_new_streams_only(build):
    before = ac.Resampler(48000, 16000)
    conv_before = ac.Converter(48000, 2, 8000, out_encoding="mulaw")
    build("portable")
    after = ac.Resampler(48000, 16000)
    conv_after = ac.Converter(48000, 2, 8000, out_encoding="mulaw")
    assert resampling.kernels() == "portable"
    assert after._native.kernels == "portable" and not after._native.fused
    assert conv_after._native.kernels == "portable"
    assert before._native.kernels == conv_before._native.kernels == BUILDS[0]
    build(None)
    assert resampling.kernels() == BUILDS[0]
    assert ac.Converter(16000, 1, 48000)._native.kernels == BUILDS[0]
    assert ac.Converter(16000, 1, 48000, engine="soxr")._native.kernels is None


@pytest.mark.parametrize("name", BUILDS)
def test_converter_streams_use_the_selected_build_like_resamplers(build, name):
    # Each extension module links its own copy of the kernels' selection: the
    # Converter must follow it too (same bytes as the composed Resampler).
    build(name)
    x = noise(182, 1)
    for a, b in ((8000, 11025), (48000, 16000), (8000, 48000)):
        c = ac.Converter(a, 1, b)
        assert c.process(x) + c.flush() == one_shot(a, b, x)


def test_unknown_or_unsupported_build_is_refused_by_name(build):
    with pytest.raises(ValueError, match="name='sse9'.*available: .*portable"):
        resampling.use_kernels("sse9")
    with pytest.raises(TypeError, match="name must be a str or None"):
        resampling.use_kernels(3)
    assert resampling.kernels() == BUILDS[0]  # nothing changed
    assert resampling.available_kernels() == BUILDS


@pytest.mark.parametrize("name", BUILDS)
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_each_build_streams_as_it_converts_in_one_shot(build, name, pair):
    build(name)
    a, b = pair
    x = noise(a // 4, a + b)
    want = one_shot(a, b, x)
    rng = np.random.default_rng(b)
    for sizes in ([1] * 37 + [5, 3, 17], rng.integers(1, 700, 12).tolist(), [a // 50] * 7):
        assert chunked(a, b, x, sizes) == want


@pytest.mark.parametrize("name", BUILDS)
def test_each_build_keeps_channels_independent(build, name):
    build(name)
    left = np.frombuffer(noise(9600, 1), np.int16)
    right = np.frombuffer(noise(9600, 2), np.int16)
    inter = np.stack([left, right], axis=1).reshape(-1).tobytes()
    for a, b in ((48000, 16000), (16000, 48000), (8000, 48000)):
        y = np.frombuffer(chunked(a, b, inter, [333, 1, 960, 47], channels=2), np.int16)
        y = y.reshape(-1, 2)
        assert np.array_equal(y[:, 0], np.frombuffer(one_shot(a, b, left.tobytes()), np.int16))
        assert np.array_equal(y[:, 1], np.frombuffer(one_shot(a, b, right.tobytes()), np.int16))


@pytest.mark.skipif(len(FUSED) < 2, reason="this CPU runs only one fused build")
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_fused_builds_give_identical_output(build, pair):
    a, b = pair
    x = noise(a // 2, 7)
    outs = []
    for name in FUSED:
        build(name)
        outs.append(one_shot(a, b, x))
    assert all(o == outs[0] for o in outs[1:])


@pytest.mark.skipif(not FUSED, reason="this CPU runs no fused build")
@pytest.mark.parametrize("quality", ["quick", "high", "very_high"])
@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_portable_build_is_within_one_lsb_of_fused(build, pair, quality):
    a, b = pair
    # Full-scale noise: the widest range of partial sums, and clipping at both ends.
    x = noise(a // 2, 11)
    build(FUSED[0])
    fused = np.frombuffer(one_shot(a, b, x, quality=quality), np.int16).astype(np.int32)
    build("portable")
    portable = np.frombuffer(one_shot(a, b, x, quality=quality), np.int16).astype(np.int32)
    assert fused.shape == portable.shape
    diff = np.abs(fused - portable)
    assert diff.max() <= 1
    # Rounding differences are rare, not systematic.
    assert np.count_nonzero(diff) <= len(diff) // 50


def test_work_figure_counts_every_stage_and_the_shifted_copies():
    # 48k -> 16k: one aligned stage, taps plus one block of shift per output.
    f = filter_bank(48000, 16000, "high")
    assert f.macs_per_input == pytest.approx((f.taps + 16) / 3)
    # 44.1k -> 16k keeps unshifted phases (too many to copy 16 times).
    g = filter_bank(44100, 16000, "high")
    assert g.macs_per_input == pytest.approx(g.taps * 160 / 441)
    # Two stages, 48k -> 16k -> 8k: each works at its own output rate, between a
    # sixth and a third of the input rate, so the figure lies between those shares
    # of the two stages' taps together.
    h = filter_bank(48000, 8000, "high")
    assert h.stages == 2
    assert h.taps / 6 < h.macs_per_input < h.taps / 3


def test_cpu_features_pick_the_same_build_in_a_fresh_process():
    code = "from audiocore import _realtime as r; print(r.kernels())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == BUILDS[0]


def _kernels_in_child(value):
    env = dict(__import__("os").environ, AUDIOCORE_KERNELS=value)
    code = ("import warnings, audiocore, audiocore._realtime as r; "
            "print(r.kernels(), audiocore.Resampler(48000, 16000)._native.kernels, "
            "audiocore.Converter(48000, 1, 16000)._native.kernels)")
    return subprocess.run([sys.executable, "-W", "always", "-c", code], env=env,
                          capture_output=True, text=True, check=True)


def test_environment_variable_selects_the_portable_build():
    done = _kernels_in_child("portable")
    assert done.stdout.split() == ["portable", "portable", "portable"]
    assert done.stderr == ""


def test_environment_variable_with_an_unknown_build_warns_and_keeps_the_default():
    done = _kernels_in_child("neon9")
    assert done.stdout.split() == [BUILDS[0]] * 3
    assert "AUDIOCORE_KERNELS ignored: name='neon9'" in done.stderr
    assert "RuntimeWarning" in done.stderr
