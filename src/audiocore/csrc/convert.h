/* The fused per-frame chain: decode -> downmix (N -> 1) -> resample -> upmix (1 -> N)
 * -> encode. Equal channel counts are resampled channel by channel, with no mixing.
 * Bit-identical to running the single kernels in that order. */
#ifndef AUDIOCORE_CONVERT_H
#define AUDIOCORE_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "polyphase.h"
#include "soxr_stream.h"

enum ac_encoding { AC_PCM16 = 0, AC_MULAW = 1, AC_ALAW = 2 };

typedef struct ac_conv ac_conv;

/* Takes ownership of at most one resampler (rt or sx; both NULL for equal rates),
 * made for in_channels channels when in_channels == out_channels, else for one: it
 * is freed with the converter. Channel counts must be equal or one of them 1.
 * NULL when out of memory or for other channel counts (the resampler is then not
 * taken). */
ac_conv *ac_conv_new(int in_enc, int in_channels, int out_enc, int out_channels,
                     ac_rt *rt, ac_soxr *sx);
void ac_conv_free(ac_conv *c);

/* Converts nbytes of whole input frames. The result is left in the converter's own
 * buffer: *out points to it until the next call. Returns the output bytes, or
 * (size_t)-1 with *error set. flush != 0 ignores the input and returns the
 * resampler's tail. */
size_t ac_conv_process(ac_conv *c, const uint8_t *in, size_t nbytes, int flush,
                       const uint8_t **out, const char **error);
/* Most output bytes that converting nbytes (0 with flush) can return now. */
size_t ac_conv_max_output(ac_conv *c, size_t nbytes, int flush);
void ac_conv_reset(ac_conv *c);
/* Output frames held back by a soxr engine (0 for the others). */
double ac_conv_pending(ac_conv *c);

#endif
