// Packed, tiled GEMM driver: C (M,N) = or += A (M,K) · B (K,N), on the active ISA path.
//
// Loops, outermost first (BLIS order inside one macro tile):
//   macro tiles (MC×NC of C)      — each computed whole by one thread: a contiguous run per
//                                   thread, then tiles taken from the longest run left
//     K blocks (KC), in order     — the A (MC×KC) and B (KC×NC) blocks of this tile, packed
//       MR strips of A            — one A micro-panel stays in L1
//         NR strips of B          — micro-kernel: C[MR×NR] += Ap·Bp over the K block
// The smaller operand (x or dout: 256 rows against a 768…50304-wide weight) is packed whole before
// the tiles (by all threads together, or A by every thread into its own buffer where the copies fit
// the same bound: a_per_thread); the other is packed per tile into per-thread buffers (and, when
// it is too big to stay cached or its block fits in L2, kept for the thread's next tile down the
// same columns). When
// both are too big to keep in cache (dout·W of the LM head), each thread takes a strip of C's
// columns and packs its own B blocks (gemm_column_strips), or, where the strips would be
// too narrow or there is one thread, the threads share each K block of B and split the rows of C
// (gemm_shared_b); both read a row-major A (dout) in place where the path's micro-kernel can, and
// the shared-B path, with few rows of C a thread, a row-major B (W) too instead of packing it
// (reads_b_in_place).
// An operand packed per tile that comes from memory (doutᵀ; on AMD CPUs the LM head's weight too,
// fetching_ahead_pays) is prefetched into L2 for the thread's next tile a few lines per
// micro-kernel call, so packing it does not wait on memory (prefetch_part).
// Every element of C is summed over the same K blocks in the same order whatever the thread
// count, so results are bitwise thread-independent (tile shapes may depend on the thread count:
// they decide who computes an element, never how).
// Pack buffers (up to ~16 MiB) come from a process-wide cache that grows on demand and is never
// freed, so calls do not pay page faults on freshly mapped memory each time.
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "gemm_tile_runs.h"

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
static size_t round_up_size(size_t value, size_t multiple) { return (value + multiple - 1) / multiple * multiple; }

// dst[k·dst_stride + i] = src[i·src_stride + k] for `rows` rows i and kc columns k: SIMD in
// groups of 8 rows where the path has a transpose, scalar for the rest.
static void pack_transposed(const swl_gemm_path *path, float *dst, size_t dst_stride,
                            const float *src, size_t src_stride, int rows, int kc) {
    int i = 0;
    if (path->transpose8 != NULL)
        for (; i + 8 <= rows; i += 8)
            path->transpose8(dst + i, dst_stride, src + (size_t)i * src_stride, src_stride, kc);
    for (; i < rows; i++) {
        const float *row = src + (size_t)i * src_stride;
        for (int k = 0; k < kc; k++) dst[(size_t)k * dst_stride + i] = row[k];
    }
}

// Packs rows [i0, i0+m) and columns [k0, k0+kc) of A into ceil(m/mr) panels of (kc,mr):
// panel p holds A(i0+p·mr+i, k0+k) at [k·mr + i]. Rows past m are zero.
static void pack_a(const swl_gemm_path *path, float *ap, swl_gemm_view a, int i0, int m, int k0,
                   int kc) {
    const int mr = path->mr;
    for (int p = 0; p < m; p += mr) {
        int rows = SWL_MIN(mr, m - p);
        float *panel = ap + (size_t)p * kc;
        if (rows < mr) memset(panel, 0, sizeof(float) * (size_t)kc * mr);
        if (a.col_stride == 1) {
            // A row-major (x, dout): each row is contiguous along k.
            pack_transposed(path, panel, (size_t)mr, a.data + (size_t)(i0 + p) * a.row_stride + k0,
                            a.row_stride, rows, kc);
        } else {
            // A stored transposed (doutᵀ): the values of one k are contiguous when row_stride is 1.
            for (int k = 0; k < kc; k++) {
                const float *src = a.data + (size_t)(k0 + k) * a.col_stride + (size_t)(i0 + p) * a.row_stride;
                for (int i = 0; i < rows; i++) panel[(size_t)k * mr + i] = src[(size_t)i * a.row_stride];
            }
        }
    }
}

// Packs rows [k0, k0+kc) and columns [j0, j0+n) of B into ceil(n/nr) panels of (kc,nr):
// panel q holds B(k0+k, j0+q·nr+j) at [k·nr + j]. Columns past n are zero.
static void pack_b(const swl_gemm_path *path, float *bp, swl_gemm_view b, int j0, int n, int k0,
                   int kc) {
    const int nr = path->nr;
    for (int q = 0; q < n; q += nr) {
        int cols = SWL_MIN(nr, n - q);
        float *panel = bp + (size_t)q * kc;
        if (cols < nr) memset(panel, 0, sizeof(float) * (size_t)kc * nr);
        if (b.col_stride == 1) {
            // B row-major (W in dout·W, x in doutᵀ·x): the nr values of one k are contiguous.
            const float *src = b.data + (size_t)k0 * b.row_stride + j0 + q;
            if (cols == nr && path->copy_panel != NULL) {
                path->copy_panel(panel, src, b.row_stride, kc);
            } else {
                for (int k = 0; k < kc; k++)
                    memcpy(panel + (size_t)k * nr, src + (size_t)k * b.row_stride, sizeof(float) * (size_t)cols);
            }
        } else {
            // B stored transposed (Wᵀ in x·Wᵀ): each column is a W row, contiguous along k.
            pack_transposed(path, panel, (size_t)nr, b.data + (size_t)(j0 + q) * b.col_stride + k0,
                            b.col_stride, cols, kc);
        }
    }
}

