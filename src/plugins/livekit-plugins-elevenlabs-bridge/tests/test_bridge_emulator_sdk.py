"""The official ``elevenlabs`` SDK's conversation clients against the emulator: a client
nobody here wrote keeps the emulator honest."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable, List, Optional

import pytest
from elevenlabs import ElevenLabs
from elevenlabs.conversational_ai.conversation import (AsyncAudioInterface,
                                                       AsyncConversation, AudioInterface,
                                                       ClientTools, Conversation,
                                                       DisconnectionDetails)

from livekit.plugins.elevenlabs_bridge.emulator import Brain, Emulator, Faults, Say, ToolCall

from _bridge_emulator_client import silence, tone

LONG = "a reply long enough to be talked over by the user in the middle of it"


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Microphone(AudioInterface):
    """The SDK's audio interface: a scripted user, and a speaker that keeps what it got."""

    def __init__(self) -> None:
        self.played = bytearray()
        self.interruptions = 0
        self._send: Optional[Callable[[bytes], None]] = None

    def start(self, input_callback: Callable[[bytes], None]) -> None:
        self._send = input_callback

    def speak(self, pcm: bytes) -> None:
        assert self._send is not None
        for i in range(0, len(pcm), 640):  # 20 ms chunks, as a microphone gives them
            self._send(pcm[i:i + 640])

    def stop(self) -> None:
        self._send = None

    def output(self, audio: bytes) -> None:
        self.played += audio

    def interrupt(self) -> None:
        self.interruptions += 1


def test_sync_sdk_conversation_with_signed_url_speech_and_barge_in() -> None:
    events: List[Any] = []
    with Emulator(speech="deterministic", brain=Brain([LONG, "short one"]),
                  ping_interval=0.1, speed=2.0) as emu:
        client = ElevenLabs(api_key="xi_test", base_url=emu.http_url)
        mic = Microphone()
        conv = Conversation(
            client, "agent_test", requires_auth=True, audio_interface=mic,
            callback_agent_response=lambda t: events.append(("agent", t)),
            callback_user_transcript=lambda t: events.append(("user", t)),
            callback_latency_measurement=lambda ms: events.append(("latency", ms)))
        conv.start_session()
        wait_until(lambda: mic._send is not None)
        mic.speak(silence(0.2) + tone(0.4) + silence(0.6))
        wait_until(lambda: len(mic.played) > 0)  # the agent is talking
        mic.speak(tone(0.4) + silence(0.6))  # the user talks over it
        wait_until(lambda: sum(1 for e in events if e[0] == "agent") == 2)
        rec = emu.records.conversations[0]
        wait_until(lambda: len(rec.replies) == 2 and rec.replies[1].complete)
        wait_until(lambda: any(e[0] == "latency" for e in events))
        conv.end_session()
        conversation_id = conv.wait_for_session_end()
        emu.call(emu.conversations[0].wait_closed(5))

    assert conversation_id == rec.conversation_id
    assert emu.records.signed_url_requests[0].status == 200
    assert rec.query["source"] == "python_sdk" and "version" in rec.query
    assert rec.initiation_client_data is not None
    assert [e for e in events if e[0] != "latency"] == [
        ("user", "[speech 0.40 s]"), ("agent", LONG),
        ("user", "[speech 0.40 s]"), ("agent", "short one")]
    assert mic.interruptions == 1
    first, second = rec.replies
    assert first.interrupted and rec.interruptions == [second.event_id]
    # The SDK plays the first reply up to the interruption, then drops the next
    # reply, whose event_id equals the interruption's: its known off-by-one (the JS
    # client plays it). The emulator did send it.
    assert len(mic.played) == first.audio_bytes
    assert second.audio_bytes == second.planned_bytes > 0
    assert len(rec.pongs) >= 1 and rec.user_audio_seconds == pytest.approx(2.2, abs=0.01)
    assert (rec.close_code, rec.closed_by) == (1000, "client")


def test_sync_sdk_refused_signed_url() -> None:
    from elevenlabs.core.api_error import ApiError

    with Emulator(speech="deterministic", faults=Faults(refuse_signed_url=403)) as emu:
        conv = Conversation(ElevenLabs(api_key="xi_test", base_url=emu.http_url),
                            "agent_test", requires_auth=True)
        with pytest.raises(ApiError) as e:
            conv.start_session()
        assert e.value.status_code == 403
        conv.client_tools.stop()


