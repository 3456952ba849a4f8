// Pointwise activations (GELU tanh/erf, ReLU), the residual add and inverted dropout.
#include <math.h>

#include "dropout_hash.h"
#include "internal.h"

// The GELU chunk kernels, once per ISA path: gelu_{tanh,erf}_{forward,backward,input_gradient}_chunk_<path>.
#define SWL_PATHS_HEADER "activations_paths.h"
#include "pointwise_each_path.h"

// Pointwise loops run over fixed chunks, so which elements a thread gets never changes what
// is computed for them. Small inputs stay on one thread.
#define POINTWISE_CHUNK 8192
#define POINTWISE_PARALLEL_MIN 65536
#define FOR_EACH_CHUNK(n, start, end)                                                          \
    _Pragma("omp parallel for schedule(static) if (n >= POINTWISE_PARALLEL_MIN)")              \
    for (size_t chunk_ = 0; chunk_ < (n + POINTWISE_CHUNK - 1) / POINTWISE_CHUNK; chunk_++)     \
        for (size_t start = chunk_ * POINTWISE_CHUNK,                                          \
                    end = SWL_MIN(n, start + POINTWISE_CHUNK);                                 \
             start < end; start = end)

typedef void (*unary_chunk)(float *out, const float *x, size_t n, bool stream);
typedef void (*binary_chunk)(float *dx, const float *dout, const float *x, size_t n);

static void run_unary(const unary_chunk paths[3], float *out, const float *x, size_t n) {
    unary_chunk kernel = paths[swl_isa_active()];
    bool stream = swl_should_stream(n * sizeof(float));
    FOR_EACH_CHUNK(n, start, end) kernel(out + start, x + start, end - start, stream);
}

static void run_binary(const binary_chunk paths[3], float *dx, const float *dout, const float *x,
                       size_t n) {
    binary_chunk kernel = paths[swl_isa_active()];
    FOR_EACH_CHUNK(n, start, end) kernel(dx + start, dout + start, x + start, end - start);
}

// out, x are (n). GELU tanh = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as x·σ(2u).
void swl_gelu_tanh_forward(float *out, const float *x, size_t n) {
    static const unary_chunk paths[3] = POINTWISE_PATHS(gelu_tanh_forward_chunk);
    run_unary(paths, out, x, n);
}

// dx, dout, x are (n): dx += dout·gelu′(x).
void swl_gelu_tanh_backward(float *dx, const float *dout, const float *x, size_t n) {
    static const binary_chunk paths[3] = POINTWISE_PATHS(gelu_tanh_backward_chunk);
    run_binary(paths, dx, dout, x, n);
}

// dx, dout, x are (n): dx = dout·gelu′(x), written (nothing of dx read).
void swl_gelu_tanh_input_gradient(float *dx, const float *dout, const float *x, size_t n) {
    static const binary_chunk paths[3] = POINTWISE_PATHS(gelu_tanh_input_gradient_chunk);
    run_binary(paths, dx, dout, x, n);
}

// out, x are (n). GELU erf = x·Φ(x), Φ(x) = 0.5·(1 + erf(x/√2)); gelu′(x) = Φ(x) + x·φ(x).
void swl_gelu_erf_forward(float *out, const float *x, size_t n) {
    static const unary_chunk paths[3] = POINTWISE_PATHS(gelu_erf_forward_chunk);
    run_unary(paths, out, x, n);
}

// dx, dout, x are (n): dx += dout·gelu′(x).
void swl_gelu_erf_backward(float *dx, const float *dout, const float *x, size_t n) {
    static const binary_chunk paths[3] = POINTWISE_PATHS(gelu_erf_backward_chunk);
    run_binary(paths, dx, dout, x, n);
}

// dx, dout, x are (n): dx = dout·gelu′(x), written (nothing of dx read).
void swl_gelu_erf_input_gradient(float *dx, const float *dout, const float *x, size_t n) {
    static const binary_chunk paths[3] = POINTWISE_PATHS(gelu_erf_input_gradient_chunk);
    run_binary(paths, dx, dout, x, n);
}

