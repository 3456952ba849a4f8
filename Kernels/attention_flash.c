// Flash attention (causal): tiles of 64 queries × 64 keys, an online softmax, and only the
// per-row logsumexp saved for backward. q, k, v, out, dq, dk, dv, dout are (B,H,T,hs);
// lse is (B,H,T) and holds log Σ_{j≤i} exp(scale·q_i·k_j).
//
// Layout. Every tile kernel is one shape, a rank update of a 64-wide tile:
//     C[m, 0:64] (=|+=) Σ_k A(m,k) · Bt[k, 0:64]
// where A(m,k) = A[m·sm + k·sk] is broadcast and Bt is a contiguous (K,64) tile. The 64 lanes are
// the queries of a query tile (forward, dq pass) or the keys of a key tile (dk/dv pass), so the
// online softmax is plain lane-wise vector code and any head size works without tails.
//
// Forward, one task per (b,h,query tile), key tiles 0…diagonal (tiles above it are skipped):
//     St = K·Qᵀ (keys × queries), m/l running max/sum per query lane, Pt = exp(scale·St − m),
//     Ot = Ot·exp(m_old − m_new) + Vᵀ·Pt, out = Otᵀ / l, lse = m + log l.
// Backward (FlashAttention-2 with the probabilities recomputed from lse), in two passes so that
// every gradient element is summed by one task in a fixed order, whatever the thread count:
//     dk/dv pass, one task per (b,h,key tile), query tiles diagonal…last:
//         P = exp(scale·Q·Kᵀ − lse), dP = dO·Vᵀ, dS = P∘(dP − D), dVᵀ += dOᵀ·P, dKᵀ += Qᵀ·dS
//     dq pass, one task per (b,h,query tile), key tiles 0…diagonal:
//         the same P and dS transposed, dQᵀ += Kᵀ·dSᵀ
//     with D_i = Σ_d dout[i,d]·out[i,d]; dq and dk get the factor scale at the end.
//     When there are enough heads to keep every thread busy, one task per (b,h) runs the dk/dv
//     loop and adds each tile's dSᵀ·K into a per-head dQᵀ as it goes (5 tile products per tile
//     pair instead of 7). It sums the same products in the same order: identical bits.
// Dropout on the probabilities (nanoGPT's attn_dropout), when asked for: z_ij = 1/(1−p) or 0, drawn
// from (seed, ((b·H+h)·T + i)·T + j) exactly as swl_dropout_forward draws it over the (B,H,T,T)
// probabilities, so flash and the materialized path drop the same entries. The forward sums
// l over the undropped probabilities and multiplies Pt by z before Vᵀ·Pt; the backward uses z·P
// for dV and dS = P∘(z∘dP − D). D_i = dout_i·out_i still holds, since out already has z in it.
// Scratch is one block per thread, allocated once per call: O(64·hs + 64²) floats, plus the
// per-head dQᵀ (T·hs) in whole-head mode.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "attention_simd.h"
#include "dropout_hash.h"
#include "internal.h"

#if SWL_HAS_X86
#include <immintrin.h>
#endif

#define TILE 64

typedef struct {
    float *out, *lse, *dq, *dk, *dv;                              // outputs
    const float *q, *k, *v, *dout, *saved_out, *saved_lse;        // inputs
    int BH, T, hs, tiles;
    float scale;
    float dropout, keep_scale;  // dropout probability (0: none) and 1/(1−dropout)
    dropout_key key;
} flash_problem;

/// C (M×64) = or += Σ_{k<K} A[m·sm + k·sk] · Bt[k·64 + ·]; C and Bt are 64-byte aligned.
typedef void (*tile_update_fn)(float *C, const float *A, size_t sm, size_t sk, const float *Bt,
                               int M, int K, int accumulate);

// Scratch per thread, in floats; every piece is a whole number of 64-byte lines.
static size_t forward_scratch_floats(int hs) {
    return 2 * (size_t)hs * TILE + TILE * TILE + 4 * TILE;  // Qᵀ, Oᵀ, Sᵀ, m, l, alpha, max
}
static size_t backward_scratch_floats(int hs) {
    return 4 * (size_t)hs * TILE + 3 * TILE * TILE + 2 * TILE;  // largest of the two passes
}

