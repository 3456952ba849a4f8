// Matrix-vector products for decoding: out = x·Wᵀ + b with very few rows of x (one per new token).
//
// With N = 1 a linear layer is memory-bound: every weight is read once and used once, so speed is
// how fast W streams from memory. Threads take contiguous blocks of output rows (static schedule)
// and stream their part of W front to back; four weight rows are walked side by side so the
// prefetcher sees four sequential streams. Each output is one dot product summed in a fixed order
// (lane-wise partial sums over the 16- or 8-float chunks, then a fixed reduction), so results do
// not depend on the thread count.
#include <stddef.h>

#include "internal.h"

#if SWL_HAS_X86
#include <immintrin.h>
#endif

enum { ROWS = 4 };  // weight rows walked together

// ---------------------------------------------------------------------------------------------
// Portable

// out[r] = x · w_r for `rows` consecutive weight rows (rows ≤ ROWS) of length C.
static void dot_rows_portable(float *out, const float *x, const float *w, int rows, int C) {
    for (int r = 0; r < rows; r++) {
        const float *wr = w + (size_t)r * C;
        float lanes[8] = {0};
        int c = 0;
        for (; c + 8 <= C; c += 8)
            for (int l = 0; l < 8; l++) lanes[l] += x[c + l] * wr[c + l];
        float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
        for (; c < C; c++) sum += x[c] * wr[c];
        out[r] = sum;
    }
}

#if SWL_HAS_X86
// ---------------------------------------------------------------------------------------------
// AVX2: 8 lanes; the tail (C mod 8) is added scalar after the lane reduction.

SWL_TARGET_AVX2 static inline float reduce8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SWL_TARGET_AVX2 static void dot_rows_avx2(float *out, const float *x, const float *w, int rows, int C) {
    if (rows == ROWS) {
        const float *w0 = w, *w1 = w + C, *w2 = w + 2 * (size_t)C, *w3 = w + 3 * (size_t)C;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        int c = 0;
        for (; c + 8 <= C; c += 8) {
            __m256 xv = _mm256_loadu_ps(x + c);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w0 + c), xv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w1 + c), xv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w2 + c), xv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w3 + c), xv, a3);
        }
        float s0 = reduce8(a0), s1 = reduce8(a1), s2 = reduce8(a2), s3 = reduce8(a3);
        for (; c < C; c++) {
            s0 += x[c] * w0[c]; s1 += x[c] * w1[c]; s2 += x[c] * w2[c]; s3 += x[c] * w3[c];
        }
        out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3;
        return;
    }
    for (int r = 0; r < rows; r++) {  // the same arithmetic one row at a time
        const float *wr = w + (size_t)r * C;
        __m256 a = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= C; c += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(wr + c), _mm256_loadu_ps(x + c), a);
        float s = reduce8(a);
        for (; c < C; c++) s += x[c] * wr[c];
        out[r] = s;
    }
}

// ---------------------------------------------------------------------------------------------
// AVX-512: 16 lanes; the tail (C mod 16) is a masked load, so it joins the lanes before reducing.

SWL_TARGET_AVX512 static void dot_rows_avx512(float *out, const float *x, const float *w, int rows, int C) {
    const int full = C / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (C - full)) - 1u);
    if (rows == ROWS) {
        const float *w0 = w, *w1 = w + C, *w2 = w + 2 * (size_t)C, *w3 = w + 3 * (size_t)C;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int c = 0; c < full; c += 16) {
            __m512 xv = _mm512_loadu_ps(x + c);
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + c), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + c), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + c), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + c), xv, a3);
        }
        if (tail) {
            __m512 xv = _mm512_maskz_loadu_ps(tail, x + full);
            a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w0 + full), xv, a0);
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w1 + full), xv, a1);
            a2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w2 + full), xv, a2);
            a3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, w3 + full), xv, a3);
        }
        out[0] = _mm512_reduce_add_ps(a0); out[1] = _mm512_reduce_add_ps(a1);
        out[2] = _mm512_reduce_add_ps(a2); out[3] = _mm512_reduce_add_ps(a3);
        return;
    }
    for (int r = 0; r < rows; r++) {  // the same arithmetic one row at a time
        const float *wr = w + (size_t)r * C;
        __m512 a = _mm512_setzero_ps();
        for (int c = 0; c < full; c += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(wr + c), _mm512_loadu_ps(x + c), a);
        if (tail) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, wr + full), _mm512_maskz_loadu_ps(tail, x + full), a);
        out[r] = _mm512_reduce_add_ps(a);
    }
}
#endif

// ---------------------------------------------------------------------------------------------

typedef void (*dot_rows_fn)(float *out, const float *x, const float *w, int rows, int C);

static dot_rows_fn dot_rows_for(swl_isa isa) {
#if SWL_HAS_X86
    if (isa == SWL_ISA_AVX512) return dot_rows_avx512;
    if (isa == SWL_ISA_AVX2) return dot_rows_avx2;
#endif
    (void)isa;
    return dot_rows_portable;
}

// out (N,OC) = x (N,C) · weight (OC,C)ᵀ + bias (OC, or NULL).
void swl_matvec_forward(float *out, const float *x, const float *weight, const float *bias,
                        int N, int C, int OC) {
    const dot_rows_fn dot_rows = dot_rows_for(swl_isa_active());
    const int blocks = (OC + ROWS - 1) / ROWS;
    SWL_PARALLEL_FOR
    for (int block = 0; block < blocks; block++) {
        const int first = block * ROWS, rows = SWL_MIN(ROWS, OC - first);
        const float *w = weight + (size_t)first * C;
        for (int n = 0; n < N; n++) {  // the block's weight rows stay in L1 across the x rows
            float *o = out + (size_t)n * OC + first;
            dot_rows(o, x + (size_t)n * C, w, rows, C);
            if (bias)
                for (int r = 0; r < rows; r++) o[r] += bias[first + r];
        }
    }
}
