// Portable GEMM micro-kernel: a 4×8 tile of C in plain C that compilers vectorize for the
// baseline ISA (SSE2 on x86-64, NEON on arm64).
#include "gemm.h"

enum { MR = 4, NR = 8 };

// c is (MR,NR) with row stride ldc; ap is (kc,MR) packed; bp is (kc,NR) packed.
static void microkernel_4x8(float *c, size_t ldc, const float *ap, const float *bp, int kc) {
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += ap[i] * bp[j];
        ap += MR;
        bp += NR;
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) c[(size_t)i * ldc + j] += acc[i][j];
}

const swl_gemm_path swl_gemm_path_portable = {
    .kernel = microkernel_4x8,
    .mr = MR, .nr = NR, .mc = 128, .nc = 128, .kc = 256,
};
