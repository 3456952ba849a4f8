// SwiftletKernels — the C kernels under Swiftlet's GPT.
//
// Conventions (every kernel follows them):
// - fp32, row-major (C order). Dimension letters: B batch, T time (sequence), C channels,
//   OC output channels, N rows (= B*T where a kernel does not care about time), H heads,
//   hs head size (C = H*hs), V vocabulary size, Vp padded vocabulary (row stride of logits).
// - Outputs first, inputs next, sizes last. Sizes are `int`; index math is done in size_t.
// - Forward kernels overwrite their outputs. Backward kernels (`*_backward`) ADD into every
//   gradient buffer (+=), as llm.c does: the caller zeroes gradients, and gradient accumulation
//   comes free. The cross-entropy and causal-softmax backwards write all of their output instead,
//   and say so. Kernels named `*_gradient` write one gradient over whatever its buffer held
//   (nothing of it is read, NaN included), with the bits of their `*_backward` adding into zeros
//   (0 + x, so −0 → +0): swl_linear_weight_gradient (a step's first backward) and the input
//   gradients the model's backward writes into scratch (swl_linear_input_gradient,
//   swl_gelu_*_input_gradient, …), in place of clearing the buffer first.
//   A gradient pointer that may be NULL says so; NULL skips that gradient.
// - Results never depend on the thread count: threads split disjoint outputs and every sum is
//   done in a fixed order. Results may differ in the last bits between ISA paths (FMA).
// - The kernels trust their arguments. Shape checks live in the Swift wrappers.
// - A naive reference sits beside each fast kernel (`*_reference`, or the naive attention):
//   it is the test oracle and the benchmark baseline.
#ifndef SWIFTLET_KERNELS_H
#define SWIFTLET_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Runtime: ISA path and threads

/// Instruction-set paths, best last. The active path is the best this CPU supports unless the
/// environment variable SWIFTLET_ISA (portable | avx2 | avx512) or swl_isa_set chooses another.
typedef enum {
    SWL_ISA_PORTABLE = 0,  // plain C, any CPU
    SWL_ISA_AVX2 = 1,      // AVX2 + FMA
    SWL_ISA_AVX512 = 2,    // AVX-512 F/BW/VL + FMA
} swl_isa;

swl_isa swl_isa_best(void);            // best path this CPU supports
swl_isa swl_isa_active(void);          // path the kernels use now
int swl_isa_set(swl_isa isa);          // 0 on success, -1 if this CPU lacks it (nothing changes)
const char *swl_isa_name(swl_isa isa); // "portable", "avx2", "avx512"

int swl_openmp_enabled(void);          // 1 if built with OpenMP, else 0 (single-threaded)
int swl_threads_get(void);             // threads the next parallel kernel will use
void swl_threads_set(int n);           // n >= 1; overrides OMP_NUM_THREADS

// ---------------------------------------------------------------------------------------------
// Linear: out = x·Wᵀ + b
// x is (N,C), weight is (OC,C) as in PyTorch, bias is (OC) or NULL, out is (N,OC).
// Tiling: x·Wᵀ, dout·W and doutᵀ·x are packed GEMMs; threads own whole MC×NC output tiles and K is
// summed in KC=256 blocks in a fixed order by an MR×NR micro-kernel per ISA (AVX-512 8×48, AVX2
// 6×16, portable 4×8). N ≤ 4 rows (dx: N ≤ 2) stream W unpacked instead.

void swl_linear_forward(float *out, const float *x, const float *weight, const float *bias,
                        int N, int C, int OC);
/// dx (N,C) += dout·W; dweight (OC,C) += doutᵀ·x; dbias (OC) += Σ_rows dout. Any may be NULL.
void swl_linear_backward(float *dx, float *dweight, float *dbias, const float *dout,
                         const float *x, const float *weight, int N, int C, int OC);
