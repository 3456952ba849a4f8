// Normal samples for weight initialization: xoshiro256** draws and the Box–Muller transform.
//
// The draws form one sequence (a seed must give the same weights on every machine and thread
// count), so one thread takes them in order, a chunk at a time, and the threads then share the
// chunk's transforms, which are the costly part: a libm log and cos per value (`perf` over a
// 124M model's initialization counted 3.5 times the samples of the draws and loops). Each value
// depends only on its own two draws, so the result does not depend on the thread count.
// Everything here is the same arithmetic, in the same order, as Swift's
// RandomGenerator.nextNormal(): one draws the same values either way.
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "internal.h"

// Values per chunk: its 2 draws each (1 MiB of doubles) stay in L2 between the thread that takes
// them and the threads that transform them, and a 124M-parameter model is about 1,900 chunks,
// so the two barriers per chunk cost nothing measurable.
#define NORMAL_CHUNK 65536

static inline uint64_t rotate_left(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// xoshiro256** (Blackman and Vigna): the next 64-bit output, advancing the four state words.
static inline uint64_t xoshiro_next(uint64_t s[4]) {
    const uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

// Uniform in [0, 1) from the top 53 bits of one output.
static inline double uniform_double(uint64_t s[4]) { return (double)(xoshiro_next(s) >> 11) * 0x1p-53; }

// u1 and u2 of one value: u1 is kept off 0 so its log stays finite.
static inline void draw_pair(uint64_t s[4], double *u1, double *u2) {
    const double first = uniform_double(s);
    *u1 = first > DBL_TRUE_MIN ? first : DBL_TRUE_MIN;
    *u2 = uniform_double(s);
}

// π as a double (M_PI is not strict C11): Double.pi in Swift.
#define PI_DOUBLE 0x1.921fb54442d18p+1

// One standard normal value (Box–Muller, cosine branch) times std, rounded to float once.
static inline float box_muller(double u1, double u2, double std) {
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * PI_DOUBLE * u2) * std);
}

void swl_normal_fill(float *out, size_t n, uint64_t state[4], double std) {
    double *draws = n > 0 ? malloc(2 * sizeof(double) * SWL_MIN(n, (size_t)NORMAL_CHUNK)) : NULL;
    if (draws == NULL) {  // n is 0, or no scratch: the same values, one at a time
        for (size_t i = 0; i < n; i++) {
            double u1, u2;
            draw_pair(state, &u1, &u2);
            out[i] = box_muller(u1, u2, std);
        }
        return;
    }
    uint64_t s[4] = {state[0], state[1], state[2], state[3]};
#pragma omp parallel
    for (size_t start = 0; start < n; start += NORMAL_CHUNK) {
        const size_t count = SWL_MIN(n - start, (size_t)NORMAL_CHUNK);
#pragma omp single
        for (size_t i = 0; i < count; i++) draw_pair(s, &draws[2 * i], &draws[2 * i + 1]);
        // (the end of `single` is a barrier: every thread sees the whole chunk's draws)
#pragma omp for schedule(static)
        for (size_t i = 0; i < count; i++) out[start + i] = box_muller(draws[2 * i], draws[2 * i + 1], std);
        // (so is the end of `for`: the draws are not overwritten while a thread still reads them)
    }
    for (int k = 0; k < 4; k++) state[k] = s[k];
    free(draws);
}
