/* Channel kernels on interleaved signed 16-bit PCM. */
#ifndef AUDIOCORE_CHANNELS_H
#define AUDIOCORE_CHANNELS_H

#include <stddef.h>
#include <stdint.h>

/* frames x channels interleaved -> frames mono; each output is the channel mean
 * rounded toward -infinity (for 2 channels: audioop.tomono(pcm, 2, .5, .5)). */
void ac_downmix(const int16_t *in, int16_t *out, size_t frames, int channels);

/* frames mono -> frames x channels, every channel a copy. */
void ac_upmix(const int16_t *in, int16_t *out, size_t frames, int channels);

/* out[i] = saturate(sum over k of ins[k][i]); out may alias ins[0]. */
void ac_mix(const int16_t *const *ins, int count, int16_t *out, size_t n);

#endif
