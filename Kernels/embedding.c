// Token and position embeddings, the sinusoidal position table and rotary embeddings (RoPE).
#include <math.h>
#include <stdlib.h>

#include "internal.h"

// out is (B,T,C); idx is (B,T); wte is (V,C); wpe is (≥T,C) or NULL.
void swl_embedding_forward(float *out, const int32_t *idx, const float *wte, const float *wpe,
                           int B, int T, int C) {
    SWL_PARALLEL_FOR
    for (int bt = 0; bt < B * T; bt++) {
        float *o = out + (size_t)bt * (size_t)C;
        const float *tok = wte + (size_t)idx[bt] * (size_t)C;
        if (wpe != NULL) {
            const float *pos = wpe + (size_t)(bt % T) * (size_t)C;
            for (int c = 0; c < C; c++) o[c] = tok[c] + pos[c];
        } else {
            for (int c = 0; c < C; c++) o[c] = tok[c];
        }
    }
}

// dwte's rows accumulate their tokens in (b,t) order, whatever the thread count. The fast way
// sorts the token positions by id (a stable LSD radix sort, so positions stay ascending within
// an id) and gives each thread whole ids: every row is read and written once, contiguously.
// Without memory for the sort, threads split the columns into strips instead and every strip
// walks all tokens in (b,t) order: the same sums, with scattered row accesses.
enum { EMBEDDING_STRIP = 16 };

static void embedding_backward_strips(float *dwte, const float *dout, const int32_t *idx, int BT,
                                      int C) {
    int strips = (C + EMBEDDING_STRIP - 1) / EMBEDDING_STRIP;
    SWL_PARALLEL_FOR
    for (int s = 0; s < strips; s++) {
        int c0 = s * EMBEDDING_STRIP, c1 = SWL_MIN(C, c0 + EMBEDDING_STRIP);
        for (int bt = 0; bt < BT; bt++) {
            float *d = dwte + (size_t)idx[bt] * (size_t)C;
            const float *g = dout + (size_t)bt * (size_t)C;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

// order (BT) ← the positions 0…BT−1 sorted by idx, ascending positions within an id; scratch
// is (BT). Four stable counting passes over the id's bytes.
static void sort_positions_by_id(int32_t *order, int32_t *scratch, const int32_t *idx, int BT) {
    for (int i = 0; i < BT; i++) order[i] = i;
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (int i = 0; i < BT; i++) count[(((uint32_t)idx[order[i]] >> shift) & 0xFF) + 1]++;
        for (int d = 0; d < 256; d++) count[d + 1] += count[d];
        for (int i = 0; i < BT; i++) scratch[count[((uint32_t)idx[order[i]] >> shift) & 0xFF]++] = order[i];
        int32_t *swap = order;
        order = scratch;
        scratch = swap;
    }
    // Four passes: the sorted positions are back in the caller's `order`.
}

static void embedding_backward_sorted(float *dwte, const float *dout, const int32_t *idx,
                                      const int32_t *order, int32_t *run_starts, int BT, int C) {
    int runs = 0;
    for (int i = 0; i < BT; i++) {
        if (i == 0 || idx[order[i]] != idx[order[i - 1]]) run_starts[runs++] = i;
    }
    run_starts[runs] = BT;
    SWL_PARALLEL_FOR
    for (int run = 0; run < runs; run++) {
        float *d = dwte + (size_t)idx[order[run_starts[run]]] * (size_t)C;
        for (int i = run_starts[run]; i < run_starts[run + 1]; i++) {
            const float *g = dout + (size_t)order[i] * (size_t)C;
            for (int c = 0; c < C; c++) d[c] += g[c];
        }
    }
}

// dwte is (V,C); dwpe is (≥T,C) or NULL; dout is (B,T,C); idx is (B,T).
void swl_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *idx,
                            int B, int T, int C) {
    int BT = B * T;
    int32_t *scratch = malloc(3 * ((size_t)BT + 1) * sizeof(int32_t));
    if (scratch != NULL) {
        int32_t *order = scratch, *sort_scratch = scratch + BT + 1, *run_starts = scratch + 2 * ((size_t)BT + 1);
        sort_positions_by_id(order, sort_scratch, idx, BT);
        embedding_backward_sorted(dwte, dout, idx, order, run_starts, BT, C);
        free(scratch);
    } else {
        embedding_backward_strips(dwte, dout, idx, BT, C);
    }
    if (dwpe == NULL) return;
    SWL_PARALLEL_FOR
    for (int t = 0; t < T; t++) {
        float *d = dwpe + (size_t)t * (size_t)C;
        for (int b = 0; b < B; b++) {
            const float *g = dout + ((size_t)b * (size_t)T + (size_t)t) * (size_t)C;
            for (int c = 0; c < C; c++) d[c] += g[c];
        }
    }
}

// table is (T,C): pe[t,2i] = sin(t·base^(−2i/C)), pe[t,2i+1] = cos(t·base^(−2i/C)), in double.
void swl_sinusoidal_table(float *table, int T, int C, float base) {
    SWL_PARALLEL_FOR
    for (int t = 0; t < T; t++) {
        for (int c = 0; c < C; c++) {
            int i2 = c & ~1;
            double angle = (double)t / pow((double)base, (double)i2 / (double)C);
            table[(size_t)t * (size_t)C + (size_t)c] = (float)((c & 1) ? cos(angle) : sin(angle));
        }
    }
}

// cos/sin of (pos_offset + t)·base^(−2i/hs) for t < T, i < hs/2: table is (T, hs/2, 2).
static float *rope_angles(int T, int hs, float base, int pos_offset) {
    int half = hs / 2;
    float *table = malloc((size_t)T * (size_t)hs * sizeof(float));
    if (table == NULL) return NULL;
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < half; i++) {
            double angle = (double)(pos_offset + t) * pow((double)base, -2.0 * i / (double)hs);
            table[((size_t)t * half + i) * 2] = (float)cos(angle);
            table[((size_t)t * half + i) * 2 + 1] = (float)sin(angle);
        }
    }
    return table;
}

