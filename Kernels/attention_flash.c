// Flash attention (causal): tiles of 64 queries × 64 keys, an online softmax, and only the
// per-row logsumexp saved for backward. q, k, v, out, dq, dk, dv, dout are (B,H,T,hs);
// lse is (B,H,T) and holds log Σ_{j≤i} exp(scale·q_i·k_j).
//
// Layout. Every tile product is one shape (attention_tiles.h), a rank update of a 64-wide tile:
//     C[m, 0:64] (=|+=) Σ_k A(m,k) · Bt[k, 0:64]
// where A(m,k) = A[m·sm + k·sk] is broadcast and Bt is a contiguous (K,64) tile. The 64 lanes are
// the queries of a query tile (forward, dq pass) or the keys of a key tile (dk/dv pass), so the
// online softmax is plain lane-wise vector code and any head size works without tails (and, for
// the whole-head dQ with hs = 64, the head's dims).
//
// Forward, one task per (b,h, group of query tiles), key tiles 0…diagonal (tiles above it are
// skipped), each key tile used by every query tile of the group it is visible to:
//     St = K·Qᵀ (keys × queries), m/l running max/sum per query lane, Pt = exp(scale·St − m),
//     Ot = Ot·exp(m_old − m_new) + Vᵀ·Pt, out = Otᵀ / l, lse = m + log l.
// Backward (FlashAttention-2 with the probabilities recomputed from lse), in two passes so that
// every gradient element is summed by one task in a fixed order, whatever the thread count:
//     dk/dv pass, one task per (b,h, group of key tiles), query tiles diagonal…last:
//         P = exp(scale·Q·Kᵀ − lse), dP = dO·Vᵀ, dS = P∘(dP − D), dVᵀ += dOᵀ·P, dKᵀ += Qᵀ·dS
//     dq pass, one task per (b,h,query tile), key tiles 0…diagonal:
//         the same P and dS transposed, dQᵀ += Kᵀ·dSᵀ
//     with D_i = Σ_d dout[i,d]·out[i,d]; dq and dk get the factor scale at the end.
//     When there are enough heads to keep every thread busy, one task per (b,h) runs the dk/dv
//     loop and adds each tile's Kᵀ·dSᵀ into a per-head dQᵀ as it goes (5 tile products per tile
//     pair instead of 7); with hs = 64 it adds dS·K into a per-head dQ instead, the head's dims in
//     the lanes and no transpose. It sums the same products in the same order: identical bits.
// Dropout on the probabilities (nanoGPT's attn_dropout), when asked for: z_ij = 1/(1−p) or 0, drawn
// from (seed, ((b·H+h)·T + i)·T + j) exactly as swl_dropout_forward draws it over the (B,H,T,T)
// probabilities, so flash and the materialized path drop the same entries. The forward sums
// l over the undropped probabilities and multiplies Pt by z before Vᵀ·Pt; the backward uses z·P
// for dV and dS = P∘(z∘dP − D). D_i = dout_i·out_i still holds, since out already has z in it.
// Grouping tiles changes who reads a K, V, Q or dO tile, never how a sum runs: every query tile
// and every key tile is summed over the other side's tiles in the same order as alone.
// Scratch is one block per thread, allocated once per call: O(group·64·hs + 64²) floats, plus
// the per-head dQᵀ (or dQ with hs = 64: tiles·64·hs floats) and D (tiles·64 floats) in whole-head
// mode.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "attention_simd.h"
#include "attention_tiles.h"
#include "dropout_hash.h"
#include "internal.h"

typedef struct {
    float *out, *lse, *dq, *dk, *dv;                              // outputs
    const float *q, *k, *v, *dout, *saved_out, *saved_lse;        // inputs
    int BH, T, hs, tiles;
    int forward_group;  // query tiles per forward task
    float scale;
    float dropout, keep_scale;  // dropout probability (0: none) and 1/(1−dropout)
    dropout_key key;
} flash_problem;

// Query tiles per forward task (forward_group), and key tiles per dk/dv task: a group shares
// every tile of the other side that it reads (see forward_task). On an Intel Xeon (model 207, 1
// thread, T=4096) forward groups of 4 and 8 took 220–226 and 208–214 ms against 250–252 alone;
// dk/dv groups of 4 and 8 measured the same.
enum { MAX_FORWARD_GROUP = 8, BACKWARD_GROUP = 4 };

