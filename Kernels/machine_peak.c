// Machine measurement for the benchmark harness: fp32 FMA peak and streaming memory bandwidth.
//
// The peak loop keeps independent FMA chains in registers (no loads or stores), enough of them to
// cover FMA latency × FMA ports, so the FMA units never wait. The bandwidth loop is an in-place
// triad a[i] = a[i] + s·b[i] over buffers far larger than the last-level cache: 3 × 4 bytes per
// element (two reads, one write), which is also the traffic the memory really sees. (STREAM's
// a[i] = b[i] + s·c[i] pays an uncounted write-allocate read of a and so reads 25% low; an
// in-place kernel such as AdamW would then show more than 100% of "peak".)
// Both take the best of several trials, as STREAM and peak-FLOPS tools do: the best trial is the
// one least disturbed by the rest of the system.
#define _POSIX_C_SOURCE 199309L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#if SWL_HAS_X86
#include <immintrin.h>
#endif

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ---------------------------------------------------------------------------------------------
// FMA peak. Each function runs `iterations` rounds of its chains and returns a value derived from
// every accumulator, so the compiler cannot drop any chain. a ← a·m + c with m < 1 converges to
// c/(1−m), so values stay normal (no denormal slowdowns, no overflow).

// 16 zmm chains × 16 lanes × 2 flops = 512 flops per round. Zen 5 and Intel server cores have
// 2 FMA ports with 4-cycle latency: 8 chains would suffice, 16 leave slack for other cores.
#define PEAK_CHAINS_512 16
#define FLOPS_PER_ROUND_512 (PEAK_CHAINS_512 * 16 * 2)
// AVX2 has 16 ymm registers: 12 chains + 2 constants fit without spills.
#define PEAK_CHAINS_256 12
#define FLOPS_PER_ROUND_256 (PEAK_CHAINS_256 * 8 * 2)
// Portable: 12 chains of 4-float vectors (GCC/clang vector extension): SSE2 on baseline x86-64,
// NEON on arm64 — what the portable kernels' auto-vectorized loops run on. Plain scalar chains
// get vectorized with shuffles and spills and would understate this peak.
#define PEAK_CHAINS_PORTABLE 12
#define FLOPS_PER_ROUND_PORTABLE (PEAK_CHAINS_PORTABLE * 4 * 2)
typedef float swl_float4 __attribute__((vector_size(16)));

#if SWL_HAS_X86
SWL_TARGET_AVX512 static float fma_rounds_avx512(long iterations, float seed) {
    const __m512 m = _mm512_set1_ps(0.999f);
    const __m512 c = _mm512_set1_ps(0.001f);
    __m512 a[PEAK_CHAINS_512];
    for (int j = 0; j < PEAK_CHAINS_512; j++) a[j] = _mm512_set1_ps(seed + (float)j);
    for (long i = 0; i < iterations; i++) {
        // A fixed-size loop over a register array: clang keeps all 16 in zmm registers.
        for (int j = 0; j < PEAK_CHAINS_512; j++) a[j] = _mm512_fmadd_ps(a[j], m, c);
    }
    __m512 sum = a[0];
    for (int j = 1; j < PEAK_CHAINS_512; j++) sum = _mm512_add_ps(sum, a[j]);
    return _mm512_reduce_add_ps(sum);
}

SWL_TARGET_AVX2 static float fma_rounds_avx2(long iterations, float seed) {
    const __m256 m = _mm256_set1_ps(0.999f);
    const __m256 c = _mm256_set1_ps(0.001f);
    __m256 a[PEAK_CHAINS_256];
    for (int j = 0; j < PEAK_CHAINS_256; j++) a[j] = _mm256_set1_ps(seed + (float)j);
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < PEAK_CHAINS_256; j++) a[j] = _mm256_fmadd_ps(a[j], m, c);
    }
    __m256 sum = a[0];
    for (int j = 1; j < PEAK_CHAINS_256; j++) sum = _mm256_add_ps(sum, a[j]);
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    float total = 0.0f;
    for (int j = 0; j < 8; j++) total += lanes[j];
    return total;
}
#endif

