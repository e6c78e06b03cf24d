"""audiocore.audioop against CPython's audioop (stdlib <= 3.12, audioop-lts on 3.13).

Every comparison covers the whole outcome: the value (floats bit for bit, NaN
included) or the exception's type and message.
"""

from __future__ import annotations

import array
import inspect
import math
import os
import pickle
import platform
import random
import sys
import threading

import pytest
from reference import audioop as ref

from audiocore import audioop as ours

WIDTHS = (1, 2, 3, 4)
BUFFER_TYPES = ("bytes", "bytearray", "memoryview")
FUNCTIONS = sorted(
    name for name in dir(ref) if not name.startswith("_") and callable(getattr(ref, name))
    and name != "error"
)
VOICE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000)
FACTORS = (0.0, -0.0, 1.0, -1.0, 0.5, 0.7071, 2.0, -3.5, 1e-300, 1e300, -1e300,
           math.inf, -math.inf, math.nan, 3, True)


# ---- outcome comparison ----------------------------------------------------------------

def _norm(value):
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else value.hex())
    if isinstance(value, tuple):
        return tuple(_norm(v) for v in value)
    return (type(value).__name__, value)


def outcome(module, name, *args, **kwargs):
    try:
        return ("ok", _norm(getattr(module, name)(*args, **kwargs)))
    except Exception as e:
        kind = "audioop.error" if isinstance(e, module.error) else type(e).__qualname__
        # The only message that names the module: "audioop.max() takes no keyword
        # arguments" (audioop._audioop.max() with audioop-lts).
        msg = str(e).replace("audiocore.audioop.", "").replace("audioop._audioop.", "")
        msg = msg.replace("audioop.", "")
        return ("err", kind, msg)


def check(name, *args, **kwargs):
    expected = outcome(ref, name, *args, **kwargs)
    got = outcome(ours, name, *args, **kwargs)
    assert got == expected, f"{name}{_short(args)}"
    return expected


def _short(args):
    return "(" + ", ".join(
        f"<{type(a).__name__} {len(a)}>" if isinstance(a, (bytes, bytearray, memoryview))
        else repr(a) for a in args) + ")"


def as_type(data: bytes, kind: str):
    if kind == "bytes":
        return bytes(data)
    if kind == "bytearray":
        return bytearray(data)
    return memoryview(data)


# ---- ratecv with hand-made states ----------------------------------------------------
#
# A state with d >= 0 makes audioop emit frames before it reads any input, into a
# buffer sized without them: CPython writes past its output (even into the shared
# empty bytes object). Those calls must not reach the reference; they are checked
# against this model of audioop's arithmetic instead, which is itself checked
# against the reference wherever the reference is safe.

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")


def _c_int(x: float) -> int:
    """(int)x as the C compiler computes it on this machine."""
    if -2147483649.0 < x < 2147483648.0:
        return int(x)
    if _X86:
        return -2**31
    return 0 if x != x else (2**31 - 1 if x > 0 else -2**31)


def ratecv_model(frag, width, nch, inrate, outrate, state, wa=1, wb=0):
    g = math.gcd(inrate, outrate)
    inrate, outrate = inrate // g, outrate // g
    g = math.gcd(wa, wb)
    wa, wb = wa // g, wb // g
    if state is None:
        d, prev, cur = -outrate, [0] * nch, [0] * nch
    else:
        d, pairs = state
        prev, cur = [p for p, _ in pairs], [c for _, c in pairs]
    shift = 32 - 8 * width
    ins = [int.from_bytes(frag[i:i + width], sys.byteorder, signed=True) << shift
           for i in range(0, len(frag), width)]
    out = []
    pos = 0
    while True:
        while d < 0:
            if pos == len(ins):
                return (b"".join(v.to_bytes(width, sys.byteorder, signed=True) for v in out),
                        (d, tuple(zip(prev, cur))))
            for c in range(nch):
                prev[c] = cur[c]
                cur[c] = _c_int((float(wa) * ins[pos] + float(wb) * prev[c]) / (float(wa) + float(wb)))
                pos += 1
            d += outrate
        while d >= 0:
            for c in range(nch):
                y = (float(prev[c]) * float(d) + float(cur[c]) * float(outrate - d)) / float(outrate)
                out.append(_c_int(y) >> shift)
            d -= inrate


