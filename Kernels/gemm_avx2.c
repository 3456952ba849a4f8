// AVX2+FMA GEMM micro-kernel: a 6×16 tile of C in 12 ymm accumulators (of 16 registers).
#include "gemm.h"

#if SWL_HAS_X86
#include <immintrin.h>

#include "gemm_transpose.h"

enum { MR = 6, NR = 16 };

// c is (MR,NR) with row stride ldc; A(i, k) is a[i·a_row_step + k·a_k_step] (a packed (kc,MR)
// panel: steps 1 and MR; MR rows of a row-major matrix: lda and 1); B(k, j) is bp[k·b_k_step + j]
// (a packed (kc,NR) panel: NR; a row-major B read in place: its row stride). With
// fetch_c, the C tile (read only after the K loop) is fetched first, so that a tile coming from
// memory arrives while the FMAs run. With overwrite, the tile is not read: C = bias (NR values,
// or 0 when bias is NULL) + the sum, the same addition as adding the sum to a C set to the bias.
SWL_TARGET_AVX2
static inline __attribute__((always_inline)) void microkernel_body(float *c, size_t ldc, const float *a,
                                                                   size_t a_row_step, size_t a_k_step,
                                                                   const float *bp, size_t b_k_step, int kc,
                                                                   int fetch_c, int overwrite, const float *bias) {
    if (fetch_c)
        for (int i = 0; i < MR; i++) {
            const float *row = c + (size_t)i * ldc;
            _mm_prefetch((const char *)row, _MM_HINT_T0);
            _mm_prefetch((const char *)(row + NR - 1), _MM_HINT_T0);  // an unaligned row's last line
        }
    __m256 acc[MR][2];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 2; j++) acc[i][j] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(bp);
        __m256 b1 = _mm256_loadu_ps(bp + 8);
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i * a_row_step);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += a_k_step;
        bp += b_k_step;
    }
    for (int i = 0; i < MR; i++) {
        float *row = c + (size_t)i * ldc;
        for (int j = 0; j < 2; j++) {
            const __m256 base = !overwrite ? _mm256_loadu_ps(row + 8 * j)
                                : bias != NULL ? _mm256_loadu_ps(bias + 8 * j) : _mm256_setzero_ps();
            _mm256_storeu_ps(row + 8 * j, _mm256_add_ps(base, acc[i][j]));
        }
    }
}

SWL_TARGET_AVX2
static void microkernel_6x16(float *c, size_t ldc, const float *ap, const float *bp, int kc) {
    microkernel_body(c, ldc, ap, 1, MR, bp, NR, kc, 0, 0, NULL);
}

SWL_TARGET_AVX2
static void microkernel_6x16_fetching_c(float *c, size_t ldc, const float *ap, const float *bp, int kc) {
    microkernel_body(c, ldc, ap, 1, MR, bp, NR, kc, 1, 0, NULL);
}

// An overwriting product's first K block (x·Wᵀ + b, a step's first weight gradient): C set to the
// bias in the micro-kernel instead of by a pass over C before it, as on the AVX-512 path.
SWL_TARGET_AVX2
static void microkernel_6x16_overwrite(float *c, size_t ldc, const float *ap, const float *bp, int kc,
                                       const float *bias) {
    microkernel_body(c, ldc, ap, 1, MR, bp, NR, kc, 0, 1, bias);
}

SWL_TARGET_AVX2
static void microkernel_6x16_rows_of_a(float *c, size_t ldc, const float *a, size_t lda, const float *b,
                                       size_t ldb, int kc) {
    microkernel_body(c, ldc, a, lda, 1, b, ldb, kc, 0, 0, NULL);
}

SWL_TARGET_AVX2
static void transpose8(float *dst, size_t dst_stride, const float *src, size_t src_stride, int kc) {
    swl_transpose8_avx(dst, dst_stride, src, src_stride, kc);
}

SWL_TARGET_AVX2
static void copy_panel(float *dst, const float *src, size_t src_stride, int kc) {
    for (int k = 0; k < kc; k++, dst += NR, src += src_stride)
        for (int j = 0; j < NR; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
}

// B stays packed (in_place_b_rows 0): read in place, the LM head's dout·W at 252 rows ran 5.0 and
// 5.7% slower on 1 thread (its NR row is one cache line every row stride), though 5.8–7.0% faster
// on 2.
const swl_gemm_path swl_gemm_path_avx2 = {
    .kernel = microkernel_6x16, .kernel_fetching_c = microkernel_6x16_fetching_c,
    .kernel_overwrite = microkernel_6x16_overwrite,
    .kernel_rows_of_a = microkernel_6x16_rows_of_a, .transpose8 = transpose8, .copy_panel = copy_panel,
    .mr = MR, .nr = NR, .mc = 240, .nc = 192, .kc = 256, .in_place_b_rows = 0,
};
#endif
