"""Threads: shared FrameRing / Resampler never corrupt data, and every native loop on a
large input releases the GIL."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pytest
import signals as S

import audiocore
from audiocore import FrameRing, Resampler


def run_threads(*targets, timeout: float = 60.0) -> None:
    """Start one thread per target, released together so their calls contend, join
    them all, re-raise the first error."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def wrap(fn):
        def run():
            try:
                start.wait()
                fn()
            except BaseException as e:  # noqa: BLE001  (reported below)
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(t), daemon=True) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "thread did not finish (deadlock?)"
    if errors:
        raise errors[0]


# ---- FrameRing ---------------------------------------------------------------------


def test_ring_single_writer_single_reader_conserves_bytes():
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 256, size=8 << 20, dtype=np.uint8).tobytes()
    frame = 4096
    ring = FrameRing(frame, 256 << 10)
    done = threading.Event()
    received: list[bytes] = []

    def writer():
        pos = 0
        sizes = rng.integers(8 << 10, 64 << 10, size=10_000)
        k = 0
        while pos < len(stream):
            n = int(sizes[k % len(sizes)])
            k += 1
            chunk = stream[pos:pos + n]
            while True:
                try:
                    assert ring.write(chunk) == len(chunk)
                    break
                except OverflowError:
                    time.sleep(0)  # full: let the reader catch up, then retry
            pos += len(chunk)
        done.set()

    def reader():
        while True:
            f = ring.read()
            if f is not None:
                assert len(f) == frame
                received.append(f)
            elif done.is_set() and ring.available < frame:
                break
            else:
                time.sleep(0)
        tail = ring.read_partial()
        received.append(tail[: len(stream) - sum(map(len, received))])

    run_threads(writer, reader)
    got = b"".join(received)
    assert len(got) == len(stream)
    assert got == stream
    assert ring.available == 0 and ring.dropped == 0


