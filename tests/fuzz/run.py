"""Runs one fuzz target under atheris (libFuzzer):

    python tests/fuzz/run.py TARGET [libFuzzer options] [CORPUS_DIR ...]

Python code (the targets and audiocore's Python layer) is instrumented by atheris;
the native extensions carry their own coverage counters when built with
``AUDIOCORE_SANITIZE=...,fuzzer-no-link`` (clang), which this process's libFuzzer
(preloaded with the sanitizer runtime, see .ci/fuzz) picks up as they load.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))
warnings.simplefilter("ignore", DeprecationWarning)  # stdlib audioop, the oracle

with atheris.instrument_imports(include=["targets", "audiocore"]):
    import targets


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit(f"usage: run.py TARGET [libFuzzer args]; targets: {', '.join(targets.TARGETS)}")
    target = targets.TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0]] + sys.argv[2:], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
