#include "polyphase.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Rate pairs whose reduced output factor L is at most this get one exact phase per
 * output position (every voice pair: 44.1k<->16k has L = 160 or 441). Beyond it the
 * phase is interpolated linearly between INTERP_PHASES + 1 stored phases. */
#define MAX_EXACT_PHASES 1024
#define INTERP_PHASES 512
#define MAX_TAPS 8192
/* Input frames converted to float per pass; bounds the per-stream scratch. */
#define BLOCK 2048
/* Every output is the same arithmetic whichever path computes it: taps in blocks of
 * LANES = 16, two 8-wide partial sums (taps 0-7 and 8-15 of each block) summed in
 * block order, then added lane-wise and reduced in a fixed order. Batched paths that
 * share loads between outputs therefore give the same bits as the single path, and
 * output never depends on how input was chunked. Taps are zero-padded to LANES. */
#define LANES 16

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
/* AVX2 where the CPU has it, SSE2 otherwise. The lane-wise sums below make both
 * round identically (and -ffp-contract=off forbids FMA), so output does not depend
 * on the CPU. */
#define AC_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define AC_MULTIVERSION
#endif

struct ac_rt_filter {
    int in_rate, out_rate;
    int64_t L, M;   /* out/in = L/M, reduced */
    int phases;     /* stored phases: L (exact) or INTERP_PHASES + 1 */
    int exact;
    int identity;   /* in_rate == out_rate */
    int taps;       /* per phase, multiple of LANES; 0 when identity */
    float *coefs;   /* phases x taps, each phase reversed for an ascending dot */
    double delay_s;
    int64_t tail_in; /* input samples of zeros that flush() feeds */
};

struct ac_rt {
    const ac_rt_filter *f;
    int channels;
    float *buf;     /* channels planes of (taps - 1 + BLOCK) */
    size_t plane;
    int64_t need;   /* buffer offset of the oldest input the next output reads */
    int64_t phase;  /* (n * M) mod L for the next output n */
};

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static double bessel_i0(double x)
{
    /* Power series; converges fast for the beta values used here (< 15). */
    double sum = 1.0, term = 1.0, q = x * x / 4.0;
    for (int k = 1; k < 200; k++) {
        term *= q / ((double)k * k);
        sum += term;
        if (term < sum * 1e-17)
            break;
    }
    return sum;
}

static void *alloc_aligned(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
        return NULL;
    return p;
}

ac_rt_filter *ac_rt_filter_new(int in_rate, int out_rate, double atten_db,
                               double pass_frac, const char **error)
{
    if (in_rate <= 0 || out_rate <= 0) {
        *error = "rates must be positive";
        return NULL;
    }
    ac_rt_filter *f = calloc(1, sizeof *f);
    if (!f) {
        *error = "out of memory";
        return NULL;
    }
    int64_t g = gcd64(in_rate, out_rate);
    f->in_rate = in_rate;
    f->out_rate = out_rate;
    f->L = out_rate / g;
    f->M = in_rate / g;
    if (f->L == f->M) {
        /* Equal rates: a plain copy, no filter and no delay. */
        f->identity = 1;
        f->exact = 1;
        return f;
    }
    f->exact = f->L <= MAX_EXACT_PHASES;
    int P = f->exact ? (int)f->L : INTERP_PHASES;
    f->phases = f->exact ? P : P + 1;

    /* Prototype lowpass at the virtual rate F = P * in_rate. The stopband starts at
     * the lower Nyquist frequency so that nothing aliases; the passband ends at
     * pass_frac of it. */
    double nyq = 0.5 * (in_rate < out_rate ? in_rate : out_rate);
    double F = (double)P * in_rate;
    double df = (1.0 - pass_frac) * nyq;
    double fc = 0.5 * (1.0 + pass_frac) * nyq;
    double beta = atten_db > 50 ? 0.1102 * (atten_db - 8.7)
                : 0.5842 * pow(atten_db - 21, 0.4) + 0.07886 * (atten_db - 21);
    /* Kaiser's length estimate, in samples at F. */
    double n_req = (atten_db - 7.95) / (2.285 * 2.0 * M_PI * df / F) + 1.0;
    int64_t N;
    if (f->exact) {
        /* N - 1 = 2 M q makes the group delay q whole output samples, so streams can
         * be aligned with a reference by a plain shift. */
        int64_t q = (int64_t)ceil((n_req - 1.0) / (2.0 * f->M));
        if (q < 1)
            q = 1;
        N = 2 * f->M * q + 1;
    } else {
        N = (int64_t)ceil(n_req) | 1;
    }
    int64_t taps = (N + P - 1) / P + 1;
    taps = (taps + LANES - 1) / LANES * LANES;
    if (taps > MAX_TAPS) {
        free(f);
        *error = "rate ratio too extreme for the realtime engine (filter too long); "
                 "use engine='soxr'";
        return NULL;
    }
    f->taps = (int)taps;
    f->coefs = alloc_aligned((size_t)f->phases * f->taps * sizeof(float));
    if (!f->coefs) {
        free(f);
        *error = "out of memory";
        return NULL;
    }
    double center = 0.5 * (double)(N - 1);
    double wc = 2.0 * fc / F; /* cutoff in cycles per sample at F, times 2 */
    double i0b = bessel_i0(beta);
    double sum = 0.0;
    double *h = malloc((size_t)f->phases * f->taps * sizeof(double));
    if (!h) {
        free(f->coefs);
        free(f);
        *error = "out of memory";
        return NULL;
    }
    for (int p = 0; p < f->phases; p++) {
        for (int j = 0; j < f->taps; j++) {
            /* Tap j of phase p weighs x[i - (taps-1-j)]: prototype index k*P + p. */
            int64_t m = (int64_t)(f->taps - 1 - j) * P + p;
            double v = 0.0;
            if (m < N) {
                double t = (double)m - center;
                double r = t / center;
                double w = bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / i0b;
                double x = M_PI * wc * t;
                v = wc * (t == 0.0 ? 1.0 : sin(x) / x) * w;
                if (p < P)
                    sum += v;
            }
            h[(size_t)p * f->taps + j] = v;
        }
    }
    /* Unity gain at DC: the P phases together sum to P, each to about 1. */
    double scale = (double)P / sum;
    for (size_t i = 0; i < (size_t)f->phases * f->taps; i++)
        f->coefs[i] = (float)(h[i] * scale);
    free(h);
    f->delay_s = center / F;
    f->tail_in = (int64_t)ceil(center / P) + 1;
    return f;
}

