#include "g711.h"

/* Encoders only look at the top 14 (mu-law) or 13 (A-law) bits of a sample, so a
 * table indexed by those bits is exact and turns each sample into one load. */
uint8_t ac_ulaw_enc_table[1 << 14];
uint8_t ac_alaw_enc_table[1 << 13];
int16_t ac_ulaw_dec_table[256];
int16_t ac_alaw_dec_table[256];

/* Number of significant bits of v (0 for v == 0). */
static int bit_length(int v)
{
    int n = 0;
    while (v) {
        n++;
        v >>= 1;
    }
    return n;
}

/* mu-law of a 14-bit sample. audioop negates the arithmetically shifted value
 * (magnitude = -(x >> 2)); ITU G.191 takes the one's complement instead. The two
 * differ on 508 negative 16-bit inputs; we follow audioop. */
static uint8_t ulaw_from_14bit(int v)
{
    uint8_t mask = 0xFF;
    if (v < 0) {
        v = -v;
        mask = 0x7F;
    }
    if (v > 8159) /* clip so that magnitude + bias stays within 13 bits */
        v = 8159;
    v += 33;      /* bias 0x84, expressed at 14-bit scale */
    int seg = bit_length(v >> 6);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)((((unsigned)seg << 4) | ((v >> (seg + 1)) & 0xF)) ^ mask);
}

/* A-law of a 13-bit sample (negative magnitudes are one's complement, per G.711). */
static uint8_t alaw_from_13bit(int v)
{
    uint8_t mask = 0xD5;
    if (v < 0) {
        v = -v - 1;
        mask = 0x55;
    }
    int seg = bit_length(v >> 5);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    int mant = seg < 2 ? (v >> 1) & 0xF : (v >> seg) & 0xF;
    return (uint8_t)((((unsigned)seg << 4) | (unsigned)mant) ^ mask);
}

static int16_t ulaw_to_linear(uint8_t code)
{
    unsigned u = (unsigned)(~code) & 0xFF;
    int mag = ((((int)u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
    return (int16_t)((u & 0x80) ? (0x84 - mag) : (mag - 0x84));
}

static int16_t alaw_to_linear(uint8_t code)
{
    unsigned a = code ^ 0x55u;
    int seg = (int)((a & 0x70) >> 4);
    int mag = (int)(a & 0x0F) << 4;
    if (seg == 0)
        mag += 8;
    else
        mag = (mag + 0x108) << (seg - 1);
    return (int16_t)((a & 0x80) ? mag : -mag);
}

/* Each extension module links its own copy of these tables, so they are built when
 * the module's shared object is loaded, before any code can use them. */
#if defined(__GNUC__)
__attribute__((constructor))
#endif
void ac_g711_init(void)
{
    /* Index i holds the bit pattern of the shifted sample; sign-extend it back. */
    for (int i = 0; i < (1 << 14); i++)
        ac_ulaw_enc_table[i] = ulaw_from_14bit(i >= (1 << 13) ? i - (1 << 14) : i);
    for (int i = 0; i < (1 << 13); i++)
        ac_alaw_enc_table[i] = alaw_from_13bit(i >= (1 << 12) ? i - (1 << 13) : i);
    for (int c = 0; c < 256; c++) {
        ac_ulaw_dec_table[c] = ulaw_to_linear((uint8_t)c);
        ac_alaw_dec_table[c] = alaw_to_linear((uint8_t)c);
    }
}

void ac_ulaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ac_ulaw_of(in[i]);
}

/* A store through `out` might alias the (writable) tables, so the compiler would
 * wait for each store before the next lookup; reading a group of codes into locals
 * first lets the lookups overlap. */
#define LOOKUP(table, in, out, n)                                                   \
    do {                                                                            \
        size_t i_ = 0;                                                              \
        for (; i_ + 8 <= (n); i_ += 8) {                                            \
            int16_t a0 = table[(in)[i_]], a1 = table[(in)[i_ + 1]];                 \
            int16_t a2 = table[(in)[i_ + 2]], a3 = table[(in)[i_ + 3]];             \
            int16_t a4 = table[(in)[i_ + 4]], a5 = table[(in)[i_ + 5]];             \
            int16_t a6 = table[(in)[i_ + 6]], a7 = table[(in)[i_ + 7]];             \
            (out)[i_] = a0, (out)[i_ + 1] = a1, (out)[i_ + 2] = a2, (out)[i_ + 3] = a3; \
            (out)[i_ + 4] = a4, (out)[i_ + 5] = a5, (out)[i_ + 6] = a6;             \
            (out)[i_ + 7] = a7;                                                     \
        }                                                                           \
        for (; i_ < (n); i_++)                                                      \
            (out)[i_] = table[(in)[i_]];                                            \
    } while (0)

void ac_ulaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
    LOOKUP(ac_ulaw_dec_table, in, out, n);
}

void ac_alaw_encode(const int16_t *in, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = ac_alaw_of(in[i]);
}

void ac_alaw_decode(const uint8_t *in, int16_t *out, size_t n)
{
    LOOKUP(ac_alaw_dec_table, in, out, n);
}