/// dweight (OC,C) = doutᵀ·x, written over whatever it held (nothing is read, NaN included): the
/// bits of swl_linear_backward adding into a zeroed dweight. A step's first backward writes the
/// weight gradients this way instead of zeroing all the gradients first.
void swl_linear_weight_gradient(float *dweight, const float *dout, const float *x, int N, int C, int OC);
/// dx (N,C) = dout·W, written over whatever it held: the bits of swl_linear_backward adding into a
/// zeroed dx. On the tile path (AVX2, AVX-512) the first K block's micro-kernels set C; the other
/// paths zero each block of C just before they add into it.
void swl_linear_input_gradient(float *dx, const float *dout, const float *weight, int N, int C, int OC);
/// Whether the packed GEMM may read a row-major weight where it lies instead of packing it (the
/// AVX-512 path's shared-B products with few rows a thread, such as the LM head's dout·W on one
/// thread; reads_b_in_place in gemm.c). The same bits either way. AUTO, the default, allows it on
/// AMD CPUs, where it was measured faster (Zen 5), and not elsewhere (Intel Xeon, model 207: the
/// 256-row LM head's dout·W took 20% longer read in place). Tests force each setting.
typedef enum {
    SWL_GEMM_B_IN_PLACE_AUTO = -1,
    SWL_GEMM_B_IN_PLACE_NEVER = 0,
    SWL_GEMM_B_IN_PLACE_ALLOWED = 1,
} swl_gemm_b_in_place;
void swl_gemm_set_b_in_place(swl_gemm_b_in_place policy);
/// For the tests: with on ≠ 0, every output tile of the packed GEMM's tile path starts in the first
/// thread's run, so every other thread computes only tiles it takes from there (work stealing);
/// 0, the default, gives each thread a contiguous run. The same bits either way.
void swl_gemm_set_first_thread_takes_all_tiles(int on);
void swl_linear_forward_reference(float *out, const float *x, const float *weight,
                                  const float *bias, int N, int C, int OC);
void swl_linear_backward_reference(float *dx, float *dweight, float *dbias, const float *dout,
                                   const float *x, const float *weight, int N, int C, int OC);

// ---------------------------------------------------------------------------------------------
// LayerNorm over the last dim: biased variance, rstd = 1/sqrt(var + eps).
// x, out are (N,C); weight, bias are (C) (bias may be NULL); mean, rstd are (N), saved for backward.

void swl_layernorm_forward(float *out, float *mean, float *rstd, const float *x,
                           const float *weight, const float *bias, int N, int C, float eps);
/// dbias may be NULL (no bias).
void swl_layernorm_backward(float *dx, float *dweight, float *dbias, const float *dout,
                            const float *x, const float *weight, const float *mean,
                            const float *rstd, int N, int C);

// ---------------------------------------------------------------------------------------------
// Pointwise activations over n elements. Backward: dx += dout·f'(x).

void swl_gelu_tanh_forward(float *out, const float *x, size_t n);   // GPT-2 / llm.c
void swl_gelu_tanh_backward(float *dx, const float *dout, const float *x, size_t n);
void swl_gelu_erf_forward(float *out, const float *x, size_t n);    // PyTorch nn.GELU()
void swl_gelu_erf_backward(float *dx, const float *dout, const float *x, size_t n);
void swl_relu_forward(float *out, const float *x, size_t n);
void swl_relu_backward(float *dx, const float *dout, const float *x, size_t n);
/// dx = dout·f'(x), written: the bits of the backward adding into a zeroed dx.
void swl_gelu_tanh_input_gradient(float *dx, const float *dout, const float *x, size_t n);
void swl_gelu_erf_input_gradient(float *dx, const float *dout, const float *x, size_t n);
void swl_relu_input_gradient(float *dx, const float *dout, const float *x, size_t n);

/// out = a + b (n elements). Backward: da += dout, db += dout.
void swl_residual_forward(float *out, const float *a, const float *b, size_t n);
void swl_residual_backward(float *da, float *db, const float *dout, size_t n);

/// Inverted dropout with a counter-based RNG: element i is kept iff hash(seed, i) ≥ p, and kept
/// elements are scaled by 1/(1-p). The mask is recomputed in backward, so none is stored, and it
/// does not depend on the thread count. p = 0 copies.
void swl_dropout_forward(float *out, const float *x, size_t n, float p, uint64_t seed);
void swl_dropout_backward(float *dx, const float *dout, size_t n, float p, uint64_t seed);

// ---------------------------------------------------------------------------------------------
// Fused causal softmax over attention scores.
// scores, probs are (BH,T,T) with BH = B*H. probs[i,j] = exp(scale·s[i,j]) / Σ_{j'≤i} exp(scale·s[i,j'])
// for j ≤ i and exactly 0 above the diagonal. Entries of `scores` above the diagonal are never read.

