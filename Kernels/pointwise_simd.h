// A small vector vocabulary for the pointwise, LayerNorm and cross-entropy kernels, compiled
// once per ISA path. Define SWL_SIMD_WIDTH as 16 (AVX-512), 8 (AVX2 + FMA) or 1 (portable C),
// then include this file and a kernel-paths header: the same kernel text becomes
// name_avx512, name_avx2 or name_portable (see VEC). Include it again with another width for
// the next path; every name below is redefined. pointwise_each_path.h does the three passes.
//
// Vocabulary: vf (a vector of VW floats); vload/vstore; vload_n/vstore_n move only the first n
// lanes (n < VW) and fill the others with `fill`, so a row's tail is computed exactly like its
// body; vset1, vadd, vsub, vmul, vdiv, vfma (a·b + c), vmin/vmax (return b if either is NaN),
// vsqrt, vsel_gt / vsel_ge (a > b ? x : y), vsum / vhmax (horizontal, fixed order), vexp and
// vexp2 (2^t: a kernel that shifts and scales its argument folds log2 e into one FMA).
// vstream stores an aligned vector past the caches (no read-for-ownership of the line, and no
// eviction of data that is still wanted); a kernel that streamed calls swl_stream_fence before
// it returns, so its stores are visible to the thread that reads them next. vput picks vstore or
// vstream by a flag the caller sets from the output's size (swl_should_stream).
// vload_k/vstore_k take a lane count that is VW or less (folded away when it is the constant VW),
// and valign_head(p, n) is how many elements to peel so that p + head is vector-aligned:
// split cache-line accesses cost a third of the bandwidth with AVX-512. Peeling only moves
// elementwise work between lanes, so it never changes a result; reductions do not peel.
// vprefetch_span(a, j, count, ahead, write) prefetches the 64-byte lines that start in
// a[j, j + count), `ahead` floats on (0: none), from inside a loop a few lines at a time (SIMD
// paths only); vprefetch_burst(a, count, ahead, write) prefetches a[0, count) at once.
// VEC_FN marks inlined helpers, VEC_KERNEL the per-path kernels the dispatchers call.
#include "internal.h"

#ifndef SWL_POINTWISE_SIMD_ONCE
#define SWL_POINTWISE_SIMD_ONCE
// The per-path kernels of `name`, indexed by swl_isa; off x86 all three are the portable one.
#if SWL_HAS_X86
#define POINTWISE_PATHS(name) {name##_portable, name##_avx2, name##_avx512}
#else
#define POINTWISE_PATHS(name) {name##_portable, name##_portable, name##_portable}
#endif
#endif

#undef VW
#undef vf
#undef VEC
#undef VEC_FN
#undef VEC_KERNEL
#undef vload
#undef vstore
#undef vstream
#undef vput
#undef vload_n
#undef vstore_n
#undef vset1
#undef vadd
#undef vsub
#undef vmul
#undef vdiv
#undef vfma
#undef vmin
#undef vmax
#undef vsqrt
#undef vsel_gt
#undef vsel_ge
#undef vsum
#undef vhmax
#undef vexp
#undef vexp2
#undef vload_k
#undef vstore_k
#undef valign_head
#undef vprefetch_span
#undef vprefetch_burst

#if SWL_SIMD_WIDTH == 16 && SWL_HAS_X86
#include <immintrin.h>
#define VW 16
#define vf __m512
#define VEC(name) name##_avx512
#define VEC_FN static inline __attribute__((always_inline)) SWL_TARGET_AVX512
#define VEC_KERNEL static __attribute__((unused)) SWL_TARGET_AVX512

