"""One voice turn through an ``AgentSession`` with no room: what ``audiocore demo`` runs.

The user's question arrives as a LiveKit room delivers audio (48 kHz stereo, 10 ms
frames, in real time, silence after it); the session runs this plugin's STT, LLM (with
one tool) and TTS; the agent's audio is collected. Every stage is time-stamped against
the moment the last voiced frame of the question was delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from array import array
from dataclasses import asdict, dataclass, field
from typing import Any, AsyncIterator, Dict, List, Optional

import audiocore
from livekit import rtc
from livekit.agents import Agent, AgentSession, llm
from livekit.agents.voice import io as voice_io

ROOM_RATE = 48000
ROOM_CHANNELS = 2
FRAME_MS = 10
_FRAME_SAMPLES = ROOM_RATE * FRAME_MS // 1000
# A sample this loud (of 32767) counts as voice when finding where the question ends.
_VOICED = 600

INSTRUCTIONS = ("You are a voice assistant. When asked about the weather, call the "
                "weather tool and answer in one short sentence.")

# The session's own wait after the STT's end of speech before it answers; the STT has
# already waited for silence, so a short one is enough.
ENDPOINTING_DELAY = 0.2
# Silence that ends an utterance at the recognizer (the service's minimum): a short
# question needs no longer pause.
UTTERANCE_END_MS = 300


# -- the question, as a room would deliver it ---------------------------------------

@dataclass
class SpokenQuestion:
    text: str
    voice: str            # "flite" or "tones"
    frames: List[bytes]   # 48 kHz stereo PCM16, 10 ms each
    speech_end_frame: int  # index of the frame holding the last voiced sample

    @property
    def duration(self) -> float:
        return len(self.frames) * FRAME_MS / 1000


# flite's default voice speaks at 8 kHz; kal16 is its 16 kHz one, the voice
# pocketsphinx's wideband model reads best.
FLITE_VOICE = "kal16"


def flite_available() -> bool:
    return shutil.which("flite") is not None


def _flite_pcm(text: str) -> tuple[bytes, int]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "question.wav")
        subprocess.run(["flite", "-voice", FLITE_VOICE, "-t", text, "-o", path], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        with wave.open(path, "rb") as w:
            if w.getsampwidth() != 2:
                raise RuntimeError("flite wrote a WAV that is not 16-bit")
            pcm, rate, channels = w.readframes(w.getnframes()), w.getframerate(), w.getnchannels()
    if channels != 1:
        pcm = audiocore.downmix(pcm, channels)
    return pcm, rate


def _tones_pcm(text: str) -> tuple[bytes, int]:
    from .emulator import tones

    return tones.encode(text), tones.RATE


def _last_voiced(pcm: bytes) -> int:
    """Index of the last sample at or above the voice threshold (0 if none)."""
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":
        samples.byteswap()
    for i in range(len(samples) - 1, -1, -1):
        if abs(samples[i]) >= _VOICED:
            return i
    return 0


def speak_question(text: str, voice: str, *, trailing_silence: float = 0.0) -> SpokenQuestion:
    """The question as 48 kHz stereo 10 ms frames, spoken by ``voice`` ("flite"/"tones")."""
    pcm, rate = _flite_pcm(text) if voice == "flite" else _tones_pcm(text)
    end_s = (_last_voiced(pcm) + 1) / rate
    conv = audiocore.Converter(rate, 1, ROOM_RATE, ROOM_CHANNELS)
    room = bytes(conv.process(pcm)) + conv.flush()
    frame_bytes = _FRAME_SAMPLES * ROOM_CHANNELS * 2
    pad = int(trailing_silence * ROOM_RATE) * ROOM_CHANNELS * 2
    room += b"\0" * (pad + (-(len(room) + pad)) % frame_bytes)
    frames = [room[i:i + frame_bytes] for i in range(0, len(room), frame_bytes)]
    # The resampler delays its output by conv.delay: the voice ends that much later.
    end_frame = min(len(frames) - 1, int((end_s + conv.delay) * 1000) // FRAME_MS)
    return SpokenQuestion(text=text, voice=voice, frames=frames, speech_end_frame=end_frame)


# -- the session's audio I/O ---------------------------------------------------------

class Marks:
    """First times (``time.perf_counter``) of named moments."""

    def __init__(self) -> None:
        self.t: Dict[str, float] = {}

    def first(self, name: str) -> None:
        self.t.setdefault(name, time.perf_counter())


class RoomLikeInput(voice_io.AudioInput):
    """The question's frames in real time, then silence, as a room track delivers them."""

    def __init__(self, question: SpokenQuestion, marks: Marks) -> None:
        super().__init__(label="demo-question")
        self._q = question
        self._marks = marks
        self._i = 0
        self._t0: Optional[float] = None
        self._silence = b"\0" * (_FRAME_SAMPLES * ROOM_CHANNELS * 2)

    async def __anext__(self) -> rtc.AudioFrame:
        now = time.perf_counter()
        if self._t0 is None:
            self._t0 = now
            self._marks.first("speech_start")
        deadline = self._t0 + self._i * FRAME_MS / 1000
        if deadline > now:
            await asyncio.sleep(deadline - now)
        i = self._i
        self._i += 1
        data = self._q.frames[i] if i < len(self._q.frames) else self._silence
        if i == self._q.speech_end_frame:
            self._marks.first("speech_end")
        return rtc.AudioFrame(data, ROOM_RATE, ROOM_CHANNELS, _FRAME_SAMPLES)


