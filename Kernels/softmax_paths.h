// Row kernels of softmax.c, written once over the vocabulary of pointwise_simd.h and included
// once per ISA path: softmax_forward_rows_<path>, softmax_forward_rows_streamed_<path> and
// softmax_backward_rows_<path> (a run of rows each), and the traffic baselines at the end.
// Row i of a (T,T) plane uses columns j ≤ i only: the row's last partial vector is loaded with
// vload_n, so nothing above the diagonal is ever read.

// p[j] = e[j]·inverse for j < n and 0 for n ≤ j < T, one vector of the row starting at j.
VEC_FN vf VEC(softmax_normalized)(const float *e, int j, int n, vf inverse) {
    if (j + VW <= n) return vmul(vload(e + j), inverse);
    if (j >= n) return vset1(0.0f);
    return vmul(vload_n(e + j, n - j, 0.0f), inverse);
}

// max_j scale·s[j] over the row's n scores, prefetching the scores of the row `ahead` floats on
// (SOFTMAX_FORWARD_PREFETCH_ROWS rows on, up to its diagonal) as it goes. Four chains: one vmax
// after another would wait on its latency for every vector.
VEC_FN float VEC(softmax_row_max)(const float *s, int n, float scale, size_t ahead) {
    if (VW == 1) vprefetch_burst(s, n + SOFTMAX_FORWARD_PREFETCH_ROWS, ahead, false);  // see vprefetch_span
    const vf vscale = vset1(scale);
    vf m0 = vset1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int j = 0;
    for (; j + 4 * VW <= n; j += 4 * VW) {
        vprefetch_span(s, j, 4 * VW, ahead, false);
        m0 = vmax(vmul(vscale, vload(s + j)), m0);
        m1 = vmax(vmul(vscale, vload(s + j + VW)), m1);
        m2 = vmax(vmul(vscale, vload(s + j + 2 * VW)), m2);
        m3 = vmax(vmul(vscale, vload(s + j + 3 * VW)), m3);
    }
    vprefetch_span(s, j, n + SOFTMAX_FORWARD_PREFETCH_ROWS - j, ahead, false);
    vf m = vmax(vmax(m0, m1), vmax(m2, m3));
    for (; j + VW <= n; j += VW) m = vmax(vmul(vscale, vload(s + j)), m);
    if (j < n) m = vmax(vmul(vscale, vload_n(s + j, n - j, -INFINITY)), m);
    return vhmax(m);
}

// One vector pair of a row's exp pass at j: e[j, j + 2·VW) = exp(scale·s − max), each vector
// added to its own chain of the sum.
VEC_FN void VEC(softmax_exp_pair)(float *e, const float *s, int j, vf scale2, vf shift, vf *sum0,
                                  vf *sum1) {
    vf e0 = vexp2(vfma(scale2, vload(s + j), shift));
    vf e1 = vexp2(vfma(scale2, vload(s + j + VW), shift));
    vstore(e + j, e0);
    vstore(e + j + VW, e1);
    *sum0 = vadd(*sum0, e0);
    *sum1 = vadd(*sum1, e1);
}

// The row's exps from vector j on: e[j…n) = exp(scale·s − max), taken as
// 2^(s·scale·log2 e − max·log2 e) in one FMA (the sum absorbs the shift's rounding), and the sum
// of all n of them, given the two partial sums of the vectors before j. Whole vector pairs go to
// the two chains, a last whole vector to the first, the partial tail to the second.
VEC_FN float VEC(softmax_exps_from)(float *e, const float *s, int j, int n, vf scale2, vf shift,
                                    vf sum0, vf sum1) {
    for (; j + 2 * VW <= n; j += 2 * VW) VEC(softmax_exp_pair)(e, s, j, scale2, shift, &sum0, &sum1);
    for (; j + VW <= n; j += VW) {
        vf x = vexp2(vfma(scale2, vload(s + j), shift));
        vstore(e + j, x);
        sum0 = vadd(sum0, x);
    }
    if (j < n) {  // the fill lanes give exp(−∞) = 0
        vf x = vexp2(vfma(scale2, vload_n(s + j, n - j, -INFINITY), shift));
        vstore_n(e + j, x, n - j);
        sum1 = vadd(sum1, x);
    }
    return vsum(vadd(sum0, sum1));
}

