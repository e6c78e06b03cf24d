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

For libraries that ``import audioop`` themselves (pydub, for one), call
:func:`install` once, before importing them: from then on ``import audioop``
anywhere in the process gives this module. Nothing changes until it is called.
"""

import sys
from types import ModuleType
from typing import Optional

from audiocore._audioop import (add, adpcm2lin, alaw2lin, avg, avgpp, bias, byteswap,
                                cross, error, findfactor, findfit, findmax, getsample,
                                lin2adpcm, lin2alaw, lin2lin, lin2ulaw, max, maxpp,
                                minmax, mul, ratecv, reverse, rms, tomono, tostereo,
                                ulaw2lin)

# What ``sys.modules["audioop"]`` held before install(), for uninstall().
_replaced: Optional[ModuleType] = None
_installed = False


def install() -> ModuleType:
    """Make ``import audioop`` resolve to this module for the rest of the process.

    For third-party code written against the stdlib module, which is gone from
    Python 3.13::

        import audiocore.audioop
        audiocore.audioop.install()
        import pydub          # its `import audioop` now gets audiocore.audioop

    It takes precedence over any other ``audioop`` (the stdlib's before 3.13, or
    audioop-lts): results are the same byte for byte. Call it before importing the
    code that uses audioop: a module that already imported another ``audioop``
    keeps the one it has. Calling it again does nothing. Returns this module.
    """
    global _replaced, _installed
    this = sys.modules[__name__]
    if not _installed:
        previous = sys.modules.get("audioop")
        _replaced = previous if previous is not this else None
        sys.modules["audioop"] = this
        _installed = True
    return this


def uninstall() -> None:
    """Undo :func:`install`: ``import audioop`` finds what it found before."""
    global _replaced, _installed
    if not _installed:
        return
    if sys.modules.get("audioop") is sys.modules[__name__]:
        if _replaced is None:
            del sys.modules["audioop"]
        else:
            sys.modules["audioop"] = _replaced
    _replaced = None
    _installed = False


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
