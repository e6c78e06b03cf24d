"""The input mixer and the playout path without sockets or a loop's clock."""

from __future__ import annotations


import numpy as np
import pytest

import audiocore
from livekit.plugins.elevenlabs_bridge._formats import parse_format
from livekit.plugins.elevenlabs_bridge._mixer import InputMixer

from _bridge_audio import level, tone


def feed_all(mixer, identity, pcm48):
    for i in range(0, len(pcm48) - 479, 480):
        mixer.feed(identity, pcm48[i:i + 480].tobytes(), 48000, 1)


def run_slots(mixer, n, voices=None):
    """n ticks of the slot clock, each after 20 ms of every voice (identity → 48 kHz
    samples) arrived in two 10 ms frames, taking the chunks as the session does."""
    chunks = []
    for k in range(n):
        for identity, pcm in (voices or {}).items():
            for j in (2 * k, 2 * k + 1):
                frame = pcm[j * 480:(j + 1) * 480]
                if len(frame) == 480:
                    mixer.feed(identity, frame.tobytes(), 48000, 1)
        mixer.mix_slot()
        chunks += mixer.take_chunks()
    return chunks


def test_two_participants_are_summed_slot_by_slot():
    mixer = InputMixer(parse_format("pcm_16000"), frame_ms=20, chunk_ms=40)
    mixer.add("a")
    mixer.add("b")
    chunks = run_slots(mixer, 8, {"a": tone(450, 4000, 0.2, 48000),
                                  "b": tone(1000, 8000, 0.2, 48000)})
    assert [len(c) for c in chunks] == [1280] * 4
    pcm = np.frombuffer(b"".join(chunks), np.int16)[320:]
    assert level(pcm, 450, 16000) == pytest.approx(4000, rel=0.05)
    assert level(pcm, 1000, 16000) == pytest.approx(8000, rel=0.05)


def test_mixing_saturates():
    mixer = InputMixer(parse_format("pcm_16000"), frame_ms=20, chunk_ms=20)
    loud = np.full(16000, 30000, np.int16)
    for ident in ("a", "b"):
        mixer.add(ident)
        conv_in = loud[:960 * 2]  # 40 ms at 48 kHz
        mixer.feed(ident, conv_in.tobytes(), 48000, 1)
    mixer.mix_slot()
    (chunk,) = mixer.take_chunks()
    pcm = np.frombuffer(chunk, np.int16)
    assert pcm[200:].min() == 32767  # clipped at the int16 limit, not wrapped


def test_an_absent_participant_contributes_silence_and_cadence_goes_on():
    mixer = InputMixer(parse_format("pcm_8000"), frame_ms=20, chunk_ms=60)
    mixer.add("quiet")
    chunks = run_slots(mixer, 6)
    assert [len(c) for c in chunks] == [960, 960]
    assert not any(b"".join(chunks))


def test_a_participant_joins_once_half_a_slot_ahead():
    mixer = InputMixer(parse_format("pcm_16000"), frame_ms=20, chunk_ms=20)
    mixer.add("a")
    pcm = tone(450, 6000, 0.03, 48000)
    mixer.feed("a", pcm[:960].tobytes(), 48000, 1)   # 20 ms: not primed yet
    mixer.mix_slot()
    assert not any(mixer.take_chunks()[0])
    mixer.feed("a", pcm[960:1440].tobytes(), 48000, 1)  # 30 ms buffered: primed
    mixer.mix_slot()
    assert np.abs(np.frombuffer(mixer.take_chunks()[0], np.int16)).max() > 3000


def test_backlog_is_bounded():
    mixer = InputMixer(parse_format("pcm_16000"), frame_ms=20, chunk_ms=20)
    mixer.add("a")
    feed_all(mixer, "a", tone(450, 6000, 1.0, 48000))  # a second at once
    assert mixer.buffered_ms("a") <= 60


def test_ulaw_chunks_are_encoded_by_audiocore():
    mixer = InputMixer(parse_format("ulaw_8000"), frame_ms=20, chunk_ms=40)
    mixer.add("a")
    chunks = run_slots(mixer, 6, {"a": tone(300, 6000, 0.2, 48000)})
    assert [len(c) for c in chunks] == [320] * 3
    pcm = np.frombuffer(audiocore.ulaw_decode(b"".join(chunks[1:])), np.int16)
    assert level(pcm, 300, 8000) == pytest.approx(6000, rel=0.05)


def test_removed_participant_is_dropped_and_unknown_feeds_are_ignored():
    mixer = InputMixer(parse_format("pcm_16000"))
    assert mixer.add("a") and not mixer.add("a")
    assert mixer.remove("a") and not mixer.remove("a")
    mixer.feed("ghost", bytes(960), 48000, 1)
    assert mixer.identities == []


def test_bad_slot_for_the_format():
    with pytest.raises(ValueError, match="frame_ms"):
        InputMixer(parse_format("pcm_22050"), frame_ms=10)


@pytest.mark.asyncio
async def test_playout_interrupt_clears_everything_buffered():
    from livekit.plugins.elevenlabs_bridge._playout import Playout
    playout = Playout(48000, frame_ms=20, queue_ms=100)
    playout.configure(parse_format("pcm_24000"))
    playout.push(tone(500, 8000, 2.0, 24000).tobytes())
    assert playout.pacer.buffered_ms > 1900
    dropped = playout.interrupt()
    assert dropped > 1900 and playout.pacer.buffered_ms == 0
    await playout.aclose()
