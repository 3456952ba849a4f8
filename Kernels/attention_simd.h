// Vector-friendly scalar helpers for softmax.c and attention_flash.c.
//
// Every helper is branch-free straight-line C, so a loop that calls it vectorizes under any ISA
// target the caller is compiled for (portable SSE2, AVX2, AVX-512). Reductions keep 16 partial
// lanes and combine them in a fixed order: the result does not depend on the vector width.
#ifndef SWIFTLET_ATTENTION_SIMD_H
#define SWIFTLET_ATTENTION_SIMD_H

#include <stdint.h>
#include <string.h>

#include "internal.h"

#define SWL_ALWAYS_INLINE static inline __attribute__((always_inline))

/// exp(x) within about 1 ulp for −87 ≤ x ≤ 88 (0.99 ulp measured over every float there on the
/// portable path; FMA paths round slightly differently), exactly 1 at 0, and
/// exactly 0 for x < −87 (so exp(−inf) = 0).
/// Cephes-style: x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for e^r, then 2^n
/// built in the exponent bits.
SWL_ALWAYS_INLINE float swl_exp(float x) {
    const float underflow = -87.0f;
    float clamped = x < underflow ? underflow : (x > 88.0f ? 88.0f : x);
    // n = round(x·log2 e) by the add-and-subtract trick (exact for |n| < 2^22).
    const float magic = 12582912.0f;  // 1.5·2^23
    float n = (clamped * SWL_LOG2E + magic) - magic;
    float r = clamped - n * SWL_EXP_LN2_HIGH;
    r = r - n * SWL_EXP_LN2_LOW;
    float poly = SWL_EXP_P0;
    poly = poly * r + SWL_EXP_P1;
    poly = poly * r + SWL_EXP_P2;
    poly = poly * r + SWL_EXP_P3;
    poly = poly * r + SWL_EXP_P4;
    poly = poly * r + SWL_EXP_P5;
    float er = poly * (r * r) + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float two_n;
    memcpy(&two_n, &bits, sizeof two_n);
    float result = er * two_n;
    return x < underflow ? 0.0f : result;
}

/// max_j scale·x[j] over n ≥ 1 elements.
SWL_ALWAYS_INLINE float swl_scaled_max(const float *x, int n, float scale) {
    float lanes[16];
    for (int l = 0; l < 16; l++) lanes[l] = -__builtin_inff();
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) {
            float v = scale * x[j + l];
            lanes[l] = v > lanes[l] ? v : lanes[l];
        }
    float best = -__builtin_inff();
    for (int l = 0; l < 16; l++) best = lanes[l] > best ? lanes[l] : best;
    for (; j < n; j++) {
        float v = scale * x[j];
        best = v > best ? v : best;
    }
    return best;
}

/// Σ_j x[j]·y[j] in 16 partial lanes, combined in a fixed order.
SWL_ALWAYS_INLINE float swl_dot(const float *x, const float *y, int n) {
    float lanes[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) lanes[l] += x[j + l] * y[j + l];
    float sum = 0.0f;
    for (int l = 0; l < 16; l++) sum += lanes[l];
    for (; j < n; j++) sum += x[j] * y[j];
    return sum;
}

/// Σ_j x[j] in 16 partial lanes, combined in a fixed order.
SWL_ALWAYS_INLINE float swl_sum(const float *x, int n) {
    float lanes[16] = {0};
    int j = 0;
    for (; j + 16 <= n; j += 16)
        for (int l = 0; l < 16; l++) lanes[l] += x[j + l];
    float sum = 0.0f;
    for (int l = 0; l < 16; l++) sum += lanes[l];
    for (; j < n; j++) sum += x[j];
    return sum;
}

#endif  // SWIFTLET_ATTENTION_SIMD_H
