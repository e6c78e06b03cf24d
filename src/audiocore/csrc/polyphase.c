#include "polyphase.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fir_dot.h"

/* Rate pairs whose reduced output factor L is at most this get one exact phase per
 * output position (every voice pair: 44.1k<->16k has L = 160 or 441). Beyond it the
 * phase is interpolated linearly between INTERP_PHASES + 1 stored phases. */
#define MAX_EXACT_PHASES 1024
#define INTERP_PHASES 512
#define MAX_TAPS 8192
/* Input frames converted to float per pass; bounds the per-stream scratch. */
#define BLOCK 2048

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
/* AVX2 where the CPU has it, SSE2 otherwise; both round identically (fir_dot.h). */
#define AC_MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define AC_MULTIVERSION
#endif

/* One polyphase FIR stage. */
typedef struct stage {
    int64_t L, M;   /* out/in = L/M, reduced */
    int phases;     /* stored phases: L (exact) or INTERP_PHASES + 1 */
    int exact;
    int taps;       /* per phase, multiple of FIR_LANES */
    float *coefs;   /* phases x taps, each phase reversed for an ascending dot */
    double delay_s;
} stage;

/* A filter is one stage, or two when an integer ratio of 4 or more allows a cheap
 * stage at the higher rate: 48k->8k becomes 48k->16k (a short filter that only
 * keeps aliases out of 0-4 kHz) then 16k->8k (the sharp one), half the work. */
struct ac_rt_filter {
    int in_rate, out_rate;
    int identity;   /* in_rate == out_rate */
    int nstages;
    stage st[2];
    double delay_s;
    int64_t tail_in; /* input samples of zeros that flush() feeds */
};

typedef struct stream_stage {
    const stage *st;
    float *buf;     /* channels planes of (taps - 1 + room) */
    size_t plane;
    size_t room;    /* new samples one pass may load */
    int64_t need;   /* buffer offset of the oldest input the next output reads */
    int64_t phase;  /* (n * M) mod L for the next output n */
} stream_stage;