// Stores output row p's elements before its first vector-aligned one (masked) and returns how
// many that was: where softmax_stream_from starts.
VEC_FN int VEC(softmax_stream_head)(float *p, const float *e, int n, int T, vf inverse) {
    const int head = (int)valign_head(p, (size_t)T);
    if (head > 0) vstore_n(p, VEC(softmax_normalized)(e, 0, n, inverse), head);
    return head;
}

// How an output row's aligned vectors after its head (the first `head` floats, stored masked)
// split: [head, values_end) hold its n values (the last one maybe in part), [values_end,
// *end_aligned) only zeros, and the masked tail [*end_aligned, T) comes last. Returns values_end.
VEC_FN int VEC(softmax_values_end)(int head, int n, int T, int *end_aligned) {
    *end_aligned = head + (T - head) / VW * VW;
    return SWL_MIN(head + (SWL_MAX(n - head, 0) + VW - 1) / VW * VW, *end_aligned);
}

// Streams the whole aligned vectors of output row p (T floats) from element j on, then its tail:
// p = e·inverse below the diagonal (n exps) and 0 above it.
VEC_FN void VEC(softmax_stream_from)(float *p, const float *e, int j, int n, int T, vf inverse) {
    for (; j + VW <= T; j += VW) vstream(p + j, VEC(softmax_normalized)(e, j, n, inverse));
    if (j < T) vstore_n(p + j, VEC(softmax_normalized)(e, j, n, inverse), T - j);
}

// p[j] = exp(scale·s[j] − max) / Σ_{j'≤i} exp(scale·s[j'] − max) for j ≤ i, and 0 for i < j < T,
// for rows [first, end) of the (rows, T) matrices, each row i = row mod T of its plane, built in
// place (for outputs that stay in cache).
VEC_KERNEL void VEC(softmax_forward_rows)(float *probs, const float *scores, size_t first, size_t end,
                                          size_t rows, int T, float scale) {
    const vf scale2 = vset1(scale * SWL_LOG2E);
    for (size_t row = first; row < end; row++) {
        const float *s = scores + row * (size_t)T;
        float *p = probs + row * (size_t)T;
        const int n = (int)(row % (size_t)T) + 1;
        const size_t ahead = softmax_ahead(row, rows, SOFTMAX_FORWARD_PREFETCH_ROWS, T);
        vprefetch_burst(p, T, ahead, true);
        const vf shift = vset1(-VEC(softmax_row_max)(s, n, scale, ahead) * SWL_LOG2E);
        const vf zero = vset1(0.0f);
        const vf inverse = vset1(1.0f / VEC(softmax_exps_from)(p, s, 0, n, scale2, shift, zero, zero));
        int j = 0;
        for (; j + VW <= n; j += VW) vstore(p + j, vmul(vload(p + j), inverse));
        if (j < n) vstore_n(p + j, vmul(vload_n(p + j, n - j, 0.0f), inverse), n - j);
        memset(p + n, 0, sizeof(float) * (size_t)(T - n));
    }
}

