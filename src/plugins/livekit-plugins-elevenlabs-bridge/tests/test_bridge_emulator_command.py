"""``audiocore emulate elevenlabs`` and the emulator from sync code."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import urllib.request
from typing import Dict

import pytest

from livekit.plugins.elevenlabs_bridge.emulator import Brain, Emulator
from livekit.plugins.elevenlabs_bridge.emulator.command import configure

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"


def test_configure_adds_its_arguments() -> None:
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["--port", "0", "--input-format", "ulaw_8000"])
    assert args.port == 0 and args.input_format == "ulaw_8000"
    assert args.api_key == "xi_test" and args.agent_id == "agent_test"
    assert callable(args.func)


def test_the_command_prints_the_environment_and_serves_it() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "audiocore", "emulate", "elevenlabs", "--port", "0",
         "--speech", "deterministic", "--agent-id", "agent_cli", "--api-key", "xi_cli"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        env: Dict[str, str] = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("export "):
                name, _, value = line[len("export "):].strip().partition("=")
                env[name] = value
            if "SPEECH_ENGINE_ID" in env:
                break
        assert env["ELEVENLABS_API_KEY"] == "xi_cli" and env["SPEECH_ENGINE_ID"] == "agent_cli"
        assert env["ELEVENLABS_API_URL"].startswith("http://127.0.0.1:")
        req = urllib.request.Request(
            f"{env['ELEVENLABS_API_URL']}{SIGNED_URL_PATH}?agent_id={env['SPEECH_ENGINE_ID']}",
            headers={"xi-api-key": env["ELEVENLABS_API_KEY"]})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = json.loads(r.read())
        assert body["signed_url"].startswith("ws://127.0.0.1:")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_command_reports_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["--port", "0", "--input-format", "pcm_11025"])
    assert args.func(args) == 2
    assert "user_input_audio_format" in capsys.readouterr().err


def test_sync_context_manager_from_several_threads() -> None:
    with Emulator(speech="deterministic", brain=Brain(["ok"])) as emu:
        statuses = []

        def fetch() -> None:
            req = urllib.request.Request(
                f"{emu.http_url}{SIGNED_URL_PATH}?agent_id=agent_test",
                headers={"xi-api-key": "xi_test"})
            with urllib.request.urlopen(req, timeout=10) as r:
                statuses.append(r.status)

        threads = [threading.Thread(target=fetch) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses == [200] * 4
        assert len(emu.records.signed_url_requests) == 4
    with pytest.raises(RuntimeError, match="not running"):
        emu.http_url
