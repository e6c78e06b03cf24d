"""Room audio to the STT service's fixed frames: one ``audiocore.Converter`` per stream.

The converter lives as long as the stream, not the connection: its filter state runs on
across a reconnect, so the audio after it is exactly what one uninterrupted conversion
makes (the replay then repeats frames that already exist, it never re-converts).
"""

from __future__ import annotations

from typing import Optional

import audiocore

from ._replay import ReplayBuffer


class AudioFramer:
    """Converts pushed PCM16 (any rate and channel count, fixed per stream) to the
    service's encoding and rate, and cuts it into ``frame_bytes`` frames in ``replay``.
    """

    def __init__(self, *, out_rate: int, encoding: str, frame_bytes: int,
                 replay: ReplayBuffer) -> None:
        if encoding not in ("mulaw", "linear"):
            raise ValueError(f"encoding must be 'mulaw' or 'linear', not {encoding!r}")
        if frame_bytes <= 0:
            raise ValueError("frame_bytes must be positive")
        self._out_rate = out_rate
        self._out_encoding = "mulaw" if encoding == "mulaw" else "pcm16"
        self._frame_bytes = frame_bytes
        self._replay = replay
        self._converter: Optional[audiocore.Converter] = None
        self._pending = bytearray()
        self.finished = False

    def push(self, data: object, sample_rate: int, num_channels: int) -> None:
        """Convert one frame of interleaved PCM16 (any buffer).

        The first frame fixes the rate and channel count. A frame with another channel
        count (livekit itself pushes mono silence into a stereo stream when a turn is
        committed) is remixed to the first one's by audiocore, so the one converter and
        its filter state run on undisturbed.
        """
        if self._converter is None:
            self._converter = audiocore.Converter(
                sample_rate, num_channels, self._out_rate, 1,
                out_encoding=self._out_encoding, engine="realtime")  # type: ignore[arg-type]
        elif sample_rate != self._converter.in_rate:
            raise ValueError(f"push_frame: frames must keep one sample rate; got "
                             f"{sample_rate} Hz after {self._converter.in_rate} Hz")
        elif num_channels != self._converter.in_channels:
            if num_channels > 1:
                data = audiocore.downmix(data, num_channels)  # type: ignore[arg-type]
            if self._converter.in_channels > 1:
                data = audiocore.upmix(data, self._converter.in_channels)  # type: ignore[arg-type]
        self._pending += self._converter.process(data)  # type: ignore[arg-type]
        self._cut(partial=False)

    def cut_partial(self) -> None:
        """Send what is pending now, even if it is less than a frame (a flush)."""
        self._cut(partial=True)

    def finish(self) -> None:
        """End of input: the converter's held-back tail and the last partial frame."""
        if self.finished:
            return
        if self._converter is not None:
            self._pending += self._converter.flush()
        self._cut(partial=True)
        self.finished = True

    def _cut(self, *, partial: bool) -> None:
        size = self._frame_bytes
        pending = self._pending
        whole = len(pending) // size * size
        push = self._replay.push
        for start in range(0, whole, size):
            push(bytes(pending[start:start + size]))
        del pending[:whole]
        if partial and pending:
            push(bytes(pending))
            pending.clear()
