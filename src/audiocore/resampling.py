"""Sample-rate conversion: the :class:`Resampler` stream and one-shot :func:`resample`."""

from __future__ import annotations

import functools
import os
import warnings
from typing import Literal, Optional, Union, overload

from audiocore import _realtime
from audiocore._realtime import FilterBank, RealtimeStream
from audiocore._soxr import SoxrStream
from audiocore._typing import Buffer, WritableBuffer
from audiocore._validate import (check_channels, check_choice, check_nbytes, check_rate,
                                 check_ratio)

Engine = Literal["realtime", "soxr"]
Quality = Literal["quick", "low", "medium", "high", "very_high"]

ENGINES: tuple[str, ...] = ("realtime", "soxr")
QUALITIES: tuple[str, ...] = ("quick", "low", "medium", "high", "very_high")

# Realtime engine presets: (stopband attenuation in dB, reached at the lower Nyquist
# frequency; passband edge as a fraction of it). Delay grows with both, and is
# longest for the pairs involving 8 kHz (the figures: README, checked by
# tests/test_doc_figures.py).
REALTIME_PRESETS: dict[str, tuple[float, float]] = {
    "quick": (60.0, 0.80),
    "low": (70.0, 0.83),
    "medium": (85.0, 0.86),
    "high": (100.0, 0.88),
    "very_high": (120.0, 0.90),
}


#: Environment variable naming the realtime kernel build to use instead of the
#: fastest one this CPU runs: "portable" gives the same bytes on every machine.
KERNELS_ENV = "AUDIOCORE_KERNELS"


def kernels() -> str:
    """The build of the realtime engine's inner loops that new streams get:
    "avx512+fma" or "avx2+fma" (fused multiply-adds; the two give identical output)
    or "portable" (multiply and add rounded separately; within 1 LSB of them)."""
    return _realtime.kernels()


def available_kernels() -> tuple[str, ...]:
    """Every kernel build this CPU runs, fastest first ("portable" always last)."""
    return _realtime.available_kernels()


def use_kernels(name: Optional[str]) -> None:
    """Make new realtime streams (of :class:`Resampler` and :class:`Converter`) use
    the named kernel build; ``None`` goes back to the fastest. Streams keep the
    build they were made with. Raises ``ValueError`` for a build this CPU does not
    run. For comparing builds and for reproducing output across machines; not to be
    called while other threads create streams."""
    from audiocore import _convert

    _realtime.use_kernels(name)  # validates; nothing changes when it raises
    _convert.use_kernels(name)


def _apply_kernels_env() -> None:
    name = os.environ.get(KERNELS_ENV)
    if not name:
        return
    try:
        use_kernels(name)
    except ValueError as e:
        warnings.warn(f"{KERNELS_ENV} ignored: {e}", RuntimeWarning, stacklevel=3)


_apply_kernels_env()


@functools.lru_cache(maxsize=64)
def filter_bank(in_rate: int, out_rate: int, quality: str) -> FilterBank:
    """The realtime engine's filter for a rate pair, designed once and shared."""
    atten, pass_frac = REALTIME_PRESETS[quality]
    return FilterBank(in_rate, out_rate, atten, pass_frac)


def native_stream(in_rate: int, out_rate: int, channels: int, engine: str,
                  quality: str) -> Union[RealtimeStream, SoxrStream]:
    if engine == "realtime":
        return RealtimeStream(filter_bank(in_rate, out_rate, quality), channels)
    return SoxrStream(float(in_rate), float(out_rate), channels, quality)