// Scratch per thread, in floats; every piece is a whole number of 64-byte lines.
static size_t forward_tile_floats(int hs) {
    return 2 * (size_t)hs * TILE + TILE * TILE + 4 * TILE;  // Qᵀ, Oᵀ, Sᵀ, m, l, alpha, max
}
static size_t backward_scratch_floats(int hs) {
    // dk/dv pass: Kᵀ, Vᵀ, dKᵀ, dVᵀ per key tile, then S, dP, dSᵀ and delta; the dq pass needs less
    // (Qᵀ, dOᵀ, dQᵀ, Sᵀ, dPᵀ, delta and lse: the 2·TILE)
    return BACKWARD_GROUP * 4 * (size_t)hs * TILE + 3 * TILE * TILE + 2 * TILE;
}

// The largest forward group (up to MAX_FORWARD_GROUP) that still leaves every thread 4 tasks to
// balance. It decides who computes a query tile, never how: the bits do not depend on it.
static int forward_group(int heads, int tiles, int threads) {
    int group = MAX_FORWARD_GROUP;
    while (group > 1 && (long long)heads * ((tiles + group - 1) / group) < 4LL * threads) group /= 2;
    return group;
}

// ---------------------------------------------------------------------------------------------
// Lane-wise pieces, written once and compiled into each ISA path.

// Key c of the tile is visible to query lane r iff j0 + c ≤ i0 + r, i.e. c − r ≤ i0 − j0.
// Keys past T and query lanes past T need no extra test: their pairs are masked or discarded.
SWL_ALWAYS_INLINE int visible(int c, int r, int limit) { return c - r <= limit; }

// Whether every key of a key tile is visible to every lane of a query tile at offset
// limit = i0 − j0 (the key tile lies below the diagonal): then the lane-wise steps below skip
// visible(). Each step has a body taking `masked` and a dispatcher that picks it, so the compiler
// makes one copy with the test and one without.
SWL_ALWAYS_INLINE int below_diagonal(int limit) { return limit >= TILE - 1; }

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
// becomes the unnormalized probabilities; m, l are the running max and sum per lane; alpha gets
// exp(m_old − m_new), by which the caller's Ot update rescales Oᵀ. With `masked` 0 every key of
// the tile is visible to every lane (a tile below the diagonal), no lane is tested, and tile_max
// holds each lane's largest q·k already (the St product found it); with `masked` it is scratch.
// The tile max is then scale·max(q·k), the same value as max(scale·q·k) since rounding is
// monotonic (up to the sign of a zero, which m only meets in subtractions: it cannot reach the
// outputs).
SWL_ALWAYS_INLINE void online_softmax_body(float *st, float *m, float *l, float *alpha, float *tile_max,
                                           int nc, int limit, float scale, int masked) {
    if (masked) {
        for (int r = 0; r < TILE; r++) tile_max[r] = -INFINITY;
        for (int c = 0; c < nc; c++) {
            const float *row = st + (size_t)c * TILE;
            for (int r = 0; r < TILE; r++) {
                float s = visible(c, r, limit) ? row[r] : -INFINITY;
                tile_max[r] = s > tile_max[r] ? s : tile_max[r];
            }
        }
    }
    for (int r = 0; r < TILE; r++) tile_max[r] *= scale;
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
            float p = !masked || visible(c, r, limit) ? swl_exp(scale * row[r] - m[r]) : 0.0f;
            row[r] = p;
            l[r] += p;
        }
    }
}

