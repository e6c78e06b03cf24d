"""audiocore: native real-time audio DSP for Python voice agents.

PCM is signed 16-bit little-endian, interleaved. Every function accepts any
C-contiguous buffer (bytes, bytearray, memoryview, numpy int16 array,
``rtc.AudioFrame.data``) and returns ``bytes`` unless an ``out=`` buffer is given.

:class:`FramePacer` and the :mod:`audiocore.audioop` submodule load on first use:
the pacer needs asyncio, which would otherwise triple the cost of ``import audiocore``
for code that never paces.
"""

from typing import TYPE_CHECKING

from audiocore._kernels import (alaw_decode, alaw_encode, downmix, mix,
                                ulaw_decode, ulaw_encode, upmix)
from audiocore._ring import FrameRing
from audiocore._version import __version__
from audiocore.converter import Converter
from audiocore.resampling import Resampler, resample

if TYPE_CHECKING:
    from audiocore import audioop as audioop
    from audiocore.pacing import FramePacer as FramePacer
else:
    # Hidden from type checkers: a module __getattr__ would make every misspelt
    # name type-check as a valid attribute.
    def __getattr__(name: str) -> object:
        if name == "FramePacer":
            from audiocore.pacing import FramePacer

            globals()["FramePacer"] = FramePacer
            return FramePacer
        if name == "audioop":
            import importlib

            return importlib.import_module("audiocore.audioop")
        raise AttributeError(f"module 'audiocore' has no attribute {name!r}")

    def __dir__() -> list:
        return sorted(set(globals()) | {"FramePacer", "audioop"})

__all__ = [
    "Converter",
    "FramePacer",
    "FrameRing",
    "Resampler",
    "__version__",
    "alaw_decode",
    "alaw_encode",
    "downmix",
    "mix",
    "resample",
    "ulaw_decode",
    "ulaw_encode",
    "upmix",
]
