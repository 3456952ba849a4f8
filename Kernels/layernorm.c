// LayerNorm over the last dimension, forward and backward (llm.c's layernorm_forward/backward).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

// The row kernels, once per ISA path: layernorm_row_{forward,backward}_<path>.
#define SWL_PATHS_HEADER "layernorm_paths.h"
#include "pointwise_each_path.h"

typedef void (*row_forward)(float *, float *, float *, const float *, const float *, const float *,
                            int, float);
typedef void (*row_backward)(float *, float *, float *, const float *, const float *,
                             const float *, float, float, int);
static const row_forward row_forward_paths[3] = POINTWISE_PATHS(layernorm_row_forward);
// The AVX-512 path runs the 8-wide backward: with zmm vectors the per-row read-modify-write
// of dx and of the dweight/dbias partials measured 30–40% slower here (AMD Zen 5, 64M floats:
// 31 vs 53 GB/s on misaligned rows, 41 vs 46 aligned), while the forward gains from zmm.
#if SWL_HAS_X86
static const row_backward row_backward_paths[3] = {
    layernorm_row_backward_portable, layernorm_row_backward_avx2, layernorm_row_backward_avx2};
#else
static const row_backward row_backward_paths[3] = POINTWISE_PATHS(layernorm_row_backward);
#endif

// x, out are (N,C); weight, bias are (C); mean, rstd are (N).
void swl_layernorm_forward(float *out, float *mean, float *rstd, const float *x,
                           const float *weight, const float *bias, int N, int C, float eps) {
    row_forward forward_row = row_forward_paths[swl_isa_active()];
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        size_t o = (size_t)r * (size_t)C;
        forward_row(out + o, mean + r, rstd + r, x + o, weight, bias, C, eps);
    }
}

// The rows are cut into at most LAYERNORM_MAX_BLOCKS blocks whose size depends only on N. Each
// block sums its rows' dweight/dbias into its own partial rows, and the partials are added in
// block order, so the sums do not depend on the thread count.
enum { LAYERNORM_MAX_BLOCKS = 64, LAYERNORM_MIN_BLOCK_ROWS = 16, LAYERNORM_REDUCE_COLUMNS = 128 };

// Rows [first, end) of the backward; the block's partial dweight is dw and partial dbias is
// dw + C (NULL without bias).
static void backward_block(row_backward backward_row, float *dx, float *dw, int has_bias,
                           const float *dout, const float *x, const float *weight,
                           const float *mean, const float *rstd, int first, int end, int C) {
    memset(dw, 0, (has_bias ? 2 : 1) * (size_t)C * sizeof(float));
    for (int r = first; r < end; r++) {
        size_t o = (size_t)r * (size_t)C;
        backward_row(dx + o, dw, has_bias ? dw + C : NULL, dout + o, x + o, weight, mean[r],
                     rstd[r], C);
    }
}

// dx, dout, x are (N,C); dweight, dbias (may be NULL), weight are (C); mean, rstd are (N).
void swl_layernorm_backward(float *dx, float *dweight, float *dbias, const float *dout,
                            const float *x, const float *weight, const float *mean,
                            const float *rstd, int N, int C) {
    row_backward backward_row = row_backward_paths[swl_isa_active()];
    int has_bias = dbias != NULL;
    int rows_per_block = SWL_MAX(LAYERNORM_MIN_BLOCK_ROWS, (N + LAYERNORM_MAX_BLOCKS - 1) / LAYERNORM_MAX_BLOCKS);
    int blocks = (N + rows_per_block - 1) / rows_per_block;
    size_t stride = 2 * (size_t)C;  // a block's partial dweight, then its partial dbias
    float *partials = malloc((size_t)blocks * stride * sizeof(float));  // each block zeroes its own
    if (partials == NULL) {
        // The same arithmetic one block at a time in one scratch pair: identical results.
        float *scratch = malloc(stride * sizeof(float));
        if (scratch == NULL) abort();
        for (int blk = 0; blk < blocks; blk++) {
            backward_block(backward_row, dx, scratch, has_bias, dout, x, weight, mean, rstd,
                           blk * rows_per_block, SWL_MIN(N, (blk + 1) * rows_per_block), C);
            for (int c = 0; c < C; c++) {
                dweight[c] += scratch[c];
                if (has_bias) dbias[c] += scratch[C + c];
            }
        }
        free(scratch);
        return;
    }
    SWL_PARALLEL_FOR
    for (int blk = 0; blk < blocks; blk++) {
        backward_block(backward_row, dx, partials + (size_t)blk * stride, has_bias, dout, x, weight,
                       mean, rstd, blk * rows_per_block, SWL_MIN(N, (blk + 1) * rows_per_block), C);
    }
    // Each column adds the partials in block order; threads split the columns in runs of
    // LAYERNORM_REDUCE_COLUMNS, and the block loop sits outside so the columns vectorize.
    int runs = (C + LAYERNORM_REDUCE_COLUMNS - 1) / LAYERNORM_REDUCE_COLUMNS;
    SWL_PARALLEL_FOR
    for (int run = 0; run < runs; run++) {
        int first = run * LAYERNORM_REDUCE_COLUMNS, count = SWL_MIN(C - first, LAYERNORM_REDUCE_COLUMNS);
        for (int blk = 0; blk < blocks; blk++) {
            const float *partial = partials + (size_t)blk * stride + first;
            for (int c = 0; c < count; c++) dweight[first + c] += partial[c];
            if (has_bias)
                for (int c = 0; c < count; c++) dbias[first + c] += partial[C + c];
        }
    }
    free(partials);
}
