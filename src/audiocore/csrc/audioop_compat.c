/* Sample-wise kernels of audiocore.audioop: analysis, gain/mix/channel transforms,
 * width and byte-order conversion, G.711. See audioop_compat.h. */
#include "audioop_compat.h"

#include <math.h>

#include "channels.h"
#include "g711.h"

static const double max_of_width[5] = {0, 127.0, 32767.0, 8388607.0, 2147483647.0};
static const double min_of_width[5] = {0, -128.0, -32768.0, -8388608.0, -2147483648.0};

/* Doubles hold every integer up to this magnitude exactly: integer sums that stay
 * within it equal audioop's running double sums, in any order. */
#define EXACT_LIMIT (1ULL << 53)

static inline int aligned_int16(const void *p)
{
    return ((uintptr_t)p & 1) == 0;
}

/* audioop's float-to-sample step: clamp, floor, then (int). Clamping first means
 * only NaN can reach the cast out of range. The floor is done by hand (truncate,
 * then step down if that rounded up) so the loops need no libm call. */
AC_AOP_INLINE int32_t floor_clamp(double v, double lo, double hi)
{
    if (v > hi)
        v = hi;
    else if (v < lo + 1.0)
        v = lo;
    if (v != v)
        return ac_aop_trunc32(v);
    int32_t t = (int32_t)v;
    return t - (v < (double)t);
}

/* ---- analysis ---------------------------------------------------------------- */

AC_AOP_INLINE uint32_t max_w(const uint8_t *in, size_t n, const int w)
{
    uint32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t v = ac_aop_load(in + i * w, w);
        /* Negate in unsigned: |INT32_MIN| is 2^31, which int32 cannot hold. */
        uint32_t a = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
        m = a > m ? a : m;
    }
    return m;
}

uint32_t ac_aop_max(const uint8_t *in, size_t n, int width)
{
#define CALL(W) return max_w(in, n, W)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
    return 0;
}

AC_AOP_INLINE void minmax_w(const uint8_t *in, size_t n, const int w, int32_t *min,
                            int32_t *max)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        int32_t v = ac_aop_load(in + i * w, w);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    *min = lo;
    *max = hi;
}

void ac_aop_minmax(const uint8_t *in, size_t n, int width, int32_t *min, int32_t *max)
{
#define CALL(W) minmax_w(in, n, W, min, max)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE int64_t sum_w(const uint8_t *in, size_t n, const int w)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ac_aop_load(in + i * w, w);
    return s;
}

AC_AOP_INLINE double sum_seq_w(const uint8_t *in, size_t n, const int w)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)ac_aop_load(in + i * w, w);
    return s;
}

int32_t ac_aop_avg(const uint8_t *in, size_t n, int width)
{
    double sum;
    /* |partial sum| <= n * 2^(8w-1): when that is exact in a double, an int64 sum
     * (which vectorizes) equals audioop's sequential double sum. */
    if (n <= (size_t)1 << (54 - 8 * width)) {
#define CALL(W) sum = (double)sum_w(in, n, W)
        AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
    } else {
#define CALL(W) sum = sum_seq_w(in, n, W)
        AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
    }
    return (int32_t)floor(sum / (double)n);
}

AC_AOP_INLINE uint64_t sumsq_w(const uint8_t *in, size_t n, const int w)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t v = ac_aop_load(in + i * w, w);
        s += (uint64_t)(v * v);
    }
    return s;
}

AC_AOP_INLINE double sumsq_seq_w(double s, const uint8_t *in, size_t n, const int w)
{
    for (size_t i = 0; i < n; i++) {
        double v = ac_aop_load(in + i * w, w);
        s += v * v;
    }
    return s;
}

AC_AOP_INLINE double rms_sum_w(const uint8_t *in, size_t n, const int w)
{
    if (w == 4) /* squares of 32-bit samples round: only audioop's order is exact */
        return sumsq_seq_w(0.0, in, n, w);
    /* Squares below 2^47 are exact and the partial sums only grow, so integer
     * blocks match audioop's double sum until the total passes 2^53; from the
     * block where it would, continue in audioop's order. 256 squares < 2^55. */
    enum { BLOCK = 256 };
    uint64_t total = 0;
    for (size_t base = 0; base < n; base += BLOCK) {
        size_t len = n - base < BLOCK ? n - base : BLOCK;
        uint64_t s = sumsq_w(in + base * w, len, w);
        if (total + s > EXACT_LIMIT)
            return sumsq_seq_w((double)total, in + base * w, n - base, w);
        total += s;
    }
    return (double)total;
}

