// Naive causal self-attention: materializes the (B,H,T,T) probabilities, as llm.c does.
// It is the clear reference for the flash kernel and the benchmark baseline.
// q, k, v, out, dq, dk, dv are (B,H,T,hs); att and scratch are (B,H,T,T).
#include <math.h>
#include <stddef.h>

#include "internal.h"

// q·k over hs elements in 8 partial sums (a plain loop the compiler can vectorize).
static float dot(const float *a, const float *b, int n) {
    float lanes[8] = {0};
    int d = 0;
    for (; d + 8 <= n; d += 8)
        for (int l = 0; l < 8; l++) lanes[l] += a[d + l] * b[d + l];
    float sum = 0.0f;
    for (int l = 0; l < 8; l++) sum += lanes[l];
    for (; d < n; d++) sum += a[d] * b[d];
    return sum;
}

void swl_attention_naive_forward(float *out, float *att, const float *q, const float *k,
                                 const float *v, int B, int H, int T, int hs) {
    const float scale = 1.0f / sqrtf((float)hs);
    const size_t rows = (size_t)B * H * T;
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t head = row / (size_t)T;  // (b,h)
        const int i = (int)(row % (size_t)T);
        const float *q_i = q + row * hs;
        const float *k_head = k + head * T * hs;
        const float *v_head = v + head * T * hs;
        float *att_i = att + row * T;
        float *out_i = out + row * hs;

        // scores and their max over the visible keys j ≤ i
        float max = -INFINITY;
        for (int j = 0; j <= i; j++) {
            float s = scale * dot(q_i, k_head + (size_t)j * hs, hs);
            att_i[j] = s;
            if (s > max) max = s;
        }
        float sum = 0.0f;
        for (int j = 0; j <= i; j++) {
            att_i[j] = expf(att_i[j] - max);
            sum += att_i[j];
        }
        float inverse = 1.0f / sum;
        for (int j = 0; j <= i; j++) att_i[j] *= inverse;
        for (int j = i + 1; j < T; j++) att_i[j] = 0.0f;

        // out_i = Σ_j att[i,j]·v_j
        for (int d = 0; d < hs; d++) out_i[d] = 0.0f;
        for (int j = 0; j <= i; j++) {
            const float a = att_i[j];
            const float *v_j = v_head + (size_t)j * hs;
            for (int d = 0; d < hs; d++) out_i[d] += a * v_j[d];
        }
    }
}

// Three passes, each over disjoint outputs so threads never share a sum:
// 1. scratch[i,j] = dL/dscore (rows), 2. dq (rows i), 3. dk and dv (rows j).
void swl_attention_naive_backward(float *dq, float *dk, float *dv, float *scratch,
                                  const float *dout, const float *q, const float *k,
                                  const float *v, const float *att, int B, int H, int T, int hs) {
    const float scale = 1.0f / sqrtf((float)hs);
    const size_t rows = (size_t)B * H * T;

    // dscore[i,j] = scale·att[i,j]·(datt[i,j] − Σ_j' att[i,j']·datt[i,j']), datt[i,j] = dout_i·v_j
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t head = row / (size_t)T;
        const int i = (int)(row % (size_t)T);
        const float *dout_i = dout + row * hs;
        const float *v_head = v + head * T * hs;
        const float *att_i = att + row * T;
        float *dscore_i = scratch + row * T;
        float weighted = 0.0f;
        for (int j = 0; j <= i; j++) {
            dscore_i[j] = dot(dout_i, v_head + (size_t)j * hs, hs);
            weighted += att_i[j] * dscore_i[j];
        }
        for (int j = 0; j <= i; j++) dscore_i[j] = scale * att_i[j] * (dscore_i[j] - weighted);
    }

    // dq_i += Σ_{j≤i} dscore[i,j]·k_j
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t head = row / (size_t)T;
        const int i = (int)(row % (size_t)T);
        const float *k_head = k + head * T * hs;
        const float *dscore_i = scratch + row * T;
        float *dq_i = dq + row * hs;
        for (int j = 0; j <= i; j++) {
            const float g = dscore_i[j];
            const float *k_j = k_head + (size_t)j * hs;
            for (int d = 0; d < hs; d++) dq_i[d] += g * k_j[d];
        }
    }

    // dk_j += Σ_{i≥j} dscore[i,j]·q_i;  dv_j += Σ_{i≥j} att[i,j]·dout_i
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t head = row / (size_t)T;
        const int j = (int)(row % (size_t)T);
        float *dk_j = dk + row * hs;
        float *dv_j = dv + row * hs;
        for (int i = j; i < T; i++) {
            const size_t row_i = head * T + (size_t)i;
            const float g = scratch[row_i * T + j];
            const float a = att[row_i * T + j];
            const float *q_i = q + row_i * hs;
            const float *dout_i = dout + row_i * hs;
            for (int d = 0; d < hs; d++) {
                dk_j[d] += g * q_i[d];
                dv_j[d] += a * dout_i[d];
            }
        }
    }
}