struct ac_rt {
    const ac_rt_filter *f;
    int channels;
    size_t block;   /* input frames per pass, so stage 2's room is never exceeded */
    stream_stage ss[2];
    float *ybuf;    /* one pass of the last stage's output, before int16 rounding */
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

/* Designs a Kaiser-windowed sinc from in_rate to out_rate, flat to pass_hz and at
 * least atten_db down from stop_hz. In exact mode the group delay is made a whole
 * multiple of q_mult output samples, so that streams (and cascaded stages) align
 * with a plain shift. Returns 0 and sets *error on failure. */
static int design(stage *st, int in_rate, int out_rate, double atten_db, double pass_hz,
                  double stop_hz, int64_t q_mult, const char **error)
{
    int64_t g = gcd64(in_rate, out_rate);
    st->L = out_rate / g;
    st->M = in_rate / g;
    st->exact = st->L <= MAX_EXACT_PHASES;
    int P = st->exact ? (int)st->L : INTERP_PHASES;
    st->phases = st->exact ? P : P + 1;

    /* Prototype lowpass at the virtual rate F = P * in_rate. */
    double F = (double)P * in_rate;
    double df = stop_hz - pass_hz;
    double fc = 0.5 * (pass_hz + stop_hz);
    double beta = atten_db > 50 ? 0.1102 * (atten_db - 8.7)
                : 0.5842 * pow(atten_db - 21, 0.4) + 0.07886 * (atten_db - 21);
    /* Kaiser's length estimate, in samples at F. */
    double n_req = (atten_db - 7.95) / (2.285 * 2.0 * M_PI * df / F) + 1.0;
    /* Checked in floating point, before any conversion to an integer could overflow
     * (a transition band of zero width asks for an infinite filter). */
    if (!(n_req <= (double)MAX_TAPS * P)) {
        *error = "rate ratio too extreme for the realtime engine (filter too long); "
                 "use engine='soxr'";
        return 0;
    }
    int64_t N;
    if (st->exact) {
        /* N - 1 = 2 M q: the group delay is q whole output samples. */
        int64_t q = (int64_t)ceil((n_req - 1.0) / (2.0 * st->M * q_mult)) * q_mult;
        if (q < q_mult)
            q = q_mult;
        N = 2 * st->M * q + 1;
    } else {
        N = (int64_t)ceil(n_req) | 1;
    }
    int64_t taps = (N + P - 1) / P + 1;
    taps = (taps + FIR_LANES - 1) / FIR_LANES * FIR_LANES;
    if (taps > MAX_TAPS) {
        *error = "rate ratio too extreme for the realtime engine (filter too long); "
                 "use engine='soxr'";
        return 0;
    }
    st->taps = (int)taps;
    size_t count = (size_t)st->phases * st->taps;
    st->coefs = alloc_aligned(count * sizeof(float));
    double *h = malloc(count * sizeof(double));
    if (!st->coefs || !h) {
        free(h);
        *error = "out of memory";
        return 0;
    }
    double center = 0.5 * (double)(N - 1);
    double wc = 2.0 * fc / F; /* cutoff in cycles per sample at F, times 2 */
    double i0b = bessel_i0(beta);
    double sum = 0.0;
    for (int p = 0; p < st->phases; p++) {
        for (int j = 0; j < st->taps; j++) {
            /* Tap j of phase p weighs x[i - (taps-1-j)]: prototype index k*P + p. */
            int64_t m = (int64_t)(st->taps - 1 - j) * P + p;
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
            h[(size_t)p * st->taps + j] = v;
        }
    }
    /* Unity gain at DC: the P phases together sum to P, each to about 1. */
    double scale = (double)P / sum;
    for (size_t i = 0; i < count; i++)
        st->coefs[i] = (float)(h[i] * scale);
    free(h);
    st->delay_s = center / F;
    return 1;
}

/* Smallest factor k >= 2 of an integer ratio r >= 4 that leaves r / k >= 2. */
static int64_t split_factor(int64_t r)
{
    for (int64_t k = 2; k * 2 <= r; k++)
        if (r % k == 0)
            return k;
    return 0;
}

ac_rt_filter *ac_rt_filter_new(int in_rate, int out_rate, double atten_db,
                               double pass_frac, const char **error)
{
    if (in_rate <= 0 || out_rate <= 0) {
        *error = "rates must be positive";
        return NULL;
    }
    /* Kaiser's formulas hold from 21 dB; the passband must end before the stopband
     * starts (at the lower Nyquist frequency). NaN fails both tests. */
    if (!(atten_db >= 21.0 && atten_db <= 300.0)) {
        *error = "atten_db must be between 21 and 300";
        return NULL;
    }
    if (!(pass_frac > 0.0 && pass_frac < 1.0)) {
        *error = "pass_frac must be between 0 and 1 (exclusive)";
        return NULL;
    }
    ac_rt_filter *f = calloc(1, sizeof *f);
    if (!f) {
        *error = "out of memory";
        return NULL;
    }
    f->in_rate = in_rate;
    f->out_rate = out_rate;
    if (in_rate == out_rate) {
        /* Equal rates: a plain copy, no filter and no delay. */
        f->identity = 1;
        return f;
    }
    /* The passband ends at pass_frac of the lower Nyquist frequency, and the
     * stopband starts at that Nyquist frequency, so that nothing aliases. */
    double nyq = 0.5 * (in_rate < out_rate ? in_rate : out_rate);
    double pass = pass_frac * nyq;
    int64_t down = in_rate % out_rate == 0 ? in_rate / out_rate : 0;
    int64_t up = out_rate % in_rate == 0 ? out_rate / in_rate : 0;
    int64_t k = split_factor(down >= 4 ? down : up >= 4 ? up : 0);
    int ok;
    if (k && down) {
        /* in -> mid = k * out: only what would alias into [0, nyq] must go; the
         * sharp filter then runs at mid. Its delay counts in mid samples, k of
         * which make one output sample. */
        int mid = (int)(k * out_rate);
        f->nstages = 2;
        ok = design(&f->st[0], in_rate, mid, atten_db, pass, mid - nyq, k, error) &&
             design(&f->st[1], mid, out_rate, atten_db, pass, nyq, 1, error);
    } else if (k && up) {
        /* in -> mid = k * in with the sharp filter, then a short one that only
         * removes the images of [0, nyq] around mid. */
        int mid = (int)(k * in_rate);
        f->nstages = 2;
        ok = design(&f->st[0], in_rate, mid, atten_db, pass, nyq, 1, error) &&
             design(&f->st[1], mid, out_rate, atten_db, pass, mid - nyq, 1, error);
    } else {
        f->nstages = 1;
        ok = design(&f->st[0], in_rate, out_rate, atten_db, pass, nyq, 1, error);
    }
    if (!ok) {
        ac_rt_filter_free(f);
        return NULL;
    }
    f->delay_s = f->st[0].delay_s + (f->nstages == 2 ? f->st[1].delay_s : 0.0);
    /* Zeros that carry the last input through every stage's group delay. */
    f->tail_in = (int64_t)ceil(f->delay_s * in_rate) + 1;
    return f;
}

void ac_rt_filter_free(ac_rt_filter *f)
{
    if (f) {
        free(f->st[0].coefs);
        free(f->st[1].coefs);
        free(f);
    }
}

double ac_rt_filter_delay(const ac_rt_filter *f) { return f->delay_s; }

int ac_rt_filter_taps(const ac_rt_filter *f)
{
    return f->st[0].taps + (f->nstages == 2 ? f->st[1].taps : 0);
}

int ac_rt_filter_phases(const ac_rt_filter *f) { return f->st[f->nstages ? f->nstages - 1 : 0].phases; }

int ac_rt_filter_exact(const ac_rt_filter *f)
{
    return f->identity || (f->st[0].exact && (f->nstages < 2 || f->st[1].exact));
}

int ac_rt_filter_stages(const ac_rt_filter *f) { return f->nstages; }

static void stage_reset(stream_stage *ss, int channels)
{
    /* The history starts as silence: output begins at once, delayed by the filter. */
    memset(ss->buf, 0, ss->plane * channels * sizeof(float));
    ss->need = 0;
    ss->phase = 0;
}

static int stage_init(stream_stage *ss, const stage *st, int channels, size_t room)
{
    ss->st = st;
    ss->room = room;
    ss->plane = (size_t)(st->taps - 1) + room;
    ss->plane = (ss->plane + 15) / 16 * 16; /* keep every plane 64-byte aligned */
    ss->buf = alloc_aligned(ss->plane * channels * sizeof(float));
    if (!ss->buf)
        return 0;
    stage_reset(ss, channels);
    return 1;
}

ac_rt *ac_rt_new(const ac_rt_filter *f, int channels)
{
    ac_rt *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->f = f;
    s->channels = channels;
    s->block = BLOCK;
    int ok = 1;
    if (f->nstages >= 1) {
        size_t last_in = s->block;
        if (f->nstages == 2) {
            /* One pass must not produce more stage-1 output than stage 2 can take. */
            const stage *a = &f->st[0];
            s->block = (size_t)((BLOCK - 1) * a->M / a->L);
            if (s->block < 1)
                s->block = 1;
            last_in = BLOCK;
            ok = stage_init(&s->ss[1], &f->st[1], channels, BLOCK);
        }
        ok = ok && stage_init(&s->ss[0], &f->st[0], channels, s->block);
        const stage *z = &f->st[f->nstages - 1];
        size_t frames = (size_t)(last_in * z->L / z->M) + 2;
        s->ybuf = ok ? alloc_aligned(frames * channels * sizeof(float)) : NULL;
        ok = ok && s->ybuf;
    }
    if (!ok) {
        ac_rt_free(s);
        return NULL;
    }
    return s;
}

void ac_rt_free(ac_rt *s)
{
    if (s) {
        free(s->ss[0].buf);
        free(s->ss[1].buf);
        free(s->ybuf);
        free(s);
    }
}

void ac_rt_reset(ac_rt *s)
{
    for (int i = 0; i < s->f->nstages; i++)
        stage_reset(&s->ss[i], s->channels);
}

/* Outputs a stage produces for `frames` more input in its current state: output j
 * reads up to input need + (phase + j M) / L, so it exists while
 * need L + phase + j M < frames L. */
static size_t stage_outputs(const stream_stage *ss, size_t frames)
{
    const stage *st = ss->st;
    int64_t room = (int64_t)frames * st->L - ss->need * st->L - ss->phase;
    return room <= 0 ? 0 : (size_t)((room + st->M - 1) / st->M);
}

size_t ac_rt_output_frames(const ac_rt *s, size_t frames)
{
    if (s->f->identity)
        return frames;
    size_t n = stage_outputs(&s->ss[0], frames);
    return s->f->nstages == 2 ? stage_outputs(&s->ss[1], n) : n;
}

size_t ac_rt_flush_input(const ac_rt *s) { return (size_t)s->f->tail_in; }

/* Rounds to the nearest int16, ties to even (as lrintf does), in a loop the
 * compiler can vectorise: adding 1.5 * 2^23 leaves no fraction bits. */
AC_MULTIVERSION
static void to_pcm(const float *y, int16_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float v = y[i];
        v = v > 32767.0f ? 32767.0f : v;
        v = v < -32768.0f ? -32768.0f : v;
        v = (v + 12582912.0f) - 12582912.0f;
        out[i] = (int16_t)(int32_t)v;
    }
}