// The step for a key tile at offset limit = i0 − j0 from the query tile. Below the diagonal
// (limit ≥ 63) the lanes go untested; that, and folding the rescaling of Oᵀ into the Ot update
// instead of a pass of its own, cut this step from 4,800–4,940 to 3,100–3,490 TSC cycles a tile
// and the 1-thread forward at T=4096 from 249–273 to 225–248 ms (Intel Xeon, model 207; rdtsc).
SWL_ALWAYS_INLINE void online_softmax_step(float *st, float *m, float *l, float *alpha, float *tile_max,
                                           int nc, int limit, float scale) {
    if (below_diagonal(limit)) online_softmax_body(st, m, l, alpha, tile_max, nc, limit, scale, 0);
    else online_softmax_body(st, m, l, alpha, tile_max, nc, limit, scale, 1);
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
// then s_row = z·P and dp_row = dS = P∘(z∘dP − D); z is NULL without dropout. With `masked` 0
// every key is visible (a key tile below the query tile's diagonal) and no lane is tested.
SWL_ALWAYS_INLINE void key_lanes_body(const flash_problem *p, float *s_row, float *dp_row, float lse_r,
                                      float delta_r, int r, int limit, const float *z, int masked) {
    const float scale = p->scale;  // a local: p->scale read under the select is gathered per lane
    for (int c = 0; c < TILE; c++) {
        float prob = !masked || visible(c, r, limit) ? swl_exp(scale * s_row[c] - lse_r) : 0.0f;
        float keep = z != NULL ? z[c] : 1.0f;
        s_row[c] = prob * keep;
        dp_row[c] = prob * (keep * dp_row[c] - delta_r);  // dS
    }
}

SWL_ALWAYS_INLINE void key_lanes_row(const flash_problem *p, float *s_row, float *dp_row, float lse_r,
                                     float delta_r, int r, int limit, const float *z) {
    if (below_diagonal(limit)) key_lanes_body(p, s_row, dp_row, lse_r, delta_r, r, limit, z, 0);
    else key_lanes_body(p, s_row, dp_row, lse_r, delta_r, r, limit, z, 1);
}

// One key row of the dq pass (key j0+c, queries i0…i0+63 in the lanes): dpt_row = dSᵀ. `masked`
// as in key_lanes_body.
SWL_ALWAYS_INLINE void query_lanes_body(const flash_problem *p, const float *s_row, float *dp_row,
                                        const float *lse, const float *delta, int c, int limit,
                                        const float *z, int masked) {
    const float scale = p->scale;
    for (int r = 0; r < TILE; r++) {
        float prob = !masked || visible(c, r, limit) ? swl_exp(scale * s_row[r] - lse[r]) : 0.0f;
        float keep = z != NULL ? z[r] : 1.0f;
        dp_row[r] = prob * (keep * dp_row[r] - delta[r]);  // dSt
    }
}

SWL_ALWAYS_INLINE void query_lanes_row(const flash_problem *p, const float *s_row, float *dp_row,
                                       const float *lse, const float *delta, int c, int limit,
                                       const float *z) {
    if (below_diagonal(limit)) query_lanes_body(p, s_row, dp_row, lse, delta, c, limit, z, 0);
    else query_lanes_body(p, s_row, dp_row, lse, delta, c, limit, z, 1);
}

// ---------------------------------------------------------------------------------------------
// The lane-wise steps of each ISA path. The portable and AVX2 paths compile the C above; the
// AVX-512 path writes the tiles below the diagonal in intrinsics, where swl_exp's share of the
// work is largest: on an Intel Xeon (model 207, T=4096, a standalone driver, alternated runs) the
// forward took 197–207 instead of 210–211 ms on 1 thread and 98–99 instead of 104 ms on 2.

#if SWL_HAS_X86
// swl_exp on 16 lanes: the same bits as the compiler's AVX-512 code for swl_exp (the same FMAs in
// the same order), but 2^n is applied by one vscalefps whose mask zeroes the lanes under −87,
// where the compiled C builds 2^n in integer lanes, multiplies, and blends twice.
SWL_TARGET_AVX512 static inline __m512 exp16_avx512(__m512 x) {
    const __mmask16 in_range = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_NLT_UQ);  // NaN stays
    const __m512 clamped = _mm512_min_ps(_mm512_set1_ps(88.0f), x);  // lanes under −87 are discarded
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    const __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(clamped, _mm512_set1_ps(SWL_LOG2E), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SWL_EXP_LN2_HIGH), clamped);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(SWL_EXP_LN2_LOW), r);
    __m512 poly = _mm512_set1_ps(SWL_EXP_P0);
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(SWL_EXP_P1));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(SWL_EXP_P2));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(SWL_EXP_P3));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(SWL_EXP_P4));
    poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(SWL_EXP_P5));
    const __m512 er = _mm512_add_ps(_mm512_fmadd_ps(poly, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps(in_range, er, n);
}

// online_softmax_step for AVX-512: tiles below the diagonal in intrinsics (exp16_avx512), the
// diagonal tiles through the compiled C. The same bits either way.
SWL_TARGET_AVX512 static void online_softmax_avx512(float *st, float *m, float *l, float *alpha,
                                                    float *tile_max, int nc, int limit, float scale) {
    if (!below_diagonal(limit)) {
        online_softmax_body(st, m, l, alpha, tile_max, nc, limit, scale, 1);
        return;
    }
    const __m512 scales = _mm512_set1_ps(scale), minus_infinity = _mm512_set1_ps(-INFINITY);
    __m512 m_new[4], sum[4];
    for (int x = 0; x < 4; x++) {
        const __m512 m_old = _mm512_loadu_ps(m + 16 * x);
        m_new[x] = _mm512_max_ps(m_old, _mm512_mul_ps(scales, _mm512_loadu_ps(tile_max + 16 * x)));
        const __mmask16 seen = _mm512_cmp_ps_mask(m_new[x], minus_infinity, _CMP_NEQ_UQ);
        const __m512 a = _mm512_maskz_mov_ps(seen, exp16_avx512(_mm512_sub_ps(m_old, m_new[x])));
        _mm512_storeu_ps(alpha + 16 * x, a);
        sum[x] = _mm512_mul_ps(_mm512_loadu_ps(l + 16 * x), a);
        _mm512_storeu_ps(m + 16 * x, m_new[x]);
    }
    for (int c = 0; c < nc; c++) {
        float *row = st + (size_t)c * TILE;
        for (int x = 0; x < 4; x++) {
            const __m512 p = exp16_avx512(_mm512_fmsub_ps(scales, _mm512_loadu_ps(row + 16 * x), m_new[x]));
            _mm512_storeu_ps(row + 16 * x, p);
            sum[x] = _mm512_add_ps(sum[x], p);
        }
    }
    for (int x = 0; x < 4; x++) _mm512_storeu_ps(l + 16 * x, sum[x]);
}

// key_lanes_row for AVX-512: rows of tiles below the diagonal in intrinsics with exp16_avx512, the
// same operations as the compiled C (keep·dP − D as one FMA); rows of diagonal tiles through the C.
SWL_TARGET_AVX512 static void key_lanes_avx512(const flash_problem *p, float *s_row, float *dp_row,
                                               float lse_r, float delta_r, int r, int limit, const float *z) {
    if (!below_diagonal(limit)) {
        key_lanes_body(p, s_row, dp_row, lse_r, delta_r, r, limit, z, 1);
        return;
    }
    const __m512 scales = _mm512_set1_ps(p->scale), lse = _mm512_set1_ps(lse_r);
    const __m512 delta = _mm512_set1_ps(delta_r);
    for (int x = 0; x < TILE; x += 16) {
        const __m512 prob = exp16_avx512(_mm512_fmsub_ps(scales, _mm512_loadu_ps(s_row + x), lse));
        const __m512 keep = z != NULL ? _mm512_loadu_ps(z + x) : _mm512_set1_ps(1.0f);
        _mm512_storeu_ps(s_row + x, _mm512_mul_ps(prob, keep));
        const __m512 ds = _mm512_mul_ps(prob, _mm512_fmsub_ps(keep, _mm512_loadu_ps(dp_row + x), delta));
        _mm512_storeu_ps(dp_row + x, ds);
    }
}
#endif

#define LANE_STEPS(suffix, target)                                                                  \
    target static void online_softmax_##suffix(float *st, float *m, float *l, float *alpha,         \
                                               float *tile_max, int nc, int limit, float scale) {   \
        online_softmax_step(st, m, l, alpha, tile_max, nc, limit, scale);                            \
    }                                                                                               \
    target static void key_lanes_##suffix(const flash_problem *p, float *s_row, float *dp_row,      \
                                          float lse_r, float delta_r, int r, int limit,             \
                                          const float *z) {                                         \
        key_lanes_row(p, s_row, dp_row, lse_r, delta_r, r, limit, z);                               \
    }