// ---------------------------------------------------------------------------------------------
// Tile updates, one per ISA path.

static void tile_update_portable(float *C, const float *A, size_t sm, size_t sk, const float *Bt,
                                 int M, int K, int accumulate) {
    for (int m = 0; m < M; m++) {
        float acc[TILE];
        for (int x = 0; x < TILE; x++) acc[x] = accumulate ? C[m * TILE + x] : 0.0f;
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float am = a[(size_t)k * sk];
            const float *b = Bt + (size_t)k * TILE;
            for (int x = 0; x < TILE; x++) acc[x] += am * b[x];
        }
        for (int x = 0; x < TILE; x++) C[m * TILE + x] = acc[x];
    }
}

#if SWL_HAS_X86
// 4 rows × 64 lanes = 16 zmm accumulators; each k loads 4 vectors and broadcasts 4 scalars.
SWL_TARGET_AVX512 static void tile_update_avx512(float *C, const float *A, size_t sm, size_t sk,
                                                 const float *Bt, int M, int K, int accumulate) {
    int m = 0;
    for (; m + 4 <= M; m += 4) {
        __m512 acc[4][4];
        for (int g = 0; g < 4; g++)
            for (int x = 0; x < 4; x++)
                acc[g][x] = accumulate ? _mm512_load_ps(C + (m + g) * TILE + 16 * x)
                                       : _mm512_setzero_ps();
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float *b = Bt + (size_t)k * TILE;
            const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
            const __m512 b2 = _mm512_load_ps(b + 32), b3 = _mm512_load_ps(b + 48);
            const float *ak = a + (size_t)k * sk;
            for (int g = 0; g < 4; g++) {
                const __m512 ag = _mm512_set1_ps(ak[(size_t)g * sm]);
                acc[g][0] = _mm512_fmadd_ps(ag, b0, acc[g][0]);
                acc[g][1] = _mm512_fmadd_ps(ag, b1, acc[g][1]);
                acc[g][2] = _mm512_fmadd_ps(ag, b2, acc[g][2]);
                acc[g][3] = _mm512_fmadd_ps(ag, b3, acc[g][3]);
            }
        }
        for (int g = 0; g < 4; g++)
            for (int x = 0; x < 4; x++) _mm512_store_ps(C + (m + g) * TILE + 16 * x, acc[g][x]);
    }
    for (; m < M; m++) {
        __m512 acc[4];
        for (int x = 0; x < 4; x++)
            acc[x] = accumulate ? _mm512_load_ps(C + m * TILE + 16 * x) : _mm512_setzero_ps();
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float *b = Bt + (size_t)k * TILE;
            const __m512 am = _mm512_set1_ps(a[(size_t)k * sk]);
            for (int x = 0; x < 4; x++) acc[x] = _mm512_fmadd_ps(am, _mm512_load_ps(b + 16 * x), acc[x]);
        }
        for (int x = 0; x < 4; x++) _mm512_store_ps(C + m * TILE + 16 * x, acc[x]);
    }
}

