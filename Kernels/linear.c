// Linear layer: out = x·Wᵀ + b and its backward.
// Threads split disjoint rows of each output; every inner sum runs in a fixed order, so the
// results do not depend on the thread count.
#include "internal.h"

// out is (N,OC), x is (N,C), weight is (OC,C), bias is (OC) or NULL.
void swl_linear_forward(float *out, const float *x, const float *weight, const float *bias,
                        int N, int C, int OC) {
    SWL_PARALLEL_FOR
    for (int n = 0; n < N; n++) {
        const float *x_row = x + (size_t)n * C;
        for (int o = 0; o < OC; o++) {
            const float *w_row = weight + (size_t)o * C;
            float sum = 0.0f;
            for (int c = 0; c < C; c++) sum += x_row[c] * w_row[c];
            out[(size_t)n * OC + o] = sum + (bias != NULL ? bias[o] : 0.0f);
        }
    }
}

// dx is (N,C), dweight is (OC,C), dbias is (OC); each may be NULL. dout is (N,OC).
void swl_linear_backward(float *dx, float *dweight, float *dbias, const float *dout,
                         const float *x, const float *weight, int N, int C, int OC) {
    if (dx != NULL) {
        SWL_PARALLEL_FOR
        for (int n = 0; n < N; n++) {
            float *dx_row = dx + (size_t)n * C;
            for (int o = 0; o < OC; o++) {
                float g = dout[(size_t)n * OC + o];
                const float *w_row = weight + (size_t)o * C;
                for (int c = 0; c < C; c++) dx_row[c] += g * w_row[c];
            }
        }
    }
    if (dweight != NULL || dbias != NULL) {
        SWL_PARALLEL_FOR
        for (int o = 0; o < OC; o++) {
            float bias_sum = 0.0f;
            for (int n = 0; n < N; n++) {
                float g = dout[(size_t)n * OC + o];
                bias_sum += g;
                if (dweight != NULL) {
                    const float *x_row = x + (size_t)n * C;
                    float *dw_row = dweight + (size_t)o * C;
                    for (int c = 0; c < C; c++) dw_row[c] += g * x_row[c];
                }
            }
            if (dbias != NULL) dbias[o] += bias_sum;
        }
    }
}
