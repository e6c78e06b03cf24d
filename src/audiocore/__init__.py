"""audiocore: native real-time audio DSP for Python voice agents.

PCM is signed 16-bit little-endian, interleaved. Every function accepts any
C-contiguous buffer (bytes, bytearray, memoryview, numpy int16 array,
``rtc.AudioFrame.data``) and returns ``bytes`` unless an ``out=`` buffer is given.
"""

from audiocore._kernels import (alaw_decode, alaw_encode, downmix, mix,
                                ulaw_decode, ulaw_encode, upmix)
from audiocore._ring import FrameRing
from audiocore._version import __version__
from audiocore.converter import Converter
from audiocore.pacing import FramePacer
from audiocore.resampling import Resampler, resample

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
