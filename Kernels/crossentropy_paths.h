// Row kernels of crossentropy.c, written once over the vocabulary of pointwise_simd.h and
// included once per ISA path. Sums over the vocabulary run in float vectors over blocks of
// CROSSENTROPY_BLOCK logits, and the blocks are added in double: accurate for V = 50,257 and
// in a fixed order.

#define CROSSENTROPY_BLOCK 1024
// Logits are prefetched this far (floats) ahead of the exps: the hardware prefetcher alone
// left the single pass waiting on memory (1.15× slower on one thread).
#define CROSSENTROPY_PREFETCH_AHEAD 2048
// And into L2 this far ahead (128 KiB), a second stream of requests: one stream into L1 is bound
// by the core's fill buffers. On an Intel Xeon (model 207) the forward read 11.1–11.8 → 13.0–13.5
// GB/s on 1 thread and 22.2–24.2 → 25.6–26.4 on 2 (N=1,024, V=50,257; distances of 16K to 64K
// floats measured alike, 128K a little slower).
#define CROSSENTROPY_PREFETCH_L2_AHEAD 32768
// A block is summed against the largest logit of the blocks before it; if its own largest is
// more than this above, its exps could overflow, and it is summed again against that one.
#define CROSSENTROPY_HEADROOM 64.0f

// exp(x − shift) is computed as 2^(x·log2 e + offset), offset = −shift·log2 e rounded to a
// float: one FMA. That is exactly exp(x − effective shift), up to the same rounding of the
// product exp itself would make, and the effective shift is known in double.
VEC_FN float VEC(crossentropy_offset)(float shift) { return -shift * SWL_LOG2E; }
VEC_FN double VEC(crossentropy_effective_shift)(float offset) {
    return -(double)offset / (double)SWL_LOG2E;
}

// Moves a running Σ exp(x − shift) onto a larger shift.
VEC_FN void VEC(crossentropy_rebase)(double *total, float *shift, float *offset, float larger_shift) {
    float larger = VEC(crossentropy_offset)(larger_shift);
    *total *= exp(VEC(crossentropy_effective_shift)(*offset) - VEC(crossentropy_effective_shift)(larger));
    *shift = larger_shift;
    *offset = larger;
}

