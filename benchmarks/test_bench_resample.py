"""Resampler per engine and rate pair, fed consecutive 20 ms frames, against
python-soxr HQ and livekit's AudioResampler at HIGH."""

GROUPS = ("resample",)


def test_resampler(benchmark, run_subject, subject_key):
    run_subject(benchmark, subject_key)
