"""The token server: tokens, parameter checks, configuration, headers, the client library."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest
from livekit import api

from livekit.plugins.elevenlabs_bridge.token_server.app import CONFIG_KEY
from livekit.plugins.elevenlabs_bridge.token_server import (ClientLibraryError, ConfigError,
                                                            TokenServerConfig, client_lib,
                                                            mint_token)

from _bridge_token_helpers import API_KEY, API_SECRET, ThreadedServer, serve


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    yield from serve("wss://livekit.example.test", agent_name="my-bridge",
                     ttl=dt.timedelta(minutes=5))


def get(url: str, method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers={"Origin": "http://evil.test"})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def verify(token: str) -> api.Claims:
    return api.TokenVerifier(API_KEY, API_SECRET).verify(token)


def test_token_grants_room_only_and_dispatches_the_agent(server: ThreadedServer) -> None:
    status, headers, body = get(f"{server.url}/api/livekit-token?room=sales-1&identity=ann.b@x")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    reply = json.loads(body)
    assert reply["url"] == "wss://livekit.example.test" and set(reply) == {"token", "url"}
    claims = verify(reply["token"])
    assert claims.identity == "ann.b@x"
    assert claims.video is not None and claims.video.room_join and claims.video.room == "sales-1"
    assert not claims.video.room_create and not claims.video.room_admin
    assert not claims.video.room_list
    assert [a.agent_name for a in claims.room_config.agents] == ["my-bridge"]
    assert server.issued[-1] == ("sales-1", "ann.b@x")


def test_token_expires_after_the_ttl(server: ThreadedServer) -> None:
    _, _, body = get(f"{server.url}/api/livekit-token?room=r&identity=i")
    payload = json.loads(body)["token"].split(".")[1]
    import base64
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["exp"] - claims["nbf"] == 300
    assert abs(claims["nbf"] - time.time()) < 60


def test_seed_defaults_when_parameters_are_absent(server: ThreadedServer) -> None:
    _, _, body = get(f"{server.url}/api/livekit-token")
    claims = verify(json.loads(body)["token"])
    assert (claims.identity, claims.video.room) == ("web-user", "demo-room")  # type: ignore[union-attr]


@pytest.mark.parametrize("query, parameter", [
    ("room=", "room"), ("room=a%20b", "room"), ("room=" + "r" * 65, "room"),
    ("room=../x", "room"), ("room=caf%C3%A9", "room"), ("room=a%00", "room"),
    ("identity=", "identity"), ("identity=" + "i" * 65, "identity"),
    ("identity=%3Cscript%3E", "identity"), ("identity=a%2Fb", "identity"),
])
def test_bad_parameters_get_400_naming_them(server: ThreadedServer, query: str,
                                            parameter: str) -> None:
    before = len(server.issued)
    status, headers, body = get(f"{server.url}/api/livekit-token?{query}")
    assert status == 400 and headers["Content-Type"].startswith("application/json")
    reply = json.loads(body)
    assert reply["parameter"] == parameter and reply["error"].startswith(parameter + ":")
    assert len(server.issued) == before


def test_longest_names_are_accepted(server: ThreadedServer) -> None:
    status, _, _ = get(f"{server.url}/api/livekit-token?room={'r' * 64}&identity={'i' * 64}")
    assert status == 200


def test_no_cors(server: ThreadedServer) -> None:
    for method in ("GET", "OPTIONS"):
        _, headers, _ = get(f"{server.url}/api/livekit-token?room=r", method)
        assert not any(h.lower().startswith("access-control-") for h in headers)


def test_page_and_assets(server: ThreadedServer) -> None:
    status, headers, body = get(server.url + "/")
    assert status == 200 and b"/static/app.js" in body
    csp = headers["Content-Security-Policy"]
    assert "connect-src 'self' wss://livekit.example.test https://livekit.example.test" in csp
    assert "script-src 'self'" in csp
    for asset in ("app.js", "style.css"):
        assert get(f"{server.url}/static/{asset}")[0] == 200
    assert get(f"{server.url}/static/../tokens.py")[0] == 404
    assert get(f"{server.url}/static/")[0] in (403, 404)


def test_secret_is_in_no_response_and_no_log(server: ThreadedServer,
                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        seen = b"".join(get(server.url + path)[2] for path in (
            "/", "/static/app.js", "/api/livekit-token?room=r&identity=i",
            "/api/livekit-token?room=%20", "/nope"))
    assert API_SECRET.encode() not in seen
    assert API_SECRET not in caplog.text
    assert API_SECRET not in repr(server.app[CONFIG_KEY])


def test_missing_library_is_a_503_with_a_readable_error(tmp_path: Path) -> None:
    for srv in serve("ws://127.0.0.1:1", client_dir=tmp_path):
        status, _, body = get(f"{srv.url}/static/{client_lib.BUNDLE}")
        assert status == 503 and "not installed" in json.loads(body)["error"]


@pytest.mark.parametrize("env, missing", [
    ({}, "LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET"),
    ({"LIVEKIT_URL": "ws://h", "LIVEKIT_API_KEY": "k"}, "LIVEKIT_API_SECRET"),
])
def test_config_from_env_names_what_is_missing(env: Dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError, match=f"set {missing} in the environment"):
        TokenServerConfig.from_env(env)


@pytest.mark.parametrize("kw", [
    {"livekit_url": "ftp://h"}, {"livekit_url": "wss://"}, {"api_secret": ""},
    {"agent_name": "bad name"}, {"ttl": dt.timedelta(seconds=1)},
])
def test_config_checks(kw: Dict[str, Any]) -> None:
    args: Dict[str, Any] = {"livekit_url": "wss://h", "api_key": "k", "api_secret": "s", **kw}
    with pytest.raises(ConfigError):
        TokenServerConfig(**args)


def test_server_refuses_to_start_without_configuration(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "livekit.plugins.elevenlabs_bridge.token_server", "--port", "1"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
             **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"}})
    assert done.returncode == 2
    assert "LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET" in done.stderr


def test_mint_token_uses_the_config() -> None:
    config = TokenServerConfig("wss://h", API_KEY, API_SECRET)
    claims = verify(mint_token(config, "room-a", "bob"))
    assert claims.identity == "bob" and claims.video.room == "room-a"  # type: ignore[union-attr]
    assert [a.agent_name for a in claims.room_config.agents] == ["elevenlabs-bridge"]
    with pytest.raises(Exception):
        api.TokenVerifier(API_KEY, "another-secret-another-secret-12345").verify(
            mint_token(config, "room-a", "bob"))


def _tarball(content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/dist/livekit-client.umd.js")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def test_client_library_integrity_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ClientLibraryError, match="integrity mismatch"):
        client_lib.extract_bundle(_tarball(b"window.LivekitClient = {};"), tmp_path)
    assert client_lib.cached_bundle(tmp_path) is None


def test_fetch_without_npm_says_what_to_do(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_lib.shutil, "which", lambda *a, **k: None)
    with pytest.raises(ClientLibraryError, match="npm is not installed"):
        client_lib.fetch_client(tmp_path)


def test_fetched_library_is_the_pinned_release() -> None:
    bundle = client_lib.fetch_client()
    head = bundle.read_bytes()[:400]
    assert b"LivekitClient" in head
