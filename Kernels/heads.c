// Head layout changes around attention.
// qkv, dqkv are (B,T,3C) with C = H·hs (q, k, v side by side; head h is columns h·hs…(h+1)·hs−1
// of each); q, k, v, y and their gradients are (B,H,T,hs); out, dout are (B,T,C).
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "internal.h"

void swl_split_heads_forward(float *q, float *k, float *v, const float *qkv,
                             int B, int T, int H, int hs) {
    const size_t C = (size_t)H * hs;
    const size_t rows = (size_t)B * H * T;  // (b,h,t) rows of q, k, v
    const size_t bytes = (size_t)hs * sizeof(float);
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t b = row / ((size_t)H * T), h = row / T % H, t = row % T;
        const float *source = qkv + (b * T + t) * 3 * C + h * hs;
        memcpy(q + row * hs, source, bytes);
        memcpy(k + row * hs, source + C, bytes);
        memcpy(v + row * hs, source + 2 * C, bytes);
    }
}

// dqkv += dq, dk, dv in qkv's layout, or with write dqkv = 0 + them: the bits of adding into zeros
// (−0 → +0) without reading dqkv. Every element of dqkv is set once.
static void split_heads_gradient(float *dqkv, const float *dq, const float *dk, const float *dv,
                                 int B, int T, int H, int hs, bool write) {
    const size_t C = (size_t)H * hs;
    const size_t rows = (size_t)B * H * T;
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t b = row / ((size_t)H * T), h = row / T % H, t = row % T;
        float *target = dqkv + (b * T + t) * 3 * C + h * hs;
        const float *dq_row = dq + row * hs, *dk_row = dk + row * hs, *dv_row = dv + row * hs;
        for (int d = 0; d < hs; d++) {
            target[d] = (write ? 0.0f : target[d]) + dq_row[d];
            target[C + d] = (write ? 0.0f : target[C + d]) + dk_row[d];
            target[2 * C + d] = (write ? 0.0f : target[2 * C + d]) + dv_row[d];
        }
    }
}

void swl_split_heads_backward(float *dqkv, const float *dq, const float *dk, const float *dv,
                              int B, int T, int H, int hs) {
    split_heads_gradient(dqkv, dq, dk, dv, B, T, H, hs, false);
}

void swl_split_heads_input_gradient(float *dqkv, const float *dq, const float *dk, const float *dv,
                                    int B, int T, int H, int hs) {
    split_heads_gradient(dqkv, dq, dk, dv, B, T, H, hs, true);
}

void swl_merge_heads_forward(float *out, const float *y, int B, int T, int H, int hs) {
    const size_t C = (size_t)H * hs;
    const size_t rows = (size_t)B * H * T;
    const size_t bytes = (size_t)hs * sizeof(float);
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t b = row / ((size_t)H * T), h = row / T % H, t = row % T;
        memcpy(out + (b * T + t) * C + h * hs, y + row * hs, bytes);
    }
}

// dy += (or, with write, = 0 +) dout in the heads' layout.
static void merge_heads_gradient(float *dy, const float *dout, int B, int T, int H, int hs, bool write) {
    const size_t C = (size_t)H * hs;
    const size_t rows = (size_t)B * H * T;
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t b = row / ((size_t)H * T), h = row / T % H, t = row % T;
        const float *source = dout + (b * T + t) * C + h * hs;
        float *target = dy + row * hs;
        for (int d = 0; d < hs; d++) target[d] = (write ? 0.0f : target[d]) + source[d];
    }
}

void swl_merge_heads_backward(float *dy, const float *dout, int B, int T, int H, int hs) {
    merge_heads_gradient(dy, dout, B, T, H, hs, false);
}

void swl_merge_heads_input_gradient(float *dy, const float *dout, int B, int T, int H, int hs) {
    merge_heads_gradient(dy, dout, B, T, H, hs, true);
}