// 2 rows × 32 lanes = 8 ymm accumulators, over the two 32-lane halves of the tile.
SWL_TARGET_AVX2 static void tile_update_avx2(float *C, const float *A, size_t sm, size_t sk,
                                             const float *Bt, int M, int K, int accumulate) {
    int m = 0;
    for (; m + 2 <= M; m += 2) {
        for (int half = 0; half < 2; half++) {
            const int lane0 = 32 * half;
            __m256 acc[2][4];
            for (int g = 0; g < 2; g++)
                for (int x = 0; x < 4; x++)
                    acc[g][x] = accumulate ? _mm256_load_ps(C + (m + g) * TILE + lane0 + 8 * x)
                                           : _mm256_setzero_ps();
            const float *a = A + (size_t)m * sm;
            for (int k = 0; k < K; k++) {
                const float *b = Bt + (size_t)k * TILE + lane0;
                const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
                const __m256 b2 = _mm256_load_ps(b + 16), b3 = _mm256_load_ps(b + 24);
                const float *ak = a + (size_t)k * sk;
                for (int g = 0; g < 2; g++) {
                    const __m256 ag = _mm256_set1_ps(ak[(size_t)g * sm]);
                    acc[g][0] = _mm256_fmadd_ps(ag, b0, acc[g][0]);
                    acc[g][1] = _mm256_fmadd_ps(ag, b1, acc[g][1]);
                    acc[g][2] = _mm256_fmadd_ps(ag, b2, acc[g][2]);
                    acc[g][3] = _mm256_fmadd_ps(ag, b3, acc[g][3]);
                }
            }
            for (int g = 0; g < 2; g++)
                for (int x = 0; x < 4; x++)
                    _mm256_store_ps(C + (m + g) * TILE + lane0 + 8 * x, acc[g][x]);
        }
    }
    for (; m < M; m++) {
        __m256 acc[8];
        for (int x = 0; x < 8; x++)
            acc[x] = accumulate ? _mm256_load_ps(C + m * TILE + 8 * x) : _mm256_setzero_ps();
        const float *a = A + (size_t)m * sm;
        for (int k = 0; k < K; k++) {
            const float *b = Bt + (size_t)k * TILE;
            const __m256 am = _mm256_set1_ps(a[(size_t)k * sk]);
            for (int x = 0; x < 8; x++) acc[x] = _mm256_fmadd_ps(am, _mm256_load_ps(b + 8 * x), acc[x]);
        }
        for (int x = 0; x < 8; x++) _mm256_store_ps(C + m * TILE + 8 * x, acc[x]);
    }
}
#endif

// ---------------------------------------------------------------------------------------------
// Lane-wise pieces, written once and compiled into each ISA path.

// dst (hs,64) = rows (n,hs) transposed, lanes n…63 zero.
SWL_ALWAYS_INLINE void transpose_rows(float *dst, const float *rows, int n, int hs) {
    for (int d = 0; d < hs; d++) {
        float *lane = dst + (size_t)d * TILE;
        for (int r = 0; r < n; r++) lane[r] = rows[(size_t)r * hs + d];
        for (int r = n; r < TILE; r++) lane[r] = 0.0f;
    }
}

// Key c of the tile is visible to query lane r iff j0 + c ≤ i0 + r, i.e. c − r ≤ i0 − j0.
// Keys past T and query lanes past T need no extra test: their pairs are masked or discarded.
SWL_ALWAYS_INLINE int visible(int c, int r, int limit) { return c - r <= limit; }

// The dropout factor z of element `index` of the (BH,T,T) probabilities: keep_scale or 0.
SWL_ALWAYS_INLINE float dropout_factor(const flash_problem *p, size_t index) {
    const float keep_scale = p->keep_scale;
    return dropout_uniform(p->key, index) >= p->dropout ? keep_scale : 0.0f;
}

// The same for the 64 lanes first + lane·stride, into z[64]. When the lanes share the high word
// of their index (all but a few rows of lanes in 2^32 elements), the low words are plain 32-bit
// arithmetic, and the hash vectorizes on 32-bit lanes with no 64-bit index math.
SWL_ALWAYS_INLINE void dropout_factors(const flash_problem *p, float *z, size_t first, size_t stride) {
    const size_t last = first + (TILE - 1) * stride;
    if ((first >> 32) == (last >> 32)) {
        const uint32_t low = (uint32_t)first, step = (uint32_t)stride, high = (uint32_t)(first >> 32);
        // Locals, not p->…: read through p inside the select, clang gathers them lane by lane.
        const float dropout = p->dropout, keep_scale = p->keep_scale;
        const dropout_key key = p->key;
        for (int lane = 0; lane < TILE; lane++) {
            float u = dropout_uniform_words(key, low + (uint32_t)lane * step, high);
            z[lane] = u >= dropout ? keep_scale : 0.0f;
        }
    } else {
        for (int lane = 0; lane < TILE; lane++) z[lane] = dropout_factor(p, first + (size_t)lane * stride);
    }
}

// Index of (head, query i, key j) in the (BH,T,T) probabilities the mask is drawn over.
SWL_ALWAYS_INLINE size_t probability_index(const flash_problem *p, int head, int i, int j) {
    return ((size_t)head * (size_t)p->T + (size_t)i) * (size_t)p->T + (size_t)j;
}