void swl_causal_softmax_forward(float *probs, const float *scores, int BH, int T, float scale);
/// dscores = scale·p·(dp − Σ_j p·dp) on and below the diagonal and 0 above it (all of dscores is
/// written, nothing of it read); dprobs above the diagonal is never read. dscores may be dprobs.
void swl_causal_softmax_backward(float *dscores, const float *dprobs, const float *probs,
                                 int BH, int T, float scale);

// ---------------------------------------------------------------------------------------------
// Causal self-attention. q, k, v, out are (B,H,T,hs); scale = 1/sqrt(hs); key j is visible to
// query i iff j ≤ i.

/// Naive attention: materializes the (B,H,T,T) probabilities in `att` (kept for backward).
void swl_attention_naive_forward(float *out, float *att, const float *q, const float *k,
                                 const float *v, int B, int H, int T, int hs);
/// scratch is (B,H,T,T) floats: the materialized score gradients.
void swl_attention_naive_backward(float *dq, float *dk, float *dv, float *scratch,
                                  const float *dout, const float *q, const float *k,
                                  const float *v, const float *att, int B, int H, int T, int hs);

// Flash tiling (attention_flash.c): 64 queries × 64 keys per tile; key tiles entirely above the
// diagonal are skipped, the diagonal tile is masked. lse[b,h,i] = log Σ_{j≤i} exp(scale·q_i·k_j),
// the natural-log logsumexp of the scaled scores (−inf only for a row with no visible key, whose
// output is 0). The backward recomputes p = exp(scale·q·k − lse) tile by tile (FlashAttention-2),
// with dk/dv summed per key tile and dq per query tile in a fixed order: no atomics, and the
// same bits for any thread count.
/// Flash attention: tiles over queries and keys with an online softmax, skips key tiles above the
/// diagonal, and saves only the per-row logsumexp `lse` (B,H,T) of the scaled scores. Extra memory
/// is O(T·hs) per thread, never O(T²).
void swl_attention_flash_forward(float *out, float *lse, const float *q, const float *k,
                                 const float *v, int B, int H, int T, int hs);
/// Recomputes the probabilities from q, k and lse. `out` is the forward's output.
void swl_attention_flash_backward(float *dq, float *dk, float *dv, const float *dout,
                                  const float *q, const float *k, const float *v,
                                  const float *out, const float *lse, int B, int H, int T, int hs);
/// Flash attention with dropout on the probabilities (nanoGPT's attn_dropout), never materialized:
/// out_i = Σ_j z_ij·p_ij·v_j with z_ij = 1/(1−dropout) if kept, else 0, and the mask exactly
/// swl_dropout_forward's with this seed over the (B,H,T,T) probabilities (element
/// ((b·H+h)·T + i)·T + j), so the materialized path drops the same entries. lse is still the
/// logsumexp of the undropped scores. dropout = 0 is the plain kernel, bit for bit. The backward
/// takes the forward's dropout and seed (the mask is recomputed, not stored).
void swl_attention_flash_forward_dropout(float *out, float *lse, const float *q, const float *k,
                                         const float *v, int B, int H, int T, int hs,
                                         float dropout, uint64_t seed);
void swl_attention_flash_backward_dropout(float *dq, float *dk, float *dv, const float *dout,
                                          const float *q, const float *k, const float *v,
                                          const float *out, const float *lse, int B, int H, int T,
                                          int hs, float dropout, uint64_t seed);
/// The dropout factors (1/(1−dropout) or 0) those kernels apply to the 64 probabilities
/// first + k·stride, k < 64, of the (B,H,T,T) layout, computed as their tiles compute them: with
/// 32-bit index words when the 64 indices share their high word, 64-bit arithmetic when they
/// straddle a multiple of 2^32. For tests, which check both against the dropout kernel's hash.
void swl_attention_dropout_factors(float *z, size_t first, size_t stride, float dropout, uint64_t seed);

/// Head layout changes around attention.
/// qkv is (B,T,3C) as c_attn writes it (q, k, v in that order; head h is columns h·hs…(h+1)·hs−1
/// of each); q, k, v are (B,H,T,hs).
void swl_split_heads_forward(float *q, float *k, float *v, const float *qkv,
                             int B, int T, int H, int hs);
void swl_split_heads_backward(float *dqkv, const float *dq, const float *dk, const float *dv,
                              int B, int T, int H, int hs);
