/* Intel/DVI (IMA) ADPCM as audioop does it: 4-bit codes, high nibble first, state
 * carried between calls as (predicted value, step index). */
#include "audioop_compat.h"

/* The standard IMA ADPCM tables. */
static const int8_t index_adjust[16] = {
    -1, -1, -1, -1, 2, 4, 6, 8,
    -1, -1, -1, -1, 2, 4, 6, 8,
};

static const int16_t step_size[89] = {
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17,
    19, 21, 23, 25, 28, 31, 34, 37, 41, 45,
    50, 55, 60, 66, 73, 80, 88, 97, 107, 118,
    130, 143, 157, 173, 190, 209, 230, 253, 279, 307,
    337, 371, 408, 449, 494, 544, 598, 658, 724, 796,
    876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066,
    2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358,
    5894, 6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899,
    15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
};

static inline int clamp_index(int i)
{
    return i < 0 ? 0 : (i > 88 ? 88 : i);
}

static inline int clamp16(int v)
{
    return v > 32767 ? 32767 : (v < -32768 ? -32768 : v);
}

/* What one step index implies, precomputed: the three step sizes the coder
 * compares against (step, step >> 1, step >> 2, with audioop's truncating shifts)
 * and, for each 4-bit code, the signed difference both sides reconstruct:
 * step >> 3 plus the sizes whose bits are set. */
typedef struct {
    int32_t s4, s2, s1, s8;
    int32_t delta[16];
} adpcm_step;

static adpcm_step steps[89];

void ac_aop_init(void)
{
    for (int i = 0; i < 89; i++) {
        int step = step_size[i];
        adpcm_step *st = &steps[i];
        st->s4 = step;
        st->s2 = step >> 1;
        st->s1 = step >> 2;
        st->s8 = step >> 3;
        for (int m = 0; m < 8; m++) {
            int d = st->s8 + ((m & 4) ? st->s4 : 0) + ((m & 2) ? st->s2 : 0) + ((m & 1) ? st->s1 : 0);
            st->delta[m] = d;
            st->delta[m | 8] = -d;
        }
    }
}

/* Quantizes one 16-bit sample against the prediction; updates both. The
 * magnitude is found by successive approximation (compare, subtract what was
 * taken). Branches, not arithmetic: on repetitive input the branch predictor
 * takes them off the dependency chain from one sample to the next. */
static inline int encode_one(int sample, int *valpred, int *index)
{
    const adpcm_step *st = &steps[*index];
    int diff = sample - *valpred;
    int code = 0;
    if (diff < 0) {
        code = 8;
        diff = -diff;
    }
    if (diff >= st->s4) {
        code |= 4;
        diff -= st->s4;
    }
    if (diff >= st->s2) {
        code |= 2;
        diff -= st->s2;
    }
    if (diff >= st->s1)
        code |= 1;
    *valpred = clamp16(*valpred + st->delta[code]);
    *index = clamp_index(*index + index_adjust[code]);
    return code;
}

/* The step index follows the codes alone, so its short add-and-clamp chain runs
 * ahead of the reconstruction, which only looks up a table. */
static inline int decode_one(int code, int *valpred, int *index)
{
    int d = steps[*index].delta[code];
    *index = clamp_index(*index + index_adjust[code]);
    *valpred = clamp16(*valpred + d);
    return *valpred;
}

AC_AOP_INLINE void lin2adpcm_w(const uint8_t *in, uint8_t *out, size_t n, const int w,
                               int *valpred, int *index)
{
    int vp = *valpred, ix = *index;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        int hi = encode_one(ac_aop_load32(in + i * w, w) >> 16, &vp, &ix);
        int lo = encode_one(ac_aop_load32(in + (i + 1) * w, w) >> 16, &vp, &ix);
        out[i / 2] = (uint8_t)((hi << 4) | lo);
    }
    if (i < n) /* an odd last sample moves the state; its half byte is dropped */
        encode_one(ac_aop_load32(in + i * w, w) >> 16, &vp, &ix);
    *valpred = vp;
    *index = ix;
}

void ac_aop_lin2adpcm(const uint8_t *in, uint8_t *out, size_t n, int width,
                      int *valpred, int *index)
{
#define CALL(W) lin2adpcm_w(in, out, n, W, valpred, index)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}

AC_AOP_INLINE void adpcm2lin_w(const uint8_t *in, uint8_t *out, size_t nbytes, const int w,
                               int *valpred, int *index)
{
    int vp = *valpred, ix = *index;
    for (size_t i = 0; i < nbytes; i++) {
        int hi = decode_one(in[i] >> 4, &vp, &ix);
        ac_aop_store32(out + 2 * i * w, w, (int32_t)((uint32_t)hi << 16));
        int lo = decode_one(in[i] & 0x0F, &vp, &ix);
        ac_aop_store32(out + (2 * i + 1) * w, w, (int32_t)((uint32_t)lo << 16));
    }
    *valpred = vp;
    *index = ix;
}

void ac_aop_adpcm2lin(const uint8_t *in, uint8_t *out, size_t nbytes, int width,
                      int *valpred, int *index)
{
#define CALL(W) adpcm2lin_w(in, out, nbytes, W, valpred, index)
    AC_AOP_BY_WIDTH(width, CALL);
#undef CALL
}
