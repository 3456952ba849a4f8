// Chunk kernels of activations.c, written once over the vocabulary of pointwise_simd.h and
// included once per ISA path. Each works on n contiguous elements; the last partial vector
// uses masked loads/stores, so an element's result never depends on where its chunk starts.
// The main loops handle four vectors at a time: independent chains hide exp's latency.

#define GELU_SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_CUBIC 0.044715f
#define INV_SQRT_2 0.7071067811865476f
#define INV_SQRT_2PI 0.3989422804014327f
// Beyond |x| = 20 GELU tanh's σ(2u) is exactly 0 or 1 in float; clamping x inside u′ keeps it
// finite for huge inputs (no inf·0 = NaN in the backward).
#define GELU_TANH_CLAMP 20.0f

// 1 + 2^(−2u·log2 e) for GELU tanh, u = √(2/π)·(x + 0.044715·x³), so that σ(2u) = 0.5·(1 + tanh u)
// is its inverse. The exponent is x·(A + B·x²) with log2 e folded into A and B. No clamp is
// needed: for huge |x|, x² = inf sends the exponent to ∓inf, and 2^t to 0 or inf.
#define GELU_TANH_A (-2.0f * GELU_SQRT_2_OVER_PI * SWL_LOG2E)
VEC_FN vf VEC(gelu_tanh_denominator)(vf x) {
    vf t = vmul(x, vfma(vmul(x, x), vset1(GELU_TANH_A * GELU_CUBIC), vset1(GELU_TANH_A)));
    return vadd(vset1(1.0f), vexp2(t));
}

// The logistic σ(2u) = 0.5·(1 + tanh u).
VEC_FN vf VEC(gelu_tanh_sigmoid)(vf x) { return vdiv(vset1(1.0f), VEC(gelu_tanh_denominator)(x)); }

// out = x·σ(2u) = x / (1 + e^(−2u)): no cancellation near 0, exact saturation in both tails.
VEC_FN vf VEC(gelu_tanh)(vf x) { return vdiv(x, VEC(gelu_tanh_denominator)(x)); }

// dout·gelu′(x) = dout·(s + 2·x·s·(1 − s)·u′), s = σ(2u), u′ = √(2/π)·(1 + 3·0.044715·x²).
VEC_FN vf VEC(gelu_tanh_grad)(vf dout, vf x) {
    vf s = VEC(gelu_tanh_sigmoid)(x);
    vf xc = vmax(vset1(-GELU_TANH_CLAMP), vmin(vset1(GELU_TANH_CLAMP), x));
    vf du = vmul(vfma(vmul(xc, xc), vset1(3.0f * GELU_CUBIC), vset1(1.0f)), vset1(GELU_SQRT_2_OVER_PI));
    vf ds = vmul(vmul(s, vsub(vset1(1.0f), s)), vmul(vadd(xc, xc), du));
    return vmul(dout, vadd(s, ds));
}

// Φ(x) and φ(x) of the standard normal: Abramowitz–Stegun 7.1.26 for erf (|error| ≤ 1.5e-7),
// evaluated as a tail probability so that Φ(x) for x ≪ 0 keeps its relative accuracy, and
// sharing exp(−x²/2) with φ.
VEC_FN vf VEC(normal_cdf)(vf x, vf *pdf) {
    vf z = vmul(vmax(x, vsub(vset1(0.0f), x)), vset1(INV_SQRT_2));
    vf t = vdiv(vset1(1.0f), vfma(z, vset1(0.3275911f), vset1(1.0f)));
    vf poly = vset1(1.061405429f);
    poly = vfma(poly, t, vset1(-1.453152027f));
    poly = vfma(poly, t, vset1(1.421413741f));
    poly = vfma(poly, t, vset1(-0.284496736f));
    poly = vfma(poly, t, vset1(0.254829592f));
    vf gauss = vexp(vmul(vmul(z, z), vset1(-1.0f)));
    if (pdf != NULL) *pdf = vmul(gauss, vset1(INV_SQRT_2PI));
    vf tail = vmul(vmul(poly, t), vmul(gauss, vset1(0.5f)));  // P(Z > |x|)
    return vsel_ge(x, vset1(0.0f), vsub(vset1(1.0f), tail), tail);
}

VEC_FN vf VEC(gelu_erf)(vf x) { return vmul(x, VEC(normal_cdf)(x, NULL)); }

VEC_FN vf VEC(gelu_erf_grad)(vf dout, vf x) {
    vf pdf;
    vf cdf = VEC(normal_cdf)(x, &pdf);
    return vmul(dout, vfma(x, pdf, cdf));
}

