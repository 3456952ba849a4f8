// Fused causal softmax over attention scores, forward and backward.
// scores, probs, dscores, dprobs are (BH,T,T). Row i of each (T,T) matrix only uses columns j ≤ i:
// entries above the diagonal are never read (they may be junk) and probs there are exactly 0.
#include <stddef.h>

#include "attention_simd.h"
#include "internal.h"

// One query row: p[j] = exp(scale·s[j] − max) / Σ for j ≤ i, and 0 for i < j < T.
SWL_ALWAYS_INLINE void softmax_row(float *p, const float *s, int i, int T, float scale) {
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

// The same loops compiled once per ISA path; rows are independent, so threads split them.
#define SOFTMAX_PATHS(suffix, target)                                                            \
    target static void softmax_forward_##suffix(float *probs, const float *scores, int BH, int T, \
                                                float scale) {                                   \
        size_t rows = (size_t)BH * (size_t)T;                                                    \
        SWL_PARALLEL_FOR                                                                         \
        for (size_t row = 0; row < rows; row++) {                                                \
            size_t offset = row * (size_t)T;                                                     \
            softmax_row(probs + offset, scores + offset, (int)(row % (size_t)T), T, scale);      \
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

SOFTMAX_PATHS(portable, )
#if SWL_HAS_X86
SOFTMAX_PATHS(avx2, SWL_TARGET_AVX2)
SOFTMAX_PATHS(avx512, SWL_TARGET_AVX512)
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
