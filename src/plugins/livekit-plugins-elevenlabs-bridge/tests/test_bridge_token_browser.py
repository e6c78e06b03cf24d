"""The token server's page in headless Chromium (Debian's chromium + chromium-driver).

The LiveKit URL handed out points at a closed loopback port, so the page must show
its connection attempt and then a readable error; the screenshot of that state is
kept as a CI artefact (``build/artifacts/token-server-page.png``, or
``$AUDIOCORE_ARTIFACTS``).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from livekit.plugins.elevenlabs_bridge.token_server import fetch_client
from livekit.plugins.elevenlabs_bridge.token_server.app import CONFIG_KEY

from _bridge_token_helpers import API_SECRET, ThreadedServer, closed_port, serve

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]
ARTIFACTS = Path(os.environ.get("AUDIOCORE_ARTIFACTS") or ROOT / "build" / "artifacts")


def _chromedriver() -> str:
    found = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    if not Path(found).exists():
        pytest.fail("chromium-driver is not installed: run bash .ci/setup (it installs "
                    "Debian's chromium and chromium-driver)")
    return found


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    client_dir = fetch_client().parent
    yield from serve(f"ws://127.0.0.1:{closed_port()}", client_dir=client_dir)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 "--window-size=900,700", "--no-first-run", "--disable-extensions",
                 "--disable-background-networking", "--disable-component-update"):
        options.add_argument(flag)
    chromium = shutil.which("chromium")
    if chromium:
        options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=_chromedriver()),
                              options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _received_bodies(driver: Any) -> List[bytes]:
    """Every response body the browser received, from the DevTools network log."""
    bodies: List[bytes] = []
    for entry in driver.get_log("performance"):
        message: Dict[str, Any] = json.loads(entry["message"])["message"]
        if message.get("method") != "Network.loadingFinished":
            continue
        try:
            got = driver.execute_cdp_cmd("Network.getResponseBody",
                                         {"requestId": message["params"]["requestId"]})
        except Exception:  # bodies of redirects and preflights are not kept
            continue
        body = got["body"]
        if got.get("base64Encoded"):
            import base64
            bodies.append(base64.b64decode(body))
        else:
            bodies.append(body.encode())
    return bodies


def test_page_joins_and_shows_a_readable_error(server: ThreadedServer, browser: Any) -> None:
    browser.get(server.url + "/")
    WebDriverWait(browser, 15).until(
        lambda d: d.execute_script("return typeof LivekitClient !== 'undefined'"))
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == [], f"console errors on load: {severe}"
    assert browser.find_element(By.ID, "state").text == "idle"

    room = browser.find_element(By.ID, "room")
    room.clear()
    room.send_keys("browser-room")
    identity = browser.find_element(By.ID, "identity")
    identity.clear()
    identity.send_keys("carol")
    # Record every state the page passes through, so the attempt is seen even if short.
    browser.execute_script("""
        window.__states = [];
        new MutationObserver(() => window.__states.push(
            document.getElementById('state').dataset.state))
          .observe(document.getElementById('state'), {attributes: true, childList: true,
                                                      characterData: true, subtree: true});
    """)
    browser.find_element(By.ID, "start").click()

    error = WebDriverWait(browser, 30).until(
        lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed()
        else False)
    text = error.text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "token-server-page.png"))

    assert server.issued == [("browser-room", "carol")]
    states = browser.execute_script("return window.__states")
    assert "requesting" in states and "connecting" in states, states
    assert browser.find_element(By.ID, "state").get_attribute("data-state") == "error"
    livekit_url = server.app[CONFIG_KEY].livekit_url
    prefix = f"Could not connect to {livekit_url}: "
    assert text.startswith(prefix) and len(text) > len(prefix) + 5, text
    assert browser.find_element(By.ID, "start").is_enabled()  # the user may try again

    received = _received_bodies(browser)
    assert any(b"LivekitClient" in body for body in received)  # the log really has bodies
    assert any(b'"token"' in body for body in received)
    assert all(API_SECRET.encode() not in body for body in received)
    assert API_SECRET not in browser.page_source


def test_token_server_error_is_shown(server: ThreadedServer, browser: Any) -> None:
    browser.get(server.url + "/")
    WebDriverWait(browser, 15).until(
        lambda d: d.execute_script("return typeof LivekitClient !== 'undefined'"))
    browser.execute_script("document.getElementById('room').value = 'no spaces allowed'")
    browser.find_element(By.ID, "start").click()
    error = WebDriverWait(browser, 15).until(
        lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed()
        else False)
    assert "room: only letters" in error.text