def test_ring_two_writers_whole_writes_in_order():
    chunk = 16 << 10  # above the no-GIL threshold: the copy runs without the GIL
    per_writer = 200
    ring = FrameRing(chunk, 8 * chunk)
    seen: list[bytes] = []
    writers_done = threading.Barrier(3)

    def make(writer_id: int, seq: int) -> bytes:
        return struct.pack("<II", writer_id, seq) * (chunk // 8)

    def writer(writer_id):
        def run():
            for seq in range(per_writer):
                data = make(writer_id, seq)
                while True:
                    try:
                        ring.write(data)
                        break
                    except OverflowError:
                        time.sleep(0)
            writers_done.wait()
        return run

    def reader():
        total = 2 * per_writer
        deadline = time.monotonic() + 60
        while len(seen) < total and time.monotonic() < deadline:
            f = ring.read()
            if f is None:
                time.sleep(0)
            else:
                seen.append(f)
        writers_done.wait()

    run_threads(writer(1), writer(2), reader)
    assert len(seen) == 2 * per_writer
    next_seq = {1: 0, 2: 0}
    for f in seen:
        # Each frame is exactly one write: a write is never split or interleaved.
        writer_id, seq = struct.unpack_from("<II", f)
        assert f == make(writer_id, seq)
        assert seq == next_seq[writer_id], "a writer's data came out of order"
        next_seq[writer_id] += 1
    assert next_seq == {1: per_writer, 2: per_writer}
    assert ring.available == 0


def test_ring_drop_oldest_under_contention_keeps_frames_whole_and_ordered():
    frame = 8
    total_frames = 400_000
    # Frame i holds i: every frame read can be placed in the written stream.
    stream = np.arange(total_frames, dtype="<u8").tobytes()
    ring = FrameRing(frame, 4096 * frame + 3, overflow="drop_oldest")
    done = threading.Event()
    got: list[int] = []

    def writer():
        pos = 0
        sizes = [8192, 12000, 20000, 9000, 65536]
        k = 0
        while pos < len(stream):
            n = sizes[k % len(sizes)]
            k += 1
            piece = stream[pos:pos + n]
            assert ring.write(piece) == len(piece)
            pos += len(piece)
        done.set()

    def reader():
        while not (done.is_set() and ring.available < frame):
            f = ring.read()
            if f is None:
                time.sleep(0)
                continue
            got.append(struct.unpack("<Q", f)[0])

    run_threads(writer, reader)
    assert all(a < b for a, b in zip(got, got[1:])), "frames out of order or repeated"
    leftover = ring.available
    # Every frame was either read, dropped, or is still buffered: none lost or made up.
    assert len(got) * frame + ring.dropped + leftover == len(stream)
    assert ring.dropped % frame == 0


# ---- Resampler ------------------------------------------------------------------------


def test_shared_resampler_two_threads_same_outputs_as_serial():
    chunk = S.speech_like(48000, 0.1, seed=4).tobytes()  # 9600 bytes: runs without GIL
    calls = 60

    serial = Resampler(48000, 16000)
    serial_out = [serial.process(chunk) for _ in range(2 * calls)] + [serial.flush()]

    shared = Resampler(48000, 16000)
    outs: dict[int, list[bytes]] = {0: [], 1: []}

    def worker(i):
        def run():
            for _ in range(calls):
                outs[i].append(shared.process(chunk))
        return run

    run_threads(worker(0), worker(1))
    threaded = outs[0] + outs[1] + [shared.flush()]
    # Calls are serialised, so whatever the interleaving the k-th call overall sees
    # the same stream state as the k-th serial call.
    assert sum(map(len, threaded)) == sum(map(len, serial_out))
    assert Counter(threaded) == Counter(serial_out)


_CHAOS = """
import random, threading, time, sys
import numpy as np
import audiocore
from audiocore import FrameRing, Resampler

stop = time.monotonic() + {seconds}
res = Resampler(44100, 16000, 2, quality="very_high")
ring = FrameRing(4096, 1 << 16, overflow="drop_oldest")
big = (np.random.default_rng(1).standard_normal(2 * 44100) * 8000).astype(np.int16)
errors = []

def guard(fn):
    def run():
        rnd = random.Random(id(fn))
        try:
            while time.monotonic() < stop:
                fn(rnd)
        except Exception as e:
            errors.append(repr(e))
    return run

def resampler_user(rnd):
    n = rnd.choice([1, 100, 4410, 44100])
    try:
        res.process(big[: 2 * n])
    except RuntimeError:
        pass  # flushed by another thread; the next reset() reopens it
    d = res.delay
    assert d >= 0, d

def resampler_admin(rnd):
    op = rnd.random()
    if op < 0.3:
        res.flush()
    elif op < 0.7:
        res.reset()
    else:
        assert res.delay >= 0

def ring_writer(rnd):
    ring.write(big[: rnd.choice([1, 1000, 8192, 40000])].tobytes())

def ring_reader(rnd):
    op = rnd.random()
    if op < 0.6:
        f = ring.read()
        assert f is None or len(f) == 4096
    elif op < 0.9:
        f = ring.read_partial(fill=rnd.randrange(256))
        assert len(f) in (0, 4096)
    else:
        ring.clear()
    assert 0 <= ring.available <= ring.capacity_bytes

threads = [threading.Thread(target=guard(f)) for f in
           (resampler_user, resampler_user, resampler_admin, ring_writer, ring_writer,
            ring_reader)]
for t in threads: t.start()
for t in threads: t.join()
print("errors", errors)
sys.exit(1 if errors else 0)
"""


def test_chaos_shared_objects_do_not_crash():
    # Every operation from several threads at once, in a child interpreter so that a
    # memory error shows as a failed test.
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHAOS.format(seconds=3))],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode >= 0, f"killed by signal {-proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]


# ---- GIL release ----------------------------------------------------------------------


