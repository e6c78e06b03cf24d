"""The public types, checked by mypy --strict: the README's Python examples, a user
script over the whole API (also run, so the types it asserts are the ones returned),
mistakes that must be caught, and the package itself."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mypy", reason="mypy is in the dev extra")

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
TYPING = HERE / "typing"

#: The README examples' free names: what a user's surrounding code would hold.
README_NAMES = {
    "pcm": "bytes", "stereo": "bytes", "alice": "bytes", "bob": "bytes",
    "carol": "bytes", "frames_20ms": "list[bytes]", "send": "Callable[[Buffer], None]",
    "room_frame": "bytes", "chunk": "bytes", "source": "rtc.AudioSource",
}

MYPY_CONFIG = """\
[mypy]
strict = True
[mypy-pydub.*]
ignore_missing_imports = True
[mypy-audiocore.cli]
# Its one ignore is for importlib.metadata on older Pythons.
warn_unused_ignores = False
"""


def readme_blocks() -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"),
                      re.S | re.M)


def readme_module() -> str:
    """Every README block as the body of an async function whose parameters are the
    block's free names, typed."""
    head = textwrap.dedent("""\
        import sys
        from typing import Callable

        from livekit import rtc

        if sys.version_info >= (3, 12):
            from collections.abc import Buffer
        else:
            from typing_extensions import Buffer
        """)
    params = ", ".join(f"{k}: {v}" for k, v in README_NAMES.items())
    funcs = [f"\n\nasync def readme_block_{i}({params}) -> None:\n"
             + textwrap.indent(block, "    ")
             for i, block in enumerate(readme_blocks())]
    return head + "".join(funcs)


def expected_errors(path: Path) -> set[tuple[int, str]]:
    return {(i, m.group(1)) for i, line in enumerate(path.read_text().splitlines(), 1)
            if (m := re.search(r"# E: ([a-z-]+)", line))}


def run_mypy(tmp_path: Path, targets: list[str], version: str) -> str:
    cfg = tmp_path / "mypy.ini"
    cfg.write_text(MYPY_CONFIG)
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(cfg), "--python-version",
           version, "--cache-dir", str(tmp_path / "cache"), "--no-color-output",
           "--show-error-codes", "--hide-error-context", *targets]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 2: mypy itself failed
    return proc.stdout


def test_readme_has_the_examples_the_typing_test_checks():
    blocks = readme_blocks()
    assert len(blocks) >= 3
    tour = next(b for b in blocks if "ac.Resampler(" in b)
    assert "send(r.process(frame))" in tour and "out=buf" in tour
    assert any("audiocore.audioop.install()" in b for b in blocks)


# The running interpreter's own version, and one on the other side of 3.12, where
# Buffer changes from typing_extensions' protocol (plus numpy arrays) to the stdlib's.
VERSIONS = sorted({f"{sys.version_info[0]}.{sys.version_info[1]}",
                   "3.10" if sys.version_info >= (3, 12) else "3.12"})


@pytest.mark.parametrize("version", VERSIONS)
def test_mypy_strict_on_readme_and_user_scripts(tmp_path, version):
    readme = tmp_path / "readme_examples.py"
    readme.write_text(readme_module())
    misuse = TYPING / "misuse.py"
    out = run_mypy(tmp_path, [str(readme), str(TYPING / "user_script.py"), str(misuse)],
                   version)
    errors = re.findall(r"^(.*?):(\d+): error: .*\[([a-z-]+)\]$", out, re.M)
    found = {(int(line), code) for path, line, code in errors if path.endswith("misuse.py")}
    others = [e for e in errors if not e[0].endswith("misuse.py")]
    assert not others, out
    # Every mistake caught, and nothing else reported.
    assert found == expected_errors(misuse), out


def test_mypy_strict_on_the_installed_package(tmp_path):
    """Stubs and Python fronts agree with each other (overload implementations,
    the native handles' signatures)."""
    out = run_mypy(tmp_path, ["-p", "audiocore"], VERSIONS[0])
    assert "Success" in out, out


def test_user_script_runs_and_returns_what_its_types_say():
    proc = subprocess.run([sys.executable, str(TYPING / "user_script.py")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok")
