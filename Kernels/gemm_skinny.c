// Products with only a few rows (sampling one token: N = 1): A·Bᵀ and C += A·B reading the
// weight in place. Packing would copy the whole weight for a handful of rows, and an MR-row
// micro-kernel would mostly multiply padding, so these loops stream each weight row once.
//
// One generic body per product, inlined into a wrapper per ISA target so the compiler vectorizes
// it for that ISA (the wrappers hold no OpenMP region: outlined regions would lose the target).
// Threads take blocks of output columns; every output sums its K products in a fixed order.
#include "gemm.h"

enum { LANES = 64, COLUMN_BLOCK = 128 };

typedef void (*skinny_nt_columns)(float *c, const float *a, const float *b, const float *bias,
                                  int M, int N, int K, int j0, int j1);
typedef void (*skinny_nn_columns)(float *c, const float *a, const float *b, int M, int N, int K,
                                  int j0, int j1);

// Columns [j0, j1) of c (M,N) = a (M,K) · bᵀ (+ bias), b is (N,K): dot products of rows.
// Each keeps LANES partial sums (k mod LANES), reduced pairwise in a fixed order.
__attribute__((always_inline)) static inline void nt_body(
    float *c, const float *a, const float *b, const float *bias, int M, int N, int K, int j0, int j1) {
    for (int j = j0; j < j1; j++) {
        const float *b_row = b + (size_t)j * K;
        // Read once here: read inside the loop under the NULL test, clang gathers it per lane.
        const float bias_j = bias != NULL ? bias[j] : 0.0f;
        for (int i = 0; i < M; i++) {
            const float *a_row = a + (size_t)i * K;
            float partial[LANES] = {0};
            int k = 0;
            for (; k + LANES <= K; k += LANES)
                for (int l = 0; l < LANES; l++) partial[l] += a_row[k + l] * b_row[k + l];
            for (int l = 0; k + l < K; l++) partial[l] += a_row[k + l] * b_row[k + l];
            for (int width = LANES / 2; width > 0; width /= 2)
                for (int l = 0; l < width; l++) partial[l] += partial[l + width];
            c[(size_t)i * N + j] = partial[0] + bias_j;
        }
    }
}

// Columns [j0, j1) (at most COLUMN_BLOCK) of c (M,N) += a (M,K) · b (K,N): each weight row
// slice is loaded once for all M rows, and each column sums over k in order.
__attribute__((always_inline)) static inline void nn_body(
    float *c, const float *a, const float *b, int M, int N, int K, int j0, int j1) {
    const int width = j1 - j0;
    float sum[SWL_SKINNY_ROWS][COLUMN_BLOCK] = {{0}};
    for (int k = 0; k < K; k++) {
        const float *b_row = b + (size_t)k * N + j0;
        for (int i = 0; i < M; i++) {
            const float scale = a[(size_t)i * K + k];
            for (int j = 0; j < width; j++) sum[i][j] += scale * b_row[j];
        }
    }
    for (int i = 0; i < M; i++)
        for (int j = 0; j < width; j++) c[(size_t)i * N + j0 + j] += sum[i][j];
}

#define SKINNY_WRAPPERS(suffix, target)                                                         \
    target static void nt_##suffix(float *c, const float *a, const float *b, const float *bias, \
                                   int M, int N, int K, int j0, int j1) {                       \
        nt_body(c, a, b, bias, M, N, K, j0, j1);                                                \
    }                                                                                           \
    target static void nn_##suffix(float *c, const float *a, const float *b, int M, int N,      \
                                   int K, int j0, int j1) {                                     \
        nn_body(c, a, b, M, N, K, j0, j1);                                                      \
    }

SKINNY_WRAPPERS(portable, )
#if SWL_HAS_X86
SKINNY_WRAPPERS(avx2, SWL_TARGET_AVX2)
SKINNY_WRAPPERS(avx512, SWL_TARGET_AVX512)
#endif

void swl_skinny_nt(float *c, const float *a, const float *b, const float *bias, int M, int N, int K) {
    skinny_nt_columns columns = nt_portable;
#if SWL_HAS_X86
    if (swl_isa_active() == SWL_ISA_AVX512) columns = nt_avx512;
    else if (swl_isa_active() == SWL_ISA_AVX2) columns = nt_avx2;
#endif
    const int blocks = (N + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    SWL_PARALLEL_FOR
    for (int block = 0; block < blocks; block++)
        columns(c, a, b, bias, M, N, K, block * COLUMN_BLOCK, SWL_MIN(N, (block + 1) * COLUMN_BLOCK));
}

void swl_skinny_nn_accumulate(float *c, const float *a, const float *b, int M, int N, int K) {
    skinny_nn_columns columns = nn_portable;
#if SWL_HAS_X86
    if (swl_isa_active() == SWL_ISA_AVX512) columns = nn_avx512;
    else if (swl_isa_active() == SWL_ISA_AVX2) columns = nn_avx2;
#endif
    const int blocks = (N + COLUMN_BLOCK - 1) / COLUMN_BLOCK;
    SWL_PARALLEL_FOR
    for (int block = 0; block < blocks; block++)
        columns(c, a, b, M, N, K, block * COLUMN_BLOCK, SWL_MIN(N, (block + 1) * COLUMN_BLOCK));
}
