"""audiocore.audioop as a lazy attribute, and install(): third-party code that
imports audioop (pydub) gets audiocore.audioop, with the results of the stdlib's."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

import audiocore

HERE = Path(__file__).resolve().parent
PIPELINE = HERE / "pydub_pipeline.py"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_audioop_is_an_attribute_loaded_on_first_use():
    proc = run_python(
        "import sys, audiocore\n"
        "assert 'audiocore.audioop' not in sys.modules\n"
        "assert 'audioop' in dir(audiocore)\n"
        "m = audiocore.audioop\n"
        "assert m is sys.modules['audiocore.audioop']\n"
        "assert m.lin2ulaw(b'\\x00\\x10', 2) == audiocore.ulaw_encode(b'\\x00\\x10')\n"
        "try:\n"
        "    audiocore.no_such_name\n"
        "except AttributeError as e:\n"
        "    assert 'no_such_name' in str(e)\n"
        "else:\n"
        "    raise AssertionError\n"
        "print('ok')\n")
    assert proc.stdout.strip() == "ok", proc.stderr


def test_install_makes_import_audioop_give_audiocore_and_uninstall_undoes_it():
    ours = audiocore.audioop
    before = sys.modules.get("audioop")
    try:
        assert ours.install() is ours
        assert ours.install() is ours  # twice: no change
        assert importlib.import_module("audioop") is ours
    finally:
        ours.uninstall()
    assert sys.modules.get("audioop") is before
    ours.uninstall()  # when not installed: nothing to do
    assert sys.modules.get("audioop") is before


def reference_python() -> Optional[str]:
    """A CPython 3.12 with its stdlib audioop: $AUDIOCORE_PY312, pyenv, or PATH."""
    candidates = [os.environ.get("AUDIOCORE_PY312")]
    if shutil.which("pyenv"):
        for version in ("3.12.1", "3.12"):
            proc = subprocess.run(["pyenv", "prefix", version], capture_output=True,
                                  text=True)
            if proc.returncode == 0 and proc.stdout.strip():
                candidates.append(os.path.join(proc.stdout.strip().splitlines()[0],
                                               "bin", "python"))
    candidates.append(shutil.which("python3.12"))
    for c in candidates:
        if c and os.path.exists(c):
            return c
    return None


def pipeline(python: str, mode: str, path: Path) -> dict:
    proc = subprocess.run([python, "-I", str(PIPELINE), mode, str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def isolated_tree(tmp_path: Path) -> tuple[Path, bool]:
    """pydub, and audiocore when its native modules sit in its package directory
    (not an editable install), copied where an interpreter run with -I and no
    site-packages finds them and nothing else: no audioop-lts."""
    spec = importlib.util.find_spec("pydub")  # not imported here: it warns about ffmpeg
    assert spec is not None and spec.origin, "pydub is in the dev extra"
    tree = tmp_path / "path"
    shutil.copytree(Path(spec.origin).parent, tree / "pydub")
    package = Path(audiocore.__file__).parent
    if not list(package.glob("_kernels*.so")) + list(package.glob("_kernels*.pyd")):
        return tree, False
    shutil.copytree(package, tree / "audiocore",
                    ignore=shutil.ignore_patterns("csrc", "*.pyx", "*.pxd", "__pycache__"))
    return tree, True


def test_pydub_on_audiocore_audioop_equals_pydub_on_stdlib_audioop_of_312(tmp_path):
    ref = reference_python()
    if ref is None:
        pytest.skip("no CPython 3.12 interpreter for the stdlib audioop reference: "
                    "install one with pyenv, put python3.12 on PATH, or set AUDIOCORE_PY312")
    tree, isolated = isolated_tree(tmp_path)
    expected = pipeline(ref, "stdlib", tree)
    if isolated:
        # This interpreter without the venv: on 3.13 no audioop at all, as a user has.
        ours = pipeline(getattr(sys, "_base_executable", sys.executable), "install", tree)
    else:
        env_tree = tmp_path / "pydub_only"
        shutil.copytree(tree / "pydub", env_tree / "pydub")
        ours = pipeline(sys.executable, "install", env_tree)
    assert ours["digest"] == expected["digest"]
    assert len(expected["digest"]) >= 14
    if sys.version_info >= (3, 13) and isolated:
        # And without install(), pydub cannot even be imported there.
        assert "pyaudioop" in (ours["failed_without"] or "")
