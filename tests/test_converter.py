"""Converter equals the hand-composed chain, bit for bit."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audiocore as ac
from dsp import speech

RATES = [8000, 11025, 16000, 22050, 24000, 44100, 48000]
DECODE = {"mulaw": ac.ulaw_decode, "alaw": ac.alaw_decode}
ENCODE = {"mulaw": ac.ulaw_encode, "alaw": ac.alaw_encode}


def composed(data: bytes, in_rate, in_ch, out_rate, out_ch, in_enc, out_enc, engine,
             quality="high") -> bytes:
    """The chain done by hand with the single functions, in the documented order."""
    pcm = DECODE[in_enc](data) if in_enc in DECODE else data
    # Equal counts keep every channel; N -> 1 downmixes first, 1 -> N upmixes last.
    channels = in_ch if in_ch == out_ch else 1
    mid = ac.downmix(pcm, in_ch) if in_ch > channels else pcm
    if in_rate != out_rate:
        r = ac.Resampler(in_rate, out_rate, channels, engine=engine, quality=quality)
        mid = r.process(mid) + r.flush()
    out = ac.upmix(mid, out_ch) if out_ch > channels else mid
    return ENCODE[out_enc](out) if out_enc in ENCODE else out


def valid_channels(in_ch: int, out_ch: int) -> bool:
    return in_ch == out_ch or 1 in (in_ch, out_ch)


def make_input(frames: int, channels: int, encoding: str, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pcm = rng.integers(-32768, 32768, frames * channels, dtype=np.int16).tobytes()
    return ENCODE[encoding](pcm) if encoding in ENCODE else pcm


@settings(max_examples=80, deadline=None)
@given(
    in_rate=st.sampled_from(RATES), out_rate=st.sampled_from(RATES),
    in_ch=st.integers(1, 4), out_ch=st.integers(1, 4),
    in_enc=st.sampled_from(["pcm16", "mulaw", "alaw"]),
    out_enc=st.sampled_from(["pcm16", "mulaw", "alaw"]),
    engine=st.sampled_from(["realtime", "soxr"]),
    chunks=st.lists(st.integers(0, 900), min_size=1, max_size=12),
    seed=st.integers(0, 2**32 - 1),
)
def test_converter_equals_composition(in_rate, out_rate, in_ch, out_ch, in_enc, out_enc,
                                      engine, chunks, seed):
    if not valid_channels(in_ch, out_ch):
        with pytest.raises(ValueError, match=f"in_channels={in_ch} and out_channels={out_ch}"):
            ac.Converter(in_rate, in_ch, out_rate, out_ch, engine=engine)
        return
    frames = sum(chunks)
    data = make_input(frames, in_ch, in_enc, seed)
    expected = composed(data, in_rate, in_ch, out_rate, out_ch, in_enc, out_enc, engine)
    c = ac.Converter(in_rate, in_ch, out_rate, out_ch, in_encoding=in_enc,
                     out_encoding=out_enc, engine=engine)
    width = in_ch * (2 if in_enc == "pcm16" else 1)
    out, pos = [], 0
    for n in chunks:
        out.append(c.process(data[pos * width:(pos + n) * width]))
        pos += n
    assert b"".join(out) + c.flush() == expected


@pytest.mark.parametrize("engine", ["realtime", "soxr"])
def test_stt_chain_48k_stereo_to_8k_mulaw_in_20ms_frames(engine):
    x = np.stack([speech(48000, 0.5), speech(48000, 0.5, seed=1)], axis=1).reshape(-1)
    data = x.tobytes()
    c = ac.Converter(48000, 2, 8000, 1, out_encoding="mulaw", engine=engine)
    frame = 960 * 4
    parts = [c.process(data[i:i + frame]) for i in range(0, len(data), frame)]
    assert b"".join(parts) + c.flush() == composed(data, 48000, 2, 8000, 1, "pcm16",
                                                  "mulaw", engine)
    if engine == "realtime":
        assert all(len(p) == 160 for p in parts)  # every frame out at once
        assert c.delay == ac.Resampler(48000, 8000).delay


def test_equal_rates_skip_resampling():
    data = make_input(480, 2, "alaw", 3)
    c = ac.Converter(16000, 2, 16000, 1, in_encoding="alaw")
    assert c.process(data) == ac.downmix(ac.alaw_decode(data), 2)
    assert c.flush() == b""
    assert c.delay == 0.0


def test_quality_none_means_high_and_is_passed_to_the_resampler():
    data = make_input(4800, 1, "pcm16", 4)
    c = ac.Converter(48000, 1, 16000, quality="quick")
    assert c.quality == "quick"
    assert c.process(data) + c.flush() == composed(data, 48000, 1, 16000, 1, "pcm16",
                                                  "pcm16", "realtime", "quick")
    assert ac.Converter(48000, 1, 16000).quality == "high"


def test_out_buffer_and_lifecycle():
    data = make_input(960, 1, "pcm16", 5)
    c = ac.Converter(48000, 1, 24000, 2, out_encoding="mulaw")
    ref = ac.Converter(48000, 1, 24000, 2, out_encoding="mulaw").process(data)
    buf = bytearray(2000)
    n = c.process(data, out=buf)
    assert bytes(buf[:n]) == ref
    with pytest.raises(ValueError, match="out is too small"):
        c.process(data, out=bytearray(10))
    tail = c.flush()
    assert len(tail) > 0
    with pytest.raises(RuntimeError, match="reset"):
        c.process(data)
    c.reset()
    assert c.process(data) == ref


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(in_rate=0), ValueError, "in_rate"),
    (dict(out_rate=-8000), ValueError, "out_rate"),
    (dict(in_rate=8000.0), TypeError, "in_rate"),
    (dict(in_channels=0), ValueError, "in_channels"),
    (dict(out_channels=65), ValueError, "out_channels"),
    (dict(in_encoding="ulaw"), ValueError, "in_encoding"),
    (dict(out_encoding=None), TypeError, "out_encoding"),
    (dict(engine="speex"), ValueError, "engine"),
    (dict(quality="best"), ValueError, "quality"),
])
def test_bad_arguments_are_named(kwargs, exc, match):
    args = dict(in_rate=48000, in_channels=2, out_rate=16000)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        ac.Converter(**args)


def test_partial_frames_are_refused():
    with pytest.raises(ValueError, match="data"):
        ac.Converter(48000, 2, 16000).process(b"\x00" * 6)
    with pytest.raises(ValueError, match="data"):
        ac.Converter(8000, 2, 16000, in_encoding="mulaw").process(b"\xff" * 3)
    with pytest.raises(TypeError, match="data"):
        ac.Converter(8000, 1, 16000).process("not audio")


@pytest.mark.parametrize("engine", ["realtime", "soxr"])
def test_equal_channel_counts_keep_each_channel(engine):
    """Stereo in, stereo out: the channels stay apart (L=10000, R=-10000 stays so)."""
    frames = 4800
    x = np.empty(frames * 2, np.int16)
    x[0::2], x[1::2] = 10000, -10000
    c = ac.Converter(48000, 2, 16000, 2, engine=engine)
    y = pcm_of(c.process(x.tobytes()) + c.flush()).reshape(-1, 2)
    settled = y[len(y) // 4: 3 * len(y) // 4]  # away from the filter's edges
    assert np.all(np.abs(settled[:, 0] - 10000) <= 2)
    assert np.all(np.abs(settled[:, 1] + 10000) <= 2)
    r = ac.Resampler(48000, 16000, 2, engine=engine)
    assert y.tobytes() == r.process(x.tobytes()) + r.flush()


def test_down_to_mono_and_up_from_mono():
    x = np.empty(960 * 2, np.int16)
    x[0::2], x[1::2] = 10000, -2000
    down = ac.Converter(16000, 2, 16000, 1).process(x.tobytes())
    assert set(pcm_of(down)) == {4000}
    up = ac.Converter(16000, 1, 16000, 3).process(np.full(10, 7, np.int16).tobytes())
    assert pcm_of(up).tolist() == [7] * 30


@pytest.mark.parametrize("in_ch,out_ch", [(2, 3), (3, 2), (4, 2), (2, 6)])
def test_other_channel_pairs_are_refused_naming_both(in_ch, out_ch):
    with pytest.raises(ValueError) as e:
        ac.Converter(48000, in_ch, 16000, out_ch)
    assert f"in_channels={in_ch}" in str(e.value) and f"out_channels={out_ch}" in str(e.value)


def test_max_output_bytes_sizes_out_for_every_call():
    data = make_input(960 * 30, 2, "pcm16", 7)
    for engine in ("realtime", "soxr"):
        c = ac.Converter(48000, 2, 8000, out_encoding="mulaw", engine=engine)
        ref = ac.Converter(48000, 2, 8000, out_encoding="mulaw", engine=engine)
        frame = 960 * 4
        for i in range(0, len(data), frame):
            chunk = data[i:i + frame]
            buf = bytearray(c.max_output_bytes(len(chunk)))
            n = c.process(chunk, out=buf)
            assert bytes(buf[:n]) == ref.process(chunk)
            if engine == "realtime":
                assert n == len(buf)
    with pytest.raises(ValueError, match="nbytes"):
        ac.Converter(48000, 2, 8000).max_output_bytes(6)
    with pytest.raises(TypeError, match="nbytes"):
        ac.Converter(48000, 2, 8000).max_output_bytes(4.0)  # type: ignore[arg-type]


def pcm_of(data: bytes) -> np.ndarray:
    return np.frombuffer(data, np.int16)
