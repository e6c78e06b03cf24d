"""How a streaming subject hands its output back: per-call counts and held-back audio.

Run on a fresh instance, untimed: a continuous stream of consecutive 20 ms
frames goes in, and the samples each call returns are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

#: Calls per characterisation: 5 s of audio, long enough for libsoxr's longest
#: start-up hold (about 160 ms) to be a small part of it.
CALLS = 250


@dataclass
class StreamFigures:
    calls: int
    #: share of calls that returned no audio at all.
    empty_share: float
    #: the most audio one call returned, in output samples per channel and in ms.
    largest_burst_samples: int
    largest_burst_ms: float
    #: max over calls of (audio in so far - audio out so far), in ms: what the
    #: subject held back at its worst. libsoxr aligns its output, so for it this
    #: is its whole latency.
    held_back_ms: float
    #: fixed group delay inside the output (the realtime engine's ``.delay``):
    #: audio that came out on time but lags by this much.
    delay_ms: float

    @property
    def latency_ms(self) -> float:
        return self.held_back_ms + self.delay_ms

    def as_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "empty_share": round(self.empty_share, 4),
            "largest_burst_samples": self.largest_burst_samples,
            "largest_burst_ms": round(self.largest_burst_ms, 3),
            "held_back_ms": round(self.held_back_ms, 3),
            "delay_ms": round(self.delay_ms, 3),
            "latency_ms": round(self.latency_ms, 3),
        }


def stream_figures(counts: Sequence[int], in_frame_ms: float, out_rate: int,
                   delay_s: float = 0.0) -> StreamFigures:
    """Figures from the output sample counts of consecutive calls, each fed
    ``in_frame_ms`` of audio."""
    if not counts:
        raise ValueError("stream_figures needs at least one call")
    total = 0
    worst = float("-inf")
    for k, n in enumerate(counts, start=1):
        total += n
        worst = max(worst, k * in_frame_ms - total * 1000.0 / out_rate)
    largest = max(counts)
    return StreamFigures(
        calls=len(counts),
        empty_share=sum(1 for n in counts if n == 0) / len(counts),
        largest_burst_samples=largest,
        largest_burst_ms=largest * 1000.0 / out_rate,
        held_back_ms=max(worst, 0.0),
        delay_ms=delay_s * 1000.0,
    )


def output_counts(fn: Callable[..., Any], args: Sequence[tuple[Any, ...]],
                  out_samples: Callable[[Any], int], calls: int = CALLS) -> list[int]:
    """Feed ``calls`` consecutive frames (cycling ``args``) and count each output."""
    return [out_samples(fn(*args[i % len(args)])) for i in range(calls)]
