/* findfit / findfactor / findmax: least-squares matching on 16-bit samples.
 *
 * audioop accumulates products of int16 samples one by one in a double. Each
 * product is below 2^30, so while a sum covers fewer than 2^22 samples every
 * partial sum is an integer below 2^52 and the double arithmetic is exact: an int64
 * sum (which the compiler can vectorize) gives the same double. Longer windows take
 * audioop's own order of operations. */
#include "audioop_compat.h"

#define EXACT_SAMPLES ((size_t)1 << 22)

static inline int16_t s16(const uint8_t *p, size_t i)
{
    int16_t v;
    memcpy(&v, p + 2 * i, 2);
    return v;
}

static int64_t dot_int(const uint8_t *a, const uint8_t *b, size_t n)
{
    int64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += (int32_t)s16(a, i) * (int32_t)s16(b, i);
    return s;
}

static double dot_seq(const uint8_t *a, const uint8_t *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s = s + (double)s16(a, i) * (double)s16(b, i);
    return s;
}

static double dot(const uint8_t *a, const uint8_t *b, size_t n)
{
    return n < EXACT_SAMPLES ? (double)dot_int(a, b, n) : dot_seq(a, b, n);
}

/* Residual energy of the best fit of ref at one offset, scaled by the energy of the
 * window (audioop's criterion, kept as is so that ties and NaNs compare alike). */
static inline double misfit(double ref_energy, double win_energy, double cross)
{
    return (ref_energy * win_energy - cross * cross) / win_energy;
}

ptrdiff_t ac_aop_findfit(const uint8_t *a, size_t na, const uint8_t *ref, size_t nr,
                         double *factor)
{
    const int exact = nr < EXACT_SAMPLES;
    const double ref_energy = dot(ref, ref, nr);
    /* The window energy slides: add the sample entering, drop the one leaving. */
    int64_t win_int = exact ? dot_int(a, a, nr) : 0;
    double win = exact ? (double)win_int : dot_seq(a, a, nr);
    double best = misfit(ref_energy, win, dot(a, ref, nr));
    size_t best_j = 0;
    for (size_t j = 1; j + nr <= na; j++) {
        double enter = s16(a, j + nr - 1), leave = s16(a, j - 1);
        if (exact) {
            win_int += (int64_t)enter * (int64_t)enter - (int64_t)leave * (int64_t)leave;
            win = (double)win_int;
        } else {
            win = win + enter * enter - leave * leave;
        }
        double r = misfit(ref_energy, win, dot(a + 2 * j, ref, nr));
        if (r < best) {
            best = r;
            best_j = j;
        }
    }
    *factor = dot(a + 2 * best_j, ref, nr) / ref_energy;
    return (ptrdiff_t)best_j;
}

double ac_aop_findfactor(const uint8_t *a, const uint8_t *ref, size_t n)
{
    double cross = dot(a, ref, n);
    return cross / dot(ref, ref, n);
}

ptrdiff_t ac_aop_findmax(const uint8_t *a, size_t n, size_t length)
{
    size_t best_j = 0;
    if (length < EXACT_SAMPLES) {
        int64_t e = dot_int(a, a, length), best = e;
        for (size_t j = 1; j + length <= n; j++) {
            int64_t enter = s16(a, j + length - 1), leave = s16(a, j - 1);
            e += enter * enter - leave * leave;
            if (e > best) {
                best = e;
                best_j = j;
            }
        }
    } else {
        double e = dot_seq(a, a, length), best = e;
        for (size_t j = 1; j + length <= n; j++) {
            double enter = s16(a, j + length - 1), leave = s16(a, j - 1);
            e = e + enter * enter - leave * leave;
            if (e > best) {
                best = e;
                best_j = j;
            }
        }
    }
    return (ptrdiff_t)best_j;
}
