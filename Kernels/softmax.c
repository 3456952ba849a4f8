// Fused causal softmax over attention scores, forward and backward.
// scores, probs, dscores, dprobs are (BH,T,T). Row i of each (T,T) matrix only uses columns j ≤ i:
// entries above the diagonal are never read (they may be junk) and probs there are exactly 0.
//
// The forward has explicit AVX-512 and AVX2 rows: the compiler does not vectorize swl_exp and the
// reductions well enough across ISA targets (it settles for 4-wide SSE or scalar code). Each row
// takes three passes over data that stays in L1: scaled max, exp with a fused sum, then
// normalize and zero-fill the rest of the row.
// Prefetching: each row prefetches the scores and the probabilities (about to be written) two rows
// ahead (`ahead` floats; 0 on the last two rows so no pointer leaves the buffers); the hardware
// prefetcher alone left one thread waiting on memory (1.5× slower at T=1024).
#include <stddef.h>

#include "attention_simd.h"
#include "internal.h"

#if SWL_HAS_X86
#include <immintrin.h>
#endif

// One query row: p[j] = exp(scale·s[j] − max) / Σ for j ≤ i, and 0 for i < j < T.
SWL_ALWAYS_INLINE void softmax_row(float *p, const float *s, int i, int T, float scale, size_t ahead) {
    (void)ahead;  // the portable path leaves prefetching to the hardware
    int n = i + 1;
    float max = swl_scaled_max(s, n, scale);
    for (int j = 0; j < n; j++) p[j] = swl_exp(scale * s[j] - max);
    float inverse = 1.0f / swl_sum(p, n);
    for (int j = 0; j < n; j++) p[j] *= inverse;
    for (int j = n; j < T; j++) p[j] = 0.0f;
}

// ds[j] += scale·p[j]·(dp[j] − Σ_{j'≤i} p[j']·dp[j']) for j ≤ i.
SWL_ALWAYS_INLINE void softmax_backward_row(float *ds, const float *dp, const float *p, int i,
                                            float scale) {
    int n = i + 1;
    float dot = swl_dot(p, dp, n);
    for (int j = 0; j < n; j++) ds[j] += scale * p[j] * (dp[j] - dot);
}

#if SWL_HAS_X86
// swl_exp on 16 lanes, with fused multiply-adds. Operand order in min/max lets NaN through, as
// the scalar version does.
SWL_TARGET_AVX512 static inline __m512 exp_avx512(__m512 x) {
    const __m512 underflow = _mm512_set1_ps(-87.0f);
    __m512 clamped = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(underflow, x));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(clamped, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), clamped);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 poly = _mm512_set1_ps(1.9875691500e-4f);
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.3981999507e-3f));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(8.3334519073e-3f));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(4.1665795894e-2f));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.6666665459e-1f));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 er = _mm512_add_ps(_mm512_fmadd_ps(poly, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    __m512 result = _mm512_mul_ps(er, _mm512_castsi512_ps(bits));
    __mmask16 under = _mm512_cmp_ps_mask(x, underflow, _CMP_LT_OQ);
    return _mm512_mask_mov_ps(result, under, _mm512_setzero_ps());
}

// softmax_row with 16 lanes; the last partial vector of the row is masked.
SWL_TARGET_AVX512 static inline void softmax_row_avx512(float *p, const float *s, int i, int T,
                                                        float scale, size_t ahead) {
    const int n = i + 1, full = n & ~15;
    const __mmask16 tail = (__mmask16)((1u << (n - full)) - 1u);
    const __m512 vscale = _mm512_set1_ps(scale);

    __m512 vmax = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < full; j += 16) {
        _mm_prefetch((const char *)(s + j + ahead), _MM_HINT_T0);  // see "Prefetching" above
        vmax = _mm512_max_ps(_mm512_mul_ps(vscale, _mm512_loadu_ps(s + j)), vmax);
    }
    if (tail)
        vmax = _mm512_mask_max_ps(vmax, tail, _mm512_mul_ps(vscale, _mm512_maskz_loadu_ps(tail, s + full)), vmax);
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));

    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    int j = 0;
    for (; j + 32 <= full; j += 32) {
        __m512 e0 = exp_avx512(_mm512_fmsub_ps(vscale, _mm512_loadu_ps(s + j), max));
        __m512 e1 = exp_avx512(_mm512_fmsub_ps(vscale, _mm512_loadu_ps(s + j + 16), max));
        _mm512_storeu_ps(p + j, e0);
        _mm512_storeu_ps(p + j + 16, e1);
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
    }
    for (; j < full; j += 16) {
        __m512 e = exp_avx512(_mm512_fmsub_ps(vscale, _mm512_loadu_ps(s + j), max));
        _mm512_storeu_ps(p + j, e);
        sum0 = _mm512_add_ps(sum0, e);
    }
    if (tail) {
        __m512 e = exp_avx512(_mm512_fmsub_ps(vscale, _mm512_maskz_loadu_ps(tail, s + full), max));
        _mm512_mask_storeu_ps(p + full, tail, e);
        sum1 = _mm512_mask_add_ps(sum1, tail, sum1, e);
    }
    const __m512 inverse = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1)));

    for (j = 0; j < full; j += 16) _mm512_storeu_ps(p + j, _mm512_mul_ps(_mm512_loadu_ps(p + j), inverse));
    // From `full` on: the tail's probabilities, then zeros up to T.
    for (j = 0; j < T; j += 16) _mm_prefetch((const char *)(p + j + ahead), _MM_HINT_T0);
    for (j = full; j < T; j += 16) {
        __mmask16 lanes = T - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (T - j)) - 1u);
        __m512 v = j == full ? _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, p + j), inverse) : _mm512_setzero_ps();
        _mm512_mask_storeu_ps(p + j, lanes, v);
    }
}

