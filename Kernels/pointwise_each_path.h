// Compiles a kernel-paths header once per ISA path: define SWL_PATHS_HEADER as its file name,
// then include this file. Each pass includes pointwise_simd.h with the next vector width first,
// so the same kernel text becomes name_portable, name_avx2 and name_avx512 (see VEC there).
//
//     #define SWL_PATHS_HEADER "softmax_paths.h"
//     #include "pointwise_each_path.h"
#ifndef SWL_PATHS_HEADER
#error "define SWL_PATHS_HEADER before including pointwise_each_path.h"
#endif

#define SWL_SIMD_WIDTH 1
#include "pointwise_simd.h"
#include SWL_PATHS_HEADER
#if SWL_HAS_X86
#undef SWL_SIMD_WIDTH
#define SWL_SIMD_WIDTH 8
#include "pointwise_simd.h"
#include SWL_PATHS_HEADER
#undef SWL_SIMD_WIDTH
#define SWL_SIMD_WIDTH 16
#include "pointwise_simd.h"
#include SWL_PATHS_HEADER
#endif
#undef SWL_SIMD_WIDTH
#undef SWL_PATHS_HEADER