// One GEMM call: the operands, the blocking, and where the packed panels live. The smaller of
// A and B is packed whole (`a_packed` or `b_packed`, shared by all threads, or a small A by every
// thread into its own buffer); the other is packed per macro tile and K block into each thread's
// buffer.
typedef struct {
    const swl_gemm_path *path;
    float *c;
    size_t ldc;
    swl_gemm_view a, b;
    const float *bias;
    swl_gemm_mode mode;
    int M, N, K;
    int mc, nc, kc;
    int tiles_m, tiles_n;
    float *a_packed;  // (round_up(M,mr), K) in K blocks, or NULL
    int a_per_thread; // A packed whole by every thread into its own buffer instead (pack_a_whole)
    float *b_packed;  // (K, round_up(N,nr)) in K blocks, or NULL
    int keep_b;       // B packed per tile is kept for all of K, for the next tile down its column
    int fetch_a_ahead, fetch_b_ahead;  // A (B) is packed per tile from memory: each tile fetches
                                       // the part the thread's next tile reads into L2 as it runs
    int fetches_next_block;  // the shared-B and column-strip paths fetch their next K block into L2
                             // as they run (fetching_ahead_pays, read once per call)
    int fetch_c;      // C is accumulated into and too big for a core's L2: on the tile path the
                      // micro-kernel fetches each C tile before its K loop (the shared-B and
                      // column-strip paths revisit a thread's C rows every K block, and pass 0)
    int b_in_place_allowed;  // swl_gemm_set_b_in_place's policy on this CPU, read once per call
                             // so that every thread of the call decides alike
} gemm_plan;

// Part of a matrix to fetch ahead: `runs` runs of `length` contiguous floats, `stride` apart.
typedef struct {
    const float *start;
    size_t stride;
    int runs, length;
} gemm_region;

// The part of A that packing rows [i0, i0+m) and columns [k0, k0+kc) reads.
static gemm_region a_source(const gemm_plan *plan, int i0, int m, int k0, int kc) {
    const swl_gemm_view a = plan->a;
    const float *corner = a.data + (size_t)i0 * a.row_stride + (size_t)k0 * a.col_stride;
    if (a.col_stride == 1) return (gemm_region){corner, a.row_stride, m, kc};  // m rows of kc
    return (gemm_region){corner, a.col_stride, kc, m};                        // kc rows of m
}

// The part of B that packing columns [j0, j0+n) and rows [k0, k0+kc) reads.
static gemm_region b_source(const gemm_plan *plan, int j0, int n, int k0, int kc) {
    const swl_gemm_view b = plan->b;
    const float *corner = b.data + (size_t)k0 * b.row_stride + (size_t)j0 * b.col_stride;
    if (b.col_stride == 1) return (gemm_region){corner, b.row_stride, kc, n};  // kc rows of n
    return (gemm_region){corner, b.col_stride, n, kc};                        // n rows of kc
}

// Prefetches part `part` of `parts` of the region's cache lines into L2, so that a region can be
// fetched a little at a time while the micro-kernel runs, instead of the packing waiting on
// memory for all of it at once.
static void prefetch_part(const gemm_region *region, int part, int parts) {
    enum { LINE_FLOATS = 16 };
    const int64_t per_run = (region->length + LINE_FLOATS - 1) / LINE_FLOATS + 1;  // +1: unaligned runs
    const int64_t lines = per_run * region->runs;
    const int64_t first = lines * part / parts, end = lines * (part + 1) / parts;
    int64_t run = first / per_run, line_in_run = first % per_run;
    for (int64_t line = first; line < end; line++) {
        const int64_t offset = SWL_MIN(line_in_run * LINE_FLOATS, (int64_t)region->length - 1);
        __builtin_prefetch(region->start + (size_t)run * region->stride + (size_t)offset, 0, 2);
        if (++line_in_run == per_run) {
            line_in_run = 0;
            run++;
        }
    }
}

// Fetching what comes next into L2 while the micro-kernel runs (prefetch_part) pays on some cores
// and costs on others. On Zen 5, where it was tuned, the LM head's products at 256 rows took fewer
// cycles with it on 1 thread (`perf stat`: x·Wᵀ −4.4%, dout·W −1.5 to −2.3%, doutᵀ·x −1%), and the
// column strips (which fetch both operands) ran 1.61× their 1-thread speed on 2 threads where the
// shared block without the fetches ran 1.43×. On an Intel Xeon (model 207, Emerald Rapids) the
// fetches of W cost. Without them, at 256 rows (a standalone driver alternating the two builds,
// minimums of 5–7 calls, two or three rounds): dout·W 77.4–79.6 → 68.5–71.0 ms on 2 threads and
// 145.8–147.2 → 140.8–142.6 ms on 1; x·Wᵀ 71.4–71.7 → 69.0–70.2 and 141.0–145.3 → 139.0–140.4 ms;
// at 1,024 rows the same within noise. There the hardware prefetchers already stream W's long
// rows, and the L2 the next block lands in also holds this block's packed B, C rows and A (`perf`
// put 14% of dout·W's samples on the prefetches, and fetching one line in eight still cost 11–12%).
// Fetching doutᵀ ahead for doutᵀ·x, which packs short runs of dout's rows (128 floats, 201 KB
// apart), still pays there: without it that product was 2% slower on 1 thread. So doutᵀ is
// fetched on every CPU, W and the next K blocks on AMD CPUs only. They are prefetches: the bits
// are the same either way.
static int fetching_ahead_pays(void) { return swl_cpu_is_amd(); }

