/* The realtime kernels for x86-64 CPUs with AVX2 and FMA (built with -mavx2 -mfma,
 * run only where the CPU reports both). */
#if defined(AC_FIR_X86)
#define FIR_NAME avx2
#define FIR_LABEL "avx2+fma"
#include "fir_stage.inc"
#endif
