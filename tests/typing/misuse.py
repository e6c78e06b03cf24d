"""Mistakes the types must catch: tests/test_typing.py expects mypy --strict to
report exactly the lines marked with an error code after ``# E:``."""

import audiocore as ac

pcm = bytes(1920)
r = ac.Resampler(48000, 16000)
out = bytearray()
out += r.process(pcm, out=bytearray(1000))  # E: arg-type
count: int = r.process(pcm)  # E: assignment
data: bytes = ac.Converter(48000, 1, 16000).process(pcm, out=bytearray(700))  # E: assignment
n: bytes = ac.ulaw_encode(pcm, out=bytearray(960))  # E: assignment
ac.downmix("not audio", 2)  # E: call-overload
ac.Resampler(48000, 16000, engine="speex")  # E: arg-type
ac.Converter(48000, 2, 16000, quality="best")  # E: arg-type
ac.FramePacr  # E: attr-defined
ac.audioop.ratecv(pcm, 2, 1, 48000)  # E: call-arg