class Resampler:
    """Streaming resampler for interleaved 16-bit PCM.

    Args:
        in_rate: input sample rate in Hz, a positive int up to 1000000.
        out_rate: output sample rate in Hz, likewise; ``out_rate / in_rate`` must
            lie between 1/256 and 256 (convert in steps beyond that).
        channels: interleaved channels in and out, 1 to 64; each channel is
            resampled on its own.
        engine: ``"realtime"`` (default): a polyphase FIR designed for 10-20 ms
            frames. Every call returns its share of output at once (the nominal
            count +-1); the only delay is the filter's fixed group delay
            (:attr:`delay`, at most 7.25 ms at "high", for 48 kHz to 8 kHz). At
            "high" it rejects everything above the lower Nyquist frequency by at
            least 102 dB and is flat to 0.85 of it.
            ``"soxr"``: libsoxr through its C API, the quality reference for batch
            work. Its FFT-block design holds output back when fed small chunks (up
            to 157 ms for 48k->8k at "high" with 20 ms chunks), then bursts.
        quality: "quick", "low", "medium", "high" (default; ``None`` means the
            same) or "very_high". For soxr these are its QQ, LQ, MQ, HQ and VHQ
            recipes; for realtime they trade stopband depth and bandwidth against
            delay and CPU.

    ``process(pcm)`` takes any number of whole frames and returns what is ready;
    ``flush()`` returns what is held back and ends the stream; ``reset()`` starts a
    new stream with the same configuration. Output is deterministic and does not
    depend on how the input is chunked. One instance may be shared between threads
    (calls are serialised).
    """

    __slots__ = ("_in_rate", "_out_rate", "_channels", "_engine", "_quality", "_native")

    def __init__(
        self,
        in_rate: int,
        out_rate: int,
        channels: int = 1,
        *,
        engine: Engine = "realtime",
        quality: Optional[Quality] = "high",
    ) -> None:
        self._in_rate = check_rate(in_rate, "in_rate")
        self._out_rate = check_rate(out_rate, "out_rate")
        check_ratio(in_rate, out_rate)
        self._channels = check_channels(channels)
        self._engine = check_choice(engine, "engine", ENGINES)
        self._quality = check_choice("high" if quality is None else quality, "quality",
                                     QUALITIES)
        self._native = native_stream(in_rate, out_rate, channels, engine, self._quality)

    @property
    def in_rate(self) -> int:
        return self._in_rate

    @property
    def out_rate(self) -> int:
        return self._out_rate

    @property
    def channels(self) -> int:
        return self._channels

    @property
    def engine(self) -> str:
        return self._engine

    @property
    def quality(self) -> str:
        return self._quality

    @property
    def delay(self) -> float:
        """Seconds by which output lags input: for "realtime" the constant group
        delay; for "soxr" the audio held back right now."""
        return self._native.delay

    @overload
    def process(self, pcm: Buffer, *, out: None = None) -> bytes: ...
    @overload
    def process(self, pcm: Buffer, *, out: WritableBuffer) -> int: ...

    def process(self, pcm: Buffer, *,
                out: Optional[WritableBuffer] = None) -> Union[bytes, int]:
        """Resample whole frames of ``pcm``; returns the output that is ready.

        With ``out=`` the output is written there and its byte count returned.
        ``out`` must hold the most this call can return,
        :meth:`max_output_bytes` ``(len(pcm))``, checked before any state changes
        so that a small buffer never loses audio. For "realtime" that is exactly
        the output; for "soxr" it adds what libsoxr holds back and may release.
        Raises ``RuntimeError`` after :meth:`flush` until :meth:`reset`.
        """
        return self._native.process(pcm, out)

    def max_output_bytes(self, nbytes: int) -> int:
        """The most bytes the next ``process`` of ``nbytes`` input bytes may write:
        the size of an ``out=`` buffer it always accepts.

        For "realtime" it is the exact output size (``nbytes`` frames times
        ``out_rate / in_rate``, +-1 frame). For "soxr" it also counts what the
        stream holds back now, so it changes from call to call: ask before each
        call, or size ``out`` once for the largest frame plus the worst hold-back.
        """
        return self._native.max_output(check_nbytes(nbytes, 2 * self._channels))

    def flush(self) -> bytes:
        """Return everything held back and end the stream."""
        return self._native.flush()

    def reset(self) -> None:
        """Drop all state and start a new stream with the same configuration."""
        self._native.reset()

    def __repr__(self) -> str:
        return (f"Resampler(in_rate={self._in_rate}, out_rate={self._out_rate}, "
                f"channels={self._channels}, engine={self._engine!r}, "
                f"quality={self._quality!r})")


def resample(
    pcm: Buffer,
    in_rate: int,
    out_rate: int,
    channels: int = 1,
    *,
    quality: Optional[Quality] = "high",
) -> bytes:
    """Resample a whole signal at once with libsoxr.

    Equal to one :class:`Resampler` (engine "soxr") fed ``pcm`` in one
    ``process`` call followed by ``flush``: the output has no delay and is
    ``len(pcm) * out_rate / in_rate`` long (rounded).
    """
    r = Resampler(in_rate, out_rate, channels, engine="soxr", quality=quality)
    return r.process(pcm) + r.flush()
