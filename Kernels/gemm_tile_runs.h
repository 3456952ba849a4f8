// Work stealing over the GEMM's macro tiles (gemm_tiles in gemm.c): each thread owns a run of
// tile indices, takes tiles from its front, and, once its run is empty, takes the last tile of the
// longest run left. A run is one 64-bit word, so the owner and a thief never get the same tile.
#ifndef SWIFTLET_GEMM_TILE_RUNS_H
#define SWIFTLET_GEMM_TILE_RUNS_H

#include <stdint.h>

// A thread's run of macro tiles, [front, end), in one word so that the owner taking its front and
// another thread taking its end never both get the same tile. One cache line each.
typedef struct {
    _Alignas(64) uint64_t front_and_end;  // front in the low 32 bits, end in the high 32
} tile_run;

static inline uint64_t pack_run(uint32_t front, uint32_t end) { return (uint64_t)end << 32 | front; }

// The front tile of this thread's own run, taken from it; -1 when the run is empty.
static inline int take_front(tile_run *run) {
    uint64_t seen = __atomic_load_n(&run->front_and_end, __ATOMIC_ACQUIRE);
    for (;;) {
        const uint32_t front = (uint32_t)seen, end = (uint32_t)(seen >> 32);
        if (front >= end) return -1;
        if (__atomic_compare_exchange_n(&run->front_and_end, &seen, pack_run(front + 1, end), 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return (int)front;
    }
}

// The front tile of this thread's run without taking it (what to fetch ahead for); -1 if empty.
static inline int peek_front(tile_run *run) {
    const uint64_t seen = __atomic_load_n(&run->front_and_end, __ATOMIC_ACQUIRE);
    return (uint32_t)seen < (uint32_t)(seen >> 32) ? (int)(uint32_t)seen : -1;
}

// The last tile of the run with the most tiles left, taken from it; -1 when every run is empty.
static inline int take_from_longest(tile_run *runs, int threads) {
    for (;;) {
        int victim = -1;
        uint32_t most = 0;
        uint64_t seen = 0;
        for (int t = 0; t < threads; t++) {
            const uint64_t run = __atomic_load_n(&runs[t].front_and_end, __ATOMIC_ACQUIRE);
            const uint32_t front = (uint32_t)run, end = (uint32_t)(run >> 32);
            if (end > front && end - front > most) {
                most = end - front;
                victim = t;
                seen = run;
            }
        }
        if (victim < 0) return -1;
        const uint32_t front = (uint32_t)seen, end = (uint32_t)(seen >> 32);
        if (__atomic_compare_exchange_n(&runs[victim].front_and_end, &seen, pack_run(front, end - 1), 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return (int)(end - 1);
    }
}

#endif  // SWIFTLET_GEMM_TILE_RUNS_H
