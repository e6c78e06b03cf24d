# C declarations of every kernel in csrc/, in one place.
from libc.stdint cimport int16_t, uint8_t


cdef extern from "g711.h" nogil:
    void ac_g711_init()
    void ac_ulaw_encode(const int16_t *inp, uint8_t *out, size_t n)
    void ac_ulaw_decode(const uint8_t *inp, int16_t *out, size_t n)
    void ac_alaw_encode(const int16_t *inp, uint8_t *out, size_t n)
    void ac_alaw_decode(const uint8_t *inp, int16_t *out, size_t n)


cdef extern from "channels.h" nogil:
    void ac_downmix(const int16_t *inp, int16_t *out, size_t frames, int channels)
    void ac_upmix(const int16_t *inp, int16_t *out, size_t frames, int channels)
    void ac_mix(const int16_t *const *ins, int count, int16_t *out, size_t n)


cdef extern from "ring.h" nogil:
    ctypedef struct ac_ring:
        pass
    ac_ring *ac_ring_new(size_t frame_bytes, size_t capacity)
    void ac_ring_free(ac_ring *r)
    size_t ac_ring_available(const ac_ring *r)
    size_t ac_ring_capacity(const ac_ring *r)
    size_t ac_ring_frame_bytes(const ac_ring *r)
    int ac_ring_write(ac_ring *r, const uint8_t *data, size_t n)
    size_t ac_ring_write_drop_oldest(ac_ring *r, const uint8_t *data, size_t n)
    size_t ac_ring_read(ac_ring *r, uint8_t *out, size_t n)
    size_t ac_ring_clear(ac_ring *r)


cdef extern from "soxr_stream.h" nogil:
    ctypedef struct ac_soxr:
        pass
    ac_soxr *ac_soxr_new(double in_rate, double out_rate, unsigned channels,
                         unsigned long recipe, const char **error)
    void ac_soxr_free(ac_soxr *s)
    size_t ac_soxr_process(ac_soxr *s, const int16_t *inp, size_t frames, int flush,
                           const int16_t **out, const char **error)
    size_t ac_soxr_max_output(ac_soxr *s, size_t frames)
    double ac_soxr_delay(ac_soxr *s)
    int ac_soxr_clear(ac_soxr *s)
    const char *ac_soxr_version()


cdef extern from "soxr.h":
    unsigned long SOXR_QQ, SOXR_LQ, SOXR_MQ, SOXR_HQ, SOXR_VHQ


cdef extern from "polyphase.h" nogil:
    ctypedef struct ac_rt_filter:
        pass
    ctypedef struct ac_rt:
        pass
    ac_rt_filter *ac_rt_filter_new(int in_rate, int out_rate, double atten_db,
                                   double pass_frac, const char **error)
    void ac_rt_filter_free(ac_rt_filter *f)
    double ac_rt_filter_delay(const ac_rt_filter *f)
    int ac_rt_filter_taps(const ac_rt_filter *f)
    int ac_rt_filter_phases(const ac_rt_filter *f)
    int ac_rt_filter_exact(const ac_rt_filter *f)
    int ac_rt_filter_stages(const ac_rt_filter *f)
    ac_rt *ac_rt_new(const ac_rt_filter *f, int channels)
    void ac_rt_free(ac_rt *s)
    size_t ac_rt_output_frames(const ac_rt *s, size_t frames)
    size_t ac_rt_flush_input(const ac_rt *s)
    size_t ac_rt_process(ac_rt *s, const int16_t *inp, size_t frames, int16_t *out)
    size_t ac_rt_flush(ac_rt *s, int16_t *out)
    void ac_rt_reset(ac_rt *s)
    double ac_rt_filter_macs(const ac_rt_filter *f)
    const char *ac_rt_kernels(const ac_rt *s)
    int ac_rt_kernels_fused(const ac_rt *s)
    const char *ac_rt_kernels_available(int i)
    int ac_rt_use_kernels(const char *name)
    double ac_rt_peak(long reps)