// Packs all of A (or B), one (K block, row block) per iteration, split over the threads.
static void pack_whole_operand(const gemm_plan *plan, int pack_a_side) {
    const int k_blocks = (plan->K + plan->kc - 1) / plan->kc;
    const int span = pack_a_side ? plan->M : plan->N;
    const int step = pack_a_side ? plan->mc : plan->nc;
    const int unit = pack_a_side ? plan->path->mr : plan->path->nr;  // panels are padded to this
    const int chunks = (span + step - 1) / step;
    const size_t padded = (size_t)round_up(span, unit);
#pragma omp for schedule(static)
    for (int job = 0; job < k_blocks * chunks; job++) {
        int k0 = (job / chunks) * plan->kc, kc = SWL_MIN(plan->kc, plan->K - k0);
        int s0 = (job % chunks) * step, width = SWL_MIN(step, span - s0);
        if (pack_a_side)
            pack_a(plan->path, plan->a_packed + padded * k0 + (size_t)s0 * kc, plan->a, s0, width, k0, kc);
        else
            pack_b(plan->path, plan->b_packed + padded * k0 + (size_t)s0 * kc, plan->b, s0, width, k0, kc);
    }
}

// Packs all of A into dst on this thread alone, laid out as a_packed.
static void pack_a_whole(const gemm_plan *plan, float *dst) {
    const size_t padded = (size_t)round_up(plan->M, plan->path->mr);
    for (int k0 = 0; k0 < plan->K; k0 += plan->kc)
        pack_a(plan->path, dst + padded * k0, plan->a, 0, plan->M, k0, SWL_MIN(plan->kc, plan->K - k0));
}

// How a micro-kernel call meets C: adds into it, or (the first K block of an overwriting product
// on a path with kernel_overwrite) sets it to the bias plus the sum, with `bias` at the tile's
// first column or NULL for none.
typedef struct {
    int overwrite;
    const float *bias;
} gemm_c_update;

static const gemm_c_update accumulate_into_c = {0, NULL};

// C[rows×cols] (row stride ldc) += Ap·Bp over kc (or, with update.overwrite, = bias + Ap·Bp):
// straight into C for a whole MR×NR tile (with fetch_c, by the micro-kernel that fetches the tile
// first), through a zeroed scratch tile for the partial ones at the edges.
static void run_microkernel(const swl_gemm_path *path, float *c_tile, size_t ldc, const float *a_panel,
                            const float *b_panel, int kc, int rows, int cols, int fetch_c,
                            gemm_c_update update) {
    const int mr = path->mr, nr = path->nr;
    if (rows == mr && cols == nr) {
        if (update.overwrite) {
            path->kernel_overwrite(c_tile, ldc, a_panel, b_panel, kc, update.bias);
            return;
        }
        const swl_gemm_microkernel kernel = fetch_c && path->kernel_fetching_c ? path->kernel_fetching_c : path->kernel;
        kernel(c_tile, ldc, a_panel, b_panel, kc);
        return;
    }
    _Alignas(64) float edge[16 * 64];  // one MR×NR tile (mr·nr ≤ 1024)
    memset(edge, 0, sizeof(float) * (size_t)mr * nr);
    path->kernel(edge, (size_t)nr, a_panel, b_panel, kc);
    for (int i = 0; i < rows; i++) {
        float *row = c_tile + (size_t)i * ldc;
        const float *sum = edge + i * nr;
        if (!update.overwrite)
            for (int j = 0; j < cols; j++) row[j] += sum[j];
        else if (update.bias != NULL)
            for (int j = 0; j < cols; j++) row[j] = update.bias[j] + sum[j];
        else
            for (int j = 0; j < cols; j++) row[j] = 0.0f + sum[j];  // 0 + x, as C set to 0 first: −0 → +0
    }
}

// Sets C rows [i0, i0+m), columns [j0, j0+n) to the bias (or 0) before an overwriting product.
static void initialize_c(const gemm_plan *plan, int i0, int m, int j0, int n) {
    for (int i = 0; i < m; i++) {
        float *row = plan->c + (size_t)(i0 + i) * plan->ldc + j0;
        if (plan->bias != NULL) memcpy(row, plan->bias + j0, sizeof(float) * (size_t)n);
        else memset(row, 0, sizeof(float) * (size_t)n);
    }
}

// One macro tile: C rows [i0, i0+m), columns [j0, j0+n), summed over all of K in order.
// a_whole is A packed whole (this thread's copy) or NULL; ap and bp are this thread's buffers for
// A and B packed per tile. With keep_b, bp holds every K block of these columns' B, and b_ready
// says this thread's previous tile (its own or taken from another run) packed them.
// `ahead` lists the `ahead_count` regions the thread's next tile will read: fetched into L2 a
// part at each micro-kernel call.
static void gemm_tile(const gemm_plan *plan, const float *a_whole, int i0, int m, int j0, int n, float *ap,
                      float *bp, int b_ready, const gemm_region *ahead, int ahead_count) {
    const swl_gemm_path *path = plan->path;
    const int mr = path->mr, nr = path->nr;
    const size_t ldc = plan->ldc;
    const int calls = (plan->K + plan->kc - 1) / plan->kc * ((m + mr - 1) / mr) * ((n + nr - 1) / nr);
    int call = 0;
    // An overwriting product sets C in its first K block's micro-kernels where the path can,
    // instead of a pass over C before them.
    const int overwrite_in_kernel = plan->mode == SWL_GEMM_OVERWRITE && path->kernel_overwrite != NULL;
    if (plan->mode == SWL_GEMM_OVERWRITE && !overwrite_in_kernel) initialize_c(plan, i0, m, j0, n);
    for (int k0 = 0; k0 < plan->K; k0 += plan->kc) {
        const int kc = SWL_MIN(plan->kc, plan->K - k0);
        const float *a_block, *b_block;  // this tile's panels for this K block
        if (a_whole != NULL) {
            a_block = a_whole + (size_t)round_up(plan->M, mr) * k0 + (size_t)i0 * kc;
        } else {
            pack_a(path, ap, plan->a, i0, m, k0, kc);
            a_block = ap;
        }
        if (plan->b_packed != NULL) {
            b_block = plan->b_packed + (size_t)round_up(plan->N, nr) * k0 + (size_t)j0 * kc;
        } else {
            float *block = plan->keep_b ? bp + (size_t)round_up(n, nr) * k0 : bp;
            if (!b_ready) pack_b(path, block, plan->b, j0, n, k0, kc);
            b_block = block;
        }
        for (int ip = 0; ip < m; ip += mr) {
            const int rows = SWL_MIN(mr, m - ip);
            const float *a_panel = a_block + (size_t)ip * kc;
            for (int jp = 0; jp < n; jp += nr) {
                const int cols = SWL_MIN(nr, n - jp);
                const float *b_panel = b_block + (size_t)jp * kc;
                const gemm_c_update update = {
                    overwrite_in_kernel && k0 == 0, plan->bias != NULL ? plan->bias + j0 + jp : NULL};
                run_microkernel(path, plan->c + (size_t)(i0 + ip) * ldc + j0 + jp, ldc, a_panel, b_panel,
                                kc, rows, cols, plan->fetch_c, update);
                for (int r = 0; r < ahead_count; r++) prefetch_part(&ahead[r], call, calls);
                call++;
            }
        }
    }
}

