"""Drop-in replacement for CPython's ``audioop`` (removed from the stdlib in 3.13).

``from audiocore import audioop`` gives every function of the stdlib module with the
same results, byte for byte, for sample widths 1, 2, 3 and 4 and any bytes-like
fragment (bytes, bytearray, memoryview, array, numpy arrays): the same ``ratecv``
and ADPCM state tuples, the same float results, and the same exceptions and
messages, down to argument errors. Failures specific to audio data raise
:class:`audioop.error <error>`.

Conventions (audioop's): samples are signed, in native byte order; width 3 is
packed 24-bit, little-endian on little-endian machines. ``findfit``,
``findfactor`` and ``findmax`` work on 16-bit samples only.

The functions are native and release the GIL on large fragments. ``ratecv`` keeps
audioop's plain linear interpolation, which aliases: for real resampling use
:class:`audiocore.Resampler`.
"""

from audiocore._audioop import (add, adpcm2lin, alaw2lin, avg, avgpp, bias, byteswap,
                                cross, error, findfactor, findfit, findmax, getsample,
                                lin2adpcm, lin2alaw, lin2lin, lin2ulaw, max, maxpp,
                                minmax, mul, ratecv, reverse, rms, tomono, tostereo,
                                ulaw2lin)

__all__ = [
    "add",
    "adpcm2lin",
    "alaw2lin",
    "avg",
    "avgpp",
    "bias",
    "byteswap",
    "cross",
    "error",
    "findfactor",
    "findfit",
    "findmax",
    "getsample",
    "lin2adpcm",
    "lin2alaw",
    "lin2lin",
    "lin2ulaw",
    "max",
    "maxpp",
    "minmax",
    "mul",
    "ratecv",
    "reverse",
    "rms",
    "tomono",
    "tostereo",
    "ulaw2lin",
]
