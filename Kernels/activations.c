// Pointwise activations (GELU tanh/erf, ReLU), the residual add and inverted dropout.
#include <math.h>

#include "internal.h"

#define GELU_SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_CUBIC 0.044715f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f

// Pointwise loops run over fixed chunks, so which elements a thread sees never changes what
// is computed for them. Small inputs stay on one thread.
#define POINTWISE_CHUNK 8192
#define POINTWISE_PARALLEL_MIN 65536
#define FOR_EACH_CHUNK(n, start, end)                                                          \
    _Pragma("omp parallel for schedule(static) if (n >= POINTWISE_PARALLEL_MIN)")              \
    for (size_t chunk_ = 0; chunk_ < (n + POINTWISE_CHUNK - 1) / POINTWISE_CHUNK; chunk_++)     \
        for (size_t start = chunk_ * POINTWISE_CHUNK,                                          \
                    end = SWL_MIN(n, start + POINTWISE_CHUNK);                                 \
             start < end; start = end)

// GELU tanh = 0.5·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³). Since 0.5·(1 + tanh u) is the
// logistic σ(2u), out = x·σ(2u): no cancellation near x = 0 and it saturates cleanly.
void swl_gelu_tanh_forward(float *out, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) {
            float v = x[i];
            float u = GELU_SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v);
            out[i] = v / (1.0f + expf(-2.0f * u));
        }
    }
}

// gelu'(x) = s + 2·x·s·(1 − s)·u' with s = σ(2u), u' = √(2/π)·(1 + 3·0.044715·x²).
void swl_gelu_tanh_backward(float *dx, const float *dout, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) {
            float v = x[i];
            float u = GELU_SQRT_2_OVER_PI * (v + GELU_CUBIC * v * v * v);
            float du = GELU_SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_CUBIC * v * v);
            float s = 1.0f / (1.0f + expf(-2.0f * u));
            dx[i] += dout[i] * (s + 2.0f * v * s * (1.0f - s) * du);
        }
    }
}

// GELU erf = x·Φ(x), Φ(x) = 0.5·(1 + erf(x/√2)).
void swl_gelu_erf_forward(float *out, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) {
            float v = x[i];
            out[i] = v * 0.5f * (1.0f + erff(v * INV_SQRT_2));
        }
    }
}

// gelu'(x) = Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
void swl_gelu_erf_backward(float *dx, const float *dout, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) {
            float v = x[i];
            float cdf = 0.5f * (1.0f + erff(v * INV_SQRT_2));
            float pdf = INV_SQRT_2PI * expf(-0.5f * v * v);
            dx[i] += dout[i] * (cdf + v * pdf);
        }
    }
}

void swl_relu_forward(float *out, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
    }
}

// The derivative at 0 is taken as 0, as PyTorch does.
void swl_relu_backward(float *dx, const float *dout, const float *x, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) dx[i] += x[i] > 0.0f ? dout[i] : 0.0f;
    }
}

void swl_residual_forward(float *out, const float *a, const float *b, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) out[i] = a[i] + b[i];
    }
}

void swl_residual_backward(float *da, float *db, const float *dout, size_t n) {
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++) {
            da[i] += dout[i];
            db[i] += dout[i];
        }
    }
}

// Dropout's counter-based RNG: a 32-bit hash of (seed, i), two rounds of Wellons' lowbias32.
// Each round is a bijection, so distinct low words of i give distinct hashes.
static inline uint32_t dropout_mix(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352dU;
    h ^= h >> 15;
    h *= 0x846ca68bU;
    h ^= h >> 16;
    return h;
}

// Uniform in [0,1) with 24 bits, exactly representable as a float.
static inline float dropout_uniform(uint64_t seed, size_t i) {
    uint32_t key_lo = dropout_mix((uint32_t)seed ^ 0x9e3779b9U);
    uint32_t key_hi = dropout_mix((uint32_t)(seed >> 32) ^ 0x85ebca6bU);
    uint32_t h = dropout_mix(dropout_mix((uint32_t)i ^ key_lo) ^ (uint32_t)((uint64_t)i >> 32) ^ key_hi);
    return (float)(h >> 8) * 0x1p-24f;
}

// out, x are (n). Element i is kept iff uniform(seed, i) ≥ p; kept elements are scaled by 1/(1−p).
void swl_dropout_forward(float *out, const float *x, size_t n, float p, uint64_t seed) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++)
            out[i] = dropout_uniform(seed, i) >= p ? x[i] * scale : 0.0f;
    }
}

// dx += dout·mask/(1−p), with the forward's mask recomputed from (seed, i).
void swl_dropout_backward(float *dx, const float *dout, size_t n, float p, uint64_t seed) {
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    FOR_EACH_CHUNK(n, start, end) {
        for (size_t i = start; i < end; i++)
            if (dropout_uniform(seed, i) >= p) dx[i] += dout[i] * scale;
    }
}