uint32_t ac_aop_rms(const uint8_t *in, size_t n, int width)
{
    double s;
#define CALL(W) s = rms_sum_w(in, n, W)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
    return (uint32_t)sqrt(s / (double)n);
}

/* Peak-to-peak: walks the turning points of the signal (where it stops rising and
 * starts falling or the reverse; flat runs do not count) and measures each swing
 * between consecutive turning points. The first turning point only starts the
 * measurement.
 *
 * Kept branchy on purpose: measured, branch-free versions lose on repeated frames,
 * where the predictor learns the turning points. audioop sums the swings in a
 * double; each is below 2^32, so below 2^21 swings an integer sum is exact and
 * equal, and keeps the floating-point add off the loop. */
#define SWINGS_BODY(ACC_T, ADD)                                                      \
    ACC_T total = 0;                                                                 \
    uint32_t k = 0, top = 0;                                                         \
    int32_t prev = ac_aop_load(in, w), extreme = 0;                                  \
    int falling = -1; /* direction unknown until the first change */                \
    int have_extreme = 0;                                                            \
    for (size_t i = 1; i < n; i++) {                                                 \
        int32_t v = ac_aop_load(in + i * w, w);                                      \
        if (v == prev)                                                               \
            continue;                                                                \
        int down = v < prev;                                                         \
        if (falling == !down) {                                                      \
            if (have_extreme) {                                                      \
                uint32_t swing = prev < extreme ? (uint32_t)extreme - (uint32_t)prev \
                                                : (uint32_t)prev - (uint32_t)extreme; \
                ADD(total, swing);                                                   \
                k++;                                                                 \
                top = swing > top ? swing : top;                                     \
            }                                                                        \
            have_extreme = 1;                                                        \
            extreme = prev;                                                          \
        }                                                                            \
        prev = v;                                                                    \
        falling = down;                                                              \
    }                                                                                \
    *sum = (double)total;                                                            \
    *count = k;                                                                      \
    *max = top

#define ADD_INT(acc, x) acc += x
#define ADD_DOUBLE(acc, x) acc += (double)(x)

AC_AOP_INLINE void swings_w(const uint8_t *in, size_t n, const int w, double *sum,
                            uint32_t *count, uint32_t *max)
{
    SWINGS_BODY(uint64_t, ADD_INT);
}

/* In audioop's order, for fragments long enough for its double sum to round. */
AC_AOP_INLINE void swings_seq_w(const uint8_t *in, size_t n, const int w, double *sum,
                                uint32_t *count, uint32_t *max)
{
    SWINGS_BODY(double, ADD_DOUBLE);
}

#define SWINGS_EXACT_MAX ((size_t)1 << 21)

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>

/* Without flat steps, sample i-1 is a turning point exactly when the direction of
 * the step into sample i differs from that of the step before: for 16 samples at
 * a time, two vector compares and a bit mask. Gathers the turning points of
 * samples [i, end) into tp and returns how many; notes any flat step. */
AC_AOP_INLINE size_t turning_points16(const uint8_t *in, size_t i, size_t end, int32_t *tp,
                                      __m128i *flat, int *flat_tail)
{
    size_t m = 0;
    for (; i + 16 <= end; i += 16) {
        const uint8_t *p = in + 2 * i;
        __m128i c0 = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i c1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
        __m128i b0 = _mm_loadu_si128((const __m128i *)(const void *)(p - 2));
        __m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 14));
        __m128i a0 = _mm_loadu_si128((const __m128i *)(const void *)(p - 4));
        __m128i a1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 12));
        *flat = _mm_or_si128(*flat, _mm_or_si128(_mm_cmpeq_epi16(c0, b0), _mm_cmpeq_epi16(c1, b1)));
        __m128i f0 = _mm_xor_si128(_mm_cmpgt_epi16(c0, b0), _mm_cmpgt_epi16(b0, a0));
        __m128i f1 = _mm_xor_si128(_mm_cmpgt_epi16(c1, b1), _mm_cmpgt_epi16(b1, a1));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(f0, f1));
        while (mask) {
            unsigned bit = (unsigned)__builtin_ctz(mask);
            mask &= mask - 1;
            tp[m++] = ac_aop_load(p + 2 * bit - 2, 2);
        }
    }
    for (; i < end; i++) {
        int32_t c = ac_aop_load(in + 2 * i, 2), b = ac_aop_load(in + 2 * i - 2, 2),
                a = ac_aop_load(in + 2 * i - 4, 2);
        *flat_tail |= c == b;
        if ((c > b) != (b > a))
            tp[m++] = b;
    }
    return m;
}

