// 8×8 transposes with AVX for packing operands that are contiguous along K (x, dout, W rows)
// into the micro-kernels' K-major panels, and for flash attention's tiles (dSᵀ, and Qᵀ, Kᵀ, Vᵀ, dOᵀ
// from rows of (T,hs)). Its functions carry the AVX2 target: call them only from code compiled for
// AVX2 or AVX-512.
#ifndef SWIFTLET_GEMM_TRANSPOSE_H
#define SWIFTLET_GEMM_TRANSPOSE_H

#include <immintrin.h>

#include "gemm.h"

// dst[k·dst_stride + i] = src[i·src_stride + k] for 8 rows i and kc columns k.
SWL_TARGET_AVX2
static inline void swl_transpose8_avx(float *dst, size_t dst_stride, const float *src,
                                      size_t src_stride, int kc) {
    int k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r0 = _mm256_loadu_ps(src + 0 * src_stride + k);
        __m256 r1 = _mm256_loadu_ps(src + 1 * src_stride + k);
        __m256 r2 = _mm256_loadu_ps(src + 2 * src_stride + k);
        __m256 r3 = _mm256_loadu_ps(src + 3 * src_stride + k);
        __m256 r4 = _mm256_loadu_ps(src + 4 * src_stride + k);
        __m256 r5 = _mm256_loadu_ps(src + 5 * src_stride + k);
        __m256 r6 = _mm256_loadu_ps(src + 6 * src_stride + k);
        __m256 r7 = _mm256_loadu_ps(src + 7 * src_stride + k);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float *out = dst + (size_t)k * dst_stride;
        _mm256_storeu_ps(out + 0 * dst_stride, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(out + 1 * dst_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(out + 2 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(out + 3 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(out + 4 * dst_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(out + 5 * dst_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(out + 6 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
        _mm256_storeu_ps(out + 7 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
    for (; k < kc; k++)
        for (int i = 0; i < 8; i++) dst[(size_t)k * dst_stride + i] = src[(size_t)i * src_stride + k];
}

#endif  // SWIFTLET_GEMM_TRANSPOSE_H
