// Row kernels of crossentropy.c, written once over the vocabulary of pointwise_simd.h and
// included once per ISA path. Sums over the vocabulary run in float vectors over blocks of
// CROSSENTROPY_BLOCK logits, and the blocks are added in double: accurate for V = 50,257 and
// in a fixed order.

#define CROSSENTROPY_BLOCK 1024

// Σ exp(row[j] − shift) over j in [start, end), one block, in float vectors. Four independent
// chains keep enough exps in flight to hide their latency.
VEC_FN float VEC(crossentropy_block_sum_exp)(const float *row, int start, int end, float shift) {
    vf vshift = vset1(shift);
    vf acc0 = vset1(0.0f), acc1 = vset1(0.0f), acc2 = vset1(0.0f), acc3 = vset1(0.0f);
    int j = start;
    for (; j + 4 * VW <= end; j += 4 * VW) {
        acc0 = vadd(acc0, vexp(vsub(vload(row + j), vshift)));
        acc1 = vadd(acc1, vexp(vsub(vload(row + j + VW), vshift)));
        acc2 = vadd(acc2, vexp(vsub(vload(row + j + 2 * VW), vshift)));
        acc3 = vadd(acc3, vexp(vsub(vload(row + j + 3 * VW), vshift)));
    }
    vf acc = vadd(vadd(acc0, acc1), vadd(acc2, acc3));
    for (; j + VW <= end; j += VW) acc = vadd(acc, vexp(vsub(vload(row + j), vshift)));
    if (j < end) acc = vadd(acc, vexp(vsub(vload_n(row + j, end - j, -INFINITY), vshift)));
    return vsum(acc);
}

// log Σ_j exp(row[j]) over V logits in one pass over memory: each block takes its max while
// it streams in, and the running sum (double) is rescaled when the max grows, so exp always
// sees arguments ≤ 0 and the block's exps run while the next block is being fetched.
VEC_KERNEL float VEC(crossentropy_row_logsumexp)(const float *row, int V) {
    float max = -INFINITY;
    double total = 0.0;
    for (int start = 0; start < V; start += CROSSENTROPY_BLOCK) {
        int end = SWL_MIN(V, start + CROSSENTROPY_BLOCK);
        // Four chains: one vmax after another would wait on its latency for every vector.
        vf m0 = vset1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
        int j = start;
        for (; j + 4 * VW <= end; j += 4 * VW) {
            m0 = vmax(vload(row + j), m0);
            m1 = vmax(vload(row + j + VW), m1);
            m2 = vmax(vload(row + j + 2 * VW), m2);
            m3 = vmax(vload(row + j + 3 * VW), m3);
        }
        vf m = vmax(vmax(m0, m1), vmax(m2, m3));
        for (; j + VW <= end; j += VW) m = vmax(vload(row + j), m);
        if (j < end) m = vmax(vload_n(row + j, end - j, -INFINITY), m);
        float block_max = vhmax(m);
        if (block_max > max) {
            total *= exp((double)max - (double)block_max);  // 0 on the first block
            max = block_max;
        }
        total += (double)VEC(crossentropy_block_sum_exp)(row, start, end, max);
    }
    return max + (float)log(total);
}

// Σ_j exp(row[j] − shift) over V logits (all ≤ shift + log V, so nothing overflows), in
// blocks added in double.
VEC_KERNEL double VEC(crossentropy_row_sum_exp)(const float *row, int V, float shift) {
    double total = 0.0;
    for (int start = 0; start < V; start += CROSSENTROPY_BLOCK)
        total += (double)VEC(crossentropy_block_sum_exp)(row, start, SWL_MIN(V, start + CROSSENTROPY_BLOCK), shift);
    return total;
}

// drow[j] += scale·exp(row[j] − shift) over V logits.
VEC_KERNEL void VEC(crossentropy_row_add_softmax)(float *drow, const float *row, int V, float shift,
                                                   float scale) {
    vf vshift = vset1(shift), vscale = vset1(scale);
    int j = (int)valign_head(drow, (size_t)V);  // elementwise: peel to aligned stores
    if (j > 0) {
        vf p = vexp(vsub(vload_n(row, j, -INFINITY), vshift));
        vstore_n(drow, vfma(vscale, p, vload_n(drow, j, 0.0f)), j);
    }
    for (; j + 4 * VW <= V; j += 4 * VW) {
        vf p0 = vexp(vsub(vload(row + j), vshift));
        vf p1 = vexp(vsub(vload(row + j + VW), vshift));
        vf p2 = vexp(vsub(vload(row + j + 2 * VW), vshift));
        vf p3 = vexp(vsub(vload(row + j + 3 * VW), vshift));
        vstore(drow + j, vfma(vscale, p0, vload(drow + j)));
        vstore(drow + j + VW, vfma(vscale, p1, vload(drow + j + VW)));
        vstore(drow + j + 2 * VW, vfma(vscale, p2, vload(drow + j + 2 * VW)));
        vstore(drow + j + 3 * VW, vfma(vscale, p3, vload(drow + j + 3 * VW)));
    }
    for (; j + VW <= V; j += VW)
        vstore(drow + j, vfma(vscale, vexp(vsub(vload(row + j), vshift)), vload(drow + j)));
    if (j < V) {
        int lanes = V - j;
        vf p = vexp(vsub(vload_n(row + j, lanes, -INFINITY), vshift));
        vstore_n(drow + j, vfma(vscale, p, vload_n(drow + j, lanes, 0.0f)), lanes);
    }
}
