#include "polyphase.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "polyphase_impl.h"

/* Rate pairs whose reduced output factor L is at most this get one exact phase per
 * output position (every voice pair: 44.1k<->16k has L = 160 or 441). Beyond it the
 * phase is interpolated linearly between INTERP_PHASES + 1 stored phases. */
#define MAX_EXACT_PHASES 1024
#define INTERP_PHASES 512
#define MAX_TAPS 8192
/* Input frames converted to float per pass; bounds the per-stream scratch. */
#define BLOCK 2048
/* Longest filters computed in output lanes (fir_stage.inc): upsampling, and
 * decimation by at most MAX_VERTICAL_M (its input is split into M rows). */
#define MAX_VERTICAL_TAPS 32
#define MAX_VERTICAL_DEC_TAPS 64
#define MAX_VERTICAL_M 8
/* Largest set of shifted coefficient copies a stage keeps. */
#define MAX_SHIFTED_BYTES (64 * 1024)

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

struct ac_rt {
    const ac_rt_filter *f;
    int channels;
    size_t block;   /* input frames per pass, so stage 2's room is never exceeded */
    const fir_kernels *k; /* the kernel build, fixed for the stream's life */
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

/* Which kernels a designed stage runs (fir_stage.inc), and their data:
 * - short integer-ratio filters run in output lanes (vertical), skipping the
 *   padding's leading zero taps (first_tap);
 * - other integer-ratio filters with few phases keep copies of every phase shifted
 *   by 0..FIR_ALIGN-1 taps for the aligned kernels: every output's window moves by a
 *   whole number of samples, one more block of taps costs less than unaligned loads
 *   for filters this long, and the copies stay small enough for the L1/L2 caches;
 * - the rest take unaligned windows.
 * The choice depends on the filter only, never on the CPU, so every build of the
 * kernels computes each output in the same order. */
static int kernel_layout(stage *st, const char **error)
{
    st->shifted = NULL;
    st->taps_a = st->taps + FIR_ALIGN;
    st->vertical = st->exact && ((st->M == 1 && st->taps <= MAX_VERTICAL_TAPS) ||
                                 (st->L == 1 && st->M <= MAX_VERTICAL_M &&
                                  st->taps <= MAX_VERTICAL_DEC_TAPS));
    st->first_tap = st->taps;
    for (int p = 0; p < st->phases; p++)
        for (int j = 0; j < st->first_tap; j++)
            if (st->coefs[(size_t)p * st->taps + j] != 0.0f) {
                st->first_tap = j;
                break;
            }
    size_t count = (size_t)st->phases * FIR_ALIGN * st->taps_a;
    if (!st->exact || (st->L != 1 && st->M != 1) || st->vertical ||
        st->taps < 4 * FIR_LANES ||
        count * sizeof(float) > MAX_SHIFTED_BYTES)
        return 1;
    st->shifted = alloc_aligned(count * sizeof(float));
    if (!st->shifted) {
        *error = "out of memory";
        return 0;
    }
    memset(st->shifted, 0, count * sizeof(float));
    for (int p = 0; p < st->phases; p++)
        for (int sh = 0; sh < FIR_ALIGN; sh++)
            memcpy(st->shifted + ((size_t)p * FIR_ALIGN + sh) * st->taps_a + sh,
                   st->coefs + (size_t)p * st->taps, (size_t)st->taps * sizeof(float));
    return 1;
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
    return kernel_layout(st, error);
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
        for (int i = 0; i < 2; i++) {
            free(f->st[i].coefs);
            free(f->st[i].shifted);
        }
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

double ac_rt_filter_macs(const ac_rt_filter *f)
{
    double per_in = 0.0, rate = 1.0; /* stage outputs per input sample so far */
    for (int i = 0; i < f->nstages; i++) {
        const stage *st = &f->st[i];
        rate *= (double)st->L / (double)st->M;
        /* An interpolated phase costs two inner products. */
        int taps = st->shifted ? st->taps_a
                 : st->vertical && st->L == 1 ? st->taps - st->first_tap
                 : st->exact ? st->taps : 2 * st->taps;
        per_in += rate * taps;
    }
    return per_in;
}

/* ---- kernel builds ---------------------------------------------------------------- */

static const fir_kernels *const builds[] = {
#if defined(AC_FIR_X86)
    &ac_fir_avx512, &ac_fir_avx2,
#endif
    &ac_fir_base,
};

static int runs_here(const fir_kernels *k)
{
#if defined(AC_FIR_X86)
    __builtin_cpu_init();
    if (k == &ac_fir_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    if (k == &ac_fir_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return k == &ac_fir_base;
}

/* NULL: the fastest build this CPU runs. Set only by ac_rt_use_kernels(). */
static const fir_kernels *forced;

static const fir_kernels *pick_kernels(void)
{
    const fir_kernels *k = forced;
    if (k)
        return k;
    for (size_t i = 0; i < sizeof builds / sizeof *builds; i++)
        if (runs_here(builds[i]))
            return builds[i];
    return &ac_fir_base;
}

int ac_rt_use_kernels(const char *name)
{
    if (!name) {
        forced = NULL;
        return 1;
    }
    for (size_t i = 0; i < sizeof builds / sizeof *builds; i++)
        if (strcmp(builds[i]->name, name) == 0) {
            if (!runs_here(builds[i]))
                return 0;
            forced = builds[i];
            return 1;
        }
    return 0;
}

const char *ac_rt_kernels_available(int i)
{
    int n = 0;
    for (size_t j = 0; j < sizeof builds / sizeof *builds; j++)
        if (runs_here(builds[j]) && n++ == i)
            return builds[j]->name;
    return NULL;
}

const char *ac_rt_kernels(const ac_rt *s) { return s ? s->k->name : pick_kernels()->name; }

int ac_rt_kernels_fused(const ac_rt *s) { return (s ? s->k : pick_kernels())->fused; }

double ac_rt_peak(long reps)
{
    enum { N = 512 }; /* floats per row: every row stays in L1 */
    const fir_kernels *k = pick_kernels();
    float *x = alloc_aligned((size_t)k->peak_rows * N * sizeof(float));
    if (!x)
        return -1.0;
    for (size_t i = 0; i < (size_t)k->peak_rows * N; i++)
        x[i] = (float)(i % 7) * 1e-3f;
    volatile float sink = k->peak(x, N, reps);
    (void)sink;
    free(x);
    return (double)reps * k->peak_rows * N;
}


static void stage_reset(stream_stage *ss, int channels)
{
    /* The history starts as silence: output begins at once, delayed by the filter. */
    memset(ss->buf, 0, ss->plane * channels * sizeof(float));
    ss->hist = (size_t)ss->st->taps - 1;
    ss->need = 0;
    ss->phase = 0;
}

static int stage_init(stream_stage *ss, const stage *st, int channels, size_t room)
{
    ss->st = st;
    ss->room = room;
    /* Longest history, the room, and the read-ahead of an aligned window (it ends
     * up to FIR_ALIGN samples past the newest input, onto zero coefficients). */
    ss->plane = (size_t)(st->taps - 1) + (FIR_ALIGN - 1) + room + FIR_ALIGN;
    ss->plane = (ss->plane + FIR_ALIGN - 1) / FIR_ALIGN * FIR_ALIGN; /* 64-byte planes */
    ss->buf = alloc_aligned(ss->plane * channels * sizeof(float));
    if (!ss->buf)
        return 0;
    if (st->vertical && st->L == 1) {
        /* Every output of a pass and the taps behind the last one, per row. */
        ss->split_row = (ss->plane + (size_t)st->M - 1) / (size_t)st->M + FIR_ALIGN;
        ss->split = alloc_aligned((size_t)st->M * ss->split_row * sizeof(float));
        if (!ss->split)
            return 0;
    }
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
    s->k = pick_kernels();
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
        for (int i = 0; i < 2; i++) {
            free(s->ss[i].buf);
            free(s->ss[i].split);
        }
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

/* Keeps the last taps - 1 samples (and up to FIR_ALIGN - 1 older ones), moved by a
 * multiple of FIR_ALIGN so every sample keeps its alignment class. */
static void keep_history(stream_stage *ss, int ch, size_t c)
{
    const size_t end = ss->hist + c;
    const size_t from = (end - ((size_t)ss->st->taps - 1)) / FIR_ALIGN * FIR_ALIGN;
    for (int k = 0; k < ch; k++) {
        float *plane = ss->buf + (size_t)k * ss->plane;
        memmove(plane, plane + from, (end - from) * sizeof(float));
    }
    ss->hist = end - from;
}

static size_t feed(ac_rt *s, const int16_t *in, size_t frames, int16_t *out)
{
    const int ch = s->channels;
    size_t produced = 0;
    for (size_t done = 0; done < frames;) {
        size_t c = frames - done < s->block ? frames - done : s->block;
        stream_stage *a = &s->ss[0];
        s->k->load_pcm(a, ch, in ? in + done * ch : NULL, c);
        sink last = {s->ybuf, NULL};
        size_t n;
        if (s->f->nstages == 2) {
            stream_stage *b = &s->ss[1];
            sink mid = {NULL, b};
            size_t m = s->k->run_stage(a, ch, c, &mid);
            keep_history(a, ch, c);
            n = s->k->run_stage(b, ch, m, &last);
            keep_history(b, ch, m);
        } else {
            n = s->k->run_stage(a, ch, c, &last);
            keep_history(a, ch, c);
        }
        s->k->to_pcm(s->ybuf, out + produced * ch, n * (size_t)ch);
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