LANE_STEPS(portable, )
#if SWL_HAS_X86
LANE_STEPS(avx2, SWL_TARGET_AVX2)
#endif

// One ISA path's tile products and lane-wise steps. The tasks below take it by value and are
// inlined into one function per path (FLASH_PATH), so each of these calls is a direct call.
typedef struct {
    tile_update_fn update;
    tile_transpose_fn transpose;
    void (*online_softmax)(float *st, float *m, float *l, float *alpha, float *tile_max, int nc, int limit,
                           float scale);
    void (*key_lanes)(const flash_problem *p, float *s_row, float *dp_row, float lse_r, float delta_r, int r,
                      int limit, const float *z);
} tile_kernels;

// ---------------------------------------------------------------------------------------------
// Tasks. Each writes a disjoint part of the outputs, summing in a fixed order.

// One query tile's running state in the forward: Qᵀ, Oᵀ, the scores Sᵀ of the current key tile,
// and the per-lane max, sum, rescale factor and tile max of the online softmax.
typedef struct {
    float *qt, *ot, *st, *m, *l, *alpha, *tile_max;
    int i0, nr;
} query_tile_state;

static query_tile_state query_tile_state_in(float *scratch, int hs, int i0, int T) {
    query_tile_state q = {.qt = scratch, .i0 = i0, .nr = SWL_MIN(TILE, T - i0)};
    q.ot = q.qt + (size_t)hs * TILE;
    q.st = q.ot + (size_t)hs * TILE;
    q.m = q.st + TILE * TILE;
    q.l = q.m + TILE;
    q.alpha = q.l + TILE;
    q.tile_max = q.alpha + TILE;
    return q;
}

