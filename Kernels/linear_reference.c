// Naive linear layer: plain sequential loops in float, no blocking, no threads.
// The test oracle and the benchmark baseline for linear.c.
#include "internal.h"

// out is (N,OC), x is (N,C), weight is (OC,C), bias is (OC) or NULL.
void swl_linear_forward_reference(float *out, const float *x, const float *weight,
                                  const float *bias, int N, int C, int OC) {
    for (int n = 0; n < N; n++) {
        const float *x_row = x + (size_t)n * C;
        for (int o = 0; o < OC; o++) {
            const float *w_row = weight + (size_t)o * C;
            float sum = bias != NULL ? bias[o] : 0.0f;
            for (int c = 0; c < C; c++) sum += x_row[c] * w_row[c];
            out[(size_t)n * OC + o] = sum;
        }
    }
}

// dx is (N,C), dweight is (OC,C), dbias is (OC); each may be NULL. dout is (N,OC).
void swl_linear_backward_reference(float *dx, float *dweight, float *dbias, const float *dout,
                                   const float *x, const float *weight, int N, int C, int OC) {
    if (dx != NULL) {
        for (int n = 0; n < N; n++) {
            for (int c = 0; c < C; c++) {
                float sum = 0.0f;
                for (int o = 0; o < OC; o++) sum += dout[(size_t)n * OC + o] * weight[(size_t)o * C + c];
                dx[(size_t)n * C + c] += sum;
            }
        }
    }
    if (dweight != NULL) {
        for (int o = 0; o < OC; o++) {
            for (int c = 0; c < C; c++) {
                float sum = 0.0f;
                for (int n = 0; n < N; n++) sum += dout[(size_t)n * OC + o] * x[(size_t)n * C + c];
                dweight[(size_t)o * C + c] += sum;
            }
        }
    }
    if (dbias != NULL) {
        for (int o = 0; o < OC; o++) {
            float sum = 0.0f;
            for (int n = 0; n < N; n++) sum += dout[(size_t)n * OC + o];
            dbias[o] += sum;
        }
    }
}
