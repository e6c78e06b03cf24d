"""Converter chains (STT, bridge in, TTS) against the same chains built from
audioop, python-soxr and livekit."""

GROUPS = ("convert",)


def test_chain(benchmark, run_subject, subject_key):
    run_subject(benchmark, subject_key)
