"""Every benchmark case: what runs for audiocore and for each peer, on which frames.

A case builds fresh subjects on demand (streams start empty each time): ours
first, then each peer that is installed. Peers get their input in the form they
take natively (numpy arrays for python-soxr and numpy, ``bytearray`` for
livekit's resampler) and return their natural output, so they are timed at
their best; chains of peer calls are written as plain functions, as a user
would.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

import audiocore as ac
from audiocore.bench.peers import Peers
from audiocore.bench.signals import FRAME_MS, Signals
from audiocore.bench.stepping import HandRolledPacer, PacerStepper
from audiocore.bench.timing import Runner, Timed, _direct


@dataclass
class Subject:
    """One implementation of a case: ``fn(*args[i])`` processes frame ``i``."""

    id: str
    label: str
    fn: Callable[..., Any]
    args: Sequence[tuple[Any, ...]]
    runner: Runner = _direct
    #: for streams: samples per channel in one call's output.
    out_samples: Optional[Callable[[Any], int]] = None
    #: for streams: fixed delay inside the output, in seconds.
    delay_s: float = 0.0
    close: Callable[[], None] = lambda: None

    @property
    def ours(self) -> bool:
        return self.id == "audiocore"

    def timed(self) -> Timed:
        return Timed(self.fn, self.args, self.runner)


@dataclass(frozen=True)
class Stream:
    """A case whose subjects hold state across calls and may hold audio back."""

    in_rate: int
    out_rate: int


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    title: str
    build: Callable[[Signals, Peers], list[Subject]] = field(compare=False, repr=False)
    stream: Optional[Stream] = None
    #: The realtime resampler rate pairs (mono, quality "high") our subject runs for
    #: each frame: the kernel work the bench reports against the machine's floor.
    work: tuple[tuple[int, int], ...] = ()


# -- output counters -------------------------------------------------------------------

def _pcm_counter(bytes_per_sample: int) -> Callable[[Any], int]:
    return lambda out: len(out) // bytes_per_sample


def _array_len(out: Any) -> int:
    return len(out)


def _livekit_count(frames: Any) -> int:
    return sum(f.samples_per_channel for f in frames)


# -- peers -----------------------------------------------------------------------------

def _soxr_stream(p: Peers, in_rate: int, out_rate: int) -> Any:
    assert p.soxr is not None
    return p.soxr.ResampleStream(in_rate, out_rate, 1, dtype="int16", quality="HQ")


def _livekit_resampler(p: Peers, in_rate: int, out_rate: int) -> Any:
    assert p.rtc is not None
    return p.rtc.AudioResampler(in_rate, out_rate, num_channels=1,
                                quality=p.rtc.AudioResamplerQuality.HIGH)


def _arrays(p: Peers, frames: Sequence[bytes], dtype: str = "int16") -> list[tuple[Any, ...]]:
    assert p.np is not None
    return [(p.np.frombuffer(f, dtype=dtype),) for f in frames]


def _one(frames: Sequence[bytes], *extra: Any) -> list[tuple[Any, ...]]:
    return [(f, *extra) for f in frames]


# -- G.711 ----------------------------------------------------------------------------

def _g711(law: str, encode: bool) -> Callable[[Signals, Peers], list[Subject]]:
    def build(sig: Signals, p: Peers) -> list[Subject]:
        pcm = sig.mono[8000]
        coded = sig.ulaw8 if law == "ulaw" else sig.alaw8
        ours = getattr(ac, f"{law}_{'encode' if encode else 'decode'}")
        subjects = [Subject("audiocore", f"audiocore.{ours.__name__}", ours,
                            _one(pcm if encode else coded))]
        if p.audioop is not None:
            name = f"lin2{law}" if encode else f"{law}2lin"
            subjects.append(Subject("audioop", f"audioop.{name}", getattr(p.audioop, name),
                                    _one(pcm if encode else coded, 2)))
        if p.np is not None:
            np = p.np
            # A table over all 65536 inputs (or 256 codes): numpy's fastest G.711.
            if encode:
                table = np.frombuffer(ours(np.arange(65536, dtype=np.uint16).tobytes()),
                                      dtype=np.uint8)
                args = _arrays(p, pcm, "uint16")
            else:
                table = np.frombuffer(ours(bytes(range(256))), dtype=np.int16)
                args = _arrays(p, coded, "uint8")
            subjects.append(Subject("numpy", "numpy table[x]", table.__getitem__, args))
        return subjects
    return build


# -- channels ---------------------------------------------------------------------------

def _downmix(sig: Signals, p: Peers) -> list[Subject]:
    s = [Subject("audiocore", "audiocore.downmix", ac.downmix, _one(sig.stereo48, 2))]
    if p.audioop is not None:
        s.append(Subject("audioop", "audioop.tomono", p.audioop.tomono,
                         _one(sig.stereo48, 2, 0.5, 0.5)))
    if p.np is not None:
        np = p.np

        def np_downmix(x: Any, _add: Any = np.add, _i32: Any = np.int32,
                       _i16: Any = np.int16) -> Any:
            # Floor of the mean, as audioop.tomono(x, 2, 0.5, 0.5) rounds. (Summing
            # x.reshape(-1, 2) along axis 1 is five times slower.)
            return (_add(x[0::2], x[1::2], dtype=_i32) >> 1).astype(_i16)
        s.append(Subject("numpy", "numpy (L + R) >> 1", np_downmix, _arrays(p, sig.stereo48)))
    return s


def _upmix(sig: Signals, p: Peers) -> list[Subject]:
    mono = sig.mono[48000]
    s = [Subject("audiocore", "audiocore.upmix", ac.upmix, _one(mono, 2))]
    if p.audioop is not None:
        s.append(Subject("audioop", "audioop.tostereo", p.audioop.tostereo,
                         _one(mono, 2, 1, 1)))
    if p.np is not None:
        s.append(Subject("numpy", "numpy.repeat", p.np.repeat,
                         [(a, 2) for (a,) in _arrays(p, mono)]))
    return s


def _mix(sig: Signals, p: Peers) -> list[Subject]:
    a, b = sig.mono[16000], sig.other[16000]
    pairs = list(zip(a, b))
    s = [Subject("audiocore", "audiocore.mix", ac.mix, pairs)]
    if p.audioop is not None:
        s.append(Subject("audioop", "audioop.add", p.audioop.add,
                         [(x, y, 2) for x, y in pairs]))
    if p.np is not None:
        np = p.np

        def np_mix(x: Any, y: Any, _i32: Any = np.int32, _i16: Any = np.int16) -> Any:
            return (x.astype(_i32) + y).clip(-32768, 32767).astype(_i16)
        s.append(Subject("numpy", "numpy (a + b).clip", np_mix,
                         [(x, y) for (x,), (y,) in zip(_arrays(p, a), _arrays(p, b))]))
    return s


# -- resamplers ---------------------------------------------------------------------------

def _resample(engine: str, in_rate: int, out_rate: int
              ) -> Callable[[Signals, Peers], list[Subject]]:
    def build(sig: Signals, p: Peers) -> list[Subject]:
        frames = sig.mono[in_rate]
        r = ac.Resampler(in_rate, out_rate, engine=engine)  # type: ignore[arg-type]
        s = [Subject("audiocore", f"Resampler {engine}", r.process, _one(frames),
                     out_samples=_pcm_counter(2),
                     delay_s=r.delay if engine == "realtime" else 0.0)]
        s += _resampler_peers(sig, p, in_rate, out_rate)
        return s
    return build


def _resampler_peers(sig: Signals, p: Peers, in_rate: int, out_rate: int) -> list[Subject]:
    frames = sig.mono[in_rate]
    s = []
    if p.soxr is not None and p.np is not None:
        s.append(Subject("soxr", "python-soxr HQ", _soxr_stream(p, in_rate, out_rate)
                         .resample_chunk, _arrays(p, frames), out_samples=_array_len))
    if p.rtc is not None:
        s.append(Subject("livekit", "livekit HIGH", _livekit_resampler(p, in_rate, out_rate)
                         .push, [(bytearray(f),) for f in frames],
                         out_samples=_livekit_count))
    return s


# -- Converter chains ------------------------------------------------------------------------

def _stt(sig: Signals, p: Peers) -> list[Subject]:
    conv = ac.Converter(48000, 2, 8000, out_encoding="mulaw")
    s = [Subject("audiocore", "Converter", conv.process, _one(sig.stereo48),
                 out_samples=_pcm_counter(1), delay_s=conv.delay)]
    if p.audioop is not None and p.soxr is not None and p.np is not None:
        tomono, lin2ulaw = p.audioop.tomono, p.audioop.lin2ulaw
        rs = _soxr_stream(p, 48000, 8000).resample_chunk
        frombuffer, i16 = p.np.frombuffer, p.np.int16

        def stt_soxr(frame: bytes) -> Any:
            return lin2ulaw(rs(frombuffer(tomono(frame, 2, 0.5, 0.5), i16)), 2)
        s.append(Subject("soxr+audioop", "tomono+soxr HQ+lin2ulaw", stt_soxr,
                         _one(sig.stereo48), out_samples=len))
    if p.audioop is not None and p.rtc is not None:
        tomono, lin2ulaw = p.audioop.tomono, p.audioop.lin2ulaw
        push = _livekit_resampler(p, 48000, 8000).push

        def stt_livekit(frame: bytes) -> list[bytes]:
            return [lin2ulaw(f.data, 2) for f in push(bytearray(tomono(frame, 2, 0.5, 0.5)))]
        s.append(Subject("livekit+audioop", "tomono+livekit HIGH+lin2ulaw", stt_livekit,
                         _one(sig.stereo48), out_samples=lambda out: sum(map(len, out))))
    return s


def _plain_chain(in_rate: int, out_rate: int) -> Callable[[Signals, Peers], list[Subject]]:
    def build(sig: Signals, p: Peers) -> list[Subject]:
        conv = ac.Converter(in_rate, 1, out_rate)
        s = [Subject("audiocore", "Converter", conv.process, _one(sig.mono[in_rate]),
                     out_samples=_pcm_counter(2), delay_s=conv.delay)]
        return s + _resampler_peers(sig, p, in_rate, out_rate)
    return build


def _tts_ulaw(sig: Signals, p: Peers) -> list[Subject]:
    conv = ac.Converter(8000, 1, 48000, in_encoding="mulaw")
    s = [Subject("audiocore", "Converter", conv.process, _one(sig.ulaw8),
                 out_samples=_pcm_counter(2), delay_s=conv.delay)]
    if p.audioop is not None and p.soxr is not None and p.np is not None:
        ulaw2lin = p.audioop.ulaw2lin
        rs = _soxr_stream(p, 8000, 48000).resample_chunk
        frombuffer, i16 = p.np.frombuffer, p.np.int16

        def tts_soxr(code: bytes) -> Any:
            return rs(frombuffer(ulaw2lin(code, 2), i16))
        s.append(Subject("soxr+audioop", "ulaw2lin+soxr HQ", tts_soxr, _one(sig.ulaw8),
                         out_samples=_array_len))
    if p.audioop is not None and p.rtc is not None:
        ulaw2lin = p.audioop.ulaw2lin
        push = _livekit_resampler(p, 8000, 48000).push

        def tts_livekit(code: bytes) -> Any:
            return push(bytearray(ulaw2lin(code, 2)))
        s.append(Subject("livekit+audioop", "ulaw2lin+livekit HIGH", tts_livekit,
                         _one(sig.ulaw8), out_samples=_livekit_count))
    return s


# -- buffering and pacing ------------------------------------------------------------------

def _ring(sig: Signals, p: Peers) -> list[Subject]:
    frames = sig.mono[48000]
    size = len(frames[0])
    ring = ac.FrameRing(size, 8 * size)
    write, read = ring.write, ring.read

    def ring_step(frame: bytes) -> Any:
        write(frame)
        return read()

    fifo = bytearray()

    def fifo_step(frame: bytes) -> bytes:
        # The usual pure-Python FIFO: append, slice a frame off the front.
        nonlocal fifo
        fifo += frame
        out = bytes(fifo[:size])
        del fifo[:size]
        return out

    return [Subject("audiocore", "FrameRing write+read", ring_step, _one(frames)),
            Subject("python", "bytearray FIFO", fifo_step, _one(frames))]


def _pacer(sig: Signals, p: Peers) -> list[Subject]:
    frames = sig.mono[48000]
    ours = PacerStepper.for_pacer(ac.FramePacer(48000, frame_ms=FRAME_MS))
    by_hand = HandRolledPacer(len(frames[0]), FRAME_MS / 1000)
    theirs = PacerStepper(by_hand.push, by_hand.frames(), by_hand.period)
    return [Subject("audiocore", "FramePacer push+frame", ours.push_take, _one(frames),
                    runner=ours.run, close=ours.close),
            Subject("python", "bytearray + async generator", theirs.push_take,
                    _one(frames), runner=theirs.run, close=theirs.close)]


def _session(sig: Signals, p: Peers) -> list[Subject]:
    room_in = ac.Converter(48000, 1, 16000)
    agent_out = ac.Converter(24000, 1, 48000)
    stepper = PacerStepper.for_pacer(ac.FramePacer(48000, frame_ms=FRAME_MS))
    cin: Callable[..., Any] = room_in.process
    cout: Callable[..., Any] = agent_out.process
    push, take = stepper.push, stepper.take

    def session_frame(room: bytes, agent: bytes) -> bytes:
        cin(room)
        push(cout(agent))
        return take()

    return [Subject("audiocore", "in 48k->16k, out 24k->48k+pacer", session_frame,
                    list(zip(sig.mono[48000], sig.mono[24000])), runner=stepper.run,
                    close=stepper.close)]


# -- the list ------------------------------------------------------------------------------

RESAMPLE_PAIRS = ((48000, 16000), (48000, 8000), (16000, 48000), (24000, 48000),
                  (8000, 16000), (44100, 16000))


def khz(rate: int) -> str:
    return f"{rate / 1000:g}k"


def _all_cases() -> list[Case]:
    cases = [
        Case("ulaw_encode", "g711", "mu-law encode, 8 kHz", _g711("ulaw", True)),
        Case("ulaw_decode", "g711", "mu-law decode, 8 kHz", _g711("ulaw", False)),
        Case("alaw_encode", "g711", "A-law encode, 8 kHz", _g711("alaw", True)),
        Case("alaw_decode", "g711", "A-law decode, 8 kHz", _g711("alaw", False)),
        Case("downmix", "channels", "downmix 48 kHz stereo", _downmix),
        Case("upmix", "channels", "upmix 48 kHz mono to stereo", _upmix),
        Case("mix", "channels", "mix two 16 kHz talkers", _mix),
    ]
    for engine in ("realtime", "soxr"):
        for a, b in RESAMPLE_PAIRS:
            cases.append(Case(f"resample.{engine}.{khz(a)}-{khz(b)}", "resample",
                              f"Resampler {engine} {khz(a)} -> {khz(b)}",
                              _resample(engine, a, b), Stream(a, b),
                              work=((a, b),) if engine == "realtime" else ()))
    cases += [
        Case("convert.stt", "convert", "STT: 48k stereo -> 8k mu-law", _stt,
             Stream(48000, 8000), work=((48000, 8000),)),
        Case("convert.bridge_in", "convert", "bridge in: 48k -> 16k",
             _plain_chain(48000, 16000), Stream(48000, 16000), work=((48000, 16000),)),
        Case("convert.tts_16k", "convert", "TTS: 16k -> 48k", _plain_chain(16000, 48000),
             Stream(16000, 48000), work=((16000, 48000),)),
        Case("convert.tts_ulaw", "convert", "TTS: 8k mu-law -> 48k", _tts_ulaw,
             Stream(8000, 48000), work=((8000, 48000),)),
        Case("ring", "pacing", "FrameRing write+read, 48 kHz", _ring),
        Case("pacer", "pacing", "FramePacer push + one frame, 48 kHz", _pacer),
        Case("session", "session", "one bridged session, per 20 ms", _session,
             work=((48000, 16000), (24000, 48000))),
    ]
    return cases


CASES: tuple[Case, ...] = tuple(_all_cases())


def select(patterns: Sequence[str] = ()) -> list[Case]:
    """Cases whose id matches any of the shell-style ``patterns`` (all when empty)."""
    if not patterns:
        return list(CASES)
    chosen = [c for c in CASES if any(fnmatch.fnmatchcase(c.id, pat) for pat in patterns)]
    if not chosen:
        raise ValueError(f"no case matches {', '.join(patterns)}; "
                         f"cases: {', '.join(c.id for c in CASES)}")
    return chosen