// Σ 2^(row[j]·log2 e + offset) over j in [start, end), one block, in float vectors, and (if
// `max` is not NULL) the block's largest logit, read in the same pass. Four independent
// chains keep enough exps in flight to hide their latency.
VEC_FN float VEC(crossentropy_block_sum_exp)(const float *row, int start, int end, float offset,
                                             float *max) {
    const vf log2e = vset1(SWL_LOG2E), voffset = vset1(offset);
    vf acc0 = vset1(0.0f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    vf m0 = vset1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int j = start;
    for (; j + 4 * VW <= end; j += 4 * VW) {
        for (int k = 0; k < 4 * VW; k += 16) {
            __builtin_prefetch(row + j + k + CROSSENTROPY_PREFETCH_AHEAD);
            __builtin_prefetch(row + j + k + CROSSENTROPY_PREFETCH_L2_AHEAD, 0, 2);
        }
        vf x0 = vload(row + j), x1 = vload(row + j + VW);
        vf x2 = vload(row + j + 2 * VW), x3 = vload(row + j + 3 * VW);
        m0 = vmax(x0, m0), m1 = vmax(x1, m1), m2 = vmax(x2, m2), m3 = vmax(x3, m3);
        acc0 = vadd(acc0, vexp2(vfma(x0, log2e, voffset)));
        acc1 = vadd(acc1, vexp2(vfma(x1, log2e, voffset)));
        acc2 = vadd(acc2, vexp2(vfma(x2, log2e, voffset)));
        acc3 = vadd(acc3, vexp2(vfma(x3, log2e, voffset)));
    }
    vf acc = vadd(vadd(acc0, acc1), vadd(acc2, acc3));
    vf m = vmax(vmax(m0, m1), vmax(m2, m3));
    for (; j + VW <= end; j += VW) {
        vf x = vload(row + j);
        m = vmax(x, m);
        acc = vadd(acc, vexp2(vfma(x, log2e, voffset)));
    }
    if (j < end) {  // the fill lanes give 2^−∞ = 0
        vf x = vload_n(row + j, end - j, -INFINITY);
        m = vmax(x, m);
        acc = vadd(acc, vexp2(vfma(x, log2e, voffset)));
    }
    if (max != NULL) *max = vhmax(m);
    return vsum(acc);
}

// log Σ_j exp(row[j]) over V logits in one pass over memory. Each block's exps are taken
// against the largest logit seen before it (to start with, the first logit), while the same
// pass finds the block's own largest; the running sum (double) is rebased whenever that grows,
// so exps stay far from overflow and no block is read twice unless its logits jump by more
// than the headroom.
VEC_KERNEL float VEC(crossentropy_row_logsumexp)(const float *row, int V) {
    float shift = row[0];
    float offset = VEC(crossentropy_offset)(shift);
    double total = 0.0;
    for (int start = 0; start < V; start += CROSSENTROPY_BLOCK) {
        int end = SWL_MIN(V, start + CROSSENTROPY_BLOCK);
        float block_max;
        float sum = VEC(crossentropy_block_sum_exp)(row, start, end, offset, &block_max);
        if (block_max > shift + CROSSENTROPY_HEADROOM) {
            VEC(crossentropy_rebase)(&total, &shift, &offset, block_max);
            sum = VEC(crossentropy_block_sum_exp)(row, start, end, offset, NULL);
        }
        total += (double)sum;
        if (block_max > shift) {
            VEC(crossentropy_rebase)(&total, &shift, &offset, block_max);
        }
    }
    return (float)(VEC(crossentropy_effective_shift)(offset) + log(total));
}

// Σ_j exp(row[j] − shift) over V logits (all ≤ shift + log V, so nothing overflows), in
// blocks added in double, with exp taken exactly as crossentropy_row_softmax takes it.
VEC_KERNEL double VEC(crossentropy_row_sum_exp)(const float *row, int V, float shift) {
    float offset = VEC(crossentropy_offset)(shift);
    double total = 0.0;
    for (int start = 0; start < V; start += CROSSENTROPY_BLOCK)
        total += (double)VEC(crossentropy_block_sum_exp)(row, start, SWL_MIN(V, start + CROSSENTROPY_BLOCK), offset, NULL);
    return total;
}

// drow[j] = scale·exp(row[j] − shift) over V logits, streamed past the caches when `stream`.
// The product is taken as scale·p + 0, the addition a cleared drow had when this kernel added
// into it: the same bits (a −0 product becomes +0).
VEC_KERNEL void VEC(crossentropy_row_softmax)(float *drow, const float *row, int V, float shift,
                                               float scale, bool stream) {
    const vf log2e = vset1(SWL_LOG2E), voffset = vset1(VEC(crossentropy_offset)(shift));
    const vf vscale = vset1(scale), zero = vset1(0.0f);
    int j = (int)valign_head(drow, (size_t)V);  // elementwise: peel to aligned stores
    if (j > 0) {
        vf p = vexp2(vfma(vload_n(row, j, -INFINITY), log2e, voffset));
        vstore_n(drow, vfma(vscale, p, zero), j);
    }
    for (; j + 4 * VW <= V; j += 4 * VW) {
        if (!stream)  // a normal store reads its line first: ask for it ahead
            for (int k = 0; k < 4 * VW; k += 16) __builtin_prefetch(drow + j + k + CROSSENTROPY_PREFETCH_AHEAD, 1);
        vf p0 = vexp2(vfma(vload(row + j), log2e, voffset));
        vf p1 = vexp2(vfma(vload(row + j + VW), log2e, voffset));
        vf p2 = vexp2(vfma(vload(row + j + 2 * VW), log2e, voffset));
        vf p3 = vexp2(vfma(vload(row + j + 3 * VW), log2e, voffset));
        vput(drow + j, vfma(vscale, p0, zero), stream);
        vput(drow + j + VW, vfma(vscale, p1, zero), stream);
        vput(drow + j + 2 * VW, vfma(vscale, p2, zero), stream);
        vput(drow + j + 3 * VW, vfma(vscale, p3, zero), stream);
    }
    for (; j + VW <= V; j += VW) vput(drow + j, vfma(vscale, vexp2(vfma(vload(row + j), log2e, voffset)), zero), stream);
    if (j < V) {
        int lanes = V - j;
        vf p = vexp2(vfma(vload_n(row + j, lanes, -INFINITY), log2e, voffset));
        vstore_n(drow + j, vfma(vscale, p, zero), lanes);
    }
}
