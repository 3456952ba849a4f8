// The tile products of flash attention (attention_flash.c), one per ISA path, and the 64×64
// tile transposes. Every product is one shape, a rank update of a 64-wide tile:
//     C[m, 0:64] (=|+=) Σ_k A(m,k) · Bt[k, 0:64]
// where A(m,k) = A[m·sm + k·sk] is broadcast and Bt is a contiguous (K,64) tile: the same loop
// serves every product of the forward and the backward, whatever the layout of A.
// Why not the GEMM's micro-kernels (the AVX2 one, 6×16, has the AVX2 tile's register shape): these
// sums start from C (rescaled in the forward) and add each k's product to it in turn, where the
// GEMM adds a K block's sum to C at its end, so the bits would differ; and these operands are
// already tiles in L1 or L2, with nothing to pack.
#ifndef SWIFTLET_ATTENTION_TILES_H
#define SWIFTLET_ATTENTION_TILES_H

#include <math.h>
#include <stddef.h>

#include "internal.h"

#if SWL_HAS_X86
#include <immintrin.h>

#include "gemm_transpose.h"
#endif

#define TILE 64

/// C (M×64) = or += Σ_{k<K} A[m·sm + k·sk] · Bt[k·64 + ·]; C is 64-byte aligned, Bt need not be. With
/// `accumulate` and a non-NULL `lane_scale` (64 values), C is first multiplied lane by lane by it
/// (the forward's rescaling of Oᵀ by exp(m_old − m_new)): the same bits as rescaling C in a pass of
/// its own before the update. A non-NULL `lane_max` (64 values) gets the largest value of each lane
/// over the M rows of the result, found as they are stored (NaN values skipped lane by lane, as
/// `s > max ? s : max` skips them): the forward's tile max without a pass over the tile.
typedef void (*tile_update_fn)(float *C, const float *A, size_t sm, size_t sk, const float *Bt,
                               int M, int K, int accumulate, const float *lane_scale, float *lane_max);

static void tile_update_portable(float *C, const float *A, size_t sm, size_t sk, const float *Bt,
                                 int M, int K, int accumulate, const float *lane_scale, float *lane_max) {
    if (lane_max != NULL)
        for (int x = 0; x < TILE; x++) lane_max[x] = -INFINITY;
    for (int m = 0; m < M; m++) {
        float acc[TILE];
        for (int x = 0; x < TILE; x++) {
            acc[x] = accumulate ? C[m * TILE + x] : 0.0f;
            if (accumulate && lane_scale != NULL) acc[x] *= lane_scale[x];  // as a pass over C would
        }
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float am = a[(size_t)k * sk];
            const float *b = Bt + (size_t)k * TILE;
            for (int x = 0; x < TILE; x++) acc[x] += am * b[x];
        }
        for (int x = 0; x < TILE; x++) C[m * TILE + x] = acc[x];
        if (lane_max != NULL)
            for (int x = 0; x < TILE; x++) lane_max[x] = acc[x] > lane_max[x] ? acc[x] : lane_max[x];
    }
}

