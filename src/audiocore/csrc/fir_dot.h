/* Inner products of the polyphase resampler.
 *
 * Every output is the same arithmetic whichever kernel computes it: taps in blocks
 * of FIR_LANES = 16, two 8-wide partial sums (taps 0-7 and 8-15 of each block)
 * summed in block order, then added lane-wise and reduced in a fixed order. Kernels
 * that share loads between outputs therefore give the same bits as the single one,
 * so output never depends on how input was chunked, nor on the CPU: -ffp-contract=off
 * forbids FMA, and without AVX the compiler splits each 8-wide operation into two
 * 4-wide halves, lane by lane. Taps must be zero-padded to FIR_LANES. */
#ifndef AUDIOCORE_FIR_DOT_H
#define AUDIOCORE_FIR_DOT_H

#define FIR_LANES 16

#if defined(__GNUC__)
/* 8 floats; aligned(4) allows unaligned loads of the sliding input window. */
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));
#define LD(p) (*(const v8f *)(p))
/* The kernels must be compiled inside each target clone of their caller (AVX2 or
 * SSE2), never as one out-of-line SSE2 copy. */
#define KERNEL static inline __attribute__((always_inline))

KERNEL float hsum(v8f a, v8f b)
{
    v8f t = a + b;
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

typedef float v4f __attribute__((vector_size(16), aligned(4), may_alias));
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define FIR_SHUFFLE 1
#endif
#endif

/* hsum() of four outputs at once, the same additions in the same order: per
 * output u = low half + high half of a + b, then (u0 + u2) + (u1 + u3), here on the
 * transposed 4x4 matrix of the u's. */
KERNEL void hsum4(v8f a0, v8f b0, v8f a1, v8f b1, v8f a2, v8f b2, v8f a3, v8f b3,
                  float *y)
{
#ifdef FIR_SHUFFLE
#define HALVES(t) (__builtin_shufflevector(t, t, 0, 1, 2, 3) + \
                   __builtin_shufflevector(t, t, 4, 5, 6, 7))
    v8f t0 = a0 + b0, t1 = a1 + b1, t2 = a2 + b2, t3 = a3 + b3;
    v4f u0 = HALVES(t0), u1 = HALVES(t1), u2 = HALVES(t2), u3 = HALVES(t3);
#undef HALVES
    v4f p0 = __builtin_shufflevector(u0, u1, 0, 4, 1, 5);
    v4f p1 = __builtin_shufflevector(u2, u3, 0, 4, 1, 5);
    v4f p2 = __builtin_shufflevector(u0, u1, 2, 6, 3, 7);
    v4f p3 = __builtin_shufflevector(u2, u3, 2, 6, 3, 7);
    v4f c0 = __builtin_shufflevector(p0, p1, 0, 1, 4, 5);
    v4f c1 = __builtin_shufflevector(p0, p1, 2, 3, 6, 7);
    v4f c2 = __builtin_shufflevector(p2, p3, 0, 1, 4, 5);
    v4f c3 = __builtin_shufflevector(p2, p3, 2, 3, 6, 7);
    *(v4f *)y = (c0 + c2) + (c1 + c3);
#else
    y[0] = hsum(a0, b0);
    y[1] = hsum(a1, b1);
    y[2] = hsum(a2, b2);
    y[3] = hsum(a3, b3);
#endif
}

KERNEL float dot(const float *x, const float *h, int n)
{
    v8f a = {0}, b = {0};
    for (int k = 0; k < n; k += FIR_LANES) {
        a += LD(x + k) * LD(h + k);
        b += LD(x + k + 8) * LD(h + k + 8);
    }
    return hsum(a, b);
}

/* Four outputs with one filter (decimation: every output uses phase 0). */
KERNEL void dot4_h(const float *x0, const float *x1, const float *x2,
                   const float *x3, const float *h, int n, float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
    for (int k = 0; k < n; k += FIR_LANES) {
        v8f hl = LD(h + k), hh = LD(h + k + 8);
        a0 += LD(x0 + k) * hl;
        b0 += LD(x0 + k + 8) * hh;
        a1 += LD(x1 + k) * hl;
        b1 += LD(x1 + k + 8) * hh;
        a2 += LD(x2 + k) * hl;
        b2 += LD(x2 + k + 8) * hh;
        a3 += LD(x3 + k) * hl;
        b3 += LD(x3 + k + 8) * hh;
    }
    hsum4(a0, b0, a1, b1, a2, b2, a3, b3, y);
}

/* Integer upsampling, two input positions at once: y = {x0.h0, x0.h1, x1.h0, x1.h1}
 * shares every load twice; dot2_h is the odd phase left over. */
