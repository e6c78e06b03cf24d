"""Smoke test of an installed audiocore-dsp: every native module, checked by value.

Run it with the interpreter of the environment that holds the package, from outside
the source tree (``python -I .ci/wheel_smoke.py``), so that the installed copy is
the one imported. It needs nothing but the package; for the ``audiocore.audioop``
comparison it uses the stdlib ``audioop`` (3.10-3.12) or ``audioop-lts`` (3.13+).

  --expect-bundled  also require that libsoxr is loaded from the package's own
                    bundled copy and that no system libsoxr/libgomp can be loaded
                    by name (run it so where those are hidden).
  --no-audioop-reference  skip the comparison with the reference audioop (for a
                    3.13+ environment that cannot install audioop-lts).

Exit status 0 when every check passed; the first failed check raises.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import ctypes
import math
import os
import sys
import sysconfig
import warnings
from typing import Callable, List, Optional, Tuple

Check = Callable[[], Optional[str]]
#: (description, function) in run order; a function's return value is a detail to print.
REGISTRY: List[Tuple[str, Check]] = []
ARGS = argparse.Namespace(expect_bundled=False, no_audioop_reference=False)


def check(name: str) -> Callable[[Check], Check]:
    """Registers a check under its description."""

    def register(fn: Check) -> Check:
        REGISTRY.append((name, fn))
        return fn

    return register


def pcm16(samples: "array.array[int] | List[int]") -> bytes:
    a = array.array("h", samples)
    if sys.byteorder != "little":
        a.byteswap()
    return a.tobytes()


def samples16(data: bytes) -> "array.array[int]":
    a = array.array("h")
    a.frombytes(data)
    if sys.byteorder != "little":
        a.byteswap()
    return a


def sine(freq: float, rate: int, n: int, amplitude: float, delay_s: float = 0.0) -> List[float]:
    return [amplitude * math.sin(2 * math.pi * freq * (i / rate - delay_s)) for i in range(n)]


def snr_db(got: "array.array[int]", ref: List[float], start: int, stop: int) -> float:
    sig = sum(ref[i] ** 2 for i in range(start, stop))
    err = sum((got[i] - ref[i]) ** 2 for i in range(start, stop))
    return 10 * math.log10(sig / max(err, 1e-12))


def ulaw_decode_reference(code: int) -> int:
    """G.711 μ-law expansion (the standard's table, computed)."""
    u = ~code & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u >> 4) & 0x07)
    return (0x84 - magnitude) if u & 0x80 else (magnitude - 0x84)


def alaw_decode_reference(code: int) -> int:
    """G.711 A-law expansion (the standard's table, computed)."""
    a = code ^ 0x55
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    if exponent == 0:
        magnitude = (mantissa << 4) + 8
    else:
        magnitude = ((mantissa << 4) + 0x108) << (exponent - 1)
    return magnitude if a & 0x80 else -magnitude


ALL_INT16 = pcm16(list(range(-32768, 32768)))


@check("G.711 mu-law: decode of all 256 codes, round trip, encode monotonic")
def _ulaw() -> None:
    import audiocore as ac

    codes = bytes(range(256))
    decoded = samples16(ac.ulaw_decode(codes))
    assert list(decoded) == [ulaw_decode_reference(c) for c in codes], "ulaw_decode table"
    again = ac.ulaw_encode(ac.ulaw_decode(codes))
    # 0x7F and 0xFF both decode to 0, which encodes as 0xFF.
    assert again == codes.replace(b"\x7f", b"\xff"), "ulaw round trip"
    # Encoding every int16 then decoding never moves a sample past its neighbours.
    back = samples16(ac.ulaw_decode(ac.ulaw_encode(ALL_INT16)))
    assert all(back[i] <= back[i + 1] for i in range(len(back) - 1)), "ulaw monotonic"
    assert max(abs(back[i] - (i - 32768)) for i in range(65536)) <= 1024, "ulaw error bound"


