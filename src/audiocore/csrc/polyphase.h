/* Low-latency polyphase FIR resampler for int16 PCM.
 *
 * Kaiser-windowed sincs (one stage, or two for integer ratios of 4 and more) are
 * designed once per (rates, quality) and shared by any number of streams. Every
 * input sample yields its share of output at once: the only delay is the filters'
 * group delay, a few milliseconds, a whole number of output samples in exact mode. */
#ifndef AUDIOCORE_POLYPHASE_H
#define AUDIOCORE_POLYPHASE_H

#include <stddef.h>
#include <stdint.h>

typedef struct ac_rt_filter ac_rt_filter;
typedef struct ac_rt ac_rt;

/* atten_db: stopband attenuation, reached at the lower Nyquist frequency.
 * pass_frac: passband edge as a fraction of the lower Nyquist frequency.
 * On failure returns NULL and sets *error to a static message. */
ac_rt_filter *ac_rt_filter_new(int in_rate, int out_rate, double atten_db,
                               double pass_frac, const char **error);
void ac_rt_filter_free(ac_rt_filter *f);
double ac_rt_filter_delay(const ac_rt_filter *f);     /* seconds */
int ac_rt_filter_taps(const ac_rt_filter *f);         /* input samples per output */
int ac_rt_filter_phases(const ac_rt_filter *f);
int ac_rt_filter_exact(const ac_rt_filter *f);        /* 1: one phase per output position */
int ac_rt_filter_stages(const ac_rt_filter *f);       /* 0 (equal rates), 1 or 2 */
/* Multiply-adds the kernels perform per input sample of one channel (padding and
 * shifted-copy taps included): the work figure benchmarks compare against. */
double ac_rt_filter_macs(const ac_rt_filter *f);

/* The stream keeps a pointer to f: f must outlive it. NULL when out of memory. */
ac_rt *ac_rt_new(const ac_rt_filter *f, int channels);
void ac_rt_free(ac_rt *s);
/* Exact output frames that process(frames) produces in the current state. */
size_t ac_rt_output_frames(const ac_rt *s, size_t frames);
/* Frames of silence flush() feeds: output_frames() of it is what flush() returns. */
size_t ac_rt_flush_input(const ac_rt *s);
/* Interleaved int16 in, interleaved int16 out; returns output frames. */
size_t ac_rt_process(ac_rt *s, const int16_t *in, size_t frames, int16_t *out);
/* Pushes the filter's tail out (input end + group delay); returns output frames. */
size_t ac_rt_flush(ac_rt *s, int16_t *out);
void ac_rt_reset(ac_rt *s);

/* Which build of the kernels runs: "avx512+fma", "avx2+fma" or "portable" (multiply
 * and add rounded separately). A stream keeps the build it was created with. */
const char *ac_rt_kernels(const ac_rt *s);   /* NULL s: what a new stream gets */
int ac_rt_kernels_fused(const ac_rt *s);
/* The i-th build this CPU runs, fastest first; NULL past the last. */
const char *ac_rt_kernels_available(int i);
/* Makes new streams use the named build (NULL: the fastest again), for tests and
 * benchmarks that compare builds. Returns 0, changing nothing, for a name unknown
 * or not supported here. Not thread-safe against concurrent ac_rt_new(). */
int ac_rt_use_kernels(const char *name);
/* Runs the kernels' floor loop (see fir_stage.inc) `reps` times with the build a new
 * stream gets; returns the multiply-adds done (time it to get the machine's rate),
 * or -1 when out of memory. */
double ac_rt_peak(long reps);

#endif