KERNEL void dot2x2(const float *x0, const float *x1, const float *h0, const float *h1,
                   int n, float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
    for (int k = 0; k < n; k += FIR_LANES) {
        v8f xl = LD(x0 + k), xh = LD(x0 + k + 8), zl = LD(x1 + k), zh = LD(x1 + k + 8);
        v8f gl = LD(h0 + k), gh = LD(h0 + k + 8), ql = LD(h1 + k), qh = LD(h1 + k + 8);
        a0 += xl * gl;
        b0 += xh * gh;
        a1 += xl * ql;
        b1 += xh * qh;
        a2 += zl * gl;
        b2 += zh * gh;
        a3 += zl * ql;
        b3 += zh * qh;
    }
    hsum4(a0, b0, a1, b1, a2, b2, a3, b3, y);
}

KERNEL void dot2_h(const float *x0, const float *x1, const float *h, int n, float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0};
    for (int k = 0; k < n; k += FIR_LANES) {
        v8f hl = LD(h + k), hh = LD(h + k + 8);
        a0 += LD(x0 + k) * hl;
        b0 += LD(x0 + k + 8) * hh;
        a1 += LD(x1 + k) * hl;
        b1 += LD(x1 + k + 8) * hh;
    }
    y[0] = hsum(a0, b0);
    y[1] = hsum(a1, b1);
}

/* Two or four outputs at one input position (integer upsampling: phases 0..L-1). */
KERNEL void dot2_x(const float *x, const float *h0, const float *h1, int n,
                   float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0};
    for (int k = 0; k < n; k += FIR_LANES) {
        v8f xl = LD(x + k), xh = LD(x + k + 8);
        a0 += xl * LD(h0 + k);
        b0 += xh * LD(h0 + k + 8);
        a1 += xl * LD(h1 + k);
        b1 += xh * LD(h1 + k + 8);
    }
    y[0] = hsum(a0, b0);
    y[1] = hsum(a1, b1);
}

KERNEL void dot4_x(const float *x, const float *h0, const float *h1,
                   const float *h2, const float *h3, int n, float *y)
{
    v8f a0 = {0}, b0 = {0}, a1 = {0}, b1 = {0}, a2 = {0}, b2 = {0}, a3 = {0}, b3 = {0};
    for (int k = 0; k < n; k += FIR_LANES) {
        v8f xl = LD(x + k), xh = LD(x + k + 8);
        a0 += xl * LD(h0 + k);
        b0 += xh * LD(h0 + k + 8);
        a1 += xl * LD(h1 + k);
        b1 += xh * LD(h1 + k + 8);
        a2 += xl * LD(h2 + k);
        b2 += xh * LD(h2 + k + 8);
        a3 += xl * LD(h3 + k);
        b3 += xh * LD(h3 + k + 8);
    }
    hsum4(a0, b0, a1, b1, a2, b2, a3, b3, y);
}
#else
/* Same lanes and the same summation order as the vector version. */
#define KERNEL static inline
static inline float dot(const float *x, const float *h, int n)
{
    float a[8] = {0}, b[8] = {0}, t[8];
    for (int k = 0; k < n; k += FIR_LANES)
        for (int j = 0; j < 8; j++) {
            a[j] += x[k + j] * h[k + j];
            b[j] += x[k + 8 + j] * h[k + 8 + j];
        }
    for (int j = 0; j < 8; j++)
        t[j] = a[j] + b[j];
    return ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
}

static inline void dot4_h(const float *x0, const float *x1, const float *x2,
                          const float *x3, const float *h, int n, float *y)
{
    y[0] = dot(x0, h, n);
    y[1] = dot(x1, h, n);
    y[2] = dot(x2, h, n);
    y[3] = dot(x3, h, n);
}

static inline void dot2x2(const float *x0, const float *x1, const float *h0,
                          const float *h1, int n, float *y)
{
    y[0] = dot(x0, h0, n);
    y[1] = dot(x0, h1, n);
    y[2] = dot(x1, h0, n);
    y[3] = dot(x1, h1, n);
}

static inline void dot2_h(const float *x0, const float *x1, const float *h, int n,
                          float *y)
{
    y[0] = dot(x0, h, n);
    y[1] = dot(x1, h, n);
}

static inline void dot2_x(const float *x, const float *h0, const float *h1, int n,
                          float *y)
{
    y[0] = dot(x, h0, n);
    y[1] = dot(x, h1, n);
}

static inline void dot4_x(const float *x, const float *h0, const float *h1,
                          const float *h2, const float *h3, int n, float *y)
{
    y[0] = dot(x, h0, n);
    y[1] = dot(x, h1, n);
    y[2] = dot(x, h2, n);
    y[3] = dot(x, h3, n);
}
#endif


#endif