@check("G.711 A-law: decode of all 256 codes, exact round trip")
def _alaw() -> None:
    import audiocore as ac

    codes = bytes(range(256))
    decoded = samples16(ac.alaw_decode(codes))
    assert list(decoded) == [alaw_decode_reference(c) for c in codes], "alaw_decode table"
    assert ac.alaw_encode(ac.alaw_decode(codes)) == codes, "alaw round trip"


@check("downmix / upmix / mix")
def _channels() -> None:
    import audiocore as ac

    x = [int(12000 * math.sin(i / 7)) for i in range(480)]
    same = pcm16([v for s in x for v in (s, s)])
    assert ac.downmix(same, 2) == pcm16(x), "identical channels downmix to themselves"
    opposite = pcm16([v for s in x for v in (s, -s)])
    assert ac.downmix(opposite, 2) == bytes(960), "opposite channels cancel"
    assert ac.upmix(pcm16(x), 2) == same, "upmix duplicates"
    loud = pcm16([30000] * 8)
    assert samples16(ac.mix(loud, loud)).tolist() == [32767] * 8, "mix saturates"


def resampled_tone() -> "tuple[list[float], bytes, int, int]":
    rate_in, rate_out, freq, amp = 48000, 16000, 440.0, 10000.0
    x = sine(freq, rate_in, rate_in, amp)  # 1 s
    return x, pcm16([round(v) for v in x]), rate_in, rate_out


@check("resample (soxr engine) against the analytic tone")
def _soxr() -> str:
    import audiocore as ac

    _, pcm, rate_in, rate_out = resampled_tone()
    one_shot = ac.resample(pcm, rate_in, rate_out)
    y = samples16(one_shot)
    assert len(y) == rate_out, f"soxr output length {len(y)}"
    ref = sine(440.0, rate_out, rate_out, 10000.0)
    snr = snr_db(y, ref, 800, rate_out - 800)
    assert snr > 60, f"soxr SNR {snr:.1f} dB"
    # The streaming soxr Resampler holds audio back on small chunks, and gives the
    # one-shot result once flushed.
    r = ac.Resampler(rate_in, rate_out, engine="soxr")
    chunk = rate_in // 50 * 2
    parts = [r.process(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk)]
    held = r.delay
    streamed = b"".join(parts) + r.flush()
    assert held > 0 and len(parts[0]) < 640, "soxr stream did not hold audio back"
    assert streamed == one_shot, "streamed soxr differs from resample()"
    return f"SNR {snr:.1f} dB; streamed in 20 ms chunks: equal, {held * 1000:.1f} ms held at the end"


