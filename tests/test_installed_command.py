"""The installed `audiocore` command: --version, its shipped budgets file, and
install hints that are commands pip accepts."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import audiocore
from audiocore.bench import budgets as bud
from audiocore.bench.peers import INSTALL_HINTS, Peers, install_command

SCRIPT = Path(sys.executable).with_name("audiocore")
REPO_BUDGETS = Path(__file__).resolve().parents[1] / "src" / "audiocore" / "bench" / "budgets.json"


def command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "audiocore"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_version(tmp_path):
    for run in (command("--version", cwd=tmp_path),
                subprocess.run([sys.executable, "-m", "audiocore", "--version"],
                               capture_output=True, text=True, cwd=tmp_path)):
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == f"audiocore {audiocore.__version__}"


def test_installed_bench_finds_the_budgets_file_shipped_in_the_package(tmp_path):
    """Run away from any checkout: the verdicts come from the installed copy."""
    shipped = bud.find_budgets_file()
    assert shipped is not None
    assert shipped.parent == Path(audiocore.__file__).resolve().parent / "bench"
    assert shipped.read_bytes() == REPO_BUDGETS.read_bytes()  # the copy to edit
    run = command("bench", "--quick", "--only", "ulaw_decode", "--skip-peer", "soxr",
                  "--skip-peer", "livekit", cwd=tmp_path)
    assert run.returncode in (0, 1), run.stderr
    assert f"budgets: {shipped}" in run.stdout
    assert "No budgets file found" not in run.stdout
    assert "Targets: 1 held" in run.stdout or "Targets: 0 held, 1 missed" in run.stdout


@pytest.mark.parametrize("name", sorted(INSTALL_HINTS))
def test_install_hints_are_valid_pip_commands(name):
    words = shlex.split(install_command(name))
    assert words[:2] == ["pip", "install"] and len(words) == 3
    req = Requirement(words[2])  # raises on anything pip would refuse
    assert req.name.replace("-", "_").startswith(name.split(".")[0][:5])


def test_missing_peers_name_the_command_and_skipped_ones_do_not():
    peers = Peers(missing={"livekit": "ModuleNotFoundError: No module named 'livekit'",
                           "soxr": "skipped"})
    line = peers.describe()
    assert "not found: livekit (pip install livekit==1.1.21)" in line
    assert "skipped: soxr" in line and "pip install soxr" not in line
