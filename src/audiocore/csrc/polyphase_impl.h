/* Private to the realtime resampler: the structures polyphase.c builds and the
 * per-instruction-set kernels (fir_stage.inc) run. */
#ifndef AUDIOCORE_POLYPHASE_IMPL_H
#define AUDIOCORE_POLYPHASE_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* Taps per phase are padded to a multiple of this: one block of the kernels. */
#define FIR_LANES 16
/* Input planes keep this alignment to absolute input positions: buffer offset
 * o holds an input sample whose index is o modulo FIR_ALIGN (floats, 64 bytes). */
#define FIR_ALIGN 16

/* One polyphase FIR stage. */
typedef struct stage {
    int64_t L, M;   /* out/in = L/M, reduced */
    int phases;     /* stored phases: L (exact) or INTERP_PHASES + 1 */
    int exact;
    int taps;       /* per phase, multiple of FIR_LANES */
    float *coefs;   /* phases x taps, each phase reversed for an ascending dot */
    /* Integer ratios with few phases also keep every phase shifted by 0..15 taps
     * (phases x FIR_ALIGN x taps_a, zero-filled): an output whose window starts at
     * offset o reads the input from o rounded down to FIR_ALIGN with the copy
     * shifted by o mod FIR_ALIGN, so no input load is unaligned. NULL: unshifted. */
    float *shifted;
    int taps_a;     /* taps + FIR_ALIGN */
    /* Short integer-ratio filters compute outputs in vector lanes (consecutive
     * outputs of one phase), a different order of the same multiply-adds. */
    int vertical;
    int first_tap;  /* taps before it are zero in every phase (the padding) */
    double delay_s;
} stage;

typedef struct stream_stage {
    const stage *st;
    float *buf;     /* channels planes of (history + room + read-ahead pad) */
    size_t plane;
    size_t hist;    /* samples kept before the new ones: taps - 1 .. taps + 14 */
    size_t room;    /* new samples one pass may load */
    int64_t need;   /* buffer offset of the oldest input the next output reads */
    int64_t phase;  /* (n * M) mod L for the next output n */
    float *split;   /* vertical decimation: the window's M polyphase rows */
    size_t split_row;
} stream_stage;

/* Where a stage's outputs go: interleaved floats of the last stage (rounded to int16
 * after the pass), or the float planes of the next stage, behind its history. */
typedef struct sink {
    float *y;
    stream_stage *next;
} sink;

/* One build of the kernels. Builds differ in instruction set and in whether a
 * multiply-add is fused (rounded once); within a build every output is the same
 * arithmetic whichever kernel computes it, so output never depends on chunking. */
typedef struct fir_kernels {
    const char *name;
    int fused;      /* 1: fused multiply-add */
    /* Produces every output whose newest input lies in the c samples just loaded
     * (behind ss->hist samples of history). */
    size_t (*run_stage)(stream_stage *ss, int ch, size_t c, const sink *o);
    /* Interleaved int16 (NULL: silence) into the channel planes, behind ss->hist. */
    void (*load_pcm)(stream_stage *ss, int ch, const int16_t *in, size_t c);
    /* Rounds to the nearest int16, ties to even, saturating. */
    void (*to_pcm)(const float *y, int16_t *out, size_t n);
    /* reps passes of peak_rows x n multiply-adds at the machine's best (see fir_stage.inc). */
    int peak_rows;
    float (*peak)(const float *x, int n, long reps);
} fir_kernels;

extern const fir_kernels ac_fir_base;
#if defined(AC_FIR_X86)
extern const fir_kernels ac_fir_avx2;
extern const fir_kernels ac_fir_avx512;
#endif

#endif
