"""Leak check: one cycle of every public class and function (create, process,
flush, reset, dealloc, error paths), repeated; resident memory and tracemalloc's
count must stay flat.

    python tests/leakcheck.py [--calls N] [--only NAME ...]

N defaults to 1000000 (the full check, minutes); tests/test_leaks.py runs a few
thousand. RSS catches native memory (malloc in the C kernels, libsoxr); tracemalloc
catches Python objects kept alive by a missing reference release (a buffer view
or an output ``bytes`` never freed).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

import audiocore
from audiocore import Converter, FramePacer, FrameRing, Resampler, resample
from audiocore import audioop as ao
from audiocore._realtime import FilterBank

PAGE = os.sysconf("SC_PAGE_SIZE")
PCM = np.arange(-160, 160, dtype=np.int16).tobytes()   # 10 ms at 16 kHz, 320 samples
STEREO = PCM * 2
CODES = bytes(range(160))
OUT = bytearray(4096)
STRIDED = np.zeros(64, dtype=np.int16)[::2]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def raises(exc: type[BaseException], fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
    try:
        fn(*args, **kw)
    except exc:
        return
    raise AssertionError(f"{fn.__name__} did not raise {exc.__name__}")


# ---- one cycle per case -----------------------------------------------------------------

def g711() -> None:
    audiocore.ulaw_decode(audiocore.ulaw_encode(PCM))
    audiocore.alaw_decode(audiocore.alaw_encode(PCM))
    audiocore.ulaw_encode(PCM, out=OUT)
    audiocore.alaw_decode(CODES, out=OUT)


def g711_errors() -> None:
    raises(ValueError, audiocore.ulaw_encode, PCM[:-1])
    raises(TypeError, audiocore.alaw_encode, "pcm")
    raises(ValueError, audiocore.ulaw_decode, CODES, out=bytearray(3))
    raises(TypeError, audiocore.alaw_decode, CODES, out=b"read-only")
    raises(ValueError, audiocore.ulaw_encode, STRIDED)


def channels() -> None:
    audiocore.upmix(audiocore.downmix(STEREO, 2), 2)
    audiocore.downmix(STEREO, 2, out=OUT)
    audiocore.upmix(PCM, 3, out=memoryview(OUT)[1:])


def channels_errors() -> None:
    raises(ValueError, audiocore.downmix, STEREO[:-2], 2)
    raises(ValueError, audiocore.upmix, PCM, 0)
    raises(TypeError, audiocore.downmix, PCM, "2")
    raises(ValueError, audiocore.upmix, PCM, 8, out=OUT)


def mix() -> None:
    audiocore.mix(PCM, PCM, PCM)
    audiocore.mix(PCM, memoryview(PCM), out=OUT)


def mix_errors() -> None:
    # Fails after some inputs' views are held: each must be released.
    raises(ValueError, audiocore.mix, PCM, PCM, PCM[:-2])
    raises(TypeError, audiocore.mix, PCM, PCM, 3)
    raises(TypeError, audiocore.mix)
    raises(ValueError, audiocore.mix, PCM, PCM, out=bytearray(8))


_STREAMS: dict[str, Any] = {}


def _stream(key: str, make: Callable[[], Any]) -> Any:
    if key not in _STREAMS:
        _STREAMS[key] = make()
    return _STREAMS[key]


def _resampler_stream(engine: str) -> None:
    r = _stream(engine, lambda: Resampler(16000, 8000, 1, engine=engine))
    r.process(PCM)
    r.process(PCM, out=OUT)
    r.process(memoryview(PCM)[2:])
    raises(ValueError, r.process, PCM[:-1])
    raises(ValueError, r.process, PCM, out=bytearray(2))
    r.flush()
    raises(RuntimeError, r.process, PCM)
    r.reset()


def resampler_stream_realtime() -> None:
    _resampler_stream("realtime")


def resampler_stream_soxr() -> None:
    _resampler_stream("soxr")


def _resampler_life(engine: str) -> None:
    r = Resampler(16000, 8000, 1, engine=engine)
    r.process(PCM)
    r.flush()


def resampler_life_realtime() -> None:
    _resampler_life("realtime")


def resampler_life_soxr() -> None:
    _resampler_life("soxr")


def resampler_errors() -> None:
    raises(ValueError, Resampler, 0, 8000)
    raises(ValueError, Resampler, 8000, 16000, 0)
    raises(ValueError, Resampler, 8000, 16000, engine="fast")
    raises(TypeError, Resampler, 8000.0, 16000)


def one_shot() -> None:
    resample(PCM, 16000, 24000)


def filterbank() -> None:
    FilterBank(16000, 24000, 100.0, 0.88)
    raises(ValueError, FilterBank, 16000, 24000, 100.0, 1.0)


def _converter_stream(engine: str) -> None:
    c = _stream("c" + engine, lambda: Converter(48000, 2, 8000, 1, out_encoding="mulaw",
                                                engine=engine))
    c.process(STEREO * 3)
    c.process(STEREO * 3, out=OUT)
    raises(ValueError, c.process, STEREO * 3, out=bytearray(1))
    c.flush()
    raises(RuntimeError, c.process, STEREO)
    c.reset()


def converter_stream_realtime() -> None:
    _converter_stream("realtime")


def converter_stream_soxr() -> None:
    _converter_stream("soxr")


def _converter_life(engine: str) -> None:
    d = Converter(8000, 1, 16000, 2, in_encoding="alaw", engine=engine)
    d.process(CODES)
    d.flush()


def converter_life_realtime() -> None:
    _converter_life("realtime")


def converter_life_soxr() -> None:
    _converter_life("soxr")


def converter_errors() -> None:
    c = Converter(16000, 2, 16000, 1)
    raises(ValueError, c.process, PCM[:-2])
    raises(TypeError, c.process, 5)
    raises(ValueError, Converter, 16000, 2, 16000, 1, in_encoding="opus")


def ring() -> None:
    r = FrameRing(320, 1280)
    r.write(PCM)
    r.write(memoryview(PCM)[:100])
    r.read()
    r.read_partial(0xFF)
    raises(OverflowError, r.write, PCM * 8)
    r.clear()
    d = FrameRing(320, 640, overflow="drop_oldest")
    d.write(PCM * 4)
    d.read()
    repr(d)


def ring_errors() -> None:
    raises(ValueError, FrameRing, 0, 10)
    raises(ValueError, FrameRing, 10, 5)
    raises(ValueError, FrameRing, 10, 20, overflow="wrap")
    r = FrameRing(4, 8)
    raises(TypeError, r.write, 3)
    raises(ValueError, r.read_partial, 256)


def pacer() -> None:
    p = FramePacer(16000, 1, frame_ms=10)
    p.push(PCM * 3)
    p.clear()
    p.push(PCM)
    p.end()
    raises(ValueError, FramePacer, 16000, 1, frame_ms=-1)


_STATE: list[Any] = [None, None, None]


def audioop() -> None:
    f = PCM
    ao.add(f, f, 2); ao.bias(f, 2, 3); ao.byteswap(f, 2); ao.reverse(f, 2)  # noqa: E702
    ao.avg(f, 2); ao.avgpp(f, 2); ao.cross(f, 2); ao.max(f, 2); ao.maxpp(f, 2)  # noqa: E702
    ao.minmax(f, 2); ao.rms(f, 2); ao.getsample(f, 2, 5)  # noqa: E702
    ao.lin2lin(f, 2, 3); ao.mul(f, 2, 0.5); ao.tomono(f, 2, 0.5, 0.5)  # noqa: E702
    ao.tostereo(f, 2, 1, 1); ao.lin2ulaw(f, 2); ao.lin2alaw(f, 2)  # noqa: E702
    ao.ulaw2lin(CODES, 2); ao.alaw2lin(CODES, 3)  # noqa: E702
    ao.findfit(f, f[:64]); ao.findfactor(f, f); ao.findmax(f, 16)  # noqa: E702
    codes, _STATE[0] = ao.lin2adpcm(f, 2, _STATE[0])
    _, _STATE[1] = ao.adpcm2lin(codes, 2, _STATE[1])
    _, _STATE[2] = ao.ratecv(f, 2, 1, 16000, 8000, _STATE[2])


def audioop_errors() -> None:
    raises(ao.error, ao.add, PCM, PCM[:-2], 2)
    raises(ao.error, ao.max, PCM, 5)
    raises(ao.error, ao.getsample, PCM, 2, 10_000)
    raises(TypeError, ao.ratecv, PCM, 2, 1, 16000, 8000, (1, 2))
    raises(ao.error, ao.ratecv, PCM, 2, 1, 0, 8000, None)
    raises(TypeError, ao.lin2adpcm, PCM, 2, (1, 2, 3))
    raises(ValueError, ao.lin2adpcm, PCM, 2, (0, 99))
    raises(TypeError, ao.mul, "x", 2, 1.0)


CASES: dict[str, Callable[[], None]] = {f.__name__: f for f in (
    g711, g711_errors, channels, channels_errors, mix, mix_errors,
    resampler_stream_realtime, resampler_stream_soxr, resampler_life_realtime,
    resampler_life_soxr, resampler_errors, one_shot, filterbank,
    converter_stream_realtime, converter_stream_soxr, converter_life_realtime,
    converter_life_soxr, converter_errors, ring, ring_errors, pacer, audioop,
    audioop_errors)}

#: Cycles that design a filter, set up or flush libsoxr, or run a whole Converter
#: stream (150-700 us each) run a tenth of the count.
HEAVY = {"resampler_stream_soxr", "resampler_life_soxr", "one_shot", "filterbank",
         "converter_stream_realtime", "converter_stream_soxr", "converter_life_realtime",
         "converter_life_soxr"}


def measure(fn: Callable[[], None], calls: int, traced_calls: int) -> dict[str, float]:
    """RSS growth over `calls` cycles, and tracemalloc's traced-memory growth over
    `traced_calls` more (tracing slows each cycle about tenfold), each after a
    warm-up that fills caches and allocator pools."""
    for _ in range(max(200, calls // 50)):
        fn()
    gc.collect()
    rss0, t0 = rss(), time.perf_counter()
    for _ in range(calls):
        fn()
    gc.collect()
    secs = time.perf_counter() - t0
    rss1 = rss()
    tracemalloc.start()
    try:
        for _ in range(200):  # tracemalloc's own bookkeeping settles first
            fn()
        gc.collect()
        traced0 = tracemalloc.get_traced_memory()[0]
        for _ in range(traced_calls):
            fn()
        gc.collect()
        traced1 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return {"rss": rss1 - rss0, "traced": traced1 - traced0, "seconds": secs}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--traced-calls", type=int, default=10_000)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--full-heavy", action="store_true",
                    help="run the heavy cases the full count too (about 15 more minutes)")
    ap.add_argument("--rss-limit", type=float, default=4.0, help="MiB of growth allowed")
    ap.add_argument("--traced-limit", type=float, default=16.0, help="KiB allowed")
    args = ap.parse_args(argv)
    names = args.only or list(CASES)
    print(f"{'case':26} {'cycles':>9} {'seconds':>8} {'RSS growth':>12} "
          f"{'traced cycles':>13} {'traced growth':>14}")
    bad = 0
    for name in names:
        cut = name in HEAVY and not args.full_heavy
        calls = args.calls // 10 if cut else args.calls
        traced = args.traced_calls // 10 if cut else args.traced_calls
        m = measure(CASES[name], calls, traced)
        ok = m["rss"] <= args.rss_limit * 2**20 and m["traced"] <= args.traced_limit * 2**10
        bad += not ok
        print(f"{name:26} {calls:9d} {m['seconds']:8.1f} {m['rss'] / 2**10:8.0f} KiB "
              f"{traced:13d} {m['traced'] / 2**10:10.1f} KiB  {'ok' if ok else 'GROWS'}",
              flush=True)
    print(f"final RSS {rss() / 2**20:.1f} MiB")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
