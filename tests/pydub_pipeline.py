"""A pydub pipeline over every audioop function pydub calls, run in a subprocess by
tests/test_audioop_install.py on two interpreters: one with stdlib audioop, one with
audiocore.audioop.install(). Prints a JSON digest of every result.

    python pydub_pipeline.py (stdlib|install) PATH_WITH_PYDUB
"""

import hashlib
import json
import math
import struct
import sys
import warnings


def signal(rate: int, seconds: float) -> bytes:
    """Two channels of voiced harmonics with a little deterministic noise."""
    out = []
    seed = 12345
    for i in range(int(rate * seconds)):
        t = i / rate
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        noise = (seed / 0x7FFFFFFF - 0.5) * 600
        env = 0.5 + 0.5 * math.sin(2 * math.pi * 3 * t)
        voiced = sum(math.sin(2 * math.pi * 140 * k * t) / k for k in range(1, 12))
        left = int(9000 * env * voiced + noise)
        right = int(7000 * env * math.sin(2 * math.pi * 440 * t) - noise)
        out.append(struct.pack("<hh", max(-32768, min(32767, left)),
                               max(-32768, min(32767, right))))
    return b"".join(out)


def main() -> None:
    mode, path = sys.argv[1], sys.argv[2]
    sys.path.insert(0, path)
    failed = None
    if mode == "install":
        import importlib.util

        import audiocore.audioop

        if importlib.util.find_spec("audioop") is None:  # 3.13 without audioop-lts
            try:  # pydub with nothing done: its audioop import fails
                import pydub  # noqa: F401
            except ImportError as e:
                failed = str(e)
            else:
                raise AssertionError("pydub imported with no audioop to be found")
            for name in [m for m in sys.modules if m.startswith("pydub")]:
                del sys.modules[name]
        audiocore.audioop.install()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no ffmpeg; stdlib audioop's deprecation
        import pydub.utils
        from pydub import AudioSegment, effects, silence

    used = pydub.utils.audioop
    if mode == "install":
        assert used is audiocore.audioop, used
    else:
        assert used.__name__ == "audioop" and "site-packages" not in str(
            getattr(used, "__file__", "builtin")), used

    seg = AudioSegment(data=signal(48000, 1.0), sample_width=2, frame_rate=48000,
                       channels=2)
    mono = seg.set_channels(1)                       # tomono
    down = mono.set_frame_rate(16000)                # ratecv
    quiet = down.apply_gain(-7.5)                    # mul
    faded = quiet.fade_in(120).fade_out(200)         # mul, chunk by chunk
    mixed = faded.overlay(down.reverse(), position=250)  # add, reverse
    results = {
        "mono": mono, "down": down, "quiet": quiet, "faded": faded, "mixed": mixed,
        "stereo": mixed.set_channels(2),             # tostereo
        "u8": mixed.set_sample_width(1),             # lin2lin, bias
        "s32": mixed.set_sample_width(4),            # lin2lin
        "up": mixed.set_frame_rate(44100),           # ratecv, upwards
        "stereo_down": seg.set_frame_rate(22050),    # ratecv, two channels
        "normalized": effects.normalize(quiet),      # max
        "pan": mixed.pan(-0.4),                      # tostereo with factors
    }
    digest = {k: [len(v.raw_data), hashlib.sha256(v.raw_data).hexdigest()]
              for k, v in results.items()}
    digest["levels"] = [mixed.rms, mixed.max, round(mixed.dBFS, 9), down.max_possible_amplitude]
    digest["silence"] = silence.detect_silence(faded, min_silence_len=50, silence_thresh=-40)
    print(json.dumps({"digest": digest, "failed_without": failed}))


if __name__ == "__main__":
    main()
