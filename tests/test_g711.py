"""G.711 mu-law / A-law: bit-exact with audioop over every sample and every code."""

from __future__ import annotations

import array

import numpy as np
import pytest
from reference import audioop as ref

import audiocore

ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int16)
ALL_SAMPLES_BYTES = ALL_SAMPLES.tobytes()
ALL_CODES = bytes(range(256))

ENCODERS = {
    "ulaw": (audiocore.ulaw_encode, lambda b: ref.lin2ulaw(b, 2)),
    "alaw": (audiocore.alaw_encode, lambda b: ref.lin2alaw(b, 2)),
}
DECODERS = {
    "ulaw": (audiocore.ulaw_decode, lambda b: ref.ulaw2lin(b, 2)),
    "alaw": (audiocore.alaw_decode, lambda b: ref.alaw2lin(b, 2)),
}


def pcm_views(samples: np.ndarray):
    """The same int16 samples as each kind of buffer a caller may pass."""
    raw = samples.tobytes()
    return {
        "bytes": raw,
        "bytearray": bytearray(raw),
        "memoryview": memoryview(raw),
        "memoryview-h": memoryview(bytearray(raw)).cast("h"),
        "numpy-int16": samples.copy(),
        "numpy-2d": samples.reshape(-1, 2).copy() if len(samples) % 2 == 0 else samples.copy(),
        "array-h": array.array("h", raw),
    }


def code_views(codes: bytes):
    return {
        "bytes": codes,
        "bytearray": bytearray(codes),
        "memoryview": memoryview(codes),
        "numpy-uint8": np.frombuffer(codes, dtype=np.uint8).copy(),
        "numpy-int8": np.frombuffer(codes, dtype=np.int8).copy(),
        "array-B": array.array("B", codes),
    }


@pytest.mark.parametrize("law", ENCODERS)
@pytest.mark.parametrize("kind", list(pcm_views(ALL_SAMPLES[:4])))
def test_encode_all_samples_matches_audioop(law, kind):
    encode, reference = ENCODERS[law]
    expected = reference(ALL_SAMPLES_BYTES)
    got = encode(pcm_views(ALL_SAMPLES)[kind])
    assert type(got) is bytes
    assert len(got) == 65536
    if got != expected:
        bad = [i for i in range(65536) if got[i] != expected[i]]
        s = int(ALL_SAMPLES[bad[0]])
        pytest.fail(f"{law} encode differs from audioop on {len(bad)} samples, first "
                    f"{s}: got {got[bad[0]]:#04x}, audioop {expected[bad[0]]:#04x}")


@pytest.mark.parametrize("law", DECODERS)
@pytest.mark.parametrize("kind", list(code_views(b"\x00")))
def test_decode_all_codes_matches_audioop(law, kind):
    decode, reference = DECODERS[law]
    expected = reference(ALL_CODES)
    got = decode(code_views(ALL_CODES)[kind])
    assert type(got) is bytes
    assert got == expected


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_decode_roundtrip_matches_audioop(law):
    encode, ref_encode = ENCODERS[law]
    decode, ref_decode = DECODERS[law]
    assert decode(encode(ALL_SAMPLES_BYTES)) == ref_decode(ref_encode(ALL_SAMPLES_BYTES))


@pytest.mark.parametrize("law", DECODERS)
def test_encode_of_decoded_codes_matches_audioop(law):
    # Decoded values sit exactly on the quantiser's reconstruction levels, where an
    # off-by-one in a segment boundary shows first.
    encode, ref_encode = ENCODERS[law]
    decode, _ = DECODERS[law]
    assert encode(decode(ALL_CODES)) == ref_encode(decode(ALL_CODES))


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_random_long_buffer_matches_audioop(law):
    # Long enough that the kernel runs without the GIL; unaligned start offset.
    rng = np.random.default_rng(11)
    samples = rng.integers(-32768, 32768, size=200_001, dtype=np.int16)
    raw = np.frombuffer(b"\x00" + samples.tobytes(), dtype=np.uint8)
    view = raw[1:]
    encode, reference = ENCODERS[law]
    assert encode(view) == reference(bytes(view))


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_empty(law):
    encode, _ = ENCODERS[law]
    decode, _ = DECODERS[law]
    assert encode(b"") == b""
    assert decode(b"") == b""


