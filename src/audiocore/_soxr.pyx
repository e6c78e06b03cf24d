# cython: language_level=3
"""SoxrStream: one libsoxr resampler handle, int16 in and out, deterministic."""
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.pythread cimport (PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_release_lock, PyThread_type_lock)
from libc.stdint cimport int16_t
from libc.string cimport memcpy

from audiocore._buffers cimport (NOGIL_MIN_BYTES, PyThreadState, get_out, get_pcm,
                                 lock_acquire, release_gil_if, restore_gil)
from audiocore._capi cimport (SOXR_HQ, SOXR_LQ, SOXR_MQ, SOXR_QQ, SOXR_VHQ,
                              ac_soxr, ac_soxr_clear, ac_soxr_delay,
                              ac_soxr_free, ac_soxr_max_output, ac_soxr_new,
                              ac_soxr_process,
                              ac_soxr_version)

RECIPES = {
    "quick": SOXR_QQ,
    "low": SOXR_LQ,
    "medium": SOXR_MQ,
    "high": SOXR_HQ,
    "very_high": SOXR_VHQ,
}

LIBSOXR_VERSION = (<bytes>ac_soxr_version()).decode("ascii")


cdef class SoxrStream:
    """Native handle; use :class:`audiocore.Resampler`, which validates arguments."""

    cdef ac_soxr *_s
    cdef PyThread_type_lock _lock
    cdef int _channels
    cdef double _out_rate
    cdef bint _flushed

    def __cinit__(self, double in_rate, double out_rate, int channels, str quality):
        cdef const char *err = NULL
        # The Python front validates too; these keep the handle itself safe
        # (cdivision is on, and libsoxr hangs on NaN rates).
        if channels < 1:
            raise ValueError(f"channels must be at least 1, got {channels}")
        if not (0.0 < in_rate < 1e9) or not (0.0 < out_rate < 1e9):
            raise ValueError(f"rates must be finite and positive: {in_rate}, {out_rate}")
        if quality not in RECIPES:
            raise ValueError(f"unknown quality {quality!r}")
        recipe = RECIPES[quality]
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError()
        self._s = ac_soxr_new(in_rate, out_rate, <unsigned>channels, recipe, &err)
        if self._s == NULL:
            raise ValueError(f"libsoxr rejected the configuration: "
                             f"{(<bytes>err).decode('utf-8', 'replace')}")
        self._channels = channels
        self._out_rate = out_rate

    def __dealloc__(self):
        if self._s != NULL:
            ac_soxr_free(self._s)
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    def process(self, pcm, out=None):
        cdef Py_buffer src, dst
        cdef bint have_out = False
        cdef Py_ssize_t nbytes
        cdef PyThreadState *ts
        cdef const int16_t *res = NULL
        cdef const char *err = NULL
        cdef size_t frames, got
        get_pcm(pcm, &src, "pcm", self._channels)
        frames = <size_t>src.len // (2 * self._channels)
        lock_acquire(self._lock)
        try:
            if self._flushed:
                raise RuntimeError("Resampler was flushed: call reset() to start a new stream")
            if out is not None:
                # Checked against the worst case before any state changes, so a
                # small `out` never loses audio.
                get_out(out, &dst, <Py_ssize_t>(ac_soxr_max_output(self._s, frames)
                                                * self._channels * 2))
                have_out = True
            ts = release_gil_if(src.len >= NOGIL_MIN_BYTES)
            got = ac_soxr_process(self._s, <const int16_t *>src.buf, frames, 0, &res, &err)
            restore_gil(ts)
            if got == <size_t>-1:
                raise RuntimeError(f"libsoxr failed: {(<bytes>err).decode('utf-8', 'replace')}")
            nbytes = <Py_ssize_t>(got * self._channels * 2)
            if not have_out:
                return PyBytes_FromStringAndSize(<const char *>res, nbytes)
            memcpy(dst.buf, res, nbytes)
            return nbytes
        finally:
            if have_out:
                PyBuffer_Release(&dst)
            PyThread_release_lock(self._lock)
            PyBuffer_Release(&src)

    def max_output(self, Py_ssize_t nbytes):
        """Most bytes the next process() of nbytes input bytes may write."""
        lock_acquire(self._lock)
        try:
            return <Py_ssize_t>(ac_soxr_max_output(
                self._s, <size_t>nbytes // (2 * self._channels)) * self._channels * 2)
        finally:
            PyThread_release_lock(self._lock)

    def flush(self):
        cdef const int16_t *res = NULL
        cdef const char *err = NULL
        cdef size_t got
        lock_acquire(self._lock)
        try:
            if self._flushed:
                return b""
            with nogil:
                got = ac_soxr_process(self._s, NULL, 0, 1, &res, &err)
            if got == <size_t>-1:
                raise RuntimeError(f"libsoxr failed: {(<bytes>err).decode('utf-8', 'replace')}")
            self._flushed = True
            return PyBytes_FromStringAndSize(<const char *>res,
                                             <Py_ssize_t>(got * self._channels * 2))
        finally:
            PyThread_release_lock(self._lock)

    def reset(self):
        lock_acquire(self._lock)
        try:
            if not ac_soxr_clear(self._s):
                raise RuntimeError("libsoxr could not reset the stream")
            self._flushed = False
        finally:
            PyThread_release_lock(self._lock)

    @property
    def delay(self) -> float:
        """Seconds of output held back inside libsoxr."""
        cdef double d
        # Under the lock: process() may be inside libsoxr without the GIL.
        lock_acquire(self._lock)
        d = ac_soxr_delay(self._s)
        PyThread_release_lock(self._lock)
        # libsoxr's count can dip a hair below zero from float rounding.
        return max(0.0, d) / self._out_rate