class AsyncSpeaker(AsyncAudioInterface):
    def __init__(self) -> None:
        self.played = bytearray()

    async def start(self, input_callback: Any) -> None:
        self.send = input_callback

    async def stop(self) -> None:
        pass

    async def output(self, audio: bytes) -> None:
        self.played += audio

    async def interrupt(self) -> None:
        pass


@pytest.mark.asyncio
async def test_async_sdk_conversation_with_a_client_tool() -> None:
    def lookup(params: dict) -> str:
        return f"{params['city']} is sunny"

    tools = ClientTools(loop=asyncio.get_running_loop())
    tools.register("lookup", lookup)
    responses: List[str] = []
    ended: List[DisconnectionDetails] = []

    async def on_response(text: str) -> None:
        responses.append(text)

    async def on_disconnect(details: DisconnectionDetails) -> None:
        ended.append(details)

    say = Say("Weather: {result}", tool_call=ToolCall("lookup", {"city": "Oslo"}),
              close=1000, close_reason="all done")
    async with Emulator(speech="deterministic", brain=Brain([say]),
                        agent_output_audio_format="pcm_16000") as emu:
        speaker = AsyncSpeaker()
        conv = AsyncConversation(
            ElevenLabs(api_key="xi_test", base_url=emu.http_url), "agent_test",
            requires_auth=True, audio_interface=speaker, client_tools=tools,
            callback_agent_response=on_response, callback_disconnect=on_disconnect)
        await conv.start_session()
        conv_rec = await emu.wait_for_conversation(1)
        while conv._ws is None:  # the SDK's socket is set a moment after the server's
            await asyncio.sleep(0.01)
        await conv.send_user_message("weather in Oslo?")
        await conv_rec.wait_closed(10)
        conversation_id = await conv.wait_for_session_end()

    rec = emu.records.conversations[0]
    assert conversation_id == rec.conversation_id
    assert responses == ["Weather: Oslo is sunny"]
    (result,) = rec.tool_results
    assert result["tool_call_id"] == rec.tool_calls[0]["tool_call_id"]
    assert result["result"] == "Oslo is sunny" and result["is_error"] is False
    assert len(speaker.played) == rec.replies[0].planned_bytes > 0
    assert ended and ended[0].reason == "agent" and ended[0].close_code == 1000
    assert ended[0].close_reason == "all done"


@pytest.mark.asyncio
async def test_async_sdk_sees_an_abrupt_drop() -> None:
    ended: List[DisconnectionDetails] = []

    async def on_disconnect(details: DisconnectionDetails) -> None:
        ended.append(details)

    async with Emulator(speech="deterministic", brain=Brain(first_message=LONG),
                        faults=Faults(drop_after_audio=2)) as emu:
        conv = AsyncConversation(
            ElevenLabs(api_key="xi_test", base_url=emu.http_url), "agent_test",
            requires_auth=True, audio_interface=AsyncSpeaker(),
            callback_disconnect=on_disconnect)
        await conv.start_session()
        await (await emu.wait_for_conversation(1)).wait_closed(10)
        await conv.wait_for_session_end()
    assert ended and ended[0].reason == "error" and ended[0].close_code == 1006
    assert emu.records.conversations[0].closed_by == "drop"


def test_emulator_in_a_thread_serves_several_sdk_sessions_one_after_another() -> None:
    with Emulator(speech="deterministic", brain=Brain(["ok"])) as emu:
        client = ElevenLabs(api_key="xi_test", base_url=emu.http_url)
        ids = []
        for _ in range(2):
            got: List[str] = []
            done = threading.Event()

            def on_response(text: str) -> None:
                got.append(text)
                done.set()

            conv = Conversation(client, "agent_test", requires_auth=True,
                                callback_agent_response=on_response)
            conv.start_session()
            wait_until(lambda: conv._ws is not None)
            conv.send_user_message("hi")
            assert done.wait(10) and got == ["ok"]
            conv.end_session()
            ids.append(conv.wait_for_session_end())
    assert ids == [r.conversation_id for r in emu.records.conversations]
    assert len(set(ids)) == 2
    assert [r.status for r in emu.records.signed_url_requests] == [200, 200]