# ---- out= -----------------------------------------------------------------------


@pytest.mark.parametrize("law", ENCODERS)
@pytest.mark.parametrize("out_kind", ["bytearray", "numpy-uint8", "memoryview"])
def test_encode_out_writes_exact_count(law, out_kind):
    encode, reference = ENCODERS[law]
    n = 65536
    if out_kind == "bytearray":
        out = bytearray(b"\xAA" * (n + 10))
    elif out_kind == "numpy-uint8":
        out = np.full(n + 10, 0xAA, dtype=np.uint8)
    else:
        out = memoryview(bytearray(b"\xAA" * (n + 10)))
    count = encode(ALL_SAMPLES_BYTES, out=out)
    assert type(count) is int and count == n
    written = bytes(out)
    assert written[:n] == reference(ALL_SAMPLES_BYTES)
    # Bytes past the output are left alone.
    assert written[n:] == b"\xAA" * 10


@pytest.mark.parametrize("law", DECODERS)
@pytest.mark.parametrize("out_kind", ["bytearray", "numpy-int16"])
def test_decode_out_writes_exact_count(law, out_kind):
    decode, reference = DECODERS[law]
    if out_kind == "bytearray":
        out = bytearray(b"\x55" * (512 + 6))
    else:
        out = np.full(256 + 3, 0x5555, dtype=np.int16)
    count = decode(ALL_CODES, out=out)
    assert count == 512
    written = bytes(out) if not isinstance(out, np.ndarray) else out.tobytes()
    assert written[:512] == reference(ALL_CODES)
    assert written[512:] == b"\x55" * 6


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_out_exact_size_and_empty(law):
    encode, reference = ENCODERS[law]
    pcm = ALL_SAMPLES_BYTES[:200]
    out = bytearray(100)
    assert encode(pcm, out=out) == 100
    assert bytes(out) == reference(pcm)
    assert encode(b"", out=bytearray(0)) == 0


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_out_too_small_raises_and_writes_nothing(law):
    encode, _ = ENCODERS[law]
    out = bytearray(b"\x01" * 99)
    with pytest.raises(ValueError, match=r"\bout\b"):
        encode(ALL_SAMPLES_BYTES[:200], out=out)
    assert out == bytearray(b"\x01" * 99)


@pytest.mark.parametrize("law", DECODERS)
def test_decode_out_too_small_raises(law):
    decode, _ = DECODERS[law]
    out = bytearray(511)
    with pytest.raises(ValueError, match=r"\bout\b"):
        decode(ALL_CODES, out=out)
    assert out == bytearray(511)


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_out_read_only_raises_type_error_naming_out(law):
    encode, _ = ENCODERS[law]
    with pytest.raises(TypeError, match=r"\bout\b"):
        encode(b"\x00\x00" * 4, out=bytes(4))
    ro = np.zeros(4, dtype=np.uint8)
    ro.flags.writeable = False
    with pytest.raises((TypeError, ValueError), match=r"\bout\b"):
        encode(b"\x00\x00" * 4, out=ro)


@pytest.mark.parametrize("law", ENCODERS)
def test_encode_out_non_contiguous_raises_naming_out(law):
    encode, _ = ENCODERS[law]
    strided = np.zeros(16, dtype=np.uint8)[::2]
    with pytest.raises((TypeError, ValueError), match=r"\bout\b"):
        encode(b"\x00\x00" * 8, out=strided)
    # The strided view must not have been written either.
    assert not strided.any()