// Rotates each pair (x0, x1) of one head row by the angle whose cos/sin are in cs;
// sign = +1 rotates forward, −1 backward. accumulate adds into out instead of writing.
static void rope_row(float *out, const float *x, const float *cs, int hs, float sign, int accumulate) {
    for (int i = 0; i < hs / 2; i++) {
        float c = cs[2 * i], s = sign * cs[2 * i + 1];
        float x0 = x[2 * i], x1 = x[2 * i + 1];
        float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
        if (accumulate) {
            out[2 * i] += y0;
            out[2 * i + 1] += y1;
        } else {
            out[2 * i] = y0;
            out[2 * i + 1] = y1;
        }
    }
}

// Applies rope_row to every (b,h,t) row, computing the angles once per call.
static void rope_apply(float *out, const float *x, int B, int H, int T, int hs, float base,
                       int pos_offset, float sign, int accumulate) {
    float *table = rope_angles(T, hs, base, pos_offset);
    if (table == NULL) abort();
    long rows = (long)B * H * T;
    SWL_PARALLEL_FOR
    for (long r = 0; r < rows; r++) {
        size_t o = (size_t)r * (size_t)hs;
        rope_row(out + o, x + o, table + (size_t)(r % T) * (size_t)hs, hs, sign, accumulate);
    }
    free(table);
}

// out, x are (B,H,T,hs); out may equal x.
void swl_rope_forward(float *out, const float *x, int B, int H, int T, int hs, float base,
                      int pos_offset) {
    rope_apply(out, x, B, H, T, hs, base, pos_offset, 1.0f, 0);
}

// dx, dout are (B,H,T,hs): dx += R(−angle)·dout.
void swl_rope_backward(float *dx, const float *dout, int B, int H, int T, int hs, float base,
                       int pos_offset) {
    rope_apply(dx, dout, B, H, T, hs, base, pos_offset, -1.0f, 1);
}
