#include "channels.h"

static inline int16_t sat16(int32_t v)
{
    return (int16_t)(v > INT16_MAX ? INT16_MAX : (v < INT16_MIN ? INT16_MIN : v));
}

/* floor(a / b) for b > 0; C division truncates toward zero. */
static inline int32_t floor_div(int32_t a, int32_t b)
{
    int32_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

void ac_downmix(const int16_t *in, int16_t *out, size_t frames, int channels)
{
    if (channels == 1) {
        for (size_t i = 0; i < frames; i++)
            out[i] = in[i];
    } else if (channels == 2) {
        /* Arithmetic shift of the sum is floor((l + r) / 2): the mean rounded to -inf. */
        for (size_t i = 0; i < frames; i++)
            out[i] = (int16_t)(((int32_t)in[2 * i] + in[2 * i + 1]) >> 1);
    } else {
        for (size_t i = 0; i < frames; i++) {
            int32_t sum = 0;
            const int16_t *f = in + i * (size_t)channels;
            for (int c = 0; c < channels; c++)
                sum += f[c];
            /* The mean of int16 values is itself within int16 range. */
            out[i] = (int16_t)floor_div(sum, channels);
        }
    }
}

void ac_upmix(const int16_t *in, int16_t *out, size_t frames, int channels)
{
    if (channels == 2) {
        for (size_t i = 0; i < frames; i++) {
            out[2 * i] = in[i];
            out[2 * i + 1] = in[i];
        }
    } else {
        for (size_t i = 0; i < frames; i++)
            for (int c = 0; c < channels; c++)
                out[i * (size_t)channels + c] = in[i];
    }
}

void ac_mix(const int16_t *const *ins, int count, int16_t *out, size_t n)
{
    /* Sum in 32 bits first so that saturation happens once, at the end: mixing
     * +30000, +30000, -30000 gives 30000, not 2767. Blocks keep the partial sums
     * in cache for any number of inputs. */
    enum { BLOCK = 256 };
    int32_t acc[BLOCK];
    for (size_t base = 0; base < n; base += BLOCK) {
        size_t len = n - base < BLOCK ? n - base : BLOCK;
        const int16_t *a = ins[0] + base;
        for (size_t i = 0; i < len; i++)
            acc[i] = a[i];
        for (int k = 1; k < count; k++) {
            const int16_t *b = ins[k] + base;
            for (size_t i = 0; i < len; i++)
                acc[i] += b[i];
        }
        for (size_t i = 0; i < len; i++)
            out[base + i] = sat16(acc[i]);
    }
}
