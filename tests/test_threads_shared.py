"""Two to eight threads sharing one Resampler, Converter or FrameRing: every call is
atomic and the stream is the serial stream of the calls in some order that keeps
each thread's own order: no audio lost, duplicated, torn or reordered.

How the order is recovered for the resamplers: at an integer ratio with chunks a
whole number of periods long and longer than the filter, a call's output depends
only on its own chunk and the chunk processed just before it. Each chunk is random
and distinct, so the output of every call names its predecessor; the interleaving
is rebuilt by taking, at each step, the one thread whose next chunk gives exactly
the output observed.
"""

from __future__ import annotations

import struct
import threading
import time
from typing import Any, Callable

import numpy as np
import pytest

from audiocore import Converter, FrameRing, Resampler
from test_threads import run_threads

CALLS = 12


def shared_stream_check(make: Callable[[], Any], chunk_bytes: int, threads: int) -> None:
    rng = np.random.default_rng(threads)
    chunks = [[rng.integers(-20000, 20000, chunk_bytes // 2, dtype=np.int16).tobytes()
               for _ in range(CALLS)] for _ in range(threads)]
    shared = make()
    outs: list[list[bytes]] = [[] for _ in range(threads)]

    def worker(i: int) -> Callable[[], None]:
        def run() -> None:
            for c in chunks[i]:
                outs[i].append(shared.process(c))
        return run

    run_threads(*[worker(i) for i in range(threads)], timeout=120.0)

    def after(prev: bytes | None, chunk: bytes) -> bytes:
        s = make()
        if prev is not None:
            s.process(prev)
        return s.process(chunk)

    pos = [0] * threads
    prev: bytes | None = None
    for step in range(threads * CALLS):
        matches = [i for i in range(threads) if pos[i] < CALLS
                   and after(prev, chunks[i][pos[i]]) == outs[i][pos[i]]]
        assert len(matches) == 1, (
            f"call {step}: {len(matches)} threads' next calls fit the output "
            f"(0: audio lost, torn or reordered)")
        i = matches[0]
        prev = chunks[i][pos[i]]
        pos[i] += 1
    assert pos == [CALLS] * threads


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_shared_realtime_resampler(threads):
    # 4800 samples (100 ms): a whole number of 3:1 periods, far longer than the
    # filter, and above the size at which process() runs without the GIL.
    shared_stream_check(lambda: Resampler(48000, 16000), 9600, threads)


@pytest.mark.parametrize("threads", [2, 4, 8])
def test_shared_converter(threads):
    # Stereo 48 kHz to mono 16 kHz, 2400 frames per call.
    shared_stream_check(lambda: Converter(48000, 2, 16000, 1), 9600, threads)


def test_the_order_check_sees_a_swap():
    # The check itself: two calls swapped relative to the serial stream do not fit.
    rng = np.random.default_rng(0)
    a, b, c = (rng.integers(-20000, 20000, 4800, dtype=np.int16).tobytes() for _ in "abc")
    r = Resampler(48000, 16000)
    serial_c = (r.process(a), r.process(b), r.process(c))[2]
    r = Resampler(48000, 16000)
    swapped_c = (r.process(b), r.process(a), r.process(c))[2]
    assert serial_c != swapped_c
    # ... and the predecessor alone decides a call's output, as the check assumes.
    for prev, want in ((b, serial_c), (a, swapped_c)):
        r = Resampler(48000, 16000)
        r.process(prev)
        assert r.process(c) == want


@pytest.mark.parametrize("engine", ["soxr", "realtime"])
@pytest.mark.parametrize("threads", [2, 8])
def test_shared_resampler_same_chunks_as_serial(engine, threads):
    # soxr holds audio back over many calls, so order cannot be rebuilt; with the
    # same chunk on every call, the k-th call overall must still see the k-th
    # serial state, whichever thread makes it.
    chunk = np.random.default_rng(5).integers(-20000, 20000, 4410 * 2,
                                              dtype=np.int16).tobytes()
    serial = Resampler(44100, 16000, 2, engine=engine)
    want = sorted(serial.process(chunk) for _ in range(threads * CALLS))
    want_tail = serial.flush()
    shared = Resampler(44100, 16000, 2, engine=engine)
    outs: list[bytes] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(CALLS):
            out = shared.process(chunk)
            with lock:
                outs.append(out)

    run_threads(*[worker] * threads, timeout=120.0)
    assert sorted(outs) == want
    assert shared.flush() == want_tail


@pytest.mark.parametrize("writers", [2, 4, 7])
def test_shared_ring_writers_and_reader(writers):
    frame = 16 << 10  # above the no-GIL size: copies run without the GIL
    per_writer = 40
    ring = FrameRing(frame, 4 * frame)
    seen: list[bytes] = []
    done = threading.Event()

    def make(w: int, seq: int) -> bytes:
        return struct.pack("<II", w, seq) * (frame // 8)

    def writer(w: int) -> Callable[[], None]:
        def run() -> None:
            for seq in range(per_writer):
                while True:
                    try:
                        ring.write(make(w, seq))
                        break
                    except OverflowError:
                        time.sleep(0)
        return run

    def reader() -> None:
        deadline = time.monotonic() + 100
        while len(seen) < writers * per_writer and time.monotonic() < deadline:
            f = ring.read()
            if f is None:
                time.sleep(0)
            else:
                seen.append(f)
        done.set()

    run_threads(*[writer(w) for w in range(writers)], reader, timeout=120.0)
    assert done.is_set() and len(seen) == writers * per_writer
    next_seq = [0] * writers
    for f in seen:
        w, seq = struct.unpack_from("<II", f)
        assert f == make(w, seq), "a frame mixes two writes"
        assert seq == next_seq[w], "a writer's frames came out of order"
        next_seq[w] += 1
    assert ring.available == 0