// One key tile of the forward online softmax. st (nc,64) holds q·k per (key, query lane) and
// becomes the unnormalized probabilities; m, l are the running max and sum per lane; ot (hs,64)
// is rescaled by exp(m_old − m_new).
SWL_ALWAYS_INLINE void online_softmax_step(float *st, float *ot, float *m, float *l,
                                           float *alpha, float *tile_max, int nc, int hs,
                                           int limit, float scale) {
    for (int r = 0; r < TILE; r++) tile_max[r] = -INFINITY;
    for (int c = 0; c < nc; c++) {
        const float *row = st + (size_t)c * TILE;
        for (int r = 0; r < TILE; r++) {
            float s = visible(c, r, limit) ? scale * row[r] : -INFINITY;
            tile_max[r] = s > tile_max[r] ? s : tile_max[r];
        }
    }
    for (int r = 0; r < TILE; r++) {
        float m_new = m[r] > tile_max[r] ? m[r] : tile_max[r];
        // a lane with no visible key so far keeps m = −inf, l = 0 (never NaN)
        alpha[r] = m_new == -INFINITY ? 0.0f : swl_exp(m[r] - m_new);
        l[r] *= alpha[r];
        m[r] = m_new;
    }
    for (int c = 0; c < nc; c++) {
        float *row = st + (size_t)c * TILE;
        for (int r = 0; r < TILE; r++) {
            float p = visible(c, r, limit) ? swl_exp(scale * row[r] - m[r]) : 0.0f;
            row[r] = p;
            l[r] += p;
        }
    }
    for (int d = 0; d < hs; d++) {
        float *lane = ot + (size_t)d * TILE;
        for (int r = 0; r < TILE; r++) lane[r] *= alpha[r];
    }
}

// Pt (nc,64) ∘= z, lanes are the queries i0…i0+63 (lanes past T are discarded later).
SWL_ALWAYS_INLINE void drop_query_lanes(const flash_problem *p, float *st, float *z, int head, int i0,
                                        int j0, int nc) {
    for (int c = 0; c < nc; c++) {
        float *row = st + (size_t)c * TILE;
        dropout_factors(p, z, probability_index(p, head, i0, j0 + c), (size_t)p->T);
        for (int r = 0; r < TILE; r++) row[r] *= z[r];
    }
}

// One row of the dk/dv pass (query i0+r, keys j0…j0+63 in the lanes): P from the scores and lse,
// then s_row = z·P and dp_row = dS = P∘(z∘dP − D); z is NULL without dropout.
SWL_ALWAYS_INLINE void key_lanes_row(const flash_problem *p, float *s_row, float *dp_row, float lse_r,
                                     float delta_r, int r, int limit, const float *z) {
    const float scale = p->scale;  // a local: p->scale read under the select is gathered per lane
    for (int c = 0; c < TILE; c++) {
        float prob = visible(c, r, limit) ? swl_exp(scale * s_row[c] - lse_r) : 0.0f;
        float keep = z != NULL ? z[c] : 1.0f;
        s_row[c] = prob * keep;
        dp_row[c] = prob * (keep * dp_row[c] - delta_r);  // dS
    }
}

// One key row of the dq pass (key j0+c, queries i0…i0+63 in the lanes): dpt_row = dSᵀ.
SWL_ALWAYS_INLINE void query_lanes_row(const flash_problem *p, const float *s_row, float *dp_row,
                                       const float *lse, const float *delta, int c, int limit,
                                       const float *z) {
    const float scale = p->scale;
    for (int r = 0; r < TILE; r++) {
        float prob = visible(c, r, limit) ? swl_exp(scale * s_row[r] - lse[r]) : 0.0f;
        float keep = z != NULL ? z[r] : 1.0f;
        dp_row[r] = prob * (keep * dp_row[r] - delta[r]);  // dSt
    }
}

// ---------------------------------------------------------------------------------------------
// Tasks. Each writes a disjoint part of the outputs, summing in a fixed order.

