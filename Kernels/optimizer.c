// AdamW update, the sum of squares behind gradient-norm clipping, and in-place scaling.
#include <math.h>

#include "internal.h"

#define OPTIMIZER_CHUNK 8192
#define OPTIMIZER_PARALLEL_MIN 65536

// params, m, v, grads are (n). PyTorch's AdamW: decoupled weight decay, bias corrections by
// the 1-based step t.
void swl_adamw_update(float *params, float *m, float *v, const float *grads, size_t n,
                      float lr, float beta1, float beta2, float eps, float weight_decay, int t) {
    float decay = (float)(1.0 - (double)lr * (double)weight_decay);
    float step_size = (float)((double)lr / (1.0 - pow((double)beta1, t)));
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(1.0 - pow((double)beta2, t)));
    size_t chunks = (n + OPTIMIZER_CHUNK - 1) / OPTIMIZER_CHUNK;
    _Pragma("omp parallel for schedule(static) if (n >= OPTIMIZER_PARALLEL_MIN)")
    for (size_t k = 0; k < chunks; k++) {
        size_t end = SWL_MIN(n, (k + 1) * OPTIMIZER_CHUNK);
        for (size_t i = k * OPTIMIZER_CHUNK; i < end; i++) {
            float g = grads[i];
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

static double block_sum_of_squares(const float *x, size_t count) {
    double sum = 0.0;
    for (size_t i = 0; i < count; i++) sum += (double)x[i] * (double)x[i];
    return sum;
}

double swl_sum_of_squares(const float *x, size_t n) {
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

void swl_scale(float *x, size_t n, float s) {
    size_t chunks = (n + OPTIMIZER_CHUNK - 1) / OPTIMIZER_CHUNK;
    _Pragma("omp parallel for schedule(static) if (n >= OPTIMIZER_PARALLEL_MIN)")
    for (size_t k = 0; k < chunks; k++) {
        size_t end = SWL_MIN(n, (k + 1) * OPTIMIZER_CHUNK);
        for (size_t i = k * OPTIMIZER_CHUNK; i < end; i++) x[i] *= s;
    }
}