// Forward for the `count` query tiles from `first` on of head `head` (at most MAX_FORWARD_GROUP,
// each with its own scratch). Every key tile is read from memory once for the whole group, then
// used by each query tile it is visible to: the K and V tiles come from L3, and reading them once
// per query tile left the tile products waiting on them. Each query tile is summed over its key
// tiles in order, exactly as alone.
SWL_ALWAYS_INLINE void forward_task(const flash_problem *p, float *scratch, int head, int first,
                                    int count, tile_kernels kernels) {
    const int T = p->T, hs = p->hs;
    float z[TILE] __attribute__((aligned(64)));  // dropout factors of one row of lanes
    const size_t head_offset = (size_t)head * T * hs;
    const float *k = p->k + head_offset, *v = p->v + head_offset;
    query_tile_state group[MAX_FORWARD_GROUP];
    for (int g = 0; g < count; g++) {
        query_tile_state *tile = &group[g];
        *tile = query_tile_state_in(scratch + (size_t)g * forward_tile_floats(hs), hs, (first + g) * TILE, T);
        kernels.transpose(tile->qt, p->q + head_offset + (size_t)tile->i0 * hs, (size_t)hs, tile->nr, hs);
        for (size_t x = 0; x < (size_t)hs * TILE; x++) tile->ot[x] = 0.0f;
        for (int r = 0; r < TILE; r++) { tile->m[r] = -INFINITY; tile->l[r] = 0.0f; }
    }

    for (int key_tile = 0; key_tile < first + count; key_tile++) {
        const int j0 = key_tile * TILE, nc = SWL_MIN(TILE, T - j0);
        // the query tiles this key tile is visible to: first + g ≥ key_tile
        for (int g = SWL_MAX(0, key_tile - first); g < count; g++) {
            query_tile_state *tile = &group[g];
            const int limit = tile->i0 - j0;
            // St = K·Qᵀ; below the diagonal the product also finds each lane's largest score, which
            // the softmax step takes as given exactly there (the same below_diagonal test)
            float *tile_max = below_diagonal(limit) ? tile->tile_max : NULL;
            kernels.update(tile->st, k + (size_t)j0 * hs, (size_t)hs, 1, tile->qt, nc, hs, 0, NULL, tile_max);
            kernels.online_softmax(tile->st, tile->m, tile->l, tile->alpha, tile->tile_max, nc, limit,
                                   p->scale);
            // after l, which sums the undropped P
            if (p->dropout > 0.0f) drop_query_lanes(p, tile->st, z, head, tile->i0, j0, nc);
            // Ot = Ot∘alpha + Vᵀ·Pt
            kernels.update(tile->ot, v + (size_t)j0 * hs, 1, (size_t)hs, tile->st, hs, nc, 1, tile->alpha,
                           NULL);
        }
    }

    for (int g = 0; g < count; g++) {
        const query_tile_state *tile = &group[g];
        float *out = p->out + head_offset + (size_t)tile->i0 * hs;
        float *lse = p->lse + (size_t)head * T + tile->i0;
        for (int r = 0; r < tile->nr; r++) {
            const float inverse = tile->l[r] > 0.0f ? 1.0f / tile->l[r] : 0.0f;  // no visible key: zeros
            lse[r] = tile->l[r] > 0.0f ? tile->m[r] + logf(tile->l[r]) : -INFINITY;
            for (int d = 0; d < hs; d++) out[(size_t)r * hs + d] = tile->ot[(size_t)d * TILE + r] * inverse;
        }
    }
}

// Whether the whole-head backward keeps the head's dQ with its dims in the lanes (hs = 64: the
// rows of K are then a tile product's Bt as they lie) rather than dQᵀ with the queries in them.
// Either way each element sums the same products in the same order.
SWL_ALWAYS_INLINE int dq_in_rows(int hs) { return hs == TILE; }

// D_i = Σ_d dout[i,d]·out[i,d] for n rows of (n,hs).
SWL_ALWAYS_INLINE void row_deltas(float *delta, const float *dout, const float *out, int n, int hs) {
    for (int r = 0; r < n; r++) delta[r] = swl_dot(dout + (size_t)r * hs, out + (size_t)r * hs, hs);
}

// One key tile's state in the dk/dv pass: Kᵀ, Vᵀ and the dKᵀ, dVᵀ sums.
typedef struct {
    float *kt, *vt, *dkt, *dvt;
    int j0, nc;
} key_tile_state;

