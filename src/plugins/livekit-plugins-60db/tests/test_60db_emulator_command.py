"""``audiocore emulate 60db``: runs in the foreground and prints the export lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Dict

import httpx
import pytest

from audiocore.cli import build_parser


def test_command_is_registered_and_light() -> None:
    parser = build_parser(["emulate", "60db"])
    args = parser.parse_args(["emulate", "60db", "--port", "0", "--handshake", "seed"])
    assert args.port == 0 and args.handshake == "seed" and callable(args.func)
    # The entry point's module does not pull in the server or the engines at import.
    code = ("import sys; import livekit.plugins._60db.emulator.command; "
            "print(sorted(m for m in sys.modules if m.startswith('livekit.plugins._60db.emulator.')"
            " or m == 'pocketsphinx'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "['livekit.plugins._60db.emulator.command']"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# SIGINT inherited as ignored is what a job started in the background of a
# non-interactive shell gets: Ctrl-C (or a runner's SIGINT) must still stop it.
@pytest.mark.parametrize("sigint_ignored", [False, True])
def test_runs_in_the_foreground_and_prints_exports(sigint_ignored: bool) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiocore", "emulate", "60db", "--port", "0",
         "--speech", "fallback"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_ignore_sigint if sigint_ignored else None)
    try:
        exports: Dict[str, str] = {}
        assert proc.stdout is not None
        while len(exports) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            if line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                exports[name] = value
        assert exports["SIXTY_DB_STT_URL"].startswith("ws://127.0.0.1:")
        assert exports["SIXTY_DB_TTS_URL"].endswith("/ws/tts")
        r = httpx.post(exports["SIXTY_DB_LLM_URL"],
                       json={"messages": [{"role": "user", "content": "hello"}]},
                       headers={"Authorization": f"Bearer {exports['SIXTY_DB_API_KEY']}"})
        assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