// The same rows for outputs too big to stay cached: written once, streamed past the caches, and
// software-pipelined so the memory writes never pause. Row r's exps go to one of two scratch
// rows (2·T floats) and are scaled and streamed out while row r+1's exps are taken; the last
// row's after the loop. Each row's values are exactly those of softmax_forward_rows.
VEC_KERNEL void VEC(softmax_forward_rows_streamed)(float *probs, const float *scores, size_t first,
                                                   size_t end, size_t rows, int T, float scale,
                                                   float *scratch) {
    const vf scale2 = vset1(scale * SWL_LOG2E);
    float *pending = NULL;  // the previous row's output, still to be written
    const float *pending_e = NULL;
    int pending_n = 0;
    vf pending_inverse = vset1(0.0f);
    for (size_t row = first; row < end; row++) {
        const float *s = scores + row * (size_t)T;
        float *p = probs + row * (size_t)T;
        const int n = (int)(row % (size_t)T) + 1;
        float *e = scratch + (row % 2) * (size_t)T;
        const size_t ahead = softmax_ahead(row, rows, SOFTMAX_FORWARD_PREFETCH_ROWS, T);
        // The row SOFTMAX_FORWARD_PREFETCH_ROWS on is prefetched during the exp loop below, while
        // the row before streams out, rather than in the max pass, which runs alone: so the reads
        // from memory overlap the writes (T=1024, old and new kernels alternating in one process:
        // 8.4-9.3 -> 6.7-7.2 ms on 1 thread, 6.1-6.3 -> 5.1-5.3 ms on 2). The plain C path keeps
        // its one burst per row (see vprefetch_span).
        const vf shift = vset1(-VEC(softmax_row_max)(s, n, scale, VW == 1 ? ahead : 0) * SWL_LOG2E);
        vf sum0 = vset1(0.0f), sum1 = vset1(0.0f);
        int j = 0, out = 0, next_zero = 0;
        if (pending != NULL) {
            // Masked stores up to the pending row's first aligned vector; then, per exp vector,
            // one aligned output vector of the pending row's values and SOFTMAX_ZEROS_PER_VALUE
            // of its zeros, so the stores spread over the exp pass; its masked tail after them.
            out = VEC(softmax_stream_head)(pending, pending_e, pending_n, T, pending_inverse);
            int end_aligned;
            const int values_end = VEC(softmax_values_end)(out, pending_n, T, &end_aligned);
            next_zero = values_end;
            for (; j + 2 * VW <= n; j += 2 * VW) {
                vprefetch_span(s, j, 2 * VW, ahead, false);
                VEC(softmax_exp_pair)(e, s, j, scale2, shift, &sum0, &sum1);
                for (int v = 0; v < 2 && out < values_end; v++, out += VW)
                    vstream(pending + out, VEC(softmax_normalized)(pending_e, out, pending_n, pending_inverse));
                for (int v = 0; v < 2 * SOFTMAX_ZEROS_PER_VALUE && next_zero < end_aligned; v++, next_zero += VW)
                    vstream(pending + next_zero, vset1(0.0f));
            }
            for (; out < values_end; out += VW)
                vstream(pending + out, VEC(softmax_normalized)(pending_e, out, pending_n, pending_inverse));
        }
        vprefetch_span(s, j, n + SOFTMAX_FORWARD_PREFETCH_ROWS - j, ahead, false);
        const float sum = VEC(softmax_exps_from)(e, s, j, n, scale2, shift, sum0, sum1);
        if (pending != NULL) VEC(softmax_stream_from)(pending, pending_e, next_zero, pending_n, T, pending_inverse);
        pending = p;
        pending_e = e;
        pending_n = n;
        pending_inverse = vset1(1.0f / sum);
    }
    if (pending == NULL) return;
    const int out = VEC(softmax_stream_head)(pending, pending_e, pending_n, T, pending_inverse);
    VEC(softmax_stream_from)(pending, pending_e, out, pending_n, T, pending_inverse);
}

// One vector pair of a row's dot product Σ p·dp at j, each vector into its own chain, prefetching
// p and dp `ahead` floats on.
VEC_FN void VEC(softmax_dot_pair)(const float *p, const float *dp, int j, size_t ahead, vf *dot0,
                                  vf *dot1) {
    vprefetch_span(p, j, 2 * VW, ahead, false);
    vprefetch_span(dp, j, 2 * VW, ahead, false);
    *dot0 = vfma(vload(p + j), vload(dp + j), *dot0);
    *dot1 = vfma(vload(p + j + VW), vload(dp + j + VW), *dot1);
}

// Σ p·dp over a row's n entries from vector j on, given the two chains' sums of the vectors
// before j: whole vector pairs go to the two chains, a last whole vector to the first, the partial
// tail to the second. Prefetches p and dp `ahead` floats on (up to that row's diagonal) as it goes.
VEC_FN float VEC(softmax_dot_from)(const float *p, const float *dp, int j, int n, size_t ahead,
                                   vf dot0, vf dot1) {
    if (VW == 1) {  // see vprefetch_span
        vprefetch_burst(p, n + SOFTMAX_BACKWARD_PREFETCH_ROWS, ahead, false);
        vprefetch_burst(dp, n + SOFTMAX_BACKWARD_PREFETCH_ROWS, ahead, false);
    }
    for (; j + 2 * VW <= n; j += 2 * VW) VEC(softmax_dot_pair)(p, dp, j, ahead, &dot0, &dot1);
    vprefetch_span(p, j, n + SOFTMAX_BACKWARD_PREFETCH_ROWS - j, ahead, false);
    vprefetch_span(dp, j, n + SOFTMAX_BACKWARD_PREFETCH_ROWS - j, ahead, false);
    for (; j + VW <= n; j += VW) dot0 = vfma(vload(p + j), vload(dp + j), dot0);
    if (j < n) dot1 = vfma(vload_n(p + j, n - j, 0.0f), vload_n(dp + j, n - j, 0.0f), dot1);
    return vsum(vadd(dot0, dot1));
}