// dk and dv for the `count` key tiles from `first` on of head `head` (at most BACKWARD_GROUP);
// lanes are keys. Each query tile's q, dout, out and lse are read once for the whole group, then
// used by every key tile visible to it (see forward_task). `head_delta`, when given, holds D_i for
// the head's T rows; without it each query tile's D is computed here from dout and out. With
// `dq_head` (the whole head's dQᵀ: tiles × (hs,64); with hs = 64 its dQ instead, (T,64) rounded up
// to whole tiles) it also adds these key tiles' dq terms there: the same products, in the same
// order (key tiles ascending for every query tile), as backward_q_task.
SWL_ALWAYS_INLINE void backward_kv_task(const flash_problem *p, float *scratch, int head, int first,
                                        int count, tile_kernels kernels, const float *head_delta,
                                        float *dq_head) {
    const int T = p->T, hs = p->hs;
    float z[TILE] __attribute__((aligned(64)));  // dropout factors of one row of lanes
    const size_t head_offset = (size_t)head * T * hs;
    const size_t tile_floats = (size_t)hs * TILE;
    key_tile_state group[BACKWARD_GROUP];
    for (int g = 0; g < count; g++) {
        key_tile_state *key = &group[g];
        key->kt = scratch + (size_t)g * 4 * tile_floats;
        key->vt = key->kt + tile_floats;
        key->dkt = key->vt + tile_floats;
        key->dvt = key->dkt + tile_floats;
        key->j0 = (first + g) * TILE;
        key->nc = SWL_MIN(TILE, T - key->j0);
        kernels.transpose(key->kt, p->k + head_offset + (size_t)key->j0 * hs, (size_t)hs, key->nc, hs);
        kernels.transpose(key->vt, p->v + head_offset + (size_t)key->j0 * hs, (size_t)hs, key->nc, hs);
        for (size_t x = 0; x < tile_floats; x++) { key->dkt[x] = 0.0f; key->dvt[x] = 0.0f; }
    }
    float *s = scratch + (size_t)BACKWARD_GROUP * 4 * tile_floats, *dp = s + TILE * TILE;
    float *ds_t = dp + TILE * TILE, *tile_delta = ds_t + TILE * TILE;  // ds_t: dS transposed

    for (int query_tile = first; query_tile < p->tiles; query_tile++) {
        const int i0 = query_tile * TILE, nr = SWL_MIN(TILE, T - i0);
        const size_t rows = head_offset + (size_t)i0 * hs;
        const float *q = p->q + rows, *dout = p->dout + rows, *out = p->saved_out + rows;
        const float *lse = p->saved_lse + (size_t)head * T + i0;
        const float *delta = tile_delta;
        if (head_delta != NULL) delta = head_delta + i0;
        else row_deltas(tile_delta, dout, out, nr, hs);
        for (int g = 0; g < count && first + g <= query_tile; g++) {
            const key_tile_state *key = &group[g];
            const int j0 = key->j0, nc = key->nc, limit = i0 - j0;
            kernels.update(s, q, (size_t)hs, 1, key->kt, nr, hs, 0, NULL, NULL);      // S = Q·Kᵀ
            kernels.update(dp, dout, (size_t)hs, 1, key->vt, nr, hs, 0, NULL, NULL);  // dP = dO·Vᵀ
            for (int r = 0; r < nr; r++) {
                float *s_row = s + (size_t)r * TILE, *dp_row = dp + (size_t)r * TILE;
                if (p->dropout > 0.0f) {
                    dropout_factors(p, z, probability_index(p, head, i0 + r, j0), 1);
                    kernels.key_lanes(p, s_row, dp_row, lse[r], delta[r], r, limit, z);
                } else {
                    kernels.key_lanes(p, s_row, dp_row, lse[r], delta[r], r, limit, NULL);
                }
            }
            kernels.update(key->dvt, dout, 1, (size_t)hs, s, hs, nr, 1, NULL, NULL);  // dVᵀ += dOᵀ·(z∘P)
            kernels.update(key->dkt, q, 1, (size_t)hs, dp, hs, nr, 1, NULL, NULL);    // dKᵀ += Qᵀ·dS
            if (dq_head != NULL) {
                const float *k_rows = p->k + head_offset + (size_t)j0 * hs;
                if (dq_in_rows(hs)) {  // dQ += dS·K, no transpose
                    kernels.update(dq_head + (size_t)i0 * TILE, dp, TILE, 1, k_rows, nr, nc, 1, NULL, NULL);
                } else {  // dQᵀ += Kᵀ·dSᵀ, with dSᵀ's query lanes past nr zero
                    kernels.transpose(ds_t, dp, TILE, nr, nc);
                    kernels.update(dq_head + (size_t)query_tile * tile_floats, k_rows, 1, (size_t)hs, ds_t,
                                   hs, nc, 1, NULL, NULL);
                }
            }
        }
    }

    for (int g = 0; g < count; g++) {
        const key_tile_state *key = &group[g];
        const size_t rows = head_offset + (size_t)key->j0 * hs;
        float *dk = p->dk + rows, *dv = p->dv + rows;
        for (int c = 0; c < key->nc; c++)
            for (int d = 0; d < hs; d++) {
                dk[(size_t)c * hs + d] += p->scale * key->dkt[(size_t)d * TILE + c];
                dv[(size_t)c * hs + d] += key->dvt[(size_t)d * TILE + c];
            }
    }
}