// For the tests: every tile starts in the first thread's run, so the others get only tiles they
// take from it (swl_gemm_set_first_thread_takes_all_tiles).
static int all_tiles_on_first_thread;

void swl_gemm_set_first_thread_takes_all_tiles(int on) {
    __atomic_store_n(&all_tiles_on_first_thread, on != 0, __ATOMIC_RELAXED);
}

static int first_thread_takes_all_tiles(void) {
    return __atomic_load_n(&all_tiles_on_first_thread, __ATOMIC_RELAXED);
}

// Every macro tile of C; first the whole operand (A or B: the tile path always has one) packed by
// all the threads together, or (a_per_thread) A by every thread for itself into ap. ap and bp are
// this thread's buffers, runs one tile_run per thread of the region. Runs inside the parallel
// region.
//
// Each thread starts on one contiguous run of tiles. Tiles go down a column of C first, so each
// thread reads a contiguous share of B, and its tiles down one column share one packing of B when
// keep_b. A thread whose run is done takes tiles from the end of the longest run left (work
// stealing): a static split waits for the slower core, and on a shared VM one core can run a
// third slower than the other for minutes (the FMA probe pinned to each: 113 against 174 GFLOP/s).
// Who computes a tile never changes how it is summed, so the bits are the same.
static void gemm_tiles(const gemm_plan *plan, int whole_a, float *ap, float *bp, tile_run *runs) {
    const int threads = omp_get_num_threads(), me = omp_get_thread_num();
    const size_t tiles = (size_t)plan->tiles_m * plan->tiles_n;
    swl_share mine = swl_thread_share(tiles);
    if (first_thread_takes_all_tiles()) mine = me == 0 ? (swl_share){0, tiles} : (swl_share){tiles, tiles};
    __atomic_store_n(&runs[me].front_and_end, pack_run((uint32_t)mine.first, (uint32_t)mine.end), __ATOMIC_RELEASE);
    if (plan->a_per_thread) {
        // Every run is set before any is taken from; then this thread packs all of A for itself.
#pragma omp barrier
        pack_a_whole(plan, ap);
    } else {
        // Its barrier also tells every thread that all the runs are set before any is taken from.
        pack_whole_operand(plan, whole_a);
    }
    int packed_j0 = -1;  // the columns whose B this thread holds packed (keep_b)
    for (;;) {
        int t = take_front(&runs[me]);
        if (t < 0) t = take_from_longest(runs, threads);
        if (t < 0) break;
        int i0 = (t % plan->tiles_m) * plan->mc, j0 = (t / plan->tiles_m) * plan->nc;
        const int m = SWL_MIN(plan->mc, plan->M - i0), n = SWL_MIN(plan->nc, plan->N - j0);
        // What the thread's next tile (the front of its own run) packs that this one did not:
        // its A rows, and its B columns where fetch_b_ahead. (Its C rows are long runs the
        // hardware prefetches.)
        gemm_region ahead[2];
        int ahead_count = 0;
        const int next = plan->fetch_a_ahead || plan->fetch_b_ahead ? peek_front(&runs[me]) : -1;
        if (next >= 0) {
            const int next_i0 = next % plan->tiles_m * plan->mc, next_j0 = next / plan->tiles_m * plan->nc;
            const int next_m = SWL_MIN(plan->mc, plan->M - next_i0), next_n = SWL_MIN(plan->nc, plan->N - next_j0);
            if (plan->fetch_a_ahead && next_i0 != i0) ahead[ahead_count++] = a_source(plan, next_i0, next_m, 0, plan->K);
            if (plan->fetch_b_ahead && next_j0 != j0) ahead[ahead_count++] = b_source(plan, next_j0, next_n, 0, plan->K);
        }
        const float *a_whole = plan->a_per_thread ? ap : plan->a_packed;
        gemm_tile(plan, a_whole, i0, m, j0, n, ap, bp, plan->keep_b && j0 == packed_j0, ahead, ahead_count);
        packed_j0 = j0;
    }
}

// A K block of B as the micro-kernel reads it: row k of panel q (NR columns) at
// start + q·panel_step + k·k_step. Packed, the panels are (kc,NR) one after another; read in place
// (a row-major B), they are NR-column slices of its rows.
typedef struct {
    const float *start;
    size_t panel_step, k_step;
} gemm_b_block;