class CollectingOutput(voice_io.AudioOutput):
    """Keeps every frame the agent says; a segment "plays" the moment it is flushed."""

    def __init__(self, marks: Marks) -> None:
        super().__init__(label="demo-collector",
                         capabilities=voice_io.AudioOutputCapabilities(pause=False))
        self.frames: List[rtc.AudioFrame] = []
        self._marks = marks
        self._segment = 0.0
        self._playing = False
        self.segments_done = asyncio.Event()

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        self._marks.first("agent_first_frame")
        if not self._playing:
            self._playing = True
            self.on_playback_started(created_at=time.time())
        self.frames.append(frame)
        self._segment += frame.duration

    def flush(self) -> None:
        super().flush()
        if self._playing:
            self._playing = False
            duration, self._segment = self._segment, 0.0
            self.on_playback_finished(playback_position=duration, interrupted=False)
            self.segments_done.set()

    def clear_buffer(self) -> None:
        if self._playing:
            self._playing = False
            duration, self._segment = self._segment, 0.0
            self.on_playback_finished(playback_position=duration, interrupted=True)

    def pcm(self) -> tuple[bytes, int, int]:
        """The collected audio as one PCM16 buffer, its rate and channel count."""
        if not self.frames:
            return b"", 0, 0
        rate, channels = self.frames[0].sample_rate, self.frames[0].num_channels
        if any(f.sample_rate != rate or f.num_channels != channels for f in self.frames):
            raise RuntimeError("the agent's frames changed format mid-reply")
        return b"".join(bytes(f.data) for f in self.frames), rate, channels


# -- the agent -----------------------------------------------------------------------

WEATHER = "sunny and 22 degrees"
# The emulator accepts any key; this one only has to be non-empty.
EMULATOR_KEY = "demo-key-for-the-local-emulator"


@llm.function_tool
async def weather(city: str) -> str:
    """Look up the current weather in a city.

    Args:
        city: the name of the city.
    """
    # A recognizer's transcript is lower case: name the place as a person writes it.
    return f"It is {WEATHER} in {city.strip().title()}."


