"""The bench's kernel-work figures: multiply-adds per frame from the filters'
design, and the fraction of the machine's floor rate in the report and JSON."""

from __future__ import annotations

import json

import pytest

from audiocore import _realtime
from audiocore.bench import cases as cs
from audiocore.bench import report, work
from audiocore.resampling import filter_bank

from test_bench import ENV, _fake_run  # noqa: E402 - tests/ is on sys.path


def test_frame_work_counts_every_output_of_every_pair():
    # 20 ms at 48 kHz: 960 inputs, 320 outputs of taps + one shift block each.
    bank = filter_bank(48000, 16000, "high")
    assert work.frame_macs(((48000, 16000),)) == pytest.approx(320 * (bank.taps + 16))
    both = work.frame_macs(((48000, 16000), (24000, 48000)))
    assert both == pytest.approx(work.frame_macs(((48000, 16000),))
                                 + work.frame_macs(((24000, 48000),)))


def test_cases_with_realtime_work_name_their_pairs():
    by_id = {c.id: c for c in cs.CASES}
    assert by_id["resample.realtime.48k-8k"].work == ((48000, 8000),)
    assert by_id["resample.soxr.48k-8k"].work == ()
    assert by_id["convert.stt"].work == ((48000, 8000),)
    assert by_id["session"].work == ((48000, 16000), (24000, 48000))
    assert by_id["ulaw_encode"].work == ()


def test_floor_loop_counts_its_multiply_adds():
    rows = 8 if _realtime.kernels() == "avx512+fma" else 4
    assert _realtime.peak_multiply_adds(3) == 3 * rows * 512
    with pytest.raises(ValueError, match="reps must be at least 1"):
        _realtime.peak_multiply_adds(0)
    assert work.floor_rate(rounds=2, reps=10) > 0


def test_report_and_json_show_work_against_the_floor(monkeypatch):
    monkeypatch.setattr(work, "floor_rate", lambda: 50.0)  # multiply-adds per ns
    run = _fake_run()
    w = work.measure(run)
    assert w is not None and w.macs_per_ns == 50.0
    ids = [c.case for c in w.cases]
    assert ids == ["resample.realtime.48k-16k", "session"]  # ulaw and soxr do none
    rs = w.cases[0]
    assert rs.floor_ns == pytest.approx(rs.macs / 50.0)
    assert rs.fraction == pytest.approx(rs.floor_ns / 8000)  # ours: 8 us in the fake run
    text = report.render(run, ENV, w)
    table = report.work_text(w)
    assert table in text
    row = next(line for line in table.splitlines()
               if line.startswith("resample.realtime.48k-16k"))
    assert row.split() == ["resample.realtime.48k-16k", f"{rs.macs:,.0f}",
                           f"{rs.floor_ns / 1000:.2f}", "8.00",
                           f"{100 * rs.fraction:.0f}", "%"]
    assert f"({_realtime.kernels()} kernels)" in text and "50.0 per ns" in text
    doc = json.loads(json.dumps(report.to_json(run, ENV, w)))
    assert doc["work"]["floor_macs_per_ns"] == 50.0
    assert doc["work"]["cases"][0]["macs_per_frame"] == round(rs.macs)
    assert doc["work"]["cases"][0]["fraction_of_floor"] == pytest.approx(rs.fraction, abs=1e-4)


def test_no_work_table_without_realtime_cases():
    run = _fake_run()
    run.cases = [c for c in run.cases if not c.case.work]
    assert work.measure(run) is None
    assert "Kernel work" not in report.render(run, ENV, None)
