/* Streaming int16 resampling through libsoxr's C API, deterministic. */
#ifndef AUDIOCORE_SOXR_STREAM_H
#define AUDIOCORE_SOXR_STREAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct ac_soxr ac_soxr;

/* recipe: SOXR_QQ ... SOXR_VHQ. On failure returns NULL and sets *error to a static
 * message (or to "out of memory"). */
ac_soxr *ac_soxr_new(double in_rate, double out_rate, unsigned channels,
                     unsigned long recipe, const char **error);
void ac_soxr_free(ac_soxr *s);

/* Resamples frames input frames (interleaved); the output is left in the stream's
 * own buffer: *out points to it, valid until the next call; returns output frames,
 * or (size_t)-1 on error with *error set. flush != 0 ends the input (in and frames
 * are ignored) and drains everything held back. */
size_t ac_soxr_process(ac_soxr *s, const int16_t *in, size_t frames, int flush,
                       const int16_t **out, const char **error);

/* Most output frames that processing `frames` more input can return now. */
size_t ac_soxr_max_output(ac_soxr *s, size_t frames);
/* Output frames currently held back. */
double ac_soxr_delay(ac_soxr *s);
/* Back to the start of a new stream, same configuration. */
int ac_soxr_clear(ac_soxr *s);
const char *ac_soxr_version(void);

#endif
