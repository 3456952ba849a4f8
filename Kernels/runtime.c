// Run-time choices and facts: which ISA path the kernels take, how many threads they use, and
// what the CPU is (vendor, L2 size) for tuning choices that depend on it.
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#if SWL_HAS_X86
#include <cpuid.h>
#endif

// clang 21 emits calls to __kmpc_dispatch_deinit after dynamic/guided schedules; Debian's
// libomp 14 lacks it. A weak no-op (what libomp 19 does) keeps such loops linkable.
#ifdef _OPENMP
__attribute__((weak)) void __kmpc_dispatch_deinit(void *loc, int gtid) { (void)loc; (void)gtid; }
#endif

static int isa_supported(swl_isa isa) {
    switch (isa) {
    case SWL_ISA_PORTABLE: return 1;
#if SWL_HAS_X86
    case SWL_ISA_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SWL_ISA_AVX512:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("fma");
#endif
    default: return 0;
    }
}

swl_isa swl_isa_best(void) {
    if (isa_supported(SWL_ISA_AVX512)) return SWL_ISA_AVX512;
    if (isa_supported(SWL_ISA_AVX2)) return SWL_ISA_AVX2;
    return SWL_ISA_PORTABLE;
}

// -1 until first use; then the path chosen from SWIFTLET_ISA or the CPU.
static int active_isa = -1;

static swl_isa isa_from_environment(void) {
    swl_isa best = swl_isa_best();
    const char *requested = getenv("SWIFTLET_ISA");
    if (requested == NULL || requested[0] == '\0') return best;
    swl_isa wanted = best;
    if (strcmp(requested, "portable") == 0) wanted = SWL_ISA_PORTABLE;
    else if (strcmp(requested, "avx2") == 0) wanted = SWL_ISA_AVX2;
    else if (strcmp(requested, "avx512") == 0) wanted = SWL_ISA_AVX512;
    // An unknown or unsupported request falls back to the best path rather than crashing.
    return isa_supported(wanted) ? wanted : best;
}

swl_isa swl_isa_active(void) {
    int isa = __atomic_load_n(&active_isa, __ATOMIC_RELAXED);
    if (isa < 0) {
        isa = (int)isa_from_environment();
        __atomic_store_n(&active_isa, isa, __ATOMIC_RELAXED);
    }
    return (swl_isa)isa;
}

int swl_isa_set(swl_isa isa) {
    if (!isa_supported(isa)) return -1;
    __atomic_store_n(&active_isa, (int)isa, __ATOMIC_RELAXED);
    return 0;
}

const char *swl_isa_name(swl_isa isa) {
    switch (isa) {
    case SWL_ISA_PORTABLE: return "portable";
    case SWL_ISA_AVX2: return "avx2";
    case SWL_ISA_AVX512: return "avx512";
    default: return "unknown";
    }
}

int swl_cpu_is_amd(void) {
#if SWL_HAS_X86
    static int vendor = -1;  // -1 until first asked; CPUID is the same on every call
    int known = __atomic_load_n(&vendor, __ATOMIC_RELAXED);
    if (known < 0) {
        unsigned int max_leaf, ebx, ecx, edx;
        known = __get_cpuid(0, &max_leaf, &ebx, &ecx, &edx) &&
                ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
        __atomic_store_n(&vendor, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

size_t swl_l2_cache_bytes(void) {
    static size_t bytes;  // 0 until first asked
    size_t known = __atomic_load_n(&bytes, __ATOMIC_RELAXED);
    if (known == 0) {
        long reported = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
        reported = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        known = reported > 0 ? (size_t)reported : (size_t)1 << 20;
        __atomic_store_n(&bytes, known, __ATOMIC_RELAXED);
    }
    return known;
}

int swl_openmp_enabled(void) {
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int swl_threads_get(void) { return omp_get_max_threads(); }

void swl_threads_set(int n) { omp_set_num_threads(n < 1 ? 1 : n); }