void ac_rt_filter_free(ac_rt_filter *f)
{
    if (f) {
        free(f->coefs);
        free(f);
    }
}

double ac_rt_filter_delay(const ac_rt_filter *f) { return f->delay_s; }
int ac_rt_filter_taps(const ac_rt_filter *f) { return f->taps; }
int ac_rt_filter_phases(const ac_rt_filter *f) { return f->phases; }
int ac_rt_filter_exact(const ac_rt_filter *f) { return f->exact; }

ac_rt *ac_rt_new(const ac_rt_filter *f, int channels)
{
    ac_rt *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->f = f;
    s->channels = channels;
    s->plane = (size_t)(f->taps ? f->taps - 1 : 0) + BLOCK;
    s->plane = (s->plane + 15) / 16 * 16; /* keep every plane 64-byte aligned */
    s->buf = alloc_aligned(s->plane * channels * sizeof(float));
    if (!s->buf) {
        free(s);
        return NULL;
    }
    ac_rt_reset(s);
    return s;
}

void ac_rt_free(ac_rt *s)
{
    if (s) {
        free(s->buf);
        free(s);
    }
}

void ac_rt_reset(ac_rt *s)
{
    /* The history starts as silence: output begins at once, delayed by the filter. */
    memset(s->buf, 0, s->plane * s->channels * sizeof(float));
    s->need = 0;
    s->phase = 0;
}

size_t ac_rt_output_frames(const ac_rt *s, size_t frames)
{
    const ac_rt_filter *f = s->f;
    if (f->identity)
        return frames;
    /* Output j of this call reads up to input need + (phase + j M) / L, so it exists
     * while need L + phase + j M < frames L. */
    int64_t room = (int64_t)frames * f->L - s->need * f->L - s->phase;
    return room <= 0 ? 0 : (size_t)((room + f->M - 1) / f->M);
}

size_t ac_rt_flush_input(const ac_rt *s) { return (size_t)s->f->tail_in; }

#if defined(__GNUC__)
/* 8 floats; aligned(4) allows unaligned loads of the sliding input window. Without
 * AVX the compiler splits each operation into two 4-wide halves, lane by lane, so
 * the arithmetic (and the result) is the same on every target. */
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));
#define LD(p) (*(const v8f *)(p))
/* The kernels must be compiled inside each target clone of their caller (AVX2 or
 * SSE2), never as one out-of-line SSE2 copy. */
#define KERNEL static inline __attribute__((always_inline))

