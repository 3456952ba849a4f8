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

// target[0..n) += source, or with write target = 0 + source: the bits of adding into zeros
// (−0 → +0) without reading target. The branch sits outside the loops so both vectorize.
static inline void add_or_write_row(float *restrict target, const float *restrict source, int n, bool write) {
    if (write) {
        for (int d = 0; d < n; d++) target[d] = 0.0f + source[d];
    } else {
        for (int d = 0; d < n; d++) target[d] += source[d];
    }
}

// dqkv += dq, dk, dv in qkv's layout, or with write dqkv = 0 + them. Every element of dqkv is set
// once.
static void split_heads_add_or_write(float *dqkv, const float *dq, const float *dk, const float *dv,
                                 int B, int T, int H, int hs, bool write) {
    const size_t C = (size_t)H * hs;
    const size_t rows = (size_t)B * H * T;
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t b = row / ((size_t)H * T), h = row / T % H, t = row % T;
        float *target = dqkv + (b * T + t) * 3 * C + h * hs;
        const float *dq_row = dq + row * hs, *dk_row = dk + row * hs, *dv_row = dv + row * hs;
        add_or_write_row(target, dq_row, hs, write);
        add_or_write_row(target + C, dk_row, hs, write);
        add_or_write_row(target + 2 * C, dv_row, hs, write);
    }
}

void swl_split_heads_backward(float *dqkv, const float *dq, const float *dk, const float *dv,
                              int B, int T, int H, int hs) {
    split_heads_add_or_write(dqkv, dq, dk, dv, B, T, H, hs, false);
}

void swl_split_heads_input_gradient(float *dqkv, const float *dq, const float *dk, const float *dv,
                                    int B, int T, int H, int hs) {
    split_heads_add_or_write(dqkv, dq, dk, dv, B, T, H, hs, true);
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

// dy += dout in the heads' layout, or with write dy = 0 + dout.
static void merge_heads_add_or_write(float *dy, const float *dout, int B, int T, int H, int hs, bool write) {
    const size_t C = (size_t)H * hs;
    const size_t rows = (size_t)B * H * T;
    SWL_PARALLEL_FOR
    for (size_t row = 0; row < rows; row++) {
        const size_t b = row / ((size_t)H * T), h = row / T % H, t = row % T;
        const float *source = dout + (b * T + t) * C + h * hs;
        float *target = dy + row * hs;
        add_or_write_row(target, source, hs, write);
    }
}

void swl_merge_heads_backward(float *dy, const float *dout, int B, int T, int H, int hs) {
    merge_heads_add_or_write(dy, dout, B, T, H, hs, false);
}

void swl_merge_heads_input_gradient(float *dy, const float *dout, int B, int T, int H, int hs) {
    merge_heads_add_or_write(dy, dout, B, T, H, hs, true);
}
