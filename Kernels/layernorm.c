// LayerNorm over the last dimension, forward and backward (llm.c's layernorm_forward/backward).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

// One row: mean and biased variance in two passes (a one-pass E[x²]−E[x]² loses the
// variance of rows with a large mean), then out = (x − mean)·rstd·w + b.
static void layernorm_row_forward(float *out, float *mean, float *rstd, const float *x,
                                  const float *weight, const float *bias, int C, float eps) {
    float sum = 0.0f;
    for (int c = 0; c < C; c++) sum += x[c];
    float m = sum / (float)C;
    float sq = 0.0f;
    for (int c = 0; c < C; c++) {
        float d = x[c] - m;
        sq += d * d;
    }
    float s = 1.0f / sqrtf(sq / (float)C + eps);
    for (int c = 0; c < C; c++) {
        float n = (x[c] - m) * s;
        out[c] = n * weight[c] + (bias != NULL ? bias[c] : 0.0f);
    }
    *mean = m;
    *rstd = s;
}

// x, out are (N,C); weight, bias are (C); mean, rstd are (N).
void swl_layernorm_forward(float *out, float *mean, float *rstd, const float *x,
                           const float *weight, const float *bias, int N, int C, float eps) {
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        size_t o = (size_t)r * (size_t)C;
        layernorm_row_forward(out + o, mean + r, rstd + r, x + o, weight, bias, C, eps);
    }
}

// One row of the backward: dx += (dnorm − mean(dnorm) − norm·mean(dnorm·norm))·rstd with
// dnorm = w·dout, and this row's contributions to dweight/dbias added into dw/db.
static void layernorm_row_backward(float *dx, float *dw, float *db, const float *dout,
                                   const float *x, const float *weight, float mean, float rstd,
                                   int C) {
    float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
    for (int c = 0; c < C; c++) {
        float norm = (x[c] - mean) * rstd;
        float dnorm = weight[c] * dout[c];
        dnorm_mean += dnorm;
        dnorm_norm_mean += dnorm * norm;
    }
    dnorm_mean /= (float)C;
    dnorm_norm_mean /= (float)C;
    for (int c = 0; c < C; c++) {
        float norm = (x[c] - mean) * rstd;
        float dnorm = weight[c] * dout[c];
        dw[c] += dout[c] * norm;
        if (db != NULL) db[c] += dout[c];
        dx[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * rstd;
    }
}

// Rows are cut into blocks of a fixed size; each block sums its dweight/dbias into its own
// partial rows, and the partials are added in block order. The sums do not depend on the
// thread count.
enum { LAYERNORM_BLOCK_ROWS = 32 };

// dx, dout, x are (N,C); dweight, dbias (may be NULL), weight are (C); mean, rstd are (N).
void swl_layernorm_backward(float *dx, float *dweight, float *dbias, const float *dout,
                            const float *x, const float *weight, const float *mean,
                            const float *rstd, int N, int C) {
    int blocks = (N + LAYERNORM_BLOCK_ROWS - 1) / LAYERNORM_BLOCK_ROWS;
    size_t stride = 2 * (size_t)C;  // a block's partial dweight then partial dbias
    float *partials = calloc((size_t)blocks * stride, sizeof(float));
    if (partials == NULL) {
        // Same arithmetic one block at a time with one scratch row pair: identical results.
        float *scratch = calloc(stride, sizeof(float));
        if (scratch == NULL) abort();
        for (int blk = 0; blk < blocks; blk++) {
            memset(scratch, 0, stride * sizeof(float));
            int end = SWL_MIN(N, (blk + 1) * LAYERNORM_BLOCK_ROWS);
            for (int r = blk * LAYERNORM_BLOCK_ROWS; r < end; r++) {
                size_t o = (size_t)r * (size_t)C;
                layernorm_row_backward(dx + o, scratch, scratch + C, dout + o, x + o, weight,
                                       mean[r], rstd[r], C);
            }
            for (int c = 0; c < C; c++) {
                dweight[c] += scratch[c];
                if (dbias != NULL) dbias[c] += scratch[C + c];
            }
        }
        free(scratch);
        return;
    }
    SWL_PARALLEL_FOR
    for (int blk = 0; blk < blocks; blk++) {
        float *dw = partials + (size_t)blk * stride;
        int end = SWL_MIN(N, (blk + 1) * LAYERNORM_BLOCK_ROWS);
        for (int r = blk * LAYERNORM_BLOCK_ROWS; r < end; r++) {
            size_t o = (size_t)r * (size_t)C;
            layernorm_row_backward(dx + o, dw, dw + C, dout + o, x + o, weight, mean[r], rstd[r], C);
        }
    }
    SWL_PARALLEL_FOR
    for (int c = 0; c < C; c++) {
        float w = dweight[c], b = dbias != NULL ? dbias[c] : 0.0f;
        for (int blk = 0; blk < blocks; blk++) {
            w += partials[(size_t)blk * stride + c];
            b += partials[(size_t)blk * stride + C + c];
        }
        dweight[c] = w;
        if (dbias != NULL) dbias[c] = b;
    }
    free(partials);
}