// Σ p·dp over row `row` of the (rows, T) matrices up to its diagonal, prefetching the row
// SOFTMAX_BACKWARD_PREFETCH_ROWS on: a row's dot product in one pass of its own.
VEC_FN float VEC(softmax_row_dot)(const float *probs, const float *dprobs, size_t row, size_t rows, int T) {
    const size_t offset = row * (size_t)T, ahead = softmax_ahead(row, rows, SOFTMAX_BACKWARD_PREFETCH_ROWS, T);
    return VEC(softmax_dot_from)(probs + offset, dprobs + offset, 0, (int)(row % (size_t)T) + 1, ahead,
                                 vset1(0.0f), vset1(0.0f));
}

// ds = scale·p·(dp − dot) at a row's n entries on and below the diagonal, 0 above it: one vector
// of the row at j. Adding +0 turns a −0 product into +0, so every zero is +0 on every path.
VEC_FN vf VEC(softmax_gradient)(const float *p, const float *dp, int j, int n, vf scale, vf dot) {
    const vf zero = vset1(0.0f);
    if (j >= n) return zero;
    const bool whole = j + VW <= n;
    const vf pj = whole ? vload(p + j) : vload_n(p + j, n - j, 0.0f);
    const vf dpj = whole ? vload(dp + j) : vload_n(dp + j, n - j, 0.0f);
    return vadd(vmul(vmul(scale, pj), vsub(dpj, dot)), zero);
}

// Plain C (one float per "vector") runs each row's dot product and its gradient as passes of
// their own: the compiler vectorizes the gradient loop alone, and not once it is fused with the
// next row's dot product (measured 1.5× slower fused).
#undef SOFTMAX_PIPELINED
#define SOFTMAX_PIPELINED (VW > 1)

// ds[j] = scale·p[j]·(dp[j] − Σ_{j'≤i} p[j']·dp[j']) for j ≤ i and 0 for i < j < T, for rows
// [first, end) of the (rows, T) matrices, written in place (for outputs that stay in cache); dp
// above the diagonal is never read, and ds may be dp. Software-pipelined: row r's gradient runs
// in the same loop as row r+1's dot product (reads of p and dp), so neither waits for memory
// alone. The rows SOFTMAX_BACKWARD_PREFETCH_ROWS on are prefetched up to their diagonal as the
// loops go. Each row's values are the same as computed on its own.
VEC_KERNEL void VEC(softmax_backward_rows)(float *dscores, const float *dprobs, const float *probs,
                                           size_t first, size_t end, size_t rows, int T, float scale) {
    if (first >= end) return;
    const vf vscale = vset1(scale), zero = vset1(0.0f);
    const size_t width = (size_t)T;
    float dot = VEC(softmax_row_dot)(probs, dprobs, first, rows, T);
    for (size_t row = first; row < end; row++) {
        float *ds = dscores + row * width;
        const float *dp = dprobs + row * width, *p = probs + row * width;
        const int n = (int)(row % width) + 1;
        const size_t ahead = softmax_ahead(row, rows, SOFTMAX_BACKWARD_PREFETCH_ROWS, T);
        const vf this_dot = vset1(dot);
        int j = 0;
        if (SOFTMAX_PIPELINED && row + 1 < end) {
            const float *next_dp = dp + width, *next_p = p + width;
            const int next_n = (int)((row + 1) % width) + 1;
            const size_t next_ahead = softmax_ahead(row + 1, rows, SOFTMAX_BACKWARD_PREFETCH_ROWS, T);
            vf dot0 = zero, dot1 = zero;
            for (; j + 2 * VW <= n && j + 2 * VW <= next_n; j += 2 * VW) {
                VEC(softmax_dot_pair)(next_p, next_dp, j, next_ahead, &dot0, &dot1);
                vprefetch_span(ds, j, 2 * VW, ahead, true);
                vstore(ds + j, VEC(softmax_gradient)(p, dp, j, n, vscale, this_dot));
                vstore(ds + j + VW, VEC(softmax_gradient)(p, dp, j + VW, n, vscale, this_dot));
            }
            dot = VEC(softmax_dot_from)(next_p, next_dp, j, next_n, next_ahead, dot0, dot1);
        }
        if (VW == 1) vprefetch_burst(ds, n + SOFTMAX_BACKWARD_PREFETCH_ROWS, ahead, true);  // see vprefetch_span
        for (; j + VW <= n; j += VW) {
            vprefetch_span(ds, j, VW, ahead, true);
            vstore(ds + j, VEC(softmax_gradient)(p, dp, j, n, vscale, this_dot));
        }
        vprefetch_span(ds, j, n + SOFTMAX_BACKWARD_PREFETCH_ROWS - j, ahead, true);
        if (j < n) vstore_n(ds + j, VEC(softmax_gradient)(p, dp, j, n, vscale, this_dot), n - j);
        memset(ds + n, 0, sizeof(float) * (size_t)(T - n));
        if (!SOFTMAX_PIPELINED && row + 1 < end) dot = VEC(softmax_row_dot)(probs, dprobs, row + 1, rows, T);
    }
}

