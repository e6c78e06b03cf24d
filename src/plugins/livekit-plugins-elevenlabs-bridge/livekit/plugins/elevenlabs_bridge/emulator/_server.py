"""The emulator: signed URLs over HTTP and conversations over WebSocket, on one port.

Served by the ``websockets`` library (its ``process_request`` hook answers the plain
HTTP requests), while the bridge's client uses aiohttp: a misreading of the protocol
shared by one library's client and server cannot hide here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http
import json
import logging
import secrets
import threading
import time
import urllib.parse
from typing import Any, Collection, Coroutine, Dict, List, Optional, Tuple, TypeVar

from ._brain import Brain
from ._conversation import Conversation, Settings
from ._faults import Faults
from ._formats import audio_format
from ._records import ConversationRecord, Records, SignedUrlRequest
from ._speech import engines

T = TypeVar("T")

SIGNED_URL_PATH = "/v1/convai/conversation/get-signed-url"
CONVERSATION_PATH = "/v1/convai/conversation"

# websockets logs request paths at DEBUG, and a conversation's path carries its
# signature: its logger stays at INFO whatever the application's level.
_ws_logger = logging.getLogger("livekit.plugins.elevenlabs_bridge.emulator.websockets")
_ws_logger.setLevel(logging.INFO)


def _positive(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return float(value)


class Emulator:
    """A local ElevenLabs conversation service (Speech Engine / Agents platform).

    ``async with Emulator() as emu:`` serves, on ``emu.http_url``:

    - ``GET /v1/convai/conversation/get-signed-url?agent_id=…`` with header
      ``xi-api-key``: 200 ``{"signed_url": …}``, 401 for a wrong key, 404 for an
      unknown agent, 422 without ``agent_id``. A signature starts one conversation
      and expires after ``signed_url_ttl`` seconds.
    - the conversation WebSocket ``/v1/convai/conversation?agent_id=…&
      conversation_signature=…`` (403 for a missing, used or expired signature).

    Args:
        api_keys: the keys accepted in ``xi-api-key``.
        agent_id: the one agent this service knows.
        user_input_audio_format, agent_output_audio_format: as the metadata announces
            them: ``pcm_8000``, ``pcm_16000``, ``pcm_22050``, ``pcm_24000``,
            ``pcm_44100``, ``pcm_48000`` or ``ulaw_8000``.
        host, port: where to listen (``port=0``: any free port).
        brain: the agent's script (default: it echoes what it heard).
        faults: what goes wrong (see :class:`Faults`); also ``emu.faults`` later.
        speech: "auto" (flite and pocketsphinx where installed, else tones and
            utterance lengths), "real" or "deterministic".
        ping_interval: seconds between pings.
        input_timeout: seconds without user input (audio, ``user_message`` or
            ``user_activity``) before the service closes with 1002.
        speed: how much faster than real time reply audio is sent.
        reply_delay: seconds from the end of the user's turn to the reply.
        vad_threshold: RMS (16-bit) from which a 20 ms frame counts as speech.
        vad_start, vad_end: seconds of speech that start a user turn, and of
            silence that end it.
        signed_url_ttl: seconds a signed URL stays good for starting a conversation.
        chunk_seconds: (shortest, longest) duration of one audio event.
        metadata_wait: seconds the service waits for the client's initiation data
            before it sends the metadata anyway.
        keep_audio: keep each conversation's user audio in ``records`` (turn it off
            for long runs: only the chunk sizes are kept then).
    """

    def __init__(
        self,
        *,
        api_keys: Collection[str] = ("xi_test",),
        agent_id: str = "agent_test",
        user_input_audio_format: str = "pcm_16000",
        agent_output_audio_format: str = "pcm_24000",
        host: str = "127.0.0.1",
        port: int = 0,
        brain: Optional[Brain] = None,
        faults: Optional[Faults] = None,
        speech: str = "auto",
        ping_interval: float = 2.0,
        input_timeout: float = 60.0,
        speed: float = 4.0,
        reply_delay: float = 0.05,
        vad_threshold: int = 500,
        vad_start: float = 0.06,
        vad_end: float = 0.4,
        signed_url_ttl: float = 900.0,
        chunk_seconds: Tuple[float, float] = (0.013, 0.37),
        metadata_wait: float = 0.25,
        keep_audio: bool = True,
    ) -> None:
        if isinstance(api_keys, str) or not all(isinstance(k, str) for k in api_keys):
            raise TypeError("api_keys must be a collection of str")
        if not isinstance(agent_id, str) or not agent_id:
            raise ValueError("agent_id must be a non-empty str")
        if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535; got {port!r}")
        if brain is not None and not isinstance(brain, Brain):
            raise TypeError(f"brain must be a Brain, not {type(brain).__name__}")
        if faults is not None and not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults, not {type(faults).__name__}")
        if isinstance(vad_threshold, bool) or not isinstance(vad_threshold, int) \
                or not 0 < vad_threshold < 32768:
            raise ValueError(f"vad_threshold must be an int in 1..32767; got {vad_threshold!r}")
        lo, hi = chunk_seconds
        if not 0 < _positive(lo, "chunk_seconds[0]") <= _positive(hi, "chunk_seconds[1]"):
            raise ValueError("chunk_seconds must be (shortest, longest) with shortest <= longest")
        if isinstance(reply_delay, bool) or not isinstance(reply_delay, (int, float)) \
                or reply_delay < 0:
            raise ValueError(f"reply_delay must be a number >= 0; got {reply_delay!r}")
        self._api_keys = frozenset(api_keys)
        self.agent_id = agent_id
        self._settings = Settings(
            user_input_audio_format=audio_format(user_input_audio_format,
                                                 "user_input_audio_format"),
            agent_output_audio_format=audio_format(agent_output_audio_format,
                                                   "agent_output_audio_format"),
            ping_interval=_positive(ping_interval, "ping_interval"),
            input_timeout=_positive(input_timeout, "input_timeout"),
            speed=_positive(speed, "speed"),
            reply_delay=float(reply_delay),
            vad_threshold=vad_threshold,
            vad_start=_positive(vad_start, "vad_start"),
            vad_end=_positive(vad_end, "vad_end"),
            metadata_wait=_positive(metadata_wait, "metadata_wait"),
            chunk_seconds=(float(lo), float(hi)),
            keep_audio=bool(keep_audio),
        )
        self._signed_url_ttl = _positive(signed_url_ttl, "signed_url_ttl")
        self._speaker, self._listener = engines(speech)
        self._host = host
        self._port = port
        self.brain = brain if brain is not None else Brain()
        self.faults = faults if faults is not None else Faults()
        self.records = Records()
        self.conversations: List[Conversation] = []
        self._signatures: Dict[str, Tuple[str, float]] = {}
        self._refused_signed_urls = 0
        self._server: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._changed: Optional[asyncio.Condition] = None

    # -- addresses -----------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port served (known once started)."""
        return self._port

    @property
    def http_url(self) -> str:
        """The API base URL, e.g. for ``ElevenLabs(base_url=…)``."""
        self._require_started()
        return f"http://{self._url_host}:{self._port}"

    @property
    def ws_url(self) -> str:
        """The conversation WebSocket's URL, without a query."""
        self._require_started()
        return f"ws://{self._url_host}:{self._port}{CONVERSATION_PATH}"

    @property
    def speech(self) -> Dict[str, str]:
        """Which engines speak and listen: ``{"tts": …, "asr": …}``."""
        return {"tts": self._speaker.name, "asr": self._listener.name}

    @property
    def user_input_audio_format(self) -> str:
        return self._settings.user_input_audio_format.name

    @property
    def agent_output_audio_format(self) -> str:
        return self._settings.agent_output_audio_format.name

    @property
    def _url_host(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    def _require_started(self) -> None:
        if self._server is None:
            raise RuntimeError("the emulator is not running: use 'async with Emulator()'")

    def env(self, api_key: Optional[str] = None) -> Dict[str, str]:
        """The environment a bridge worker needs to use this emulator."""
        key = api_key if api_key is not None else sorted(self._api_keys)[0]
        return {"ELEVENLABS_API_KEY": key, "ELEVENLABS_API_URL": self.http_url,
                "SPEECH_ENGINE_ID": self.agent_id}

    def __repr__(self) -> str:
        where = f"{self._url_host}:{self._port}" if self._server is not None else "stopped"
        return (f"Emulator({where}, agent_id={self.agent_id!r}, "
                f"in={self.user_input_audio_format}, out={self.agent_output_audio_format})")

    # -- life cycle ------------------------------------------------------------------

    async def start(self) -> "Emulator":
        """Start serving (``async with`` does this)."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        self._server = await serve(
            self._serve_conversation, self._host, self._port,
            process_request=self._process_request, logger=_ws_logger,
            max_size=16 * 1024 * 1024, close_timeout=2, compression=None,
            server_header="elevenlabs-emulator")
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def aclose(self) -> None:
        """Stop serving and end every conversation (close 1001, going away)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close(close_connections=True)
        await server.wait_closed()
        for conv in self.conversations:
            try:
                await conv.wait_closed(timeout=3)
            except asyncio.TimeoutError:
                conv.drop()

    async def __aenter__(self) -> "Emulator":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    # -- from sync code: the emulator runs its own loop in a thread -------------------

    def __enter__(self) -> "Emulator":
        ready: concurrent.futures.Future = concurrent.futures.Future()
        loop = asyncio.new_event_loop()

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as e:
                ready.set_exception(e)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.run_until_complete(self.aclose())
            loop.close()

        self._thread = threading.Thread(target=main, name="elevenlabs-emulator", daemon=True)
        self._thread.start()
        ready.result(timeout=30)
        return self

    def __exit__(self, *exc: Any) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        self._thread = None

    def call(self, coro: Coroutine[Any, Any, T], timeout: Optional[float] = 30) -> T:
        """Run ``coro`` (e.g. ``emu.conversations[0].interrupt()``) on the emulator's
        loop from another thread and return its result."""
        if self._loop is None or self._thread is None:
            coro.close()
            raise RuntimeError("call() is for an emulator started with 'with Emulator()'")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- waiting for clients ---------------------------------------------------------------

    async def wait_for_conversation(self, index: int = 1, timeout: float = 10.0) -> Conversation:
        """The ``index``-th conversation (1-based), once it has started."""
        assert self._changed is not None, "start the emulator first"

        async def wait() -> Conversation:
            async with self._changed:  # type: ignore[union-attr]
                await self._changed.wait_for(  # type: ignore[union-attr]
                    lambda: len(self.conversations) >= index)
                return self.conversations[index - 1]

        return await asyncio.wait_for(wait(), timeout)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # -- signed URLs -------------------------------------------------------------------------

    def signed_url(self, agent_id: Optional[str] = None) -> str:
        """Mint a signed URL directly (what ``get-signed-url`` returns)."""
        self._require_started()
        agent = self.agent_id if agent_id is None else agent_id
        signature = secrets.token_urlsafe(24)
        self._signatures[signature] = (agent, time.monotonic() + self._signed_url_ttl)
        query = urllib.parse.urlencode({"agent_id": agent, "conversation_signature": signature})
        return f"{self.ws_url}?{query}"

    def _json(self, connection: Any, status: int, body: Any) -> Any:
        response = connection.respond(status, json.dumps(body))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        response.headers["Connection"] = "close"
        return response

    def _get_signed_url(self, connection: Any, request: Any,
                        query: Dict[str, List[str]]) -> Any:
        key = request.headers.get("xi-api-key")
        key_ok = key in self._api_keys
        agent = (query.get("agent_id") or [None])[0]
        faults = self.faults

        def answer(status: int, body: Any) -> Any:
            self.records.signed_url_requests.append(SignedUrlRequest(agent, status, key_ok))
            return self._json(connection, status, body)

        if faults.refuse_signed_url is not None and (
                faults.refuse_signed_url_times is None
                or self._refused_signed_urls < faults.refuse_signed_url_times):
            self._refused_signed_urls += 1
            status = faults.refuse_signed_url
            return answer(status, {"detail": {"status": "refused",
                                              "message": http.HTTPStatus(status).phrase}})
        if not key_ok:
            return answer(401, {"detail": {"status": "invalid_api_key",
                                           "message": "Invalid API key"}})
        if not agent:
            return answer(422, {"detail": [{"loc": ["query", "agent_id"],
                                            "msg": "Field required", "type": "missing"}]})
        if agent != self.agent_id:
            return answer(404, {"detail": {"status": "agent_not_found",
                                           "message": f"Agent {agent} not found"}})
        return answer(200, {"signed_url": self.signed_url(agent)})

    def _admit(self, connection: Any, query: Dict[str, List[str]]) -> Any:
        """Checks a conversation's upgrade request; ``None`` lets the handshake go on."""
        faults = self.faults
        if faults.refuse_connection is not None:
            self.records.refused_connections.append(f"fault {faults.refuse_connection}")
            return connection.respond(faults.refuse_connection, "refused\n")
        agent = (query.get("agent_id") or [None])[0]
        signature = (query.get("conversation_signature") or [None])[0]
        if agent != self.agent_id:
            self.records.refused_connections.append("unknown agent")
            return connection.respond(404, "unknown agent\n")
        entry = self._signatures.pop(signature, None) if signature else None
        if entry is None:
            why = "no signature" if not signature else "unknown or used signature"
            self.records.refused_connections.append(why)
            return connection.respond(403, "invalid conversation signature\n")
        signed_for, expires = entry
        if signed_for != agent or time.monotonic() > expires:
            self.records.refused_connections.append("expired signature")
            return connection.respond(403, "expired conversation signature\n")
        return None

    def _process_request(self, connection: Any, request: Any) -> Any:
        url = urllib.parse.urlsplit(request.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path.rstrip("/")
        if path == SIGNED_URL_PATH:
            return self._get_signed_url(connection, request, query)
        if path == CONVERSATION_PATH:
            if request.headers.get("Upgrade", "").lower() != "websocket":
                return connection.respond(426, "a WebSocket upgrade is required\n")
            return self._admit(connection, query)
        return self._json(connection, 404, {"detail": "Not Found"})

    # -- conversations --------------------------------------------------------------------------

    async def _serve_conversation(self, ws: Any) -> None:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ws.request.path).query))
        query.pop("conversation_signature", None)
        index = len(self.records.conversations) + 1
        s = self._settings
        record = ConversationRecord(
            index=index, conversation_id=f"conv_{secrets.token_hex(10)}",
            agent_id=query.get("agent_id", ""), query=query,
            user_input_audio_format=s.user_input_audio_format.name,
            agent_output_audio_format=s.agent_output_audio_format.name)
        self.records.conversations.append(record)
        conv = Conversation(ws, record, s, self.brain, self.faults, self._speaker,
                            self._listener)
        self.conversations.append(conv)
        await self._notify()
        await conv.run()
