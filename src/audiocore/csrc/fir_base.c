/* The realtime kernels for any CPU: the compiler's baseline vector instructions
 * (SSE2 on x86-64, NEON on arm64), multiply and add rounded separately. */
#define FIR_NAME base
#define FIR_LABEL "portable"
#include "fir_stage.inc"
