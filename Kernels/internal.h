// Private helpers shared by the kernel files: OpenMP shims and ISA target attributes.
// Never included from the public header (C settings do not reach the Swift importer).
#ifndef SWIFTLET_INTERNAL_H
#define SWIFTLET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "SwiftletKernels.h"

// omp.h is not on any default include path here, so declare the few runtime calls we use.
#ifdef _OPENMP
int omp_get_max_threads(void);
int omp_get_thread_num(void);
int omp_get_num_threads(void);
void omp_set_num_threads(int n);
#define SWL_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
static inline int omp_get_max_threads(void) { return 1; }
static inline int omp_get_thread_num(void) { return 0; }
static inline int omp_get_num_threads(void) { return 1; }
static inline void omp_set_num_threads(int n) { (void)n; }
#define SWL_PARALLEL_FOR
#endif

// Per-function ISA targets: the file compiles without -march, and dispatch picks at run time.
#if defined(__x86_64__) || defined(__i386__)
#define SWL_HAS_X86 1
#define SWL_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx2")))
#define SWL_TARGET_AVX2 __attribute__((target("avx2,fma")))
#else
#define SWL_HAS_X86 0
#define SWL_TARGET_AVX512
#define SWL_TARGET_AVX2
#endif

/// 1 on an AMD CPU (CPUID's vendor string), else 0: for tuning choices measured to go opposite
/// ways on AMD's and Intel's cores (never for results).
int swl_cpu_is_amd(void);
/// Bytes of one core's L2 cache as the C library reports it (glibc reads CPUID); 1 MiB where it
/// cannot tell. For cache blocking only (never for results).
size_t swl_l2_cache_bytes(void);

#define SWL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SWL_MAX(a, b) ((a) > (b) ? (a) : (b))
// This thread's share [first, end) of `count` items cut into one contiguous run per thread of
// the enclosing parallel region (all of them outside one); the runs differ by at most one item.
typedef struct {
    size_t first, end;
} swl_share;
static inline swl_share swl_thread_share(size_t count) {
    const size_t threads = (size_t)omp_get_num_threads(), thread = (size_t)omp_get_thread_num();
    return (swl_share){count * thread / threads, count * (thread + 1) / threads};
}

// log2 e as a float: exp(a) = 2^(a·log2 e), the form every kernel's exp takes.
#define SWL_LOG2E 1.44269504088896341f

// Cephes' expf, shared by swl_exp (attention_simd.h), its AVX-512 twin exp16_avx512
// (attention_flash.c) and the Cody–Waite vexp of pointwise_simd.h: r = x − n·ln 2 with ln 2 split
// in two (LN2_HIGH has few bits, so n·LN2_HIGH is exact), then e^r ≈ 1 + r + r²·p(r) on
// |r| ≤ ln2/2 with p(r) = ((((P0·r + P1)·r + P2)·r + P3)·r + P4)·r + P5.
#define SWL_EXP_LN2_HIGH 0.693359375f
#define SWL_EXP_LN2_LOW (-2.12194440e-4f)
#define SWL_EXP_P0 1.9875691500e-4f
#define SWL_EXP_P1 1.3981999507e-3f
#define SWL_EXP_P2 8.3334519073e-3f
#define SWL_EXP_P3 4.1665795894e-2f
#define SWL_EXP_P4 1.6666665459e-1f
#define SWL_EXP_P5 5.0000001201e-1f

// An output this large is written with streaming stores (vstream in pointwise_simd.h): it would
// not stay in Zen 5's 32 MiB L3 beside its inputs anyway, and a normal store first reads every
// line it writes (read-for-ownership), a third more memory traffic for a kernel that reads one
// array and writes another. Smaller outputs stay in cache for the kernel that reads them next.
#define SWL_STREAMING_STORE_BYTES ((size_t)8 << 20)
static inline bool swl_should_stream(size_t output_bytes) {
    return output_bytes >= SWL_STREAMING_STORE_BYTES;
}

// Orders this thread's streaming stores before whatever it does next (they are weakly ordered);
// a kernel that streamed calls it once before it returns.
#if SWL_HAS_X86
#include <xmmintrin.h>
static inline void swl_stream_fence(void) { _mm_sfence(); }
#else
static inline void swl_stream_fence(void) {}
#endif

#endif  // SWIFTLET_INTERNAL_H
