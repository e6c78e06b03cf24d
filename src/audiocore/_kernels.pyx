# cython: language_level=3
"""G.711 codecs and channel operations on 16-bit PCM (native)."""
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int16_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from audiocore._buffers cimport (NOGIL_MIN_BYTES, PyThreadState, release_gil_if,
                                 restore_gil, get_bytes, get_out, get_pcm,
                                 stage_if_misaligned)
from audiocore._capi cimport (ac_alaw_decode, ac_alaw_encode, ac_downmix, ac_mix,
                              ac_ulaw_decode, ac_ulaw_encode, ac_upmix)


# Summing in int32 stays exact up to this many full-scale inputs.
cdef enum:
    MAX_MIX_INPUTS = 65535


cdef inline object _new_out(Py_ssize_t n, char **data):
    b = PyBytes_FromStringAndSize(NULL, n)
    data[0] = PyBytes_AS_STRING(b)
    return b


cdef object _encode(object pcm, object out, bint alaw):
    cdef Py_buffer src, dst
    cdef PyThreadState *ts
    cdef char *d
    cdef size_t n
    get_pcm(pcm, &src, "pcm")
    n = <size_t>src.len // 2
    try:
        if out is None:
            result = _new_out(<Py_ssize_t>n, &d)
        else:
            get_out(out, &dst, <Py_ssize_t>n)
            d = <char *>dst.buf
            result = <Py_ssize_t>n
        ts = release_gil_if(src.len >= NOGIL_MIN_BYTES)
        if alaw:
            ac_alaw_encode(<const int16_t *>src.buf, <uint8_t *>d, n)
        else:
            ac_ulaw_encode(<const int16_t *>src.buf, <uint8_t *>d, n)
        restore_gil(ts)
        if out is not None:
            PyBuffer_Release(&dst)
        return result
    finally:
        PyBuffer_Release(&src)


