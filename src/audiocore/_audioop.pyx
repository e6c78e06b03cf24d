# cython: language_level=3
"""Native functions of :mod:`audiocore.audioop` (CPython's ``audioop``, bit for bit).

CPython's audioop functions are METH_FASTCALL builtins. Ours are too: each is a
``cdef`` function with the fast-call C signature, registered through a static
``PyMethodDef`` table at import. That keeps the per-call cost of a 20 ms frame at
the C level, and lets the argument handling follow CPython's exactly (positional
only, "expected 3 arguments, got 2", "takes no keyword arguments", the int/float
conversions and their messages), which a Cython ``def`` cannot reproduce.
"""
from cpython.buffer cimport (PyBUF_SIMPLE, PyBuffer_IsContiguous, PyBuffer_Release,
                             PyObject_GetBuffer)
from cpython.bytes cimport (PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize,
                            PyBytes_GET_SIZE)
from cpython.float cimport PyFloat_AsDouble
from cpython.long cimport (PyLong_AsLong, PyLong_AsLongAndOverflow, PyLong_AsSsize_t,
                           PyLong_CheckExact)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport (PyTuple_Check, PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New,
                            PyTuple_SET_ITEM)
from libc.limits cimport INT_MAX, INT_MIN
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

from audiocore._buffers cimport NOGIL_MIN_BYTES, PyThreadState, release_gil_if, restore_gil
from audiocore._capi cimport (ac_aop_adpcm2lin, ac_aop_add, ac_aop_alaw2lin, ac_aop_avg,
                              ac_aop_avgpp, ac_aop_bias, ac_aop_byteswap, ac_aop_count,
                              ac_aop_cross, ac_aop_findfactor, ac_aop_findfit,
                              ac_aop_findmax, ac_aop_init, ac_aop_lin2adpcm,
                              ac_aop_lin2alaw, ac_aop_lin2lin, ac_aop_lin2ulaw,
                              ac_aop_load, ac_aop_max, ac_aop_maxpp, ac_aop_minmax,
                              ac_aop_mul, ac_aop_ratecv, ac_aop_ratecv_frames,
                              ac_aop_reverse, ac_aop_rms, ac_aop_tomono, ac_aop_tostereo,
                              ac_aop_ulaw2lin, ac_g711_init)

ac_g711_init()
ac_aop_init()

cdef extern from "Python.h":
    ctypedef PyObject *(*PyCFunction)(PyObject *, PyObject *)
    ctypedef struct PyMethodDef:
        const char *ml_name
        PyCFunction ml_meth
        int ml_flags
        const char *ml_doc
    int METH_FASTCALL
    object PyCFunction_NewEx(PyMethodDef *ml, PyObject *self, object module)
    Py_ssize_t PY_SSIZE_T_MAX
    # Py_buffer with its owner as a plain pointer, so that it can be set to NULL.
    ctypedef struct _RawBuffer "Py_buffer":
        PyObject *obj


class error(Exception):
    pass


error.__module__ = "audiocore.audioop"

# The public module's name: functions report it as __module__ (pickling, reprs)
# and in "audiocore.audioop.max() takes no keyword arguments".
_MODULE = "audiocore.audioop"

# Up to this many channels ratecv keeps its state on the stack.
cdef enum:
    STACK_CHANNELS = 16

_ILLEGAL_STATE = "illegal state argument"


# ---- argument handling, as CPython's argument clinic does it ----------------------

cdef int _bad_nargs(str name, Py_ssize_t got, Py_ssize_t want) except -1:
    raise TypeError(f"{name} expected {want} arguments, got {got}")


cdef inline int _buffer(PyObject *obj, Py_buffer *view, str fname, int argno) except -1:
    # bytes are immutable and the caller holds them for the whole call, so their
    # storage can be read without exporting a buffer; view.obj = NULL makes
    # PyBuffer_Release a no-op. Saves a good part of the per-call cost of a frame.
    if PyBytes_CheckExact(<object>obj):
        view.buf = PyBytes_AS_STRING(<object>obj)
        view.len = PyBytes_GET_SIZE(<object>obj)
        (<_RawBuffer *>view).obj = NULL
        return 0
    PyObject_GetBuffer(<object>obj, view, PyBUF_SIMPLE)
    if not PyBuffer_IsContiguous(view, b'C'):
        PyBuffer_Release(view)
        raise TypeError(f"{fname}() argument {argno} must be contiguous buffer, "
                        f"not {type(<object>obj).__name__}")
    return 0