#if SWL_HAS_X86
// 4 rows × 64 lanes = 16 zmm accumulators; each k loads 4 vectors and broadcasts 4 scalars.
SWL_TARGET_AVX512 static void tile_update_avx512(float *C, const float *A, size_t sm, size_t sk,
                                                 const float *Bt, int M, int K, int accumulate,
                                                 const float *lane_scale, float *lane_max) {
    const int rescale = accumulate && lane_scale != NULL;
    __m512 lane_scales[4];  // read only when rescale
    __m512 best[4];         // the running lane max, with lane_max
    for (int x = 0; x < 4; x++) best[x] = _mm512_set1_ps(-INFINITY);
    for (int x = 0; x < 4; x++)
        lane_scales[x] = rescale ? _mm512_loadu_ps(lane_scale + 16 * x) : _mm512_setzero_ps();
    int m = 0;
    for (; m + 4 <= M; m += 4) {
        __m512 acc[4][4];
        for (int g = 0; g < 4; g++)
            for (int x = 0; x < 4; x++)
                acc[g][x] = accumulate ? _mm512_load_ps(C + (m + g) * TILE + 16 * x) : _mm512_setzero_ps();
        if (rescale)
            for (int g = 0; g < 4; g++)
                for (int x = 0; x < 4; x++) acc[g][x] = _mm512_mul_ps(acc[g][x], lane_scales[x]);
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float *b = Bt + (size_t)k * TILE;
            const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
            const __m512 b2 = _mm512_loadu_ps(b + 32), b3 = _mm512_loadu_ps(b + 48);
            const float *ak = a + (size_t)k * sk;
            for (int g = 0; g < 4; g++) {
                const __m512 ag = _mm512_set1_ps(ak[(size_t)g * sm]);
                acc[g][0] = _mm512_fmadd_ps(ag, b0, acc[g][0]);
                acc[g][1] = _mm512_fmadd_ps(ag, b1, acc[g][1]);
                acc[g][2] = _mm512_fmadd_ps(ag, b2, acc[g][2]);
                acc[g][3] = _mm512_fmadd_ps(ag, b3, acc[g][3]);
            }
        }
        for (int g = 0; g < 4; g++)
            for (int x = 0; x < 4; x++) {
                _mm512_store_ps(C + (m + g) * TILE + 16 * x, acc[g][x]);
                if (lane_max != NULL) best[x] = _mm512_max_ps(acc[g][x], best[x]);  // NaN: keeps best
            }
    }
    for (; m < M; m++) {
        __m512 acc[4];
        for (int x = 0; x < 4; x++) {
            acc[x] = accumulate ? _mm512_load_ps(C + m * TILE + 16 * x) : _mm512_setzero_ps();
            if (rescale) acc[x] = _mm512_mul_ps(acc[x], lane_scales[x]);
        }
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float *b = Bt + (size_t)k * TILE;
            const __m512 am = _mm512_set1_ps(a[(size_t)k * sk]);
            for (int x = 0; x < 4; x++) acc[x] = _mm512_fmadd_ps(am, _mm512_loadu_ps(b + 16 * x), acc[x]);
        }
        for (int x = 0; x < 4; x++) {
            _mm512_store_ps(C + m * TILE + 16 * x, acc[x]);
            if (lane_max != NULL) best[x] = _mm512_max_ps(acc[x], best[x]);
        }
    }
    if (lane_max != NULL)
        for (int x = 0; x < 4; x++) _mm512_storeu_ps(lane_max + 16 * x, best[x]);
}

// R rows × 16 lanes of C, a block: 2·R ymm accumulators over one quarter of the tile (lanes lane0…
// lane0+15). Each k loads 2 vectors of Bt and broadcasts R scalars of A.
SWL_TARGET_AVX2 static inline __attribute__((always_inline)) void
tile_rows_avx2(float *C, const float *A, size_t sm, size_t sk, const float *Bt, int K, int accumulate,
               int rescale, __m256 scale0, __m256 scale1, float *lane_max, int lane0, int R) {
    __m256 acc[6][2];
    for (int g = 0; g < R; g++) {
        const float *c = C + g * TILE + lane0;
        acc[g][0] = accumulate ? _mm256_load_ps(c) : _mm256_setzero_ps();
        acc[g][1] = accumulate ? _mm256_load_ps(c + 8) : _mm256_setzero_ps();
        if (rescale) {
            acc[g][0] = _mm256_mul_ps(acc[g][0], scale0);
            acc[g][1] = _mm256_mul_ps(acc[g][1], scale1);
        }
    }
    for (int k = 0; k < K; k++) {
        const float *b = Bt + (size_t)k * TILE + lane0;
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        const float *ak = A + (size_t)k * sk;
        for (int g = 0; g < R; g++) {
            const __m256 ag = _mm256_broadcast_ss(ak + (size_t)g * sm);
            acc[g][0] = _mm256_fmadd_ps(ag, b0, acc[g][0]);
            acc[g][1] = _mm256_fmadd_ps(ag, b1, acc[g][1]);
        }
    }
    for (int g = 0; g < R; g++) {
        float *c = C + g * TILE + lane0;
        _mm256_store_ps(c, acc[g][0]);
        _mm256_store_ps(c + 8, acc[g][1]);
        if (lane_max != NULL) {
            float *best = lane_max + lane0;
            _mm256_storeu_ps(best, _mm256_max_ps(acc[g][0], _mm256_loadu_ps(best)));
            _mm256_storeu_ps(best + 8, _mm256_max_ps(acc[g][1], _mm256_loadu_ps(best + 8)));
        }
    }
}