VEC_FN __mmask16 simd_first_lanes_avx512(int n) { return (__mmask16)((1u << n) - 1u); }
VEC_FN vf vload_avx512(const float *p) { return _mm512_loadu_ps(p); }
VEC_FN void vstore_avx512(float *p, vf v) { _mm512_storeu_ps(p, v); }
VEC_FN void vstream_avx512(float *p, vf v) { _mm512_stream_ps(p, v); }
VEC_FN vf vload_n_avx512(const float *p, int n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), simd_first_lanes_avx512(n), p);
}
VEC_FN void vstore_n_avx512(float *p, vf v, int n) {
    _mm512_mask_storeu_ps(p, simd_first_lanes_avx512(n), v);
}
VEC_FN vf vset1_avx512(float a) { return _mm512_set1_ps(a); }
VEC_FN vf vadd_avx512(vf a, vf b) { return _mm512_add_ps(a, b); }
VEC_FN vf vsub_avx512(vf a, vf b) { return _mm512_sub_ps(a, b); }
VEC_FN vf vmul_avx512(vf a, vf b) { return _mm512_mul_ps(a, b); }
VEC_FN vf vdiv_avx512(vf a, vf b) { return _mm512_div_ps(a, b); }
VEC_FN vf vfma_avx512(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
VEC_FN vf vmin_avx512(vf a, vf b) { return _mm512_min_ps(a, b); }
VEC_FN vf vmax_avx512(vf a, vf b) { return _mm512_max_ps(a, b); }
VEC_FN vf vsqrt_avx512(vf a) { return _mm512_sqrt_ps(a); }
VEC_FN vf vsel_gt_avx512(vf a, vf b, vf x, vf y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), y, x);
}
VEC_FN vf vsel_ge_avx512(vf a, vf b, vf x, vf y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GE_OQ), y, x);
}
VEC_FN float vsum_avx512(vf v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
VEC_FN float vhmax_avx512(vf v) {
    __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

#elif SWL_SIMD_WIDTH == 8 && SWL_HAS_X86
#include <immintrin.h>
#define VW 8
#define vf __m256
#define VEC(name) name##_avx2
#define VEC_FN static inline __attribute__((always_inline)) SWL_TARGET_AVX2
#define VEC_KERNEL static __attribute__((unused)) SWL_TARGET_AVX2

VEC_FN __m256i simd_first_lanes_avx2(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
VEC_FN vf vload_avx2(const float *p) { return _mm256_loadu_ps(p); }
VEC_FN void vstore_avx2(float *p, vf v) { _mm256_storeu_ps(p, v); }
VEC_FN void vstream_avx2(float *p, vf v) { _mm256_stream_ps(p, v); }
VEC_FN vf vload_n_avx2(const float *p, int n, float fill) {
    __m256i lanes = simd_first_lanes_avx2(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, lanes), _mm256_castsi256_ps(lanes));
}
VEC_FN void vstore_n_avx2(float *p, vf v, int n) { _mm256_maskstore_ps(p, simd_first_lanes_avx2(n), v); }
VEC_FN vf vset1_avx2(float a) { return _mm256_set1_ps(a); }
VEC_FN vf vadd_avx2(vf a, vf b) { return _mm256_add_ps(a, b); }
VEC_FN vf vsub_avx2(vf a, vf b) { return _mm256_sub_ps(a, b); }
VEC_FN vf vmul_avx2(vf a, vf b) { return _mm256_mul_ps(a, b); }
VEC_FN vf vdiv_avx2(vf a, vf b) { return _mm256_div_ps(a, b); }
VEC_FN vf vfma_avx2(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VEC_FN vf vmin_avx2(vf a, vf b) { return _mm256_min_ps(a, b); }
VEC_FN vf vmax_avx2(vf a, vf b) { return _mm256_max_ps(a, b); }
VEC_FN vf vsqrt_avx2(vf a) { return _mm256_sqrt_ps(a); }
VEC_FN vf vsel_gt_avx2(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GT_OQ)); }
VEC_FN vf vsel_ge_avx2(vf a, vf b, vf x, vf y) { return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_GE_OQ)); }
VEC_FN float vsum_avx2(vf v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
VEC_FN float vhmax_avx2(vf v) {
    __m128 q = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_max_ps(q, _mm_movehl_ps(q, q));
    q = _mm_max_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}
VEC_FN vf simd_round_avx2(vf a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
VEC_FN vf simd_pow2_avx2(vf k) {
    __m256i e = _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(e, 23));
}

#else  // portable: one float per "vector", plain C the compiler may vectorize
#include <math.h>
#include <string.h>
#define VW 1
#define vf float
#define VEC(name) name##_portable
#define VEC_FN static inline
#define VEC_KERNEL static __attribute__((unused))

VEC_FN vf vload_portable(const float *p) { return *p; }
VEC_FN void vstore_portable(float *p, vf v) { *p = v; }
VEC_FN void vstream_portable(float *p, vf v) { *p = v; }
VEC_FN vf vload_n_portable(const float *p, int n, float fill) { return n > 0 ? *p : fill; }
VEC_FN void vstore_n_portable(float *p, vf v, int n) { if (n > 0) *p = v; }
VEC_FN vf vset1_portable(float a) { return a; }
VEC_FN vf vadd_portable(vf a, vf b) { return a + b; }
VEC_FN vf vsub_portable(vf a, vf b) { return a - b; }
VEC_FN vf vmul_portable(vf a, vf b) { return a * b; }
VEC_FN vf vdiv_portable(vf a, vf b) { return a / b; }
VEC_FN vf vfma_portable(vf a, vf b, vf c) { return a * b + c; }
VEC_FN vf vmin_portable(vf a, vf b) { return a < b ? a : b; }
VEC_FN vf vmax_portable(vf a, vf b) { return a > b ? a : b; }
VEC_FN vf vsqrt_portable(vf a) { return sqrtf(a); }
VEC_FN vf vsel_gt_portable(vf a, vf b, vf x, vf y) { return a > b ? x : y; }
VEC_FN vf vsel_ge_portable(vf a, vf b, vf x, vf y) { return a >= b ? x : y; }
VEC_FN float vsum_portable(vf v) { return v; }
VEC_FN float vhmax_portable(vf v) { return v; }
VEC_FN vf simd_round_portable(vf a) {
    // Round to nearest with the 1.5·2²³ trick (no SSE4.1 needed): exact for |a| < 2²².
    return (a + 12582912.0f) - 12582912.0f;
}
VEC_FN vf simd_pow2_portable(vf k) {
    uint32_t bits = (uint32_t)((int32_t)k + 127) << 23;
    float result;
    memcpy(&result, &bits, sizeof result);
    return result;
}
#endif

#define vload VEC(vload)
#define vstore VEC(vstore)
#define vstream VEC(vstream)
#define vput VEC(vput)
#define vload_n VEC(vload_n)
#define vstore_n VEC(vstore_n)
#define vset1 VEC(vset1)
#define vadd VEC(vadd)
#define vsub VEC(vsub)
#define vmul VEC(vmul)
#define vdiv VEC(vdiv)
#define vfma VEC(vfma)
#define vmin VEC(vmin)
#define vmax VEC(vmax)
#define vsqrt VEC(vsqrt)
#define vsel_gt VEC(vsel_gt)
#define vsel_ge VEC(vsel_ge)
#define vsum VEC(vsum)
#define vhmax VEC(vhmax)
#define vexp VEC(vexp)
#define vexp2 VEC(vexp2)
#define vload_k VEC(vload_k)
#define vstore_k VEC(vstore_k)
#define valign_head VEC(valign_head)
#define vprefetch_span VEC(vprefetch_span)
#define vprefetch_burst VEC(vprefetch_burst)

VEC_FN vf VEC(vload_k)(const float *p, int lanes, float fill) {
    return lanes == VW ? vload(p) : vload_n(p, lanes, fill);
}

VEC_FN void VEC(vput)(float *p, vf v, bool stream) {
    if (stream) vstream(p, v);
    else vstore(p, v);
}

VEC_FN void VEC(vstore_k)(float *p, vf v, int lanes) {
    if (lanes == VW) vstore(p, v);
    else vstore_n(p, v, lanes);
}

VEC_FN size_t VEC(valign_head)(const float *p, size_t n) {
    size_t bytes = VW * sizeof(float);
    size_t head = ((bytes - ((uintptr_t)p % bytes)) % bytes) / sizeof(float);
    return SWL_MIN(head, n);
}

// Issued a few lines at a time from inside a row's loops: a whole row's worth at once fills the
// core's queue of outstanding misses and stalls the loads the loop itself is waiting for.
// Plain C (VW 1) skips them: a prefetch inside its loops costs a branch per element and keeps the
// compiler from vectorizing them; it prefetches whole rows first with vprefetch_burst instead.
VEC_FN void VEC(vprefetch_span)(const float *a, int j, int count, size_t ahead, bool write) {
    if (ahead == 0 || VW == 1) return;
    for (int k = (j + 15) & ~15; k < j + count; k += 16) {
        if (write) __builtin_prefetch(a + k + ahead, 1);
        else __builtin_prefetch(a + k + ahead);
    }
}

// Prefetches the lines of a[0, count), `ahead` floats on (0: none), all at once.
VEC_FN void VEC(vprefetch_burst)(const float *a, int count, size_t ahead, bool write) {
    if (ahead == 0) return;
    for (int k = 0; k < count; k += 16) {
        if (write) __builtin_prefetch(a + k + ahead, 1);
        else __builtin_prefetch(a + k + ahead);
    }
}

// 2^f for f in [−½, ½]: Cephes' exp2f polynomial, about 1 ulp.
VEC_FN vf VEC(exp2_reduced)(vf f) {
    vf p = vset1(1.535336188319500e-4f);
    p = vfma(p, f, vset1(1.339887440266574e-3f));
    p = vfma(p, f, vset1(9.618437357674640e-3f));
    p = vfma(p, f, vset1(5.550332471162809e-2f));
    p = vfma(p, f, vset1(2.402264791363012e-1f));
    p = vfma(p, f, vset1(6.931472028550421e-1f));
    return vfma(p, f, vset1(1.0f));
}

#if VW == 16
// 2^t = 2^k·2^f with k = round(t) and f = t − k ∈ [−½, ½] from one vreduceps; vscalefps
// applies 2^k with IEEE overflow to inf and gradual underflow to 0, and vreduceps gives f = 0
// for ±inf, so no input needs clamping: −inf gives 0, +inf gives inf, NaN stays NaN.
VEC_FN vf VEC(vexp2)(vf t) {
    vf f = _mm512_reduce_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm512_scalef_ps(VEC(exp2_reduced)(f), vsub(t, f));
}

// exp(a) = 2^(a·log2 e). Rounding the product adds a relative error of about |a|·6e-8, the
// same order as the rounding already in a itself.
VEC_FN vf VEC(vexp)(vf a) { return VEC(vexp2)(vmul(a, vset1(SWL_LOG2E))); }
#else
// 2^t = 2^k·2^f with k = round(t), f = t − k exact. 2^k is built in the exponent bits, so k
// stays in [−126, 128]: t ≥ 127.5 gives inf (k = 128 builds inf's bits), t < −126 gives
// exactly 0 (no subnormals). NaN stays NaN (vmin and vmax return their second operand then).
VEC_FN vf VEC(vexp2)(vf t) {
    vf x = vmin(vset1(128.0f), t);
    vf k = VEC(simd_round)(x);
    vf e = vmul(VEC(exp2_reduced)(vsub(x, k)), VEC(simd_pow2)(vmax(k, vset1(-126.0f))));
    return vsel_gt(vset1(-126.0f), x, vset1(0.0f), e);
}

// exp(a) = 2^k·exp(r) with k = round(a·log2 e) and r = a − k·ln 2 split in two parts
// (Cody–Waite), |r| ≤ ln2/2, and Cephes' degree-6 polynomial: about 1 ulp. 2^k is built in
// the exponent bits, so k must stay in [−126, 127]: inputs above 88 give e^88 (finite) and
// inputs below −87.3 give exactly 0. NaN stays NaN (vmin returns its second operand then).
VEC_FN vf VEC(vexp)(vf a) {
#if VW == 1
    vf x = a > 88.0f ? 88.0f : a;
#else
    vf x = vmin(vset1(88.0f), a);
#endif
    vf k = VEC(simd_round)(vmul(x, vset1(SWL_LOG2E)));
    vf r = vfma(k, vset1(-SWL_EXP_LN2_HIGH), x);
    r = vfma(k, vset1(-SWL_EXP_LN2_LOW), r);
    vf p = vset1(SWL_EXP_P0);
    p = vfma(p, r, vset1(SWL_EXP_P1));
    p = vfma(p, r, vset1(SWL_EXP_P2));
    p = vfma(p, r, vset1(SWL_EXP_P3));
    p = vfma(p, r, vset1(SWL_EXP_P4));
    p = vfma(p, r, vset1(SWL_EXP_P5));
    p = vfma(p, vmul(r, r), vadd(r, vset1(1.0f)));
    vf e = vmul(p, VEC(simd_pow2)(vmax(k, vset1(-126.0f))));  // NaN k gives −126: no UB
    return vsel_gt(vset1(-87.33654f), x, vset1(0.0f), e);
}
#endif
