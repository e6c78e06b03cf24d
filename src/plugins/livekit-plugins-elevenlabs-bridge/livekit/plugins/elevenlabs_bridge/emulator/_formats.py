"""The conversation service's audio formats, and audiocore converters to and from them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict

from audiocore import Converter

# The service's table: signed 16-bit little-endian PCM at six rates, and 8 kHz μ-law.
FORMATS: Dict[str, "AudioFormat"] = {}

# Every piece of speech the emulator hears or says is handled at this rate: flite's
# kal16 voice and pocketsphinx's acoustic model are both 16 kHz.
SPEECH_RATE = 16000


@dataclass(frozen=True)
class AudioFormat:
    """One entry of the table: ``name`` as on the wire, its rate and encoding."""

    name: str
    sample_rate: int
    encoding: str  # audiocore's encoding name: "pcm16" or "mulaw"

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.encoding == "pcm16" else 1

    def duration(self, nbytes: int) -> float:
        """Seconds of audio in ``nbytes`` bytes of this format."""
        return nbytes / (self.bytes_per_sample * self.sample_rate)

    def nbytes(self, seconds: float) -> int:
        """Whole samples' worth of bytes closest to ``seconds``."""
        return round(seconds * self.sample_rate) * self.bytes_per_sample

    def decoder(self) -> Converter:
        """A streaming converter from this format to 16 kHz PCM (what the brain hears)."""
        return Converter(self.sample_rate, 1, SPEECH_RATE, 1, in_encoding=self.encoding)

    def encoder(self) -> Converter:
        """A streaming converter from 16 kHz PCM (what the brain says) to this format."""
        return Converter(SPEECH_RATE, 1, self.sample_rate, 1, out_encoding=self.encoding)


for _rate in (8000, 16000, 22050, 24000, 44100, 48000):
    FORMATS[f"pcm_{_rate}"] = AudioFormat(f"pcm_{_rate}", _rate, "pcm16")
FORMATS["ulaw_8000"] = AudioFormat("ulaw_8000", 8000, "mulaw")


def audio_format(name: object, argument: str) -> AudioFormat:
    """The table entry named ``name``; ``ValueError`` naming ``argument`` otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a str, not {type(name).__name__}")
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(f"{argument} must be one of {', '.join(FORMATS)}; got {name!r}") \
            from None
