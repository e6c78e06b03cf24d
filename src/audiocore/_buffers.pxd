# Inline helpers shared by the extension modules: buffer acquisition with clear
# errors, output allocation, and a per-object lock that never blocks with the GIL.
from cpython.buffer cimport (PyBUF_FORMAT, PyBUF_ND, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_CheckBuffer,
                             PyObject_GetBuffer)
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.pythread cimport (NOWAIT_LOCK, WAIT_LOCK, PyThread_acquire_lock,
                               PyThread_type_lock)
from libc.string cimport strcmp

# Below this many bytes a call finishes faster than a GIL hand-off costs, so the
# GIL is kept; above it every C loop runs without the GIL.
cdef enum:
    NOGIL_MIN_BYTES = 8192


cdef inline bint _is_byte_format(const char *fmt) noexcept:
    return (fmt == NULL or strcmp(fmt, b"B") == 0 or strcmp(fmt, b"b") == 0
            or strcmp(fmt, b"c") == 0)


cdef inline bint _is_int16_format(const char *fmt) noexcept:
    return (strcmp(fmt, b"h") == 0 or strcmp(fmt, b"<h") == 0
            or strcmp(fmt, b"=h") == 0 or strcmp(fmt, b"@h") == 0)


cdef inline int _acquire(object obj, Py_buffer *view, int flags, str name) except -1:
    if not PyObject_CheckBuffer(obj):
        raise TypeError(
            f"{name} must be a bytes-like object (bytes, bytearray, memoryview, "
            f"numpy int16 array), not {type(obj).__name__}")
    try:
        # ND with FORMAT: memoryview refuses FORMAT without a shape, and without
        # strides every exporter must hand over C-contiguous memory.
        PyObject_GetBuffer(obj, view, flags | PyBUF_ND | PyBUF_FORMAT)
    except (BufferError, ValueError) as e:  # numpy raises ValueError for strided arrays
        if flags & PyBUF_WRITABLE:
            raise TypeError(f"{name} must be a writable, C-contiguous buffer ({e})") from None
        raise ValueError(f"{name} must be a C-contiguous buffer ({e})") from None
    return 0


cdef inline bint misaligned16(const void *p) noexcept:
    return (<size_t>p) & 1


cdef inline int get_pcm(object obj, Py_buffer *view, str name, int channels=1) except -1:
    """Read access to 16-bit PCM: byte or int16 items, whole frames of `channels`.

    The kernels read samples as int16_t, which C only defines at even addresses; a
    view that starts at an odd one (a byte slice such as ``memoryview(b)[1:]``) is
    read from an aligned copy instead.
    """
    _acquire(obj, view, PyBUF_SIMPLE, name)
    if misaligned16(view.buf):
        copy = PyBytes_FromStringAndSize(<const char *>view.buf, view.len)
        PyBuffer_Release(view)
        # The view owns a reference to the copy until it is released.
        PyObject_GetBuffer(copy, view, PyBUF_SIMPLE | PyBUF_ND | PyBUF_FORMAT)
    if not (_is_byte_format(view.format) or _is_int16_format(view.format)):
        fmt = (<bytes>view.format).decode("ascii", "replace")
        PyBuffer_Release(view)
        raise TypeError(f"{name} must hold 16-bit PCM (bytes or int16 items), "
                        f"got items of format {fmt!r}")
    if view.len % (2 * channels):
        n = view.len
        PyBuffer_Release(view)
        if channels == 1:
            raise ValueError(f"{name} must hold whole 16-bit samples: got {n} bytes, "
                             f"an odd count")
        raise ValueError(f"{name} must hold whole frames of {channels} channels x 2 bytes "
                         f"({2 * channels} bytes each): got {n} bytes")
    return 0


cdef inline int get_bytes(object obj, Py_buffer *view, str name,
                          bint allow_int16=False) except -1:
    """Read access to a byte stream (G.711 codes; with allow_int16 any audio)."""
    _acquire(obj, view, PyBUF_SIMPLE, name)
    if not (_is_byte_format(view.format)
            or (allow_int16 and _is_int16_format(view.format))):
        fmt = (<bytes>view.format).decode("ascii", "replace")
        PyBuffer_Release(view)
        want = "bytes or int16 items" if allow_int16 else "bytes (8-bit items)"
        raise TypeError(f"{name} must hold {want}, got items of format {fmt!r}")
    return 0


cdef inline int get_out(object obj, Py_buffer *view, Py_ssize_t need) except -1:
    """Write access to an `out=` buffer of at least `need` bytes."""
    _acquire(obj, view, PyBUF_WRITABLE, "out")
    if view.len < need:
        have = view.len
        PyBuffer_Release(view)
        raise ValueError(f"out is too small: this call may write up to {need} bytes, "
                         f"out has {have}")
    return 0


cdef inline object stage_if_misaligned(Py_buffer *view, Py_ssize_t n):
    """A bytes object of `n` bytes for a kernel to write int16 samples into when the
    `out=` view starts at an odd address (copied over afterwards), else None."""
    if misaligned16(view.buf):
        return PyBytes_FromStringAndSize(NULL, n)
    return None


cdef inline void lock_acquire(PyThread_type_lock lock) noexcept:
    # Uncontended: no GIL release. Contended: wait without the GIL, or the holder
    # (which may need the GIL to finish) could never release it.
    if not PyThread_acquire_lock(lock, NOWAIT_LOCK):
        with nogil:
            PyThread_acquire_lock(lock, WAIT_LOCK)


cdef extern from "Python.h":
    ctypedef struct PyThreadState:
        pass
    PyThreadState *PyEval_SaveThread() nogil
    void PyEval_RestoreThread(PyThreadState *) nogil


# `with nogil` only takes constant conditions; these release the GIL around one C
# call when the work is large enough to pay for the hand-off. Nothing between the
# two calls may touch a Python object.
cdef inline PyThreadState *release_gil_if(bint cond) noexcept:
    return PyEval_SaveThread() if cond else NULL


cdef inline void restore_gil(PyThreadState *ts) noexcept:
    if ts != NULL:
        PyEval_RestoreThread(ts)