cdef inline int _as_int(PyObject *obj) except? -1:
    # CPython's C-int converter: __index__, and one message for any overflow.
    cdef int overflow = 0
    cdef long v = PyLong_AsLongAndOverflow(<object>obj, &overflow)
    if overflow or v > INT_MAX or v < INT_MIN:
        raise OverflowError("Python int too large to convert to C int")
    return <int>v


cdef inline Py_ssize_t _as_ssize(PyObject *obj) except? -1:
    if PyLong_CheckExact(<object>obj):
        return PyLong_AsSsize_t(<object>obj)
    return PyLong_AsSsize_t(PyNumber_Index(<object>obj))


cdef inline double _as_double(PyObject *obj) except? -1.0:
    return PyFloat_AsDouble(<object>obj)


cdef int _state_int(object obj) except? -1:
    # PyArg_ParseTuple's "i" (used for the items of state tuples) words its range
    # errors differently from the argument converter above.
    cdef long v = PyLong_AsLong(obj)
    if v > INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if v < INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    return <int>v


cdef inline int _check_width(int width) except -1:
    if width < 1 or width > 4:
        raise error("Size should be 1, 2, 3 or 4")
    return 0


cdef inline Py_ssize_t _frames(Py_ssize_t nbytes, int width) except -1:
    """nbytes // width, for a valid width and a whole number of samples."""
    cdef Py_ssize_t n
    _check_width(width)
    n = <Py_ssize_t>ac_aop_count(<size_t>nbytes, width)
    if n * width != nbytes:
        raise error("not a whole number of frames")
    return n


cdef inline object _new_bytes(Py_ssize_t n, uint8_t **data):
    try:
        b = PyBytes_FromStringAndSize(NULL, n)
    except MemoryError:
        # CPython's message is empty; say what did not fit.
        raise MemoryError(f"not enough memory for an output of {n} bytes") from None
    data[0] = <uint8_t *>PyBytes_AS_STRING(b)
    return b


cdef int _adpcm_state(object state, str fname, int *valpred, int *index) except -1:
    if state is None:
        valpred[0] = 0
        index[0] = 0
        return 0
    if not PyTuple_Check(state):
        raise TypeError("state must be a tuple or None")
    if PyTuple_GET_SIZE(state) != 2:
        raise TypeError(f"{fname}(): {_ILLEGAL_STATE}")
    valpred[0] = _state_int(<object>PyTuple_GET_ITEM(state, 0))
    index[0] = _state_int(<object>PyTuple_GET_ITEM(state, 1))
    if valpred[0] >= 0x8000 or valpred[0] < -0x8000 or not 0 <= index[0] <= 88:
        raise ValueError("bad state")
    return 0


cdef inline tuple _pair(object a, object b):
    t = PyTuple_New(2)
    Py_INCREF(a)
    PyTuple_SET_ITEM(t, 0, a)
    Py_INCREF(b)
    PyTuple_SET_ITEM(t, 1, b)
    return t


# ---- analysis -----------------------------------------------------------------------