class DemoAgent(Agent):
    """The default pipeline, with the first LLM output and first TTS audio time-stamped."""

    def __init__(self, marks: Marks) -> None:
        super().__init__(instructions=INSTRUCTIONS, tools=[weather])
        self._marks = marks
        self.llm_requests = 0

    async def llm_node(self, chat_ctx: llm.ChatContext, tools: List[llm.Tool],
                       model_settings: Any) -> AsyncIterator[Any]:
        self.llm_requests += 1
        after_tool = self.llm_requests > 1
        self._marks.first("llm_request")
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            if isinstance(chunk, llm.ChatChunk) and chunk.delta is not None:
                if chunk.delta.content or chunk.delta.tool_calls:
                    self._marks.first("llm_first_token")
                if chunk.delta.content and after_tool:
                    self._marks.first("reply_first_token")
            yield chunk

    async def tts_node(self, text: Any, model_settings: Any) -> AsyncIterator[rtc.AudioFrame]:
        async for frame in Agent.default.tts_node(self, text, model_settings):
            self._marks.first("tts_first_audio")
            yield frame


# -- one turn ------------------------------------------------------------------------

@dataclass
class TurnReport:
    question: str
    voice: str
    transcript: str = ""
    tool_calls: List[Dict[str, Any]] = field(default_factory=list)
    reply: str = ""
    reply_audio_s: float = 0.0
    reply_sample_rate: int = 0
    llm_requests: int = 0
    stt_format: str = ""
    #: ms after the end of the user's speech
    latency_ms: Dict[str, Optional[float]] = field(default_factory=dict)
    #: ms after the first frame of the question
    timeline_ms: Dict[str, float] = field(default_factory=dict)
    errors: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (not self.errors and bool(self.transcript) and bool(self.tool_calls)
                and bool(self.reply) and self.reply_audio_s > 0)

    def as_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


STAGES = (("final_transcript", "final transcript"),
          ("llm_first_token", "first LLM token"),
          ("reply_first_token", "first reply token"),
          ("tts_first_audio", "first TTS audio"),
          ("agent_first_frame", "first agent frame"))


async def run_turn(question: SpokenQuestion, *, stt: Any, llm_: Any, tts: Any,
                   timeout: float = 45.0) -> tuple[TurnReport, CollectingOutput]:
    """Run the question through an ``AgentSession``; returns what happened and the audio."""
    marks = Marks()
    report = TurnReport(question=question.text, voice=question.voice)
    opts = getattr(stt, "options", None)
    if opts is not None:
        report.stt_format = f"{opts.encoding} {opts.sample_rate} Hz"
    finals: List[str] = []
    replies: List[str] = []
    reply_added = asyncio.Event()

    session: AgentSession = AgentSession(
        stt=stt, llm=llm_, tts=tts, vad=None,
        turn_handling={"turn_detection": "stt",
                       "endpointing": {"min_delay": ENDPOINTING_DELAY},
                       "interruption": {"enabled": False}},
        aec_warmup_duration=None, user_away_timeout=None,
        # The reply is in: closing need not wait for a last transcript.
        session_close_transcript_timeout=0.2)
    output = CollectingOutput(marks)
    session.input.audio = RoomLikeInput(question, marks)
    session.output.audio = output

    @session.on("user_input_transcribed")
    def _transcribed(ev: Any) -> None:
        if ev.is_final and ev.transcript.strip():
            marks.first("final_transcript")
            finals.append(ev.transcript.strip())

    @session.on("function_tools_executed")
    def _tools(ev: Any) -> None:
        for call, out in zip(ev.function_calls, ev.function_call_outputs):
            try:
                arguments: Any = json.loads(call.arguments)
            except ValueError:
                arguments = call.arguments
            report.tool_calls.append({"name": call.name, "arguments": arguments,
                                      "output": out.output if out is not None else None})

    @session.on("conversation_item_added")
    def _item(ev: Any) -> None:
        item = ev.item
        if getattr(item, "role", None) == "assistant" and item.text_content:
            replies.append(item.text_content)
            reply_added.set()

    @session.on("error")
    def _error(ev: Any) -> None:
        err = getattr(ev, "error", ev)  # livekit's STTError/LLMError/TTSError
        inner = getattr(err, "error", err)
        text = f"{type(inner).__name__}: {inner}"
        # A recoverable error was retried by livekit: worth showing, not a failure.
        (report.warnings if getattr(err, "recoverable", False) else report.errors).append(text)

    agent = DemoAgent(marks)
    try:
        await session.start(agent)

        async def _finished() -> None:
            await reply_added.wait()
            await output.segments_done.wait()

        try:
            await asyncio.wait_for(_finished(), timeout)
        except asyncio.TimeoutError:
            report.errors.append(f"no spoken reply within {timeout:g} s")
    finally:
        marks.first("reply_done")
        await session.aclose()
        marks.first("session_closed")

    report.transcript = " ".join(finals)
    report.reply = " ".join(replies)
    report.llm_requests = agent.llm_requests
    pcm, rate, channels = output.pcm()
    if rate:
        report.reply_audio_s = len(pcm) / (2 * channels * rate)
        report.reply_sample_rate = rate
    start, end = marks.t.get("speech_start"), marks.t.get("speech_end")
    if start is not None:
        report.timeline_ms = {k: round((v - start) * 1000, 1) for k, v in
                              sorted(marks.t.items(), key=lambda kv: kv[1])}
    for key, _ in STAGES:
        t = marks.t.get(key)
        report.latency_ms[key] = (round((t - end) * 1000, 1)
                                  if t is not None and end is not None else None)
    return report, output


