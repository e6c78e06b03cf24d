"""The benchmark harness behind ``audiocore bench``.

Per-frame costs of every kernel and chain on 20 ms frames of speech-like audio,
timed interleaved with the peers (audioop / audioop-lts, python-soxr, livekit's
``AudioResampler``, numpy) in the same process, judged against
``budgets.json`` (shipped in this package). Modules: ``signals`` (the audio), ``peers``
(what is installed), ``cases`` (what runs), ``timing`` (how it is timed),
``streams`` (held-back audio), ``stepping`` (the pacer without sleeping),
``budgets`` (verdicts), ``runner``, ``report``, ``plot``, ``command`` (the CLI).
"""
