/* G.711 mu-law and A-law, bit-exact with CPython's audioop at width 2. */
#ifndef AUDIOCORE_G711_H
#define AUDIOCORE_G711_H

#include <stddef.h>
#include <stdint.h>

/* Builds the lookup tables. Runs by itself when the shared object that links this
 * file is loaded (GCC/Clang); idempotent, so calling it again is harmless. */
void ac_g711_init(void);

void ac_ulaw_encode(const int16_t *in, uint8_t *out, size_t n);
void ac_ulaw_decode(const uint8_t *in, int16_t *out, size_t n);
void ac_alaw_encode(const int16_t *in, uint8_t *out, size_t n);
void ac_alaw_decode(const uint8_t *in, int16_t *out, size_t n);

/* Single-code helpers, used by the fused converter. */
extern uint8_t ac_ulaw_enc_table[1 << 14];
extern uint8_t ac_alaw_enc_table[1 << 13];
extern int16_t ac_ulaw_dec_table[256];
extern int16_t ac_alaw_dec_table[256];

static inline uint8_t ac_ulaw_of(int16_t s) { return ac_ulaw_enc_table[(uint16_t)s >> 2]; }
static inline uint8_t ac_alaw_of(int16_t s) { return ac_alaw_enc_table[(uint16_t)s >> 3]; }

#endif