# -- the command ---------------------------------------------------------------------

def _choose_voices(speech: str) -> str:
    """Which voices to use: ``"engines"`` (flite speaks, pocketsphinx listens) or
    ``"fallback"`` (the emulator's tone code)."""
    from .emulator import engines

    have = flite_available() and engines.pocketsphinx_available()
    if speech == "engines" and not have:
        raise RuntimeError("--speech engines needs flite (apt-get install flite) and "
                           "pocketsphinx (pip install pocketsphinx)")
    if speech == "fallback" or not have:
        return "fallback"
    return "engines"


@contextlib.asynccontextmanager
async def _services(live: bool, speech: str) -> AsyncIterator[Dict[str, Any]]:
    """Keyword arguments for STT/LLM/TTS: the emulator's URLs, or the real service's."""
    if live:
        yield {"stt": {}, "llm": {}, "tts": {}}
        return
    from .emulator import Emulator

    # preload: pocketsphinx's model (about a second to load) is in memory before the
    # user speaks, not loaded inside "end of speech -> final transcript".
    async with Emulator(host="127.0.0.1", port=0, speech=speech,
                        preload=speech == "engines") as emu:
        key = EMULATOR_KEY
        # pocketsphinx's model is wideband: it reads 16 kHz linear PCM well and the
        # telephone band (8 kHz mu-law, the default) poorly. The tone voices survive
        # mu-law, so they keep the default.
        stt_format = ({"encoding": "linear", "sample_rate": 16000,
                       "utterance_end_ms": UTTERANCE_END_MS} if speech == "engines" else {})
        yield {"stt": {"api_key": key, "ws_url": emu.stt_url, **stt_format},
               "llm": {"api_key": key, "api_url": emu.llm_url},
               "tts": {"api_key": key, "ws_url": emu.tts_url},
               "emulator": emu}