// swl_exp on 8 lanes, with fused multiply-adds.
SWL_TARGET_AVX2 static inline __m256 exp_avx2(__m256 x) {
    const __m256 underflow = _mm256_set1_ps(-87.0f);
    __m256 clamped = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(underflow, x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(clamped, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), clamped);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 poly = _mm256_set1_ps(1.9875691500e-4f);
    poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.3981999507e-3f));
    poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(8.3334519073e-3f));
    poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(4.1665795894e-2f));
    poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(1.6666665459e-1f));
    poly = _mm256_fmadd_ps(poly, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 er = _mm256_add_ps(_mm256_fmadd_ps(poly, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 result = _mm256_mul_ps(er, _mm256_castsi256_ps(bits));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, underflow, _CMP_LT_OQ), result);
}

// Horizontal max and sum of 8 lanes, in a fixed order.
SWL_TARGET_AVX2 static inline float hmax_avx2(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}
SWL_TARGET_AVX2 static inline float hsum_avx2(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// softmax_row with 8 lanes; the last partial vector of the row uses masked loads and stores.
SWL_TARGET_AVX2 static inline void softmax_row_avx2(float *p, const float *s, int i, int T,
                                                    float scale, size_t ahead) {
    static const int32_t ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    const int n = i + 1, full = n & ~7, rest = n - full;
    const __m256i tail = _mm256_loadu_si256((const __m256i *)(ones_then_zeros + 8 - rest));
    const __m256 tail_ps = _mm256_castsi256_ps(tail);
    const __m256 vscale = _mm256_set1_ps(scale);

    for (int j = 0; j < n; j += 16) _mm_prefetch((const char *)(s + j + ahead), _MM_HINT_T0);
    __m256 vmax = _mm256_set1_ps(-__builtin_inff());
    for (int j = 0; j < full; j += 8)
        vmax = _mm256_max_ps(_mm256_mul_ps(vscale, _mm256_loadu_ps(s + j)), vmax);
    if (rest) {
        __m256 v = _mm256_mul_ps(vscale, _mm256_maskload_ps(s + full, tail));
        vmax = _mm256_blendv_ps(vmax, _mm256_max_ps(v, vmax), tail_ps);
    }
    const __m256 max = _mm256_set1_ps(hmax_avx2(vmax));

    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    int j = 0;
    for (; j + 16 <= full; j += 16) {
        __m256 e0 = exp_avx2(_mm256_fmsub_ps(vscale, _mm256_loadu_ps(s + j), max));
        __m256 e1 = exp_avx2(_mm256_fmsub_ps(vscale, _mm256_loadu_ps(s + j + 8), max));
        _mm256_storeu_ps(p + j, e0);
        _mm256_storeu_ps(p + j + 8, e1);
        sum0 = _mm256_add_ps(sum0, e0);
        sum1 = _mm256_add_ps(sum1, e1);
    }
    for (; j < full; j += 8) {
        __m256 e = exp_avx2(_mm256_fmsub_ps(vscale, _mm256_loadu_ps(s + j), max));
        _mm256_storeu_ps(p + j, e);
        sum0 = _mm256_add_ps(sum0, e);
    }
    if (rest) {
        __m256 e = exp_avx2(_mm256_fmsub_ps(vscale, _mm256_maskload_ps(s + full, tail), max));
        e = _mm256_and_ps(e, tail_ps);
        _mm256_maskstore_ps(p + full, tail, e);
        sum1 = _mm256_add_ps(sum1, e);
    }
    const __m256 inverse = _mm256_set1_ps(1.0f / hsum_avx2(_mm256_add_ps(sum0, sum1)));

    for (j = 0; j < full; j += 8) _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_loadu_ps(p + j), inverse));
    // From `full` on: the tail's probabilities, then zeros up to T.
    for (j = 0; j < T; j += 16) _mm_prefetch((const char *)(p + j + ahead), _MM_HINT_T0);
    for (j = full; j < T; j += 8) {
        __m256i lanes = T - j >= 8 ? _mm256_set1_epi32(-1)
                                   : _mm256_loadu_si256((const __m256i *)(ones_then_zeros + 8 - (T - j)));
        __m256 v = j == full ? _mm256_mul_ps(_mm256_maskload_ps(p + j, tail), inverse) : _mm256_setzero_ps();
        _mm256_maskstore_ps(p + j, lanes, v);
    }
}
#endif