// The remaining kernels are a load, a compare or an add per element: the compiler vectorizes
// their plain loops and they run at memory speed on every path.

// out, x are (n).
void swl_relu_forward(float *out, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }
}

// dx, dout, x are (n). The derivative at 0 is taken as 0, as PyTorch does.
void swl_relu_backward(float *dx, const float *dout, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
    }
}

// dx, dout, x are (n): the backward's bits written over dx (0 + …: −0 → +0, as added into zeros).
void swl_relu_input_gradient(float *dx, const float *dout, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) dx[i] = 0.0f + (x[i] > 0.0f ? dout[i] : 0.0f);
    }
}

// out, a, b are (n).
void swl_residual_forward(float *out, const float *a, const float *b, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) out[i] = a[i] + b[i];
    }
}

// da, db, dout are (n).
void swl_residual_backward(float *da, float *db, const float *dout, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) {
            da[i] += dout[i];
            db[i] += dout[i];
        }
    }
}

// The hash is integer work the compiler vectorizes well once it may use AVX2/AVX-512 (32-bit
// multiplies), so the loops are compiled once per path from one always-inline body.
static inline __attribute__((always_inline)) void dropout_forward_body(
    float *out, const float *x, size_t start, size_t end, float p, float scale, dropout_key key) {
    for (size_t i = start; i < end; i++) out[i] = dropout_uniform(key, i) >= p ? x[i] * scale : 0.0f;
}

static inline __attribute__((always_inline)) void dropout_backward_body(
    float *dx, const float *dout, size_t start, size_t end, float p, float scale, dropout_key key) {
    for (size_t i = start; i < end; i++) dx[i] += dropout_uniform(key, i) >= p ? dout[i] * scale : 0.0f;
}

typedef void (*dropout_chunk)(float *, const float *, size_t, size_t, float, float, dropout_key);

#define DROPOUT_PATH(name, target, body) \
    static target void name(float *y, const float *x, size_t s, size_t e, float p, float c, dropout_key k) { body(y, x, s, e, p, c, k); }
DROPOUT_PATH(dropout_forward_portable, , dropout_forward_body)
DROPOUT_PATH(dropout_backward_portable, , dropout_backward_body)
#if SWL_HAS_X86
DROPOUT_PATH(dropout_forward_avx2, SWL_TARGET_AVX2, dropout_forward_body)
DROPOUT_PATH(dropout_backward_avx2, SWL_TARGET_AVX2, dropout_backward_body)
DROPOUT_PATH(dropout_forward_avx512, SWL_TARGET_AVX512, dropout_forward_body)
DROPOUT_PATH(dropout_backward_avx512, SWL_TARGET_AVX512, dropout_backward_body)
#endif

static void run_dropout(const dropout_chunk paths[3], float *y, const float *x, size_t n, float p,
                        uint64_t seed) {
    dropout_chunk kernel = paths[swl_isa_active()];
    float scale = dropout_keep_scale(p);
    dropout_key key = dropout_key_of(seed);
    FOR_EACH_CHUNK(n, start, end) kernel(y, x, start, end, p, scale, key);
}

// out, x are (n). Element i is kept iff uniform(seed, i) ≥ p; kept elements are scaled by 1/(1−p).
void swl_dropout_forward(float *out, const float *x, size_t n, float p, uint64_t seed) {
    static const dropout_chunk paths[3] = POINTWISE_PATHS(dropout_forward);
    run_dropout(paths, out, x, n, p, seed);
}

// dx += dout·mask/(1−p), with the forward's mask recomputed from (seed, i).
void swl_dropout_backward(float *dx, const float *dout, size_t n, float p, uint64_t seed) {
    static const dropout_chunk paths[3] = POINTWISE_PATHS(dropout_backward);
    run_dropout(paths, dx, dout, n, p, seed);
}
