// Fused causal softmax over attention scores, forward and backward.
// scores, probs, dscores, dprobs are (BH,T,T). Row i of each (T,T) matrix only uses columns j ≤ i:
// entries above the diagonal are never read (they may be junk), and probs and dscores there are
// written exactly 0. Outputs of 8 MiB and more are streamed past the caches. The row kernels
// live in softmax_paths.h, compiled once per ISA path; rows are independent, so threads split
// them and the result does not depend on the thread count.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

// The row kernels prefetch the rows this many rows on as they go: each row is a short run of
// memory of its own, which the hardware prefetcher picks up too late. Measured: the backward
// (then reading three triangles) 15% faster at T=256 with 4 rows than with 2, the forward a little
// slower, and at T=1024 no difference either way.
#define SOFTMAX_FORWARD_PREFETCH_ROWS 2
#define SOFTMAX_BACKWARD_PREFETCH_ROWS 4

// A streamed output row's zeros above the diagonal are written interleaved with its values, this
// many zero vectors after each value vector: on this machine's memory that streams faster than
// the values first and the zeros after (measured with old and new kernels alternating in one
// process, T=1024, 1 thread: 9.9 → 8.2 ms with one zero per value, 9.2–10.2 → 8.1–8.8 ms with two).
#define SOFTMAX_ZEROS_PER_VALUE 2

// How far on (in floats) the row `ahead_rows` after `row` starts, or 0 (no prefetch) when that
// row is past the last one: prefetches stay inside the buffers.
static inline size_t softmax_ahead(size_t row, size_t rows, int ahead_rows, int T) {
    return row + (size_t)ahead_rows < rows ? (size_t)ahead_rows * (size_t)T : 0;
}

#define SWL_PATHS_HEADER "softmax_paths.h"
#include "pointwise_each_path.h"

typedef void (*forward_rows)(float *, const float *, size_t, size_t, size_t, int, float);
typedef void (*forward_rows_streamed)(float *, const float *, size_t, size_t, size_t, int, float, float *);
typedef void (*backward_rows)(float *, const float *, const float *, size_t, size_t, size_t, int, float);
typedef void (*traffic_rows)(float *, const float *, const float *, size_t, size_t, size_t, int, int);
static const forward_rows forward_rows_paths[3] = POINTWISE_PATHS(softmax_forward_rows);
static const forward_rows_streamed forward_rows_streamed_paths[3] =
    POINTWISE_PATHS(softmax_forward_rows_streamed);
static const backward_rows backward_rows_paths[3] = POINTWISE_PATHS(softmax_backward_rows);
static const backward_rows backward_rows_streamed_paths[3] = POINTWISE_PATHS(softmax_backward_rows_streamed);
static const traffic_rows traffic_rows_paths[3] = POINTWISE_PATHS(softmax_traffic_rows);
typedef void (*rows_traffic)(float *, const float *, size_t, size_t, int, int);
static const rows_traffic rows_traffic_paths[3] = POINTWISE_PATHS(causal_rows_traffic_rows);

void swl_causal_softmax_forward(float *probs, const float *scores, int BH, int T, float scale) {
    const int isa = swl_isa_active();
    const size_t rows = (size_t)BH * (size_t)T;
    const bool stream = swl_should_stream(rows * (size_t)T * sizeof(float));
#pragma omp parallel
    {
        // Each thread takes one contiguous run of rows, so a streamed run can carry a row's
        // output over into the next row's pass (see softmax_paths.h).
        const swl_share mine = swl_thread_share(rows);
        // Two scratch rows per thread (NULL if malloc fails: the rows are then built in place,
        // with the same result).
        float *scratch = stream ? malloc(2 * sizeof(float) * (size_t)T) : NULL;
        if (scratch != NULL) {
            forward_rows_streamed_paths[isa](probs, scores, mine.first, mine.end, rows, T, scale, scratch);
            free(scratch);
            swl_stream_fence();
        } else {
            forward_rows_paths[isa](probs, scores, mine.first, mine.end, rows, T, scale);
        }
    }
}

void swl_causal_softmax_backward(float *dscores, const float *dprobs, const float *probs,
                                 int BH, int T, float scale) {
    const int isa = swl_isa_active();
    const size_t rows = (size_t)BH * (size_t)T;
    const bool stream = swl_should_stream(rows * (size_t)T * sizeof(float));
    const backward_rows rows_kernel = stream ? backward_rows_streamed_paths[isa] : backward_rows_paths[isa];
#pragma omp parallel
    {
        // One contiguous run of rows per thread, so the pipeline runs across row boundaries.
        const swl_share mine = swl_thread_share(rows);
        rows_kernel(dscores, dprobs, probs, mine.first, mine.end, rows, T, scale);
        if (stream) swl_stream_fence();
    }
}

// The streamed kernels' memory traffic alone (see the end of softmax_paths.h), split over the
// threads the same way.
static void softmax_traffic(float *out, const float *a, const float *b, int BH, int T, int ahead_rows) {
    const traffic_rows rows_kernel = traffic_rows_paths[swl_isa_active()];
    const size_t rows = (size_t)BH * (size_t)T;
#pragma omp parallel
    {
        const swl_share mine = swl_thread_share(rows);
        rows_kernel(out, a, b, mine.first, mine.end, rows, T, ahead_rows);
        swl_stream_fence();
    }
}

void swl_causal_softmax_traffic_forward(float *out, const float *in, int BH, int T) {
    softmax_traffic(out, in, NULL, BH, T, SOFTMAX_FORWARD_PREFETCH_ROWS);
}

void swl_causal_softmax_traffic_backward(float *c, const float *a, const float *b, int BH, int T) {
    softmax_traffic(c, a, b, BH, T, SOFTMAX_BACKWARD_PREFETCH_ROWS);
}

void swl_causal_rows_traffic(float *a, const float *b, int BH, int T, int whole_rows) {
    const rows_traffic rows_kernel = rows_traffic_paths[swl_isa_active()];
    const size_t rows = (size_t)BH * (size_t)T;
#pragma omp parallel
    {
        const swl_share mine = swl_thread_share(rows);
        rows_kernel(a, b, mine.first, mine.end, T, whole_rows);
    }
}
