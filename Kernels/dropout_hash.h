// Dropout's counter-based RNG, shared by the dropout kernels (activations.c) and flash attention
// (attention_flash.c), which must draw the very same mask for the same (seed, element index).
#ifndef SWIFTLET_DROPOUT_HASH_H
#define SWIFTLET_DROPOUT_HASH_H

#include <stddef.h>
#include <stdint.h>

// A 32-bit hash of (seed, i): two rounds of Wellons' lowbias32. Each round is a bijection, so
// distinct low words of i give distinct hashes.
static inline uint32_t dropout_mix(uint32_t h) {
    h ^= h >> 16;
    h *= 0x7feb352dU;
    h ^= h >> 15;
    h *= 0x846ca68bU;
    h ^= h >> 16;
    return h;
}

// Keys derived once per call from the seed.
typedef struct { uint32_t lo, hi; } dropout_key;

static inline dropout_key dropout_key_of(uint64_t seed) {
    dropout_key key = {dropout_mix((uint32_t)seed ^ 0x9e3779b9U),
                       dropout_mix((uint32_t)(seed >> 32) ^ 0x85ebca6bU)};
    return key;
}

// Uniform in [0,1) with 24 bits, exactly representable as a float, from the low and high
// 32-bit words of an element index i. Element i is kept iff dropout_uniform(key, i) ≥ p.
static inline __attribute__((always_inline)) float dropout_uniform_words(dropout_key key, uint32_t low,
                                                                         uint32_t high) {
    uint32_t h = dropout_mix(dropout_mix(low ^ key.lo) ^ high ^ key.hi);
    return (float)(h >> 8) * 0x1p-24f;
}

static inline __attribute__((always_inline)) float dropout_uniform(dropout_key key, size_t i) {
    return dropout_uniform_words(key, (uint32_t)i, (uint32_t)((uint64_t)i >> 32));
}

// What a kept element is multiplied by: 1/(1−p), or 0 when p = 1 (nothing is kept).
static inline float dropout_keep_scale(float p) { return p < 1.0f ? 1.0f / (1.0f - p) : 0.0f; }

#endif