/// y (B,H,T,hs) → out (B,T,H·hs).
void swl_merge_heads_forward(float *out, const float *y, int B, int T, int H, int hs);
void swl_merge_heads_backward(float *dy, const float *dout, int B, int T, int H, int hs);
/// The same two backwards writing dqkv and dy instead of adding into them (the bits of adding into
/// zeros).
void swl_split_heads_input_gradient(float *dqkv, const float *dq, const float *dk, const float *dv,
                                    int B, int T, int H, int hs);
void swl_merge_heads_input_gradient(float *dy, const float *dout, int B, int T, int H, int hs);

// ---------------------------------------------------------------------------------------------
// Cross-entropy fused with softmax over the vocabulary.
// logits are (N,Vp) with row stride Vp ≥ V (columns V…Vp−1 are padding, never read);
// targets are (N) int32 in [0,V) or −1 (ignored). losses (N): per-row loss, 0 for ignored rows.
// lse (N): per-row logsumexp, saved for backward.

/// Returns the mean loss over non-ignored rows (0 if every row is ignored).
float swl_crossentropy_forward(float *losses, float *lse, const float *logits,
                               const int32_t *targets, int N, int V, int Vp);
/// dlogits (N,Vp) = dloss·(softmax − onehot)/count over non-ignored rows; padding columns and
/// ignored rows are set to 0 (dlogits is overwritten, never read).
void swl_crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                               const int32_t *targets, int N, int V, int Vp, float dloss);

// ---------------------------------------------------------------------------------------------
// Embeddings and positions.
// idx is (B,T) int32 in [0,V); wte is (V,C); wpe is (≥T,C) or NULL (no learned positions).

/// out[b,t] = wte[idx[b,t]] + wpe[t].
void swl_embedding_forward(float *out, const int32_t *idx, const float *wte, const float *wpe,
                           int B, int T, int C);
/// dwte rows accumulate over repeated ids; dwpe (may be NULL) rows 0…T−1.
void swl_embedding_backward(float *dwte, float *dwpe, const float *dout, const int32_t *idx,
                            int B, int T, int C);

/// Sinusoidal table (T,C): pe[t,2i] = sin(t / base^(2i/C)), pe[t,2i+1] = cos(t / base^(2i/C)).
void swl_sinusoidal_table(float *table, int T, int C, float base);

/// Rotary position embedding on (B,H,T,hs) with hs even, rotating interleaved pairs
/// (x[2i], x[2i+1]) by angle (pos_offset + t)·base^(−2i/hs). out may equal x.
void swl_rope_forward(float *out, const float *x, int B, int H, int T, int hs, float base,
                      int pos_offset);
/// dx += rotation by the negative angle of dout.
void swl_rope_backward(float *dx, const float *dout, int B, int H, int T, int hs, float base,
                       int pos_offset);

// ---------------------------------------------------------------------------------------------
// Optimizer over flat buffers.

/// AdamW with PyTorch semantics on n parameters; t is the 1-based number of this update, and
/// g = grads·grad_scale (rounded as a float, as scaling the gradients first would be; 1 for none):
/// p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// p ← p − lr·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + eps). grads are not written.
void swl_adamw_update(float *params, float *m, float *v, const float *grads, size_t n, float grad_scale,
                      float lr, float beta1, float beta2, float eps, float weight_decay, int t);

/// Σ x² in double, summed in fixed-size blocks in a fixed order (thread-count independent).
double swl_sum_of_squares(const float *x, size_t n);
/// x ← x·s.
void swl_scale(float *x, size_t n, float s);
/// x ← 0, every element (NaN and inf included), split over the threads.
void swl_zero(float *x, size_t n);


// ---------------------------------------------------------------------------------------------
// Incremental decoding against a KV cache.
// q is (B,H,hs): one new query per head. kcache, vcache are (B,H,maxT,hs) with positions
// 0…L−1 valid (the new token's own key and value already written at L−1); out is (B,H,hs).
// Work is split over (b, h, key chunk of SWL_DECODE_CHUNK keys); each chunk keeps its own max,
// sum and partial output, merged in chunk order, so results do not depend on the thread count.

#define SWL_DECODE_CHUNK 256
/// Floats of scratch swl_attention_decode needs.
size_t swl_attention_decode_scratch_floats(int B, int H, int L, int hs);
void swl_attention_decode(float *out, float *scratch, const float *q, const float *kcache,
                          const float *vcache, int B, int H, int L, int maxT, int hs);

