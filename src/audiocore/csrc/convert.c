#include "convert.h"

#include <stdlib.h>
#include <string.h>

#include "channels.h"
#include "g711.h"

struct ac_conv {
    int in_enc, in_ch, out_enc, out_ch;
    ac_rt *rt;
    ac_soxr *sx;
    int16_t *mono;   /* decoded, downmixed input */
    size_t mono_cap; /* samples */
    int16_t *tmp;    /* decode scratch for multi-channel G.711 input */
    size_t tmp_cap;
    int16_t *res;    /* resampled mono */
    size_t res_cap;
    uint8_t *out;    /* final output */
    size_t out_cap;  /* bytes */
};

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 1;
    size_t n = need + need / 2 + 64; /* headroom: frame sizes jitter by a sample */
    void *q = realloc(*p, n * elem);
    if (!q)
        return 0;
    *p = q;
    *cap = n;
    return 1;
}

ac_conv *ac_conv_new(int in_enc, int in_channels, int out_enc, int out_channels,
                     ac_rt *rt, ac_soxr *sx)
{
    /* Equal counts, down to mono or up from mono: nothing else has one meaning. */
    if (in_channels < 1 || out_channels < 1
        || (in_channels != out_channels && in_channels != 1 && out_channels != 1))
        return NULL;
    ac_conv *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->in_enc = in_enc;
    c->in_ch = in_channels;
    c->out_enc = out_enc;
    c->out_ch = out_channels;
    c->rt = rt;
    c->sx = sx;
    return c;
}

void ac_conv_free(ac_conv *c)
{
    if (!c)
        return;
    ac_rt_free(c->rt);
    ac_soxr_free(c->sx);
    free(c->mono);
    free(c->tmp);
    free(c->res);
    free(c->out);
    free(c);
}

static void decode(int enc, const uint8_t *in, int16_t *out, size_t n)
{
    if (enc == AC_MULAW)
        ac_ulaw_decode(in, out, n);
    else if (enc == AC_ALAW)
        ac_alaw_decode(in, out, n);
    else
        memcpy(out, in, n * sizeof(int16_t));
}

/* Channels through the resampler: all of them when the counts are equal (each
 * channel resampled on its own), else one (downmix before, or upmix after). */
static size_t resample_channels(const ac_conv *c)
{
    return c->in_ch == c->out_ch ? (size_t)c->in_ch : 1;
}

size_t ac_conv_process(ac_conv *c, const uint8_t *in, size_t nbytes, int flush,
                       const uint8_t **out, const char **error)
{
    const size_t in_width = c->in_enc == AC_PCM16 ? 2 : 1;
    const size_t frames = flush ? 0 : nbytes / (in_width * (size_t)c->in_ch);
    const size_t samples = frames * (size_t)c->in_ch;
    const size_t rch = resample_channels(c);
    *error = "out of memory";

    /* 1-2. Decode, and downmix to mono when going down to one channel. */
    const int16_t *mid = NULL; /* frames x rch samples */
    if (frames) {
        if ((size_t)c->in_ch == rch && c->in_enc == AC_PCM16) {
            mid = (const int16_t *)in; /* already what the resampler takes: no copy */
        } else {
            if (!grow((void **)&c->mono, &c->mono_cap, frames * rch, sizeof(int16_t)))
                return (size_t)-1;
            if ((size_t)c->in_ch == rch) {
                decode(c->in_enc, in, c->mono, samples);
            } else {
                const int16_t *pcm = (const int16_t *)in;
                if (c->in_enc != AC_PCM16) {
                    if (!grow((void **)&c->tmp, &c->tmp_cap, samples, sizeof(int16_t)))
                        return (size_t)-1;
                    decode(c->in_enc, in, c->tmp, samples);
                    pcm = c->tmp;
                }
                ac_downmix(pcm, c->mono, frames, c->in_ch);
            }
            mid = c->mono;
        }
    }

    /* 3. Resample. */
    const int16_t *res = mid;
    size_t res_frames = frames;
    if (c->rt) {
        size_t feed = flush ? ac_rt_flush_input(c->rt) : frames;
        res_frames = ac_rt_output_frames(c->rt, feed);
        if (!grow((void **)&c->res, &c->res_cap, res_frames * rch, sizeof(int16_t)))
            return (size_t)-1;
        size_t got = flush ? ac_rt_flush(c->rt, c->res) : ac_rt_process(c->rt, mid, frames, c->res);
        if (got != res_frames) {
            *error = "internal error: resampler output count mismatch";
            return (size_t)-1;
        }
        res = c->res;
    } else if (c->sx) {
        res_frames = ac_soxr_process(c->sx, mid, frames, flush, &res, error);
        if (res_frames == (size_t)-1)
            return (size_t)-1;
    }

    /* 4-5. Upmix (from mono) and encode straight into the output. */
    const size_t out_width = c->out_enc == AC_PCM16 ? 2 : 1;
    const size_t out_samples = res_frames * (size_t)c->out_ch;
    if (!grow((void **)&c->out, &c->out_cap, out_samples * out_width + 1, 1))
        return (size_t)-1;
    const int16_t *pcm = res;
    if ((size_t)c->out_ch > rch) {
        int16_t *dst;
        if (c->out_enc == AC_PCM16) {
            dst = (int16_t *)c->out;
        } else {
            if (!grow((void **)&c->tmp, &c->tmp_cap, out_samples, sizeof(int16_t)))
                return (size_t)-1;
            dst = c->tmp;
        }
        ac_upmix(res, dst, res_frames, c->out_ch);
        pcm = dst;
    }
    if (c->out_enc == AC_MULAW)
        ac_ulaw_encode(pcm, c->out, out_samples);
    else if (c->out_enc == AC_ALAW)
        ac_alaw_encode(pcm, c->out, out_samples);
    else if (out_samples && pcm != (const int16_t *)c->out)
        memcpy(c->out, pcm, out_samples * sizeof(int16_t)); /* pcm is NULL when empty */
    *out = c->out;
    *error = NULL;
    return out_samples * out_width;
}

size_t ac_conv_max_output(ac_conv *c, size_t nbytes, int flush)
{
    size_t frames = nbytes / ((c->in_enc == AC_PCM16 ? 2 : 1) * (size_t)c->in_ch);
    size_t res;
    if (c->rt)
        res = ac_rt_output_frames(c->rt, flush ? ac_rt_flush_input(c->rt) : frames);
    else if (c->sx)
        res = ac_soxr_max_output(c->sx, frames);
    else
        res = flush ? 0 : frames;
    return res * (size_t)c->out_ch * (c->out_enc == AC_PCM16 ? 2 : 1);
}

double ac_conv_pending(ac_conv *c) { return c->sx ? ac_soxr_delay(c->sx) : 0.0; }

void ac_conv_reset(ac_conv *c)
{
    if (c->rt)
        ac_rt_reset(c->rt);
    if (c->sx)
        ac_soxr_clear(c->sx);
}
