"""One conversation WebSocket: the service's side of the protocol.

The receive loop only moves messages; what a message means is decided here, and the
agent's turns (tool call, speech, paced audio) run in their own task so that pings
and interruptions never wait behind them.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple, Union

from audiocore import audioop

from ._brain import Say, ToolCall, UserTurn
from ._formats import SPEECH_RATE, AudioFormat
from ._records import ConversationRecord, Reply, Utterance
from ._speech import Listener, Speaker

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ._brain import Brain
    from ._faults import Faults

logger = logging.getLogger("livekit.plugins.elevenlabs_bridge.emulator")

# The detector works on 20 ms frames of 16 kHz PCM.
_VAD_FRAME = SPEECH_RATE // 50
_VAD_FRAME_BYTES = 2 * _VAD_FRAME
_PREROLL_FRAMES = 5  # audio kept from before the onset, so the recogniser hears it all


@dataclass
class Settings:
    """The service's behaviour, shared by the conversations of one emulator."""

    user_input_audio_format: AudioFormat
    agent_output_audio_format: AudioFormat
    ping_interval: float
    input_timeout: float
    speed: float
    reply_delay: float
    vad_threshold: int
    vad_start: float
    vad_end: float
    metadata_wait: float
    keep_audio: bool  # store the user's audio in the record (tests), or only its sizes
    chunk_seconds: Tuple[float, float]  # (shortest, longest) audio event, in seconds


class _ConversationEnded(Exception):
    """Raised inside the conversation when it has been closed on purpose."""


