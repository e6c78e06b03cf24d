#include "soxr_stream.h"

#include <math.h>
#include <soxr.h>
#include <stdlib.h>

struct ac_soxr {
    soxr_t soxr;
    unsigned channels;
    double ratio;   /* out / in */
    int16_t *out;   /* grows to the largest burst seen */
    size_t out_cap; /* frames */
};

ac_soxr *ac_soxr_new(double in_rate, double out_rate, unsigned channels,
                     unsigned long recipe, const char **error)
{
    ac_soxr *s = calloc(1, sizeof *s);
    if (!s) {
        *error = "out of memory";
        return NULL;
    }
    /* int16 in and out: SOXR_NO_DITHER, because the default TPDF dither for int16
     * output is seeded from the clock and would make output differ run to run. */
    soxr_io_spec_t io = soxr_io_spec(SOXR_INT16_I, SOXR_INT16_I);
    io.flags |= SOXR_NO_DITHER;
    soxr_quality_spec_t q = soxr_quality_spec(recipe, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1); /* one thread: we own the caller's */
    soxr_error_t err = NULL;
    s->soxr = soxr_create(in_rate, out_rate, channels, &err, &io, &q, &rt);
    if (err || !s->soxr) {
        *error = err ? err : "soxr_create failed";
        free(s);
        return NULL;
    }
    s->channels = channels;
    s->ratio = out_rate / in_rate;
    return s;
}

void ac_soxr_free(ac_soxr *s)
{
    if (s) {
        soxr_delete(s->soxr);
        free(s->out);
        free(s);
    }
}

static int reserve(ac_soxr *s, size_t frames)
{
    if (frames <= s->out_cap)
        return 1;
    int16_t *p = realloc(s->out, frames * s->channels * sizeof(int16_t));
    if (!p)
        return 0;
    s->out = p;
    s->out_cap = frames;
    return 1;
}

size_t ac_soxr_process(ac_soxr *s, const int16_t *in, size_t frames, int flush,
                       const int16_t **out, const char **error)
{
    /* An explicit flag, not in == NULL: an empty buffer may have a NULL pointer,
     * and ending soxr's input by accident makes later input undefined. */
    const int flushing = flush != 0;
    /* libsoxr itself reads in == NULL as end of input: an empty feed must point
     * somewhere. */
    static const int16_t nothing[1];
    if (flushing)
        frames = 0;
    else if (!in)
        in = nothing;
    /* Room for this input's share plus whatever soxr already holds back. */
    size_t want = ac_soxr_max_output(s, frames) + 64;
    if (!reserve(s, want)) {
        *error = "out of memory";
        return (size_t)-1;
    }
    size_t produced = 0;
    size_t consumed = 0;
    for (;;) {
        size_t idone = 0, odone = 0;
        size_t room = s->out_cap - produced;
        soxr_error_t err = soxr_process(
            s->soxr, flushing ? NULL : in + consumed * s->channels, frames - consumed,
            &idone, s->out + produced * s->channels, room, &odone);
        if (err) {
            *error = err;
            return (size_t)-1;
        }
        if (idone == 0 && odone == 0 && !flushing && consumed < frames) {
            *error = "libsoxr made no progress";
            return (size_t)-1;
        }
        consumed += idone;
        produced += odone;
        if (flushing) {
            if (odone == 0)
                break; /* drained */
        } else if (consumed == frames && odone < room) {
            break;     /* all input taken and soxr had no more to give */
        }
        if (produced == s->out_cap && !reserve(s, s->out_cap * 2)) {
            *error = "out of memory";
            return (size_t)-1;
        }
    }
    *out = s->out;
    return produced;
}

size_t ac_soxr_max_output(ac_soxr *s, size_t frames)
{
    /* Everything held back plus this input's share, rounded up. */
    return (size_t)ceil((double)frames * s->ratio + soxr_delay(s->soxr)) + 2;
}

double ac_soxr_delay(ac_soxr *s) { return soxr_delay(s->soxr); }

int ac_soxr_clear(ac_soxr *s) { return soxr_clear(s->soxr) == NULL; }

const char *ac_soxr_version(void) { return soxr_version(); }
