/* The realtime kernels for x86-64 CPUs with AVX-512F (built with -mavx512f -mfma,
 * run only where the CPU and the OS support it). */
#if defined(AC_FIR_X86)
#define FIR_NAME avx512
#define FIR_LABEL "avx512+fma"
#include "fir_stage.inc"
#endif