// All of dq, dk, dv for head `head` (FlashAttention-2 order: key tiles outer, query tiles inner).
SWL_ALWAYS_INLINE void backward_head_task(const flash_problem *p, float *scratch, int head,
                                          int unused, tile_kernels kernels) {
    (void)unused;
    const int T = p->T, hs = p->hs;
    const size_t tile_floats = (size_t)hs * TILE;
    float *dq_head = scratch + backward_scratch_floats(hs);
    float *head_delta = dq_head + (size_t)p->tiles * tile_floats;
    for (size_t x = 0; x < (size_t)p->tiles * tile_floats; x++) dq_head[x] = 0.0f;
    // D once for the whole head, not again by every group of key tiles for each query tile it meets
    // (at T=4096, 8.5 times the work): with the tiles' AVX transposes, the 2-thread backward at
    // T=4096 took 211–215 against 214–219 ms (Intel Xeon, model 207; a driver, seven alternations)
    const size_t rows = (size_t)head * T * hs;
    row_deltas(head_delta, p->dout + rows, p->saved_out + rows, T, hs);
    for (int tile = 0; tile < p->tiles; tile += BACKWARD_GROUP)
        backward_kv_task(p, scratch, head, tile, SWL_MIN(BACKWARD_GROUP, p->tiles - tile), kernels, head_delta,
                         dq_head);
    for (int tile = 0; tile < p->tiles; tile++) {
        const int i0 = tile * TILE, nr = SWL_MIN(TILE, T - i0);
        const float *sums = dq_head + (size_t)tile * tile_floats;
        float *dq = p->dq + ((size_t)head * T + (size_t)i0) * hs;
        if (dq_in_rows(hs)) {
            for (size_t x = 0; x < (size_t)nr * hs; x++) dq[x] += p->scale * sums[x];
        } else {
            for (int r = 0; r < nr; r++)
                for (int d = 0; d < hs; d++) dq[(size_t)r * hs + d] += p->scale * sums[(size_t)d * TILE + r];
        }
    }
}

// dq for query tile `tile` of head `head`; lanes are queries.
SWL_ALWAYS_INLINE void backward_q_task(const flash_problem *p, float *scratch, int head, int tile,
                                       tile_kernels kernels) {
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

    kernels.transpose(qt, p->q + rows, (size_t)hs, nr, hs);
    kernels.transpose(dot, dout, (size_t)hs, nr, hs);
    for (size_t x = 0; x < tile_floats; x++) dqt[x] = 0.0f;
    row_deltas(delta, dout, out, nr, hs);
    for (int r = 0; r < TILE; r++) {  // lanes past T: zeros, discarded at the end
        if (r >= nr) delta[r] = 0.0f;
        lse[r] = r < nr ? p->saved_lse[(size_t)head * T + i0 + r] : 0.0f;
    }

    for (int key_tile = 0; key_tile <= tile; key_tile++) {
        const int j0 = key_tile * TILE, nc = SWL_MIN(TILE, T - j0), limit = i0 - j0;
        kernels.update(st, k + (size_t)j0 * hs, (size_t)hs, 1, qt, nc, hs, 0, NULL, NULL);   // St = K·Qᵀ
        kernels.update(dpt, v + (size_t)j0 * hs, (size_t)hs, 1, dot, nc, hs, 0, NULL, NULL); // dPt = V·dOᵀ
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
        kernels.update(dqt, k + (size_t)j0 * hs, 1, (size_t)hs, dpt, hs, nc, 1, NULL, NULL);  // dQᵀ += Kᵀ·dSᵀ
    }

    float *dq = p->dq + rows;
    for (int r = 0; r < nr; r++)
        for (int d = 0; d < hs; d++) dq[(size_t)r * hs + d] += p->scale * dqt[(size_t)d * TILE + r];
}

// ---------------------------------------------------------------------------------------------
// Per-ISA instances and the parallel drivers.

