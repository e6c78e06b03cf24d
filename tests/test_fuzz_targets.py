"""The fuzz targets (tests/fuzz/targets.py) replayed without a fuzzer: on inputs
that reproduced past findings (tests/fuzz/regressions/<target>-*) and on a fixed
set of random inputs, so the harnesses and their oracles stay runnable."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import targets  # noqa: E402

REGRESSIONS = sorted((Path(__file__).parent / "fuzz" / "regressions").glob("*-*"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_past_finding(path):
    targets.TARGETS[path.name.split("-")[0]](path.read_bytes())


@pytest.mark.parametrize("name", list(targets.TARGETS))
def test_random_inputs(name):
    rng = random.Random(name)
    for _ in range(40):
        targets.TARGETS[name](rng.randbytes(rng.randint(0, 2000)))