cdef object _getsample(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef int width
    cdef Py_ssize_t n
    cdef Py_ssize_t index
    if nargs != 3:
        _bad_nargs("getsample", nargs, 3)
    _buffer(args[0], &view, "getsample", 1)
    try:
        width = _as_int(args[1])
        index = _as_ssize(args[2])
        n = _frames(view.len, width)
        if index < 0 or index >= n:
            raise error("Index out of range")
        return ac_aop_load(<const uint8_t *>view.buf + index * width, width)
    finally:
        PyBuffer_Release(&view)


cdef object _max(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef int width
    cdef Py_ssize_t n
    cdef uint32_t r
    if nargs != 2:
        _bad_nargs("max", nargs, 2)
    _buffer(args[0], &view, "max", 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        r = ac_aop_max(<const uint8_t *>view.buf, <size_t>n, width)
        restore_gil(ts)
        return r
    finally:
        PyBuffer_Release(&view)


cdef object _minmax(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef int width
    cdef Py_ssize_t n
    cdef int32_t lo, hi
    if nargs != 2:
        _bad_nargs("minmax", nargs, 2)
    _buffer(args[0], &view, "minmax", 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        ac_aop_minmax(<const uint8_t *>view.buf, <size_t>n, width, &lo, &hi)
        restore_gil(ts)
        return (lo, hi)
    finally:
        PyBuffer_Release(&view)


cdef object _avg(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef int width
    cdef Py_ssize_t n
    cdef int32_t r
    if nargs != 2:
        _bad_nargs("avg", nargs, 2)
    _buffer(args[0], &view, "avg", 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        if view.len == 0:
            return 0
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        r = ac_aop_avg(<const uint8_t *>view.buf, <size_t>n, width)
        restore_gil(ts)
        return r
    finally:
        PyBuffer_Release(&view)


cdef object _rms(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef int width
    cdef Py_ssize_t n
    cdef uint32_t r
    if nargs != 2:
        _bad_nargs("rms", nargs, 2)
    _buffer(args[0], &view, "rms", 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        if view.len == 0:
            return 0
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        r = ac_aop_rms(<const uint8_t *>view.buf, <size_t>n, width)
        restore_gil(ts)
        return r
    finally:
        PyBuffer_Release(&view)


cdef object _peak_to_peak(PyObject **args, Py_ssize_t nargs, str name, bint average):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef int width
    cdef Py_ssize_t n
    cdef uint32_t r
    if nargs != 2:
        _bad_nargs(name, nargs, 2)
    _buffer(args[0], &view, name, 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        if average:
            r = ac_aop_avgpp(<const uint8_t *>view.buf, <size_t>n, width)
        else:
            r = ac_aop_maxpp(<const uint8_t *>view.buf, <size_t>n, width)
        restore_gil(ts)
        return r
    finally:
        PyBuffer_Release(&view)


cdef object _avgpp(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _peak_to_peak(args, nargs, "avgpp", True)


cdef object _maxpp(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _peak_to_peak(args, nargs, "maxpp", False)


cdef object _cross(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef int width
    cdef Py_ssize_t n
    cdef Py_ssize_t r
    if nargs != 2:
        _bad_nargs("cross", nargs, 2)
    _buffer(args[0], &view, "cross", 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        r = ac_aop_cross(<const uint8_t *>view.buf, <size_t>n, width)
        restore_gil(ts)
        return r
    finally:
        PyBuffer_Release(&view)


# ---- 16-bit matching ----------------------------------------------------------------

cdef object _findfit(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer frag, ref
    cdef PyThreadState *ts
    cdef Py_ssize_t j
    cdef double factor
    if nargs != 2:
        _bad_nargs("findfit", nargs, 2)
    _buffer(args[0], &frag, "findfit", 1)
    try:
        _buffer(args[1], &ref, "findfit", 2)
        try:
            if frag.len & 1 or ref.len & 1:
                raise error("Strings should be even-sized")
            if frag.len < ref.len:
                raise error("First sample should be longer")
            # Work grows with both lengths: (len1 - len2 + 1) windows of len2.
            ts = release_gil_if((frag.len - ref.len + 2) // 2 * (ref.len // 2 + 1)
                                >= NOGIL_MIN_BYTES)
            j = ac_aop_findfit(<const uint8_t *>frag.buf, <size_t>(frag.len // 2),
                               <const uint8_t *>ref.buf, <size_t>(ref.len // 2), &factor)
            restore_gil(ts)
            return (j, factor)
        finally:
            PyBuffer_Release(&ref)
    finally:
        PyBuffer_Release(&frag)


cdef object _findfactor(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer frag, ref
    cdef PyThreadState *ts
    cdef double r
    if nargs != 2:
        _bad_nargs("findfactor", nargs, 2)
    _buffer(args[0], &frag, "findfactor", 1)
    try:
        _buffer(args[1], &ref, "findfactor", 2)
        try:
            if frag.len & 1 or ref.len & 1:
                raise error("Strings should be even-sized")
            if frag.len != ref.len:
                raise error("Samples should be same size")
            ts = release_gil_if(frag.len >= NOGIL_MIN_BYTES)
            r = ac_aop_findfactor(<const uint8_t *>frag.buf, <const uint8_t *>ref.buf,
                                  <size_t>(frag.len // 2))
            restore_gil(ts)
            return r
        finally:
            PyBuffer_Release(&ref)
    finally:
        PyBuffer_Release(&frag)


cdef object _findmax(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef Py_ssize_t length, r
    if nargs != 2:
        _bad_nargs("findmax", nargs, 2)
    _buffer(args[0], &view, "findmax", 1)
    try:
        length = _as_ssize(args[1])
        if view.len & 1:
            raise error("Strings should be even-sized")
        if length < 0 or view.len // 2 < length:
            raise error("Input sample should be longer")
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        r = ac_aop_findmax(<const uint8_t *>view.buf, <size_t>(view.len // 2), <size_t>length)
        restore_gil(ts)
        return r
    finally:
        PyBuffer_Release(&view)


# ---- transforms ---------------------------------------------------------------------

cdef object _mul(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    cdef Py_ssize_t n
    cdef double factor
    if nargs != 3:
        _bad_nargs("mul", nargs, 3)
    _buffer(args[0], &view, "mul", 1)
    try:
        width = _as_int(args[1])
        factor = _as_double(args[2])
        n = _frames(view.len, width)
        result = _new_bytes(view.len, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        ac_aop_mul(<const uint8_t *>view.buf, out, <size_t>n, width, factor)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _tomono(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    cdef Py_ssize_t n
    cdef double lfactor, rfactor
    if nargs != 4:
        _bad_nargs("tomono", nargs, 4)
    _buffer(args[0], &view, "tomono", 1)
    try:
        width = _as_int(args[1])
        lfactor = _as_double(args[2])
        rfactor = _as_double(args[3])
        n = _frames(view.len, width)
        if n & 1:
            raise error("not a whole number of frames")
        result = _new_bytes(view.len // 2, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        ac_aop_tomono(<const uint8_t *>view.buf, out, <size_t>(n // 2), width,
                      lfactor, rfactor)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _tostereo(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    cdef Py_ssize_t n
    cdef double lfactor, rfactor
    if nargs != 4:
        _bad_nargs("tostereo", nargs, 4)
    _buffer(args[0], &view, "tostereo", 1)
    try:
        width = _as_int(args[1])
        lfactor = _as_double(args[2])
        rfactor = _as_double(args[3])
        n = _frames(view.len, width)
        if view.len > PY_SSIZE_T_MAX // 2:
            raise MemoryError("not enough memory for output buffer")
        result = _new_bytes(view.len * 2, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES // 2)
        ac_aop_tostereo(<const uint8_t *>view.buf, out, <size_t>n, width,
                        lfactor, rfactor)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _add(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer a, b
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    cdef Py_ssize_t n
    if nargs != 3:
        _bad_nargs("add", nargs, 3)
    _buffer(args[0], &a, "add", 1)
    try:
        _buffer(args[1], &b, "add", 2)
        try:
            width = _as_int(args[2])
            n = _frames(a.len, width)
            if a.len != b.len:
                raise error("Lengths should be the same")
            result = _new_bytes(a.len, &out)
            ts = release_gil_if(a.len >= NOGIL_MIN_BYTES)
            ac_aop_add(<const uint8_t *>a.buf, <const uint8_t *>b.buf, out,
                       <size_t>n, width)
            restore_gil(ts)
            return result
        finally:
            PyBuffer_Release(&b)
    finally:
        PyBuffer_Release(&a)


cdef object _bias(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width, bias
    cdef Py_ssize_t n
    if nargs != 3:
        _bad_nargs("bias", nargs, 3)
    _buffer(args[0], &view, "bias", 1)
    try:
        width = _as_int(args[1])
        bias = _as_int(args[2])
        n = _frames(view.len, width)
        result = _new_bytes(view.len, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        ac_aop_bias(<const uint8_t *>view.buf, out, <size_t>n, width, bias)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _reorder(PyObject **args, Py_ssize_t nargs, str name, bint swap):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    cdef Py_ssize_t n
    if nargs != 2:
        _bad_nargs(name, nargs, 2)
    _buffer(args[0], &view, name, 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        result = _new_bytes(view.len, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        if swap:
            ac_aop_byteswap(<const uint8_t *>view.buf, out, <size_t>n, width)
        else:
            ac_aop_reverse(<const uint8_t *>view.buf, out, <size_t>n, width)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _reverse(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _reorder(args, nargs, "reverse", False)


cdef object _byteswap(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _reorder(args, nargs, "byteswap", True)


cdef object _lin2lin(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width, newwidth
    cdef Py_ssize_t n
    if nargs != 3:
        _bad_nargs("lin2lin", nargs, 3)
    _buffer(args[0], &view, "lin2lin", 1)
    try:
        width = _as_int(args[1])
        newwidth = _as_int(args[2])
        n = _frames(view.len, width)
        _check_width(newwidth)
        if n > <Py_ssize_t>ac_aop_count(PY_SSIZE_T_MAX, newwidth):
            raise MemoryError("not enough memory for output buffer")
        result = _new_bytes(n * newwidth, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        ac_aop_lin2lin(<const uint8_t *>view.buf, out, <size_t>n, width, newwidth)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


# ---- codecs -------------------------------------------------------------------------

cdef object _lin2g711(PyObject **args, Py_ssize_t nargs, str name, bint alaw):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    cdef Py_ssize_t n
    if nargs != 2:
        _bad_nargs(name, nargs, 2)
    _buffer(args[0], &view, name, 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        result = _new_bytes(n, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        if alaw:
            ac_aop_lin2alaw(<const uint8_t *>view.buf, out, <size_t>n, width)
        else:
            ac_aop_lin2ulaw(<const uint8_t *>view.buf, out, <size_t>n, width)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _g7112lin(PyObject **args, Py_ssize_t nargs, str name, bint alaw):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width
    if nargs != 2:
        _bad_nargs(name, nargs, 2)
    _buffer(args[0], &view, name, 1)
    try:
        width = _as_int(args[1])
        _check_width(width)
        if view.len > <Py_ssize_t>ac_aop_count(PY_SSIZE_T_MAX, width):
            raise MemoryError("not enough memory for output buffer")
        result = _new_bytes(view.len * width, &out)
        ts = release_gil_if(view.len * width >= NOGIL_MIN_BYTES)
        if alaw:
            ac_aop_alaw2lin(<const uint8_t *>view.buf, out, <size_t>view.len, width)
        else:
            ac_aop_ulaw2lin(<const uint8_t *>view.buf, out, <size_t>view.len, width)
        restore_gil(ts)
        return result
    finally:
        PyBuffer_Release(&view)


cdef object _lin2ulaw(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _lin2g711(args, nargs, "lin2ulaw", False)


cdef object _lin2alaw(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _lin2g711(args, nargs, "lin2alaw", True)


cdef object _ulaw2lin(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _g7112lin(args, nargs, "ulaw2lin", False)


cdef object _alaw2lin(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    return _g7112lin(args, nargs, "alaw2lin", True)


cdef object _lin2adpcm(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width, valpred, index
    cdef Py_ssize_t n
    if nargs != 3:
        _bad_nargs("lin2adpcm", nargs, 3)
    _buffer(args[0], &view, "lin2adpcm", 1)
    try:
        width = _as_int(args[1])
        n = _frames(view.len, width)
        _adpcm_state(<object>args[2], "lin2adpcm", &valpred, &index)
        result = _new_bytes(n // 2, &out)
        ts = release_gil_if(view.len >= NOGIL_MIN_BYTES)
        ac_aop_lin2adpcm(<const uint8_t *>view.buf, out, <size_t>n, width,
                         &valpred, &index)
        restore_gil(ts)
        return (result, (valpred, index))
    finally:
        PyBuffer_Release(&view)


cdef object _adpcm2lin(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width, valpred, index
    if nargs != 3:
        _bad_nargs("adpcm2lin", nargs, 3)
    _buffer(args[0], &view, "adpcm2lin", 1)
    try:
        width = _as_int(args[1])
        _check_width(width)
        _adpcm_state(<object>args[2], "adpcm2lin", &valpred, &index)
        if view.len > <Py_ssize_t>ac_aop_count(PY_SSIZE_T_MAX // 2, width):
            raise MemoryError("not enough memory for output buffer")
        result = _new_bytes(view.len * 2 * width, &out)
        ts = release_gil_if(view.len * width >= NOGIL_MIN_BYTES // 2)
        ac_aop_adpcm2lin(<const uint8_t *>view.buf, out, <size_t>view.len, width,
                         &valpred, &index)
        restore_gil(ts)
        return (result, (valpred, index))
    finally:
        PyBuffer_Release(&view)


# ---- ratecv -------------------------------------------------------------------------

cdef inline int _gcd(int a, int b) noexcept:
    cdef int t
    while b > 0:
        t = a % b
        a = b
        b = t
    return a


cdef int _ratecv_state(object state, int nchannels, int *d, int32_t *prev,
                       int32_t *cur) except -1:
    cdef int c
    # Same checks, in the same order, as PyArg_ParseTuple(state, "iO!") and then
    # "ii" on every channel's pair.
    if not PyTuple_Check(state):
        raise TypeError("state must be a tuple or None")
    if PyTuple_GET_SIZE(state) != 2:
        raise TypeError(f"ratecv(): {_ILLEGAL_STATE}")
    d[0] = _state_int(<object>PyTuple_GET_ITEM(state, 0))
    samps = <object>PyTuple_GET_ITEM(state, 1)
    if not PyTuple_Check(samps):
        raise TypeError(f"ratecv(): {_ILLEGAL_STATE}")
    if PyTuple_GET_SIZE(samps) != nchannels:
        raise error(_ILLEGAL_STATE)
    for c in range(nchannels):
        pair = <object>PyTuple_GET_ITEM(samps, c)
        if not PyTuple_Check(pair) or PyTuple_GET_SIZE(pair) != 2:
            raise TypeError(f"ratecv(): {_ILLEGAL_STATE}")
        prev[c] = _state_int(<object>PyTuple_GET_ITEM(pair, 0))
        cur[c] = _state_int(<object>PyTuple_GET_ITEM(pair, 1))
    return 0


cdef object _ratecv(PyObject *mod, PyObject **args, Py_ssize_t nargs):
    cdef Py_buffer view
    cdef PyThreadState *ts
    cdef uint8_t *out
    cdef int width, nchannels, inrate, outrate, weight_a = 1, weight_b = 0
    cdef int bytes_per_frame, g, d, c
    cdef Py_ssize_t frames, q
    cdef int64_t nout
    cdef int32_t stack_prev[STACK_CHANNELS]
    cdef int32_t stack_cur[STACK_CHANNELS]
    cdef int32_t *prev = stack_prev
    cdef int32_t *cur = stack_cur
    if nargs < 6:
        raise TypeError(f"ratecv expected at least 6 arguments, got {nargs}")
    if nargs > 8:
        raise TypeError(f"ratecv expected at most 8 arguments, got {nargs}")
    _buffer(args[0], &view, "ratecv", 1)
    try:
        width = _as_int(args[1])
        nchannels = _as_int(args[2])
        inrate = _as_int(args[3])
        outrate = _as_int(args[4])
        state = <object>args[5]
        if nargs > 6:
            weight_a = _as_int(args[6])
        if nargs > 7:
            weight_b = _as_int(args[7])
        _check_width(width)
        if nchannels < 1:
            raise error("# of channels should be >= 1")
        if width > INT_MAX // nchannels:
            raise OverflowError("width * nchannels too big for a C int")
        bytes_per_frame = width * nchannels
        if weight_a < 1 or weight_b < 0:
            raise error("weightA should be >= 1, weightB should be >= 0")
        if view.len % bytes_per_frame:
            raise error("not a whole number of frames")
        if inrate <= 0 or outrate <= 0:
            raise error("sampling rate not > 0")
        g = _gcd(inrate, outrate)
        inrate //= g
        outrate //= g
        g = _gcd(weight_a, weight_b)
        weight_a //= g
        weight_b //= g
        if nchannels > STACK_CHANNELS:
            prev = <int32_t *>PyMem_Malloc(nchannels * sizeof(int32_t))
            cur = <int32_t *>PyMem_Malloc(nchannels * sizeof(int32_t))
            if prev == NULL or cur == NULL:
                raise MemoryError()
        frames = view.len // bytes_per_frame
        if state is None:
            d = -outrate
            for c in range(nchannels):
                prev[c] = 0
                cur[c] = 0
        else:
            _ratecv_state(state, nchannels, &d, prev, cur)
        # audioop's own limit first (it sizes for ceil(frames / inrate) * outrate),
        # then the exact count.
        if frames > 0:
            q = 1 + (frames - 1) // inrate
            if outrate > PY_SSIZE_T_MAX // q // bytes_per_frame:
                raise MemoryError("not enough memory for output buffer")
        nout = ac_aop_ratecv_frames(d, <size_t>frames, inrate, outrate,
                                    PY_SSIZE_T_MAX // bytes_per_frame)
        if nout < 0:
            raise MemoryError("not enough memory for output buffer")
        data = _new_bytes(<Py_ssize_t>nout * bytes_per_frame, &out)
        ts = release_gil_if(view.len + nout * bytes_per_frame >= NOGIL_MIN_BYTES)
        ac_aop_ratecv(<const uint8_t *>view.buf, <size_t>frames, width, nchannels,
                      inrate, outrate, weight_a, weight_b, &d, prev, cur, out)
        restore_gil(ts)
        samps = PyTuple_New(nchannels)
        for c in range(nchannels):
            pair = _pair(prev[c], cur[c])
            Py_INCREF(pair)
            PyTuple_SET_ITEM(samps, c, pair)
        return (data, (d, samps))
    finally:
        PyBuffer_Release(&view)
        if prev != stack_prev:
            PyMem_Free(prev)
            PyMem_Free(cur)


# ---- registration -------------------------------------------------------------------

cdef PyMethodDef _methods[26]
cdef int _n_methods = 0
# Bound to this module like any extension module's functions: inspect.signature()
# then drops the "$module" parameter of the text signatures.
_SELF = __import__("sys").modules[__name__]


cdef int _export(const char *name, PyCFunction impl, const char *doc) except -1:
    global _n_methods
    cdef PyMethodDef *m = &_methods[_n_methods]
    m.ml_name = name
    m.ml_meth = impl
    m.ml_flags = METH_FASTCALL
    m.ml_doc = doc
    fn = PyCFunction_NewEx(m, <PyObject *>_SELF, _MODULE)
    _n_methods += 1
    globals()[fn.__name__] = fn
    return 0


# Docstrings carry CPython's text signatures, so inspect.signature() matches too.
_export(b"add", <PyCFunction><void *>_add,
        b"add($module, fragment1, fragment2, width, /)\n--\n\n"
        b"Return the sample-by-sample sum of two fragments of equal length, clipped to the sample range.")
_export(b"adpcm2lin", <PyCFunction><void *>_adpcm2lin,
        b"adpcm2lin($module, fragment, width, state, /)\n--\n\n"
        b"Decode Intel/DVI ADPCM (4 bits per sample) to linear samples; return (fragment, newstate).")
_export(b"alaw2lin", <PyCFunction><void *>_alaw2lin,
        b"alaw2lin($module, fragment, width, /)\n--\n\n"
        b"Decode A-law bytes to linear samples of the given width.")
_export(b"avg", <PyCFunction><void *>_avg,
        b"avg($module, fragment, width, /)\n--\n\n"
        b"Return the mean of the samples, rounded toward minus infinity.")
_export(b"avgpp", <PyCFunction><void *>_avgpp,
        b"avgpp($module, fragment, width, /)\n--\n\n"
        b"Return the mean peak-to-peak swing between consecutive turning points.")
_export(b"bias", <PyCFunction><void *>_bias,
        b"bias($module, fragment, width, bias, /)\n--\n\n"
        b"Return the fragment with bias added to every sample, wrapping around on overflow.")
_export(b"byteswap", <PyCFunction><void *>_byteswap,
        b"byteswap($module, fragment, width, /)\n--\n\n"
        b"Reverse the byte order of every sample (big-endian <-> little-endian).")
_export(b"cross", <PyCFunction><void *>_cross,
        b"cross($module, fragment, width, /)\n--\n\n"
        b"Return the number of sign changes (zero crossings) in the fragment.")
_export(b"findfactor", <PyCFunction><void *>_findfactor,
        b"findfactor($module, fragment, reference, /)\n--\n\n"
        b"Return the F that minimises rms(add(fragment, mul(reference, -F))); 16-bit samples.")
_export(b"findfit", <PyCFunction><void *>_findfit,
        b"findfit($module, fragment, reference, /)\n--\n\n"
        b"Return (offset, factor) where reference best matches a slice of fragment; 16-bit samples.")
_export(b"findmax", <PyCFunction><void *>_findmax,
        b"findmax($module, fragment, length, /)\n--\n\n"
        b"Return the offset of the length-sample slice with the most energy; 16-bit samples.")
_export(b"getsample", <PyCFunction><void *>_getsample,
        b"getsample($module, fragment, width, index, /)\n--\n\n"
        b"Return sample number index of the fragment.")
_export(b"lin2adpcm", <PyCFunction><void *>_lin2adpcm,
        b"lin2adpcm($module, fragment, width, state, /)\n--\n\n"
        b"Encode linear samples as Intel/DVI ADPCM, 4 bits each; return (adpcm, newstate).")
_export(b"lin2alaw", <PyCFunction><void *>_lin2alaw,
        b"lin2alaw($module, fragment, width, /)\n--\n\n"
        b"Encode linear samples as A-law, one byte per sample.")
_export(b"lin2lin", <PyCFunction><void *>_lin2lin,
        b"lin2lin($module, fragment, width, newwidth, /)\n--\n\n"
        b"Convert samples to another width (1, 2, 3 or 4 bytes).")
_export(b"lin2ulaw", <PyCFunction><void *>_lin2ulaw,
        b"lin2ulaw($module, fragment, width, /)\n--\n\n"
        b"Encode linear samples as mu-law, one byte per sample.")
_export(b"max", <PyCFunction><void *>_max,
        b"max($module, fragment, width, /)\n--\n\n"
        b"Return the largest absolute value of the samples.")
_export(b"maxpp", <PyCFunction><void *>_maxpp,
        b"maxpp($module, fragment, width, /)\n--\n\n"
        b"Return the largest peak-to-peak swing between consecutive turning points.")
_export(b"minmax", <PyCFunction><void *>_minmax,
        b"minmax($module, fragment, width, /)\n--\n\n"
        b"Return (minimum, maximum) of the samples.")
_export(b"mul", <PyCFunction><void *>_mul,
        b"mul($module, fragment, width, factor, /)\n--\n\n"
        b"Return the fragment with every sample multiplied by factor, clipped to the sample range.")
_export(b"ratecv", <PyCFunction><void *>_ratecv,
        b"ratecv($module, fragment, width, nchannels, inrate, outrate, state,\n"
        b"       weightA=1, weightB=0, /)\n--\n\n"
        b"Convert the frame rate by linear interpolation (no anti-alias filter); return (fragment, newstate).")
_export(b"reverse", <PyCFunction><void *>_reverse,
        b"reverse($module, fragment, width, /)\n--\n\n"
        b"Return the fragment with its samples in reverse order.")
_export(b"rms", <PyCFunction><void *>_rms,
        b"rms($module, fragment, width, /)\n--\n\n"
        b"Return the root-mean-square of the samples, sqrt(sum(S_i^2)/n).")
_export(b"tomono", <PyCFunction><void *>_tomono,
        b"tomono($module, fragment, width, lfactor, rfactor, /)\n--\n\n"
        b"Mix a stereo fragment down to mono: lfactor * left + rfactor * right.")
_export(b"tostereo", <PyCFunction><void *>_tostereo,
        b"tostereo($module, fragment, width, lfactor, rfactor, /)\n--\n\n"
        b"Make a stereo fragment from a mono one: left = lfactor * x, right = rfactor * x.")
_export(b"ulaw2lin", <PyCFunction><void *>_ulaw2lin,
        b"ulaw2lin($module, fragment, width, /)\n--\n\n"
        b"Decode mu-law bytes to linear samples of the given width.")