@check("Resampler (realtime engine) in 20 ms chunks, against the tone and soxr")
def _realtime() -> str:
    import audiocore as ac

    _, pcm, rate_in, rate_out = resampled_tone()
    r = ac.Resampler(rate_in, rate_out)
    chunk = rate_in // 50 * 2
    parts = [r.process(pcm[i:i + chunk]) for i in range(0, len(pcm), chunk)]
    # Every 20 ms chunk returns its output at once (320 +- 1 samples).
    assert all(abs(len(p) // 2 - 320) <= 1 for p in parts), "realtime holds audio back"
    y = samples16(b"".join(parts) + r.flush())
    ref = sine(440.0, rate_out, len(y), 10000.0, delay_s=r.delay)
    snr = snr_db(y, ref, 800, rate_out - 800)
    assert snr > 50, f"realtime SNR {snr:.1f} dB"
    # Both engines by value: realtime shifted back by its delay (a whole number of
    # output samples for this pair) against soxr's zero-delay output.
    shift = r.delay * rate_out
    if abs(shift - round(shift)) > 1e-6:
        return f"SNR {snr:.1f} dB, delay {r.delay * 1000:.3f} ms (fractional: not compared)"
    shift = round(shift)
    soxr = samples16(ac.resample(pcm, rate_in, rate_out))
    worst = max(abs(y[i + shift] - soxr[i]) for i in range(800, rate_out - 800 - shift))
    assert worst <= 4, f"realtime and soxr differ by up to {worst} LSB"
    return f"SNR {snr:.1f} dB, delay {r.delay * 1000:.3f} ms, vs soxr at most {worst} LSB apart"


def _cpu_flags() -> "set[str]":
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@check("realtime kernel builds: the ones this CPU has are in the wheel, and agree")
def _kernel_builds() -> str:
    import audiocore as ac
    from audiocore import resampling

    have = resampling.available_kernels()
    assert have[-1] == "portable", have
    flags = _cpu_flags()
    if sysconfig.get_platform().endswith("x86_64") and {"avx2", "fma"} <= flags:
        assert "avx2+fma" in have, f"the CPU has AVX2 and FMA, the wheel only {have}"
    if sysconfig.get_platform().endswith("x86_64") and "avx512f" in flags:
        assert "avx512+fma" in have, f"the CPU has AVX-512F, the wheel only {have}"
    _, pcm, rate_in, rate_out = resampled_tone()
    outs = {}
    try:
        for name in have:
            resampling.use_kernels(name)
            r = ac.Resampler(rate_in, rate_out)
            outs[name] = samples16(r.process(pcm) + r.flush())
            c = ac.Converter(rate_in, 1, rate_out)
            assert samples16(c.process(pcm) + c.flush()) == outs[name], name
    finally:
        resampling.use_kernels(None)
    base = outs["portable"]
    for name, y in outs.items():
        worst = max(abs(a - b) for a, b in zip(y, base))
        assert len(y) == len(base) and worst <= 1, f"{name} vs portable: {worst} LSB"
    return ", ".join(have)


@check("Converter 48 kHz stereo -> 8 kHz mu-law equals the composed calls")
def _converter() -> None:
    import audiocore as ac

    rate = 48000
    left = [round(8000 * math.sin(2 * math.pi * 300 * i / rate)) for i in range(rate // 2)]
    right = [round(6000 * math.sin(2 * math.pi * 500 * i / rate)) for i in range(rate // 2)]
    stereo = pcm16([v for pair in zip(left, right) for v in pair])
    conv = ac.Converter(rate, 2, 8000, out_encoding="mulaw")
    r = ac.Resampler(rate, 8000)
    frame = 960 * 4
    got = b"".join(conv.process(stereo[i:i + frame]) for i in range(0, len(stereo), frame))
    want = b"".join(ac.ulaw_encode(r.process(ac.downmix(stereo[i:i + frame], 2)))
                    for i in range(0, len(stereo), frame))
    assert got == want and len(got) == 4000, "Converter differs from the composed chain"


@check("FramePacer: bursts in, whole 10 ms frames out, last one padded")
def _pacer() -> None:
    import audiocore as ac

    async def run() -> List[bytes]:
        pacer = ac.FramePacer(16000, frame_ms=10)
        assert pacer.frame_bytes == 320
        pacer.push(bytes(range(256)) * 3)      # 768 bytes: 2 frames and a part
        pacer.push(b"\x01\x02" * 8)            # 16 bytes more
        pacer.end()
        return [frame async for frame in pacer]

    frames = asyncio.run(asyncio.wait_for(run(), 5))
    data = bytes(range(256)) * 3 + b"\x01\x02" * 8
    assert [len(f) for f in frames] == [320, 320, 320], [len(f) for f in frames]
    assert b"".join(frames) == data + bytes(960 - len(data)), "pacer changed the audio"


def reference_audioop():  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop  # stdlib on 3.10-3.12, audioop-lts on 3.13+

        return audioop


@check("audiocore.audioop against the reference audioop")
def _audioop() -> str:
    import audiocore as ac
    from audiocore import audioop as ours

    if ARGS.no_audioop_reference:
        # Still exercise the module: G.711 through its audioop names.
        assert ours.ulaw2lin(ours.lin2ulaw(ALL_INT16, 2), 2) == \
            ac.ulaw_decode(ac.ulaw_encode(ALL_INT16)), "audioop G.711"
        return "reference not compared (--no-audioop-reference)"
    ref = reference_audioop()
    frag = pcm16([round(9000 * math.sin(i / 5.3) + 3000 * math.sin(i / 1.7)) for i in range(4000)])
    stereo = pcm16([v for s in samples16(frag) for v in (s, -s // 3)])
    for name, args in [
        ("lin2ulaw", (ALL_INT16, 2)), ("lin2alaw", (ALL_INT16, 2)),
        ("ulaw2lin", (bytes(range(256)), 2)), ("alaw2lin", (bytes(range(256)), 2)),
        ("tomono", (stereo, 2, 0.5, 0.5)), ("tostereo", (frag, 2, 0.7, 0.3)),
        ("rms", (frag, 2)), ("max", (frag, 2)), ("avgpp", (frag, 2)), ("cross", (frag, 2)),
        ("mul", (frag, 2, 1.7)), ("lin2lin", (frag, 2, 3)), ("bias", (frag, 2, 77)),
        ("ratecv", (frag, 2, 1, 16000, 8000, None)), ("lin2adpcm", (frag, 2, None)),
        ("findfit", (frag[:4000], frag[1000:2000])),
    ]:
        assert getattr(ours, name)(*args) == getattr(ref, name)(*args), f"audioop.{name}"
    return f"16 functions equal to {ref.__name__} ({getattr(ref, '__file__', 'builtin')})"


def mapped_libraries() -> List[str]:
    """Paths of the libsoxr and libgomp files mapped into this process (Linux)."""
    try:
        with open("/proc/self/maps") as f:
            fields = [line.split(None, 5) for line in f]
    except OSError:
        return []
    paths = {fl[5].strip() for fl in fields if len(fl) == 6}
    return sorted(p for p in paths
                  if os.path.basename(p).startswith(("libsoxr", "libgomp")))


@check("where libsoxr and libgomp are loaded from (the package's own copies, with --expect-bundled)")
def _bundled() -> Optional[str]:
    import audiocore
    from audiocore._soxr import LIBSOXR_VERSION

    libs = mapped_libraries()
    if not ARGS.expect_bundled:
        return f"libsoxr {LIBSOXR_VERSION}; loaded: {', '.join(libs) or 'n/a'}"
    for name in ("libsoxr.so.0", "libgomp.so.1"):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        raise AssertionError(f"{name} is loadable from the system: it was not hidden")
    site = os.path.dirname(os.path.dirname(audiocore.__file__))
    assert any(os.path.basename(p).startswith("libsoxr") for p in libs), \
        f"no libsoxr mapped: {libs}"
    assert all(p.startswith(site + os.sep) for p in libs), \
        f"libraries loaded from outside {site}: {libs}"
    return f"libsoxr {LIBSOXR_VERSION}; loaded: {', '.join(os.path.relpath(p, site) for p in libs)}"


def main() -> int:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--expect-bundled", action="store_true")
    parser.add_argument("--no-audioop-reference", action="store_true")
    ARGS = parser.parse_args()

    import audiocore

    purelib = sysconfig.get_paths()["purelib"]
    platlib = sysconfig.get_paths()["platlib"]
    where = os.path.dirname(os.path.dirname(os.path.abspath(audiocore.__file__)))
    assert where in (purelib, platlib), f"audiocore imported from {where}, not the environment"
    print(f"smoke: audiocore {audiocore.__version__} on Python {sys.version.split()[0]} "
          f"from {where}")
    for name, fn in REGISTRY:
        detail = fn()
        print(f"  ok  {name}" + (f" ({detail})" if detail else ""))
    print(f"smoke: {len(REGISTRY)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