// Group t of a head's query tiles in the forward: groups of p->forward_group counted back from the
// last tile, so that a partial group holds the first tiles, the cheapest (a query tile's cost grows
// with its index, and the heaviest tasks start first).
static void query_tile_group(const flash_problem *p, int t, int *first, int *count) {
    const int groups = (p->tiles + p->forward_group - 1) / p->forward_group;
    const int end = p->tiles - (groups - 1 - t) * p->forward_group;
    *first = SWL_MAX(0, end - p->forward_group);
    *count = end - *first;
}

typedef void (*task_fn)(const flash_problem *p, float *scratch, int head, int tile);

#define KERNELS(suffix)                                                                             \
    ((tile_kernels){tile_update_##suffix, tile_transpose_##suffix, online_softmax_##suffix,         \
                    key_lanes_##suffix})

#define FLASH_PATH(suffix, target)                                                                  \
    target static void forward_task_##suffix(const flash_problem *p, float *s, int h, int t) {       \
        int first, count;                                                                           \
        query_tile_group(p, t, &first, &count);                                                     \
        forward_task(p, s, h, first, count, KERNELS(suffix));                                       \
    }                                                                                               \
    target static void backward_kv_task_##suffix(const flash_problem *p, float *s, int h, int t) {   \
        const int first = t * BACKWARD_GROUP, count = SWL_MIN(BACKWARD_GROUP, p->tiles - first);      \
        backward_kv_task(p, s, h, first, count, KERNELS(suffix), NULL, NULL);                       \
    }                                                                                               \
    target static void backward_head_task_##suffix(const flash_problem *p, float *s, int h, int t) { \
        backward_head_task(p, s, h, t, KERNELS(suffix));                                            \
    }                                                                                               \
    target static void backward_q_task_##suffix(const flash_problem *p, float *s, int h, int t) {    \
        backward_q_task(p, s, h, t, KERNELS(suffix));                                               \
    }
FLASH_PATH(portable, )
#if SWL_HAS_X86
FLASH_PATH(avx2, SWL_TARGET_AVX2)
FLASH_PATH(avx512, SWL_TARGET_AVX512)
#endif
#undef FLASH_PATH
#undef KERNELS
#undef LANE_STEPS

typedef struct { task_fn forward, backward_kv, backward_q, backward_head; } flash_path;

#define PATH_TASKS(suffix)                                                                          \
    ((flash_path){forward_task_##suffix, backward_kv_task_##suffix, backward_q_task_##suffix,       \
                  backward_head_task_##suffix})

static flash_path active_path(void) {
    switch (swl_isa_active()) {
#if SWL_HAS_X86
    case SWL_ISA_AVX512: return PATH_TASKS(avx512);
    case SWL_ISA_AVX2: return PATH_TASKS(avx2);
#endif
    default: return PATH_TASKS(portable);
    }
}
#undef PATH_TASKS

static float *allocate_scratch(size_t floats) {
    float *scratch = aligned_alloc(64, floats * sizeof(float));
    if (scratch == NULL) {
        fprintf(stderr, "swiftlet: flash attention could not allocate %zu bytes of scratch\n",
                floats * sizeof(float));
        abort();
    }
    return scratch;
}

// One pass of tasks: `per_head` tasks for each head, task t of a head given t (a tile, or a group
// of tiles), or per_head−1−t when `heavy_last` (so the costliest tasks start first).
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
    p.forward_group = forward_group(p.BH, p.tiles, omp_get_max_threads());
    flash_pass queries = {active_path().forward, (p.tiles + p.forward_group - 1) / p.forward_group, 1};
    run_passes(&p, (size_t)p.forward_group * forward_tile_floats(hs), queries, (flash_pass){NULL, 0, 0});
}

void swl_attention_dropout_factors(float *z, size_t first, size_t stride, float dropout, uint64_t seed) {
    flash_problem p = {
        .dropout = dropout, .keep_scale = dropout_keep_scale(dropout), .key = dropout_key_of(seed),
    };
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
        // the head's dQ (or dQᵀ) sums and its D, T rounded up to whole tiles
        run_passes(&p, backward_scratch_floats(hs) + (size_t)p.tiles * (hs + 1) * TILE, heads,
                   (flash_pass){NULL, 0, 0});
    } else {
        // dk/dv: key tile 0 sees every query tile, so it is heaviest; dq: the last query tile is.
        flash_pass keys = {path.backward_kv, (p.tiles + BACKWARD_GROUP - 1) / BACKWARD_GROUP, 0};
        flash_pass queries = {path.backward_q, p.tiles, 1};
        run_passes(&p, backward_scratch_floats(hs), keys, queries);
    }
}
