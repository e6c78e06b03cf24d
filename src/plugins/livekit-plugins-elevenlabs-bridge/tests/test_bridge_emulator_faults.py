"""Each emulator fault, as a client sees it."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from livekit.plugins.elevenlabs_bridge.emulator import MALFORMED, Brain, Emulator, Faults

from _bridge_emulator_client import RawClient, get_signed_url, silence, tone

LONG = "a reply long enough to be talked over by the user in the middle of it"


def emulator(**kw: object) -> Emulator:
    kw.setdefault("speech", "deterministic")
    return Emulator(**kw)  # type: ignore[arg-type]


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [401, 403, 429, 500])
async def test_refused_signed_url(status: int) -> None:
    async with emulator(faults=Faults(refuse_signed_url=status)) as emu:
        r = await get_signed_url(emu.http_url)
        assert r.status == status
        assert "detail" in json.loads(await r.text())
        assert emu.records.signed_url_requests[0].status == status


@pytest.mark.asyncio
async def test_refused_signed_url_a_few_times_then_served() -> None:
    async with emulator(faults=Faults(refuse_signed_url=503, refuse_signed_url_times=2)) as emu:
        statuses = [(await get_signed_url(emu.http_url)).status for _ in range(3)]
        assert statuses == [503, 503, 200]
        emu.faults.refuse_signed_url = 401  # faults are live
        emu.faults.refuse_signed_url_times = None
        assert (await get_signed_url(emu.http_url)).status == 401


@pytest.mark.asyncio
async def test_refused_connection() -> None:
    async with emulator(faults=Faults(refuse_connection=503)) as emu:
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.WSServerHandshakeError) as e:
                await s.ws_connect(emu.signed_url())
        assert e.value.status == 503
        assert emu.records.conversations == []


@pytest.mark.asyncio
async def test_drop_after_audio_is_abrupt() -> None:
    async with emulator(brain=Brain(first_message=LONG),
                        faults=Faults(drop_after_audio=3)) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            code = await c.wait_closed()
        assert code == 1006  # no close frame came
        assert len(c.of_type("audio")) == 3
        rec = emu.records.conversations[0]
        assert rec.closed_by == "drop" and rec.close_code is None


@pytest.mark.asyncio
async def test_drop_applies_to_the_chosen_conversations_only() -> None:
    faults = Faults(drop_after_seconds=0.1, conversations={1})
    async with emulator(faults=faults, input_timeout=5) as emu:
        async with RawClient() as first:
            await first.connect(emu.signed_url())
            assert await first.wait_closed() == 1006
        async with RawClient() as second:
            await second.connect(emu.signed_url())
            await second.send_audio(silence(0.3), pause=0.02)
            assert not second.ws.closed  # type: ignore[union-attr]
        await emu.conversations[1].wait_closed(5)
        assert [r.closed_by for r in emu.records.conversations] == ["drop", "client"]


@pytest.mark.asyncio
async def test_stalled_pings_and_replies() -> None:
    async with emulator(ping_interval=0.03, faults=Faults(stall_after_pings=2),
                        brain=Brain(["never said"])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.wait_type("ping", 2)
            await c.send({"type": "user_message", "text": "hello?"})
            await asyncio.sleep(0.3)  # ten ping intervals
            assert not c.ws.closed  # type: ignore[union-attr]
        assert len(c.of_type("ping")) == 2
        assert c.of_type("agent_response") == [] and c.of_type("audio") == []
        assert emu.records.conversations[0].user_messages == ["hello?"]  # still reading


@pytest.mark.asyncio
async def test_driven_stall() -> None:
    async with emulator(ping_interval=0.03) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.wait_type("ping", 1)
            (await emu.wait_for_conversation(1)).stall()
            seen = len(c.of_type("ping"))
            await asyncio.sleep(0.2)
            assert len(c.of_type("ping")) <= seen + 1  # at most one already on its way


@pytest.mark.asyncio
async def test_stale_audio_after_an_interruption() -> None:
    async with emulator(brain=Brain([LONG, "fresh"]), faults=Faults(stale_audio=True),
                        speed=2.0) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send_audio(silence(0.1) + tone(0.3) + silence(0.5))
            await c.wait_type("audio")
            await c.send_audio(tone(0.3) + silence(0.5))
            await c.wait_type("interruption")
            await c.wait_for(lambda c: len(emu.records.conversations[0].replies) == 2
                             and emu.records.conversations[0].replies[1].complete)
        rec = emu.records.conversations[0]
        first, second = rec.replies
        n = c.of_type("interruption")[0]["interruption_event"]["event_id"]
        at = next(i for i, m in enumerate(c.messages) if m["type"] == "interruption")
        after = [m["audio_event"]["event_id"] for m in c.messages[at:] if m["type"] == "audio"]
        # One stale event (older id) comes right after the interruption, then the
        # next reply with an id equal to the interruption's.
        assert second.event_id == n
        assert after[0] == first.event_id < n and set(after[1:]) == {n}
        assert first.stale_sent == 1


@pytest.mark.asyncio
async def test_malformed_messages_then_a_working_conversation() -> None:
    async with emulator(faults=Faults(malformed=MALFORMED), brain=Brain(["still here"])) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            await c.send({"type": "user_message", "text": "hello"})
            await c.wait_type("agent_response")
        assert c.messages[0]["type"] == "conversation_initiation_metadata"
        # Non-objects and binary frames reach the client as they are.
        assert "{not json" in c.raw and "[1, 2, 3]" in c.raw and b"\x00\x01binary" in c.raw
        assert {"type": "audio"} in c.messages
        assert sum(1 for r in emu.records.conversations[0].sent if r["type"] == "raw") \
            == len(MALFORMED)


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [1000, 1002, 1008, 1011])
async def test_close_after_metadata(code: int) -> None:
    async with emulator(faults=Faults(close_after_metadata=(code, "scripted"))) as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            assert await c.wait_closed() == code
        assert [m["type"] for m in c.messages] == ["conversation_initiation_metadata"]
        assert emu.records.conversations[0].close_reason == "scripted"


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [1000, 1011])
async def test_driven_close_and_drop(code: int) -> None:
    async with emulator() as emu:
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            conv = await emu.wait_for_conversation(1)
            await conv.close(code, "bye")
            assert await c.wait_closed() == code
        async with RawClient() as c:
            await c.connect(emu.signed_url())
            (await emu.wait_for_conversation(2)).drop()
            assert await c.wait_closed() == 1006