// Blocks of 6 rows × 16 lanes (12 ymm accumulators, 8 loads for 12 FMAs), then 4, 2 and 1 for the
// rest of M, over the four quarters of the tile. Every element still sums over k in order, so the
// bits are those of 2 rows × 32 lanes, the kernel before, which ran 76.6–78.0 GFLOP/s on 64×64×64
// tiles against 85.1–86.3 for this one (Intel Xeon, model 207, 1 thread; AVX2's peak there about 90).
SWL_TARGET_AVX2 static void tile_update_avx2(float *C, const float *A, size_t sm, size_t sk,
                                             const float *Bt, int M, int K, int accumulate,
                                             const float *lane_scale, float *lane_max) {
    const int rescale = accumulate && lane_scale != NULL;
    if (lane_max != NULL)
        for (int x = 0; x < TILE; x++) lane_max[x] = -INFINITY;
    for (int lane0 = 0; lane0 < TILE; lane0 += 16) {
        const __m256 scale0 = rescale ? _mm256_loadu_ps(lane_scale + lane0) : _mm256_setzero_ps();
        const __m256 scale1 = rescale ? _mm256_loadu_ps(lane_scale + lane0 + 8) : _mm256_setzero_ps();
        int m = 0;
        for (; m + 6 <= M; m += 6)
            tile_rows_avx2(C + m * TILE, A + (size_t)m * sm, sm, sk, Bt, K, accumulate, rescale, scale0, scale1,
                           lane_max, lane0, 6);
        // the rest: 4, 2 and 1 rows, each block size a constant so that acc stays in registers
        if (M - m >= 4) {
            tile_rows_avx2(C + m * TILE, A + (size_t)m * sm, sm, sk, Bt, K, accumulate, rescale, scale0, scale1,
                           lane_max, lane0, 4);
            m += 4;
        }
        if (M - m >= 2) {
            tile_rows_avx2(C + m * TILE, A + (size_t)m * sm, sm, sk, Bt, K, accumulate, rescale, scale0, scale1,
                           lane_max, lane0, 2);
            m += 2;
        }
        if (M - m >= 1)
            tile_rows_avx2(C + m * TILE, A + (size_t)m * sm, sm, sk, Bt, K, accumulate, rescale, scale0, scale1,
                           lane_max, lane0, 1);
    }
}
#endif

// dst (cols,64) = the first `rows` rows of src transposed, src's rows `src_stride` floats apart:
// dst[c·64 + r] = src[r·src_stride + c] for c < cols, with lanes r ≥ rows zero. It makes dSᵀ from dS
// (src_stride 64) and the tiles Qᵀ, Kᵀ, Vᵀ, dOᵀ from rows of (T,hs) (src_stride hs).
typedef void (*tile_transpose_fn)(float *dst, const float *src, size_t src_stride, int rows, int cols);

static void tile_transpose_portable(float *dst, const float *src, size_t src_stride, int rows, int cols) {
    for (int c = 0; c < cols; c++)
        for (int r = 0; r < TILE; r++) dst[c * TILE + r] = r < rows ? src[(size_t)r * src_stride + c] : 0.0f;
}

#if SWL_HAS_X86
// 8×8 blocks with AVX (swl_transpose8_avx, the GEMM's packing transpose): against the scalar loop,
// the 1-thread forward+backward at T=4096 took 715–728 instead of 757 ms (Intel Xeon, model 207;
// measured when it transposed only dSᵀ).
SWL_TARGET_AVX2 static void tile_transpose_avx2(float *dst, const float *src, size_t src_stride, int rows,
                                                int cols) {
    int r = 0;
    for (; r + 8 <= rows; r += 8) swl_transpose8_avx(dst + r, TILE, src + (size_t)r * src_stride, src_stride, cols);
    for (int c = 0; c < cols; c++)
        for (int x = r; x < TILE; x++) dst[c * TILE + x] = x < rows ? src[(size_t)x * src_stride + c] : 0.0f;
}
SWL_TARGET_AVX512 static void tile_transpose_avx512(float *dst, const float *src, size_t src_stride, int rows,
                                                    int cols) {
    tile_transpose_avx2(dst, src, src_stride, rows, cols);
}
#endif

#endif  // SWIFTLET_ATTENTION_TILES_H
