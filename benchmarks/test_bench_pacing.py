"""FrameRing write+read, FramePacer push + one frame, and one bridged session's
DSP work per 20 ms frame."""

GROUPS = ("pacing", "session")


def test_pacing(benchmark, run_subject, subject_key):
    run_subject(benchmark, subject_key)