// Forward for query tile `tile` of head `head`.
SWL_ALWAYS_INLINE void forward_task(const flash_problem *p, float *scratch, int head, int tile,
                                    tile_update_fn update) {
    const int T = p->T, hs = p->hs;
    float z[TILE] __attribute__((aligned(64)));  // dropout factors of one row of lanes
    const int i0 = tile * TILE, nr = SWL_MIN(TILE, T - i0);
    const size_t head_offset = (size_t)head * T * hs;
    const float *k = p->k + head_offset, *v = p->v + head_offset;
    float *qt = scratch, *ot = qt + (size_t)hs * TILE, *st = ot + (size_t)hs * TILE;
    float *m = st + TILE * TILE, *l = m + TILE, *alpha = l + TILE, *tile_max = alpha + TILE;

    transpose_rows(qt, p->q + head_offset + (size_t)i0 * hs, nr, hs);
    for (size_t x = 0; x < (size_t)hs * TILE; x++) ot[x] = 0.0f;
    for (int r = 0; r < TILE; r++) { m[r] = -INFINITY; l[r] = 0.0f; }

    for (int key_tile = 0; key_tile <= tile; key_tile++) {
        const int j0 = key_tile * TILE, nc = SWL_MIN(TILE, T - j0);
        update(st, k + (size_t)j0 * hs, (size_t)hs, 1, qt, nc, hs, 0);  // St = K·Qᵀ
        online_softmax_step(st, ot, m, l, alpha, tile_max, nc, hs, i0 - j0, p->scale);
        if (p->dropout > 0.0f) drop_query_lanes(p, st, z, head, i0, j0, nc);  // after l: it sums P
        update(ot, v + (size_t)j0 * hs, 1, (size_t)hs, st, hs, nc, 1);  // Ot += Vᵀ·Pt
    }

    float *out = p->out + head_offset + (size_t)i0 * hs;
    float *lse = p->lse + (size_t)head * T + i0;
    for (int r = 0; r < nr; r++) {
        const float inverse = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;  // no visible key: zeros
        lse[r] = l[r] > 0.0f ? m[r] + logf(l[r]) : -INFINITY;
        for (int d = 0; d < hs; d++) out[(size_t)r * hs + d] = ot[(size_t)d * TILE + r] * inverse;
    }
}

// dk and dv for key tile `tile` of head `head`; lanes are keys. With `dqt_head` (tiles × (hs,64),
// the whole head's dQᵀ) it also adds this key tile's dq terms there, transposing dS to dSᵀ: the
// same products, in the same order, as backward_q_task.
SWL_ALWAYS_INLINE void backward_kv_task(const flash_problem *p, float *scratch, int head, int tile,
                                        tile_update_fn update, float *dqt_head) {
    const int T = p->T, hs = p->hs;
    float z[TILE] __attribute__((aligned(64)));  // dropout factors of one row of lanes
    const int j0 = tile * TILE, nc = SWL_MIN(TILE, T - j0);
    const size_t head_offset = (size_t)head * T * hs;
    const size_t tile_floats = (size_t)hs * TILE;
    float *kt = scratch, *vt = kt + tile_floats, *dkt = vt + tile_floats, *dvt = dkt + tile_floats;
    float *s = dvt + tile_floats, *dp = s + TILE * TILE, *dst = dp + TILE * TILE;
    float *delta = dst + TILE * TILE;
    const float *k_tile = p->k + head_offset + (size_t)j0 * hs;

    transpose_rows(kt, p->k + head_offset + (size_t)j0 * hs, nc, hs);
    transpose_rows(vt, p->v + head_offset + (size_t)j0 * hs, nc, hs);
    for (size_t x = 0; x < tile_floats; x++) { dkt[x] = 0.0f; dvt[x] = 0.0f; }

    for (int query_tile = tile; query_tile < p->tiles; query_tile++) {
        const int i0 = query_tile * TILE, nr = SWL_MIN(TILE, T - i0), limit = i0 - j0;
        const size_t rows = head_offset + (size_t)i0 * hs;
        const float *q = p->q + rows, *dout = p->dout + rows, *out = p->saved_out + rows;
        const float *lse = p->saved_lse + (size_t)head * T + i0;
        for (int r = 0; r < nr; r++)
            delta[r] = swl_dot(dout + (size_t)r * hs, out + (size_t)r * hs, hs);
        update(s, q, (size_t)hs, 1, kt, nr, hs, 0);      // S = Q·Kᵀ
        update(dp, dout, (size_t)hs, 1, vt, nr, hs, 0);  // dP = dO·Vᵀ
        for (int r = 0; r < nr; r++) {
            float *s_row = s + (size_t)r * TILE, *dp_row = dp + (size_t)r * TILE;
            if (p->dropout > 0.0f) {
                dropout_factors(p, z, probability_index(p, head, i0 + r, j0), 1);
                key_lanes_row(p, s_row, dp_row, lse[r], delta[r], r, limit, z);
            } else {
                key_lanes_row(p, s_row, dp_row, lse[r], delta[r], r, limit, NULL);
            }
        }
        update(dvt, dout, 1, (size_t)hs, s, hs, nr, 1);  // dVᵀ += dOᵀ·(z∘P)
        update(dkt, q, 1, (size_t)hs, dp, hs, nr, 1);    // dKᵀ += Qᵀ·dS
        if (dqt_head != NULL) {
            for (int c = 0; c < nc; c++)
                for (int r = 0; r < TILE; r++) dst[c * TILE + r] = r < nr ? dp[r * TILE + c] : 0.0f;
            update(dqt_head + (size_t)query_tile * tile_floats, k_tile, 1, (size_t)hs, dst, hs, nc, 1);
        }
    }

    float *dk = p->dk + head_offset + (size_t)j0 * hs, *dv = p->dv + head_offset + (size_t)j0 * hs;
    for (int c = 0; c < nc; c++)
        for (int d = 0; d < hs; d++) {
            dk[(size_t)c * hs + d] += p->scale * dkt[(size_t)d * TILE + c];
            dv[(size_t)c * hs + d] += dvt[(size_t)d * TILE + c];
        }
}

