"""Bad input raises ValueError/TypeError naming the argument and the expected shape,
and no input crashes the interpreter."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audiocore
from audiocore import FrameRing, Resampler, resample

# (label, callable taking the bad PCM argument, name the message must use)
PCM_TAKERS = [
    ("ulaw_encode", lambda x: audiocore.ulaw_encode(x), "pcm"),
    ("alaw_encode", lambda x: audiocore.alaw_encode(x), "pcm"),
    ("downmix", lambda x: audiocore.downmix(x, 2), "pcm"),
    ("upmix", lambda x: audiocore.upmix(x, 2), "pcm"),
    ("mix-first", lambda x: audiocore.mix(x, b"\x00" * 8), "buffers"),
    ("mix-second", lambda x: audiocore.mix(b"\x00" * 8, x), "buffers"),
    ("Resampler.process", lambda x: Resampler(48000, 16000).process(x), "pcm"),
    ("resample", lambda x: resample(x, 48000, 16000), "pcm"),
]
BYTE_TAKERS = [
    ("ulaw_decode", lambda x: audiocore.ulaw_decode(x), "data"),
    ("alaw_decode", lambda x: audiocore.alaw_decode(x), "data"),
    ("FrameRing.write", lambda x: FrameRing(4, 64).write(x), "data"),
]
ALL_TAKERS = PCM_TAKERS + BYTE_TAKERS


def ids(table):
    return [row[0] for row in table]


def names(name: str, msg: str) -> bool:
    return re.search(rf"\b{re.escape(name)}\b", msg) is not None


def check_message(exc: BaseException, name: str, *shape_words: str) -> None:
    msg = str(exc)
    assert names(name, msg), f"message does not name {name!r}: {msg!r}"
    if shape_words:
        assert any(w.lower() in msg.lower() for w in shape_words), \
            f"message does not state the expected shape ({shape_words}): {msg!r}"


# ---- buffers ---------------------------------------------------------------------


@pytest.mark.parametrize("label,call,name", PCM_TAKERS, ids=ids(PCM_TAKERS))
@pytest.mark.parametrize("size", [1, 3, 9])
def test_odd_byte_count(label, call, name, size):
    with pytest.raises(ValueError) as e:
        call(b"\x00" * size)
    check_message(e.value, name, "16-bit", "2 bytes", "even")


@pytest.mark.parametrize("label,call,name", ALL_TAKERS, ids=ids(ALL_TAKERS))
@pytest.mark.parametrize("bad", ["abcd", 4, None, [0, 0, 0, 0], 1.5, {"a": 1}],
                         ids=lambda v: type(v).__name__)
def test_non_buffer_argument(label, call, name, bad):
    with pytest.raises(TypeError) as e:
        call(bad)
    check_message(e.value, name, "bytes", "buffer")


@pytest.mark.parametrize("label,call,name", ALL_TAKERS, ids=ids(ALL_TAKERS))
def test_non_contiguous_numpy_array(label, call, name):
    dtype = np.int16 if (label, call, name) in PCM_TAKERS else np.uint8
    strided = np.zeros(64, dtype=dtype)[::2]
    with pytest.raises((ValueError, TypeError)) as e:
        call(strided)
    check_message(e.value, name, "contiguous")


@pytest.mark.parametrize("label,call,name", PCM_TAKERS, ids=ids(PCM_TAKERS))
def test_non_contiguous_memoryview(label, call, name):
    strided = memoryview(bytes(64)).cast("h")[::2]
    with pytest.raises((ValueError, TypeError)) as e:
        call(strided)
    check_message(e.value, name, "contiguous")


@pytest.mark.parametrize("label,call,name", PCM_TAKERS, ids=ids(PCM_TAKERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint16, ">i2"],
                         ids=str)
def test_wrong_sample_type(label, call, name, dtype):
    # float32 audio is the usual mistake; big-endian int16 would be misread silently.
    arr = np.zeros(8, dtype=dtype)
    with pytest.raises(TypeError) as e:
        call(arr)
    check_message(e.value, name, "int16", "16-bit")


@pytest.mark.parametrize("label,call,name", BYTE_TAKERS[:2], ids=ids(BYTE_TAKERS[:2]))
def test_codes_must_be_bytes(label, call, name):
    with pytest.raises(TypeError) as e:
        call(np.zeros(8, dtype=np.float32))
    check_message(e.value, name, "bytes", "8-bit")


# ---- channels ----------------------------------------------------------------------

CHANNEL_TAKERS = [
    ("downmix", lambda ch: audiocore.downmix(b"\x00" * 24, ch)),
    ("upmix", lambda ch: audiocore.upmix(b"\x00" * 24, ch)),
    ("Resampler", lambda ch: Resampler(48000, 16000, ch)),
    ("resample", lambda ch: resample(b"\x00" * 24, 48000, 16000, ch)),
]


@pytest.mark.parametrize("label,call", CHANNEL_TAKERS, ids=ids(CHANNEL_TAKERS))
@pytest.mark.parametrize("channels", [0, -1, -2**40])
def test_channels_below_one(label, call, channels):
    with pytest.raises(ValueError) as e:
        call(channels)
    check_message(e.value, "channels")


@pytest.mark.parametrize("label,call", CHANNEL_TAKERS, ids=ids(CHANNEL_TAKERS))
@pytest.mark.parametrize("channels", [2.0, "2", None, True])
def test_channels_wrong_type(label, call, channels):
    with pytest.raises(TypeError) as e:
        call(channels)
    check_message(e.value, "channels", "int")


@pytest.mark.parametrize("channels,nbytes", [(2, 6), (3, 8), (3, 10), (4, 12), (8, 30)])
def test_length_not_divisible_by_channels(channels, nbytes):
    calls = [
        lambda: audiocore.downmix(b"\x00" * nbytes, channels),
        lambda: Resampler(16000, 8000, channels).process(b"\x00" * nbytes),
        lambda: resample(b"\x00" * nbytes, 16000, 8000, channels),
    ]
    for call in calls:
        with pytest.raises(ValueError) as e:
            call()
        check_message(e.value, "pcm", str(channels))


# ---- rates, quality, engine ---------------------------------------------------------


@pytest.mark.parametrize("in_rate,out_rate,bad", [
    (0, 16000, "in_rate"), (-48000, 16000, "in_rate"), (-1, 16000, "in_rate"),
    (48000, 0, "out_rate"), (48000, -16000, "out_rate"),
])
def test_rates_not_positive(in_rate, out_rate, bad):
    for call in (lambda: Resampler(in_rate, out_rate),
                 lambda: resample(b"\x00" * 4, in_rate, out_rate)):
        with pytest.raises(ValueError) as e:
            call()
        check_message(e.value, bad, "positive", "> 0", ">0")


@pytest.mark.parametrize("rate", [16000.0, "16000", None, float("nan")], ids=repr)
def test_rate_wrong_type(rate):
    with pytest.raises(TypeError) as e:
        Resampler(rate, 8000)
    check_message(e.value, "in_rate")


@pytest.mark.parametrize("quality", ["ultra", "HQ", "", "High", "very-high"])
def test_unknown_quality(quality):
    for call in (lambda: Resampler(48000, 16000, quality=quality),
                 lambda: resample(b"\x00" * 4, 48000, 16000, quality=quality)):
        with pytest.raises(ValueError) as e:
            call()
        check_message(e.value, "quality")
        for valid in ("quick", "low", "medium", "high", "very_high"):
            assert valid in str(e.value)


def test_quality_wrong_type():
    with pytest.raises(TypeError) as e:
        Resampler(48000, 16000, quality=3)
    check_message(e.value, "quality")


@pytest.mark.parametrize("engine", ["speex", "SOXR", "", "libsoxr"])
def test_unknown_engine(engine):
    with pytest.raises(ValueError) as e:
        Resampler(48000, 16000, engine=engine)
    check_message(e.value, "engine", "soxr")


# ---- mix ----------------------------------------------------------------------------


@pytest.mark.parametrize("lengths", [(4, 6), (8, 8, 6), (0, 2), (10, 8, 10)])
def test_mix_unequal_lengths(lengths):
    with pytest.raises(ValueError) as e:
        audiocore.mix(*[b"\x00" * n for n in lengths])
    check_message(e.value, "buffers", "equal", "same length")


def test_mix_needs_a_buffer():
    with pytest.raises(TypeError):
        audiocore.mix()


# ---- out= -----------------------------------------------------------------------------

OUT_TAKERS = [
    ("ulaw_encode", lambda out: audiocore.ulaw_encode(b"\x00" * 16, out=out)),
    ("ulaw_decode", lambda out: audiocore.ulaw_decode(b"\x00" * 8, out=out)),
    ("downmix", lambda out: audiocore.downmix(b"\x00" * 32, 2, out=out)),
    ("upmix", lambda out: audiocore.upmix(b"\x00" * 4, 4, out=out)),
    ("mix", lambda out: audiocore.mix(b"\x00" * 16, b"\x00" * 16, out=out)),
    ("Resampler.process",
     lambda out: Resampler(8000, 16000).process(b"\x01\x00" * 4000, out=out)),
]


@pytest.mark.parametrize("label,call", OUT_TAKERS, ids=ids(OUT_TAKERS))
@pytest.mark.parametrize("bad", ["text", 5, [0] * 64, bytes(100000)],
                         ids=["str", "int", "list", "read-only"])
def test_out_not_a_writable_buffer(label, call, bad):
    with pytest.raises(TypeError) as e:
        call(bad)
    check_message(e.value, "out")


@pytest.mark.parametrize("label,call", OUT_TAKERS, ids=ids(OUT_TAKERS))
def test_out_read_only_numpy(label, call):
    ro = np.zeros(100000, dtype=np.uint8)
    ro.flags.writeable = False
    with pytest.raises((TypeError, ValueError)) as e:
        call(ro)
    check_message(e.value, "out")


@pytest.mark.parametrize("label,call", OUT_TAKERS, ids=ids(OUT_TAKERS))
def test_out_non_contiguous(label, call):
    strided = np.zeros(200000, dtype=np.uint8)[::2]
    with pytest.raises((TypeError, ValueError)) as e:
        call(strided)
    check_message(e.value, "out", "contiguous")
    assert not strided.any()


# ---- FrameRing -----------------------------------------------------------------------


@pytest.mark.parametrize("args,kwargs,name,exc", [
    ((0, 10), {}, "frame_bytes", ValueError),
    ((-4, 10), {}, "frame_bytes", ValueError),
    ((4, 0), {}, "capacity_bytes", ValueError),
    ((8, 4), {}, "capacity_bytes", ValueError),
    ((4.0, 16), {}, "frame_bytes", TypeError),
    (("4", 16), {}, "frame_bytes", TypeError),
    ((4, None), {}, "capacity_bytes", TypeError),
    ((4, 16), {"overflow": "block"}, "overflow", ValueError),
    ((4, 16), {"overflow": "drop_newest"}, "overflow", ValueError),
])
def test_frame_ring_constructor(args, kwargs, name, exc):
    with pytest.raises(exc) as e:
        FrameRing(*args, **kwargs)
    check_message(e.value, name)


@pytest.mark.parametrize("fill,exc", [(256, ValueError), (-1, ValueError),
                                      (2**70, ValueError), ("x", TypeError),
                                      (None, TypeError)], ids=repr)
def test_read_partial_bad_fill(fill, exc):
    r = FrameRing(4, 16)
    r.write(b"ab")
    with pytest.raises(exc) as e:
        r.read_partial(fill=fill)
    check_message(e.value, "fill")
    assert r.available == 2  # nothing consumed by a rejected call


def test_failed_write_leaves_ring_intact():
    r = FrameRing(4, 16)
    r.write(b"abcd")
    for bad in ("xx", None, np.zeros(4, np.float32)):
        with pytest.raises((TypeError, ValueError)):
            r.write(bad)
    assert r.read() == b"abcd"


def test_failed_process_leaves_stream_intact():
    x = np.arange(0, 16000, 3, dtype=np.int16).tobytes()[:9600]
    one_shot = Resampler(48000, 16000)
    expected = one_shot.process(x) + one_shot.flush()
    r = Resampler(48000, 16000)
    out = r.process(x[:4800])
    for bad in (b"\x00" * 3, "xx", np.zeros(4, np.float32)):
        with pytest.raises((TypeError, ValueError)):
            r.process(bad)
    out += r.process(x[4800:]) + r.flush()
    assert out == expected


# ---- nothing crashes --------------------------------------------------------------------


def run_isolated(code: str, timeout: float) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter: a crash there is a test failure, not the end
    of the test session."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=timeout)


def assert_no_crash(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode >= 0, (
        f"interpreter killed by signal {-proc.returncode}\nstdout: {proc.stdout}\n"
        f"stderr: {proc.stderr[-2000:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("in_rate,out_rate,quality", [
    (3, 1_000_000, "quick"),
    (2, 700_000, "quick"),
    (1, 400_000, "quick"),
])
def test_extreme_upsampling_ratio_does_not_crash(in_rate, out_rate, quality):
    # Rates are each within the accepted 1..1_000_000 Hz, so this must either
    # resample or raise ValueError; it must not take the interpreter down.
    proc = run_isolated(f"""
        import audiocore
        try:
            out = audiocore.resample(b"\\x00\\x10" * 2, {in_rate}, {out_rate}, quality={quality!r})
            print("ok", len(out))
        except ValueError as e:
            print("ValueError", e)
    """, timeout=60)
    assert_no_crash(proc)


def test_extreme_ratio_returns_promptly():
    # One input sample at 1 Hz -> 1 MHz is one second of output; it must come back
    # (or be refused) in seconds, not hang inside the C call with no way to interrupt.
    try:
        proc = run_isolated("""
            import audiocore
            try:
                print(len(audiocore.resample(b"\\x00\\x10", 1, 1_000_000)))
            except ValueError as e:
                print("ValueError", e)
        """, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("resample(1 sample, 1 Hz -> 1000000 Hz) did not return within 10 s")
    assert_no_crash(proc)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    func=st.sampled_from(["ulaw_encode", "alaw_encode", "ulaw_decode", "alaw_decode",
                          "downmix", "upmix", "mix"]),
    nbytes=st.integers(0, 300),
    channels=st.integers(-3, 70),
    out_size=st.one_of(st.none(), st.integers(0, 20000)),
    count=st.integers(1, 4),
)
def test_fuzz_kernels_never_crash(func, nbytes, channels, out_size, count):
    data = bytes(range(256)) * 2
    pcm = data[:nbytes]
    out = None if out_size is None else bytearray(out_size)
    kw = {} if out is None else {"out": out}
    f = getattr(audiocore, func)
    try:
        if func in ("downmix", "upmix"):
            res = f(pcm, channels, **kw)
        elif func == "mix":
            res = f(*([pcm] * count), **kw)
        else:
            res = f(pcm, **kw)
    except (ValueError, TypeError):
        return
    if out is None:
        assert type(res) is bytes
    else:
        assert type(res) is int and 0 <= res <= len(out)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    in_rate=st.sampled_from([8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 7, 50]),
    out_rate=st.sampled_from([8000, 16000, 24000, 44100, 48000, 3, 1000]),
    channels=st.integers(1, 4),
    quality=st.sampled_from(["quick", "low", "medium", "high", "very_high"]),
    chunks=st.lists(st.integers(1, 700), min_size=1, max_size=6),
)
def test_fuzz_resampler_never_crashes(in_rate, out_rate, channels, quality, chunks):
    try:
        r = Resampler(in_rate, out_rate, channels, quality=quality)
    except ValueError as e:
        # Refusing an extreme ratio up front is fine, if the message says why.
        assert "rate" in str(e)
        return
    total = 0
    for n in chunks:
        y = r.process(bytes(2 * channels * n))
        assert len(y) % (2 * channels) == 0
        total += len(y)
        assert r.delay >= 0
    total += len(r.flush())
    frames_in = sum(chunks)
    # soxr compensates its delay; realtime (the default) flushes its group delay as
    # a tail, rounded up to whole input samples (at most two more), so its output
    # is that much longer.
    ratio = out_rate / in_rate
    tail = r.delay * out_rate if r.engine == "realtime" else 0.0
    assert abs(total // (2 * channels) - frames_in * ratio - tail) <= 1.5 + 2 * ratio
