// Packed, tiled GEMM driver: C (M,N) = or += A (M,K) · B (K,N), on the active ISA path.
//
// Loops, outermost first (BLIS order inside one macro tile):
//   macro tiles (MC×NC of C)      — split statically over threads, each tile owned by one thread
//     K blocks (KC), in order     — pack A (MC×KC) and B (KC×NC) into this thread's buffers
//       MR strips of A            — one A micro-panel stays in L1
//         NR strips of B          — micro-kernel: C[MR×NR] += Ap·Bp over the K block
// Every element of C is summed over the same K blocks in the same order whatever the thread
// count, so results are bitwise thread-independent.
#include <stdlib.h>
#include <string.h>

#include "gemm.h"

static const swl_gemm_path *active_path(void) {
    switch (swl_isa_active()) {
#if SWL_HAS_X86
    case SWL_ISA_AVX512: return &swl_gemm_path_avx512;
    case SWL_ISA_AVX2: return &swl_gemm_path_avx2;
#endif
    default: return &swl_gemm_path_portable;
    }
}

static int round_up(int value, int multiple) { return (value + multiple - 1) / multiple * multiple; }

// Packs rows [i0, i0+m) and columns [k0, k0+kc) of A into ceil(m/mr) panels of (kc,mr):
// panel p holds A(i0+p·mr+i, k0+k) at [k·mr + i]. Rows past m are zero.
static void pack_a(float *ap, swl_gemm_view a, int i0, int m, int k0, int kc, int mr) {
    for (int p = 0; p < m; p += mr) {
        int rows = SWL_MIN(mr, m - p);
        float *panel = ap + (size_t)p * kc;
        if (rows < mr) memset(panel, 0, sizeof(float) * (size_t)kc * mr);
        if (a.col_stride == 1) {
            // A row-major: each row is contiguous along k.
            for (int i = 0; i < rows; i++) {
                const float *src = a.data + (size_t)(i0 + p + i) * a.row_stride + k0;
                for (int k = 0; k < kc; k++) panel[(size_t)k * mr + i] = src[k];
            }
        } else {
            // A transposed in memory: the mr values of one k are contiguous when row_stride is 1.
            for (int k = 0; k < kc; k++) {
                const float *src = a.data + (size_t)(k0 + k) * a.col_stride + (size_t)(i0 + p) * a.row_stride;
                for (int i = 0; i < rows; i++) panel[(size_t)k * mr + i] = src[(size_t)i * a.row_stride];
            }
        }
    }
}

// Packs rows [k0, k0+kc) and columns [j0, j0+n) of B into ceil(n/nr) panels of (kc,nr):
// panel q holds B(k0+k, j0+q·nr+j) at [k·nr + j]. Columns past n are zero.
static void pack_b(float *bp, swl_gemm_view b, int j0, int n, int k0, int kc, int nr) {
    for (int q = 0; q < n; q += nr) {
        int cols = SWL_MIN(nr, n - q);
        float *panel = bp + (size_t)q * kc;
        if (cols < nr) memset(panel, 0, sizeof(float) * (size_t)kc * nr);
        if (b.col_stride == 1) {
            // B row-major: the nr values of one k are contiguous.
            for (int k = 0; k < kc; k++)
                memcpy(panel + (size_t)k * nr, b.data + (size_t)(k0 + k) * b.row_stride + j0 + q,
                       sizeof(float) * (size_t)cols);
        } else {
            // B transposed in memory (x·Wᵀ reads W rows): each column is contiguous along k.
            for (int j = 0; j < cols; j++) {
                const float *src = b.data + (size_t)(j0 + q + j) * b.col_stride + (size_t)k0 * b.row_stride;
                for (int k = 0; k < kc; k++) panel[(size_t)k * nr + j] = src[(size_t)k * b.row_stride];
            }
        }
    }
}

