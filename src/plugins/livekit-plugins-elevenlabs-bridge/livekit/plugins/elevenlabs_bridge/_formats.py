"""The conversation's audio formats (``pcm_16000``, ``ulaw_8000`` …) as audiocore
rates and encodings."""

from __future__ import annotations

from dataclasses import dataclass

_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


@dataclass(frozen=True)
class AudioFormat:
    """One wire format: ``rate`` in Hz and an audiocore ``encoding``."""

    name: str
    rate: int
    encoding: str  # "pcm16" or "mulaw"

    @property
    def sample_bytes(self) -> int:
        return 2 if self.encoding == "pcm16" else 1


def parse_format(name: object, field: str = "format") -> AudioFormat:
    """``"pcm_16000"`` → ``AudioFormat("pcm_16000", 16000, "pcm16")``.

    Raises ``ValueError`` naming ``field`` for anything the conversation service does
    not define.
    """
    if not isinstance(name, str):
        raise ValueError(f"{field} must be a format name such as 'pcm_16000', "
                         f"got {type(name).__name__}")
    kind, _, rate_text = name.partition("_")
    try:
        rate = int(rate_text)
    except ValueError:
        rate = 0
    if kind == "pcm" and rate in _RATES:
        return AudioFormat(name, rate, "pcm16")
    if kind == "ulaw" and rate == 8000:
        return AudioFormat(name, rate, "mulaw")
    raise ValueError(f"{field} {name!r} is not a known audio format "
                     f"(pcm_8000 … pcm_48000, ulaw_8000)")
