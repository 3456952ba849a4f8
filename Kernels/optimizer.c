// AdamW update, the sum of squares behind gradient-norm clipping, in-place scaling and zeroing.
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

#define OPTIMIZER_CHUNK 8192
#define OPTIMIZER_PARALLEL_MIN 65536

// params, m, v, grads are (n). PyTorch's AdamW: decoupled weight decay, bias corrections by
// the 1-based step t. grad_scale is gradient-norm clipping's factor, applied here as llm.c does
// rather than in a pass of its own over the gradients (a read and a write of all of them).
// One plain loop for every ISA path: the compiler vectorizes it and it already streams its
// seven arrays at memory speed.
void swl_adamw_update(float *params, float *m, float *v, const float *grads, size_t n, float grad_scale,
                      float lr, float beta1, float beta2, float eps, float weight_decay, int t) {
    float decay = (float)(1.0 - (double)lr * (double)weight_decay);
    float step_size = (float)((double)lr / (1.0 - pow((double)beta1, t)));
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow((double)beta2, t)));
    size_t chunks = (n + OPTIMIZER_CHUNK - 1) / OPTIMIZER_CHUNK;
    _Pragma("omp parallel for schedule(static) if (n >= OPTIMIZER_PARALLEL_MIN)")
    for (size_t k = 0; k < chunks; k++) {
        size_t end = SWL_MIN(n, (k + 1) * OPTIMIZER_CHUNK);
        for (size_t i = k * OPTIMIZER_CHUNK; i < end; i++) {
            float g = grads[i] * grad_scale;
            float mi = beta1 * m[i] + (1.0f - beta1) * g;
            float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
            m[i] = mi;
            v[i] = vi;
            params[i] = params[i] * decay - step_size * mi / (sqrtf(vi) * inv_sqrt_bc2 + eps);
        }
    }
}

// Σ x² over fixed blocks: each block sums in double, then blocks are added in order, in
// groups of SUM_BLOCKS_PER_GROUP so the partials fit on the stack.
#define SUM_BLOCK 4096
#define SUM_BLOCKS_PER_GROUP 256
// The vector paths read x (the 497 MB of GPT-2's gradients, from memory) with two streams of
// prefetches besides the loads, into L1 and into L2, as the cross-entropy forward does: one stream
// of requests is bound by the core's fill buffers. On an Intel Xeon (model 207) 124M floats took
// 24.8–25.5 → 17.0–18.7 ms on 2 threads (AVX2: 26.4–26.9 → 18.3) and 50.1 → 33.9 ms on 1 (a driver,
// best of 7, 512 MB written between calls; the same sums); other distances (512–4,096 and 16K–64K
// floats) measured no better. Prefetch only: the same bits.
#define SUM_PREFETCH_AHEAD 2048
#define SUM_PREFETCH_L2_AHEAD 32768