cdef object _decode(object data, object out, bint alaw):
    cdef Py_buffer src, dst
    cdef PyThreadState *ts
    cdef char *d
    cdef size_t n
    stage = None
    get_bytes(data, &src, "data")
    n = <size_t>src.len
    try:
        if out is None:
            result = _new_out(<Py_ssize_t>(2 * n), &d)
        else:
            get_out(out, &dst, <Py_ssize_t>(2 * n))
            stage = stage_if_misaligned(&dst, <Py_ssize_t>(2 * n))
            d = <char *>dst.buf if stage is None else PyBytes_AS_STRING(stage)
            result = <Py_ssize_t>(2 * n)
        ts = release_gil_if(src.len >= NOGIL_MIN_BYTES // 2)
        if alaw:
            ac_alaw_decode(<const uint8_t *>src.buf, <int16_t *>d, n)
        else:
            ac_ulaw_decode(<const uint8_t *>src.buf, <int16_t *>d, n)
        restore_gil(ts)
        if out is not None:
            if stage is not None:
                memcpy(dst.buf, d, <size_t>result)
            PyBuffer_Release(&dst)
        return result
    finally:
        PyBuffer_Release(&src)


def ulaw_encode(pcm, *, out=None):
    """Encode 16-bit PCM to G.711 mu-law, one byte per sample.

    Bit-exact with ``audioop.lin2ulaw(pcm, 2)``. That encoder differs from the ITU
    G.191 reference on 508 negative inputs (it negates the shifted sample instead of
    taking its one's complement); audiocore follows audioop.

    With ``out=`` (a writable buffer of at least ``len(pcm) // 2`` bytes) the codes
    are written there and the byte count is returned instead of a new ``bytes``.
    """
    return _encode(pcm, out, False)


def alaw_encode(pcm, *, out=None):
    """Encode 16-bit PCM to G.711 A-law, one byte per sample.

    Bit-exact with ``audioop.lin2alaw(pcm, 2)``. ``out=`` as in :func:`ulaw_encode`.
    """
    return _encode(pcm, out, True)


def ulaw_decode(data, *, out=None):
    """Decode G.711 mu-law bytes to 16-bit PCM (two bytes per code).

    Bit-exact with ``audioop.ulaw2lin(data, 2)``. With ``out=`` (at least
    ``2 * len(data)`` bytes) the samples are written there and the byte count is
    returned.
    """
    return _decode(data, out, False)


def alaw_decode(data, *, out=None):
    """Decode G.711 A-law bytes to 16-bit PCM (two bytes per code).

    Bit-exact with ``audioop.alaw2lin(data, 2)``. ``out=`` as in :func:`ulaw_decode`.
    """
    return _decode(data, out, True)


cdef int _check_channels(object channels) except -1:
    if isinstance(channels, bool) or not isinstance(channels, int):
        raise TypeError(f"channels must be an int, not {type(channels).__name__}")
    if channels < 1 or channels > 64:
        raise ValueError(f"channels must be between 1 and 64, got {channels}")
    return 0


def downmix(pcm, channels, *, out=None):
    """Mix interleaved ``channels``-channel PCM down to mono.

    Each output sample is the mean of its frame's channels rounded toward minus
    infinity; for 2 channels this is bit-exact with ``audioop.tomono(pcm, 2, 0.5,
    0.5)``. ``len(pcm)`` must be a multiple of ``2 * channels``. With ``out=`` (at
    least ``len(pcm) // channels`` bytes) returns the byte count written.
    """
    cdef Py_buffer src, dst
    cdef PyThreadState *ts
    cdef char *d
    cdef size_t frames
    cdef int ch
    stage = None
    _check_channels(channels)
    ch = channels
    get_pcm(pcm, &src, "pcm", ch)
    frames = <size_t>src.len // (2 * ch)
    try:
        if out is None:
            result = _new_out(<Py_ssize_t>(2 * frames), &d)
        else:
            get_out(out, &dst, <Py_ssize_t>(2 * frames))
            stage = stage_if_misaligned(&dst, <Py_ssize_t>(2 * frames))
            d = <char *>dst.buf if stage is None else PyBytes_AS_STRING(stage)
            result = <Py_ssize_t>(2 * frames)
        ts = release_gil_if(src.len >= NOGIL_MIN_BYTES)
        ac_downmix(<const int16_t *>src.buf, <int16_t *>d, frames, ch)
        restore_gil(ts)
        if out is not None:
            if stage is not None:
                memcpy(dst.buf, d, <size_t>result)
            PyBuffer_Release(&dst)
        return result
    finally:
        PyBuffer_Release(&src)


def upmix(pcm, channels, *, out=None):
    """Copy mono PCM into ``channels`` identical interleaved channels.

    For 2 channels equal to ``audioop.tostereo(pcm, 2, 1, 1)``. With ``out=`` (at
    least ``len(pcm) * channels`` bytes) returns the byte count written.
    """
    cdef Py_buffer src, dst
    cdef PyThreadState *ts
    cdef char *d
    cdef size_t frames
    cdef int ch
    stage = None
    _check_channels(channels)
    ch = channels
    get_pcm(pcm, &src, "pcm")
    frames = <size_t>src.len // 2
    try:
        if out is None:
            result = _new_out(<Py_ssize_t>(2 * frames * ch), &d)
        else:
            get_out(out, &dst, <Py_ssize_t>(2 * frames * ch))
            stage = stage_if_misaligned(&dst, <Py_ssize_t>(2 * frames * ch))
            d = <char *>dst.buf if stage is None else PyBytes_AS_STRING(stage)
            result = <Py_ssize_t>(2 * frames * ch)
        ts = release_gil_if(src.len * ch >= NOGIL_MIN_BYTES)
        ac_upmix(<const int16_t *>src.buf, <int16_t *>d, frames, ch)
        restore_gil(ts)
        if out is not None:
            if stage is not None:
                memcpy(dst.buf, d, <size_t>result)
            PyBuffer_Release(&dst)
        return result
    finally:
        PyBuffer_Release(&src)


def mix(*buffers, out=None):
    """Sum equal-length 16-bit PCM buffers sample by sample, saturating at the int16
    limits (several speakers into one stream).

    The sum is taken at full precision and clipped once, so the order of the inputs
    does not matter. With ``out=`` returns the byte count written.
    """
    cdef Py_buffer *views
    cdef PyThreadState *ts
    cdef const int16_t **ptrs
    cdef Py_buffer dst
    cdef int count = len(buffers)
    cdef int got = 0
    cdef Py_ssize_t nbytes = 0
    cdef char *d
    cdef int i
    stage = None
    if count == 0:
        raise TypeError("mix() needs at least one buffer")
    if count > MAX_MIX_INPUTS:
        raise ValueError(f"mix() takes at most {MAX_MIX_INPUTS} buffers, got {count}")
    views = <Py_buffer *>malloc(count * sizeof(Py_buffer))
    ptrs = <const int16_t **>malloc(count * sizeof(int16_t *))
    if views == NULL or ptrs == NULL:
        free(views)
        free(ptrs)
        raise MemoryError()
    try:
        for i in range(count):
            get_pcm(buffers[i], &views[i], f"buffers[{i}]")
            got += 1
            ptrs[i] = <const int16_t *>views[i].buf
            if i == 0:
                nbytes = views[0].len
            elif views[i].len != nbytes:
                raise ValueError(f"mix() needs buffers of equal length: buffers[0] has "
                                 f"{nbytes} bytes, buffers[{i}] has {views[i].len}")
        if out is None:
            result = _new_out(nbytes, &d)
        else:
            get_out(out, &dst, nbytes)
            stage = stage_if_misaligned(&dst, nbytes)
            d = <char *>dst.buf if stage is None else PyBytes_AS_STRING(stage)
            result = nbytes
        ts = release_gil_if(nbytes * count >= NOGIL_MIN_BYTES)
        ac_mix(ptrs, count, <int16_t *>d, <size_t>nbytes // 2)
        restore_gil(ts)
        if out is not None:
            if stage is not None:
                memcpy(dst.buf, d, <size_t>result)
            PyBuffer_Release(&dst)
        return result
    finally:
        for i in range(got):
            PyBuffer_Release(&views[i])
        free(views)
        free(ptrs)