def _ratecv_frames_out(frag, width, nch, inrate, outrate, state, wa=1, wb=0):
    """(frames audioop emits, frames its buffer holds) for valid arguments with a
    hand-made state, else None."""
    try:
        d = state[0]
        valid = (isinstance(d, int) and -2**31 <= d < 2**31 and width in WIDTHS and nch >= 1
                 and inrate > 0 and outrate > 0 and wa >= 1 and wb >= 0
                 and len(frag) % (width * nch) == 0)
    except (TypeError, IndexError):
        return None
    if not valid:
        return None
    g = math.gcd(inrate, outrate)
    inrate, outrate = inrate // g, outrate // g
    frames = len(frag) // (width * nch)
    emitted = max(0, (d + frames * outrate) // inrate + 1)
    room = 0 if frames == 0 else (1 + (frames - 1) // inrate) * outrate
    return emitted, room


MODEL_MAX_FRAMES = 20_000  # the Python model is slow; bigger cases use the reference only


def check_ratecv(*args):
    counts = _ratecv_frames_out(*args)
    if counts is not None and counts[0] > counts[1]:
        # The reference would overrun its buffer: the model is the only oracle.
        if counts[0] > MODEL_MAX_FRAMES:
            return None
        expected = ("ok", _norm(ratecv_model(*args)))
        got = outcome(ours, "ratecv", *args)
        assert got == expected, f"ratecv{_short(args)}"
        return expected
    expected = check("ratecv", *args)
    if expected[0] == "ok" and counts is not None and counts[0] <= MODEL_MAX_FRAMES:
        assert ("ok", _norm(ratecv_model(*args))) == expected, f"model: ratecv{_short(args)}"
    return expected


# ---- signals ------------------------------------------------------------------------

def lo_hi(width):
    return -(1 << (8 * width - 1)), (1 << (8 * width - 1)) - 1


def pack(samples, width):
    return b"".join(int(s).to_bytes(width, sys.byteorder, signed=True) for s in samples) \
        if width == 3 else array.array({1: "b", 2: "h", 4: "i"}[width], samples).tobytes()


def random_samples(rng, width, n):
    lo, hi = lo_hi(width)
    kind = rng.randrange(5)
    if kind == 0:      # white, full scale
        return [rng.randint(lo, hi) for _ in range(n)]
    if kind == 1:      # the extremes and their neighbours
        pool = (lo, lo + 1, -1, 0, 1, hi - 1, hi)
        return [rng.choice(pool) for _ in range(n)]
    if kind == 2:      # voiced: harmonics plus a little noise
        f0 = rng.uniform(80, 300) / 8000
        amp = rng.uniform(0.05, 0.9) * hi
        return [max(lo, min(hi, int(amp * (0.6 * math.sin(2 * math.pi * f0 * i)
                                        + 0.3 * math.sin(4 * math.pi * f0 * i + 1)
                                        + 0.1 * math.sin(6 * math.pi * f0 * i + 2))
                                 + rng.gauss(0, hi / 200))))
                for i in range(n)]
    if kind == 3:      # flat runs (peak-to-peak and crossings skip them)
        out, v = [], 0
        while len(out) < n:
            v = rng.randint(lo, hi) if rng.random() < 0.5 else v
            out.extend([v] * rng.randint(1, 5))
        return out[:n]
    return [rng.randint(-3, 3) for _ in range(n)]  # around zero


def random_fragment(rng, width, n=None):
    if n is None:
        n = rng.choice((0, 1, 2, 3, 7, 160, 161, 320, 480, rng.randrange(1, 1200)))
    return pack(random_samples(rng, width, n), width)


LARGE = 6000  # samples: above the size where the GIL is released for every width


def fragments(seed, width, count=6):
    rng = random.Random(seed)
    frags = [random_fragment(rng, width) for _ in range(count)]
    frags.append(random_fragment(rng, width, LARGE))
    return frags


# ---- surface ----------------------------------------------------------------------------

def test_every_function_and_error_exported():
    assert FUNCTIONS == sorted(n for n in ours.__all__ if n != "error")
    assert len(FUNCTIONS) == 26
    assert set(ours.__all__) <= set(dir(ours))


def test_error_class():
    assert issubclass(ours.error, Exception)
    assert ours.error.__name__ == "error"
    assert ours.error.__module__ == "audiocore.audioop"
    with pytest.raises(ours.error, match="Size should be 1, 2, 3 or 4"):
        ours.max(b"", 5)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signature_and_kind(name):
    fn = getattr(ours, name)
    assert type(fn) is type(getattr(ref, name))
    assert inspect.signature(fn) == inspect.signature(getattr(ref, name))
    assert fn.__module__ == "audiocore.audioop"
    assert pickle.loads(pickle.dumps(fn)) is fn


def test_stub_matches_signatures():
    import ast
    from pathlib import Path

    stub = Path(ours.__file__).with_suffix(".pyi")
    tree = ast.parse(stub.read_text())
    stubbed = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    # install()/uninstall() are audiocore's own, outside audioop's __all__.
    assert {"install", "uninstall"} <= set(stubbed)
    stubbed = {n: f for n, f in stubbed.items() if n not in ("install", "uninstall")}
    assert sorted(stubbed) == FUNCTIONS
    for name, f in stubbed.items():
        params = [a.arg for a in f.args.posonlyargs]
        assert params == list(inspect.signature(getattr(ref, name)).parameters), name
        assert not f.args.args and not f.args.kwonlyargs


# ---- differential: every function x width x buffer type -------------------------------

def _cases(name, width, seed):
    """Argument tuples for one function at one width (the fragment first)."""
    rng = random.Random(f"{name}-{width}-{seed}")
    frags = fragments(rng.random(), width)
    if name in ("max", "minmax", "avg", "rms", "avgpp", "maxpp", "cross", "reverse",
                "byteswap", "lin2ulaw", "lin2alaw"):
        return [(f, width) for f in frags]
    if name in ("ulaw2lin", "alaw2lin"):
        codes = [bytes(range(256)), b""] + [rng.randbytes(rng.randrange(400)) for _ in range(4)]
        return [(c, width) for c in codes + [rng.randbytes(LARGE)]]
    if name == "getsample":
        out = []
        for f in frags:
            n = len(f) // width
            for i in {0, n - 1, n, n // 2, -1, rng.randrange(-2, n + 2)}:
                out.append((f, width, i))
        return out
    if name == "mul":
        return [(f, width, rng.choice(FACTORS + (rng.uniform(-4, 4),))) for f in frags
                for _ in range(3)]
    if name in ("tomono", "tostereo"):
        out = []
        for f in frags:
            if name == "tomono" and len(f) // width % 2:
                f = f[:-width]
            for lf, rf in ((0.5, 0.5), (1, 1), (1.0, 0.0), (rng.choice(FACTORS), rng.choice(FACTORS)),
                           (rng.uniform(-2, 2), rng.uniform(-2, 2))):
                out.append((f, width, lf, rf))
        return out
    if name == "add":
        return [(f, pack(random_samples(rng, width, len(f) // width), width), width)
                for f in frags]
    if name == "bias":
        lo, hi = lo_hi(width)
        return [(f, width, rng.choice((0, 1, -1, hi, lo, 2**31 - 1, -2**31,
                                       rng.randint(-2**31, 2**31 - 1))))
                for f in frags for _ in range(2)]
    if name == "lin2lin":
        return [(f, width, nw) for f in frags for nw in WIDTHS]
    if name == "lin2adpcm":
        states = [None, (0, 0), (rng.randint(-32768, 32767), rng.randint(0, 88)), (32767, 88),
                  (-32768, 0)]
        return [(f, width, rng.choice(states)) for f in frags]
    if name == "adpcm2lin":
        states = [None, (0, 0), (rng.randint(-32768, 32767), rng.randint(0, 88)), (-32768, 88)]
        codes = [rng.randbytes(rng.choice((0, 1, 80, 161))) for _ in range(5)]
        return [(c, width, rng.choice(states)) for c in codes + [rng.randbytes(LARGE // 2)]]
    if name == "ratecv":
        out = []
        for f in frags:
            nch = rng.choice((1, 1, 2, 3))
            f = f[: len(f) // (width * nch) * (width * nch)]
            inrate, outrate = rng.choice(VOICE_RATES), rng.choice(VOICE_RATES + (rng.randrange(1, 50000),))
            weights = rng.choice(((), (1,), (1, 0), (3, 1), (rng.randint(1, 9), rng.randint(0, 9))))
            out.append((f, width, nch, inrate, outrate, None) + weights)
        return out
    if name in ("findfit", "findfactor", "findmax"):
        rng16 = random.Random(rng.random())
        frags16 = [random_fragment(rng16, 2, n) for n in (0, 1, 5, 40, 200)]
        if name == "findmax":
            return [(f, k) for f in frags16 for k in {0, 1, len(f) // 4, len(f) // 2}]
        if name == "findfactor":
            return [(f, random_fragment(rng16, 2, len(f) // 2)) for f in frags16] + \
                   [(f, f) for f in frags16]
        out = []
        for f in frags16:
            n = len(f) // 2
            for m in {m for m in (0, 1, n // 3, n) if m <= n}:
                start = rng16.randrange(0, n - m + 1)
                out.append((f, f[2 * start: 2 * (start + m)]))          # exact echo
                out.append((f, random_fragment(rng16, 2, m)))           # unrelated
        return out
    raise AssertionError(name)


# findfit and friends only read 16-bit samples; their "width" axis is the data's
# content, kept so that every function gets the same grid.
@pytest.mark.parametrize("kind", BUFFER_TYPES)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_matches_reference(name, width, kind):
    for args in _cases(name, width, seed=kind):
        args = (as_type(args[0], kind),) + args[1:]
        if name in ("add", "findfit", "findfactor"):
            args = (args[0], as_type(args[1], kind)) + args[2:]
        check(name, *args)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_other_buffer_kinds(name):
    """array.array, unaligned memoryview slices and read-only views are buffers too."""
    for args in _cases(name, 2, seed="other")[:4]:
        frag = args[0]
        for buf in (array.array("b", frag), memoryview(b"\x00" + frag)[1:],
                    memoryview(bytearray(frag)).toreadonly()):
            check(name, buf, *args[1:])


def test_numpy_arrays():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(1)
    pcm = rng.integers(-32768, 32767, 480, dtype=np.int16)
    for name, args in (("mul", (2, 0.3)), ("rms", (2,)), ("lin2ulaw", (2,)),
                       ("tomono", (2, 0.5, 0.5)), ("ratecv", (2, 1, 8000, 16000, None)),
                       ("max", (4,)), ("lin2lin", (2, 3))):
        check(name, pcm, *args)
    check("add", pcm, pcm[::-1].copy(), 2)
    check("mul", pcm[::2], 2, 2.0)  # not contiguous


# ---- exhaustive where the domain is small ----------------------------------------------

def test_g711_all_codes_and_all_16bit_samples():
    codes = bytes(range(256))
    every16 = array.array("h", range(-32768, 32768)).tobytes()
    for w in WIDTHS:
        assert ours.ulaw2lin(codes, w) == ref.ulaw2lin(codes, w)
        assert ours.alaw2lin(codes, w) == ref.alaw2lin(codes, w)
    assert ours.lin2ulaw(every16, 2) == ref.lin2ulaw(every16, 2)
    assert ours.lin2alaw(every16, 2) == ref.lin2alaw(every16, 2)
    for w in (3, 4):  # the low bytes must not matter
        wide = ref.lin2lin(every16, 2, w)
        assert ours.lin2ulaw(wide, w) == ref.lin2ulaw(wide, w)
        assert ours.lin2alaw(wide, w) == ref.lin2alaw(wide, w)


def test_every_8bit_sample_through_every_conversion():
    every8 = bytes(range(256))
    for nw in WIDTHS:
        assert ours.lin2lin(every8, 1, nw) == ref.lin2lin(every8, 1, nw)
    for f in (0.5, -1.0, 1.5, 127.9):
        assert ours.mul(every8, 1, f) == ref.mul(every8, 1, f)


def test_lin2lin_and_bias_at_the_edges():
    for w in WIDTHS:
        lo, hi = lo_hi(w)
        frag = pack([lo, lo + 1, -1, 0, 1, hi - 1, hi], w)
        for nw in WIDTHS:
            check("lin2lin", frag, w, nw)
        for b in (1, -1, hi, lo, 2**31 - 1, -2**31):
            check("bias", frag, w, b)


def test_peak_to_peak_long_runs_and_boundaries():
    # Turning points found 16 samples and 2048 samples at a time: ramps with no
    # turning point for thousands of samples, turns right at block edges, and one
    # flat step late in an otherwise strictly moving signal.
    rng = random.Random(5)
    up = list(range(-3000, 3000))
    zigzag = [(-1) ** i * (i % 1000) * 30 for i in range(5000)]
    for samples in (up, up[::-1] + up, zigzag, up + zigzag + up[::-1],
                    [rng.randint(-32768, 32767) for _ in range(4099)]):
        for n in (2, 3, 17, 18, 33, 2049, 2050, 2051, 4097, len(samples)):
            frag = pack(samples[:n], 2)
            check("avgpp", frag, 2)
            check("maxpp", frag, 2)
        flat = samples[:3000] + [samples[2999]] + samples[3000:]
        check("avgpp", pack(flat, 2), 2)
        check("maxpp", pack(flat, 2), 2)


# ---- streams: state carried across calls ------------------------------------------------

@pytest.mark.parametrize("width", WIDTHS)
def test_adpcm_round_trip_streams(width):
    rng = random.Random(width)
    frag = random_fragment(rng, width, 3001)
    s_ref = s_ours = None
    pos = 0
    while pos < len(frag):
        step = rng.choice((1, 2, 3, 160, 161)) * width
        chunk = frag[pos:pos + step]
        pos += step
        r = ref.lin2adpcm(chunk, width, s_ref)
        o = ours.lin2adpcm(chunk, width, s_ours)
        assert o == r
        s_ref, s_ours = r[1], o[1]
        assert ours.adpcm2lin(r[0], width, s_ref) == ref.adpcm2lin(r[0], width, s_ref)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("nchannels", (1, 2, 5))
def test_ratecv_streams(width, nchannels):
    rng = random.Random(width * 10 + nchannels)
    bpf = width * nchannels
    for _ in range(6):
        inrate, outrate = rng.choice(VOICE_RATES), rng.choice(VOICE_RATES + (7, 12345))
        weights = rng.choice(((), (1, 0), (2, 1), (5, 3)))
        frag = random_fragment(rng, width, nchannels * rng.randrange(0, 900))
        s_ref = s_ours = None
        for chunk_frames in (0, 1, 17, 160, 509, 10**6):
            chunk, frag = frag[:chunk_frames * bpf], frag[chunk_frames * bpf:]
            r = ref.ratecv(chunk, width, nchannels, inrate, outrate, s_ref, *weights)
            o = ours.ratecv(chunk, width, nchannels, inrate, outrate, s_ours, *weights)
            assert o == r
            s_ref, s_ours = r[1], o[1]


def test_ratecv_handmade_states():
    """States that audioop never returns itself but accepts: d >= 0 (frames emitted
    before any input is read), d far below zero, samples anywhere in int32."""
    rng = random.Random(7)
    for _ in range(300):
        width = rng.choice(WIDTHS)
        nch = rng.choice((1, 2))
        inrate, outrate = rng.choice(((1, 1), (2, 3), (3, 2), (8000, 16000), (160, 441)))
        d = rng.choice((0, 1, 2, 3, 17, -1, -5, -10**6, -2**31, rng.randrange(-50, 50)))
        pairs = tuple((rng.randint(-2**31, 2**31 - 1), rng.randint(-2**31, 2**31 - 1))
                      for _ in range(nch))
        frag = random_fragment(rng, width, nch * rng.randrange(0, 5))
        weights = rng.choice(((), (1, 1), (7, 2)))
        check_ratecv(frag, width, nch, inrate, outrate, (d, pairs), *weights)


# ---- sums whose exactness limits change the algorithm ------------------------------------

def test_rms_beyond_exact_integer_sums():
    # Width 3 at full scale: squares near 2^46, so the running sum passes 2^53
    # after ~128 samples and the double sum starts rounding.
    lo, hi = lo_hi(3)
    rng = random.Random(3)
    for n in (100, 127, 128, 129, 130, 1000, 5000):
        frag = pack([rng.choice((lo, hi, hi - 1, lo + 7)) for _ in range(n)], 3)
        check("rms", frag, 3)
    check("rms", pack([hi] * 4000 + [1, 2, 3] * 50, 3), 3)
    frag4 = pack([rng.randint(-2**31, 2**31 - 1) for _ in range(3000)], 4)
    check("rms", frag4, 4)


def test_sums_on_long_fragments():
    # Past 2^54 a double holds multiples of 4 only, and adding 2^31 - 3 (= 1 mod 4)
    # rounds down every time: audioop's average of these equal samples is one less
    # than the samples. Only its order of additions gives that.
    n = (1 << 23) + (1 << 21)
    big = (array.array("i", [2**31 - 3]) * n).tobytes()
    assert check("avg", big, 4) == ("ok", ("int", 2**31 - 4))
    check("rms", big[: 4 * ((1 << 22) + 3)], 4)
    # Windows of >= 2^22 16-bit samples: findmax, findfactor and findfit sums round.
    pattern = array.array("h", [(i * 7919) % 65536 - 32768 for i in range(65536)])
    big16 = (pattern * 65).tobytes()[: 2 * ((1 << 22) + 4)]
    check("findmax", big16, 1 << 22)
    check("findmax", big16, (1 << 22) + 1)
    check("findfactor", big16, big16[::-1])
    check("findfit", big16, big16[6:6 + 2 * (1 << 22)])


# ---- errors ------------------------------------------------------------------------------

BAD_CALLS = [
    # argument counts and keywords
    ("max", (b"",)), ("max", ()), ("max", (b"", 2, 3)), ("getsample", (b"ab", 2)),
    ("ratecv", (b"", 2, 1, 8000, 16000)), ("ratecv", (b"", 2, 1, 8000, 16000, None, 1, 0, 0)),
    ("findfit", (b"", b"", 1)), ("tomono", (b"", 2, 1)),
    # argument types and ranges
    ("max", ("ab", 2)), ("max", (None, 2)), ("max", (5, 2)), ("max", (b"ab", 2.0)),
    ("max", (b"ab", "2")), ("max", (b"ab", 2**31)), ("max", (b"ab", -2**31 - 1)),
    ("max", (b"ab", 2**70)), ("getsample", (b"ab", 2, 2**70)), ("getsample", (b"ab", 2, 1.0)),
    ("mul", (b"ab", 2, "x")), ("mul", (b"ab", 2, None)), ("mul", (b"ab", 2, 10**400)),
    ("mul", (b"ab", 2, 1j)), ("tomono", (b"abcd", 2, 1, "r")), ("bias", (b"ab", 2, 2**31)),
    ("bias", (b"ab", 2, 1.5)), ("lin2lin", (b"ab", 2, 2**40)), ("findmax", (b"ab", 1.0)),
    ("add", (b"ab", "ab", 2)), ("findfit", (b"ab", None)), ("ratecv", (b"", 2, 1, 8000, 16000, None, 1.0)),
    ("max", (memoryview(b"abcd")[::2], 1)),
    # widths and partial frames
    *[(f, (b"abcd", w)) for f in ("max", "minmax", "avg", "rms", "avgpp", "maxpp", "cross",
                                  "reverse", "byteswap", "lin2ulaw", "lin2alaw", "ulaw2lin",
                                  "alaw2lin") for w in (0, 5, -1, 2**31 - 1)],
    *[(f, (b"abc", 2)) for f in ("max", "minmax", "avg", "rms", "avgpp", "maxpp", "cross",
                                 "reverse", "byteswap", "lin2ulaw", "lin2alaw")],
    ("getsample", (b"abc", 2, 0)), ("getsample", (b"ab", 2, 1)), ("getsample", (b"ab", 2, -1)),
    ("getsample", (b"ab", 0, 0)), ("mul", (b"abc", 2, 1.0)), ("mul", (b"ab", 9, 1.0)),
    ("tomono", (b"ab", 2, 1, 1)), ("tomono", (b"abc", 3, 1, 1)), ("tomono", (b"abcde", 2, 1, 1)),
    ("tostereo", (b"abc", 2, 1, 1)), ("add", (b"ab", b"abcd", 2)), ("add", (b"abc", b"abc", 2)),
    ("add", (b"ab", b"ab", 0)), ("bias", (b"abc", 4, 1)), ("lin2lin", (b"ab", 2, 0)),
    ("lin2lin", (b"abc", 2, 2)), ("lin2lin", (b"ab", 5, 2)),
    ("findfit", (b"abc", b"ab")), ("findfit", (b"ab", b"abcd")), ("findfactor", (b"ab", b"abcd")),
    ("findfactor", (b"abc", b"abc")), ("findmax", (b"abcd", 3)), ("findmax", (b"abcd", -1)),
    ("findmax", (b"abc", 1)),
    # ADPCM states
    ("lin2adpcm", (b"ab", 2, 5)), ("lin2adpcm", (b"ab", 2, [0, 0])), ("lin2adpcm", (b"ab", 2, (1,))),
    ("lin2adpcm", (b"ab", 2, (1, 2, 3))), ("lin2adpcm", (b"ab", 2, (1, "a"))),
    ("lin2adpcm", (b"ab", 2, (1.0, 0))), ("lin2adpcm", (b"ab", 2, (2**70, 0))),
    ("lin2adpcm", (b"ab", 2, (2**40, 0))), ("lin2adpcm", (b"ab", 2, (-2**40, 0))),
    ("lin2adpcm", (b"ab", 2, (32768, 0))), ("lin2adpcm", (b"ab", 2, (-32769, 0))),
    ("lin2adpcm", (b"ab", 2, (0, 89))), ("lin2adpcm", (b"ab", 2, (0, -1))),
    ("lin2adpcm", (b"a", 2, None)), ("lin2adpcm", (b"a", 2, 5)), ("lin2adpcm", (b"ab", 7, None)),
    ("adpcm2lin", (b"ab", 2, 5)), ("adpcm2lin", (b"ab", 2, (1,))), ("adpcm2lin", (b"ab", 2, (0, 100))),
    ("adpcm2lin", (b"ab", 0, None)), ("adpcm2lin", (b"a", 5, 5)),
    # ratecv: parameters, in the order CPython checks them
    ("ratecv", (b"", 5, 0, 0, 0, 5, -1, -1)), ("ratecv", (b"", 2, 0, 0, 0, 5, -1, -1)),
    ("ratecv", (b"", 2, -3, 8000, 8000, None)), ("ratecv", (b"", 2, 2**30, 8000, 8000, None)),
    ("ratecv", (b"", 4, 2**29 + 1, 8000, 8000, None)),
    ("ratecv", (b"", 2, 1, 0, 0, 5, 0)), ("ratecv", (b"", 2, 1, 0, 0, 5, 1, -1)),
    ("ratecv", (b"a", 2, 1, 0, 0, 5)), ("ratecv", (b"abcd", 2, 3, 0, 0, 5)),
    ("ratecv", (b"ab", 2, 1, 0, 8000, 5)), ("ratecv", (b"ab", 2, 1, 8000, -1, 5)),
    ("ratecv", (b"ab", 2, 1, -8000, -16000, None)),
    # ratecv: states
    ("ratecv", (b"ab", 2, 1, 8000, 16000, 5)), ("ratecv", (b"ab", 2, 1, 8000, 16000, [1, ((0, 0),)])),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, ())), ("ratecv", (b"ab", 2, 1, 8000, 16000, (1,))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((0, 0),), 3))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, ("a", ((0, 0),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1.5, ((0, 0),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (2**40, ((0, 0),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (2**70, ((0, 0),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, 5))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, [(0, 0)]))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, (1, 2)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((0, 0), (0, 0))))),
    ("ratecv", (b"ab", 2, 2, 8000, 16000, (1, ((0, 0),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ([0, 0],)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((0,),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((0, 0, 0),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((0, None),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((0, 2**31),)))),
    ("ratecv", (b"ab", 2, 1, 8000, 16000, (1, ((-2**31 - 1, 0),)))),
    ("ratecv", (b"abcd", 2, 2, 8000, 16000, (1, ((0, 0), (0, "x"))))),
]


@pytest.mark.parametrize(("name", "args"), BAD_CALLS, ids=lambda v: v if isinstance(v, str) else "")
def test_error_cases(name, args):
    expected = check(name, *args)
    assert expected[0] == "err", expected


@pytest.mark.parametrize("name", FUNCTIONS)
def test_keywords_rejected(name):
    check(name, fragment=b"")
    expected = check(name, b"", width=2)
    assert expected == ("err", "TypeError", f"{name}() takes no keyword arguments")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_wrong_argument_counts(name):
    for n in range(0, 10):
        check(name, *([b""] * n))


def test_state_tuple_subclasses_are_tuples():
    class T(tuple):
        pass
    check("lin2adpcm", b"abcd", 2, T((5, 3)))
    check("ratecv", b"abcd", 2, 1, 8000, 16000, T((-1, T((T((1, 2)),)))))


# ---- randomized fuzz (hypothesis) ----------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# AUDIOOP_FUZZ_EXAMPLES=5000 for a deep run; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("AUDIOOP_FUZZ_EXAMPLES", "250")), deadline=None,
                derandomize="AUDIOOP_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow])

widths = st.sampled_from((1, 2, 3, 4, 0, 5, -1))
fragments_st = st.binary(max_size=200)
factors = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10, 10),
                    st.sampled_from((1e300, -1e300, 2.0**31, -2.0**31, 0.5)))
ints = st.one_of(st.integers(-3, 3), st.integers(-2**31, 2**31 - 1), st.integers(-2**64, 2**64))


@FUZZ
@given(name=st.sampled_from(("max", "minmax", "avg", "rms", "avgpp", "maxpp", "cross",
                             "reverse", "byteswap", "lin2ulaw", "lin2alaw", "ulaw2lin",
                             "alaw2lin")),
       frag=fragments_st, width=widths)
def test_fuzz_fragment_width(name, frag, width):
    check(name, frag, width)


@FUZZ
@given(frag=fragments_st, width=widths, factor=factors, other=factors)
def test_fuzz_gains(frag, width, factor, other):
    check("mul", frag, width, factor)
    check("tomono", frag, width, factor, other)
    check("tostereo", frag, width, factor, other)


@FUZZ
@given(frag=fragments_st, width=widths, a=ints, b=ints)
def test_fuzz_integers(frag, width, a, b):
    check("bias", frag, width, a)
    check("lin2lin", frag, width, b)
    check("getsample", frag, width, a)
    check("add", frag, frag[::-1], width)
    check("findmax", frag, b)
    check("findfit", frag, frag[a % 7:])
    check("findfactor", frag, frag[::-1])


adpcm_states = st.one_of(st.none(), st.tuples(ints, ints),
                         st.tuples(st.integers(-32768, 32767), st.integers(0, 88)))


@FUZZ
@given(frag=fragments_st, width=widths, state=adpcm_states)
def test_fuzz_adpcm(frag, width, state):
    check("lin2adpcm", frag, width, state)
    check("adpcm2lin", frag, width, state)


small_ints = st.one_of(st.integers(-2, 3), st.sampled_from((8000, 16000, 44100, 48000)),
                       st.integers(1, 100000))


@FUZZ
@given(frag=fragments_st, width=st.sampled_from((1, 2, 3, 4, 0)),
       nch=st.integers(-1, 4), inrate=small_ints, outrate=small_ints,
       weights=st.lists(st.integers(-1, 5), max_size=2),
       d=st.one_of(st.integers(-100000, 64), st.none()), samples=st.integers(-2**31, 2**31 - 1))
def test_fuzz_ratecv(frag, width, nch, inrate, outrate, weights, d, samples):
    state = None if d is None else (d, ((samples, -samples - 1),) * max(nch, 0))
    check_ratecv(frag, width, nch, inrate, outrate, state, *weights)


# ---- threads -------------------------------------------------------------------------------

def test_results_stable_across_threads():
    """Large fragments run without the GIL; concurrent calls must not interfere."""
    rng = random.Random(11)
    frag = random_fragment(rng, 2, 100_000)
    expected = {name: getattr(ref, name)(*args) for name, args in (
        ("mul", (frag, 2, 0.8)), ("rms", (frag, 2)), ("lin2ulaw", (frag, 2)),
        ("ratecv", (frag, 2, 1, 8000, 16000, None)), ("lin2adpcm", (frag, 2, None)))}
    errors = []

    def work():
        for _ in range(5):
            for name, want in expected.items():
                args = {"mul": (frag, 2, 0.8), "rms": (frag, 2), "lin2ulaw": (frag, 2),
                        "ratecv": (frag, 2, 1, 8000, 16000, None),
                        "lin2adpcm": (frag, 2, None)}[name]
                if getattr(ours, name)(*args) != want:
                    errors.append(name)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