// One block's Σ x², accumulated in double (two independent accumulators on the vector paths).
static double block_sum_of_squares_portable(const float *x, size_t count) {
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

#if SWL_HAS_X86
#include <immintrin.h>

static SWL_TARGET_AVX2 double block_sum_of_squares_avx2(const float *x, size_t count) {
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        if (i % 16 == 0) {  // a line
            __builtin_prefetch(x + i + SUM_PREFETCH_AHEAD);
            __builtin_prefetch(x + i + SUM_PREFETCH_L2_AHEAD, 0, 2);
        }
        __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + i));
        __m256d hi = _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4));
        acc0 = _mm256_fmadd_pd(lo, lo, acc0);
        acc1 = _mm256_fmadd_pd(hi, hi, acc1);
    }
    __m256d acc = _mm256_add_pd(acc0, acc1);
    __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
    for (; i < count; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

static SWL_TARGET_AVX512 double block_sum_of_squares_avx512(const float *x, size_t count) {
    __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __builtin_prefetch(x + i + SUM_PREFETCH_AHEAD);
        __builtin_prefetch(x + i + SUM_PREFETCH_L2_AHEAD, 0, 2);
        __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(x + i));
        __m512d hi = _mm512_cvtps_pd(_mm256_loadu_ps(x + i + 8));
        acc0 = _mm512_fmadd_pd(lo, lo, acc0);
        acc1 = _mm512_fmadd_pd(hi, hi, acc1);
    }
    __m512d acc = _mm512_add_pd(acc0, acc1);
    __m256d quad = _mm256_add_pd(_mm512_castpd512_pd256(acc), _mm512_extractf64x4_pd(acc, 1));
    __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(quad), _mm256_extractf128_pd(quad, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
    for (; i < count; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}
#define SUM_OF_SQUARES_PATHS {block_sum_of_squares_portable, block_sum_of_squares_avx2, block_sum_of_squares_avx512}
#else
#define SUM_OF_SQUARES_PATHS {block_sum_of_squares_portable, block_sum_of_squares_portable, block_sum_of_squares_portable}
#endif

// x is (n).
double swl_sum_of_squares(const float *x, size_t n) {
    static double (*const paths[3])(const float *, size_t) = SUM_OF_SQUARES_PATHS;
    double (*block_sum_of_squares)(const float *, size_t) = paths[swl_isa_active()];
    double total = 0.0;
    size_t blocks = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    for (size_t group = 0; group < blocks; group += SUM_BLOCKS_PER_GROUP) {
        double partial[SUM_BLOCKS_PER_GROUP];
        size_t count = SWL_MIN(blocks - group, (size_t)SUM_BLOCKS_PER_GROUP);
        _Pragma("omp parallel for schedule(static) if (count > 4)")
        for (size_t k = 0; k < count; k++) {
            size_t start = (group + k) * SUM_BLOCK;
            partial[k] = block_sum_of_squares(x + start, SWL_MIN(n - start, (size_t)SUM_BLOCK));
        }
        for (size_t k = 0; k < count; k++) total += partial[k];
    }
    return total;
}

// x is (n).
void swl_scale(float *x, size_t n, float s) {
    size_t chunks = (n + OPTIMIZER_CHUNK - 1) / OPTIMIZER_CHUNK;
    _Pragma("omp parallel for schedule(static) if (n >= OPTIMIZER_PARALLEL_MIN)")
    for (size_t k = 0; k < chunks; k++) {
        size_t end = SWL_MIN(n, (k + 1) * OPTIMIZER_CHUNK);
        for (size_t i = k * OPTIMIZER_CHUNK; i < end; i++) x[i] *= s;
    }
}

// Zeroes x[0, n) with streaming stores: aligned whole vectors past the caches, plain stores for
// the ends.
#if SWL_HAS_X86
static SWL_TARGET_AVX512 void zero_streamed_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i < n && ((uintptr_t)(x + i) & 63) != 0; i++) x[i] = 0.0f;
    for (; i + 16 <= n; i += 16) _mm512_stream_ps(x + i, _mm512_setzero_ps());
    for (; i < n; i++) x[i] = 0.0f;
    swl_stream_fence();
}

// SSE: every x86-64 CPU has it (stated for 32-bit x86 builds, where it is not the default).
__attribute__((target("sse"))) static void zero_streamed_sse(float *x, size_t n) {
    size_t i = 0;
    for (; i < n && ((uintptr_t)(x + i) & 15) != 0; i++) x[i] = 0.0f;
    for (; i + 4 <= n; i += 4) _mm_stream_ps(x + i, _mm_setzero_ps());
    for (; i < n; i++) x[i] = 0.0f;
    swl_stream_fence();
}
#endif

// Zeroes x[0, n): large runs with streaming stores, the rest with memset.
static void zero_run(float *x, size_t n) {
#if SWL_HAS_X86
    if (swl_should_stream(n * sizeof(float))) {
        if (swl_isa_active() == SWL_ISA_AVX512) zero_streamed_avx512(x, n);
        else zero_streamed_sse(x, n);
        return;
    }
#endif
    memset(x, 0, sizeof(float) * n);
}

// x is (n). One run per thread; runs of 8 MiB and more are streamed. For the 124M gradients of
// GPT-2 (zeroed before every step until a step's first backward wrote them instead) the C
// library's memset took 23.9–24.3 ms on 2 threads against 10.4–11.1 ms streamed (Intel Xeon
// model 207, 497 MB, best of 7; 49.0 against 20.6 ms on 1): about twice the memory traffic, as
// if it read each line before writing it. A pass adding into them afterwards took as long
// either way.
void swl_zero(float *x, size_t n) {
    _Pragma("omp parallel if (n >= OPTIMIZER_PARALLEL_MIN)")
    {
        const swl_share mine = swl_thread_share(n);
        zero_run(x + mine.first, mine.end - mine.first);
    }
}
