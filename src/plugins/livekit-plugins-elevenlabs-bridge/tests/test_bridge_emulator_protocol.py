"""The emulator's side of the conversation protocol, seen by a raw aiohttp client."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import urllib.parse

import aiohttp
import pytest

from audiocore import audioop
from livekit.plugins.elevenlabs_bridge.emulator import FORMATS, Brain, Emulator, Say, ToolCall

from _bridge_emulator_client import (RawClient, from_format, get_signed_url, silence,
                                     to_format, tone)


def emulator(**kw: object) -> Emulator:
    kw.setdefault("speech", "deterministic")
    return Emulator(**kw)  # type: ignore[arg-type]


# -- signed URLs -------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_signed_url_statuses_and_body() -> None:
    async with emulator() as emu:
        ok = await get_signed_url(emu.http_url)
        assert ok.status == 200 and ok.content_type == "application/json"
        url = (await ok.json())["signed_url"]
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == emu.ws_url
        assert query["agent_id"] == ["agent_test"] and query["conversation_signature"][0]

        assert (await get_signed_url(emu.http_url, key="xi_wrong")).status == 401
        assert (await get_signed_url(emu.http_url, key=None)).status == 401
        assert (await get_signed_url(emu.http_url, agent_id="agent_other")).status == 404
        assert (await get_signed_url(emu.http_url, agent_id=None)).status == 422  # type: ignore[arg-type]
        assert [(r.status, r.key_ok) for r in emu.records.signed_url_requests] == [
            (200, True), (401, False), (401, False), (404, True), (422, True)]


@pytest.mark.asyncio
async def test_signature_starts_one_conversation_only() -> None:
    async with emulator() as emu:
        url = (await (await get_signed_url(emu.http_url)).json())["signed_url"]
        async with RawClient() as first:
            await first.connect(url)
            await first.wait_type("conversation_initiation_metadata")
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(url)
            assert e.value.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(emu.ws_url + "?agent_id=agent_test")
            assert e.value.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(emu.signed_url().replace("agent_test", "agent_x"))
            assert e.value.status == 404
        assert emu.records.refused_connections == [
            "unknown or used signature", "no signature", "unknown agent"]
        assert len(emu.records.conversations) == 1


@pytest.mark.asyncio
async def test_signed_url_expires() -> None:
    async with emulator(signed_url_ttl=0.05) as emu:
        url = emu.signed_url()
        await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(url)
        assert e.value.status == 403
        assert emu.records.refused_connections == ["expired signature"]


@pytest.mark.asyncio
async def test_http_get_on_the_socket_path_needs_an_upgrade() -> None:
    async with emulator() as emu:
        async with aiohttp.ClientSession() as s:
            async with s.get(emu.signed_url().replace("ws://", "http://")) as r:
                assert r.status == 426
            async with s.get(emu.http_url + "/v1/nothing") as r:
                assert r.status == 404


# -- metadata and pings --------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("client_data", [True, False])
async def test_metadata_first_and_once(client_data: bool) -> None:
    async with emulator(user_input_audio_format="ulaw_8000",
                        agent_output_audio_format="pcm_44100", ping_interval=0.05,
                        metadata_wait=0.05) as emu:
        async with RawClient(send_client_data=client_data) as c:
            await c.connect(emu.signed_url() + "&source=test&version=1")
            await c.wait_type("ping", 3)
        meta = c.messages[0]
        assert meta["type"] == "conversation_initiation_metadata"
        assert len(c.of_type("conversation_initiation_metadata")) == 1
        event = meta["conversation_initiation_metadata_event"]
        rec = emu.records.conversations[0]
        assert event == {"conversation_id": rec.conversation_id,
                         "agent_output_audio_format": "pcm_44100",
                         "user_input_audio_format": "ulaw_8000"}
        assert rec.query == {"agent_id": "agent_test", "source": "test", "version": "1"}
        assert (rec.initiation_client_data is not None) == client_data


@pytest.mark.asyncio
async def test_metadata_precedes_the_reply_to_an_early_message() -> None:
    async with emulator(brain=Brain(["early reply"])) as emu:
        async with RawClient(send_client_data=False) as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "user_message", "text": "hello"})
            await c.wait_type("agent_response")
        assert c.messages[0]["type"] == "conversation_initiation_metadata"
        assert emu.records.conversations[0].user_messages == ["hello"]


@pytest.mark.asyncio
async def test_pings_carry_ids_and_the_last_latency() -> None:
    async with emulator(ping_interval=0.03) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.wait_type("ping", 4)
            await asyncio.sleep(0.02)
        pings = [m["ping_event"] for m in c.of_type("ping")]
        assert [p["event_id"] for p in pings[:4]] == [1, 2, 3, 4]
        assert pings[0]["ping_ms"] is None
        assert all(isinstance(p["ping_ms"], int) and p["ping_ms"] >= 0 for p in pings[1:4])
        rec = emu.records.conversations[0]
        assert len(rec.pongs) >= 4
        assert all(lat >= 0 for lat in rec.pong_latencies)


@pytest.mark.asyncio
async def test_unanswered_pings_have_no_latency() -> None:
    async with emulator(ping_interval=0.03) as emu:
        async with RawClient(pong=False) as c:
            await c.connect(emu.signed_url())
            await c.wait_type("ping", 3)
        rec = emu.records.conversations[0]
        assert len(rec.pings) >= 3 and rec.pongs == [] and rec.pong_latencies == []


# -- turns, audio, interruptions ------------------------------------------------------------

async def speak(c: RawClient, seconds: float, fmt: str = "pcm_16000",
                lead: float = 0.2, tail: float = 0.6) -> None:
    """Silence, a loud tone of ``seconds``, silence: one user turn."""
    pcm = silence(lead) + tone(seconds) + silence(tail)
    await c.send_audio(to_format(pcm, fmt), chunk=FORMATS[fmt].nbytes(0.02))


@pytest.mark.asyncio
async def test_a_user_turn_gets_transcript_response_and_uneven_audio() -> None:
    async with emulator(brain=Brain(["one two three four five"])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await speak(c, 0.5)
            await c.wait_for(lambda c: emu.records.conversations[0].replies
                             and emu.records.conversations[0].replies[0].complete)
            await c.wait_for(lambda c: len(c.audio()) == emu.records.conversations[0]
                             .replies[0].planned_bytes)
        rec = emu.records.conversations[0]
        kinds = [m["type"] for m in c.messages if m["type"] != "ping"]
        assert kinds[:3] == ["conversation_initiation_metadata", "user_transcript",
                             "agent_response"]
        assert set(kinds[3:]) == {"audio"}
        assert c.of_type("user_transcript")[0]["user_transcription_event"] == {
            "user_transcript": "[speech 0.50 s]"}
        assert c.of_type("agent_response")[0]["agent_response_event"] == {
            "agent_response": "one two three four five"}
        (utt,) = rec.utterances
        assert (utt.start, utt.end, utt.event_id) == (0.2, 0.7, 1)
        events = [m["audio_event"] for m in c.of_type("audio")]
        assert {e["event_id"] for e in events} == {1}
        sizes = [len(base64.b64decode(e["audio_base_64"])) for e in events]
        assert len(set(sizes)) > 3 and all(n % 2 == 0 for n in sizes)
        assert sizes == rec.replies[0].chunks
        # Five 240 ms words, 40 ms apart, at 24 kHz (the default output).
        audio = c.audio()
        assert abs(len(audio) / 2 / 24000 - 5 * 0.28) < 0.01
        assert audioop.rms(audio, 2) > 3000
        assert bytes(rec.user_audio) == to_format(silence(0.2) + tone(0.5) + silence(0.6),
                                                  "pcm_16000")


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_every_format_in_and_out(fmt: str) -> None:
    async with emulator(user_input_audio_format=fmt, agent_output_audio_format=fmt,
                        brain=Brain(["alpha beta"])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await speak(c, 0.4, fmt)
            await c.wait_for(lambda c: emu.records.conversations[0].replies
                             and emu.records.conversations[0].replies[0].complete)
        rec = emu.records.conversations[0]
        (utt,) = rec.utterances
        assert abs((utt.end - utt.start) - 0.4) <= 0.021
        info = FORMATS[fmt]
        audio = c.audio()
        assert len(audio) == rec.replies[0].planned_bytes
        assert abs(info.duration(len(audio)) - 2 * 0.28) < 0.01
        assert audioop.rms(from_format(audio, fmt), 2) > 3000


@pytest.mark.asyncio
async def test_speaking_over_the_agent_interrupts_it() -> None:
    brain = Brain(["a long reply that goes on for quite a few words indeed", "short"])
    async with emulator(brain=brain, speed=2.0) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await speak(c, 0.3)
            await c.wait_type("audio")
            await speak(c, 0.3, lead=0.0)  # while the first reply is still playing
            await c.wait_type("interruption")
            await c.wait_for(lambda c: len(emu.records.conversations[0].replies) == 2
                             and emu.records.conversations[0].replies[1].complete)
        rec = emu.records.conversations[0]
        first, second = rec.replies
        (interruption,) = c.of_type("interruption")
        n = interruption["interruption_event"]["event_id"]
        assert first.event_id < n == second.event_id == rec.utterances[1].event_id
        assert first.interrupted and not first.complete and rec.utterances[1].interrupted == 1
        assert rec.interruptions == [n]
        ids = [m["audio_event"]["event_id"] for m in c.messages if m["type"] == "audio"]
        at = c.messages.index(interruption)
        later = [m["audio_event"]["event_id"] for m in c.messages[at:] if m["type"] == "audio"]
        assert set(later) == {n} and ids[0] == first.event_id
        assert len(c.audio(first.event_id)) == first.audio_bytes < first.planned_bytes


@pytest.mark.asyncio
async def test_talking_while_the_agent_is_silent_does_not_interrupt() -> None:
    async with emulator(brain=Brain(["hi", "again"])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await speak(c, 0.3)
            await c.wait_for(lambda c: emu.records.conversations[0].replies
                             and emu.records.conversations[0].replies[0].complete)
            await asyncio.sleep(0.4)  # "hi" is 280 ms long: it has played out
            await speak(c, 0.3, lead=0.0)
            await c.wait_for(lambda c: len(emu.records.conversations[0].replies) == 2)
        assert c.of_type("interruption") == []
        assert [r.event_id for r in emu.records.conversations[0].replies] == [1, 2]


@pytest.mark.asyncio
async def test_driven_interruption_and_say() -> None:
    async with emulator(brain=Brain(first_message="welcome to the emulated agent")) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            conv = await emu.wait_for_conversation(1)
            await c.wait_type("audio")
            n = await conv.interrupt()
            reply = await conv.say("next", event_id=n)  # the answer to the interrupting turn
            assert reply is not None and reply.complete and reply.event_id == n
            await c.wait_for(lambda c: len(c.audio(n)) == reply.planned_bytes)
            later = await conv.say("later")
            assert later is not None and later.event_id == n + 1
            await conv.send_audio(b"\x01\x00" * 10, event_id=1)
            await c.wait_for(lambda c: c.of_type("audio")[-1]["audio_event"]["event_id"] == 1)
        assert c.of_type("interruption")[0]["interruption_event"]["event_id"] == n == 2
        first = emu.records.conversations[0].replies[0]
        assert first.interrupted and first.event_id == 1
        (correction,) = c.of_type("agent_response_correction")
        event = correction["agent_response_correction_event"]
        assert event["original_agent_response"] == "welcome to the emulated agent"
        assert event["corrected_agent_response"].endswith("...")
        assert "welcome to the emulated agent".startswith(
            event["corrected_agent_response"][:-3])


@pytest.mark.asyncio
async def test_text_only_conversations_get_no_audio() -> None:
    async with emulator(brain=Brain(["typed answer"])) as emu:
        async with RawClient(send_client_data=False) as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "conversation_initiation_client_data",
                          "conversation_config_override": {"text_only": True}})
            await c.send({"type": "user_message", "text": "typed question"})
            await c.wait_type("agent_response")
            await asyncio.sleep(0.1)
        assert c.of_type("audio") == []


# -- tools and other client messages ---------------------------------------------------------

@pytest.mark.asyncio
async def test_client_tool_call_and_result() -> None:
    say = Say("It is {result} in Paris", tool_call=ToolCall("get_weather", {"city": "Paris"}))
    async with emulator(brain=Brain([say])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "user_message", "text": "weather?"})
            call = (await c.wait_type("client_tool_call"))["client_tool_call"]
            assert call["tool_name"] == "get_weather" and call["parameters"] == {"city": "Paris"}
            await c.send({"type": "client_tool_result", "tool_call_id": call["tool_call_id"],
                          "result": "sunny", "is_error": False})
            response = await c.wait_type("agent_response")
        assert response["agent_response_event"]["agent_response"] == "It is sunny in Paris"
        rec = emu.records.conversations[0]
        assert rec.tool_results == [{"type": "client_tool_result",
                                     "tool_call_id": call["tool_call_id"],
                                     "result": "sunny", "is_error": False}]


@pytest.mark.asyncio
async def test_driven_tool_call_times_out_without_a_result() -> None:
    async with emulator() as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            conv = await emu.wait_for_conversation(1)
            assert await conv.call_tool("noop", timeout=0.05) is None
            await c.wait_type("client_tool_call")


@pytest.mark.asyncio
async def test_user_activity_and_contextual_update_are_recorded() -> None:
    async with emulator() as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "user_activity"})
            await c.send({"type": "contextual_update", "text": "the user opened a page"})
            await c.send({"type": "something_new", "x": 1})
            await c.send({"type": "pong", "event_id": 99})
            await c.wait_for(lambda c: len(emu.records.conversations[0].client_messages) >= 5)
        rec = emu.records.conversations[0]
        assert rec.user_activity == 1
        assert rec.contextual_updates == ["the user opened a page"]
        assert rec.unknown == [{"type": "something_new", "x": 1}]
        assert rec.bad_input == ["pong for an unknown ping 99"]
        await emu.conversations[0].wait_closed(5)
        assert (rec.close_code, rec.closed_by) == (1000, "client")


# -- close codes ---------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_scripted_end_closes_1000_after_the_audio() -> None:
    async with emulator(brain=Brain([Say("goodbye", close=1000, close_reason="done")])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "user_message", "text": "bye"})
            assert await c.wait_closed() == 1000
        rec = emu.records.conversations[0]
        assert (rec.close_code, rec.close_reason, rec.closed_by) == (1000, "done", "server")
        assert rec.replies[0].complete and len(c.audio()) == rec.replies[0].planned_bytes


@pytest.mark.asyncio
async def test_no_user_input_closes_1002() -> None:
    async with emulator(input_timeout=0.2) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            assert await c.wait_closed() == 1002
        assert emu.records.conversations[0].close_reason == "no user input"


@pytest.mark.asyncio
async def test_continuous_silence_keeps_the_conversation_open() -> None:
    async with emulator(input_timeout=0.2) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send_audio(silence(0.5), pause=0.02)  # 25 chunks over ~0.5 s
            assert not c.ws.closed  # type: ignore[union-attr]
        await emu.conversations[0].wait_closed(5)
        assert emu.records.conversations[0].closed_by == "client"
        assert emu.records.conversations[0].close_code == 1000
        assert emu.records.conversations[0].utterances == []


@pytest.mark.asyncio
@pytest.mark.parametrize("message,why", [
    ("{not json", "malformed JSON"),
    ("[1]", "a message must be a JSON object"),
    (json.dumps({"user_audio_chunk": "@@@"}), "user_audio_chunk is not valid base64"),
    (json.dumps({"user_audio_chunk": base64.b64encode(b"abc").decode()}),
     "user_audio_chunk of 3 bytes is not whole pcm_16000 samples"),
    (json.dumps({"user_audio_chunk": 5}), "user_audio_chunk must be a base64 string"),
    (json.dumps({"type": "user_message"}), "user_message needs a text"),
    (b"\x00binary", "binary messages are not accepted"),
])
async def test_bad_input_closes_1008(message: object, why: str) -> None:
    async with emulator() as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.wait_type("conversation_initiation_metadata")
            if isinstance(message, bytes):
                await c.ws.send_bytes(message)  # type: ignore[union-attr]
            else:
                await c.ws.send_str(message)  # type: ignore[union-attr]
            assert await c.wait_closed() == 1008
        rec = emu.records.conversations[0]
        assert rec.bad_input == [why] and rec.close_reason == why


@pytest.mark.asyncio
async def test_a_failing_brain_closes_1011() -> None:
    def broken(turn: object) -> str:
        raise RuntimeError("the brain broke")

    async with emulator(brain=Brain(broken)) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "user_message", "text": "hello"})
            assert await c.wait_closed() == 1011
        assert emu.records.conversations[0].close_reason == "internal error"


@pytest.mark.asyncio
async def test_shutdown_closes_1001() -> None:
    emu = emulator()
    await emu.start()
    c = RawClient()
    await c.connect(emu.signed_url())
    await c.wait_type("conversation_initiation_metadata")
    await emu.aclose()
    assert await c.wait_closed() == 1001
    await c.aclose()
    assert emu.records.conversations[0].closed_by == "server"


# -- construction --------------------------------------------------------------------------------

@pytest.mark.parametrize("kw,exc,word", [
    ({"user_input_audio_format": "pcm_11025"}, ValueError, "user_input_audio_format"),
    ({"agent_output_audio_format": 24000}, TypeError, "agent_output_audio_format"),
    ({"ping_interval": 0}, ValueError, "ping_interval"),
    ({"speed": "fast"}, TypeError, "speed"),
    ({"port": -1}, ValueError, "port"),
    ({"api_keys": "xi_test"}, TypeError, "api_keys"),
    ({"speech": "loud"}, ValueError, "speech"),
    ({"vad_threshold": 0}, ValueError, "vad_threshold"),
    ({"brain": ["hi"]}, TypeError, "brain"),
])
def test_bad_arguments_name_themselves(kw: dict, exc: type, word: str) -> None:
    with pytest.raises(exc, match=word):
        Emulator(**kw)


def test_brain_checks_its_script() -> None:
    with pytest.raises(TypeError, match="script"):
        Brain("just a string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="str or Say"):
        Brain([1])  # type: ignore[list-item]


def test_urls_need_a_running_emulator_and_repr_has_no_secrets() -> None:
    emu = Emulator(api_keys={"xi_secret_key"})
    with pytest.raises(RuntimeError, match="not running"):
        emu.http_url
    assert "xi_secret_key" not in repr(emu)


@pytest.mark.asyncio
async def test_signatures_and_keys_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with emulator(api_keys={"xi_secret_key"}, brain=Brain(["fine"])) as emu:
        url = (await (await get_signed_url(emu.http_url, key="xi_secret_key")).json())["signed_url"]
        signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)[
            "conversation_signature"][0]
        async with RawClient() as c:
            await c.connect(url)
            await c.send({"type": "user_message", "text": "hi"})
            await c.wait_type("agent_response")
            await c.ws.send_str("{broken")  # type: ignore[union-attr]
            await c.wait_closed()
        async with aiohttp.ClientSession() as s:  # a refused reuse of the same URL
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await s.ws_connect(url)
    text = "\n".join(r.getMessage() + str(r.args) + str(r.exc_info) for r in caplog.records)
    assert caplog.records  # the emulator and websockets did log
    assert signature not in text and "xi_secret_key" not in text
    assert signature not in repr(emu.records)


@pytest.mark.asyncio
async def test_pings_keep_coming_while_reply_audio_streams() -> None:
    long = " ".join(["word"] * 12)  # 3.4 s of audio, sent over ~0.8 s
    async with emulator(brain=Brain(first_message=long), ping_interval=0.05) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            rec = emu.records.conversations[0]
            await c.wait_for(lambda c: rec.replies and rec.replies[0].complete)
        kinds = [m["type"] for m in c.messages]
        first, last = kinds.index("audio"), len(kinds) - 1 - kinds[::-1].index("audio")
        assert "ping" in kinds[first:last]  # interleaved, not queued behind the audio
        assert len(rec.pongs) >= 2


@pytest.mark.asyncio
async def test_concurrent_conversations_are_independent() -> None:
    async with emulator(brain=Brain(lambda turn: f"reply to {turn.text}")) as emu:
        async with RawClient() as a, RawClient() as b:
            await a.connect(emu.signed_url())
            await b.connect(emu.signed_url())
            await a.send({"type": "user_message", "text": "alpha"})
            await b.send({"type": "user_message", "text": "beta"})
            ra = await a.wait_type("agent_response")
            rb = await b.wait_type("agent_response")
        assert ra["agent_response_event"]["agent_response"] == "reply to alpha"
        assert rb["agent_response_event"]["agent_response"] == "reply to beta"
        first, second = emu.records.conversations
        assert first.conversation_id != second.conversation_id
        assert first.user_messages == ["alpha"] and second.user_messages == ["beta"]
        assert [r.event_id for r in first.replies] == [r.event_id for r in second.replies] == [1]


@pytest.mark.asyncio
async def test_keep_audio_off_keeps_only_chunk_sizes() -> None:
    async with emulator(keep_audio=False) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await speak(c, 0.3)
            await c.wait_type("agent_response")
        rec = emu.records.conversations[0]
        assert rec.user_audio == bytearray()
        assert sum(rec.user_chunks) == 2 * (3200 + 4800 + 9600)  # 1.1 s at 16 kHz
        assert len(rec.utterances) == 1  # it still listens
