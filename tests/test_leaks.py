"""Every public class and function, repeated through create/process/flush/reset/
dealloc cycles and error paths, keeps resident memory and tracemalloc's count flat
(tests/leakcheck.py; run it with its default 10**6 cycles for the full check)."""

from __future__ import annotations

import os

import pytest

import leakcheck

# ASan holds freed memory in quarantine (up to 256 MiB), so resident memory grows
# under .ci/sanitize whatever the code does; there ASan checks the heap itself.
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")


@pytest.mark.parametrize("name", list(leakcheck.CASES))
def test_cycles_do_not_grow_memory(name):
    heavy = name in leakcheck.HEAVY
    m = leakcheck.measure(leakcheck.CASES[name], 100 if heavy else 1000,
                          50 if heavy else 300)
    # One leaked output bytes (>= 80 bytes here) or buffer view per cycle shows in
    # the traced growth; a leaked native handle or buffer (KiBs each) in RSS.
    assert m["traced"] < 8 * 1024, m
    if not UNDER_ASAN:
        assert m["rss"] < 1024 * 1024, m


def test_the_measure_sees_a_leak():
    kept = []
    m = leakcheck.measure(lambda: kept.append(bytes(100)), 1000, 300)
    assert m["traced"] > 300 * 100