cdef extern from "convert.h" nogil:
    enum:
        AC_PCM16
        AC_MULAW
        AC_ALAW
    ctypedef struct ac_conv:
        pass
    ac_conv *ac_conv_new(int in_enc, int in_channels, int out_enc, int out_channels,
                         ac_rt *rt, ac_soxr *sx)
    void ac_conv_free(ac_conv *c)
    size_t ac_conv_process(ac_conv *c, const uint8_t *inp, size_t nbytes, int flush,
                           const uint8_t **out, const char **error)
    void ac_conv_reset(ac_conv *c)
    double ac_conv_pending(ac_conv *c)
    size_t ac_conv_max_output(ac_conv *c, size_t nbytes, int flush)


# --- audioop compatibility: csrc/audioop_compat.h ---
from libc.stdint cimport int32_t, int64_t, uint32_t


cdef extern from "audioop_compat.h" nogil:
    void ac_aop_init()
    int32_t ac_aop_load(const uint8_t *p, int width)
    size_t ac_aop_count(size_t nbytes, int width)
    uint32_t ac_aop_max(const uint8_t *inp, size_t n, int width)
    void ac_aop_minmax(const uint8_t *inp, size_t n, int width, int32_t *mn, int32_t *mx)
    int32_t ac_aop_avg(const uint8_t *inp, size_t n, int width)
    uint32_t ac_aop_rms(const uint8_t *inp, size_t n, int width)
    uint32_t ac_aop_avgpp(const uint8_t *inp, size_t n, int width)
    uint32_t ac_aop_maxpp(const uint8_t *inp, size_t n, int width)
    Py_ssize_t ac_aop_cross(const uint8_t *inp, size_t n, int width)
    void ac_aop_mul(const uint8_t *inp, uint8_t *out, size_t n, int width, double factor)
    void ac_aop_tomono(const uint8_t *inp, uint8_t *out, size_t frames, int width,
                       double lfactor, double rfactor)
    void ac_aop_tostereo(const uint8_t *inp, uint8_t *out, size_t n, int width,
                         double lfactor, double rfactor)
    void ac_aop_add(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n, int width)
    void ac_aop_bias(const uint8_t *inp, uint8_t *out, size_t n, int width, int32_t bias)
    void ac_aop_reverse(const uint8_t *inp, uint8_t *out, size_t n, int width)
    void ac_aop_byteswap(const uint8_t *inp, uint8_t *out, size_t n, int width)
    void ac_aop_lin2lin(const uint8_t *inp, uint8_t *out, size_t n, int width, int newwidth)
    void ac_aop_lin2ulaw(const uint8_t *inp, uint8_t *out, size_t n, int width)
    void ac_aop_lin2alaw(const uint8_t *inp, uint8_t *out, size_t n, int width)
    void ac_aop_ulaw2lin(const uint8_t *inp, uint8_t *out, size_t n, int width)
    void ac_aop_alaw2lin(const uint8_t *inp, uint8_t *out, size_t n, int width)
    void ac_aop_lin2adpcm(const uint8_t *inp, uint8_t *out, size_t n, int width,
                          int *valpred, int *index)
    void ac_aop_adpcm2lin(const uint8_t *inp, uint8_t *out, size_t nbytes, int width,
                          int *valpred, int *index)
    int64_t ac_aop_ratecv_frames(int d, size_t frames, int inrate, int outrate,
                                 int64_t max_frames)
    void ac_aop_ratecv(const uint8_t *inp, size_t frames, int width, int nchannels,
                       int inrate, int outrate, int weight_a, int weight_b,
                       int *d, int32_t *prev, int32_t *cur, uint8_t *out)
    Py_ssize_t ac_aop_findfit(const uint8_t *a, size_t na, const uint8_t *ref, size_t nr,
                              double *factor)
    double ac_aop_findfactor(const uint8_t *a, const uint8_t *ref, size_t n)
    Py_ssize_t ac_aop_findmax(const uint8_t *a, size_t n, size_t length)