KERNEL float hsum(v8f a, v8f b)
{
    v8f t = a + b;
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

KERNEL float dot(const float *x, const float *h, int n)
{
    v8f a = {0}, b = {0};
    for (int k = 0; k < n; k += LANES) {
        a += LD(x + k) * LD(h + k);
        b += LD(x + k + 8) * LD(h + k + 8);
    }
    return hsum(a, b);
}

/* Four outputs with one filter (decimation: every output uses phase 0). */
KERNEL void dot4_h(const float *x0, const float *x1, const float *x2,
                          const float *x3, const float *h, int n, float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
    for (int k = 0; k < n; k += LANES) {
        v8f hl = LD(h + k), hh = LD(h + k + 8);
        a0 += LD(x0 + k) * hl;
        b0 += LD(x0 + k + 8) * hh;
        a1 += LD(x1 + k) * hl;
        b1 += LD(x1 + k + 8) * hh;
        a2 += LD(x2 + k) * hl;
        b2 += LD(x2 + k + 8) * hh;
        a3 += LD(x3 + k) * hl;
        b3 += LD(x3 + k + 8) * hh;
    }
    y[0] = hsum(a0, b0);
    y[1] = hsum(a1, b1);
    y[2] = hsum(a2, b2);
    y[3] = hsum(a3, b3);
}

/* Two or four outputs at one input position (integer upsampling: phases 0..L-1). */
KERNEL void dot2_x(const float *x, const float *h0, const float *h1, int n,
                          float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0};
    for (int k = 0; k < n; k += LANES) {
        v8f xl = LD(x + k), xh = LD(x + k + 8);
        a0 += xl * LD(h0 + k);
        b0 += xh * LD(h0 + k + 8);
        a1 += xl * LD(h1 + k);
        b1 += xh * LD(h1 + k + 8);
    }
    y[0] = hsum(a0, b0);
    y[1] = hsum(a1, b1);
}