static gemm_b_block packed_b_block(const swl_gemm_path *path, const float *bp, int kc) {
    return (gemm_b_block){bp, (size_t)path->nr * kc, (size_t)path->nr};
}

// Reading B in place pays on some cores and not on others: on Zen 5 it did (1.5–4.3% faster on
// the LM head's dout·W; gemm_avx512.c); on an Intel Xeon (model 207, Emerald Rapids) the same
// product at 256 rows on 1 thread took 170–184 ms in place against 147–157 ms packed with the
// caches flushed between calls (standalone driver, three alternations), and the same within noise
// with the weight left in L3. So AUTO reads in place on AMD CPUs only.
static int b_in_place_policy = SWL_GEMM_B_IN_PLACE_AUTO;

void swl_gemm_set_b_in_place(swl_gemm_b_in_place policy) {
    __atomic_store_n(&b_in_place_policy, (int)policy, __ATOMIC_RELAXED);
}

static int b_in_place_allowed(void) {
    const int policy = __atomic_load_n(&b_in_place_policy, __ATOMIC_RELAXED);
    return policy == SWL_GEMM_B_IN_PLACE_AUTO ? swl_cpu_is_amd() : policy == SWL_GEMM_B_IN_PLACE_ALLOWED;
}

// Whether the shared-B path, with `share` rows of C a thread, reads a block of n columns of B in
// place: A and B row-major, the path's in-place micro-kernel, whole MR×NR tiles only (so every
// row panel reads A in place too), and at most the path's in_place_b_rows rows a thread. The
// same for every thread, so all of them meet the same barriers. Packing copies every element of
// B once per K block; reading B's rows in place instead (NR floats every row stride, not one
// contiguous panel) costs a little on every micro-kernel call (`perf`, 1,024 rows: 14% fewer L1
// prefetches, 3% more cycles), so it pays only while few MR panels of rows share each block.
// (Column strips keep packing: at 256 rows on 2 threads in place measured −2.4 to +3.0%, median
// +0.9% over 13 sets.)
static int reads_b_in_place(const gemm_plan *plan, int share, int n) {
    const swl_gemm_path *path = plan->path;
    return plan->b_in_place_allowed && path->kernel_rows_of_a != NULL && plan->a.col_stride == 1 &&
           plan->b.col_stride == 1 && share <= path->in_place_b_rows && plan->M % path->mr == 0 &&
           n % path->nr == 0;
}

static gemm_b_block in_place_b_block(const gemm_plan *plan, int j0, int k0) {
    return (gemm_b_block){plan->b.data + (size_t)k0 * plan->b.row_stride + j0, (size_t)plan->path->nr,
                          plan->b.row_stride};
}

// One MR-row panel of C against a K block of B: C rows [i0, i0+rows), columns [j0, j0+n) +=
// A(those rows, K block at k0) · the block's panels. A is read in place where it is row-major and
// the path has a micro-kernel for that (whole MR×NR tiles only), else packed into ap first (and B
// must then be packed). In place, the LM head's dout·W no longer transposes every 8 rows of dout
// (all 50k columns of them, on every thread): 0–2.6% faster on 1 thread and 3.4–7.2% on 2
// (measured). Each micro-kernel call also fetches a part of the `fetch_count` regions (`*call` of
// `calls`).
static void multiply_row_panel(const gemm_plan *plan, int i0, int rows, int j0, int n, int k0, int kc,
                               float *ap, gemm_b_block b, const gemm_region *fetch, int fetch_count,
                               int *call, int calls) {
    const swl_gemm_path *path = plan->path;
    const int nr = path->nr;
    const int in_place = path->kernel_rows_of_a != NULL && plan->a.col_stride == 1 && rows == path->mr &&
                         n % nr == 0;
    const float *a_rows = plan->a.data + (size_t)i0 * plan->a.row_stride + k0;
    if (!in_place) pack_a(path, ap, plan->a, i0, rows, k0, kc);
    for (int q = 0; q * nr < n; q++, (*call)++) {
        float *c_tile = plan->c + (size_t)i0 * plan->ldc + j0 + q * nr;
        const float *b_panel = b.start + (size_t)q * b.panel_step;
        if (in_place) path->kernel_rows_of_a(c_tile, plan->ldc, a_rows, plan->a.row_stride, b_panel, b.k_step, kc);
        else run_microkernel(path, c_tile, plan->ldc, ap, b_panel, kc, rows, SWL_MIN(nr, n - q * nr), 0,
                             accumulate_into_c);
        for (int r = 0; r < fetch_count; r++) prefetch_part(&fetch[r], *call, calls);
    }
}

