#include "ring.h"

#include <stdlib.h>
#include <string.h>

struct ac_ring {
    uint8_t *buf;
    size_t cap;
    size_t frame;
    size_t head;  /* index of the oldest byte */
    size_t count; /* bytes buffered */
};

ac_ring *ac_ring_new(size_t frame_bytes, size_t capacity)
{
    ac_ring *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->buf = malloc(capacity);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->cap = capacity;
    r->frame = frame_bytes;
    return r;
}

void ac_ring_free(ac_ring *r)
{
    if (r) {
        free(r->buf);
        free(r);
    }
}

size_t ac_ring_available(const ac_ring *r) { return r->count; }
size_t ac_ring_capacity(const ac_ring *r) { return r->cap; }
size_t ac_ring_frame_bytes(const ac_ring *r) { return r->frame; }

static void put(ac_ring *r, const uint8_t *data, size_t n)
{
    size_t tail = (r->head + r->count) % r->cap;
    size_t first = r->cap - tail < n ? r->cap - tail : n;
    memcpy(r->buf + tail, data, first);
    memcpy(r->buf, data + first, n - first);
    r->count += n;
}

static void skip(ac_ring *r, size_t n)
{
    r->head = (r->head + n) % r->cap;
    r->count -= n;
    if (r->count == 0)
        r->head = 0; /* keeps the next frames contiguous, saving a split copy */
}

int ac_ring_write(ac_ring *r, const uint8_t *data, size_t n)
{
    if (n > r->cap - r->count)
        return 0;
    put(r, data, n);
    return 1;
}

size_t ac_ring_write_drop_oldest(ac_ring *r, const uint8_t *data, size_t n)
{
    size_t total = r->count + n;
    if (total <= r->cap) {
        put(r, data, n);
        return 0;
    }
    /* Drop whole frames of the logical stream (buffer then data) so that frame
     * boundaries stay where they were. */
    size_t excess = total - r->cap;
    size_t drop = (excess + r->frame - 1) / r->frame * r->frame;
    if (drop > total)
        drop = total;
    if (drop <= r->count) {
        skip(r, drop);
        put(r, data, n);
    } else {
        size_t from_data = drop - r->count;
        r->head = 0;
        r->count = 0;
        put(r, data + from_data, n - from_data);
    }
    return drop;
}

size_t ac_ring_read(ac_ring *r, uint8_t *out, size_t n)
{
    if (n > r->count)
        n = r->count;
    size_t first = r->cap - r->head < n ? r->cap - r->head : n;
    memcpy(out, r->buf + r->head, first);
    memcpy(out + first, r->buf, n - first);
    skip(r, n);
    return n;
}

size_t ac_ring_clear(ac_ring *r)
{
    size_t n = r->count;
    r->head = 0;
    r->count = 0;
    return n;
}
