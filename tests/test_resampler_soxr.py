"""Resampler (engine "soxr") and resample(): streaming == one-shot, determinism,
quality against python-soxr, alias rejection, passband level, delay, lifecycle."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import signals as S
import soxr
from reference import audioop as ref

import audiocore
from audiocore import resample


def Resampler(*args, **kwargs):  # noqa: N802 - stands in for the class
    """This file tests the soxr engine; the class defaults to "realtime"."""
    return audiocore.Resampler(*args, engine="soxr", **kwargs)

RATE_PAIRS = [(48000, 16000), (48000, 8000), (8000, 16000), (44100, 16000), (16000, 48000)]
QUALITIES = ["quick", "low", "medium", "high", "very_high"]
PYSOXR_QUALITY = {"quick": "QQ", "low": "LQ", "medium": "MQ", "high": "HQ", "very_high": "VHQ"}


def pair_id(p):
    return f"{p[0]}-{p[1]}"


def chunk_plan(kind, total_frames: int, seed: int = 0) -> list[int]:
    """Chunk sizes in frames that add up to total_frames.

    kind 0 follows every 509-frame chunk with two empty ones (test_empty_input
    covers an empty first call); "mixed" draws from every size in turn, and
    "mixed-nonzero" from every size but 0.
    """
    sizes: list[int] = []
    left = total_frames
    if kind == 0:
        while left:
            n = min(509, left)
            sizes += [n, 0, 0]
            left -= n
        return sizes
    if kind in ("mixed", "mixed-nonzero"):
        rng = np.random.default_rng(seed)
        choices = [1, 17, 509, 4800, 2, 3] + ([0] if kind == "mixed" else [])
        while left:
            n = min(int(rng.choice(choices)), left)
            sizes.append(n)
            left -= n
        return sizes + ([0] if kind == "mixed" else [])
    while left:
        n = min(kind, left)
        sizes.append(n)
        left -= n
    return sizes


def run_stream(pcm: bytes, in_rate: int, out_rate: int, channels: int, plan,
               quality: str = "high", r: Resampler | None = None) -> bytes:
    r = r or Resampler(in_rate, out_rate, channels, quality=quality)
    frame = 2 * channels
    out = []
    pos = 0
    for n in plan:
        piece = pcm[pos:pos + n * frame]
        pos += n * frame
        y = r.process(piece)
        assert type(y) is bytes
        assert len(y) % frame == 0
        out.append(y)
    assert pos == len(pcm)
    out.append(r.flush())
    return b"".join(out)


def odd_signal(in_rate: int, channels: int, seconds: float = 0.4) -> bytes:
    # An odd number of frames, so no chunk plan divides it evenly.
    n = int(in_rate * seconds) | 1
    x = S.speech_like(in_rate, n / in_rate, seed=in_rate + channels, channels=channels)
    return x[: n * channels].tobytes()


# ---- streaming equals one-shot -----------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("pair", RATE_PAIRS, ids=pair_id)
@pytest.mark.parametrize("plan", [0, 1, 17, 509, 4800, "mixed", "mixed-nonzero"], ids=str)
def test_streaming_equals_one_shot(plan, pair, channels):
    in_rate, out_rate = pair
    seconds = 0.15 if plan == 1 else 0.4
    pcm = odd_signal(in_rate, channels, seconds)
    frames = len(pcm) // (2 * channels)
    one_shot = resample(pcm, in_rate, out_rate, channels)
    streamed = run_stream(pcm, in_rate, out_rate, channels, chunk_plan(plan, frames))
    assert len(streamed) == len(one_shot)
    assert streamed == one_shot


@pytest.mark.parametrize("quality", QUALITIES)
def test_streaming_equals_one_shot_every_quality(quality):
    pcm = odd_signal(44100, 1)
    frames = len(pcm) // 2
    one_shot = resample(pcm, 44100, 16000, quality=quality)
    assert run_stream(pcm, 44100, 16000, 1, chunk_plan("mixed-nonzero", frames, seed=3),
                      quality=quality) == one_shot


def test_resample_equals_process_plus_flush():
    pcm = odd_signal(48000, 2)
    r = Resampler(48000, 16000, 2)
    assert resample(pcm, 48000, 16000, 2) == r.process(pcm) + r.flush()


@pytest.mark.parametrize("pair", RATE_PAIRS + [(22050, 16000), (44100, 48000), (24000, 16000)],
                         ids=pair_id)
@pytest.mark.parametrize("n", [1, 2, 3, 7, 100, 4801, 24007])
def test_one_shot_length(pair, n):
    in_rate, out_rate = pair
    pcm = S.speech_like(in_rate, n / in_rate + 0.01)[:n].tobytes()
    got = len(resample(pcm, in_rate, out_rate)) // 2
    assert abs(got - round(n * out_rate / in_rate)) <= 1


@pytest.mark.parametrize("channels", [2, 6])
@pytest.mark.parametrize("pair", RATE_PAIRS, ids=pair_id)
def test_channels_are_resampled_independently(pair, channels):
    in_rate, out_rate = pair
    x = S.speech_like(in_rate, 0.3, channels=channels, seed=9)
    y = np.frombuffer(resample(x.tobytes(), in_rate, out_rate, channels), np.int16)
    y = y.reshape(-1, channels)
    for c in range(channels):
        mono = resample(x[c::channels].copy().tobytes(), in_rate, out_rate)
        assert y[:, c].tobytes() == mono


def test_empty_input():
    assert resample(b"", 48000, 16000) == b""
    r = Resampler(48000, 16000)
    assert r.process(b"") == b""
    assert r.flush() == b""


def test_flush_without_input():
    r = Resampler(44100, 16000, 2)
    assert r.flush() == b""
    assert r.delay == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "numpy", "numpy-2d"])
def test_process_buffer_kinds(kind):
    x = S.speech_like(48000, 0.2, channels=2)
    src = {
        "bytes": lambda: x.tobytes(),
        "bytearray": lambda: bytearray(x.tobytes()),
        "memoryview": lambda: memoryview(x.tobytes()),
        "numpy": lambda: x,
        "numpy-2d": lambda: x.reshape(-1, 2),
    }[kind]()
    expected = resample(x.tobytes(), 48000, 16000, 2)
    r = Resampler(48000, 16000, 2)
    assert r.process(src) + r.flush() == expected
    assert resample(src, 48000, 16000, 2) == expected


def test_process_out():
    x = S.speech_like(48000, 0.3).tobytes()
    ref_r = Resampler(48000, 16000)
    expected = ref_r.process(x)
    r = Resampler(48000, 16000)
    # soxr's output count is only known once it has taken the input, so out= must
    # hold the documented worst case: this input's share + held back + 2 frames.
    worst = 2 * (len(x) // 2 * 16000 // 48000 + 2)
    assert worst >= len(expected)
    out = bytearray(b"\x5A" * (worst + 8))
    n = r.process(x, out=out)
    assert type(n) is int and n == len(expected)
    assert bytes(out[:n]) == expected
    assert out[n:] == b"\x5A" * (worst + 8 - n)
    assert r.flush() == ref_r.flush()


def test_process_out_too_small():
    r = Resampler(48000, 16000)
    with pytest.raises(ValueError, match=r"\bout\b"):
        r.process(S.speech_like(48000, 0.3).tobytes(), out=bytearray(10))


def test_process_out_too_small_leaves_stream_intact():
    # A call rejected with ValueError must not eat audio: retrying the same chunk
    # with a big enough buffer continues the stream as if the failed call never
    # happened.
    x = S.speech_like(48000, 0.6).tobytes()
    a, b = x[:9600], x[9600:]
    expected = resample(x, 48000, 16000)
    r = Resampler(48000, 16000)
    got = r.process(a)
    with pytest.raises(ValueError, match=r"\bout\b"):
        r.process(b, out=bytearray(2))
    got += r.process(b) + r.flush()
    assert len(got) == len(expected)
    assert got == expected


# ---- determinism -------------------------------------------------------------------

_DIGEST_SCRIPT = textwrap.dedent("""
    import hashlib, sys
    sys.path.insert(0, {tests!r})
    import signals as S
    from functools import partial
    import audiocore
    from audiocore import resample
    Resampler = partial(audiocore.Resampler, engine="soxr")
    h = hashlib.sha256()
    for q in ("quick", "low", "medium", "high", "very_high"):
        for (i, o) in ((48000, 16000), (48000, 8000), (8000, 16000), (44100, 16000), (16000, 48000)):
            for ch in (1, 2):
                pcm = S.speech_like(i, 0.1, seed=7, channels=ch).tobytes()
                h.update(resample(pcm, i, o, ch, quality=q))
                r = Resampler(i, o, ch, quality=q)
                step = 2 * ch * 97
                for k in range(0, len(pcm), step):
                    h.update(r.process(pcm[k:k + step]))
                h.update(r.flush())
    print(h.hexdigest())