// Both operands too big to pack whole and a long K (dout·W of the LM head: K is the 50k
// vocabulary): per K block, the threads pack one B block of up to plan->nc columns together,
// then each runs its own rows of C against it, one MR panel of A at a time. A and
// B are each read once per column chunk, where per-tile packing read B once per row of tiles
// and A once per column of tiles. Two B buffers alternate, so the barrier that ends one block's
// packing also tells that every thread is done with the block before. With few rows a thread
// (reads_b_in_place) each thread reads B where it lies instead, with no packing and no barrier;
// only the last column chunk can be narrower than nc, so chunks read in place come before any
// packed one and never between two (whose buffers the barriers guard). ap is this thread's MR
// panel. Runs inside the parallel region; every thread must call it.
static void gemm_shared_b(const gemm_plan *plan, float *b_buffers, float *ap) {
    const swl_gemm_path *path = plan->path;
    const int mr = path->mr, nr = path->nr;
    const int threads = omp_get_num_threads(), me = omp_get_thread_num();
    const int share = round_up((plan->M + threads - 1) / threads, mr);
    const int row0 = SWL_MIN(plan->M, me * share), row1 = SWL_MIN(plan->M, row0 + share);
    const size_t b_floats = (size_t)plan->kc * plan->nc;
    int parity = 0;
    for (int j0 = 0; j0 < plan->N; j0 += plan->nc) {
        const int n = SWL_MIN(plan->nc, plan->N - j0), panels = (n + nr - 1) / nr;
        const int b_in_place = reads_b_in_place(plan, share, n);
        if (plan->mode == SWL_GEMM_OVERWRITE) initialize_c(plan, row0, row1 - row0, j0, n);
        for (int k0 = 0; k0 < plan->K; k0 += plan->kc, parity ^= 1) {
            const int kc = SWL_MIN(plan->kc, plan->K - k0);
            float *bp = b_buffers + (size_t)parity * b_floats;
            if (!b_in_place) {
                // Each thread packs a contiguous run of the panels (the barrier below ends the block).
                const swl_share own_panels = swl_thread_share((size_t)panels);
                for (int q = (int)own_panels.first; q < (int)own_panels.end; q++)
                    pack_b(path, bp + (size_t)q * nr * kc, plan->b, j0 + q * nr, SWL_MIN(nr, n - q * nr), k0, kc);
#pragma omp barrier
            }
            // The B this thread reads or packs next (the next K block, or the first of the next
            // columns: all its panels if read in place, else this thread's share), fetched into L2
            // a part at each micro-kernel call where that pays (fetches_next_block).
            const int next_k0 = k0 + kc < plan->K ? k0 + kc : 0, next_j0 = next_k0 > 0 ? j0 : j0 + plan->nc;
            gemm_region next_b;
            int fetch = 0;
            if (plan->fetches_next_block && next_j0 < plan->N) {
                const int next_n = SWL_MIN(plan->nc, plan->N - next_j0), next_panels = (next_n + nr - 1) / nr;
                const swl_share next_share = reads_b_in_place(plan, share, next_n)
                                                 ? (swl_share){0, (size_t)next_panels}
                                                 : swl_thread_share((size_t)next_panels);
                const int next_q0 = (int)next_share.first, next_q1 = (int)next_share.end;
                fetch = next_q1 > next_q0;
                if (fetch)
                    next_b = b_source(plan, next_j0 + next_q0 * nr, SWL_MIN(next_n - next_q0 * nr, (next_q1 - next_q0) * nr),
                                      next_k0, SWL_MIN(plan->kc, plan->K - next_k0));
            }
            const gemm_b_block block = b_in_place ? in_place_b_block(plan, j0, k0) : packed_b_block(path, bp, kc);
            const int calls = (row1 - row0 + mr - 1) / mr * panels;
            int call = 0;
            for (int i0 = row0; i0 < row1; i0 += mr)
                multiply_row_panel(plan, i0, SWL_MIN(mr, row1 - i0), j0, n, k0, kc, ap, block, &next_b, fetch, &call, calls);
        }
    }
}

// The same products (both operands too big to pack whole, a long K) when C has few rows: each
// thread takes a strip of C's columns and all of its rows, packs its own B block per K block,
// takes A one MR panel at a time, and (where that pays: fetches_next_block) fetches the next K
// block of both into L2 while the micro-kernel runs. No barriers and no packed block read across cores, at the cost of every thread reading
// all of A. bp holds this thread's B block, ap its MR panel. Runs inside the parallel region.
static void gemm_column_strips(const gemm_plan *plan, float *bp, float *ap) {
    const swl_gemm_path *path = plan->path;
    const int mr = path->mr, nr = path->nr;
    const swl_share mine = swl_thread_share((size_t)((plan->N + nr - 1) / nr));
    const int j0 = (int)mine.first * nr, n = SWL_MIN(plan->N, (int)mine.end * nr) - j0;
    if (n <= 0) return;
    const int panels = (n + nr - 1) / nr, calls = (plan->M + mr - 1) / mr * panels;
    if (plan->mode == SWL_GEMM_OVERWRITE) initialize_c(plan, 0, plan->M, j0, n);
    for (int k0 = 0; k0 < plan->K; k0 += plan->kc) {
        const int kc = SWL_MIN(plan->kc, plan->K - k0);
        pack_b(path, bp, plan->b, j0, n, k0, kc);
        const gemm_b_block block = packed_b_block(path, bp, kc);
        // The next K block of both operands, fetched into L2 a part at each micro-kernel call
        // where that pays (fetches_next_block; otherwise fetch_count is 0).
        const int next_k0 = k0 + kc, fetch_count = plan->fetches_next_block && next_k0 < plan->K ? 2 : 0;
        gemm_region next[2];
        if (fetch_count > 0) {
            const int next_kc = SWL_MIN(plan->kc, plan->K - next_k0);
            next[0] = a_source(plan, 0, plan->M, next_k0, next_kc);
            next[1] = b_source(plan, j0, n, next_k0, next_kc);
        }
        int call = 0;
        for (int i0 = 0; i0 < plan->M; i0 += mr)
            multiply_row_panel(plan, i0, SWL_MIN(mr, plan->M - i0), j0, n, k0, kc, ap, block, next, fetch_count,
                               &call, calls);
    }
}

// The pack buffer cache: one block held by at most one call at a time. A call that finds it busy
// (another Swift thread is inside swl_gemm) allocates a block of its own and frees it after.
static pthread_mutex_t pack_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static float *pack_cache;
static size_t pack_cache_floats;
static int pack_cache_busy;