/* Where a stage's outputs go: interleaved floats of the last stage (rounded to int16
 * after the pass), or the float planes of the next stage, behind its history. */
typedef struct sink {
    float *y;
    stream_stage *next;
} sink;

static inline void put(const sink *o, size_t n, int k, int ch, float v)
{
    if (o->y)
        o->y[n * ch + k] = v;
    else
        o->next->buf[(size_t)k * o->next->plane + (size_t)(o->next->st->taps - 1) + n] = v;
}

/* Outputs n..n+3 of channel k. */
static inline void put4(const sink *o, size_t n, int k, int ch, const float *v)
{
    if (o->next)
        memcpy(o->next->buf + (size_t)k * o->next->plane + (size_t)(o->next->st->taps - 1) + n,
               v, 4 * sizeof(float));
    else if (ch == 1)
        memcpy(o->y + n, v, 4 * sizeof(float));
    else
        for (int j = 0; j < 4; j++)
            o->y[(n + j) * ch + k] = v[j];
}

/* Integer decimation (L = 1): groups of four outputs share every coefficient load. */
AC_MULTIVERSION
static size_t decimate(stream_stage *ss, int ch, size_t c, const sink *o, int64_t *need_io)
{
    const stage *st = ss->st;
    const int64_t M = st->M;
    const int taps = st->taps;
    size_t produced = 0;
    int64_t need = *need_io;
    float y[4];
    while (need + 3 * M < (int64_t)c) {
        for (int k = 0; k < ch; k++) {
            const float *x = ss->buf + (size_t)k * ss->plane + need;
            dot4_h(x, x + M, x + 2 * M, x + 3 * M, st->coefs, taps, y);
            put4(o, produced, k, ch, y);
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
static size_t upsample(stream_stage *ss, int ch, size_t c, const sink *o, int64_t *need_io)
{
    const stage *st = ss->st;
    const int L = (int)st->L, taps = st->taps;
    size_t produced = 0;
    int64_t need = *need_io;
    float y[4];
    /* L < 4: pairs of input positions, so that loads are shared four ways. */
    for (; L < 4 && need + 1 < (int64_t)c; need += 2) {
        for (int k = 0; k < ch; k++) {
            const float *x = ss->buf + (size_t)k * ss->plane + need;
            int p = 0;
            for (; p + 2 <= L; p += 2) {
                const float *h = st->coefs + (size_t)p * taps;
                dot2x2(x, x + 1, h, h + taps, taps, y);
                put(o, produced + p, k, ch, y[0]);
                put(o, produced + p + 1, k, ch, y[1]);
                put(o, produced + L + p, k, ch, y[2]);
                put(o, produced + L + p + 1, k, ch, y[3]);
            }
            if (p < L) {
                dot2_h(x, x + 1, st->coefs + (size_t)p * taps, taps, y);
                put(o, produced + p, k, ch, y[0]);
                put(o, produced + L + p, k, ch, y[1]);
            }
        }
        produced += 2 * (size_t)L;
    }
    for (; need < (int64_t)c; need++) {
        for (int k = 0; k < ch; k++) {
            const float *x = ss->buf + (size_t)k * ss->plane + need;
            int p = 0;
            for (; p + 4 <= L; p += 4) {
                const float *h = st->coefs + (size_t)p * taps;
                dot4_x(x, h, h + taps, h + 2 * taps, h + 3 * taps, taps, y);
                put4(o, produced + p, k, ch, y);
            }
            if (p + 2 <= L) {
                const float *h = st->coefs + (size_t)p * taps;
                dot2_x(x, h, h + taps, taps, y);
                put(o, produced + p, k, ch, y[0]);
                put(o, produced + p + 1, k, ch, y[1]);
                p += 2;
            }
            if (p < L)
                put(o, produced + p, k, ch, dot(x, st->coefs + (size_t)p * taps, taps));
        }
        produced += (size_t)L;
    }
    *need_io = need;
    return produced;
}

/* Produces every output whose newest input lies in the c samples just loaded. */
AC_MULTIVERSION
static size_t run_stage(stream_stage *ss, int ch, size_t c, const sink *o)
{
    const stage *st = ss->st;
    const int64_t L = st->L, step_int = st->M / st->L, step_frac = st->M % st->L;
    const int taps = st->taps;
    size_t produced = 0;
    int64_t need = ss->need, phase = ss->phase;
    if (st->exact && L == 1)
        produced = decimate(ss, ch, c, o, &need);
    else if (st->exact && st->M == 1 && phase == 0)
        produced = upsample(ss, ch, c, o, &need);
    /* Everything else, and the last few outputs of a decimating block. */
    while (need < (int64_t)c) {
        for (int k = 0; k < ch; k++) {
            const float *x = ss->buf + (size_t)k * ss->plane + need;
            float y;
            if (st->exact) {
                y = dot(x, st->coefs + (size_t)phase * taps, taps);
            } else {
                /* Position between stored phases p0 and p0 + 1. */
                double u = (double)phase * (st->phases - 1) / (double)L;
                int p0 = (int)u;
                float t = (float)(u - p0);
                float y0 = dot(x, st->coefs + (size_t)p0 * taps, taps);
                float y1 = dot(x, st->coefs + (size_t)(p0 + 1) * taps, taps);
                y = y0 + t * (y1 - y0);
            }
            put(o, produced, k, ch, y);
        }
        produced++;
        phase += step_frac;
        need += step_int;
        if (phase >= L) {
            phase -= L;
            need++;
        }
    }
    ss->need = need - (int64_t)c;
    ss->phase = phase;
    return produced;
}

static void load_pcm(stream_stage *ss, int ch, const int16_t *in, size_t c)
{
    const size_t hist = (size_t)ss->st->taps - 1;
    for (int k = 0; k < ch; k++) {
        float *dst = ss->buf + (size_t)k * ss->plane + hist;
        if (in) {
            for (size_t i = 0; i < c; i++)
                dst[i] = (float)in[i * ch + k];
        } else {
            memset(dst, 0, c * sizeof(float));
        }
    }
}

static void keep_history(stream_stage *ss, int ch, size_t c)
{
    const size_t hist = (size_t)ss->st->taps - 1;
    for (int k = 0; k < ch; k++) {
        float *plane = ss->buf + (size_t)k * ss->plane;
        memmove(plane, plane + c, hist * sizeof(float));
    }
}

static size_t feed(ac_rt *s, const int16_t *in, size_t frames, int16_t *out)
{
    const int ch = s->channels;
    size_t produced = 0;
    for (size_t done = 0; done < frames;) {
        size_t c = frames - done < s->block ? frames - done : s->block;
        stream_stage *a = &s->ss[0];
        load_pcm(a, ch, in ? in + done * ch : NULL, c);
        sink last = {s->ybuf, NULL};
        size_t n;
        if (s->f->nstages == 2) {
            stream_stage *b = &s->ss[1];
            sink mid = {NULL, b};
            size_t m = run_stage(a, ch, c, &mid);
            keep_history(a, ch, c);
            n = run_stage(b, ch, m, &last);
            keep_history(b, ch, m);
        } else {
            n = run_stage(a, ch, c, &last);
            keep_history(a, ch, c);
        }
        to_pcm(s->ybuf, out + produced * ch, n * (size_t)ch);
        produced += n;
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
