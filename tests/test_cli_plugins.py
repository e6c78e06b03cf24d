"""The ``audiocore.commands`` entry-point group: plugins add commands, the core imports none."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from audiocore import cli


@pytest.fixture
def fake_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A distribution on sys.path that registers ``hello`` and ``emulate.thing``."""
    (tmp_path / "fake_cmds.py").write_text(textwrap.dedent('''
        def hello(parser):
            """say hello"""
            parser.add_argument("--name", default="world")
            parser.set_defaults(func=lambda a: print(f"hello {a.name}") or 0)

        def thing(parser):
            parser.set_defaults(func=lambda a: 7)
        thing.help = "emulate a thing"

        def broken(parser):
            raise AssertionError("never called")
    '''))
    dist = tmp_path / "fake_cmds-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-cmds\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[audiocore.commands]\n"
        "hello = fake_cmds:hello\n"
        "emulate.thing = fake_cmds:thing\n"
        "missing = fake_cmds_not_there:nothing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_plugin_command_runs(fake_plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["hello", "--name", "there"]) == 0
    assert capsys.readouterr().out == "hello there\n"


def test_dotted_name_becomes_a_nested_command(fake_plugin: Path) -> None:
    assert cli.main(["emulate", "thing"]) == 7


def test_group_without_name_prints_help(fake_plugin: Path) -> None:
    assert cli.main(["emulate"]) == 2


def test_help_lists_plugin_commands(fake_plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "hello" in out and "emulate" in out and "(from fake-cmds)" in out
    with pytest.raises(SystemExit):
        cli.main(["emulate", "thing", "--help"])
    assert "emulate a thing" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["hello", "--help"])
    assert "say hello" in capsys.readouterr().out


def test_broken_entry_point_is_reported_not_fatal(
        fake_plugin: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0  # not selected: never loaded, nothing said
    assert capsys.readouterr().err == ""
    assert cli.main(["missing"]) == 2
    err = capsys.readouterr().err
    assert "'missing'" in err and "failed to load" in err and "ModuleNotFoundError" in err


def test_unselected_plugin_commands_are_not_imported(fake_plugin: Path) -> None:
    sys.modules.pop("fake_cmds", None)
    assert cli.main(["emulate", "thing"]) == 7
    assert "fake_cmds" in sys.modules
    sys.modules.pop("fake_cmds")
    assert cli.main(["info"]) == 0
    assert "fake_cmds" not in sys.modules


def test_core_commands_win_over_a_plugin_of_the_same_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "shadow-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shadow\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[audiocore.commands]\ninfo = json:dumps\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert cli.main(["info"]) == 0


def test_core_cli_imports_no_plugin() -> None:
    code = ("import sys, audiocore.cli as c; c.build_parser(['info']); "
            "print(any(m.startswith('livekit') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    # Installed plugins register commands, but only the selected one is loaded.
    assert out.strip() == "False"


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_wait_for_stop_signal_even_when_sigint_was_ignored(sig: str) -> None:
    import signal
    code = ("import asyncio, signal, sys; from audiocore.cli import wait_for_stop_signal\n"
            "async def main():\n"
            "    t = asyncio.ensure_future(wait_for_stop_signal())\n"
            "    await asyncio.sleep(0); print('ready', flush=True)\n"
            "    print(await t, flush=True)\n"
            "asyncio.run(main())")
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    proc.send_signal(getattr(signal, sig))
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.strip() == str(int(getattr(signal, sig)))
