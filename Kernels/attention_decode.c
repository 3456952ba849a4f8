// Decode attention: one new query per head against the KV cache (generation with a cache).
//
// Each (b, h) splits its L keys into chunks of SWL_DECODE_CHUNK. A chunk computes its own
// max m, Σexp(s − m) and Σexp(s − m)·v (a partial softmax); the chunks are then merged in
// order: m = max m_c, out = Σ e^{m_c − m}·o_c / Σ e^{m_c − m}·s_c. Threads take whole chunks,
// so the arithmetic is the same for any thread count.
#include <math.h>

#include "internal.h"

static inline int chunk_count(int L) { return (L + SWL_DECODE_CHUNK - 1) / SWL_DECODE_CHUNK; }

size_t swl_attention_decode_scratch_floats(int B, int H, int L, int hs) {
    // per chunk: max, sum, partial output (hs)
    return (size_t)B * H * chunk_count(L) * (size_t)(hs + 2);
}

// One chunk: keys [begin, end) of one head. partial = [max, sum, o(hs)].
static void decode_chunk(float *partial, const float *q, const float *k, const float *v,
                         int begin, int end, int hs, float scale) {
    float scores[SWL_DECODE_CHUNK];
    float maximum = -INFINITY;
    for (int j = begin; j < end; j++) {
        const float *kj = k + (size_t)j * hs;
        float dot = 0.0f;
        for (int d = 0; d < hs; d++) dot += q[d] * kj[d];
        float s = dot * scale;
        scores[j - begin] = s;
        if (s > maximum) maximum = s;
    }
    float *o = partial + 2;
    for (int d = 0; d < hs; d++) o[d] = 0.0f;
    float sum = 0.0f;
    for (int j = begin; j < end; j++) {
        float p = expf(scores[j - begin] - maximum);
        sum += p;
        const float *vj = v + (size_t)j * hs;
        for (int d = 0; d < hs; d++) o[d] += p * vj[d];
    }
    partial[0] = maximum;
    partial[1] = sum;
}

void swl_attention_decode(float *out, float *scratch, const float *q, const float *kcache,
                          const float *vcache, int B, int H, int L, int maxT, int hs) {
    const int chunks = chunk_count(L);
    const float scale = 1.0f / sqrtf((float)hs);
    const int tasks = B * H * chunks;
    const size_t stride = (size_t)hs + 2;

    SWL_PARALLEL_FOR
    for (int task = 0; task < tasks; task++) {
        int bh = task / chunks, c = task % chunks;
        const float *qh = q + (size_t)bh * hs;
        const float *k = kcache + (size_t)bh * maxT * hs;
        const float *v = vcache + (size_t)bh * maxT * hs;
        int begin = c * SWL_DECODE_CHUNK, end = SWL_MIN(L, begin + SWL_DECODE_CHUNK);
        decode_chunk(scratch + (size_t)task * stride, qh, k, v, begin, end, hs, scale);
    }

    SWL_PARALLEL_FOR
    for (int bh = 0; bh < B * H; bh++) {
        const float *partials = scratch + (size_t)bh * chunks * stride;
        float maximum = -INFINITY;
        for (int c = 0; c < chunks; c++) maximum = SWL_MAX(maximum, partials[c * stride]);
        float *o = out + (size_t)bh * hs;
        for (int d = 0; d < hs; d++) o[d] = 0.0f;
        float total = 0.0f;
        for (int c = 0; c < chunks; c++) {
            const float *partial = partials + c * stride;
            float weight = expf(partial[0] - maximum);
            total += weight * partial[1];
            for (int d = 0; d < hs; d++) o[d] += weight * partial[2 + d];
        }
        float inverse = total > 0.0f ? 1.0f / total : 0.0f;
        for (int d = 0; d < hs; d++) o[d] *= inverse;
    }
}
