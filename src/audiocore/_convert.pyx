# cython: language_level=3
"""Native handle of the fused conversion chain."""
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.pythread cimport (PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_release_lock, PyThread_type_lock)
from libc.stdint cimport uint8_t
from libc.string cimport memcpy

from audiocore._buffers cimport (NOGIL_MIN_BYTES, PyThreadState, get_bytes,
                                 get_out, get_pcm, lock_acquire, release_gil_if,
                                 restore_gil)
from audiocore._capi cimport (AC_ALAW, AC_MULAW, AC_PCM16, ac_conv, ac_conv_free,
                              ac_conv_new, ac_conv_max_output, ac_conv_pending, ac_conv_process, ac_conv_reset, ac_rt,
                              ac_rt_free, ac_rt_kernels, ac_rt_new, ac_rt_use_kernels, ac_soxr, ac_soxr_free,
                              ac_soxr_new)
from audiocore._realtime cimport FilterBank
from audiocore._soxr import RECIPES

ENCODINGS = {"pcm16": AC_PCM16, "mulaw": AC_MULAW, "alaw": AC_ALAW}


def use_kernels(name) -> None:
    """This extension's own copy of the realtime kernel choice: every extension that
    builds realtime streams links the kernels, with their selection state, so
    :func:`audiocore.resampling.use_kernels` sets it here and in ``_realtime``."""
    if name is None:
        ac_rt_use_kernels(NULL)
    elif not ac_rt_use_kernels(name.encode("ascii", "replace")):
        raise ValueError(f"name={name!r} is not a kernel build this CPU runs")


cdef class ConverterHandle:
    """Native handle; use :class:`audiocore.Converter`, which validates arguments."""

    cdef ac_conv *_c
    cdef FilterBank _bank  # the realtime stream inside _c points into its coefficients
    cdef PyThread_type_lock _lock
    cdef int _in_frame      # bytes per input frame
    cdef bint _pcm_in
    cdef bint _flushed
    cdef readonly object kernels  # the realtime stream's kernel build, or None

    def __cinit__(self, str in_encoding, int in_channels, str out_encoding,
                  int out_channels, FilterBank bank=None, soxr_rates=None,
                  str quality="high"):
        cdef ac_rt *rt = NULL
        cdef ac_soxr *sx = NULL
        cdef const char *err = NULL
        # Equal counts go through the resampler channel by channel; otherwise
        # the chain downmixes before it or upmixes after it.
        cdef int rch = in_channels if in_channels == out_channels else 1
        if in_channels != out_channels and in_channels != 1 and out_channels != 1:
            raise ValueError(f"cannot convert {in_channels} channels to {out_channels}: "
                             f"channel counts must be equal, or one of them 1")
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError()
        if bank is not None:
            rt = ac_rt_new(bank._f, rch)
            if rt == NULL:
                raise MemoryError()
            self._bank = bank
            self.kernels = (<bytes>ac_rt_kernels(rt)).decode("ascii")
        elif soxr_rates is not None:
            sx = ac_soxr_new(soxr_rates[0], soxr_rates[1], <unsigned>rch, RECIPES[quality],
                             &err)
            if sx == NULL:
                raise ValueError(f"libsoxr rejected the configuration: "
                                 f"{(<bytes>err).decode('utf-8', 'replace')}")
        self._c = ac_conv_new(ENCODINGS[in_encoding], in_channels,
                              ENCODINGS[out_encoding], out_channels, rt, sx)
        if self._c == NULL:
            ac_rt_free(rt)
            ac_soxr_free(sx)
            raise MemoryError()
        self._pcm_in = in_encoding == "pcm16"
        self._in_frame = in_channels * (2 if self._pcm_in else 1)

    def __dealloc__(self):
        if self._c != NULL:
            ac_conv_free(self._c)
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    cdef object _run(self, const uint8_t *inp, size_t nbytes, bint flush, object out):
        cdef const uint8_t *res = NULL
        cdef const char *err = NULL
        cdef size_t got
        cdef Py_buffer dst
        cdef PyThreadState *ts
        if out is not None:
            # Checked against the worst case before any state changes, so a small
            # `out` never loses audio.
            get_out(out, &dst, <Py_ssize_t>ac_conv_max_output(self._c, nbytes, flush))
            PyBuffer_Release(&dst)
        ts = release_gil_if(flush or nbytes >= NOGIL_MIN_BYTES)
        got = ac_conv_process(self._c, inp, nbytes, flush, &res, &err)
        restore_gil(ts)
        if got == <size_t>-1:
            if err != NULL and err.startswith(b"out of memory"):
                raise MemoryError()
            raise RuntimeError(f"conversion failed: {(<bytes>err).decode('utf-8', 'replace')}")
        if out is None:
            return PyBytes_FromStringAndSize(<const char *>res, <Py_ssize_t>got)
        get_out(out, &dst, <Py_ssize_t>got)
        memcpy(dst.buf, res, got)
        PyBuffer_Release(&dst)
        return <Py_ssize_t>got

    def process(self, data, out=None):
        cdef Py_buffer src
        if self._pcm_in:
            get_pcm(data, &src, "data", self._in_frame // 2)
        else:
            get_bytes(data, &src, "data")
            if src.len % self._in_frame:
                n = src.len
                PyBuffer_Release(&src)
                raise ValueError(f"data must hold whole frames of {self._in_frame} "
                                 f"channel bytes: got {n} bytes")
        lock_acquire(self._lock)
        try:
            if self._flushed:
                raise RuntimeError("Converter was flushed: call reset() to start a new stream")
            return self._run(<const uint8_t *>src.buf, <size_t>src.len, False, out)
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
        """Most bytes the next process() of nbytes input bytes may write."""
        lock_acquire(self._lock)
        try:
            return <Py_ssize_t>ac_conv_max_output(self._c, <size_t>nbytes, False)
        finally:
            PyThread_release_lock(self._lock)

    @property
    def pending_frames(self) -> float:
        """Output frames a soxr engine holds back now (0 otherwise)."""
        cdef double d
        # Under the lock: process() may be running without the GIL.
        lock_acquire(self._lock)
        d = ac_conv_pending(self._c)
        PyThread_release_lock(self._lock)
        return max(0.0, d)

    def reset(self):
        lock_acquire(self._lock)
        try:
            ac_conv_reset(self._c)
            self._flushed = False
        finally:
            PyThread_release_lock(self._lock)