// One macro tile: C rows [i0, i0+m), columns [j0, j0+n), summed over all of K.
static void gemm_tile(const swl_gemm_path *path, float *c, size_t ldc, swl_gemm_view a,
                      swl_gemm_view b, const float *bias, swl_gemm_mode mode, int i0, int m,
                      int j0, int n, int K, float *ap, float *bp) {
    const int mr = path->mr, nr = path->nr;
    if (mode == SWL_GEMM_OVERWRITE) {
        for (int i = 0; i < m; i++) {
            float *row = c + (size_t)(i0 + i) * ldc + j0;
            if (bias != NULL) memcpy(row, bias + j0, sizeof(float) * (size_t)n);
            else memset(row, 0, sizeof(float) * (size_t)n);
        }
    }
    _Alignas(64) float edge[16 * 64];  // one MR×NR tile for partial strips (mr·nr ≤ 1024)
    for (int k0 = 0; k0 < K; k0 += path->kc) {
        int kc = SWL_MIN(path->kc, K - k0);
        pack_a(ap, a, i0, m, k0, kc, mr);
        pack_b(bp, b, j0, n, k0, kc, nr);
        for (int ip = 0; ip < m; ip += mr) {
            int rows = SWL_MIN(mr, m - ip);
            const float *a_panel = ap + (size_t)ip * kc;
            for (int jp = 0; jp < n; jp += nr) {
                int cols = SWL_MIN(nr, n - jp);
                const float *b_panel = bp + (size_t)jp * kc;
                float *c_tile = c + (size_t)(i0 + ip) * ldc + j0 + jp;
                if (rows == mr && cols == nr) {
                    path->kernel(c_tile, ldc, a_panel, b_panel, kc);
                } else {
                    memset(edge, 0, sizeof(float) * (size_t)mr * nr);
                    path->kernel(edge, (size_t)nr, a_panel, b_panel, kc);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < cols; j++) c_tile[(size_t)i * ldc + j] += edge[i * nr + j];
                }
            }
        }
    }
}

void swl_gemm(float *c, size_t ldc, swl_gemm_view a, swl_gemm_view b, const float *bias,
              swl_gemm_mode mode, int M, int N, int K) {
    const swl_gemm_path *path = active_path();
    // Small problems get tiles no larger than they need (less packing of padding).
    const int mc = SWL_MIN(path->mc, round_up(M, path->mr));
    const int nc = SWL_MIN(path->nc, round_up(N, path->nr));
    const int kc = SWL_MIN(path->kc, K);
    const int tiles_m = (M + mc - 1) / mc, tiles_n = (N + nc - 1) / nc;
    const int tiles = tiles_m * tiles_n;
    const int threads = SWL_MAX(1, SWL_MIN(omp_get_max_threads(), tiles));

    // Per-thread pack buffers, sized up front: one A block (mc,kc) and one B block (kc,nc).
    const size_t a_floats = (size_t)round_up(mc * kc, 16), b_floats = (size_t)round_up(nc * kc, 16);
    const size_t per_thread = a_floats + b_floats;
    float *buffers = aligned_alloc(64, sizeof(float) * per_thread * (size_t)threads);
    // The buffers are bounded by the blocking (under 1 MiB per thread), not by the problem size.
    if (buffers == NULL) abort();

    swl_gemm_path tiled = *path;
    tiled.mc = mc;
    tiled.nc = nc;
#pragma omp parallel num_threads(threads)
    {
        float *ap = buffers + per_thread * (size_t)omp_get_thread_num();
        float *bp = ap + a_floats;
        // Tiles go down a column of C first, so each thread reads a contiguous share of B.
#pragma omp for schedule(static)
        for (int t = 0; t < tiles; t++) {
            int i0 = (t % tiles_m) * mc, j0 = (t / tiles_m) * nc;
            gemm_tile(&tiled, c, ldc, a, b, bias, mode, i0, SWL_MIN(mc, M - i0), j0,
                      SWL_MIN(nc, N - j0), K, ap, bp);
        }
    }
    free(buffers);
}