/// out (N,OC) = x (N,C)·weight (OC,C)ᵀ + bias (OC, or NULL), for the few rows of a decode step
/// (N = 1 per new token). Memory-bound: streams each weight once per call, threads over blocks of
/// 4 output rows; each output is one fixed-order dot product (thread-count independent).
void swl_matvec_forward(float *out, const float *x, const float *weight, const float *bias,
                        int N, int C, int OC);

// ---------------------------------------------------------------------------------------------
// Normal samples, for weight initialization.
// state is xoshiro256**'s four 64-bit words, the same generator as Swift's RandomGenerator.

/// out[i] = (float)(sqrt(−2·ln u1)·cos(2π·u2)·std) for i < n, in double until the last rounding,
/// where u1 and u2 are the next two draws x·2⁻⁵³ (x = output >> 11; u1 at least the smallest
/// denormal). Advances state by 2n outputs. Draws are taken in order on one thread and the
/// transforms split over the threads: the same values on any thread count, and the same as n
/// calls of RandomGenerator.nextNormal() · std.
void swl_normal_fill(float *out, size_t n, uint64_t state[4], double std);

// ---------------------------------------------------------------------------------------------
// SHA-256 compression, for checkpoint checksums (the padding and streaming live in Swift).
// state is the eight 32-bit words H0..H7; data is `blocks` whole 64-byte blocks of the message.

/// Compresses the blocks into state: with the x86 SHA extensions when the CPU has them and the
/// ISA path is not portable, else plain C. Both give the same state.
void swl_sha256_blocks(uint32_t state[8], const void *data, size_t blocks);
void swl_sha256_blocks_portable(uint32_t state[8], const void *data, size_t blocks);
/// 1 if swl_sha256_blocks uses the SHA extensions now, else 0.
int swl_sha256_uses_extensions(void);

// ---------------------------------------------------------------------------------------------
// Machine measurement (for the benchmark harness: the peaks that "% of peak" is relative to)

/// Best fp32 FMA throughput in GFLOP/s on `threads` threads over about `seconds`, from independent
/// FMA chains kept in registers on the active ISA path (no memory traffic). An FMA counts 2 flops.
double swl_measure_fma_gflops(int threads, double seconds);
/// The causal softmax's memory traffic (of its streamed kernels) without its arithmetic, same
/// layouts, rows, prefetching and thread split: forward reads in's lower triangle and streams all
/// of out (in's values below the diagonal, 0 above); backward reads a's and b's lower triangles
/// and streams all of c (a·b below the diagonal, 0 above); c may be a, as dscores may be dprobs.
/// What the access pattern alone runs at on this machine, for the harness to set the kernels beside.
void swl_causal_softmax_traffic_forward(float *out, const float *in, int BH, int T);
void swl_causal_softmax_traffic_backward(float *c, const float *a, const float *b, int BH, int T);
/// The causal rows' own traffic, with no zeros, streaming stores or prefetching: in place
/// a = a·b over each row's lower triangle (j ≤ i), or over all T entries of every row when
/// whole_rows is nonzero, for the harness to tell what the short rows cost from what contiguous
/// memory runs at. Entries not visited are left as they are; same thread split as the softmax.
void swl_causal_rows_traffic(float *a, const float *b, int BH, int T, int whole_rows);
/// Best streaming bandwidth in GB/s (1e9 bytes) on `threads` threads: the in-place triad
/// a = a + s·b over two arrays of `bytes`/2 each (choose ≫ last-level cache), counting 12 bytes
/// per element (read a and b, write a). Returns 0 if the buffers cannot be allocated.
double swl_measure_bandwidth_gbs(int threads, size_t bytes);
/// One pass of that triad over caller-owned arrays a and b of n floats each, in GB/s: the harness
/// runs it just before and after each memory-bound case, because a shared VM's bandwidth can move
/// by 2× within one run. 0 if the pass was too short for the clock.
double swl_triad_pass_gbs(float *a, const float *b, size_t n, int threads);
/// Best read-only bandwidth in GB/s on `threads` threads: one pass reading an array of `bytes`.
double swl_measure_read_bandwidth_gbs(int threads, size_t bytes);
/// Best write-only bandwidth in GB/s on `threads` threads: streaming (non-temporal) stores over
/// an array of `bytes`, the way the kernels write outputs too big to stay cached.
double swl_measure_write_bandwidth_gbs(int threads, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif  // SWIFTLET_KERNELS_H
