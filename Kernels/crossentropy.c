// Cross-entropy fused with the softmax over the vocabulary (llm.c's crossentropy_softmax_backward).
#include <math.h>

#include "internal.h"

// logsumexp of one row of V logits: the max is subtracted first so exp never overflows.
static float row_logsumexp(const float *logits, int V) {
    float max = -INFINITY;
    for (int j = 0; j < V; j++) max = logits[j] > max ? logits[j] : max;
    double sum = 0.0;
    for (int j = 0; j < V; j++) sum += (double)expf(logits[j] - max);
    return max + (float)log(sum);
}

// losses, lse are (N); logits are (N,Vp) with V ≤ Vp used columns; targets are (N) or −1.
float swl_crossentropy_forward(float *losses, float *lse, const float *logits,
                               const int32_t *targets, int N, int V, int Vp) {
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        const float *row = logits + (size_t)r * (size_t)Vp;
        float l = row_logsumexp(row, V);
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
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        if (targets[r] < 0) continue;
        const float *row = logits + (size_t)r * (size_t)Vp;
        float *drow = dlogits + (size_t)r * (size_t)Vp;
        float l = lse[r];
        double sum = 0.0;
        for (int j = 0; j < V; j++) sum += (double)expf(row[j] - l);
        float scale = g / (float)sum;
        for (int j = 0; j < V; j++) drow[j] += scale * expf(row[j] - l);
        drow[targets[r]] -= g;
    }
}