// `floats` is a multiple of 16, so the size in bytes is a multiple of the 64-byte alignment.
static float *allocate_pack_buffers(size_t floats) {
    float *buffers = aligned_alloc(64, sizeof(float) * floats);
    // The buffers are bounded by the blocking and WHOLE_OPERAND_LIMIT, not by the problem size.
    if (buffers == NULL) abort();
    return buffers;
}

// Returns buffers of at least `floats` floats; *cached says whether they are the shared cache.
static float *acquire_pack_buffers(size_t floats, int *cached) {
    pthread_mutex_lock(&pack_cache_lock);
    *cached = !pack_cache_busy;
    if (*cached) {
        pack_cache_busy = 1;
        if (pack_cache_floats < floats) {
            free(pack_cache);
            pack_cache = allocate_pack_buffers(floats);
            pack_cache_floats = floats;
        }
    }
    float *buffers = *cached ? pack_cache : NULL;
    pthread_mutex_unlock(&pack_cache_lock);
    return *cached ? buffers : allocate_pack_buffers(floats);
}

static void release_pack_buffers(float *buffers, int cached) {
    if (!cached) {
        free(buffers);
        return;
    }
    pthread_mutex_lock(&pack_cache_lock);
    pack_cache_busy = 0;
    pthread_mutex_unlock(&pack_cache_lock);
}

// A whole packed operand is worth it only while it stays in the last-level cache; larger
// operands (dout·W with a 50k vocabulary) are packed per K block from memory instead.
enum { WHOLE_OPERAND_LIMIT = 4 << 20 };  // floats (16 MiB)
// B packed per tile is kept for the next tile down the same columns (all of K) up to this size
// per thread, when B itself is too big to stay cached: reading the packed block back is cheaper
// than packing it again from memory. A B that stays cached is kept too where the kept block fits
// in half of a core's L2 (kept_b_fits_l2).
enum { KEPT_B_LIMIT = 1 << 20 };  // floats (4 MiB)
// Column strips (gemm_column_strips) instead of a shared B block for a short C, whose K blocks
// are little work per thread between the shared block's barriers, and when every thread's strip
// has at least MIN_STRIP_PANELS NR panels for each A panel it packs. Measured on the LM head's
// dout·W, 2 threads, the two alternating in one process (five sets on this shared VM): 256 rows
// 64.4 → 55.2, 55.2–55.5 → 52.4–53.3 and, on a quiet VM, 42.2 → 43.3 ms; 1,024 rows 172 → 172
// and 155.7 → 158.5 ms, so taller products keep the shared block.
enum { MAX_STRIP_ROWS = 512, MIN_STRIP_PANELS = 8 };
// An accumulated C larger than this (a core's L2) is read from L3 or memory by the micro-kernel's
// last step, unless fetched ahead. Measured on the weight gradients doutᵀ·x, old and new kernels
// alternating in one process, 1 / 2 threads: with C evicted first, as in a training step, the
// 256-row products 6–12% / 1–9% faster and 1,024 rows 2% / 0–3%; with C left in L3 by the call
// before, the LM head's 256-row dW 85.6 → 76.4 / 42.8 → 38.6 ms, the others from 1.8% faster to
// 1.3% slower.
enum { FETCH_C_FLOATS = 1 << 18 };  // floats (1 MiB)
// The shared B block of gemm_shared_b stays in a core's L2 (1–2 MiB) beside C's rows.
enum { SHARED_B_BLOCK_LIMIT = 3 << 16 };  // floats (768 KiB)

// Whether a B block kept for all of K (`floats`) fits in half of a core's L2, beside the A block
// and C tile the thread works on. The layers' x·Wᵀ at 1,024 rows keeps 192 columns × 768 = 576 KiB:
// on Zen 5 (1 MiB L2) reading that back measured slower than packing it again, on an Intel Xeon
// (model 207, 2 MiB L2) packing took 7.4–8.1% of the product's time and 3.4–3.5% kept (rdtsc
// around the phases, 768→2304 and 768→3072 on 1 thread).
static int kept_b_fits_l2(size_t floats) { return sizeof(float) * floats <= swl_l2_cache_bytes() / 2; }