// All of dq, dk, dv for head `head` (FlashAttention-2 order: key tiles outer, query tiles inner).
SWL_ALWAYS_INLINE void backward_head_task(const flash_problem *p, float *scratch, int head,
                                          int unused, tile_update_fn update) {
    (void)unused;
    const int T = p->T, hs = p->hs;
    const size_t tile_floats = (size_t)hs * TILE;
    float *dqt_head = scratch + backward_scratch_floats(hs);
    for (size_t x = 0; x < (size_t)p->tiles * tile_floats; x++) dqt_head[x] = 0.0f;
    for (int tile = 0; tile < p->tiles; tile++)
        backward_kv_task(p, scratch, head, tile, update, dqt_head);
    float *dq = p->dq + (size_t)head * T * hs;
    for (int tile = 0; tile < p->tiles; tile++) {
        const int i0 = tile * TILE, nr = SWL_MIN(TILE, T - i0);
        const float *dqt = dqt_head + (size_t)tile * tile_floats;
        for (int r = 0; r < nr; r++)
            for (int d = 0; d < hs; d++)
                dq[(size_t)(i0 + r) * hs + d] += p->scale * dqt[(size_t)d * TILE + r];
    }
}

// dq for query tile `tile` of head `head`; lanes are queries.
SWL_ALWAYS_INLINE void backward_q_task(const flash_problem *p, float *scratch, int head, int tile,
                                       tile_update_fn update) {
    const int T = p->T, hs = p->hs;
    float z[TILE] __attribute__((aligned(64)));  // dropout factors of one row of lanes
    const int i0 = tile * TILE, nr = SWL_MIN(TILE, T - i0);
    const size_t head_offset = (size_t)head * T * hs, rows = head_offset + (size_t)i0 * hs;
    const size_t tile_floats = (size_t)hs * TILE;
    float *qt = scratch, *dot = qt + tile_floats, *dqt = dot + tile_floats;
    float *st = dqt + tile_floats, *dpt = st + TILE * TILE, *delta = dpt + TILE * TILE;
    float *lse = delta + TILE;
    const float *k = p->k + head_offset, *v = p->v + head_offset;
    const float *dout = p->dout + rows, *out = p->saved_out + rows;

    transpose_rows(qt, p->q + rows, nr, hs);
    transpose_rows(dot, dout, nr, hs);
    for (size_t x = 0; x < tile_floats; x++) dqt[x] = 0.0f;
    for (int r = 0; r < TILE; r++) {  // lanes past T: zeros, discarded at the end
        delta[r] = r < nr ? swl_dot(dout + (size_t)r * hs, out + (size_t)r * hs, hs) : 0.0f;
        lse[r] = r < nr ? p->saved_lse[(size_t)head * T + i0 + r] : 0.0f;
    }

    for (int key_tile = 0; key_tile <= tile; key_tile++) {
        const int j0 = key_tile * TILE, nc = SWL_MIN(TILE, T - j0), limit = i0 - j0;
        update(st, k + (size_t)j0 * hs, (size_t)hs, 1, qt, nc, hs, 0);   // St = K·Qᵀ
        update(dpt, v + (size_t)j0 * hs, (size_t)hs, 1, dot, nc, hs, 0); // dPt = V·dOᵀ
        for (int c = 0; c < nc; c++) {
            const float *s_row = st + (size_t)c * TILE;
            float *dp_row = dpt + (size_t)c * TILE;
            if (p->dropout > 0.0f) {
                dropout_factors(p, z, probability_index(p, head, i0, j0 + c), (size_t)T);
                query_lanes_row(p, s_row, dp_row, lse, delta, c, limit, z);
            } else {
                query_lanes_row(p, s_row, dp_row, lse, delta, c, limit, NULL);
            }
        }
        update(dqt, k + (size_t)j0 * hs, 1, (size_t)hs, dpt, hs, nc, 1);  // dQᵀ += Kᵀ·dSᵀ
    }

    float *dq = p->dq + rows;
    for (int r = 0; r < nr; r++)
        for (int d = 0; d < hs; d++) dq[(size_t)r * hs + d] += p->scale * dqt[(size_t)d * TILE + r];
}

