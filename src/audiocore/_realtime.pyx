# cython: language_level=3
"""Native handles of the low-latency polyphase resampler."""
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.pythread cimport (PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_release_lock, PyThread_type_lock)
from libc.stdint cimport int16_t
from libc.string cimport memcpy

from audiocore._buffers cimport (NOGIL_MIN_BYTES, PyThreadState, get_out, get_pcm,
                                 lock_acquire, release_gil_if, restore_gil,
                                 stage_if_misaligned)
from audiocore._capi cimport (ac_rt, ac_rt_filter, ac_rt_filter_delay,
                              ac_rt_filter_exact, ac_rt_filter_free,
                              ac_rt_filter_macs, ac_rt_filter_new,
                              ac_rt_filter_phases, ac_rt_filter_stages,
                              ac_rt_filter_taps, ac_rt_flush, ac_rt_flush_input,
                              ac_rt_free, ac_rt_kernels, ac_rt_kernels_available,
                              ac_rt_kernels_fused, ac_rt_new, ac_rt_output_frames,
                              ac_rt_peak, ac_rt_process, ac_rt_reset,
                              ac_rt_use_kernels)


def kernels() -> str:
    """The build of the inner loops a new stream gets on this CPU: "avx512+fma",
    "avx2+fma" (both fuse multiply-adds and give identical output) or "portable"
    (multiply and add rounded separately: within 1 LSB of the fused builds)."""
    return (<bytes>ac_rt_kernels(NULL)).decode("ascii")


def available_kernels() -> tuple:
    """Every build this CPU can run, fastest first."""
    names = []
    cdef int i = 0
    cdef const char *name = ac_rt_kernels_available(0)
    while name != NULL:
        names.append((<bytes>name).decode("ascii"))
        i += 1
        name = ac_rt_kernels_available(i)
    return tuple(names)


def peak_multiply_adds(long reps) -> int:
    """Runs the kernels' floor loop reps times (GIL released) and returns the
    multiply-adds done: timed, it gives the most this machine does per second in a
    FIR's inner loop (one aligned input load per multiply-add, all in L1)."""
    if reps < 1:
        raise ValueError(f"reps must be at least 1, not {reps}")
    cdef double done
    with nogil:
        done = ac_rt_peak(reps)
    if done < 0:
        raise MemoryError()
    return <long long>done


def use_kernels(name) -> None:
    """Makes this extension's new streams use the named build (None: the fastest
    again). Every extension that builds realtime streams keeps its own choice: call
    :func:`audiocore.resampling.use_kernels`, which sets them all."""
    if name is None:
        ac_rt_use_kernels(NULL)
        return
    if not isinstance(name, str):
        raise TypeError(f"name must be a str or None, not {type(name).__name__}")
    if not ac_rt_use_kernels(name.encode("ascii", "replace")):
        raise ValueError(f"name={name!r} is not a kernel build this CPU runs; "
                         f"available: {', '.join(available_kernels())}")


cdef class FilterBank:
    """One designed polyphase filter (read-only, shared by many streams)."""

    def __cinit__(self, int in_rate, int out_rate, double atten_db, double pass_frac):
        cdef const char *err = NULL
        self._f = ac_rt_filter_new(in_rate, out_rate, atten_db, pass_frac, &err)
        if self._f == NULL:
            if err == NULL:
                raise MemoryError()
            raise ValueError(f"cannot build a realtime filter for {in_rate} -> "
                             f"{out_rate} Hz: {(<bytes>err).decode('ascii')}")
        self.in_rate = in_rate
        self.out_rate = out_rate

    def __dealloc__(self):
        if self._f != NULL:
            ac_rt_filter_free(self._f)

    @property
    def delay(self) -> float:
        """Group delay in seconds."""
        return ac_rt_filter_delay(self._f)

    @property
    def taps(self) -> int:
        """Input samples weighed for each output sample."""
        return ac_rt_filter_taps(self._f)

    @property
    def phases(self) -> int:
        return ac_rt_filter_phases(self._f)

    @property
    def stages(self) -> int:
        """1, or 2 when an integer ratio of 4 or more is split (e.g. 48k->16k->8k)."""
        return ac_rt_filter_stages(self._f)

    @property
    def exact(self) -> bool:
        """True when every output position has its own phase (no interpolation)."""
        return bool(ac_rt_filter_exact(self._f))

    @property
    def macs_per_input(self) -> float:
        """Multiply-adds the kernels perform per input sample of one channel, padding
        included (the figure ``audiocore bench`` divides by the machine's rate)."""
        return ac_rt_filter_macs(self._f)