AC_AOP_INLINE uint32_t absdiff(int32_t a, int32_t b)
{
    return a < b ? (uint32_t)b - (uint32_t)a : (uint32_t)a - (uint32_t)b;
}

/* The turning points are gathered a chunk at a time and then measured in a loop
 * with no dependency between iterations but the sums. Returns 0, having computed
 * nothing useful, if the fragment has a flat step after all. */
static int swings16_noflat(const uint8_t *in, size_t n, double *sum, uint32_t *count,
                           uint32_t *max)
{
    enum { CHUNK = 2048 };
    int32_t tp[CHUNK]; /* at most one turning point per sample */
    uint64_t total = 0;
    uint32_t k = 0, top = 0;
    int32_t last = 0;
    __m128i flat = _mm_setzero_si128();
    int flat_tail = ac_aop_load(in + 2, 2) == ac_aop_load(in, 2);
    for (size_t i = 2; i < n; i += CHUNK) {
        size_t m = turning_points16(in, i, n - i < CHUNK ? n : i + CHUNK, tp, &flat, &flat_tail);
        if (m == 0)
            continue;
        if (k) { /* the swing from the previous chunk's last turning point */
            uint32_t s = absdiff(tp[0], last);
            total += s;
            top = s > top ? s : top;
        }
        for (size_t j = 1; j < m; j++) {
            uint32_t s = absdiff(tp[j], tp[j - 1]);
            total += s;
            top = s > top ? s : top;
        }
        last = tp[m - 1];
        k += (uint32_t)m;
    }
    if (flat_tail || _mm_movemask_epi8(flat))
        return 0;
    *sum = (double)total;
    *count = k ? k - 1 : 0; /* swings are between consecutive turning points */
    *max = top;
    return 1;
}
#define HAVE_SWINGS16_NOFLAT 1
#endif

static void swings(const uint8_t *in, size_t n, int width, double *sum, uint32_t *count,
                   uint32_t *max)
{
    if (n >= SWINGS_EXACT_MAX) {
#define CALL(W) swings_seq_w(in, n, W, sum, count, max)
        AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
        return;
    }
#ifdef HAVE_SWINGS16_NOFLAT
    if (width == 2 && n >= 3 && swings16_noflat(in, n, sum, count, max))
        return;
#endif
#define CALL(W) swings_w(in, n, W, sum, count, max)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

uint32_t ac_aop_avgpp(const uint8_t *in, size_t n, int width)
{
    double sum;
    uint32_t count, max;
    if (n <= 1)
        return 0;
    swings(in, n, width, &sum, &count, &max);
    return count == 0 ? 0 : (uint32_t)(sum / (double)count);
}

uint32_t ac_aop_maxpp(const uint8_t *in, size_t n, int width)
{
    double sum;
    uint32_t count, max;
    if (n <= 1)
        return 0;
    swings(in, n, width, &sum, &count, &max);
    return max;
}

AC_AOP_INLINE size_t sign_changes_w(const uint8_t *in, size_t n, const int w)
{
    size_t c = 0;
    for (size_t i = 1; i < n; i++)
        c += (ac_aop_load(in + i * w, w) < 0) != (ac_aop_load(in + (i - 1) * w, w) < 0);
    return c;
}

ptrdiff_t ac_aop_cross(const uint8_t *in, size_t n, int width)
{
    size_t c;
    if (n == 0)
        return -1; /* audioop counts the first sample as a crossing from "unknown" */
#define CALL(W) c = sign_changes_w(in, n, W)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
    return (ptrdiff_t)c;
}

/* ---- transforms --------------------------------------------------------------- */

AC_AOP_INLINE void mul_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                         double factor)
{
    const double lo = min_of_width[w], hi = max_of_width[w];
    for (size_t i = 0; i < n; i++) {
        double v = (double)ac_aop_load(in + i * w, w) * factor;
        ac_aop_store(out + i * w, w, floor_clamp(v, lo, hi));
    }
}

