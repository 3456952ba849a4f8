// Cross-entropy fused with the softmax over the vocabulary (llm.c's crossentropy_softmax_backward).
#include <math.h>

#include "internal.h"

// The row kernels, once per ISA path: crossentropy_row_{logsumexp,sum_exp,add_softmax}_<path>.
#define SWL_PATHS_HEADER "crossentropy_paths.h"
#include "pointwise_each_path.h"

typedef float (*row_logsumexp)(const float *, int);
typedef double (*row_sum_exp)(const float *, int, float);
typedef void (*row_add_softmax)(float *, const float *, int, float, float);
static const row_logsumexp row_logsumexp_paths[3] = POINTWISE_PATHS(crossentropy_row_logsumexp);
static const row_sum_exp row_sum_exp_paths[3] = POINTWISE_PATHS(crossentropy_row_sum_exp);
static const row_add_softmax row_add_softmax_paths[3] = POINTWISE_PATHS(crossentropy_row_add_softmax);

// losses, lse are (N); logits are (N,Vp) with V ≤ Vp used columns; targets are (N) or −1.
float swl_crossentropy_forward(float *losses, float *lse, const float *logits,
                               const int32_t *targets, int N, int V, int Vp) {
    row_logsumexp logsumexp = row_logsumexp_paths[swl_isa_active()];
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        const float *row = logits + (size_t)r * (size_t)Vp;
        float l = logsumexp(row, V);
        lse[r] = l;
        losses[r] = targets[r] >= 0 ? l - row[targets[r]] : 0.0f;
    }
    // The mean is summed sequentially in double: independent of the thread count.
    double total = 0.0;
    int count = 0;
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) continue;
        total += losses[r];
        count++;
    }
    return count > 0 ? (float)(total / count) : 0.0f;
}

// dlogits (N,Vp) += dloss·(softmax − onehot)/count on the V used columns of non-ignored rows.
// The saved lse is a float: for logits near ±100 its rounding alone moves exp(x − lse) by a few
// 1e-6 relative. So the row is renormalized: p = exp(x − lse)/Σ exp(x − lse), where the sum is
// ≈ 1 and absorbs the rounding (x − lse ≤ 0 for every x, so nothing overflows).
void swl_crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                               const int32_t *targets, int N, int V, int Vp, float dloss) {
    int count = 0;
    for (int r = 0; r < N; r++) count += targets[r] >= 0;
    if (count == 0) return;
    float g = dloss / (float)count;
    swl_isa isa = swl_isa_active();
    row_sum_exp sum_exp = row_sum_exp_paths[isa];
    row_add_softmax add_softmax = row_add_softmax_paths[isa];
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) continue;
        const float *row = logits + (size_t)r * (size_t)Vp;
        float *drow = dlogits + (size_t)r * (size_t)Vp;
        float l = lse[r];
        add_softmax(drow, row, V, l, g / (float)sum_exp(row, V, l));
        drow[targets[r]] -= g;
    }
}
