/* Kernels behind audiocore.audioop: CPython's audioop, bit for bit.
 *
 * Samples are signed integers of `width` bytes (1, 2, 3 or 4) in host byte order;
 * width 3 is packed 24-bit, little-endian on little-endian hosts, as in audioop.
 * Lengths count samples (or frames where named so), never bytes. The callers have
 * already checked widths and lengths: nothing here fails. */
#ifndef AUDIOCORE_AUDIOOP_COMPAT_H
#define AUDIOCORE_AUDIOOP_COMPAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(_MSC_VER)
#define AC_AOP_INLINE static __forceinline
#else
#define AC_AOP_INLINE static inline __attribute__((always_inline))
#endif

/* One raw sample, sign-extended. */
AC_AOP_INLINE int32_t ac_aop_load(const uint8_t *p, int width)
{
    switch (width) {
    case 1:
        return (int8_t)p[0];
    case 2: {
        int16_t v;
        memcpy(&v, p, 2); /* fragments need not be aligned */
        return v;
    }
    case 3:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        return (int32_t)p[2] | ((int32_t)p[1] << 8) | ((int32_t)(int8_t)p[0] * 65536);
#else
        return (int32_t)p[0] | ((int32_t)p[1] << 8) | ((int32_t)(int8_t)p[2] * 65536);
#endif
    default: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    }
}

/* Stores the low `width` bytes of v (wraps, as audioop's stores do). */
AC_AOP_INLINE void ac_aop_store(uint8_t *p, int width, int32_t v)
{
    switch (width) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2: {
        int16_t s = (int16_t)(uint16_t)(uint32_t)v;
        memcpy(p, &s, 2);
        break;
    }
    case 3:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        p[2] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[0] = (uint8_t)(v >> 16);
#else
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        p[2] = (uint8_t)(v >> 16);
#endif
        break;
    default:
        memcpy(p, &v, 4);
        break;
    }
}

/* nbytes / width for widths 1-4 without a hardware divide, which costs more than
 * the rest of a small call. */
AC_AOP_INLINE size_t ac_aop_count(size_t nbytes, int width)
{
    switch (width) {
    case 1:
        return nbytes;
    case 2:
        return nbytes >> 1;
    case 3:
        return nbytes / 3;
    default:
        return nbytes >> 2;
    }
}

/* audioop converts between widths through a 32-bit scale: a sample is moved to the
 * top bits of an int32 on the way in and shifted back (arithmetically, so the
 * extra bits are truncated toward -infinity) on the way out. */
AC_AOP_INLINE int32_t ac_aop_load32(const uint8_t *p, int width)
{
    return (int32_t)((uint32_t)ac_aop_load(p, width) << (32 - 8 * width));
}

AC_AOP_INLINE void ac_aop_store32(uint8_t *p, int width, int32_t v)
{
    ac_aop_store(p, width, v >> (32 - 8 * width));
}

/* (int)x as audioop's C casts compute it, including where C leaves it undefined
 * (NaN, out of range), so that results match CPython built for the same machine:
 * x86's cvttsd2si gives INT32_MIN for all of those; ARM's fcvtzs saturates and
 * gives 0 for NaN. */
AC_AOP_INLINE int32_t ac_aop_trunc32(double x)
{
    if (x > -2147483649.0 && x < 2147483648.0)
        return (int32_t)x;
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
    return INT32_MIN;
#else
    if (x != x)
        return 0;
    return x > 0 ? INT32_MAX : INT32_MIN;
#endif
}

/* Instantiates CALL(W) for the four widths with W a compile-time constant, so
 * that ac_aop_load/store fold to plain loads and stores and loops vectorize. */
#define AC_AOP_BY_WIDTH(width, CALL)                  \
    do {                                              \
        switch (width) {                              \
        case 1: CALL(1); break;                       \
        case 2: CALL(2); break;                       \
        case 3: CALL(3); break;                       \
        default: CALL(4); break;                      \
        }                                             \
    } while (0)

