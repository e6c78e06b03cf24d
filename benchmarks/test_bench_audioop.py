"""audiocore.audioop against CPython's audioop on 20 ms speech frames.

Every audioop function, at 8 kHz and 16 kHz, 16-bit, ours and the reference side by
side in one benchmark group per function and rate. The reference is the stdlib module
(<= 3.12) or audioop-lts (3.13+). Run:

    pytest benchmarks/test_bench_audioop.py --benchmark-group-by=group \
        --benchmark-columns=median,iqr,ops
"""

from __future__ import annotations

import array
import math
import platform
import random
import sys
import warnings

import pytest

from audiocore import audioop as ours

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop as reference  # stdlib <= 3.12, audioop-lts >= 3.13

IMPLS = {"audiocore": ours, "audioop": reference}
# Fixed, equal batches for both sides: left to calibrate, pytest-benchmark sometimes
# times the faster side one call per round, which then counts the timer's own cost.
ROUNDS, ITERATIONS, WARMUP_ROUNDS = 300, 100, 20
RATES = (8000, 16000)
FRAME_MS = 20
WIDTH = 2


def speech(rate: int, ms: int = FRAME_MS, seed: int = 0, channels: int = 1) -> bytes:
    """A voiced 16-bit frame: a 130 Hz glottal series with formant-shaped harmonics
    (about 500, 1500 and 2500 Hz) and breath noise 30 dB down; not silence, so the
    sign, peak and codec paths all see real data."""
    rng = random.Random(seed)
    n = rate * ms // 1000
    f0 = 130.0 + 10 * seed
    harmonics = []
    k = 1
    while k * f0 < rate / 2:
        f = k * f0
        gain = sum(math.exp(-((f - fc) / bw) ** 2) for fc, bw in ((500, 200), (1500, 300), (2500, 400)))
        harmonics.append((2 * math.pi * f / rate, 0.2 / k + gain, rng.uniform(0, 2 * math.pi)))
        k += 1
    norm = 9000 / sum(a for _, a, _ in harmonics)
    out = []
    for i in range(n):
        v = sum(a * math.sin(w * i + p) for w, a, p in harmonics) * norm + rng.gauss(0, 300)
        for _ in range(channels):
            out.append(max(-32768, min(32767, int(v))))
    return array.array("h", out).tobytes()


def _cases(rate: int) -> dict[str, tuple]:
    frame = speech(rate)
    other = speech(rate, seed=1)
    stereo = speech(rate, channels=2)
    n = len(frame) // WIDTH
    adpcm, adpcm_state = reference.lin2adpcm(frame, WIDTH, None)
    to_rate = 16000 if rate == 8000 else 8000
    return {
        "add": (frame, other, WIDTH),
        "adpcm2lin": (adpcm, WIDTH, adpcm_state),
        "alaw2lin": (reference.lin2alaw(frame, WIDTH), WIDTH),
        "avg": (frame, WIDTH),
        "avgpp": (frame, WIDTH),
        "bias": (frame, WIDTH, 128),
        "byteswap": (frame, WIDTH),
        "cross": (frame, WIDTH),
        "findfactor": (frame, other),
        "findfit": (frame, frame[n // 2: n // 2 + 2 * (n // 4)]),
        "findmax": (frame, n // 4),
        "getsample": (frame, WIDTH, n // 2),
        "lin2adpcm": (frame, WIDTH, adpcm_state),
        "lin2alaw": (frame, WIDTH),
        "lin2lin": (frame, WIDTH, 4),
        "lin2ulaw": (frame, WIDTH),
        "max": (frame, WIDTH),
        "maxpp": (frame, WIDTH),
        "minmax": (frame, WIDTH),
        "mul": (frame, WIDTH, 0.7),
        "ratecv": (frame, WIDTH, 1, rate, to_rate, (-1, ((0, 0),))),
        "reverse": (frame, WIDTH),
        "rms": (frame, WIDTH),
        "tomono": (stereo, WIDTH, 0.5, 0.5),
        "tostereo": (frame, WIDTH, 1.0, 1.0),
        "ulaw2lin": (reference.lin2ulaw(frame, WIDTH), WIDTH),
    }


CASES = {rate: _cases(rate) for rate in RATES}
FUNCTIONS = sorted(CASES[RATES[0]])


def test_cases_cover_every_function():
    public = sorted(n for n in dir(reference)
                    if not n.startswith("_") and n != "error" and callable(getattr(reference, n)))
    assert FUNCTIONS == public


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("rate", RATES, ids=lambda r: f"{r // 1000}k")
@pytest.mark.parametrize("name", FUNCTIONS)
def test_frame(benchmark, name, rate, impl):
    fn = getattr(IMPLS[impl], name)
    args = CASES[rate][name]
    benchmark.group = f"audioop.{name} {FRAME_MS} ms @ {rate // 1000} kHz"
    benchmark.extra_info.update(impl=impl, python=platform.python_version(),
                                reference=getattr(reference, "__file__", "builtin"))
    result = benchmark.pedantic(fn, args=args, rounds=ROUNDS, iterations=ITERATIONS,
                                warmup_rounds=WARMUP_ROUNDS)
    # Same work on both sides: the outputs must agree.
    assert result == getattr(reference, name)(*args)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "--benchmark-group-by=group",
                          "--benchmark-columns=median,iqr,ops", "-q"]))