""")


def _digest_in_process() -> str:
    ns: dict = {}
    code = _DIGEST_SCRIPT.format(tests=str(Path(__file__).parent))
    digest: list[str] = []
    ns["print"] = digest.append
    exec(compile(code, "<digest>", "exec"), ns)
    return digest[0]


def test_output_identical_across_runs_and_processes():
    first = _digest_in_process()
    second = _digest_in_process()
    assert first == second
    proc = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT.format(tests=str(Path(__file__).parent))],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == first


# ---- quality against python-soxr ---------------------------------------------------


@pytest.mark.parametrize("pair", RATE_PAIRS, ids=pair_id)
@pytest.mark.parametrize("quality", QUALITIES)
def test_snr_against_python_soxr(quality, pair):
    in_rate, out_rate = pair
    # Broadband noise 30 dB under the voiced peak reaches the transition band, where
    # the recipes differ, so a wrong recipe shows up as a low SNR.
    x = S.speech_like(in_rate, 1.0, seed=1, noise_db=-30)
    ours = resample(x.tobytes(), in_rate, out_rate, quality=quality)
    snrs = {q: S.snr_db(ours, soxr.resample(x, in_rate, out_rate, quality=PYSOXR_QUALITY[q]))
            for q in QUALITIES}
    print(f"SNR vs python-soxr {PYSOXR_QUALITY[quality]} {in_rate}->{out_rate}: "
          f"{snrs[quality]:.1f} dB")
    assert snrs[quality] >= 80.0
    # The preset names map to the matching recipes: the closest reference is the one
    # of the same name.
    assert max(snrs, key=snrs.get) == quality, snrs


# ---- alias rejection and passband --------------------------------------------------


def _alias_level(in_rate: int, out_rate: int, tone: float, converter) -> float:
    x = S.full_scale_sine(tone, in_rate, in_rate)  # 1 s
    y = converter(x.tobytes())
    # Leave out 0.1 s at each end: the tone's abrupt start and stop are broadband.
    return S.tone_level_dbfs(y, out_rate, S.alias_frequency(tone, out_rate), trim_seconds=0.1)


def test_alias_measurement_detects_unfiltered_decimation():
    # audioop.ratecv has no anti-alias filter: a 12 kHz tone folds to 4 kHz at about
    # full level. The measurement must see it, or the rejection test proves nothing.
    level = _alias_level(48000, 16000, 12000.0,
                         lambda b: ref.ratecv(b, 2, 1, 48000, 16000, None)[0])
    assert level > -3.0


@pytest.mark.parametrize("pair", [(48000, 16000), (48000, 8000)], ids=pair_id)
@pytest.mark.parametrize("tone_kind", ["nyquist*1.05", "nyquist*1.5", "20k"])
def test_alias_rejection_high(pair, tone_kind):
    in_rate, out_rate = pair
    nyq = out_rate / 2
    tone = {"nyquist*1.05": 1.05 * nyq, "nyquist*1.5": 1.5 * nyq, "20k": 20000.0}[tone_kind]
    level = _alias_level(in_rate, out_rate, tone,
                         lambda b: resample(b, in_rate, out_rate, quality="high"))
    print(f"alias {in_rate}->{out_rate} tone {tone:.0f} Hz -> "
          f"{S.alias_frequency(tone, out_rate):.0f} Hz: {level:.1f} dBFS")
    assert level <= -90.0


@pytest.mark.parametrize("pair", [(48000, 16000), (48000, 8000), (44100, 16000)],
                         ids=pair_id)
def test_passband_1khz_level(pair):
    in_rate, out_rate = pair
    x = S.full_scale_sine(1000.0, in_rate, in_rate)
    y = resample(x.tobytes(), in_rate, out_rate, quality="high")
    before = S.tone_level_dbfs(x, in_rate, 1000.0, trim_seconds=0.1)
    after = S.tone_level_dbfs(y, out_rate, 1000.0, trim_seconds=0.1)
    print(f"1 kHz {in_rate}->{out_rate}: {after - before:+.5f} dB")
    assert abs(before) < 0.01  # a full-scale tone reads 0 dBFS
    assert abs(after - before) <= 0.1


def test_level_measurement_self_check():
    rate = 16000
    assert S.tone_level_dbfs(S.sine(1234.5, rate, rate, level_dbfs=-40), rate, 1234.5) \
        == pytest.approx(-40.0, abs=0.05)
    assert S.tone_level_dbfs(S.sine(1234.5, rate, rate, level_dbfs=-40), rate, 3000) < -120
    assert S.tone_level_dbfs(np.zeros(rate, np.int16), rate, 1000) == -math.inf
    a = S.speech_like(rate, 0.2)
    assert S.snr_db(a, a) == math.inf
    assert S.snr_db(a // 2, a) == pytest.approx(6.02, abs=0.1)


# ---- delay, flush, reset -----------------------------------------------------------


@pytest.mark.parametrize("pair", RATE_PAIRS, ids=pair_id)
def test_delay_tracks_held_back_audio(pair):
    in_rate, out_rate = pair
    r = Resampler(in_rate, out_rate)
    assert r.delay == pytest.approx(0.0, abs=1e-9)
    x = S.speech_like(in_rate, 0.6)
    chunk = in_rate // 50  # 20 ms
    fed = emitted = 0
    held_back_seen = False
    for k in range(0, len(x) - chunk + 1, chunk):
        y = r.process(x[k:k + chunk])
        fed += chunk
        emitted += len(y) // 2
        d = r.delay
        assert d >= 0.0
        expected_out = fed * out_rate / in_rate
        if emitted < expected_out - 1:
            held_back_seen = True
            assert d > 0.0
        # Held-back seconds = what the input calls for minus what came out.
        assert d * out_rate == pytest.approx(expected_out - emitted, abs=1.0)
    assert held_back_seen
    before = r.delay
    tail = r.flush()
    assert len(tail) // 2 == pytest.approx(before * out_rate, abs=1.0)
    assert r.delay == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("pair", [(44100, 16000), (11025, 1000), (48000, 16000), (8000, 16000)],
                         ids=pair_id)
@pytest.mark.parametrize("quality", QUALITIES)
def test_delay_never_negative(quality, pair):
    in_rate, out_rate = pair
    r = Resampler(in_rate, out_rate, quality=quality)
    sizes = [1, 2, 3, 5, 7, 11, 100, 341, 441, 1000, 1, 17, 509, 4800, 3, 2]
    x = S.speech_like(in_rate, 1.0, seed=2).tobytes()
    assert len(x) >= 2 * sum(sizes)
    pos = 0
    for n in sizes:
        r.process(x[pos:pos + 2 * n])
        pos += 2 * n
        assert r.delay >= 0.0, f"delay {r.delay!r} s after {pos // 2} input frames"


def test_process_after_flush_raises_runtime_error():
    r = Resampler(48000, 16000)
    r.process(S.speech_like(48000, 0.05).tobytes())
    r.flush()
    with pytest.raises(RuntimeError):
        r.process(b"\x00\x00" * 480)
    with pytest.raises(RuntimeError):
        r.process(b"")


@pytest.mark.parametrize("state", ["fresh", "mid-stream", "flushed"])
@pytest.mark.parametrize("pair,channels,quality", [((48000, 16000), 1, "high"),
                                                   ((8000, 16000), 2, "quick"),
                                                   ((44100, 16000), 1, "very_high")])
def test_reset_equals_fresh_instance(state, pair, channels, quality):
    in_rate, out_rate = pair
    r = Resampler(in_rate, out_rate, channels, quality=quality)
    junk = S.speech_like(in_rate, 0.3, seed=99, channels=channels).tobytes()
    if state in ("mid-stream", "flushed"):
        r.process(junk)
    if state == "flushed":
        r.flush()
    r.reset()
    assert r.delay == pytest.approx(0.0, abs=1e-9)
    assert (r.in_rate, r.out_rate, r.channels, r.quality) == (in_rate, out_rate, channels,
                                                              quality)
    pcm = odd_signal(in_rate, channels, 0.3)
    plan = chunk_plan(509, len(pcm) // (2 * channels))
    fresh = run_stream(pcm, in_rate, out_rate, channels, plan, quality=quality)
    assert run_stream(pcm, in_rate, out_rate, channels, plan, r=r) == fresh


def test_reset_twice_and_reuse_many_times():
    r = Resampler(48000, 8000)
    pcm = S.speech_like(48000, 0.2).tobytes()
    expected = resample(pcm, 48000, 8000)
    for _ in range(5):
        r.reset()
        r.reset()
        assert r.process(pcm) + r.flush() == expected
