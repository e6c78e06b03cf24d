"""The benchmark harness behind ``audiocore bench``: its statistics, verdicts,
report, JSON and command line. Nothing here asserts how fast anything is; the
runs that happen are tiny and only their shape is checked."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import numpy as np
import pytest

import audiocore as ac
from audiocore import cli
from audiocore.bench import budgets as bud
from audiocore.bench import cases as cs
from audiocore.bench import report, runner, signals, streams, timing
from audiocore.bench.peers import Peers, find_peers
from audiocore.bench.stepping import HandRolledPacer, PacerStepper

# -- statistics --------------------------------------------------------------------------


def test_median_and_nearest_rank_percentile():
    assert timing.median([3, 1, 2]) == 2
    assert timing.median([4, 1, 3, 2]) == 2.5
    values = list(range(1, 101))
    assert timing.percentile(values, 99) == 99
    assert timing.percentile(values, 100) == 100
    assert timing.percentile(values, 0) == 1
    assert timing.percentile([5, 7], 50) == 5  # a value that was observed, not 6
    assert timing.percentile(list(range(1, 11)), 25) == 3  # rank ceil(2.5), not 2
    assert timing.percentile(list(range(1, 1001)), 99.95) == 1000
    with pytest.raises(ValueError):
        timing.median([])
    with pytest.raises(ValueError):
        timing.percentile([1], 101)


def test_summarize_takes_the_harness_floor_off():
    floor = timing.Floor(call_ns=70.0, loop_ns=10.0)
    s = timing.Samples(per_call=[170] * 98 + [1070, 5070], groups=[5500, 6000, 9000])
    st = timing.summarize(s, floor)
    assert st.median_ns == 100
    assert st.p99_ns == 1000
    assert st.amortised_ns == 6000 / 50 - 10
    assert st.max_ns == 5000 and st.min_ns == 100
    assert st.mean_ns == pytest.approx((170 * 98 + 1070 + 5070) / 100 - 70)
    assert st.best_ns == 5500 / 50 - 10
    assert (st.calls, st.groups) == (100, 3)


def test_ratio_is_amortised_ours_over_peer_and_paired_by_round():
    floor = timing.Floor(call_ns=0.0, loop_ns=0.0)
    ours = timing.Samples(groups=[1000, 1100, 900, 5000])
    peer = timing.Samples(groups=[4000, 4400, 3600, 4000])
    r = timing.ratio(ours, peer, floor)
    assert r.value == pytest.approx(1050 / 4000)
    # Round by round: 0.25, 0.25, 0.25, 1.25.
    assert r.paired_median == pytest.approx(0.25)
    assert r.paired_q75 == pytest.approx(0.25)
    assert r.rounds == 4
    with pytest.raises(ValueError):
        timing.ratio(ours, timing.Samples(groups=[1]), floor)


def test_measure_interleaves_and_reverses_the_order_every_other_round():
    calls: list[str] = []

    def fn(tag: str) -> None:
        calls.append(tag)

    a = timing.Timed(fn, [("a",)] * timing.GROUP)
    b = timing.Timed(fn, [("b",)] * timing.GROUP)
    samples, rounds = timing.measure([a, b], min_time=0.0, min_rounds=3, max_rounds=3,
                                     warmup_rounds=0)
    assert rounds == 3
    assert [len(s.groups) for s in samples] == [3, 3]
    assert [len(s.per_call) for s in samples] == [3 * timing.GROUP] * 2
    # Each batch is one group pass and one per-call pass: 2 x GROUP calls.
    batches = [calls[i] for i in range(0, len(calls), 2 * timing.GROUP)]
    assert batches == ["a", "b", "b", "a", "a", "b"]


def test_measure_stops_at_max_rounds_and_wants_whole_groups():
    t = timing.Timed(lambda: None, [()] * timing.GROUP)
    _, rounds = timing.measure([t], min_time=1e9, min_rounds=1, max_rounds=4, warmup_rounds=0)
    assert rounds == 4
    with pytest.raises(ValueError, match="50 frames"):
        timing.measure([timing.Timed(lambda: None, [()] * 3)], min_time=0, min_rounds=1,
                       max_rounds=1)


# -- stream figures --------------------------------------------------------------------------


def test_stream_figures_of_a_bursty_stream():
    # 20 ms of 16 kHz per call is 320 samples; nothing for 3 calls, then 4 at once.
    counts = [0, 0, 0, 1280] * 5
    f = streams.stream_figures(counts, 20, 16000)
    assert f.empty_share == 0.75
    assert f.largest_burst_samples == 1280 and f.largest_burst_ms == 80
    assert f.held_back_ms == 60
    assert f.delay_ms == 0 and f.latency_ms == 60


def test_stream_figures_of_a_steady_stream_with_group_delay():
    counts = [319, 321] * 10
    f = streams.stream_figures(counts, 20, 16000, delay_s=0.003375)
    assert f.empty_share == 0
    assert f.held_back_ms == pytest.approx(1 / 16, abs=1e-9)  # one sample at most
    assert f.delay_ms == pytest.approx(3.375)
    assert f.latency_ms == pytest.approx(3.4375)


def test_output_counts_cycles_the_frames():
    seen = []
    counts = streams.output_counts(lambda x: seen.append(x) or b"ab" * x, [(1,), (2,)],
                                   lambda out: len(out) // 2, calls=5)
    assert seen == [1, 2, 1, 2, 1] and counts == seen


# -- budgets and verdicts ---------------------------------------------------------------------


def test_parse_budgets_and_judge():
    b = bud.parse_budgets({"machine": "m", "cases": {
        "c": {"budget_ns": 100, "peer": "p", "targets": {"p": 0.5, "q": 0.1}, "why": "w"}}})
    budget = b.get("c")
    assert budget.budget_ns == 100 and budget.peer == "p"
    assert b.get("other") == bud.Budget("other")
    verdicts = bud.judge_ratios("c", budget, {"p": 0.5})
    assert [(v.peer, v.status) for v in verdicts] == [("p", bud.HELD), ("q", bud.SKIPPED)]
    missed = bud.judge_ratios("c", budget, {"p": 0.51, "q": 0.3})
    assert [v.status for v in missed] == [bud.MISSED, bud.MISSED]
    assert missed[1].shortfall == pytest.approx(3.0)
    assert bud.judge_absolute(budget, 100) == bud.WITHIN
    assert bud.judge_absolute(budget, 101) == bud.OVER
    assert bud.judge_absolute(bud.Budget("x"), 1e9) is None


@pytest.mark.parametrize("doc, match", [
    ({}, "cases"),
    ({"cases": {"c": {"budget_ns": 0}}}, "positive"),
    ({"cases": {"c": {"budget_ns": True}}}, "positive"),
    ({"cases": {"c": {"targets": {"p": -1}}}}, "positive"),
    ({"cases": {"c": {"targets": [0.5]}}}, "peer ids"),
    ({"cases": {"c": {"budget": 5}}}, "unknown keys"),
    ({"cases": {"c": 5}}, "object"),
])
def test_bad_budgets_are_refused(doc, match):
    with pytest.raises(ValueError, match=match):
        bud.parse_budgets(doc)


def test_exit_code_follows_ratio_targets_and_absolute_only_on_request():
    held = bud.Verdict("c", "p", 0.5, 0.4, bud.HELD)
    missed = bud.Verdict("c", "p", 0.5, 0.6, bud.MISSED)
    skipped = bud.Verdict("c", "q", 0.5, None, bud.SKIPPED)
    assert bud.exit_code([held, skipped], [bud.OVER]) == 0
    assert bud.exit_code([held, skipped], [bud.OVER], use_absolute=True) == 1
    assert bud.exit_code([held, missed], [bud.WITHIN]) == 1
    assert bud.exit_code([], [None, bud.WITHIN], use_absolute=True) == 0


def test_the_repository_budgets_file_parses_and_names_real_cases_and_peers():
    path = Path(__file__).resolve().parents[1] / "src" / "audiocore" / "bench" / bud.FILE_NAME
    b = bud.load_budgets(path)
    ids = {c.id for c in cs.CASES}
    assert set(b.cases) <= ids
    peer_ids = {"audioop", "numpy", "soxr", "livekit", "soxr+audioop", "livekit+audioop",
                "python"}
    for budget in b.cases.values():
        assert budget.budget_ns, budget.case
        assert set(budget.targets) <= peer_ids and (budget.peer is None or
                                                    budget.peer in peer_ids)
    # The targets, never loosened.
    assert b.get("ulaw_encode").targets == {"audioop": 0.25}
    assert b.get("ulaw_decode").targets == {"audioop": 1.0}
    assert b.get("downmix").targets == {"audioop": 0.15}
    assert b.get("resample.realtime.48k-8k").targets == {"soxr": 0.35}
    assert b.get("resample.realtime.48k-16k").targets == {"soxr": 0.4}
    assert b.get("resample.realtime.16k-48k").targets == {"soxr": 0.5}
    assert b.get("resample.realtime.24k-48k").targets == {"soxr": 0.5}
    assert b.get("session").budget_ns == 10000  # 2,000 sessions per core
    assert b.get("convert.stt").targets == {"soxr+audioop": 0.25, "livekit+audioop": 0.12}
    assert b.get("convert.tts_ulaw").targets == {"soxr+audioop": 0.35}


# -- signals ----------------------------------------------------------------------------------


def test_voice_is_deterministic_speech_not_silence_or_a_tone():
    a = signals.voice(16000, 0.5)
    assert a == signals.voice(16000, 0.5)
    assert a != signals.voice(16000, 0.5, seed=1)
    x = np.frombuffer(a.tobytes(), dtype=np.int16).astype(float)
    assert len(x) == 8000 and np.abs(x).max() <= 32767
    rms = np.sqrt((x.reshape(-1, 320) ** 2).mean(axis=1))
    assert rms.min() > 500  # every 20 ms frame carries voice
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    # Harmonics of ~140 Hz carry most energy, yet no single bin dominates (not a tone),
    # and the top of the band is not empty (noise).
    assert spec[(freqs > 100) & (freqs < 3500)].sum() > 0.9 * spec.sum()
    assert spec.max() < 0.2 * spec.sum()
    assert spec[freqs > 5000].sum() > 1e-5 * spec.sum()


def test_make_signals_gives_50_frames_of_20_ms_at_every_rate():
    sig = signals.make_signals()
    for rate in signals.RATES:
        assert len(sig.mono[rate]) == 50 and len(sig.other[rate]) == 50
        assert {len(f) for f in sig.mono[rate]} == {rate // 50 * 2}
    assert {len(f) for f in sig.stereo48} == {3840}
    st = np.frombuffer(sig.stereo48[10], dtype=np.int16)
    assert not np.array_equal(st[0::2], st[1::2])
    assert {len(f) for f in sig.ulaw8} == {160}
    assert ac.ulaw_decode(sig.ulaw8[3]) == ac.ulaw_decode(ac.ulaw_encode(sig.mono[8000][3]))


# -- cases ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sig():
    return signals.make_signals()


@pytest.fixture(scope="module")
def peers():
    return find_peers()


def test_every_case_builds_with_no_peer_installed(sig):
    for case in cs.CASES:
        subjects = case.build(sig, Peers())
        try:
            # The pure-Python FIFO needs nothing installed; every other peer does.
            assert [s.id for s in subjects] in (["audiocore"], ["audiocore", "python"]), case.id
            for s in subjects:
                assert len(s.args) == timing.GROUP
                s.runner(lambda s=s: [s.fn(*a) for a in s.args])
        finally:
            for s in subjects:
                s.close()


def test_case_ids_are_unique_and_select_matches_patterns():
    ids = [c.id for c in cs.CASES]
    assert len(ids) == len(set(ids))
    assert [c.id for c in cs.select(["resample.realtime.48k-*"])] == [
        "resample.realtime.48k-16k", "resample.realtime.48k-8k"]
    assert cs.select([]) == list(cs.CASES)
    with pytest.raises(ValueError, match="no case matches"):
        cs.select(["nope*"])


@pytest.mark.parametrize("case_id", ["ulaw_encode", "ulaw_decode", "alaw_encode",
                                     "alaw_decode", "downmix", "upmix", "mix"])
def test_kernel_peers_compute_what_ours_computes(sig, peers, case_id):
    # A peer that did less work would flatter it; each one must give our bytes.
    (case,) = cs.select([case_id])
    subjects = case.build(sig, peers)
    ours = subjects[0]
    for s in subjects[1:]:
        for a_ours, a_peer in zip(ours.args, s.args):
            assert bytes(memoryview(s.fn(*a_peer)).cast("B")) == ours.fn(*a_ours), s.id


def test_stream_peers_return_the_nominal_amount_over_time(sig, peers):
    for case in cs.CASES:
        if case.stream is None:
            continue
        subjects = case.build(sig, peers)
        try:
            nominal = streams.CALLS * case.stream.out_rate // 50
            for s in subjects:
                assert s.out_samples is not None
                total = sum(streams.output_counts(s.fn, s.args, s.out_samples))
                # Everything but what is held back (< 200 ms) has come out.
                assert nominal - case.stream.out_rate // 5 < total <= nominal + 2, (
                    case.id, s.id)
        finally:
            for s in subjects:
                s.close()


def test_ring_peer_returns_the_frame_it_was_given(sig):
    (case,) = cs.select(["ring"])
    for s in case.build(sig, Peers()):
        for (frame,) in s.args[:5]:
            assert s.fn(frame) == frame


def test_pacer_stepper_takes_each_frame_when_due_without_waiting(sig):
    pacer = ac.FramePacer(48000, frame_ms=20)
    by_hand = HandRolledPacer(1920, 0.02)
    for stepper, buffered in [
            (PacerStepper.for_pacer(pacer), lambda: pacer.buffered_ms),
            (PacerStepper(by_hand.push, by_hand.frames(), 0.02), lambda: len(by_hand.buf))]:
        try:
            frames = sig.mono[48000][:60]
            out = stepper.run(lambda: [stepper.push_take(f) for f in frames])
            assert out == frames
            assert buffered() == 0
            # With nothing pushed, the pacer would have to wait: the stepper says so.
            with pytest.raises(RuntimeError, match="waited"):
                stepper.run(stepper.take)
        finally:
            stepper.close()


def test_the_stepped_clock_is_past_each_deadline_by_a_quarter_period():
    seen = []

    async def frames():
        loop = asyncio.get_running_loop()
        while True:
            seen.append(loop.time())
            yield b""

    stepper = PacerStepper(lambda data: None, frames(), 0.02)
    try:
        stepper.run(lambda: [stepper.take() for _ in range(4)])
        t0 = seen[0]
        assert [round(t - t0, 9) for t in seen] == [0.0, 0.025, 0.045, 0.065]
    finally:
        stepper.close()


# -- report and JSON -------------------------------------------------------------------------------


def _stats(ns: float) -> timing.Stats:
    return timing.Stats(median_ns=ns, p99_ns=2 * ns, amortised_ns=ns, mean_ns=ns,
                        best_ns=0.8 * ns, min_ns=ns, max_ns=3 * ns, calls=500, groups=10)


def _ratio(v: float) -> timing.Ratio:
    return timing.Ratio(v, v, v, v, 10)


def _fake_run(use_absolute: bool = False) -> runner.RunResult:
    budgets = bud.parse_budgets({"machine": "test box", "cases": {
        "ulaw_encode": {"budget_ns": 100, "peer": "audioop",
                        "targets": {"audioop": 0.25, "livekit": 0.1}},
        "resample.realtime.48k-16k": {"budget_ns": 5000, "peer": "soxr",
                                      "targets": {"soxr": 0.5}},
        "session": {"budget_ns": 30000},
    }})
    budgets = bud.Budgets(Path("budgets.json"), budgets.machine, budgets.cases)
    fig = streams.stream_figures([320] * 10, 20, 16000, 0.003)
    soxr_fig = streams.stream_figures([0, 0, 960] * 3, 20, 16000)
    results = []
    for case_id, subjects in [
        ("ulaw_encode", [runner.SubjectResult("audiocore", "audiocore.ulaw_encode", True,
                                              _stats(140)),
                         runner.SubjectResult("audioop", "audioop.lin2ulaw", False,
                                              _stats(630), ratio=_ratio(0.222))]),
        ("resample.realtime.48k-16k", [
            runner.SubjectResult("audiocore", "Resampler realtime", True, _stats(8000), fig),
            runner.SubjectResult("soxr", "python-soxr HQ", False, _stats(7400), soxr_fig,
                                 _ratio(1.081))]),
        ("resample.soxr.48k-16k", [
            runner.SubjectResult("audiocore", "Resampler soxr", True, _stats(4000), soxr_fig),
            runner.SubjectResult("soxr", "python-soxr HQ", False, _stats(8000), soxr_fig,
                                 _ratio(0.5))]),
        ("session", [runner.SubjectResult("audiocore", "session", True, _stats(20000))]),
    ]:
        (case,) = cs.select([case_id])
        budget = budgets.get(case_id)
        r = runner.CaseResult(case, subjects, 10, timing.Floor(70, 10), 1.0, budget)
        r.verdicts = bud.judge_ratios(case_id, budget, {
            s.id: s.ratio.value for s in subjects if s.ratio})
        r.absolute = bud.judge_absolute(budget, subjects[0].stats.amortised_ns)
        results.append(r)
    peers = Peers(found={"audioop": "stdlib", "soxr": "1.1.0"},
                  missing={"livekit": "ModuleNotFoundError"})
    return runner.RunResult(runner.MODES["quick"], peers, budgets, results, 4.0, use_absolute)


ENV = {"python": "CPython 3.x", "platform": "Linux", "cpu": "cpu", "cpu_count": 2,
       "executable": "python", "versions": {"audiocore": "0.1.0", "libsoxr": "x"}}


def test_table_shows_ours_peers_ratios_targets_and_verdicts():
    run = _fake_run()
    text = report.render(run, ENV)
    lines = text.splitlines()
    head = next(line for line in lines if line.startswith("case "))
    for col in ("ours med", "p99", "amort", "budget", "peer", "ratio", "target", "pass"):
        assert col in head
    row = next(line for line in lines if line.startswith("ulaw_encode "))
    assert row.split() == ["ulaw_encode", "0.14", "0.28", "0.14", "0.10", "over",
                           "audioop.lin2ulaw", "0.63", "0.222", "<=", "0.25", "pass"]
    assert any("livekit (not installed)" in line and line.endswith("skip") for line in lines)
    rs = next(line for line in lines if line.startswith("resample.realtime.48k-16k "))
    assert rs.split()[-4:] == ["1.081", "<=", "0.5", "MISS"]
    assert "peers found: audioop stdlib, soxr 1.1.0; not found: livekit" in text
    assert "Targets: 1 held, 1 missed, 1 skipped" in text
    assert ("MISSED resample.realtime.48k-16k vs soxr: ours/peer = 1.081, target <= 0.5 "
            "(2.2x the target)") in text
    assert "1.00 ms CPU per session-second, 1,000 sessions per core" in text
    assert "Least disturbed second of the run: 16.00 us, 1,250 sessions per core" in text
    assert "ulaw_encode 0.14 > 0.10 us" in text


def test_stream_table_shows_each_peer_once_per_rate_pair():
    table = report.stream_table(_fake_run())
    rows = table.splitlines()[2:]
    assert sum("python-soxr HQ" in r for r in rows) == 1
    ours = next(r for r in rows if "Resampler realtime" in r).split()
    assert ours[-5:] == ["%", "20.0", "0.00", "3.00", "3.00"]
    soxr = next(r for r in rows if "python-soxr HQ" in r).split()
    assert soxr[-6:] == ["67", "%", "60.0", "40.00", "-", "40.00"]


def test_json_holds_every_figure():
    run = _fake_run()
    doc = json.loads(json.dumps(report.to_json(run, ENV)))
    assert doc["schema"] == report.SCHEMA
    assert set(doc) >= {"created", "mode", "environment", "peers", "budgets", "cases",
                        "capacity", "summary"}
    assert doc["environment"]["versions"]["audiocore"] == "0.1.0"
    assert doc["peers"]["missing"] == {"livekit": "ModuleNotFoundError"}
    by_id = {c["id"]: c for c in doc["cases"]}
    rs = by_id["resample.realtime.48k-16k"]
    assert rs["stream"] == {"in_rate": 48000, "out_rate": 16000}
    ours, soxr = rs["subjects"]
    assert set(ours) >= {"median_ns", "p99_ns", "amortised_ns", "mean_ns", "best_ns", "min_ns",
                         "max_ns", "calls_timed", "groups_timed", "stream"}
    assert set(ours["stream"]) == {"calls", "empty_share", "largest_burst_samples",
                                   "largest_burst_ms", "held_back_ms", "delay_ms",
                                   "latency_ms"}
    assert soxr["ratio"]["value"] == 1.081
    assert rs["verdicts"] == [{"case": "resample.realtime.48k-16k", "peer": "soxr",
                               "target": 0.5, "ratio": 1.081, "status": "missed"}]
    assert doc["capacity"] == {"frame_ns": 20000, "cpu_ms_per_session_second": 1.0,
                               "sessions_per_core": 1000.0, "best_frame_ns": 16000,
                               "best_sessions_per_core": 1250.0}
    assert doc["summary"]["exit_code"] == 1
    assert doc["summary"]["absolute_over"] == ["ulaw_encode", "resample.realtime.48k-16k"]


def test_capacity_arithmetic():
    cap = runner.Capacity(frame_ns=20_000, best_frame_ns=10_000)
    assert cap.cpu_ms_per_second == pytest.approx(1.0)  # 50 frames x 20 us
    assert cap.sessions_per_core == pytest.approx(1000)
    assert cap.best_sessions_per_core == pytest.approx(2000)
    assert runner.Capacity(frame_ns=20_000).best_sessions_per_core is None
    assert math.isinf(runner.Capacity(0).sessions_per_core)


def test_run_exit_code():
    assert _fake_run().exit_code == 1
    run = _fake_run()
    for c in run.cases:
        c.verdicts = [v for v in c.verdicts if v.status != bud.MISSED]
    assert run.exit_code == 0
    run.use_absolute = True
    assert run.exit_code == 1  # ulaw_encode is over its absolute budget


# -- the command -----------------------------------------------------------------------------------


def _budgets_file(tmp_path: Path, target: float) -> Path:
    p = tmp_path / "budgets.json"
    p.write_text(json.dumps({"machine": "test", "cases": {
        "ulaw_encode": {"budget_ns": 1e9, "peer": "audioop", "targets": {"audioop": target}}}}))
    return p


def _bench(argv, capsys):
    code = cli.main(["bench", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_bench_quick_run_of_one_case_writes_table_and_json(tmp_path, capsys):
    js = tmp_path / "run.json"
    code, out, err = _bench(["--quick", "--only", "ulaw_encode", "--json", str(js),
                             "--budgets", str(_budgets_file(tmp_path, 1e6))], capsys)
    assert code == 0
    assert "peers found:" in err and "[ 1/1] ulaw_encode" in err  # progress on stderr
    assert "ulaw_encode" in out and "Targets: 1 held" in out  # the table on stdout
    assert "[ 1/1]" not in out
    doc = json.loads(js.read_text())
    assert [c["id"] for c in doc["cases"]] == ["ulaw_encode"]
    assert doc["mode"]["name"] == "quick"
    assert doc["summary"]["exit_code"] == 0


def test_bench_exits_1_when_a_target_is_missed(tmp_path, capsys):
    # No implementation runs in a billionth of audioop's time.
    code, out, _ = _bench(["--quick", "--only", "ulaw_encode",
                           "--budgets", str(_budgets_file(tmp_path, 1e-9))], capsys)
    assert code == 1
    assert "MISSED ulaw_encode vs audioop" in out


def test_bench_usage_errors_exit_2(tmp_path, capsys):
    assert _bench(["--only", "no-such-case"], capsys)[0] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert _bench(["--budgets", str(bad)], capsys)[0] == 2
    assert _bench(["--budgets", str(tmp_path / "missing.json")], capsys)[0] == 2
    with pytest.raises(SystemExit):
        cli.main(["bench", "--quick", "--full"])


def test_bench_list(capsys):
    code, out, _ = _bench(["--list"], capsys)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == [c.id for c in cs.CASES]


def test_bench_plot_needs_matplotlib(tmp_path, capsys, monkeypatch):
    from audiocore.bench import plot

    def missing() -> None:
        raise ImportError("--plot needs matplotlib: pip install 'audiocore-dsp[plot]'")
    monkeypatch.setattr(plot, "check_matplotlib", missing)
    code, _, err = _bench(["--only", "ring", "--plot", str(tmp_path / "x.png")], capsys)
    assert code == 2 and "audiocore-dsp[plot]" in err


def test_bench_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "bench.png"
    code, _, _ = _bench(["--quick", "--only", "ring", "--plot", str(png)], capsys)
    assert code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_info_still_works(capsys):
    assert cli.main(["info"]) == 0
    assert capsys.readouterr().out.startswith("audiocore ")