static float fma_rounds_portable(long iterations, float seed) {
    const swl_float4 m = {0.999f, 0.999f, 0.999f, 0.999f};
    const swl_float4 c = {0.001f, 0.001f, 0.001f, 0.001f};
    swl_float4 a[PEAK_CHAINS_PORTABLE];
    for (int j = 0; j < PEAK_CHAINS_PORTABLE; j++) {
        float start = seed + (float)j;
        a[j] = (swl_float4){start, start, start, start};
    }
    for (long i = 0; i < iterations; i++) {
        for (int j = 0; j < PEAK_CHAINS_PORTABLE; j++) a[j] = a[j] * m + c;
    }
    float total = 0.0f;
    for (int j = 0; j < PEAK_CHAINS_PORTABLE; j++) total += a[j][0] + a[j][1] + a[j][2] + a[j][3];
    return total;
}

/// Runs `iterations` rounds on the active ISA path; returns flops per round through `flops`.
static float fma_rounds(swl_isa isa, long iterations, float seed, double *flops_per_round) {
#if SWL_HAS_X86
    if (isa == SWL_ISA_AVX512) {
        *flops_per_round = FLOPS_PER_ROUND_512;
        return fma_rounds_avx512(iterations, seed);
    }
    if (isa == SWL_ISA_AVX2) {
        *flops_per_round = FLOPS_PER_ROUND_256;
        return fma_rounds_avx2(iterations, seed);
    }
#else
    (void)isa;  // one path off x86
#endif
    *flops_per_round = FLOPS_PER_ROUND_PORTABLE;
    return fma_rounds_portable(iterations, seed);
}

// Keeps the results observable so the loops are not removed.
static volatile float peak_sink;

double swl_measure_fma_gflops(int threads, double seconds) {
    if (threads < 1) threads = 1;
    if (seconds <= 0.0) seconds = 0.1;
    swl_isa isa = swl_isa_active();
    double flops_per_round = 0.0;

    // Calibrate on one thread: rounds that take about a fifth of the time budget.
    long iterations = 1 << 16;
    for (;;) {
        double start = now_seconds();
        peak_sink = fma_rounds(isa, iterations, 1.0f, &flops_per_round);
        double elapsed = now_seconds() - start;
        if (elapsed > 0.02 || iterations > (1L << 40)) {
            iterations = (long)((double)iterations * (seconds / 5.0) / elapsed) + 1;
            break;
        }
        iterations *= 4;
    }

    double best = 0.0;
    double budget_end = now_seconds() + seconds;
    // At least 5 trials, then more while the time budget lasts (at most 50).
    for (int trial = 0; trial < 50; trial++) {
        if (trial >= 5 && now_seconds() >= budget_end) break;
        double elapsed = 0.0;
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
        {
            double rounds_flops = 0.0;
#pragma omp barrier
            double start = now_seconds();
            float value = fma_rounds(isa, iterations, (float)omp_get_thread_num(), &rounds_flops);
#pragma omp barrier
            // Every thread has finished once the barrier opens: one of them reads the clock.
#pragma omp master
            {
                elapsed = now_seconds() - start;
                peak_sink = value;
            }
        }
#else
        double start = now_seconds();
        peak_sink = fma_rounds(isa, iterations, 0.0f, &flops_per_round);
        elapsed = now_seconds() - start;
        threads = 1;
#endif
        double gflops = (double)threads * (double)iterations * flops_per_round / elapsed * 1e-9;
        if (gflops > best) best = gflops;
    }
    return best;
}

// ---------------------------------------------------------------------------------------------
// Streaming bandwidth: in-place triad over two arrays of bytes/2 each.

double swl_triad_pass_gbs(float *a, const float *b, size_t n, int threads) {
    if (threads < 1) threads = 1;
    // a grows by 0.5 per pass: it stays far from overflow for any pass count used here.
    const float s = 0.5f;
    const long count = (long)n;
    double start = now_seconds();
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (long i = 0; i < count; i++) a[i] = a[i] + s * b[i];
    double elapsed = now_seconds() - start;
    peak_sink = a[n / 2];
    return elapsed > 0 ? 3.0 * (double)(n * sizeof(float)) / elapsed * 1e-9 : 0.0;
}

