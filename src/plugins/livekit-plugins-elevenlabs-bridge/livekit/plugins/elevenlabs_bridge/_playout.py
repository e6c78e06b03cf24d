"""Conversation → room: decoded reply audio → :class:`audiocore.Converter` →
:class:`audiocore.FramePacer` → ``rtc.AudioSource``.

The conversation sends reply audio faster than real time, in uneven pieces. All of it
waits in the pacer (native ring, cleared in one call); livekit's source is fed one
``frame_ms`` frame per period and its queue holds only ``queue_ms``, so a barge-in
silences the track within one frame plus ``queue_ms``.

When playback starts from an empty queue, a little silence goes in first (the lead,
two frames by default, never more than ``queue_ms`` minus a frame), so the paced
frames run that far ahead of what is heard: a loop held up for less than the lead
leaves no hole in the reply. ``clear_queue()`` drops the lead with the rest, so
barge-in is as fast as without it.
"""

from __future__ import annotations

import asyncio
from typing import Optional

import audiocore
from livekit import rtc

from ._formats import AudioFormat

#: Reply audio held in the pacer at most. A long reply arrives in a few seconds, far
#: ahead of playback; 60 s of 48 kHz mono is 5.8 MB, allocated once per session.
MAX_REPLY_MS = 60_000


class Playout:
    """The agent's voice: owns the published track's source and its pacer."""

    def __init__(self, output_rate: int, *, frame_ms: int = 20, queue_ms: int = 100,
                 track_name: str = "elevenlabs-agent") -> None:
        self._rate = output_rate
        self._frame_ms = frame_ms
        self._pacer = audiocore.FramePacer(output_rate, 1, frame_ms=frame_ms,
                                           max_buffer_ms=MAX_REPLY_MS)
        self._samples = self._pacer.frame_bytes // 2
        lead_frames = max(0, min(2, queue_ms // frame_ms - 1))
        self.lead_ms = lead_frames * frame_ms
        self._lead = (rtc.AudioFrame(bytes(self._pacer.frame_bytes * lead_frames),
                                     output_rate, 1, self._samples * lead_frames)
                      if lead_frames else None)
        self.source = rtc.AudioSource(output_rate, 1, queue_size_ms=queue_ms)
        self.track = rtc.LocalAudioTrack.create_audio_track(track_name, self.source)
        self._converter: Optional[audiocore.Converter] = None
        self._fmt: Optional[AudioFormat] = None
        self.frames_out = 0
        self.overflow_ms = 0.0
        #: loop.time() of the last frame handed to the source.
        self.last_capture = 0.0

    @property
    def pacer(self) -> audiocore.FramePacer:
        return self._pacer

    @property
    def delay(self) -> float:
        """Seconds the resampler and the lead add."""
        conv = self._converter.delay if self._converter is not None else 0.0
        return conv + self.lead_ms / 1000

    def configure(self, fmt: AudioFormat) -> None:
        """Decode a new conversation's ``agent_output_audio_format``."""
        if fmt != self._fmt:
            self._converter = audiocore.Converter(fmt.rate, 1, self._rate, 1,
                                                  in_encoding=fmt.encoding)
            self._fmt = fmt
        else:
            assert self._converter is not None
            self._converter.reset()

    def push(self, data: bytes) -> None:
        """Queue one piece of reply audio (wire format) for paced playback."""
        if self._converter is None:
            raise RuntimeError("Playout.push() before configure()")
        pcm = self._converter.process(data)
        if not pcm:
            return
        try:
            self._pacer.push(pcm)
        except OverflowError:
            # A reply longer than the pacer holds: drop this piece, keep the cadence.
            self.overflow_ms += len(pcm) * 500 / self._rate

    def interrupt(self) -> float:
        """Barge-in: drop everything not yet heard; returns the milliseconds dropped."""
        dropped = self._pacer.clear()
        self.source.clear_queue()
        if self._converter is not None:
            self._converter.reset()
        return dropped

    async def run(self) -> None:
        """Feed the source one frame per period until :meth:`close`."""
        loop = asyncio.get_running_loop()
        rate, samples = self._rate, self._samples
        source, lead = self.source, self._lead
        # Past this since the last capture, the queue has surely run dry (livekit's
        # own estimate touches zero between every two paced frames).
        drained = (self._frame_ms + self.lead_ms) / 1000
        async for pcm in self._pacer:
            if lead is not None and loop.time() - self.last_capture > drained:
                await source.capture_frame(lead)
            await source.capture_frame(rtc.AudioFrame(pcm, rate, 1, samples))
            self.frames_out += 1
            self.last_capture = loop.time()

    def close(self) -> None:
        """End the pacer (run() returns once it has drained; clear first to stop now)."""
        self._pacer.end()

    async def aclose(self) -> None:
        self._pacer.clear()
        self._pacer.end()
        await self.source.aclose()