async def demo_turn(question_text: str, *, live: bool = False, speech: str = "auto",
                    timeout: float = 45.0) -> tuple[TurnReport, CollectingOutput, str]:
    """The demo's whole run: returns the report, the collected audio, the voices used."""
    from . import LLM, STT, TTS

    voices = "live" if live else _choose_voices(speech)
    # A live service hears flite when it is installed; the emulator hears what it can read.
    voice = ("flite" if flite_available() else "tones") if live else (
        "flite" if voices == "engines" else "tones")
    question = speak_question(question_text, voice, trailing_silence=0.0)
    async with _services(live, voices) as kw:
        stt, model, tts = STT(**kw["stt"]), LLM(**kw["llm"]), TTS(**kw["tts"])
        try:
            report, output = await run_turn(question, stt=stt, llm_=model, tts=tts,
                                            timeout=timeout)
        finally:
            await model.aclose()
            for closer in (stt, tts):
                with contextlib.suppress(Exception):
                    await closer.aclose()
    return report, output, voices


def _write_wav(path: str, output: CollectingOutput) -> None:
    pcm, rate, channels = output.pcm()
    with wave.open(path, "wb") as w:
        w.setnchannels(channels or 1)
        w.setsampwidth(2)
        w.setframerate(rate or 16000)
        w.writeframes(pcm)


def _print_report(report: TurnReport, voices: str, out_path: Optional[str]) -> None:
    where = {"live": "the 60db service", "engines": "the emulator, flite + pocketsphinx voices",
             "fallback": "the emulator, deterministic tone voices"}[voices]
    print(f"audiocore demo: one voice turn against {where}")
    print(f"  question        {report.question!r} ({report.voice}, 48 kHz stereo, 10 ms frames)")
    print(f"  user said       {report.transcript!r}"
          + (f" (STT heard {report.stt_format})" if report.stt_format else ""))
    for call in report.tool_calls:
        print(f"  tool call       {call['name']}({json.dumps(call['arguments'])}) -> "
              f"{call['output']!r}")
    if not report.tool_calls:
        print("  tool call       (none)")
    print(f"  agent replied   {report.reply!r}")
    audio = f"{report.reply_audio_s:.2f} s at {report.reply_sample_rate} Hz"
    print(f"  reply audio     {audio}" + (f" -> {out_path}" if out_path else ""))
    print("  latency after the end of the user's speech "
          f"(session endpointing delay {ENDPOINTING_DELAY * 1000:.0f} ms included):")
    for key, label in STAGES:
        v = report.latency_ms.get(key)
        print(f"    {label:<19} " + (f"{v:7.0f} ms" if v is not None else "      --"))
    for w in report.warnings:
        print(f"  retried: {w}")
    for e in report.errors:
        print(f"  error: {e}")


def run_command(args: argparse.Namespace) -> int:
    """``audiocore demo``: 0 when the turn completed, 1 when it did not, 2 on bad set-up."""
    level = logging.INFO if args.verbose else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    names = ("livekit", "livekit.agents", "livekit.plugins._60db")
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(level)
    try:
        report, output, voices = asyncio.run(demo_turn(
            args.question, live=args.live, speech=args.speech, timeout=args.timeout))
    except (ValueError, RuntimeError, OSError) as e:
        print(f"audiocore demo: {e}", file=sys.stderr)
        return 2
    finally:
        # Run in-process (tests, notebooks), the caller's logging comes back as it was.
        for name, old in saved.items():
            logging.getLogger(name).setLevel(old)
    if args.out:
        _write_wav(args.out, output)
    _print_report(report, voices, args.out)
    if args.json_path:
        data = report.as_dict()
        data.update({"voices": voices, "endpointing_delay_ms": ENDPOINTING_DELAY * 1000,
                     "versions": _versions()})
        with open(args.json_path, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
    if not report.ok:
        missing = [name for name, have in (("transcript", report.transcript),
                                           ("tool call", report.tool_calls),
                                           ("reply", report.reply),
                                           ("reply audio", report.reply_audio_s))
                   if not have]
        if missing:
            print(f"audiocore demo: FAILED: no {', no '.join(missing)}", file=sys.stderr)
        else:
            print("audiocore demo: FAILED", file=sys.stderr)
        return 1
    return 0


def _versions() -> Dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("audiocore-dsp", "livekit-plugins-60db", "livekit-agents", "livekit"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out