// The same rows for outputs too big to stay cached: each row written once, whole (values and
// zeros), streamed past the caches, which saves reading every line of ds before writing it. As in
// the streamed forward, the row's aligned value vectors are interleaved with its zeros,
// SOFTMAX_ZEROS_PER_VALUE zero vectors after each value vector, and spread over the next row's
// dot product. Each row's values are exactly those of softmax_backward_rows.
VEC_KERNEL void VEC(softmax_backward_rows_streamed)(float *dscores, const float *dprobs,
                                                    const float *probs, size_t first, size_t end,
                                                    size_t rows, int T, float scale) {
    if (first >= end) return;
    const vf vscale = vset1(scale), zero = vset1(0.0f);
    const size_t width = (size_t)T;
    float dot = VEC(softmax_row_dot)(probs, dprobs, first, rows, T);
    for (size_t row = first; row < end; row++) {
        float *ds = dscores + row * width;
        const float *dp = dprobs + row * width, *p = probs + row * width;
        const int n = (int)(row % width) + 1;
        const vf this_dot = vset1(dot);
        // Masked stores up to the row's first aligned vector, then [out, values_end) the values,
        // [values_end, end_aligned) zeros, and the masked tail [end_aligned, T).
        int out = (int)valign_head(ds, width);
        if (out > 0) vstore_n(ds, VEC(softmax_gradient)(p, dp, 0, n, vscale, this_dot), out);
        int end_aligned;
        const int values_end = VEC(softmax_values_end)(out, n, T, &end_aligned);
        int next_zero = values_end;
        if (row + 1 < end) {
            const float *next_dp = dp + width, *next_p = p + width;
            const int next_n = (int)((row + 1) % width) + 1;
            const size_t next_ahead = softmax_ahead(row + 1, rows, SOFTMAX_BACKWARD_PREFETCH_ROWS, T);
            vf dot0 = zero, dot1 = zero;
            int j = 0;
            for (; SOFTMAX_PIPELINED && j + 2 * VW <= next_n; j += 2 * VW) {
                VEC(softmax_dot_pair)(next_p, next_dp, j, next_ahead, &dot0, &dot1);
                for (int v = 0; v < 2 && out < values_end; v++, out += VW)
                    vstream(ds + out, VEC(softmax_gradient)(p, dp, out, n, vscale, this_dot));
                for (int v = 0; v < 2 * SOFTMAX_ZEROS_PER_VALUE && next_zero < end_aligned; v++, next_zero += VW)
                    vstream(ds + next_zero, zero);
            }
            dot = VEC(softmax_dot_from)(next_p, next_dp, j, next_n, next_ahead, dot0, dot1);
        }
        for (; out < values_end; out += VW) vstream(ds + out, VEC(softmax_gradient)(p, dp, out, n, vscale, this_dot));
        for (; next_zero < end_aligned; next_zero += VW) vstream(ds + next_zero, zero);
        if (end_aligned < T)
            vstore_n(ds + end_aligned, VEC(softmax_gradient)(p, dp, end_aligned, n, vscale, this_dot), T - end_aligned);
    }
}