KERNEL void dot4_x(const float *x, const float *h0, const float *h1,
                          const float *h2, const float *h3, int n, float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
    for (int k = 0; k < n; k += LANES) {
        v8f xl = LD(x + k), xh = LD(x + k + 8);
        a0 += xl * LD(h0 + k);
        b0 += xh * LD(h0 + k + 8);
        a1 += xl * LD(h1 + k);
        b1 += xh * LD(h1 + k + 8);
        a2 += xl * LD(h2 + k);
        b2 += xh * LD(h2 + k + 8);
        a3 += xl * LD(h3 + k);
        b3 += xh * LD(h3 + k + 8);
    }
    y[0] = hsum(a0, b0);
    y[1] = hsum(a1, b1);
    y[2] = hsum(a2, b2);
    y[3] = hsum(a3, b3);
}
#else
/* Same lanes and the same summation order as the vector version. */
static inline float dot(const float *x, const float *h, int n)
{
    float a[8] = {0}, b[8] = {0}, t[8];
    for (int k = 0; k < n; k += LANES)
        for (int j = 0; j < 8; j++) {
            a[j] += x[k + j] * h[k + j];
            b[j] += x[k + 8 + j] * h[k + 8 + j];
        }
    for (int j = 0; j < 8; j++)
        t[j] = a[j] + b[j];
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

static inline void dot4_h(const float *x0, const float *x1, const float *x2,
                          const float *x3, const float *h, int n, float *y)
{
    y[0] = dot(x0, h, n);
    y[1] = dot(x1, h, n);
    y[2] = dot(x2, h, n);
    y[3] = dot(x3, h, n);
}

static inline void dot2_x(const float *x, const float *h0, const float *h1, int n,
                          float *y)
{
    y[0] = dot(x, h0, n);
    y[1] = dot(x, h1, n);
}

static inline void dot4_x(const float *x, const float *h0, const float *h1,
                          const float *h2, const float *h3, int n, float *y)
{
    y[0] = dot(x, h0, n);
    y[1] = dot(x, h1, n);
    y[2] = dot(x, h2, n);
    y[3] = dot(x, h3, n);
}
#endif

static inline int16_t to_s16(float y)
{
    if (y > 32767.0f)
        y = 32767.0f;
    else if (y < -32768.0f)
        y = -32768.0f;
    return (int16_t)lrintf(y);
}

/* Integer decimation (L = 1): groups of four outputs share every coefficient load. */
AC_MULTIVERSION
static size_t decimate(ac_rt *s, size_t c, int16_t *out, int64_t *need_io)
{
    const ac_rt_filter *f = s->f;
    const int64_t M = f->M;
    const int taps = f->taps, ch = s->channels;
    size_t produced = 0;
    int64_t need = *need_io;
    float y[4];
    while (need + 3 * M < (int64_t)c) {
        for (int k = 0; k < ch; k++) {
            const float *x = s->buf + (size_t)k * s->plane + need;
            dot4_h(x, x + M, x + 2 * M, x + 3 * M, f->coefs, taps, y);
            for (int j = 0; j < 4; j++)
                out[(produced + j) * ch + k] = to_s16(y[j]);
        }
        produced += 4;
        need += 4 * M;
    }
    *need_io = need;
    return produced;
}

/* Integer upsampling (M = 1): the L outputs of one input position share every input
 * load. Called with phase == 0, which holds at every block boundary. */
AC_MULTIVERSION
static size_t upsample(ac_rt *s, size_t c, int16_t *out, int64_t *need_io)
{
    const ac_rt_filter *f = s->f;
    const int L = (int)f->L, taps = f->taps, ch = s->channels;
    size_t produced = 0;
    int64_t need = *need_io;
    float y[4];
    for (; need < (int64_t)c; need++) {
        for (int k = 0; k < ch; k++) {
            const float *x = s->buf + (size_t)k * s->plane + need;
            int p = 0;
            for (; p + 4 <= L; p += 4) {
                const float *h = f->coefs + (size_t)p * taps;
                dot4_x(x, h, h + taps, h + 2 * taps, h + 3 * taps, taps, y);
                for (int j = 0; j < 4; j++)
                    out[(produced + p + j) * ch + k] = to_s16(y[j]);
            }
            if (p + 2 <= L) {
                const float *h = f->coefs + (size_t)p * taps;
                dot2_x(x, h, h + taps, taps, y);
                out[(produced + p) * ch + k] = to_s16(y[0]);
                out[(produced + p + 1) * ch + k] = to_s16(y[1]);
                p += 2;
            }
            if (p < L)
                out[(produced + p) * ch + k] = to_s16(dot(x, f->coefs + (size_t)p * taps, taps));
        }
        produced += (size_t)L;
    }
    *need_io = need;
    return produced;
}

/* Produces every output whose newest input lies in the c frames just loaded. */
AC_MULTIVERSION
static size_t run_block(ac_rt *s, size_t c, int16_t *out)
{
    const ac_rt_filter *f = s->f;
    const int64_t L = f->L, step_int = f->M / f->L, step_frac = f->M % f->L;
    const int taps = f->taps, ch = s->channels;
    size_t produced = 0;
    int64_t need = s->need, phase = s->phase;
    if (f->exact && L == 1)
        produced = decimate(s, c, out, &need);
    else if (f->exact && f->M == 1 && phase == 0)
        produced = upsample(s, c, out, &need);
    /* Everything else, and the last few outputs of a decimating block. */
    while (need < (int64_t)c) {
        for (int k = 0; k < ch; k++) {
            const float *x = s->buf + (size_t)k * s->plane + need;
            float y;
            if (f->exact) {
                y = dot(x, f->coefs + (size_t)phase * taps, taps);
            } else {
                /* Position between stored phases p0 and p0 + 1. */
                double u = (double)phase * (f->phases - 1) / (double)L;
                int p0 = (int)u;
                float t = (float)(u - p0);
                float y0 = dot(x, f->coefs + (size_t)p0 * taps, taps);
                float y1 = dot(x, f->coefs + (size_t)(p0 + 1) * taps, taps);
                y = y0 + t * (y1 - y0);
            }
            out[produced * ch + k] = to_s16(y);
        }
        produced++;
        phase += step_frac;
        need += step_int;
        if (phase >= L) {
            phase -= L;
            need++;
        }
    }
    s->need = need - (int64_t)c;
    s->phase = phase;
    return produced;
}

static void load_block(ac_rt *s, const int16_t *in, size_t c)
{
    const int ch = s->channels;
    const size_t hist = (size_t)s->f->taps - 1;
    for (int k = 0; k < ch; k++) {
        float *dst = s->buf + (size_t)k * s->plane + hist;
        if (in) {
            for (size_t i = 0; i < c; i++)
                dst[i] = (float)in[i * ch + k];
        } else {
            memset(dst, 0, c * sizeof(float));
        }
    }
}

static void keep_history(ac_rt *s, size_t c)
{
    const size_t hist = (size_t)s->f->taps - 1;
    for (int k = 0; k < s->channels; k++) {
        float *plane = s->buf + (size_t)k * s->plane;
        memmove(plane, plane + c, hist * sizeof(float));
    }
}

static size_t feed(ac_rt *s, const int16_t *in, size_t frames, int16_t *out)
{
    size_t produced = 0;
    for (size_t done = 0; done < frames;) {
        size_t c = frames - done < BLOCK ? frames - done : BLOCK;
        load_block(s, in ? in + done * s->channels : NULL, c);
        produced += run_block(s, c, out + produced * s->channels);
        keep_history(s, c);
        done += c;
    }
    return produced;
}

size_t ac_rt_process(ac_rt *s, const int16_t *in, size_t frames, int16_t *out)
{
    if (s->f->identity) {
        memcpy(out, in, frames * s->channels * sizeof(int16_t));
        return frames;
    }
    return feed(s, in, frames, out);
}

size_t ac_rt_flush(ac_rt *s, int16_t *out)
{
    if (s->f->identity)
        return 0;
    return feed(s, NULL, (size_t)s->f->tail_in, out);
}