/* Builds the ADPCM tables. Idempotent; call once before the ADPCM kernels (the
 * Python module does so at import, under the GIL). */
void ac_aop_init(void);

/* Analysis. n = number of samples. */
uint32_t ac_aop_max(const uint8_t *in, size_t n, int width);
void ac_aop_minmax(const uint8_t *in, size_t n, int width, int32_t *min, int32_t *max);
int32_t ac_aop_avg(const uint8_t *in, size_t n, int width);   /* n > 0 */
uint32_t ac_aop_rms(const uint8_t *in, size_t n, int width);  /* n > 0 */
uint32_t ac_aop_avgpp(const uint8_t *in, size_t n, int width);
uint32_t ac_aop_maxpp(const uint8_t *in, size_t n, int width);
ptrdiff_t ac_aop_cross(const uint8_t *in, size_t n, int width);

/* Sample-wise transforms; `out` does not alias `in`. */
void ac_aop_mul(const uint8_t *in, uint8_t *out, size_t n, int width, double factor);
void ac_aop_tomono(const uint8_t *in, uint8_t *out, size_t frames, int width,
                   double lfactor, double rfactor);
void ac_aop_tostereo(const uint8_t *in, uint8_t *out, size_t n, int width,
                     double lfactor, double rfactor);
void ac_aop_add(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n, int width);
void ac_aop_bias(const uint8_t *in, uint8_t *out, size_t n, int width, int32_t bias);
void ac_aop_reverse(const uint8_t *in, uint8_t *out, size_t n, int width);
void ac_aop_byteswap(const uint8_t *in, uint8_t *out, size_t n, int width);
void ac_aop_lin2lin(const uint8_t *in, uint8_t *out, size_t n, int width, int newwidth);

/* G.711, through the core's tables (call ac_g711_init() first). One code per sample. */
void ac_aop_lin2ulaw(const uint8_t *in, uint8_t *out, size_t n, int width);
void ac_aop_lin2alaw(const uint8_t *in, uint8_t *out, size_t n, int width);
void ac_aop_ulaw2lin(const uint8_t *in, uint8_t *out, size_t n, int width);
void ac_aop_alaw2lin(const uint8_t *in, uint8_t *out, size_t n, int width);

/* Intel/DVI (IMA) ADPCM, 4 bits per sample, high nibble first. The state is the
 * predicted value (-32768..32767) and the step index (0..88), updated in place.
 * Encoding n samples writes n / 2 bytes (an odd last sample still moves the
 * state); decoding `nbytes` codes writes 2 * nbytes samples. */
void ac_aop_lin2adpcm(const uint8_t *in, uint8_t *out, size_t n, int width,
                      int *valpred, int *index);
void ac_aop_adpcm2lin(const uint8_t *in, uint8_t *out, size_t nbytes, int width,
                      int *valpred, int *index);

/* ratecv on rates already divided by their gcd, and weights by theirs.
 * Returns the number of frames ac_aop_ratecv writes for this state and input, or
 * -1 when that count does not fit in `max_frames`. */
int64_t ac_aop_ratecv_frames(int d, size_t frames, int inrate, int outrate, int64_t max_frames);
/* `d`, `prev` and `cur` (nchannels values each, on the 32-bit scale) are the
 * state, updated in place; `out` has room for ac_aop_ratecv_frames() frames. */
void ac_aop_ratecv(const uint8_t *in, size_t frames, int width, int nchannels,
                   int inrate, int outrate, int weight_a, int weight_b,
                   int *d, int32_t *prev, int32_t *cur, uint8_t *out);

/* 16-bit only. findfit: best offset of `ref` (nr samples) in `a` (na >= nr
 * samples), and the factor there. */
ptrdiff_t ac_aop_findfit(const uint8_t *a, size_t na, const uint8_t *ref, size_t nr,
                         double *factor);
double ac_aop_findfactor(const uint8_t *a, const uint8_t *ref, size_t n);
ptrdiff_t ac_aop_findmax(const uint8_t *a, size_t n, size_t length);

#endif
