"""Every figure in the README and the public docstrings, checked: computed here
where the output is deterministic (the engines' filters, delays, G.711), or read
from the one measured run the README quotes (benchmarks/measured/: the
`audiocore bench --json` run and the pacer's real-loop cadence).

Each check builds the sentence the docs must contain from the figures, so a
figure that drifts from the code fails here with the sentence it should read.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soxr

import audiocore as ac
import signals as S
from audiocore import _validate, resampling
from audiocore._kernels import ulaw_encode
from dsp import FULL_SCALE, amplitude_at, db, folded, snr_db, speech, tone

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MEASURED = ROOT / "benchmarks" / "measured"
RATES = [8000, 16000, 22050, 24000, 44100, 48000]
PAIRS = list(itertools.permutations(RATES, 2))
WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve"]


def flat(text: str) -> str:
    """Whitespace-insensitive: README prose wraps anywhere."""
    return re.sub(r"\s+", " ", text)


def assert_says(phrase: str, text: str = README, where: str = "README.md") -> None:
    assert flat(phrase) in flat(text), f"{where} should say: {phrase!r}"


def up(x: float, digits: int) -> str:
    """x rounded up (for a "≤" bound) to `digits` decimals."""
    q = 10 ** digits
    return f"{math.ceil(x * q - 1e-9) / q:.{digits}f}"


def rng(lo: float, hi: float, fmt: str = "{:.2f}") -> str:
    a, b = fmt.format(lo), fmt.format(hi)
    return a if a == b else f"{a} to {b}" if lo < 0 else f"{a}–{b}"


def run(r: ac.Resampler, x: np.ndarray) -> np.ndarray:
    return np.frombuffer(r.process(x) + r.flush(), np.int16)


# ---- deterministic figures: computed ------------------------------------------------


@functools.lru_cache(maxsize=None)
def delays_ms(quality: str) -> dict[tuple[int, int], float]:
    return {(a, b): ac.Resampler(a, b, quality=quality).delay * 1000 for a, b in PAIRS}


def test_realtime_delays():
    d = delays_ms("high")
    with8 = max(v for p, v in d.items() if 8000 in p)
    with16 = max(v for p, v in d.items() if 16000 in p and 8000 not in p)
    above = max(v for p, v in d.items() if not {8000, 16000} & set(p))
    assert_says(f"≤ {up(with8, 2)} ms for pairs involving 8 kHz, ≤ {up(with16, 2)} ms for "
                f"16 kHz, ≤ {up(above, 2)} ms above")
    worst = max(d.values())
    assert_says(f"with at most {up(worst, 2)} ms of delay")
    assert_says(f"(:attr:`delay`, at most {up(worst, 2)} ms at \"high\", for 48 kHz to 8 kHz)",
                ac.Resampler.__doc__ or "", "Resampler docstring")
    assert max(d, key=d.get) == (48000, 8000)
    atten, pass_frac = resampling.REALTIME_PRESETS["very_high"]
    vh = max(delays_ms("very_high").values())
    assert_says(f"(very_high: {atten:g} dB, flat to {pass_frac:g}, ≤ {up(vh, 2)} ms)")


@functools.lru_cache(maxsize=None)
def worst_alias_db() -> float:
    """The loudest alias (downsampling) or image (upsampling) over every pair, dBFS,
    for full-scale tones above the lower Nyquist frequency."""
    worst = -math.inf
    for a, b in PAIRS:
        r = ac.Resampler(a, b)
        if b < a:
            cases = [(f, folded(f, b)) for f in (b / 2 * 1.02, b / 2 * 1.5, a / 2 * 0.95)]
        else:
            cases = [(f, folded(a - f, b)) for f in (1000.0, a / 2 * 0.85)]
        for f, lands_at in cases:
            r.reset()
            worst = max(worst, db(amplitude_at(run(r, tone(f, a)), b, lands_at) / FULL_SCALE))
    return worst


def test_realtime_rejection():
    dB = math.floor(-worst_alias_db())
    assert_says(f"≥ {dB} dB for any tone above the lower Nyquist frequency (all {len(PAIRS)} "
                f"pairs of 8/16/22.05/24/44.1/48 kHz)")
    assert_says(f"rejects everything above the lower Nyquist frequency by at least {dB} dB",
                ac.Resampler.__doc__ or "", "Resampler docstring")
    # The ratecv comparison: the same 12 kHz tone, 48k -> 16k.
    r = ac.Resampler(48000, 16000)
    ours = db(amplitude_at(run(r, tone(12000, 48000)), 16000, 4000) / FULL_SCALE)
    theirs = db(amplitude_at(np.frombuffer(ac.audioop.ratecv(
        tone(12000, 48000).tobytes(), 2, 1, 48000, 16000, None)[0], np.int16),
        16000, 4000) / FULL_SCALE)
    assert theirs > -3.0
    assert_says(f"a 12 kHz tone folds back to 4 kHz at {round(theirs):.0f} dBFS")
    if ours <= -200:  # nothing measurable: the output there is digital silence
        assert_says("`Resampler` leaves nothing of it: its output there rounds to zero.")
    else:
        assert_says(f"`Resampler` removes it by more than {math.floor(-ours / 10) * 10} dB.")


def test_realtime_passband():
    worst = 0.0
    for a, b in PAIRS:
        r = ac.Resampler(a, b)
        freqs = np.linspace(0.05, 0.85, 9) * min(a, b) / 2
        x = sum(tone(f, a, amplitude=3000).astype(np.int32) for f in freqs).astype(np.int16)
        y = run(r, x)
        worst = max(worst, max(abs(db(amplitude_at(y, b, f) / amplitude_at(x, a, f)))
                               for f in freqs))
    assert_says(f"flat within {up(worst, 3)} dB to 0.85 of the lower Nyquist frequency")
    assert_says("is flat to 0.85 of it", ac.Resampler.__doc__ or "", "Resampler docstring")


def test_realtime_against_soxr_vhq():
    voice, full = [], []
    for a, b in PAIRS:
        r = ac.Resampler(a, b)
        shift = round(r.delay * b)
        x = speech(a, 1.0, band=0.85 * min(a, b) / 2)
        ref = soxr.resample(x.astype(np.float64), a, b, quality="VHQ")
        voice.append(snr_db(run(r, x)[shift:], ref, trim=b // 20))
        if min(a, b) in (8000, 16000):
            r.reset()
            x = speech(a, 1.0)
            ref = soxr.resample(x.astype(np.float64), a, b, quality="VHQ")
            full.append(snr_db(run(r, x)[shift:], ref, trim=b // 20))
    _, pass_frac = resampling.REALTIME_PRESETS["high"]
    assert_says(f"{rng(min(voice), max(voice), '{:.0f}')} dB SNR on voice-band speech; "
                f"{rng(min(full), max(full), '{:.0f}')} dB on full-band speech at 8/16 kHz, "
                f"where its shorter transition band [{pass_frac:g}, 1.0] × Nyquist")


def test_soxr_quality():
    for a, b in [(48000, 16000), (48000, 8000)]:
        for f in (1.05 * b / 2, 1.5 * b / 2, 20000.0):
            y = ac.resample(S.full_scale_sine(f, a, a).tobytes(), a, b)
            level = S.tone_level_dbfs(np.frombuffer(y, np.int16), b,
                                      S.alias_frequency(f, b), trim_seconds=0.1)
            assert level == -math.inf, (a, b, f, level)
    assert_says("at \"high\", 48k→16k and 48k→8k: the aliased tone rounds to exactly zero "
                "in int16")
    one_k, flat_to, at_094 = 0.0, 0.0, []
    for a, b in [(48000, 16000), (48000, 8000), (44100, 16000)]:
        x = S.full_scale_sine(1000.0, a, a)
        y = np.frombuffer(ac.resample(x.tobytes(), a, b), np.int16)
        one_k = max(one_k, abs(S.tone_level_dbfs(y, b, 1000.0, trim_seconds=0.1)
                               - S.tone_level_dbfs(x, a, 1000.0, trim_seconds=0.1)))
        for frac in np.linspace(0.1, 0.92, 9):
            f = frac * b / 2
            x = S.sine(f, a, a, level_dbfs=-6)
            y = np.frombuffer(ac.resample(x.tobytes(), a, b), np.int16)
            flat_to = max(flat_to, abs(S.tone_level_dbfs(y, b, f, trim_seconds=0.1) + 6))
        f = 0.94 * b / 2
        y = np.frombuffer(ac.resample(S.sine(f, a, a, level_dbfs=-6).tobytes(), a, b), np.int16)
        at_094.append(S.tone_level_dbfs(y, b, f, trim_seconds=0.1) + 6)
    assert_says(f"1 kHz within {up(one_k, 4)} dB; flat within {up(flat_to, 2)} dB to 0.92 "
                f"of Nyquist, {rng(min(at_094), max(at_094), '{:.1f}')} dB at 0.94")


def g191_ulaw(x: np.ndarray) -> np.ndarray:
    """ITU-T G.191's mu-law encoder: the one's complement of negative samples."""
    x = x.astype(np.int32)
    mag = np.where(x < 0, (~x) >> 2, x >> 2) + 33
    mag = np.minimum(mag, 0x1FFF)
    seg = np.zeros_like(mag)
    i = mag >> 6
    seg += 1
    while np.any(i):
        seg += i != 0
        i >>= 1
    code = ((8 - seg) << 4) | (15 - ((mag >> seg) & 15))
    return np.where(x >= 0, code | 0x80, code).astype(np.uint8)


def test_ulaw_differences_from_g191():
    x = np.arange(-32768, 32768, dtype=np.int16)
    ours = np.frombuffer(ulaw_encode(x), np.uint8)
    differ = x[ours != g191_ulaw(x)]
    assert len(differ) and (differ < 0).all()
    assert_says(f"on {len(differ)} negative inputs it negates the shifted sample")
    assert_says(f"on {len(differ)} negative inputs", ulaw_encode.__doc__ or "", "ulaw_encode")


def test_limits_in_docstrings():
    doc = flat(ac.Resampler.__doc__ or "")
    assert_says(f"a positive int up to {_validate.MAX_RATE}", doc, "Resampler docstring")
    assert_says(f"between 1/{_validate.MAX_RATIO} and {_validate.MAX_RATIO}", doc,
                "Resampler docstring")
    assert_says(f"1 to {_validate.MAX_CHANNELS}", doc, "Resampler docstring")
    assert_says(f"1 to {_validate.MAX_CHANNELS}", ac.Converter.__doc__ or "",
                "Converter docstring")
    assert_says(f"a positive int up to {_validate.MAX_RATE}", ac.FramePacer.__doc__ or "",
                "FramePacer docstring")
    assert_says(f"rates ≤ 0 or above {_validate.MAX_RATE} Hz, rate ratios beyond "
                f"{_validate.MAX_RATIO}")
    for name in ("Resampler", "Converter", "FramePacer"):
        assert "any positive" not in flat(getattr(ac, name).__doc__ or ""), name
    with pytest.raises(ValueError):
        ac.Resampler(_validate.MAX_RATE + 1, 48000)
    with pytest.raises(ValueError, match="between 1/"):
        ac.Resampler(1000, 1000 * _validate.MAX_RATIO + 1, engine="soxr")
    ac.Resampler(1000, 1000 * _validate.MAX_RATIO, engine="soxr")


def test_gil_threshold():
    pxd = (ROOT / "src" / "audiocore" / "_buffers.pxd").read_text()
    nbytes = int(re.search(r"NOGIL_MIN_BYTES = (\d+)", pxd).group(1))
    assert_says(f"Every C loop over more than {nbytes // 1024} KiB runs without the GIL")


# ---- timing figures: the measured run ------------------------------------------------


@functools.lru_cache(maxsize=None)
def bench() -> dict:
    return json.loads((MEASURED / "bench.json").read_text())


def case(case_id: str) -> dict:
    return next(c for c in bench()["cases"] if c["id"] == case_id)


def subject(case_id: str, label_start: str) -> dict:
    return next(s for s in case(case_id)["subjects"] if s["label"].startswith(label_start))


def amort_us(s: dict) -> float:
    return s["amortised_ns"] / 1000


def ratio(case_id: str, peer: str) -> float:
    s = next(s for s in case(case_id)["subjects"] if s["id"] == peer and "ratio" in s)
    return s["ratio"]["value"]


def test_the_measured_files_are_one_run():
    b = bench()
    text = (MEASURED / "bench.txt").read_text()
    assert f"bench (default, {b['seconds']:.1f} s)" in text
    assert f"costs {b['capacity']['frame_ns'] / 1000:.2f} us of DSP" in text
    assert b["summary"]["exit_code"] in (0, 1)


def test_readme_excerpt_is_from_the_measured_run():
    text = (MEASURED / "bench.txt").read_text().splitlines()
    block = README.split("A default run on", 1)[1].split("```", 2)[1]
    lines = [ln for ln in block.splitlines()[1:] if ln.strip()]
    assert len(lines) >= 10
    for ln in lines:
        assert ln.rstrip() in (t.rstrip() for t in text), f"not in the measured run: {ln!r}"


def test_bench_duration_and_targets():
    b = bench()
    assert_says(f"the benchmark harness (about {round(b['seconds'], -1):.0f} s)")
    assert_says(f"audiocore bench                  # about {round(b['seconds'], -1):.0f} s")
    held, missed = b["summary"]["held"], b["summary"]["missed"]
    total = held + len(missed)
    verb = "was" if len(missed) == 1 else "were"
    assert_says(f"in the run quoted below, {WORDS[len(missed)]} of the {WORDS[total]} {verb}")
    assert_says(f"{WORDS[held].capitalize()} of the {WORDS[total]} ratio targets held in "
                f"that run")
    for m in missed:
        assert_says(f"{m['case']} vs {m['peer']} ({m['ratio']:.2f}, target {m['target']:g})")


REALTIME = [c["id"] for c in bench()["cases"] if c["id"].startswith("resample.realtime.")]
DOWN = [c for c in REALTIME if case(c)["stream"]["out_rate"] < case(c)["stream"]["in_rate"]]
UP = [c for c in REALTIME if c not in DOWN]


def test_engine_costs():
    def us(case_id: str) -> str:
        return f"{amort_us(subject(case_id, 'Resampler')):.1f} µs"

    down = ["resample.realtime.48k-8k", "resample.realtime.48k-16k", "resample.realtime.8k-16k"]
    up_ = ["resample.realtime.16k-48k", "resample.realtime.24k-48k"]
    r_down = [ratio(c, "soxr") for c in down]
    r_up = [ratio(c, "soxr") for c in up_]
    up_us = [amort_us(subject(c, "Resampler")) for c in up_]
    assert_says(f"48k→8k {us(down[0])}, 48k→16k {us(down[1])}, 8k→16k {us(down[2])} "
                f"({rng(min(r_down), max(r_down))}× python-soxr HQ); 16k/24k→48k "
                f"{rng(min(up_us), max(up_us), '{:.1f}')} µs "
                f"({rng(min(r_up), max(r_up))}×)")
    peer = [amort_us(subject(c, "python-soxr")) for c in REALTIME]
    assert_says(f"python-soxr HQ {rng(min(peer), max(peer), '{:.0f}')} µs")


def test_prose_after_the_excerpt():
    soxr_d = [ratio(c, "soxr") for c in DOWN]
    soxr_u = [ratio(c, "soxr") for c in UP]
    lk = [ratio(c, "livekit") for c in REALTIME]
    held = max(s["stream"]["held_back_ms"] for c in REALTIME for s in case(c)["subjects"]
               if "stream" in s and not s["ours"])
    assert_says(f"where soxr and livekit hold back up to {held:.0f} ms, at "
                f"{rng(min(soxr_d), max(soxr_d), '{:.1f}')}× python-soxr's cost for the "
                f"downsampling pairs, {rng(min(soxr_u), max(soxr_u), '{:.1f}')}× for "
                f"upsampling, and {rng(min(lk), max(lk))}× livekit's")
    cap = bench()["capacity"]
    sessions = round(cap["sessions_per_core"], -2)
    assert_says(f"costs about {cap['frame_ns'] / 1000:.0f} µs of DSP per 20 ms frame: "
                f"{cap['cpu_ms_per_session_second']:.2f} ms of CPU per session-second, about "
                f"{sessions:,.0f} sessions per core")


def test_kernel_work_and_ratio_spread():
    w = bench()["work"]
    rs = next(c for c in w["cases"] if c["case"] == "resample.realtime.48k-16k")
    assert_says(f"48k→16k does its {rs['macs_per_frame']:,} multiply-adds at "
                f"{100 * rs['fraction_of_floor']:.0f} % of the floor rate")
    for m in bench()["summary"]["missed"]:
        s = next(s for s in case(m["case"])["subjects"] if s["id"] == m["peer"])
        assert_says(f"(the middle half of this one's paired rounds: "
                    f"{s['ratio']['paired_q25']:.2f}–{s['ratio']['paired_q75']:.2f})")


def test_soxr_streaming_figures():
    soxr_cases = [c["id"] for c in bench()["cases"] if c["id"].startswith("resample.soxr.")]
    empty = [subject(c, "Resampler")["stream"]["empty_share"] * 100 for c in soxr_cases]
    assert_says(f"bursts: {rng(min(empty), max(empty), '{:.0f}')} % of calls return nothing")

    def held(pair: str) -> str:
        return f"{subject('resample.soxr.' + pair, 'Resampler')['stream']['held_back_ms']:.0f} ms"

    assert_says(f"worst held-back audio {held('48k-16k')} (48k→16k), {held('48k-8k')} "
                f"(48k→8k), {held('8k-16k')} (8k→16k)")
    assert_says(f"(up to {held('48k-8k')} for 48k->8k at \"high\" with 20 ms chunks)",
                ac.Resampler.__doc__ or "", "Resampler docstring")


def test_pacer_cadence():
    p = json.loads((MEASURED / "pacer_cadence.json").read_text())
    assert p["frames"] == round(p["seconds"] * 1000 / p["frame_ms"])
    assert_says(f"Over {p['seconds']:.0f} s of {p['frame_ms']:.0f} ms frames on a real asyncio "
                f"loop here, no frame went out more than {p['earliest_ms']:.2f} ms early, 99 % "
                f"were at most {p['p99_late_ms']:.2f} ms late, and the drift was "
                f"{p['drift_ms']:.2f} ms; {stalls(p['restarts'])} of the shared machine longer "
                f"than a frame restarted the schedule")


def stalls(n: int) -> str:
    count = WORDS[n] if n < len(WORDS) else str(n)
    return f"{count} stall" if n == 1 else f"{count} stalls"


# ---- constants of the code the docs name ----------------------------------------------


def test_harness_and_engine_constants():
    from audiocore.bench.timing import GROUP
    from audiocore.pacing import DEFAULT_MAX_BUFFER_MS

    assert_says(f"alternating batches of {GROUP} consecutive frames")
    assert_says(f"the median of the {GROUP}-call sums divided by {GROUP}")
    assert_says(f"Each benchmarked call runs {GROUP} consecutive frames; divide by {GROUP}")
    assert bench()["mode"]["group"] == GROUP
    assert_says(f"Default :data:`DEFAULT_MAX_BUFFER_MS` ({DEFAULT_MAX_BUFFER_MS // 1000} s)",
                ac.FramePacer.__doc__ or "", "FramePacer docstring")
    # "integer ratios of 4 and more run as a short stage plus a sharp one"
    split = {n: resampling.filter_bank(48000, 48000 // n, "high").stages for n in (2, 3, 4, 6)}
    assert split == {2: 1, 3: 1, 4: 2, 6: 2}
    assert_says("integer ratios of 4 and more run as a short stage plus a sharp one")
    r = ac.Resampler(48000, 16000)
    assert len(r.process(bytes(2 * 960))) == 2 * 320
    assert_says("# 320 samples out for every 960 in")
