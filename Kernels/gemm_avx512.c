// AVX-512 GEMM micro-kernel: an 8×48 tile of C in 24 zmm accumulators.
// Per k: 3 loads of B, 8 broadcasts of A, 24 FMAs — enough independent chains to keep both
// FMA pipes busy, and few enough loads that the load ports are not the limit.
#include "gemm.h"

#if SWL_HAS_X86
#include <immintrin.h>

#include "gemm_transpose.h"

enum { MR = 8, NR = 48 };

// c is (MR,NR) with row stride ldc; A(i, k) is a[i·a_row_step + k·a_k_step] (a packed (kc,MR)
// panel: steps 1 and MR; MR rows of a row-major matrix: lda and 1); B(k, j) is bp[k·b_k_step + j]
// (a packed (kc,NR) panel: NR; a row-major B read in place: its row stride). With
// fetch_c, the C tile (read only after the K loop) is fetched first, so that a tile coming from
// memory arrives while the FMAs run. With overwrite, the tile is not read: C = bias (NR values,
// or 0 when bias is NULL) + the sum, the same addition as adding the sum to a C set to the bias.
SWL_TARGET_AVX512
static inline __attribute__((always_inline)) void microkernel_body(float *c, size_t ldc, const float *a,
                                                                   size_t a_row_step, size_t a_k_step,
                                                                   const float *bp, size_t b_k_step, int kc,
                                                                   int fetch_c, int overwrite, const float *bias) {
    if (fetch_c)
        for (int i = 0; i < MR; i++) {
            const float *row = c + (size_t)i * ldc;
            for (int j = 0; j < NR; j += 16) _mm_prefetch((const char *)(row + j), _MM_HINT_T0);
            _mm_prefetch((const char *)(row + NR - 1), _MM_HINT_T0);  // an unaligned row's last line
        }
    __m512 acc[MR][3];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < 3; j++) acc[i][j] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(bp);
        __m512 b1 = _mm512_loadu_ps(bp + 16);
        __m512 b2 = _mm512_loadu_ps(bp + 32);
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i * a_row_step]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
            acc[i][2] = _mm512_fmadd_ps(ai, b2, acc[i][2]);
        }
        a += a_k_step;
        bp += b_k_step;
    }
    for (int i = 0; i < MR; i++) {
        float *row = c + (size_t)i * ldc;
        for (int j = 0; j < 3; j++) {
            const __m512 base = !overwrite ? _mm512_loadu_ps(row + 16 * j)
                                : bias != NULL ? _mm512_loadu_ps(bias + 16 * j) : _mm512_setzero_ps();
            _mm512_storeu_ps(row + 16 * j, _mm512_add_ps(base, acc[i][j]));
        }
    }
}

SWL_TARGET_AVX512
static void microkernel_8x48(float *c, size_t ldc, const float *ap, const float *bp, int kc) {
    microkernel_body(c, ldc, ap, 1, MR, bp, NR, kc, 0, 0, NULL);
}

SWL_TARGET_AVX512
static void microkernel_8x48_fetching_c(float *c, size_t ldc, const float *ap, const float *bp, int kc) {
    microkernel_body(c, ldc, ap, 1, MR, bp, NR, kc, 1, 0, NULL);
}

// Setting C to the bias first took 0.7–7.6% of the layers' x·Wᵀ on this path (4.0–7.6% with 2,304
// or 3,072 columns; Intel Xeon, model 207, 1 thread, rdtsc around the phases): a pass that writes
// C from memory before the first micro-kernel reads it back.
SWL_TARGET_AVX512
static void microkernel_8x48_overwrite(float *c, size_t ldc, const float *ap, const float *bp, int kc,
                                       const float *bias) {
    microkernel_body(c, ldc, ap, 1, MR, bp, NR, kc, 0, 1, bias);
}

SWL_TARGET_AVX512
static void microkernel_8x48_rows_of_a(float *c, size_t ldc, const float *a, size_t lda, const float *b,
                                       size_t ldb, int kc) {
    microkernel_body(c, ldc, a, lda, 1, b, ldb, kc, 0, 0, NULL);
}

SWL_TARGET_AVX2
static void transpose8(float *dst, size_t dst_stride, const float *src, size_t src_stride, int kc) {
    swl_transpose8_avx(dst, dst_stride, src, src_stride, kc);
}

// Three vectors per row. A memcpy call per 192-byte row took 5.9% of the LM head's dout·W samples
// on one thread (`perf`), this copy 4.1%.
SWL_TARGET_AVX512
static void copy_panel(float *dst, const float *src, size_t src_stride, int kc) {
    for (int k = 0; k < kc; k++, dst += NR, src += src_stride)
        for (int j = 0; j < NR; j += 16) _mm512_storeu_ps(dst + j, _mm512_loadu_ps(src + j));
}

// B read in place up to 256 rows a thread (the shared-B path): measured on the LM head's dout·W,
// old and new kernels alternating in one process (3–15 pairs a set, shared VM). 256 rows, 1
// thread: −1.5 to −4.3% in thirteen sets of fourteen (one +4.1%). In place at 384 rows +3.6% on 1
// thread, at 1,024 rows +3.2 to +4.0%; with the limit (1,024 rows packed as before) +0.5% and
// −0.1%, the A/B's own noise. 512 × 384 columns on 2 threads (shared-B, 256 rows each): −1.3%
// and −0.3%.
const swl_gemm_path swl_gemm_path_avx512 = {
    .kernel = microkernel_8x48, .kernel_fetching_c = microkernel_8x48_fetching_c,
    .kernel_overwrite = microkernel_8x48_overwrite,
    .kernel_rows_of_a = microkernel_8x48_rows_of_a, .transpose8 = transpose8, .copy_panel = copy_panel,
    .mr = MR, .nr = NR, .mc = 256, .nc = 192, .kc = 256, .in_place_b_rows = 256,
};
#endif
