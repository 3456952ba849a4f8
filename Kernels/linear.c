// Linear layer: out = x·Wᵀ + b and its backward, as three products on the packed GEMM (gemm.c):
//   forward  out (N,OC) = x (N,C) · Wᵀ      — B is W read transposed
//   backward dx  (N,C) += dout (N,OC) · W       (or =: swl_linear_input_gradient)
//            dW (OC,C) += doutᵀ (OC,N) · x  — A is dout read transposed (or =: swl_linear_weight_gradient)
// db is a column sum of dout. A few rows take the unpacked skinny products (gemm_skinny.c)
// instead. Nothing here depends on the thread count.
#include <string.h>

#include "gemm.h"

// Row counts up to which the skinny products beat the packed GEMM (measured on Zen 5 with
// AVX-512 and AVX2 at C = 768, OC = 2304: forward 4.5× faster at N = 1, still ahead at N = 4).
enum { SKINNY_FORWARD_ROWS = SWL_SKINNY_ROWS, SKINNY_DX_ROWS = 2 };

// out is (N,OC), x is (N,C), weight is (OC,C), bias is (OC) or NULL.
void swl_linear_forward(float *out, const float *x, const float *weight, const float *bias,
                        int N, int C, int OC) {
    if (N <= SKINNY_FORWARD_ROWS) {
        swl_skinny_nt(out, x, weight, bias, N, OC, C);
        return;
    }
    swl_gemm_view a = {x, (size_t)C, 1};
    swl_gemm_view b = {weight, 1, (size_t)C};  // B(c, o) = W[o, c]
    swl_gemm(out, (size_t)OC, a, b, bias, SWL_GEMM_OVERWRITE, N, OC, C);
}

// dbias (OC) += Σ_n dout[n, ·]. Threads take disjoint column blocks; each column sums its rows
// in order, and the inner loop over columns vectorizes without reordering any sum.
static void bias_backward(float *dbias, const float *dout, int N, int OC) {
    enum { COLUMNS = 256 };
    int blocks = (OC + COLUMNS - 1) / COLUMNS;
    SWL_PARALLEL_FOR
    for (int block = 0; block < blocks; block++) {
        int o0 = block * COLUMNS, width = SWL_MIN(COLUMNS, OC - o0);
        float sum[COLUMNS] = {0};
        for (int n = 0; n < N; n++) {
            const float *row = dout + (size_t)n * OC + o0;
            for (int o = 0; o < width; o++) sum[o] += row[o];
        }
        for (int o = 0; o < width; o++) dbias[o0 + o] += sum[o];
    }
}

// dweight (OC,C) += or = doutᵀ·x. Overwriting gives the bits of adding into zeros: the GEMM sets C
// to 0 + the first K block's sum, then adds the others in the same order.
static void weight_gradient(float *dweight, const float *dout, const float *x, int N, int C, int OC,
                            swl_gemm_mode mode) {
    swl_gemm_view a = {dout, 1, (size_t)OC};  // A(o, n) = dout[n, o]
    swl_gemm_view b = {x, (size_t)C, 1};
    swl_gemm(dweight, (size_t)C, a, b, NULL, mode, OC, C, N);
}

// dx is (N,C), dweight is (OC,C), dbias is (OC); each may be NULL. dout is (N,OC).
void swl_linear_backward(float *dx, float *dweight, float *dbias, const float *dout,
                         const float *x, const float *weight, int N, int C, int OC) {
    if (dx != NULL && N <= SKINNY_DX_ROWS) {
        swl_skinny_nn_accumulate(dx, dout, weight, N, C, OC);
    } else if (dx != NULL) {
        swl_gemm_view a = {dout, (size_t)OC, 1};
        swl_gemm_view b = {weight, (size_t)C, 1};
        swl_gemm(dx, (size_t)C, a, b, NULL, SWL_GEMM_ACCUMULATE, N, C, OC);
    }
    if (dweight != NULL) weight_gradient(dweight, dout, x, N, C, OC, SWL_GEMM_ACCUMULATE);
    if (dbias != NULL) bias_backward(dbias, dout, N, OC);
}

void swl_linear_weight_gradient(float *dweight, const float *dout, const float *x, int N, int C, int OC) {
    weight_gradient(dweight, dout, x, N, C, OC, SWL_GEMM_OVERWRITE);
}

// dx (N,C) = dout·W. The GEMM's overwrite sets C to 0 + the first K block's sum, as adding into a
// zeroed dx would; the skinny product has no overwriting form, so its few rows are zeroed first.
void swl_linear_input_gradient(float *dx, const float *dout, const float *weight, int N, int C, int OC) {
    if (N <= SKINNY_DX_ROWS) {
        memset(dx, 0, sizeof(float) * (size_t)N * (size_t)C);
        swl_skinny_nn_accumulate(dx, dout, weight, N, C, OC);
        return;
    }
    swl_gemm_view a = {dout, (size_t)OC, 1};
    swl_gemm_view b = {weight, (size_t)C, 1};
    swl_gemm(dx, (size_t)C, a, b, NULL, SWL_GEMM_OVERWRITE, N, C, OC);
}