@contextmanager
def gil_probe():
    """Yields a function that runs a call and reports whether another Python thread
    ran during it.

    The switch interval is raised so that this thread is never forced to hand over
    the GIL: the counting thread can only run while the call under test has released
    it. The counter hands the GIL straight back after each step (sleep(0)).
    """
    state = {"n": 0, "stop": False}

    def count():
        while not state["stop"]:
            state["n"] += 1
            time.sleep(0)

    old = sys.getswitchinterval()
    t = threading.Thread(target=count, daemon=True)
    t.start()
    while state["n"] == 0:
        time.sleep(0.001)
    sys.setswitchinterval(30.0)

    def ran_during(call, attempts: int = 5, setup=None) -> bool:
        for _ in range(attempts):
            if setup is not None:
                setup()
            time.sleep(0.002)  # let the counter reach its sleep(0), waiting for the GIL
            before = state["n"]
            call()
            if state["n"] != before:
                return True
        return False

    try:
        yield ran_during
    finally:
        sys.setswitchinterval(old)
        state["stop"] = True
        t.join(5)


def _busy_python(ms: float) -> None:
    end = time.perf_counter() + ms / 1000
    x = 0
    while time.perf_counter() < end:
        x += 1


def test_gil_probe_sees_a_call_that_keeps_the_gil():
    # Control: pure Python never releases the GIL, and the probe must say so, or the
    # tests below could pass without anything being released.
    with gil_probe() as ran_during:
        assert not ran_during(lambda: _busy_python(30))
        assert ran_during(lambda: time.sleep(0.03))


MB = 1 << 20
_PCM = np.random.default_rng(5).integers(-32768, 32768, size=16 * MB, dtype=np.int16)
_PCM_BYTES = _PCM.tobytes()  # 32 MiB
_CODES = _PCM_BYTES[: 16 * MB]

GIL_CALLS = {
    "ulaw_encode": lambda: audiocore.ulaw_encode(_PCM_BYTES),
    "alaw_encode": lambda: audiocore.alaw_encode(_PCM_BYTES),
    "ulaw_decode": lambda: audiocore.ulaw_decode(_CODES),
    "alaw_decode": lambda: audiocore.alaw_decode(_CODES),
    "downmix-2": lambda: audiocore.downmix(_PCM_BYTES, 2),
    "downmix-6": lambda: audiocore.downmix(_PCM_BYTES[: 24 * MB], 6),
    "upmix-2": lambda: audiocore.upmix(_PCM_BYTES[: 16 * MB], 2),
    "mix-3": lambda: audiocore.mix(_CODES, _CODES, _CODES),
}


@pytest.mark.parametrize("name", list(GIL_CALLS))
def test_kernels_release_gil(name):
    with gil_probe() as ran_during:
        assert ran_during(GIL_CALLS[name]), f"{name} held the GIL for the whole call"


def test_kernel_out_path_releases_gil():
    out = bytearray(len(_PCM_BYTES) // 2)
    with gil_probe() as ran_during:
        assert ran_during(lambda: audiocore.ulaw_encode(_PCM_BYTES, out=out))


def test_resampler_releases_gil():
    x = S.to_int16(np.random.default_rng(2).standard_normal(48000 * 20) * 6000).tobytes()
    with gil_probe() as ran_during:
        assert ran_during(lambda: Resampler(48000, 16000, quality="very_high").process(x))
        assert ran_during(lambda: audiocore.resample(x, 48000, 16000, quality="very_high"))


def test_ring_write_and_read_release_gil():
    frame = 32 * MB
    with gil_probe() as ran_during:
        ring = FrameRing(frame, frame)
        assert ran_during(lambda: ring.write(_PCM_BYTES))
        assert ran_during(lambda: ring.read())


def test_ring_read_partial_releases_gil():
    frame = 32 * MB
    ring = FrameRing(frame, frame)

    def refill():
        ring.clear()
        ring.write(_PCM_BYTES[:-1])  # one byte short of a frame: read() would give None

    with gil_probe() as ran_during:
        assert ran_during(ring.read_partial, setup=refill), \
            "read_partial copied a 32 MiB frame without releasing the GIL"
