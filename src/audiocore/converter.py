"""The fused per-frame conversion chain."""

from __future__ import annotations

from typing import Optional, Union, overload

from audiocore._convert import ConverterHandle
from audiocore._typing import ENCODINGS, Buffer, Encoding, WritableBuffer
from audiocore._validate import (check_channels, check_choice, check_nbytes, check_rate,
                                 check_ratio)
from audiocore.resampling import ENGINES, QUALITIES, Engine, Quality, filter_bank


class Converter:
    """Converts a stream between rates, channel counts and encodings in one native
    call per frame.

    The chain runs in this order: decode (``in_encoding``) -> downmix to mono (when
    going from several channels to one) -> resample (skipped for equal rates) ->
    upmix (when going from one channel to several) -> encode (``out_encoding``).
    Equal channel counts are resampled channel by channel, never mixed; any other
    pair of counts (say 3 to 2) raises ``ValueError``. The output is bit-identical
    to composing :func:`ulaw_decode`/:func:`alaw_decode`, :func:`downmix`, a
    :class:`Resampler` of the same engine and quality (with ``channels`` equal to
    both counts when they are equal, else 1), :func:`upmix` and
    :func:`ulaw_encode`/:func:`alaw_encode` by hand.

    Args:
        in_rate, out_rate: sample rates in Hz, as for :class:`Resampler`.
        in_channels, out_channels: interleaved channels of input and output, 1 to
            64: equal, or one of them 1.
        in_encoding, out_encoding: "pcm16" (signed 16-bit little-endian), "mulaw"
            or "alaw" (G.711, one byte per sample).
        engine: "realtime" (default: no held-back audio, a few ms of fixed delay)
            or "soxr" (batch quality reference; holds audio back on small chunks).
        quality: resampler quality; ``None`` means "high".

    This is the call for every frame of a voice pipeline: no numpy and no Python
    objects per frame beyond the output ``bytes`` (none with ``out=``).
    """

    __slots__ = ("_in_rate", "_in_channels", "_out_rate", "_out_channels",
                 "_in_encoding", "_out_encoding", "_engine", "_quality", "_delay",
                 "_native")

    def __init__(
        self,
        in_rate: int,
        in_channels: int,
        out_rate: int,
        out_channels: int = 1,
        *,
        in_encoding: Encoding = "pcm16",
        out_encoding: Encoding = "pcm16",
        engine: Engine = "realtime",
        quality: Optional[Quality] = None,
    ) -> None:
        self._in_rate = check_rate(in_rate, "in_rate")
        self._out_rate = check_rate(out_rate, "out_rate")
        check_ratio(in_rate, out_rate)
        self._in_channels = check_channels(in_channels, "in_channels")
        self._out_channels = check_channels(out_channels, "out_channels")
        if in_channels != out_channels and 1 not in (in_channels, out_channels):
            raise ValueError(
                f"in_channels={in_channels} and out_channels={out_channels} cannot be "
                f"converted: the counts must be equal (each channel resampled), or "
                f"out_channels=1 (downmix), or in_channels=1 (upmix)")
        self._in_encoding = check_choice(in_encoding, "in_encoding", ENCODINGS)
        self._out_encoding = check_choice(out_encoding, "out_encoding", ENCODINGS)
        self._engine = check_choice(engine, "engine", ENGINES)
        self._quality = check_choice("high" if quality is None else quality, "quality",
                                     QUALITIES)
        bank = None
        soxr_rates = None
        self._delay = 0.0
        if in_rate != out_rate:
            if engine == "realtime":
                bank = filter_bank(in_rate, out_rate, self._quality)
                self._delay = bank.delay
            else:
                soxr_rates = (float(in_rate), float(out_rate))
        self._native = ConverterHandle(in_encoding, in_channels, out_encoding,
                                       out_channels, bank, soxr_rates, self._quality)

    @property
    def in_rate(self) -> int:
        return self._in_rate

    @property
    def out_rate(self) -> int:
        return self._out_rate

    @property
    def in_channels(self) -> int:
        return self._in_channels

    @property
    def out_channels(self) -> int:
        return self._out_channels

    @property
    def in_encoding(self) -> str:
        return self._in_encoding

    @property
    def out_encoding(self) -> str:
        return self._out_encoding

    @property
    def engine(self) -> str:
        return self._engine

    @property
    def quality(self) -> str:
        return self._quality

    @property
    def delay(self) -> float:
        """Seconds by which output lags input (see :attr:`Resampler.delay`)."""
        if self._engine == "soxr":
            return self._native.pending_frames / self._out_rate
        return self._delay

    @overload
    def process(self, data: Buffer, *, out: None = None) -> bytes: ...
    @overload
    def process(self, data: Buffer, *, out: WritableBuffer) -> int: ...

    def process(self, data: Buffer, *,
                out: Optional[WritableBuffer] = None) -> Union[bytes, int]:
        """Convert whole input frames; returns the output that is ready.

        With ``out=`` the output is written there and its byte count returned;
        ``out`` must hold :meth:`max_output_bytes` ``(len(data))`` bytes, checked
        before any state changes. Raises ``RuntimeError`` after :meth:`flush`
        until :meth:`reset`.
        """
        return self._native.process(data, out)

    def max_output_bytes(self, nbytes: int) -> int:
        """The most bytes the next ``process`` of ``nbytes`` input bytes may write:
        the size of an ``out=`` buffer it always accepts (see
        :meth:`Resampler.max_output_bytes`)."""
        width = 2 if self._in_encoding == "pcm16" else 1
        return self._native.max_output(check_nbytes(nbytes, width * self._in_channels))

    def flush(self) -> bytes:
        """Return the resampler's held-back tail and end the stream."""
        return self._native.flush()

    def reset(self) -> None:
        """Drop all state and start a new stream with the same configuration."""
        self._native.reset()

    def __repr__(self) -> str:
        return (f"Converter(in_rate={self._in_rate}, in_channels={self._in_channels}, "
                f"out_rate={self._out_rate}, out_channels={self._out_channels}, "
                f"in_encoding={self._in_encoding!r}, out_encoding={self._out_encoding!r}, "
                f"engine={self._engine!r}, quality={self._quality!r})")