// out[i] = f(x[i]) over n elements: a masked head up to the first aligned output, aligned
// vectors (streamed past the caches when `stream`), a masked tail.
#define ACTIVATION_FORWARD_CHUNK(name, f)                                                      \
    VEC_KERNEL void VEC(name)(float *out, const float *x, size_t n, bool stream) {             \
        size_t i = valign_head(out, n);                                                        \
        if (i > 0) vstore_n(out, f(vload_n(x, (int)i, 0.0f)), (int)i);                         \
        for (; i + 4 * VW <= n; i += 4 * VW) {                                                 \
            vf y0 = f(vload(x + i)), y1 = f(vload(x + i + VW));                                \
            vf y2 = f(vload(x + i + 2 * VW)), y3 = f(vload(x + i + 3 * VW));                   \
            vput(out + i, y0, stream);                                                         \
            vput(out + i + VW, y1, stream);                                                    \
            vput(out + i + 2 * VW, y2, stream);                                                \
            vput(out + i + 3 * VW, y3, stream);                                                \
        }                                                                                      \
        for (; i + VW <= n; i += VW) vput(out + i, f(vload(x + i)), stream);                   \
        if (i < n) vstore_n(out + i, f(vload_n(x + i, (int)(n - i), 0.0f)), (int)(n - i));     \
        if (stream) swl_stream_fence();                                                         \
    }

// dx[i] = into(dx + i, grad(dout[i], x[i])) over n elements, split like the forward. `into` is
// ADD_INTO for the backward (dx += …) or WRITE_OVER for the input gradient (dx = 0 + …, the bits
// of adding into zeros, without loading dx); into##_N is its form for r < VW elements.
#define ADD_INTO(p, g) vadd(vload(p), g)
#define ADD_INTO_N(p, r, g) vadd(vload_n(p, r, 0.0f), g)
#define WRITE_OVER(p, g) vadd(vset1(0.0f), g)
#define WRITE_OVER_N(p, r, g) vadd(vset1(0.0f), g)
#define ACTIVATION_BACKWARD_CHUNK(name, grad, into)                                            \
    VEC_KERNEL void VEC(name)(float *dx, const float *dout, const float *x, size_t n) {        \
        size_t i = valign_head(dx, n);                                                         \
        if (i > 0) {                                                                           \
            int r = (int)i;                                                                    \
            vf g = grad(vload_n(dout, r, 0.0f), vload_n(x, r, 0.0f));                          \
            vstore_n(dx, into##_N(dx, r, g), r);                                               \
        }                                                                                      \
        for (; i + 4 * VW <= n; i += 4 * VW) {                                                 \
            vf g0 = grad(vload(dout + i), vload(x + i));                                       \
            vf g1 = grad(vload(dout + i + VW), vload(x + i + VW));                             \
            vf g2 = grad(vload(dout + i + 2 * VW), vload(x + i + 2 * VW));                     \
            vf g3 = grad(vload(dout + i + 3 * VW), vload(x + i + 3 * VW));                     \
            vstore(dx + i, into(dx + i, g0));                                                  \
            vstore(dx + i + VW, into(dx + i + VW, g1));                                        \
            vstore(dx + i + 2 * VW, into(dx + i + 2 * VW, g2));                                \
            vstore(dx + i + 3 * VW, into(dx + i + 3 * VW, g3));                                \
        }                                                                                      \
        for (; i + VW <= n; i += VW)                                                           \
            vstore(dx + i, into(dx + i, grad(vload(dout + i), vload(x + i))));                 \
        if (i < n) {                                                                           \
            int r = (int)(n - i);                                                              \
            vf g = grad(vload_n(dout + i, r, 0.0f), vload_n(x + i, r, 0.0f));                  \
            vstore_n(dx + i, into##_N(dx + i, r, g), r);                                       \
        }                                                                                      \
    }

ACTIVATION_FORWARD_CHUNK(gelu_tanh_forward_chunk, VEC(gelu_tanh))
ACTIVATION_BACKWARD_CHUNK(gelu_tanh_backward_chunk, VEC(gelu_tanh_grad), ADD_INTO)
ACTIVATION_BACKWARD_CHUNK(gelu_tanh_input_gradient_chunk, VEC(gelu_tanh_grad), WRITE_OVER)
ACTIVATION_FORWARD_CHUNK(gelu_erf_forward_chunk, VEC(gelu_erf))
ACTIVATION_BACKWARD_CHUNK(gelu_erf_backward_chunk, VEC(gelu_erf_grad), ADD_INTO)
ACTIVATION_BACKWARD_CHUNK(gelu_erf_input_gradient_chunk, VEC(gelu_erf_grad), WRITE_OVER)

#undef ACTIVATION_FORWARD_CHUNK
#undef ACTIVATION_BACKWARD_CHUNK
#undef ADD_INTO
#undef ADD_INTO_N
#undef WRITE_OVER
#undef WRITE_OVER_N
