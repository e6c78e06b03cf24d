"""Room → conversation: one converter and one ring per participant, mixed in
``frame_ms`` slots.

Each participant's frames (48 kHz mono from livekit's ``AudioStream``) go through
their own :class:`audiocore.Converter` to the conversation's input rate (16-bit PCM)
and into their own :class:`audiocore.FrameRing` of one slot per frame. The slot clock
(:meth:`InputMixer.mix_slot`, called every ``frame_ms`` by the session) takes one slot
from every ring: a participant with less than a whole slot buffered contributes
silence for that slot and keeps what it has for the next. The slots are summed with
the saturating :func:`audiocore.mix`, so participants who speak at once are heard at
once, at their own levels, never interleaved.

Whole mixed slots collect in a chunk ring; :meth:`InputMixer.take_chunks` hands out
``chunk_ms`` chunks in the wire encoding (μ-law through :func:`audiocore.ulaw_encode`
for ``ulaw_8000``).
"""

from __future__ import annotations

from typing import Dict, List, Optional

import audiocore

from ._formats import AudioFormat

#: Most audio one participant may have waiting for the slot clock. Beyond it the
#: oldest slots go, so a participant whose frames bunched up (a busy loop, a network
#: burst) is not heard later than this for the rest of the call.
JITTER_MS = 60


class _Participant:
    __slots__ = ("converter", "ring", "frames", "primed", "underruns")

    def __init__(self, slot_bytes: int, slots: int) -> None:
        self.converter: Optional[audiocore.Converter] = None
        self.ring = audiocore.FrameRing(slot_bytes, slot_bytes * slots,
                                        overflow="drop_oldest")
        self.frames = 0
        # Contributes only once it is a half slot ahead of the clock, so that frames
        # arriving a little late do not punch silent holes into the speech.
        self.primed = False
        self.underruns = 0


class InputMixer:
    """Mixes any number of participants into the conversation's input format.

    Args:
        fmt: the conversation's ``user_input_audio_format``.
        frame_ms: slot length; must give whole samples at ``fmt.rate``.
        chunk_ms: length of each chunk sent to the conversation.
    """

    def __init__(self, fmt: AudioFormat, *, frame_ms: int = 20, chunk_ms: int = 50) -> None:
        self._frame_ms = frame_ms
        self._chunk_ms = chunk_ms
        self._participants: Dict[str, _Participant] = {}
        self.slots_mixed = 0
        self.configure(fmt)

    @property
    def format(self) -> AudioFormat:
        return self._fmt

    @property
    def slot_bytes(self) -> int:
        return self._slot_bytes

    @property
    def chunk_bytes(self) -> int:
        """Bytes of one chunk in the wire encoding."""
        return self._chunk_samples * self._fmt.sample_bytes

    @property
    def delay(self) -> float:
        """Seconds the resampler holds back (0 when the rates are equal)."""
        for p in self._participants.values():
            if p.converter is not None:
                return p.converter.delay
        return 0.0

    def configure(self, fmt: AudioFormat) -> None:
        """Switch to a new conversation's input format; buffered audio is dropped."""
        exact = fmt.rate * self._frame_ms / 1000
        if exact != int(exact):
            raise ValueError(f"frame_ms={self._frame_ms} is {exact:g} samples at "
                             f"{fmt.name}: frame_ms must give whole samples")
        self._fmt = fmt
        self._slot_samples = int(exact)
        self._slot_bytes = self._slot_samples * 2
        self._prime_bytes = self._slot_bytes + self._slot_samples // 2 * 2
        self._slots = max(2, -(-JITTER_MS // self._frame_ms))
        self._chunk_samples = max(1, round(fmt.rate * self._chunk_ms / 1000))
        self._silence = bytes(self._slot_bytes)
        # Mixed slots waiting to make up a chunk: at most one chunk plus one slot.
        chunk_pcm = self._chunk_samples * 2
        self._chunks = audiocore.FrameRing(
            chunk_pcm, chunk_pcm * 2 + self._slot_bytes, overflow="drop_oldest")
        for identity in list(self._participants):
            self._participants[identity] = _Participant(self._slot_bytes, self._slots)

    # -- participants ------------------------------------------------------------

    def add(self, identity: str) -> bool:
        """Start mixing ``identity``; False if it is already mixed."""
        if identity in self._participants:
            return False
        self._participants[identity] = _Participant(self._slot_bytes, self._slots)
        return True

    def remove(self, identity: str) -> bool:
        return self._participants.pop(identity, None) is not None

    @property
    def identities(self) -> List[str]:
        return list(self._participants)

    def feed(self, identity: str, data: memoryview | bytes, sample_rate: int,
             channels: int) -> None:
        """One frame of 16-bit PCM from ``identity``'s track (any rate and channel
        count; the participant's converter follows a change)."""
        p = self._participants.get(identity)
        if p is None:
            return
        conv = p.converter
        if conv is None or conv.in_rate != sample_rate or conv.in_channels != channels:
            conv = p.converter = audiocore.Converter(sample_rate, channels, self._fmt.rate, 1)
        out = conv.process(data)
        if out:
            p.ring.write(out)
        p.frames += 1

    # -- the slot clock ----------------------------------------------------------

    def mix_slot(self) -> None:
        """Mix one ``frame_ms`` slot of every participant into the chunk ring."""
        parts = []
        slot, prime = self._slot_bytes, self._prime_bytes
        for p in self._participants.values():
            available = p.ring.available
            if not p.primed:
                if available < prime:
                    continue
                p.primed = True
            if available >= slot:
                parts.append(p.ring.read())
            else:
                p.primed = False
                p.underruns += 1
        if not parts:
            out = self._silence
        elif len(parts) == 1:
            out = parts[0]
        else:
            out = audiocore.mix(*parts)
        self._chunks.write(out)
        self.slots_mixed += 1

    def take_chunks(self) -> List[bytes]:
        """Every whole chunk mixed so far, in the wire encoding."""
        chunks = []
        while self._chunks.available >= self._chunks.frame_bytes:
            pcm = self._chunks.read()
            chunks.append(audiocore.ulaw_encode(pcm) if self._fmt.encoding == "mulaw"
                          else pcm)
        return chunks

    def buffered_ms(self, identity: str) -> float:
        p = self._participants.get(identity)
        if p is None:
            return 0.0
        return p.ring.available / 2 * 1000 / self._fmt.rate
