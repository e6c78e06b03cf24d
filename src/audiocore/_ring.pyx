# cython: language_level=3
"""FrameRing: a native byte ring buffer that hands out fixed-size frames."""
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.pythread cimport (PyThread_allocate_lock, PyThread_free_lock,
                               PyThread_release_lock, PyThread_type_lock)
from libc.stdint cimport uint8_t
from libc.string cimport memset

from audiocore._buffers cimport (NOGIL_MIN_BYTES, PyThreadState, release_gil_if,
                                 restore_gil, get_bytes, lock_acquire)
from audiocore._capi cimport (ac_ring, ac_ring_available, ac_ring_capacity,
                              ac_ring_clear, ac_ring_frame_bytes, ac_ring_free,
                              ac_ring_new, ac_ring_read, ac_ring_write,
                              ac_ring_write_drop_oldest)


cdef int _check_size(object value, str name) except -1:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive number of bytes, got {value}")
    return 0


cdef class FrameRing:
    """A ring buffer of bytes, read back in fixed frames of ``frame_bytes``.

    ``write(data)`` appends any number of bytes. When they do not fit in
    ``capacity_bytes``: with ``overflow="error"`` (default) it raises
    ``OverflowError`` and writes nothing; with ``overflow="drop_oldest"`` it drops
    the oldest whole frames to make room (frame boundaries are kept) and counts them
    in :attr:`dropped`.

    Safe to share between threads: every operation holds the ring's lock.
    """

    cdef ac_ring *_ring
    cdef PyThread_type_lock _lock
    cdef bint _drop_oldest
    cdef Py_ssize_t _frame
    cdef unsigned long long _dropped

    def __cinit__(self, frame_bytes, capacity_bytes, *, overflow="error"):
        _check_size(frame_bytes, "frame_bytes")
        _check_size(capacity_bytes, "capacity_bytes")
        if capacity_bytes < frame_bytes:
            raise ValueError(f"capacity_bytes ({capacity_bytes}) must hold at least one "
                             f"frame of frame_bytes ({frame_bytes})")
        if overflow not in ("error", "drop_oldest"):
            raise ValueError(f"overflow must be 'error' or 'drop_oldest', got {overflow!r}")
        self._drop_oldest = overflow == "drop_oldest"
        self._frame = frame_bytes
        self._lock = PyThread_allocate_lock()
        if self._lock == NULL:
            raise MemoryError()
        self._ring = ac_ring_new(<size_t>frame_bytes, <size_t>capacity_bytes)
        if self._ring == NULL:
            raise MemoryError(f"cannot allocate a ring of {capacity_bytes} bytes")

    def __dealloc__(self):
        if self._ring != NULL:
            ac_ring_free(self._ring)
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    @property
    def frame_bytes(self) -> int:
        """Bytes in one frame, as returned by :meth:`read`."""
        return self._frame

    @property
    def capacity_bytes(self) -> int:
        """Most bytes the ring holds."""
        return ac_ring_capacity(self._ring)

    @property
    def overflow(self) -> str:
        """What :meth:`write` does when data does not fit: 'error' or 'drop_oldest'."""
        return "drop_oldest" if self._drop_oldest else "error"

    cdef size_t _available(self) noexcept:
        # Under the lock: a write or read may be running without the GIL.
        cdef size_t n
        lock_acquire(self._lock)
        n = ac_ring_available(self._ring)
        PyThread_release_lock(self._lock)
        return n

    @property
    def available(self) -> int:
        """Bytes buffered now."""
        return self._available()

    @property
    def dropped(self) -> int:
        """Total bytes dropped by ``overflow="drop_oldest"`` since creation."""
        return self._dropped

    def __len__(self):
        return self._available()

    def write(self, data) -> int:
        """Append all of ``data``; returns ``len(data)`` in bytes.

        Raises ``OverflowError`` (nothing written) when it does not fit and
        ``overflow="error"``.
        """
        cdef Py_buffer src
        cdef PyThreadState *ts
        cdef size_t dropped = 0
        cdef int ok = 1
        get_bytes(data, &src, "data", True)
        lock_acquire(self._lock)
        try:
            ts = release_gil_if(src.len >= NOGIL_MIN_BYTES)
            if self._drop_oldest:
                dropped = ac_ring_write_drop_oldest(
                    self._ring, <const uint8_t *>src.buf, <size_t>src.len)
            else:
                ok = ac_ring_write(self._ring, <const uint8_t *>src.buf, <size_t>src.len)
            restore_gil(ts)
            self._dropped += dropped
            if not ok:
                raise OverflowError(
                    f"FrameRing is full: {src.len} bytes do not fit "
                    f"({ac_ring_available(self._ring)} of {ac_ring_capacity(self._ring)} "
                    f"bytes in use); read or clear() first, or use overflow='drop_oldest'")
            return src.len
        finally:
            PyThread_release_lock(self._lock)
            PyBuffer_Release(&src)

    def read(self):
        """Remove and return exactly one frame, or ``None`` if less than a frame is
        buffered."""
        cdef char *d
        cdef PyThreadState *ts
        lock_acquire(self._lock)
        try:
            if <Py_ssize_t>ac_ring_available(self._ring) < self._frame:
                return None
            out = PyBytes_FromStringAndSize(NULL, self._frame)
            d = PyBytes_AS_STRING(out)
            ts = release_gil_if(self._frame >= NOGIL_MIN_BYTES)
            ac_ring_read(self._ring, <uint8_t *>d, <size_t>self._frame)
            restore_gil(ts)
            return out
        finally:
            PyThread_release_lock(self._lock)

    def read_partial(self, fill=0):
        """Remove and return one frame even when less is buffered: the buffered bytes
        followed by ``fill`` bytes (0 by default; use 0xFF for mu-law silence, 0xD5
        for A-law) up to ``frame_bytes``. Returns ``b""`` when the ring is empty."""
        cdef char *d
        cdef size_t got
        cdef int byte
        cdef PyThreadState *ts
        if isinstance(fill, bool) or not isinstance(fill, int):
            raise TypeError(f"fill must be an int byte value 0..255, not {type(fill).__name__}")
        if not 0 <= fill <= 255:
            raise ValueError(f"fill must be a byte value 0..255, got {fill}")
        byte = fill
        lock_acquire(self._lock)
        try:
            if ac_ring_available(self._ring) == 0:
                return b""
            out = PyBytes_FromStringAndSize(NULL, self._frame)
            d = PyBytes_AS_STRING(out)
            ts = release_gil_if(self._frame >= NOGIL_MIN_BYTES)
            got = ac_ring_read(self._ring, <uint8_t *>d, <size_t>self._frame)
            memset(d + got, byte, <size_t>self._frame - got)
            restore_gil(ts)
            return out
        finally:
            PyThread_release_lock(self._lock)

    def clear(self) -> int:
        """Drop everything buffered; returns the number of bytes dropped."""
        lock_acquire(self._lock)
        try:
            return ac_ring_clear(self._ring)
        finally:
            PyThread_release_lock(self._lock)

    def __repr__(self):
        return (f"FrameRing(frame_bytes={self._frame}, "
                f"capacity_bytes={ac_ring_capacity(self._ring)}, "
                f"overflow={self.overflow!r}, available={self._available()})")