// The memory traffic of the streamed kernels above with their arithmetic taken out, for the
// benchmark harness to measure what this access pattern alone can do on the machine: row i of a
// read up to the diagonal (and of b, when there is one) and the whole output row streamed out,
// a·b (or a) below the diagonal and 0 above it, values and zeros interleaved as in the kernels,
// prefetching `ahead_rows` rows on as they do. Forward: one input (a masked copy); backward: two.

// x·y (or x with no y) for the vector of a row at j < n, the lanes from n on 0.
VEC_FN vf VEC(softmax_traffic_value)(const float *x, const float *y, int j, int n) {
    const int lanes = SWL_MIN(n - j, VW);
    const vf value = vload_k(x + j, lanes, 0.0f);
    return y ? vmul(value, vload_k(y + j, lanes, 0.0f)) : value;
}

VEC_KERNEL void VEC(softmax_traffic_rows)(float *out, const float *a, const float *b, size_t first,
                                          size_t end, size_t rows, int T, int ahead_rows) {
    for (size_t row = first; row < end; row++) {
        const float *x = a + row * (size_t)T, *y = b ? b + row * (size_t)T : NULL;
        float *o = out + row * (size_t)T;
        const int n = (int)(row % (size_t)T) + 1;
        const size_t ahead = softmax_ahead(row, rows, ahead_rows, T);
        if (VW == 1) {  // as the kernels
            vprefetch_burst(x, n + ahead_rows, ahead, false);
            if (y) vprefetch_burst(y, n + ahead_rows, ahead, false);
        }
        int j = (int)valign_head(o, (size_t)T);
        if (j > 0) vstore_n(o, VEC(softmax_traffic_value)(x, y, 0, n), j);
        int end_aligned;
        const int values_end = VEC(softmax_values_end)(j, n, T, &end_aligned);
        int next_zero = values_end;
        for (; j < values_end; j += VW) {
            vprefetch_span(x, j, VW, ahead, false);
            if (y) vprefetch_span(y, j, VW, ahead, false);
            vstream(o + j, VEC(softmax_traffic_value)(x, y, j, n));
            for (int v = 0; v < SOFTMAX_ZEROS_PER_VALUE && next_zero < end_aligned; v++, next_zero += VW)
                vstream(o + next_zero, vset1(0.0f));
        }
        vprefetch_span(x, j, n + ahead_rows - j, ahead, false);
        if (y) vprefetch_span(y, j, n + ahead_rows - j, ahead, false);
        for (; next_zero < end_aligned; next_zero += VW) vstream(o + next_zero, vset1(0.0f));
        j = end_aligned;
        if (j < T) vstore_n(o + j, j < n ? VEC(softmax_traffic_value)(x, y, j, n) : vset1(0.0f), T - j);
    }
}

// Causal rows with nothing but their own traffic, for the harness to tell what the rows' shape
// costs from what the kernels add: in place a = a·b over the first `n` entries of each row (its
// lower triangle, or all T entries with whole_rows), plain loads and stores, no prefetching, no
// zeros and no streaming stores. Entries past n are not touched.
VEC_KERNEL void VEC(causal_rows_traffic_rows)(float *a, const float *b, size_t first, size_t end, int T,
                                              int whole_rows) {
    for (size_t row = first; row < end; row++) {
        float *x = a + row * (size_t)T;
        const float *y = b + row * (size_t)T;
        const int n = whole_rows ? T : (int)(row % (size_t)T) + 1;
        int j = 0;
        for (; j + VW <= n; j += VW) vstore(x + j, vmul(vload(x + j), vload(y + j)));
        if (j < n) vstore_n(x + j, vmul(vload_n(x + j, n - j, 0.0f), vload_n(y + j, n - j, 0.0f)), n - j);
    }
}