double swl_measure_bandwidth_gbs(int threads, size_t bytes) {
    if (threads < 1) threads = 1;
    size_t n = bytes / (2 * sizeof(float));
    n -= n % 64;
    if (n < 64) n = 64;
    size_t array_bytes = n * sizeof(float);
    float *a = aligned_alloc(64, array_bytes);
    float *b = aligned_alloc(64, array_bytes);
    if (a == NULL || b == NULL) {
        free(a);
        free(b);
        return 0.0;
    }
    long count = (long)n;
    // First touch with the same static split as the timed loop, so each thread's pages are its own.
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (long i = 0; i < count; i++) {
        a[i] = 0.0f;
        b[i] = 1.0f;
    }
    double best = 0.0;
    for (int trial = 0; trial < 10; trial++) {
        double gbs = swl_triad_pass_gbs(a, b, n, threads);
        if (gbs > best) best = gbs;
    }
    free(a);
    free(b);
    return best;
}

// ---------------------------------------------------------------------------------------------
// Read-only and write-only bandwidth over one array of `bytes`: the two ceilings the triad mixes.
// A kernel that only reads (cross-entropy's forward) or mostly writes (the causal softmax's
// forward, which writes twice what it reads) is held to its own one. Counted as the array's bytes.

// A 16-byte vector of the portable build (SSE2 on x86-64, NEON on arm64), for the write loop's
// non-temporal stores.
typedef float float4 __attribute__((vector_size(16)));

// Allocates `bytes` (whole 64-byte lines) and touches every page with the static split the timed
// loops use, so each thread's pages are its own. NULL on failure.
static float *allocate_touched(size_t bytes, size_t *count, int threads) {
    size_t n = bytes / sizeof(float);
    n -= n % 64;
    if (n < 64) n = 64;
    float *a = aligned_alloc(64, n * sizeof(float));
    if (a == NULL) return NULL;
    long total = (long)n;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads)
#endif
    for (long i = 0; i < total; i++) a[i] = 1.0f;
    *count = n;
    return a;
}

// One timed pass reading all n floats of a (an XOR of their bit patterns: an integer reduction
// the compiler vectorizes without reassociating float sums, and one no load can be left out of).
// Returns the seconds it took.
static double read_pass(float *a, size_t n, int threads, int trial) {
    (void)trial;
    const unsigned *words = (const unsigned *)a;
    const long count = (long)n;
    unsigned folded = 0;
    double start = now_seconds();
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(threads) reduction(^ : folded)
#endif
    for (long i = 0; i < count; i++) folded ^= words[i];
    double elapsed = now_seconds() - start;
    peak_sink = (float)folded;
    return elapsed;
}

// One timed pass writing all n floats of a with streaming stores. Returns the seconds it took.
static double write_pass(float *a, size_t n, int threads, int trial) {
    float4 *vectors = (float4 *)a;
    const long count = (long)(n / 4);
    const float4 value = {(float)trial, 1.0f, 2.0f, 3.0f};
    double start = now_seconds();
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
#endif
    {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (long i = 0; i < count; i++) __builtin_nontemporal_store(value, &vectors[i]);
        swl_stream_fence();
    }
    double elapsed = now_seconds() - start;
    peak_sink = a[n / 2];
    return elapsed;
}

// The best of 10 passes over one array of `bytes`, in GB/s of its bytes.
static double best_pass_gbs(double (*pass)(float *, size_t, int, int), int threads, size_t bytes) {
    if (threads < 1) threads = 1;
    size_t n = 0;
    float *a = allocate_touched(bytes, &n, threads);
    if (a == NULL) return 0.0;
    double best = 0.0;
    for (int trial = 0; trial < 10; trial++) {
        double gbs = (double)n * sizeof(float) / pass(a, n, threads, trial) * 1e-9;
        if (gbs > best) best = gbs;
    }
    free(a);
    return best;
}

double swl_measure_read_bandwidth_gbs(int threads, size_t bytes) {
    return best_pass_gbs(read_pass, threads, bytes);
}

double swl_measure_write_bandwidth_gbs(int threads, size_t bytes) {
    return best_pass_gbs(write_pass, threads, bytes);
}
