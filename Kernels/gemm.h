// Private packed GEMM behind the linear layer: C (M,N) = or += A (M,K) · B (K,N).
//
// A and B are strided views, so one routine serves all three products of a linear layer
// (x·Wᵀ, dout·W, doutᵀ·x): packing copies each block into the micro-kernel's layout and absorbs
// the transposes. Blocking is BLIS-style: the output is cut into MC×NC macro tiles that threads
// own whole; K is summed in KC blocks in increasing order; inside a tile an MR×NR register-blocked
// micro-kernel (one per ISA path) runs over packed panels (or, where the layout allows, operands
// read in place).
#ifndef SWIFTLET_GEMM_H
#define SWIFTLET_GEMM_H

#include <stddef.h>

#include "internal.h"

/// Element (i, j) of a view is data[i·row_stride + j·col_stride]; one of the strides is 1.
typedef struct {
    const float *data;
    size_t row_stride;
    size_t col_stride;
} swl_gemm_view;

/// Overwrite: C = A·B (+ bias[j] on every row when bias is not NULL). Accumulate: C += A·B.
typedef enum { SWL_GEMM_OVERWRITE, SWL_GEMM_ACCUMULATE } swl_gemm_mode;

/// C is (M,N) row-major with row stride ldc; A is (M,K); B is (K,N). Multithreaded on the active
/// ISA path; results do not depend on the thread count.
void swl_gemm(float *c, size_t ldc, swl_gemm_view a, swl_gemm_view b, const float *bias,
              swl_gemm_mode mode, int M, int N, int K);

/// Row counts up to this use the skinny products below instead of the packed GEMM.
#define SWL_SKINNY_ROWS 4

/// c (M,N) = a (M,K) · bᵀ (+ bias[j] on every row), with b (N,K) row-major and M ≤ SWL_SKINNY_ROWS.
void swl_skinny_nt(float *c, const float *a, const float *b, const float *bias, int M, int N, int K);
/// c (M,N) += a (M,K) · b (K,N), all row-major, M ≤ SWL_SKINNY_ROWS.
void swl_skinny_nn_accumulate(float *c, const float *a, const float *b, int M, int N, int K);

/// C (MR,NR) with row stride ldc += Ap·Bp, where Ap is a packed (kc,MR) panel (MR values per k)
/// and Bp a packed (kc,NR) panel (NR values per k). kc ≥ 1; no alignment is assumed.
typedef void (*swl_gemm_microkernel)(float *c, size_t ldc, const float *ap, const float *bp,
                                     int kc);

/// The first K block of an overwriting product: C (MR,NR) = bias + Ap·Bp, with bias the NR values
/// of this tile's columns (added to every row) or NULL for none. The same bits as setting C to the
/// bias (or 0) and then adding Ap·Bp, without the pass that sets C first.
typedef void (*swl_gemm_microkernel_overwrite)(float *c, size_t ldc, const float *ap, const float *bp,
                                               int kc, const float *bias);

/// The same product with A read in place: MR rows of a row-major matrix, row i at a + i·lda, so
/// that an A that is already row-major along K need not be packed; row k of B's panel is at
/// b + k·ldb (ldb = NR for a packed panel, the row stride for a row-major B read in place).
typedef void (*swl_gemm_microkernel_rows_of_a)(float *c, size_t ldc, const float *a, size_t lda,
                                                const float *b, size_t ldb, int kc);

/// dst[k·dst_stride + i] = src[i·src_stride + k] for 8 rows i and kc columns k: the packing
/// step for an operand stored contiguously along K.
typedef void (*swl_gemm_transpose8)(float *dst, size_t dst_stride, const float *src,
                                    size_t src_stride, int kc);

/// dst[k·NR + j] = src[k·src_stride + j] for kc rows k and the path's NR columns j: the packing
/// step for an operand stored contiguously along N (a copy the path does in whole vectors).
typedef void (*swl_gemm_copy_panel)(float *dst, const float *src, size_t src_stride, int kc);

/// A micro-kernel with its register tile and the cache blocking that suits it.
typedef struct {
    swl_gemm_microkernel kernel;
    swl_gemm_microkernel kernel_fetching_c;  // the same, first prefetching its C tile, or NULL
    swl_gemm_microkernel_overwrite kernel_overwrite;  // C = bias + Ap·Bp, or NULL (C set first)
    swl_gemm_microkernel_rows_of_a kernel_rows_of_a;  // the same, A read in place, or NULL
    swl_gemm_transpose8 transpose8;  // SIMD packing helper, or NULL for scalar packing
    swl_gemm_copy_panel copy_panel;  // SIMD packing helper, or NULL for a memcpy per row
    int mr, nr;      // register tile
    int mc, nc, kc;  // macro tile (multiples of mr, nr) and K block
    int in_place_b_rows;  // on the shared-B path, a row-major B is read in place (not packed)
                          // where each thread has at most this many rows of C and
                          // swl_gemm_set_b_in_place's policy allows it; 0: always packed
} swl_gemm_path;

extern const swl_gemm_path swl_gemm_path_portable;
#if SWL_HAS_X86
extern const swl_gemm_path swl_gemm_path_avx2;
extern const swl_gemm_path swl_gemm_path_avx512;
#endif

#endif  // SWIFTLET_GEMM_H
