"""`import audiocore` stays light: asyncio (the pacer's) loads only when the pacer
is first used."""

import subprocess
import sys

import pytest

HEAVY = ("asyncio", "numpy", "concurrent.futures")


def loaded_after(code: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\n"
         f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_import_audiocore_does_not_import_asyncio():
    assert loaded_after("import audiocore") == []


@pytest.mark.parametrize("use", [
    "audiocore.Resampler(48000, 16000).process(bytes(1920))",
    "audiocore.Converter(48000, 2, 8000, out_encoding='mulaw').process(bytes(3840))",
    "audiocore.FrameRing(640, 6400).write(bytes(640))",
    "audiocore.audioop.ratecv(bytes(960), 2, 1, 48000, 16000, None)",
])
def test_the_streaming_calls_do_not_import_asyncio_either(use):
    assert loaded_after(f"import audiocore\n{use}") == []


def test_the_pacer_loads_asyncio_when_first_used():
    assert "asyncio" in loaded_after("import audiocore\naudiocore.FramePacer(16000)")
    assert "asyncio" in loaded_after("from audiocore import FramePacer")
