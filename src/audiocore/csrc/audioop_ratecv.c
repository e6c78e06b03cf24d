/* audioop.ratecv: linear interpolation between consecutive input frames, with an
 * optional one-pole smoothing of the input, no anti-alias filter.
 *
 * The state is a phase counter d and, per channel, the previous and current input
 * samples (32-bit scale). While d < 0 an input frame is taken (d += outrate); while
 * d >= 0 a frame is emitted at phase d / outrate between them (d -= inrate). */
#include "audioop_compat.h"

static inline int64_t floor_div64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t ac_aop_ratecv_frames(int d, size_t frames, int inrate, int outrate, int64_t max_frames)
{
    /* Every input frame is consumed and frames are emitted until d < 0 again, so
     * the count is the number of n >= 0 with d + frames*outrate - n*inrate >= 0,
     * i.e. floor((d + frames*outrate) / inrate) + 1, or 0. frames*outrate can
     * overflow, so split frames = a*inrate + b first. A state with d >= 0 (only
     * ever passed in by hand) emits before any input is read; audioop sizes its
     * buffer without that and writes past it, here it is simply counted. */
    int64_t a = (int64_t)(frames / (size_t)inrate);
    int64_t b = (int64_t)(frames % (size_t)inrate);
    int64_t rest = floor_div64((int64_t)d + b * outrate, inrate) + 1; /* |.| < 2^32 */
    if (a > (INT64_MAX - ((int64_t)1 << 33)) / outrate)
        return -1;
    int64_t n = a * outrate + rest;
    if (n < 0)
        return 0;
    return n > max_frames ? -1 : n;
}

AC_AOP_INLINE void ratecv_w(const uint8_t *in, size_t frames, const int w, const int nch,
                            int inrate, int outrate, int weight_a, int weight_b, int *dp,
                            int32_t *prev, int32_t *cur, uint8_t *out)
{
    const double wa = weight_a, wb = weight_b, wsum = (double)weight_a + (double)weight_b;
    /* Weights reduced by their gcd are (1, 0) for plain interpolation, where the
     * smoothing below is the identity. */
    const int smooth = !(weight_a == 1 && weight_b == 0);
    const double orate = outrate;
    int d = *dp;
    for (;;) {
        while (d < 0) {
            if (frames == 0) {
                *dp = d;
                return;
            }
            for (int c = 0; c < nch; c++) {
                int32_t x = ac_aop_load32(in, w);
                in += w;
                prev[c] = cur[c];
                cur[c] = smooth ? ac_aop_trunc32((wa * (double)x + wb * (double)prev[c]) / wsum)
                                : x;
            }
            frames--;
            d += outrate;
        }
        while (d >= 0) {
            const double dd = d, rd = (double)(outrate - d);
            for (int c = 0; c < nch; c++) {
                double y = ((double)prev[c] * dd + (double)cur[c] * rd) / orate;
                ac_aop_store32(out, w, ac_aop_trunc32(y));
                out += w;
            }
            d -= inrate;
        }
    }
}

void ac_aop_ratecv(const uint8_t *in, size_t frames, int width, int nchannels,
                   int inrate, int outrate, int weight_a, int weight_b,
                   int *d, int32_t *prev, int32_t *cur, uint8_t *out)
{
    /* Mono and stereo get their own loops with the channel count folded in. */
#define CALL(W) ratecv_w(in, frames, W, NCH, inrate, outrate, weight_a, weight_b, d, prev, cur, out)
    if (nchannels == 1) {
        enum { NCH = 1 };
        AC_AOP_BY_WIDTH(width, CALL);
    } else if (nchannels == 2) {
        enum { NCH = 2 };
        AC_AOP_BY_WIDTH(width, CALL);
    } else {
        const int NCH = nchannels;
        AC_AOP_BY_WIDTH(width, CALL);
    }
#undef CALL
}