// ---------------------------------------------------------------------------------------------
// Per-ISA instances and the parallel drivers.

typedef void (*task_fn)(const flash_problem *p, float *scratch, int head, int tile);

#define FLASH_PATH(suffix, target)                                                              \
    target static void forward_task_##suffix(const flash_problem *p, float *s, int h, int t) {   \
        forward_task(p, s, h, t, tile_update_##suffix);                                         \
    }                                                                                           \
    target static void backward_kv_task_##suffix(const flash_problem *p, float *s, int h,       \
                                                 int t) {                                       \
        backward_kv_task(p, s, h, t, tile_update_##suffix, NULL);                               \
    }                                                                                           \
    target static void backward_head_task_##suffix(const flash_problem *p, float *s, int h,     \
                                                   int t) {                                     \
        backward_head_task(p, s, h, t, tile_update_##suffix);                                   \
    }                                                                                           \
    target static void backward_q_task_##suffix(const flash_problem *p, float *s, int h, int t) {\
        backward_q_task(p, s, h, t, tile_update_##suffix);                                      \
    }

FLASH_PATH(portable, )
#if SWL_HAS_X86
FLASH_PATH(avx2, SWL_TARGET_AVX2)
FLASH_PATH(avx512, SWL_TARGET_AVX512)
#endif

typedef struct { task_fn forward, backward_kv, backward_q, backward_head; } flash_path;

static flash_path active_path(void) {
    switch (swl_isa_active()) {
#if SWL_HAS_X86
    case SWL_ISA_AVX512: return (flash_path){forward_task_avx512, backward_kv_task_avx512, backward_q_task_avx512, backward_head_task_avx512};
    case SWL_ISA_AVX2: return (flash_path){forward_task_avx2, backward_kv_task_avx2, backward_q_task_avx2, backward_head_task_avx2};
#endif
    default: return (flash_path){forward_task_portable, backward_kv_task_portable, backward_q_task_portable, backward_head_task_portable};
    }
}

static float *allocate_scratch(size_t floats) {
    float *scratch = aligned_alloc(64, floats * sizeof(float));
    if (scratch == NULL) {
        fprintf(stderr, "swiftlet: flash attention could not allocate %zu bytes of scratch\n",
                floats * sizeof(float));
        abort();
    }
    return scratch;
}

// One pass of tasks: `per_head` tasks for each head, task t of a head given tile t, or tile
// per_head−1−t when `heavy_last` (so the costliest tasks start first).
typedef struct { task_fn run; int per_head, heavy_last; } flash_pass;

// Runs `first` then `second` (if any) over all heads with one scratch block of `floats` per
// thread. Scheduling is dynamic, which is safe: a task's result does not depend on which thread
// runs it, and the two passes write different outputs (so no barrier between them).
static void run_passes(const flash_problem *p, size_t floats, flash_pass first, flash_pass second) {
    floats = (floats + 15) / 16 * 16;  // whole 64-byte lines per thread
    float *scratch = allocate_scratch(floats * (size_t)omp_get_max_threads());
    const flash_pass passes[2] = {first, second};
#ifdef _OPENMP
#pragma omp parallel
#endif
    {
        float *mine = scratch + floats * (size_t)omp_get_thread_num();
        for (int pass = 0; pass < 2; pass++) {
            const flash_pass now = passes[pass];
            if (now.run == NULL) continue;
            const int tasks = p->BH * now.per_head;
#ifdef _OPENMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
            for (int task = 0; task < tasks; task++) {
                const int rank = task / p->BH;
                now.run(p, mine, task % p->BH, now.heavy_last ? now.per_head - 1 - rank : rank);
            }
        }
    }
    free(scratch);
}

void swl_attention_flash_forward(float *out, float *lse, const float *q, const float *k,
                                 const float *v, int B, int H, int T, int hs) {
    swl_attention_flash_forward_dropout(out, lse, q, k, v, B, H, T, hs, 0.0f, 0);
}

void swl_attention_flash_forward_dropout(float *out, float *lse, const float *q, const float *k,
                                         const float *v, int B, int H, int T, int hs,
                                         float dropout, uint64_t seed) {
    flash_problem p = {
        .out = out, .lse = lse, .q = q, .k = k, .v = v,
        .BH = B * H, .T = T, .hs = hs, .tiles = (T + TILE - 1) / TILE,
        .scale = 1.0f / sqrtf((float)hs),
        .dropout = dropout, .keep_scale = dropout_keep_scale(dropout), .key = dropout_key_of(seed),
    };
    flash_pass queries = {active_path().forward, p.tiles, 1};
    run_passes(&p, forward_scratch_floats(hs), queries, (flash_pass){NULL, 0, 0});
}

void swl_attention_dropout_factors(float *z, size_t first, size_t stride, float dropout, uint64_t seed) {
    flash_problem p = {.dropout = dropout, .keep_scale = dropout_keep_scale(dropout), .key = dropout_key_of(seed)};
    dropout_factors(&p, z, first, stride);
}

// Whole-head tasks do 5 tile products per (query, key) tile pair, the two split passes 7, but
// whole heads balance only when there are enough of them for the threads.
static int use_whole_heads(int heads, int threads) {
    const long long per_thread = (heads + threads - 1) / threads;
    return 5 * (long long)threads * per_thread <= 7 * (long long)heads;
}

void swl_attention_flash_backward(float *dq, float *dk, float *dv, const float *dout,
                                  const float *q, const float *k, const float *v,
                                  const float *out, const float *lse, int B, int H, int T, int hs) {
    swl_attention_flash_backward_dropout(dq, dk, dv, dout, q, k, v, out, lse, B, H, T, hs, 0.0f, 0);
}

void swl_attention_flash_backward_dropout(float *dq, float *dk, float *dv, const float *dout,
                                          const float *q, const float *k, const float *v,
                                          const float *out, const float *lse, int B, int H, int T,
                                          int hs, float dropout, uint64_t seed) {
    flash_problem p = {
        .dq = dq, .dk = dk, .dv = dv, .q = q, .k = k, .v = v, .dout = dout,
        .saved_out = out, .saved_lse = lse,
        .BH = B * H, .T = T, .hs = hs, .tiles = (T + TILE - 1) / TILE,
        .scale = 1.0f / sqrtf((float)hs),
        .dropout = dropout, .keep_scale = dropout_keep_scale(dropout), .key = dropout_key_of(seed),
    };
    flash_path path = active_path();
    // Both decompositions sum every gradient element in the same order with the same products,
    // so they give identical bits and the choice may follow the thread count.
    if (use_whole_heads(p.BH, omp_get_max_threads())) {
        flash_pass heads = {path.backward_head, 1, 0};
        run_passes(&p, backward_scratch_floats(hs) + (size_t)p.tiles * hs * TILE, heads,
                   (flash_pass){NULL, 0, 0});
    } else {
        // dk/dv: key tile 0 sees every query tile, so it is heaviest; dq: the last query tile is.
        flash_pass keys = {path.backward_kv, p.tiles, 0}, queries = {path.backward_q, p.tiles, 1};
        run_passes(&p, backward_scratch_floats(hs), keys, queries);
    }
}