// The same loops compiled once per ISA path; rows are independent, so threads split them.
// The forward's row function is per path (portable softmax_row, or the explicit SIMD rows).
#define SOFTMAX_PATHS(suffix, target, row_function)                                              \
    target static void softmax_forward_##suffix(float *probs, const float *scores, int BH, int T, \
                                                float scale) {                                   \
        size_t rows = (size_t)BH * (size_t)T;                                                    \
        SWL_PARALLEL_FOR                                                                         \
        for (size_t row = 0; row < rows; row++) {                                                \
            size_t offset = row * (size_t)T;                                                     \
            /* prefetch two rows ahead, or the row itself when there is none: in bounds */      \
            size_t ahead = row + 2 < rows ? 2 * (size_t)T : 0;                                   \
            row_function(probs + offset, scores + offset, (int)(row % (size_t)T), T, scale, ahead); \
        }                                                                                        \
    }                                                                                            \
    target static void softmax_backward_##suffix(float *dscores, const float *dprobs,            \
                                                 const float *probs, int BH, int T,              \
                                                 float scale) {                                  \
        size_t rows = (size_t)BH * (size_t)T;                                                    \
        SWL_PARALLEL_FOR                                                                         \
        for (size_t row = 0; row < rows; row++) {                                                \
            size_t offset = row * (size_t)T;                                                     \
            softmax_backward_row(dscores + offset, dprobs + offset, probs + offset,              \
                                 (int)(row % (size_t)T), scale);                                 \
        }                                                                                        \
    }

SOFTMAX_PATHS(portable, , softmax_row)
#if SWL_HAS_X86
SOFTMAX_PATHS(avx2, SWL_TARGET_AVX2, softmax_row_avx2)
SOFTMAX_PATHS(avx512, SWL_TARGET_AVX512, softmax_row_avx512)
#endif

void swl_causal_softmax_forward(float *probs, const float *scores, int BH, int T, float scale) {
    switch (swl_isa_active()) {
#if SWL_HAS_X86
    case SWL_ISA_AVX512: softmax_forward_avx512(probs, scores, BH, T, scale); return;
    case SWL_ISA_AVX2: softmax_forward_avx2(probs, scores, BH, T, scale); return;
#endif
    default: softmax_forward_portable(probs, scores, BH, T, scale); return;
    }
}

void swl_causal_softmax_backward(float *dscores, const float *dprobs, const float *probs,
                                 int BH, int T, float scale) {
    switch (swl_isa_active()) {
#if SWL_HAS_X86
    case SWL_ISA_AVX512: softmax_backward_avx512(dscores, dprobs, probs, BH, T, scale); return;
    case SWL_ISA_AVX2: softmax_backward_avx2(dscores, dprobs, probs, BH, T, scale); return;
#endif
    default: softmax_backward_portable(dscores, dprobs, probs, BH, T, scale); return;
    }
}
