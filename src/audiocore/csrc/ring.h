/* Byte ring buffer that hands out fixed-size frames. Not thread-safe by itself:
 * the owner serialises access. */
#ifndef AUDIOCORE_RING_H
#define AUDIOCORE_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct ac_ring ac_ring;

/* NULL when out of memory. frame_bytes >= 1, capacity >= frame_bytes. */
ac_ring *ac_ring_new(size_t frame_bytes, size_t capacity);
void ac_ring_free(ac_ring *r);

size_t ac_ring_available(const ac_ring *r);
size_t ac_ring_capacity(const ac_ring *r);
size_t ac_ring_frame_bytes(const ac_ring *r);

/* Appends all n bytes, or nothing: returns 0 when they do not fit. */
int ac_ring_write(ac_ring *r, const uint8_t *data, size_t n);

/* Appends n bytes, first dropping the oldest whole frames (and if need be the head
 * of data itself) so that the result fits. Returns the bytes dropped. */
size_t ac_ring_write_drop_oldest(ac_ring *r, const uint8_t *data, size_t n);

/* Copies out min(n, available) bytes in order; returns that count. */
size_t ac_ring_read(ac_ring *r, uint8_t *out, size_t n);

/* Discards everything; returns the bytes discarded. */
size_t ac_ring_clear(ac_ring *r);

#endif