cdef class RealtimeStream:
    """Native handle; use :class:`audiocore.Resampler`, which validates arguments."""

    cdef ac_rt *_s
    cdef FilterBank _bank  # keeps the coefficients alive while the stream uses them
    cdef PyThread_type_lock _lock
    cdef int _channels
    cdef bint _flushed

    def __cinit__(self, FilterBank bank not None, int channels):
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError()
        self._bank = bank
        self._s = ac_rt_new(bank._f, channels)
        if self._s == NULL:
            raise MemoryError()
        self._channels = channels

    def __dealloc__(self):
        if self._s != NULL:
            ac_rt_free(self._s)
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    cdef object _run(self, const int16_t *inp, size_t frames, bint flush, object out):
        cdef Py_buffer dst
        cdef char *d
        cdef size_t n_out, got
        cdef Py_ssize_t nbytes
        cdef PyThreadState *ts
        stage = None
        n_out = ac_rt_output_frames(self._s, ac_rt_flush_input(self._s) if flush else frames)
        nbytes = <Py_ssize_t>(n_out * self._channels * 2)
        if out is None:
            result = PyBytes_FromStringAndSize(NULL, nbytes)
            d = PyBytes_AS_STRING(result)
        else:
            get_out(out, &dst, nbytes)
            stage = stage_if_misaligned(&dst, nbytes)
            d = <char *>dst.buf if stage is None else PyBytes_AS_STRING(stage)
            result = nbytes
        ts = release_gil_if(flush or frames * self._channels * 2 >= NOGIL_MIN_BYTES)
        if flush:
            got = ac_rt_flush(self._s, <int16_t *>d)
        else:
            got = ac_rt_process(self._s, inp, frames, <int16_t *>d)
        restore_gil(ts)
        if out is not None:
            if stage is not None:
                memcpy(dst.buf, d, <size_t>nbytes)
            PyBuffer_Release(&dst)
        assert got == n_out
        return result

    def process(self, pcm, out=None):
        cdef Py_buffer src
        get_pcm(pcm, &src, "pcm", self._channels)
        lock_acquire(self._lock)
        try:
            if self._flushed:
                raise RuntimeError("Resampler was flushed: call reset() to start a new stream")
            return self._run(<const int16_t *>src.buf,
                             <size_t>src.len // (2 * self._channels), False, out)
        finally:
            PyThread_release_lock(self._lock)
            PyBuffer_Release(&src)

    def flush(self):
        lock_acquire(self._lock)
        try:
            if self._flushed:
                return b""
            self._flushed = True
            return self._run(NULL, 0, True, None)
        finally:
            PyThread_release_lock(self._lock)

    def max_output(self, Py_ssize_t nbytes):
        """Bytes the next process() of nbytes input bytes writes."""
        lock_acquire(self._lock)
        try:
            return <Py_ssize_t>(ac_rt_output_frames(
                self._s, <size_t>nbytes // (2 * self._channels)) * self._channels * 2)
        finally:
            PyThread_release_lock(self._lock)

    def reset(self):
        lock_acquire(self._lock)
        try:
            ac_rt_reset(self._s)
            self._flushed = False
        finally:
            PyThread_release_lock(self._lock)

    @property
    def delay(self) -> float:
        """Group delay in seconds: the only delay, nothing is held back."""
        return self._bank.delay

    @property
    def kernels(self) -> str:
        """The build of the inner loops this stream runs (see :func:`kernels`)."""
        return (<bytes>ac_rt_kernels(self._s)).decode("ascii")

    @property
    def fused(self) -> bool:
        """True when this stream's kernels fuse multiply-adds."""
        return bool(ac_rt_kernels_fused(self._s))