void swl_gemm(float *c, size_t ldc, swl_gemm_view a, swl_gemm_view b, const float *bias,
              swl_gemm_mode mode, int M, int N, int K) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {  // an empty sum: an overwritten C is the bias (or 0), an accumulated one unchanged
        for (int i = 0; mode == SWL_GEMM_OVERWRITE && i < M; i++) {
            float *row = c + (size_t)i * ldc;
            if (bias != NULL) memcpy(row, bias, sizeof(float) * (size_t)N);
            else memset(row, 0, sizeof(float) * (size_t)N);
        }
        return;
    }
    const swl_gemm_path *path = active_path();
    gemm_plan plan = {
        .path = path, .c = c, .ldc = ldc, .a = a, .b = b, .bias = bias, .mode = mode,
        .M = M, .N = N, .K = K, .kc = SWL_MIN(path->kc, K), .b_in_place_allowed = b_in_place_allowed(),
    };
    const size_t a_whole = (size_t)round_up(M, path->mr) * K, b_whole = (size_t)K * round_up(N, path->nr);
    const int whole_a = M <= N && a_whole <= WHOLE_OPERAND_LIMIT;
    const int whole_b = !whole_a && b_whole <= WHOLE_OPERAND_LIMIT;
    // With B packed whole, tiles are short and wide: each thread's A block is packed once per
    // wide row of tiles. Small problems get tiles no larger than they need.
    plan.mc = SWL_MIN(whole_b ? path->mc / 2 : path->mc, round_up(M, path->mr));
    plan.nc = SWL_MIN(whole_b ? path->nc * 4 : path->nc, round_up(N, path->nr));
    const int max_threads = omp_get_max_threads();
    const int column_strips = !whole_a && !whole_b && max_threads > 1 && M <= MAX_STRIP_ROWS &&
                              (N + path->nr - 1) / path->nr >= MIN_STRIP_PANELS * max_threads;
    const int shared_b = !whole_a && !whole_b && !column_strips;
    if (column_strips) {
        // plan.nc bounds one thread's strip: its B block is kc × nc.
        plan.nc = round_up((N + max_threads - 1) / max_threads, path->nr);
    } else if (shared_b) {
        // As many columns as keep the shared B block in L2; the threads split the rows.
        int fitting = SHARED_B_BLOCK_LIMIT / plan.kc / path->nr * path->nr;
        plan.nc = SWL_MIN(round_up(N, path->nr), SWL_MAX(path->nr, fitting));
    } else {
        // At least two tiles per thread where the columns allow it, so every thread has work.
        while ((M + plan.mc - 1) / plan.mc * ((N + plan.nc - 1) / plan.nc) < 2 * omp_get_max_threads() &&
               plan.nc > path->nr)
            plan.nc = round_up(plan.nc / 2, path->nr);
    }
    plan.tiles_m = (M + plan.mc - 1) / plan.mc;
    plan.tiles_n = (N + plan.nc - 1) / plan.nc;
    // B packed per tile (A whole) is otherwise packed once per row of tiles: 4 times over at
    // 1,024 rows. Worth keeping when B is too big for the cache (the LM head's weight, 154 MB
    // read from memory each time), or when the kept block fits in L2; a B that stays in L3 and
    // whose kept block would not fit in L2 is faster packed again (measured).
    const size_t kept_b_floats = (size_t)plan.nc * K;
    plan.keep_b = whole_a && plan.tiles_m > 1 && kept_b_floats <= KEPT_B_LIMIT &&
                  (b_whole > WHOLE_OPERAND_LIMIT || kept_b_fits_l2(kept_b_floats));
    const int tile_path = !shared_b && !column_strips, fetching_pays = fetching_ahead_pays();
    plan.fetch_a_ahead = tile_path && !whole_a && a_whole > WHOLE_OPERAND_LIMIT;
    plan.fetch_b_ahead = tile_path && !whole_b && b_whole > WHOLE_OPERAND_LIMIT && fetching_pays;
    plan.fetches_next_block = fetching_pays;
    plan.fetch_c = mode == SWL_GEMM_ACCUMULATE && (size_t)M * N > FETCH_C_FLOATS;
    const int tiles = plan.tiles_m * plan.tiles_n;
    const int threads = shared_b ? SWL_MAX(1, SWL_MIN(max_threads, (M + path->mr - 1) / path->mr))
                        : column_strips ? SWL_MAX(1, SWL_MIN(max_threads, (N + path->nr - 1) / path->nr))
                                 : SWL_MAX(1, SWL_MIN(max_threads, tiles));

    // A whole A is packed by every thread for itself while the copies together take no more than
    // one shared copy may (WHOLE_OPERAND_LIMIT). On 2 threads the shared copy, half packed by each
    // thread in too few jobs to share the work evenly, was read across cores, and one thread
    // waited at the barrier after it. A standalone driver (2 threads, minimums of 9 calls with
    // 512 MB written between them, an Intel Xeon model 207, two sets of three alternations), 256
    // rows × 768→768: x·Wᵀ 1.060–1.089 → 0.992–1.024 ms, dout·W 1.066–1.093 → 1.012–1.040,
    // doutᵀ·x 1.008–1.058 → 0.978–1.019; the other layer products at 256 and 1,024 rows and the LM
    // head's x·Wᵀ moved by less than the driver's noise (from 3% faster to 1.5% slower).
    plan.a_per_thread = whole_a && (size_t)threads * a_whole <= WHOLE_OPERAND_LIMIT;

    // One allocation: the whole operand shared (or the two shared B blocks), then per-thread
    // buffers: A packed whole or per tile, B per tile (for column strips, an A panel and a B block).
    const size_t whole = whole_a && !plan.a_per_thread ? a_whole : whole_b ? b_whole : shared_b ? 2 * (size_t)plan.kc * plan.nc : 0;
    const size_t a_floats = plan.a_per_thread ? round_up_size(a_whole, 16) : whole_a ? 0 : (size_t)round_up((shared_b || column_strips ? path->mr : plan.mc) * plan.kc, 16);
    const size_t b_floats = whole_b || shared_b ? 0
                            : plan.keep_b ? round_up_size((size_t)plan.nc * K, 16)
                                          : (size_t)round_up(plan.nc * plan.kc, 16);
    const size_t per_thread = a_floats + b_floats;
    // The tile path's runs (one 64-byte line, 16 floats, a thread) come last.
    const size_t runs_floats = shared_b || column_strips ? 0 : 16 * (size_t)threads;
    const size_t total = round_up_size(whole, 16) + per_thread * (size_t)threads + runs_floats;
    int cached;
    float *buffers = acquire_pack_buffers(total, &cached);
    if (whole_a && !plan.a_per_thread) plan.a_packed = buffers;
    if (whole_b) plan.b_packed = buffers;
    float *thread_buffers = buffers + round_up_size(whole, 16);
    // Every piece is a multiple of 16 floats from a 64-byte aligned start, so the runs are aligned.
    tile_run *runs = (tile_run *)(thread_buffers + per_thread * (size_t)threads);

#pragma omp parallel num_threads(threads)
    {
        float *own = thread_buffers + per_thread * (size_t)omp_get_thread_num();
        if (shared_b) gemm_shared_b(&plan, buffers, own);
        else if (column_strips) gemm_column_strips(&plan, own + a_floats, own);
        else gemm_tiles(&plan, whole_a, own, own + a_floats, runs);
    }
    release_pack_buffers(buffers, cached);
}
