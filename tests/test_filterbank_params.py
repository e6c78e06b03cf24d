"""The realtime filter's native constructor refuses parameters its design cannot
meet, instead of casting an infinite or NaN filter length to an integer (found by
tests/fuzz: pass_frac=1.0 gave a bank with a delay of -3.7e11 s)."""

from __future__ import annotations

import math

import pytest

from audiocore._realtime import FilterBank, RealtimeStream


@pytest.mark.parametrize("atten, pass_frac", [
    (100.0, 1.0),          # zero-width transition band: an infinite filter
    (100.0, 1.5),
    (100.0, 0.0),
    (100.0, -1.0),
    (100.0, math.nan),
    (math.nan, 0.88),
    (math.inf, 0.88),
    (-1.0, 0.88),
    (2.0, 0.88),           # below Kaiser's formulas (NaN beta)
    (1e6, 0.88),
])
def test_bad_design_parameters_raise(atten, pass_frac):
    with pytest.raises(ValueError, match="realtime filter"):
        FilterBank(24000, 7647, atten, pass_frac)


def test_transition_too_narrow_for_any_filter_raises():
    with pytest.raises(ValueError, match="too long"):
        FilterBank(48000, 16000, 300.0, 1.0 - 1e-12)


@pytest.mark.parametrize("rates", [(24000, 7647), (48000, 16000), (8000, 44100)])
def test_valid_parameters_still_build_a_working_stream(rates):
    bank = FilterBank(*rates, 100.0, 0.88)
    assert bank.taps >= 1 and 0.0 < bank.delay < 0.05
    s = RealtimeStream(bank, 1)
    out = s.process(b"\0\1" * 480) + s.flush()
    assert len(out) % 2 == 0 and len(out) > 0
