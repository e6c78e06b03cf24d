"""Key and URL resolution, the dual status error, and secret redaction."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from livekit.agents import APIConnectionError, APIStatusError

from livekit.plugins._60db import _60dbClient, _60dbStatusError
from livekit.plugins._60db import _config
from livekit.plugins._60db._secrets import redact


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(_config, "_default_client", None)
    for name in ("SIXTY_DB_API_KEY", "SIXTY_DB_STT_URL", "SIXTY_DB_TTS_URL", "SIXTY_DB_LLM_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_key_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env.local").write_text('# local\nexport SIXTY_DB_API_KEY="from-file"\n')
    assert _config.resolve_api_key(None) == "from-file"
    monkeypatch.setenv("SIXTY_DB_API_KEY", "from-env")
    assert _config.resolve_api_key(None) == "from-env"
    _60dbClient("from-client")
    assert _config.resolve_api_key(None) == "from-client"
    assert _config.resolve_api_key("from-arg") == "from-arg"


def test_missing_key_names_every_way_to_set_it() -> None:
    with pytest.raises(ValueError, match="SIXTY_DB_API_KEY") as e:
        _config.resolve_api_key(None)
    assert "_60dbClient" in str(e.value) and ".env.local" in str(e.value)
    with pytest.raises(ValueError, match="api_key"):
        _config.resolve_api_key("  ")


def test_client_repr_hides_the_key() -> None:
    assert "sk_secret_value" not in repr(_60dbClient("sk_secret_value"))


def test_url_precedence_and_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    kw = dict(env="SIXTY_DB_STT_URL", default=_config.DEFAULT_STT_URL, secure="wss",
              plain="ws", argument="ws_url")
    assert _config.resolve_url(None, **kw) == "wss://api.60db.ai/ws/stt"  # type: ignore[arg-type]
    monkeypatch.setenv("SIXTY_DB_STT_URL", "ws://127.0.0.1:9/ws/stt")
    assert _config.resolve_url(None, **kw) == "ws://127.0.0.1:9/ws/stt"  # type: ignore[arg-type]
    assert _config.resolve_url("wss://x.example/ws", **kw) == "wss://x.example/ws"  # type: ignore[arg-type]
    for ok in ("ws://localhost:1/a", "ws://[::1]:2/a", "ws://127.5.0.1/a"):
        assert _config.resolve_url(ok, **kw) == ok  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clear text"):
        _config.resolve_url("ws://api.example.com/ws", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ws_url"):
        _config.resolve_url("https://api.60db.ai/ws/stt", **kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="malformed"):
        _config.resolve_url("wss://host:notaport/ws", **kw)  # type: ignore[arg-type]
    monkeypatch.setenv("SIXTY_DB_STT_URL", "not a url")
    with pytest.raises(ValueError, match="SIXTY_DB_STT_URL"):
        _config.resolve_url(None, **kw)  # type: ignore[arg-type]


def test_status_error_is_both_kinds() -> None:
    e = _60dbStatusError("Unauthorized", status_code=401)
    assert isinstance(e, APIStatusError) and isinstance(e, APIConnectionError)
    assert e.status_code == 401 and not e.retryable
    assert _60dbStatusError("slow down", status_code=429, retry_after=2.0).retryable
    assert _60dbStatusError("busy", status_code=503).retryable
    with pytest.raises(APIConnectionError):
        raise _60dbStatusError("no credits", status_code=402)


def test_redaction_in_logs_and_errors(caplog: pytest.LogCaptureFixture) -> None:
    key = _config.resolve_api_key("sk_live_1234567890")
    assert key not in redact(f"wss://h/ws/stt?apiKey={key}&x=1")
    assert "apiKey=***" in redact("GET /ws/tts?apiKey=unknownvalue HTTP/1.1")
    with caplog.at_level(logging.DEBUG, logger="websockets.client"):
        logging.getLogger("websockets.client").debug("> GET /ws/stt?apiKey=%s", key)
    assert key not in caplog.text and "***" in caplog.text
    assert key not in str(_60dbStatusError(f"refused {key}", status_code=401))
