// Cross-entropy fused with the softmax over the vocabulary (llm.c's crossentropy_softmax_backward).
#include <math.h>
#include <string.h>

#include "internal.h"

// The row kernels, once per ISA path: crossentropy_row_{logsumexp,sum_exp,softmax}_<path>.
#define SWL_PATHS_HEADER "crossentropy_paths.h"
#include "pointwise_each_path.h"

typedef float (*row_logsumexp)(const float *, int);
typedef double (*row_sum_exp)(const float *, int, float);
typedef void (*row_softmax)(float *, const float *, int, float, float, bool);
static const row_logsumexp row_logsumexp_paths[3] = POINTWISE_PATHS(crossentropy_row_logsumexp);
static const row_sum_exp row_sum_exp_paths[3] = POINTWISE_PATHS(crossentropy_row_sum_exp);
static const row_softmax row_softmax_paths[3] = POINTWISE_PATHS(crossentropy_row_softmax);

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

// dlogits (N,Vp) = dloss·(softmax − onehot)/count on the V used columns of non-ignored rows, 0 on
// the padding and on ignored rows. It overwrites rather than adds, so the caller need not clear
// a buffer of N·Vp floats first (51 MB for 256 rows of GPT-2). Against a memset and the old adding
// kernel (a standalone driver, Intel Xeon model 207, 2 threads): 256 rows 7.5–7.7 → 2.8 ms, 1,024
// rows 39.5–43.9 → 13.3–14.4 ms. Large outputs are streamed (swl_should_stream): 4.4 against
// 5.3–6.0 ms at 256 rows on 2 threads with 512 MB written between calls (so the logits come from
// memory), and the LM head's two products that read dlogits next took as long.
// The saved lse is a float: for logits near ±100 its rounding alone moves exp(x − lse) by a few
// 1e-6 relative. So the row is renormalized: p = exp(x − lse)/Σ exp(x − lse), where the sum is
// ≈ 1 and absorbs the rounding (x − lse ≤ 0 for every x, so nothing overflows).
void swl_crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                               const int32_t *targets, int N, int V, int Vp, float dloss) {
    int count = 0;
    for (int r = 0; r < N; r++) count += targets[r] >= 0;
    const float g = count > 0 ? dloss / (float)count : 0.0f;
    swl_isa isa = swl_isa_active();
    row_sum_exp sum_exp = row_sum_exp_paths[isa];
    row_softmax softmax = row_softmax_paths[isa];
    const bool stream = swl_should_stream((size_t)N * (size_t)Vp * sizeof(float));
    SWL_PARALLEL_FOR
    for (int r = 0; r < N; r++) {
        const float *row = logits + (size_t)r * (size_t)Vp;
        float *drow = dlogits + (size_t)r * (size_t)Vp;
        if (targets[r] < 0) {
            memset(drow, 0, sizeof(float) * (size_t)Vp);
            continue;
        }
        float l = lse[r];
        softmax(drow, row, V, l, g / (float)sum_exp(row, V, l), stream);
        drow[targets[r]] -= g;
        memset(drow + V, 0, sizeof(float) * (size_t)(Vp - V));
        if (stream) swl_stream_fence();
    }
}