void ac_aop_mul(const uint8_t *in, uint8_t *out, size_t n, int width, double factor)
{
#define CALL(W) mul_w(in, out, n, W, factor)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void tomono_w(const uint8_t *in, uint8_t *out, size_t frames, const int w,
                            double lf, double rf)
{
    const double lo = min_of_width[w], hi = max_of_width[w];
    for (size_t i = 0; i < frames; i++) {
        double l = (double)ac_aop_load(in + 2 * i * w, w);
        double r = (double)ac_aop_load(in + (2 * i + 1) * w, w);
        ac_aop_store(out + i * w, w, floor_clamp(l * lf + r * rf, lo, hi));
    }
}

void ac_aop_tomono(const uint8_t *in, uint8_t *out, size_t frames, int width,
                   double lfactor, double rfactor)
{
    /* l * 0.5 + r * 0.5 is exactly (l + r) / 2, and its floor is the core
     * downmix's rounding. */
    if (width == 2 && lfactor == 0.5 && rfactor == 0.5 && aligned_int16(in) && aligned_int16(out)) {
        ac_downmix((const int16_t *)(const void *)in, (int16_t *)(void *)out, frames, 2);
        return;
    }
#define CALL(W) tomono_w(in, out, frames, W, lfactor, rfactor)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void tostereo_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                              double lf, double rf)
{
    const double lo = min_of_width[w], hi = max_of_width[w];
    for (size_t i = 0; i < n; i++) {
        double v = (double)ac_aop_load(in + i * w, w);
        ac_aop_store(out + 2 * i * w, w, floor_clamp(v * lf, lo, hi));
        ac_aop_store(out + (2 * i + 1) * w, w, floor_clamp(v * rf, lo, hi));
    }
}

void ac_aop_tostereo(const uint8_t *in, uint8_t *out, size_t n, int width,
                     double lfactor, double rfactor)
{
    if (width == 2 && lfactor == 1.0 && rfactor == 1.0 && aligned_int16(in) && aligned_int16(out)) {
        ac_upmix((const int16_t *)(const void *)in, (int16_t *)(void *)out, n, 2);
        return;
    }
#define CALL(W) tostereo_w(in, out, n, W, lfactor, rfactor)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

/* audioop adds 32-bit samples in double, but the sum of two int32 is exact there,
 * so saturating integer addition gives the same result for every width. */
AC_AOP_INLINE void add_w(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n,
                         const int w)
{
    const int64_t lo = (int64_t)min_of_width[w], hi = (int64_t)max_of_width[w];
    for (size_t i = 0; i < n; i++) {
        int64_t s = (int64_t)ac_aop_load(a + i * w, w) + ac_aop_load(b + i * w, w);
        s = s > hi ? hi : (s < lo ? lo : s);
        ac_aop_store(out + i * w, w, (int32_t)s);
    }
}

void ac_aop_add(const uint8_t *a, const uint8_t *b, uint8_t *out, size_t n, int width)
{
    if (width == 2 && aligned_int16(a) && aligned_int16(b) && aligned_int16(out)) {
        const int16_t *ins[2] = {(const int16_t *)(const void *)a,
                                 (const int16_t *)(const void *)b};
        ac_mix(ins, 2, (int16_t *)(void *)out, n);
        return;
    }
#define CALL(W) add_w(a, b, out, n, W)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

/* Wraps around: bias is added modulo 2^(8 * width), as in audioop. */
AC_AOP_INLINE void bias_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                          uint32_t bias)
{
    for (size_t i = 0; i < n; i++)
        ac_aop_store(out + i * w, w,
                     (int32_t)((uint32_t)ac_aop_load(in + i * w, w) + bias));
}

void ac_aop_bias(const uint8_t *in, uint8_t *out, size_t n, int width, int32_t bias)
{
#define CALL(W) bias_w(in, out, n, W, (uint32_t)bias)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void reverse_w(const uint8_t *in, uint8_t *out, size_t n, const int w)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + (n - 1 - i) * w, in + i * w, w);
}

void ac_aop_reverse(const uint8_t *in, uint8_t *out, size_t n, int width)
{
#define CALL(W) reverse_w(in, out, n, W)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void byteswap_w(const uint8_t *in, uint8_t *out, size_t n, const int w)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < w; j++)
            out[i * w + j] = in[i * w + (w - 1 - j)];
}

void ac_aop_byteswap(const uint8_t *in, uint8_t *out, size_t n, int width)
{
#define CALL(W) byteswap_w(in, out, n, W)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void lin2lin_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                             const int nw)
{
    for (size_t i = 0; i < n; i++)
        ac_aop_store32(out + i * nw, nw, ac_aop_load32(in + i * w, w));
}

AC_AOP_INLINE void lin2lin_from_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                                  int newwidth)
{
#define CALL(NW) lin2lin_w(in, out, n, w, NW)
    AC_AOP_BY_WIDTH(newwidth, CALL);
#undef CALL
}

void ac_aop_lin2lin(const uint8_t *in, uint8_t *out, size_t n, int width, int newwidth)
{
    if (width == newwidth) {
        memcpy(out, in, n * (size_t)width);
        return;
    }
#define CALL(W) lin2lin_from_w(in, out, n, W, newwidth)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

/* ---- G.711 ---------------------------------------------------------------------- */

/* audioop encodes from the top 14 (mu-law) or 13 (A-law) bits of the 32-bit-scaled
 * sample, which are the top bits of its 16-bit truncation: the core's width-2
 * tables serve every width.
 *
 * The loops look up several samples before storing any: a store to `out` (bytes
 * may alias anything, the tables included) keeps later lookups from starting
 * before it, which halves the speed of a plain one-at-a-time table loop. */
enum { G711_BLOCK = 8 };

/* A 16-bit value at another width, as lin2lin(..., 2, w) would give it. */
AC_AOP_INLINE int32_t ac_aop_width_of16(int16_t v, const int w)
{
    return w == 2 ? v : (int32_t)((uint32_t)(uint16_t)v << 16) >> (32 - 8 * w);
}

AC_AOP_INLINE void lin2g711_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                              const int alaw)
{
    size_t i = 0;
    for (; i + G711_BLOCK <= n; i += G711_BLOCK) {
        uint8_t codes[G711_BLOCK];
        for (int j = 0; j < G711_BLOCK; j++) {
            int16_t s = (int16_t)(ac_aop_load32(in + (i + j) * w, w) >> 16);
            codes[j] = alaw ? ac_alaw_of(s) : ac_ulaw_of(s);
        }
        memcpy(out + i, codes, G711_BLOCK);
    }
    for (; i < n; i++) {
        int16_t s = (int16_t)(ac_aop_load32(in + i * w, w) >> 16);
        out[i] = alaw ? ac_alaw_of(s) : ac_ulaw_of(s);
    }
}

void ac_aop_lin2ulaw(const uint8_t *in, uint8_t *out, size_t n, int width)
{
#define CALL(W) lin2g711_w(in, out, n, W, 0)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

void ac_aop_lin2alaw(const uint8_t *in, uint8_t *out, size_t n, int width)
{
#define CALL(W) lin2g711_w(in, out, n, W, 1)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void g7112lin_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                              const int16_t *table)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        int16_t a = table[in[i]], b = table[in[i + 1]], c = table[in[i + 2]],
                d = table[in[i + 3]];
        ac_aop_store(out + i * w, w, ac_aop_width_of16(a, w));
        ac_aop_store(out + (i + 1) * w, w, ac_aop_width_of16(b, w));
        ac_aop_store(out + (i + 2) * w, w, ac_aop_width_of16(c, w));
        ac_aop_store(out + (i + 3) * w, w, ac_aop_width_of16(d, w));
    }
    for (; i < n; i++)
        ac_aop_store(out + i * w, w, ac_aop_width_of16(table[in[i]], w));
}

void ac_aop_ulaw2lin(const uint8_t *in, uint8_t *out, size_t n, int width)
{
#define CALL(W) g7112lin_w(in, out, n, W, ac_ulaw_dec_table)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

void ac_aop_alaw2lin(const uint8_t *in, uint8_t *out, size_t n, int width)
{
#define CALL(W) g7112lin_w(in, out, n, W, ac_alaw_dec_table)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}