class Conversation:
    """The live side of one conversation; ``emu.conversations`` holds them.

    A test drives it directly with :meth:`say`, :meth:`interrupt`, :meth:`call_tool`,
    :meth:`ping`, :meth:`send_raw`, :meth:`stall`, :meth:`close` and :meth:`drop`
    (coroutines of the emulator's event loop). ``record`` is what it saw.
    """

    def __init__(self, ws: "ServerConnection", record: ConversationRecord,
                 settings: Settings, brain: "Brain", faults: "Faults",
                 speaker: Speaker, listener: Listener) -> None:
        self._ws = ws
        self.record = record
        self._settings = settings
        self._brain = brain
        self._faults = faults
        self._speaker = speaker
        self._listener = listener
        self._decoder = settings.user_input_audio_format.decoder()
        self._started = time.monotonic()
        self._last_input = self._started
        self._next_event_id = 1
        self._next_ping_id = 1
        self._next_tool_id = 1
        self._turns = 0
        self._tasks: Set[asyncio.Task] = set()
        self._reply_task: Optional[asyncio.Task] = None
        self._playing: Optional[Reply] = None  # the reply whose audio the client may be playing
        self._playing_chunks: List[bytes] = []
        self._playing_pos = 0
        self._audible_until = 0.0  # monotonic time the client's playback would end
        self._playing_t0 = 0.0  # when the client started playing it
        self._tool_waiters: Dict[str, "asyncio.Future[Dict[str, Any]]"] = {}
        self._stalled = asyncio.Event()
        self._ended = False
        self._closed = asyncio.Event()
        self._audio_events = 0
        # energy detector
        self._vad_buf = bytearray()
        self._vad_frames = 0  # frames examined so far
        self._run_speech = 0
        self._run_silence = 0
        self._preroll: List[bytes] = []
        self._utt: Optional[Utterance] = None
        self._utt_pcm: List[bytes] = []

    # -- public handle -------------------------------------------------------------

    @property
    def conversation_id(self) -> str:
        return self.record.conversation_id

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self, timeout: Optional[float] = None) -> None:
        """Wait until the conversation's socket is gone."""
        await asyncio.wait_for(self._closed.wait(), timeout)

    async def say(self, text: Union[str, Say], event_id: Optional[int] = None) -> Optional[Reply]:
        """Make the agent speak now, talking over whatever it was saying; returns its
        record once all its audio has been sent (or it was cut short: then
        ``interrupted`` tells).

        ``event_id``: the reply's id; by default the next one. Pass the id that
        :meth:`interrupt` returned to answer that (simulated) user turn, as the
        service does: its audio then carries the interruption's id.
        """
        say = Say(text) if isinstance(text, str) else text
        if event_id is None:
            event_id = self._new_event_id()
        elif isinstance(event_id, bool) or not isinstance(event_id, int):
            raise TypeError(f"event_id must be an int, not {type(event_id).__name__}")
        task = self._start_reply(self._speak(event_id, say))
        await asyncio.wait([task])
        return next((r for r in self.record.replies if r.event_id == event_id), None)

    async def interrupt(self) -> int:
        """Act as if the user had started talking over the agent: stop its reply and
        send ``interruption``; returns the interruption's ``event_id``."""
        event_id = self._new_event_id()
        await self._interrupt(event_id)
        return event_id

    async def call_tool(self, name: str, parameters: Optional[Dict[str, Any]] = None,
                        timeout: float = 10.0) -> Optional[Dict[str, Any]]:
        """Send a ``client_tool_call``; returns the client's ``client_tool_result``
        message, or ``None`` if none came within ``timeout`` seconds."""
        return await self._call_tool(ToolCall(name, dict(parameters or {}), timeout))

    async def send_audio(self, data: bytes, event_id: int) -> None:
        """Send one ``audio`` event of ``data`` (bytes in the output format) with any
        ``event_id``, e.g. an old one after an interruption."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        if isinstance(event_id, bool) or not isinstance(event_id, int):
            raise TypeError(f"event_id must be an int, not {type(event_id).__name__}")
        await self._send_audio(event_id, bytes(data))

    async def ping(self) -> int:
        """Send one ``ping`` now; returns its ``event_id``."""
        return await self._send_ping()

    async def send_raw(self, data: Union[str, bytes]) -> None:
        """Send ``data`` as one WebSocket message, exactly as given."""
        await self._ws.send(data)
        self.record.sent.append({"type": "raw", "bytes": len(data)})

    def stall(self) -> None:
        """Go quiet: no pings, audio or replies from now on; the socket stays open."""
        self._stalled.set()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the conversation with ``code`` (1000 normal, 1002, 1008, 1011 …)."""
        await self._close(code, reason)

    def drop(self) -> None:
        """Abort the TCP connection: no close frame (the client sees 1006)."""
        if self.record.closed_by is None:
            self.record.closed_by = "drop"
        self._ended = True
        transport = getattr(self._ws, "transport", None)
        if transport is not None:
            transport.abort()

    # -- life cycle ----------------------------------------------------------------

    async def run(self) -> None:
        """Serve the conversation until either side ends it."""
        try:
            pending = await self._initiate()
            logger.info("conversation %s started (in %s, out %s)", self.conversation_id,
                        self.record.user_input_audio_format,
                        self.record.agent_output_audio_format)
            self._spawn(self._pinger())
            self._spawn(self._watchdog())
            faults = self._conversation_faults()
            if faults is not None:
                for raw in faults.malformed:
                    await self.send_raw(raw)
                if faults.close_after_metadata is not None:
                    code, reason = faults.close_after_metadata
                    await self._close(code, reason)
                    return
            first = self._brain.first_message
            if first is not None:
                self._start_reply(self._speak(self._new_event_id(), first))
            if pending is not None:
                await self._handle(pending)
            async for raw in self._ws:
                await self._handle(raw)
        except _ConversationEnded:
            pass
        except Exception as e:  # the socket went away under us
            from websockets.exceptions import ConnectionClosed

            if not isinstance(e, ConnectionClosed):
                logger.exception("conversation %s failed", self.conversation_id)
                await self._close(1011, "internal error")
        finally:
            self._ended = True
            for task in list(self._tasks):
                task.cancel()
            for waiter in self._tool_waiters.values():
                if not waiter.done():
                    waiter.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._note_close()
            rec = self.record
            logger.info("conversation %s ended: %s closed it (%s)", rec.conversation_id,
                        rec.closed_by, " ".join(str(x) for x in (rec.close_code,
                                                                  rec.close_reason) if x))
            self._closed.set()

    def _note_close(self) -> None:
        rec = self.record
        if rec.closed_by is not None:
            return
        protocol = self._ws.protocol
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        if sent is not None and (rcvd is None or not protocol.close_rcvd_then_sent):
            rec.closed_by = "server"  # the emulator shutting down (1001)
            rec.close_code, rec.close_reason = sent.code, sent.reason
        elif rcvd is not None:
            rec.closed_by = "client"
            rec.close_code, rec.close_reason = rcvd.code, rcvd.reason
        else:
            rec.closed_by = "client"  # the client vanished without a close frame
            rec.close_code, rec.close_reason = 1006, ""

    async def _initiate(self) -> Optional[Union[str, bytes]]:
        """Takes the client's ``conversation_initiation_client_data`` if it comes first
        (it may override things), then sends the metadata, first and once."""
        pending: Optional[Union[str, bytes]] = None
        try:
            first = await asyncio.wait_for(self._ws.recv(), self._settings.metadata_wait)
        except asyncio.TimeoutError:
            first = None
        if first is not None:
            msg = _parse(first)
            if isinstance(msg, dict) and msg.get("type") == "conversation_initiation_client_data":
                self.record.initiation_client_data = msg
                self.record.client_messages.append(msg)
                self._last_input = time.monotonic()
            else:
                pending = first
        await self._send({
            "type": "conversation_initiation_metadata",
            "conversation_initiation_metadata_event": {
                "conversation_id": self.record.conversation_id,
                "agent_output_audio_format": self.record.agent_output_audio_format,
                "user_input_audio_format": self.record.user_input_audio_format,
            },
        })
        return pending

    def _conversation_faults(self) -> Optional["Faults"]:
        return self._faults if self._faults.applies_to(self.record.index) else None

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(self._quiet(coro))
        # A task cancelled before its first step never runs its coroutine: close it,
        # so that it is not reported as never awaited (a no-op once it has run).
        task.add_done_callback(lambda _: coro.close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _quiet(coro: Any) -> None:
        """Runs a background part of the conversation; its end needs no report."""
        from websockets.exceptions import ConnectionClosed

        try:
            await coro
        except (_ConversationEnded, ConnectionClosed):
            pass

    def _new_event_id(self) -> int:
        event_id = self._next_event_id
        self._next_event_id += 1
        return event_id

    async def _send(self, msg: Dict[str, Any], summary: Optional[Dict[str, Any]] = None) -> None:
        if self._ended:
            raise _ConversationEnded()
        await self._ws.send(json.dumps(msg))
        self.record.sent.append(summary if summary is not None else {"type": msg["type"]})

    async def _close(self, code: int, reason: str) -> None:
        if self.record.closed_by is None:
            self.record.closed_by = "server"
            self.record.close_code, self.record.close_reason = code, reason
        self._ended = True
        try:
            await self._ws.close(code, reason)
        except Exception:  # already gone: nothing left to close
            pass

    # -- client messages -------------------------------------------------------------

    async def _bad_input(self, why: str) -> None:
        self.record.bad_input.append(why)
        await self._close(1008, why)
        raise _ConversationEnded()

    async def _handle(self, raw: Union[str, bytes]) -> None:
        if isinstance(raw, bytes):
            await self._bad_input("binary messages are not accepted")
        msg = _parse(raw)
        if msg is None:
            await self._bad_input("malformed JSON")
        if not isinstance(msg, dict):
            await self._bad_input("a message must be a JSON object")
        assert isinstance(msg, dict)
        if "user_audio_chunk" in msg:
            await self._user_audio(msg["user_audio_chunk"])
            return
        self.record.client_messages.append(msg)
        kind = msg.get("type")
        if kind == "pong":
            self._pong(msg)
        elif kind == "conversation_initiation_client_data":
            if self.record.initiation_client_data is None:
                self.record.initiation_client_data = msg
        elif kind == "client_tool_result":
            self._tool_result(msg)
        elif kind == "user_activity":
            self.record.user_activity += 1
            self._last_input = time.monotonic()
        elif kind == "contextual_update":
            text = msg.get("text")
            if not isinstance(text, str):
                await self._bad_input("contextual_update needs a text")
            self.record.contextual_updates.append(text)  # type: ignore[arg-type]
        elif kind == "user_message":
            text = msg.get("text")
            if not isinstance(text, str):
                await self._bad_input("user_message needs a text")
            self.record.user_messages.append(text)  # type: ignore[arg-type]
            logger.info("conversation %s: the user wrote %r", self.conversation_id, text)
            self._last_input = time.monotonic()
            await self._text_turn(text)  # type: ignore[arg-type]
        else:
            self.record.unknown.append(msg)

    def _pong(self, msg: Dict[str, Any]) -> None:
        now = time.monotonic()
        event_id = msg.get("event_id")
        for ping in reversed(self.record.pings):
            if ping.event_id == event_id:
                if ping.pong_at is None:
                    ping.pong_at = now
                return
        self.record.bad_input.append(f"pong for an unknown ping {event_id!r}")

    def _tool_result(self, msg: Dict[str, Any]) -> None:
        self.record.tool_results.append(msg)
        waiter = self._tool_waiters.pop(str(msg.get("tool_call_id")), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)

    async def _user_audio(self, payload: Any) -> None:
        if not isinstance(payload, str):
            await self._bad_input("user_audio_chunk must be a base64 string")
        try:
            data = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            await self._bad_input("user_audio_chunk is not valid base64")
            return
        fmt = self._settings.user_input_audio_format
        if len(data) % fmt.bytes_per_sample:
            await self._bad_input(f"user_audio_chunk of {len(data)} bytes is not whole "
                                  f"{fmt.name} samples")
        self._last_input = time.monotonic()
        if self._settings.keep_audio:
            self.record.user_audio += data
        self.record.user_chunks.append(len(data))
        self._vad_buf += self._decoder.process(data)  # type: ignore[operator]
        while len(self._vad_buf) >= _VAD_FRAME_BYTES:
            frame = bytes(self._vad_buf[:_VAD_FRAME_BYTES])
            del self._vad_buf[:_VAD_FRAME_BYTES]
            await self._vad_frame(frame)

    # -- energy detector ---------------------------------------------------------------

    async def _vad_frame(self, frame: bytes) -> None:
        s = self._settings
        self._vad_frames += 1
        loud = audioop.rms(frame, 2) >= s.vad_threshold
        start_frames = max(1, round(s.vad_start * 50))
        end_frames = max(1, round(s.vad_end * 50))
        if self._utt is None:
            self._preroll.append(frame)
            if len(self._preroll) > _PREROLL_FRAMES + start_frames:
                del self._preroll[0]
            self._run_speech = self._run_speech + 1 if loud else 0
            if self._run_speech >= start_frames:
                onset = (self._vad_frames - start_frames) / 50
                self._utt_pcm = list(self._preroll)
                self._preroll = []
                self._run_silence = 0
                await self._speech_started(onset)
            return
        self._utt_pcm.append(frame)
        self._run_silence = 0 if loud else self._run_silence + 1
        if self._run_silence >= end_frames:
            utt = self._utt
            utt.end = (self._vad_frames - end_frames) / 50
            pcm = b"".join(self._utt_pcm[:len(self._utt_pcm) - end_frames + 1])
            self._utt, self._utt_pcm, self._run_speech = None, [], 0
            self._start_reply(self._answer_speech(utt, pcm))

    async def _speech_started(self, onset: float) -> None:
        event_id = self._new_event_id()
        utt = Utterance(event_id=event_id, start=onset)
        self._utt = utt
        self.record.utterances.append(utt)
        if self._audible():
            utt.interrupted = self._playing.event_id if self._playing else None
            await self._interrupt(event_id)
        else:
            # A reply still being prepared is superseded by what the user now says.
            self._cancel_reply()

    # -- agent turns -------------------------------------------------------------------

    def _audible(self) -> bool:
        """Whether the client may still be playing the agent's audio."""
        if self._playing is None:
            return False
        return (self._playing_pos < len(self._playing_chunks)
                or time.monotonic() < self._audible_until)

    def _start_reply(self, coro: Any) -> asyncio.Task:
        self._cancel_reply()
        task = self._spawn(self._guard(coro))
        task.add_done_callback(lambda _: coro.close())
        self._reply_task = task
        return task

    def _cancel_reply(self) -> None:
        task = self._reply_task
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        self._reply_task = None

    async def _guard(self, coro: Any) -> None:
        try:
            await coro
        except (asyncio.CancelledError, _ConversationEnded):
            raise
        except Exception as e:
            from websockets.exceptions import ConnectionClosed

            if isinstance(e, ConnectionClosed):
                return
            logger.exception("the emulated agent failed in conversation %s",
                             self.conversation_id)
            await self._close(1011, "internal error")

    async def _text_turn(self, text: str) -> None:
        event_id = self._new_event_id()
        if self._audible():
            await self._interrupt(event_id)
        self._start_reply(self._answer(text, event_id, "text"))

    async def _answer_speech(self, utt: Utterance, pcm: bytes) -> None:
        assert utt.end is not None
        text = (await self._listener.transcribe(pcm, utt.end - utt.start)).strip()
        utt.transcript = text
        logger.info("conversation %s: the user said %r", self.conversation_id, text)
        await self._wait_unstalled()
        await self._send({"type": "user_transcript",
                          "user_transcription_event": {"user_transcript": text}})
        await self._answer(text, utt.event_id, "speech")

    async def _answer(self, text: str, event_id: int, source: str) -> None:
        turn = UserTurn(text=text, index=self._turns, event_id=event_id, source=source,
                        record=self.record)
        self._turns += 1
        say = await self._brain.respond(turn)
        if say is None:
            return
        await asyncio.sleep(self._settings.reply_delay)
        await self._speak(event_id, say)

    async def _speak(self, event_id: int, say: Say) -> None:
        await self._wait_unstalled()
        text = say.text
        if say.tool_call is not None:
            result = await self._call_tool(say.tool_call)
            shown = "(no result)" if result is None else str(result.get("result"))
            text = text.replace("{result}", shown)
        await self._send({"type": "agent_response",
                          "agent_response_event": {"agent_response": text}})
        if self._text_only():
            # The client asked for a text conversation: no audio at all.
            self.record.replies.append(Reply(event_id=event_id, text=text))
            if say.close is not None:
                await self._close(say.close, say.close_reason)
            return
        fmt = self._settings.agent_output_audio_format
        pcm = await self._speaker.synthesize(text)
        enc = fmt.encoder()
        wire = enc.process(pcm) + enc.flush()  # type: ignore[operator]
        reply = Reply(event_id=event_id, text=text, planned_bytes=len(wire))
        self.record.replies.append(reply)
        logger.info("conversation %s: the agent says %r (event_id %d, %.2f s)",
                    self.conversation_id, text, event_id, fmt.duration(len(wire)))
        chunks = _uneven_chunks(wire, fmt, event_id, self._settings.chunk_seconds)
        self._playing, self._playing_chunks, self._playing_pos = reply, chunks, 0
        t0: Optional[float] = None
        sent_s = 0.0
        for i, chunk in enumerate(chunks):
            if t0 is None:
                t0 = self._playing_t0 = time.monotonic()
            else:
                # Faster than real time, as the service's synthesis runs.
                delay = t0 + sent_s / self._settings.speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            await self._wait_unstalled()
            await self._send_audio(event_id, chunk)
            self._playing_pos = i + 1
            reply.chunks.append(len(chunk))
            reply.audio_bytes += len(chunk)
            sent_s += fmt.duration(len(chunk))
            # The client plays from the first chunk's arrival, in real time.
            self._audible_until = t0 + sent_s
        if say.close is not None:
            await asyncio.sleep(max(0.0, self._audible_until - time.monotonic()))
            await self._close(say.close, say.close_reason)

    def _text_only(self) -> bool:
        data = self.record.initiation_client_data or {}
        override = data.get("conversation_config_override")
        if not isinstance(override, dict):
            return False
        conversation = override.get("conversation")
        nested = conversation.get("text_only") if isinstance(conversation, dict) else None
        return bool(override.get("text_only") or nested)

    async def _send_audio(self, event_id: int, chunk: bytes) -> None:
        await self._send(
            {"type": "audio",
             "audio_event": {"audio_base_64": base64.b64encode(chunk).decode("ascii"),
                             "event_id": event_id}},
            {"type": "audio", "event_id": event_id, "bytes": len(chunk)})
        self._audio_events += 1
        faults = self._conversation_faults()
        if (faults is not None and faults.drop_after_audio is not None
                and self._audio_events >= faults.drop_after_audio):
            self.drop()
            raise _ConversationEnded()

    async def _interrupt(self, event_id: int) -> None:
        reply, chunks, pos = self._playing, self._playing_chunks, self._playing_pos
        self._cancel_reply()
        self._playing, self._playing_chunks, self._audible_until = None, [], 0.0
        if reply is not None:
            reply.interrupted = True
        self.record.interruptions.append(event_id)
        logger.info("conversation %s: interrupted (event_id %d)", self.conversation_id, event_id)
        await self._send({"type": "interruption", "interruption_event": {"event_id": event_id}},
                         {"type": "interruption", "event_id": event_id})
        if reply is not None and reply.audio_bytes:
            # What the user heard of it: the words played out by now.
            fmt = self._settings.agent_output_audio_format
            heard = (time.monotonic() - self._playing_t0) / max(
                fmt.duration(reply.planned_bytes), 1e-9)
            words = reply.text.split()
            corrected = " ".join(words[:int(len(words) * min(1.0, heard))]) + "..."
            await self._send({"type": "agent_response_correction",
                              "agent_response_correction_event": {
                                  "original_agent_response": reply.text,
                                  "corrected_agent_response": corrected}})
        faults = self._conversation_faults()
        if faults is not None and faults.stale_audio and reply is not None and chunks:
            # What a slow synthesis pipeline lets slip out after the interruption.
            stale = chunks[pos] if pos < len(chunks) else chunks[-1]
            await self._send_audio(reply.event_id, stale)
            reply.stale_sent += 1

    async def _call_tool(self, call: ToolCall) -> Optional[Dict[str, Any]]:
        tool_call_id = f"tool_{self.record.index}_{self._next_tool_id}"
        self._next_tool_id += 1
        waiter: "asyncio.Future[Dict[str, Any]]" = asyncio.get_running_loop().create_future()
        self._tool_waiters[tool_call_id] = waiter
        body = {"tool_name": call.name, "tool_call_id": tool_call_id,
                "parameters": dict(call.parameters), "expects_response": True}
        self.record.tool_calls.append(body)
        await self._send({"type": "client_tool_call", "client_tool_call": body})
        try:
            return await asyncio.wait_for(waiter, call.timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._tool_waiters.pop(tool_call_id, None)

    async def _wait_unstalled(self) -> None:
        if self._stalled.is_set():
            await asyncio.Event().wait()  # until the conversation is cancelled

    # -- keepalive and timeouts -----------------------------------------------------------

    async def _send_ping(self) -> int:
        from ._records import Ping

        event_id = self._next_ping_id
        self._next_ping_id += 1
        last = self.record.pong_latencies
        ping_ms = round(last[-1] * 1000) if last else None
        ping = Ping(event_id=event_id, sent_at=time.monotonic())
        self.record.pings.append(ping)
        await self._send({"type": "ping", "ping_event": {"event_id": event_id, "ping_ms": ping_ms}},
                         {"type": "ping", "event_id": event_id})
        return event_id

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(self._settings.ping_interval)
            if self._stalled.is_set():
                return
            await self._send_ping()
            faults = self._conversation_faults()
            if (faults is not None and faults.stall_after_pings is not None
                    and len(self.record.pings) >= faults.stall_after_pings):
                self.stall()
                return

    async def _watchdog(self) -> None:
        s = self._settings
        step = min(0.05, s.input_timeout / 4)
        while True:
            await asyncio.sleep(step)
            now = time.monotonic()
            faults = self._conversation_faults()
            if (faults is not None and faults.drop_after_seconds is not None
                    and now - self._started >= faults.drop_after_seconds):
                self.drop()
                return
            if now - self._last_input >= s.input_timeout and not self._stalled.is_set():
                await self._close(1002, "no user input")
                return


def _parse(raw: Union[str, bytes]) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _uneven_chunks(wire: bytes, fmt: AudioFormat, seed: int,
                   bounds: Tuple[float, float]) -> List[bytes]:
    """Splits a reply into audio events of varying length, the same way every time
    for the same reply (seeded by its event_id)."""
    rng = random.Random(seed)
    lo, hi = bounds
    chunks: List[bytes] = []
    pos = 0
    while pos < len(wire):
        n = max(fmt.bytes_per_sample, fmt.nbytes(rng.uniform(lo, hi)))
        chunks.append(wire[pos:pos + n])
        pos += n
    return chunks
