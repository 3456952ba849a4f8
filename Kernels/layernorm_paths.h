// Row kernels of layernorm.c, written once over the vocabulary of pointwise_simd.h and included
// once per ISA path. A row's last partial vector is loaded with a neutral fill (0 for sums, the
// mean where x − mean is formed) so it adds nothing it should not.

// out[c…c+lanes) = (x − mean)·rstd·w + b.
VEC_FN void VEC(layernorm_forward_step)(float *out, const float *x, const float *weight,
                                         const float *bias, float mean, float rstd, int c, int lanes) {
    vf n = vmul(vsub(vload_k(x + c, lanes, mean), vset1(mean)), vset1(rstd));
    vf b = bias != NULL ? vload_k(bias + c, lanes, 0.0f) : vset1(0.0f);
    vstore_k(out + c, vfma(n, vload_k(weight + c, lanes, 0.0f), b), lanes);
}

// One row: mean and biased variance in two passes (a one-pass E[x²]−E[x]² loses the variance
// of rows with a large mean), then out = (x − mean)·rstd·w + b. x, out, weight, bias are (C).
VEC_KERNEL void VEC(layernorm_row_forward)(float *out, float *mean, float *rstd, const float *x,
                                            const float *weight, const float *bias, int C, float eps) {
    // Four chains per sum: one add after another on a single accumulator waited on its latency.
    vf a0 = vset1(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int c = 0;
    for (; c + 4 * VW <= C; c += 4 * VW) {
        a0 = vadd(a0, vload(x + c));
        a1 = vadd(a1, vload(x + c + VW));
        a2 = vadd(a2, vload(x + c + 2 * VW));
        a3 = vadd(a3, vload(x + c + 3 * VW));
    }
    for (; c < C; c += VW) a0 = vadd(a0, vload_k(x + c, SWL_MIN(VW, C - c), 0.0f));
    float m = vsum(vadd(vadd(a0, a1), vadd(a2, a3))) / (float)C;
    vf vm = vset1(m);
    a0 = a1 = a2 = a3 = vset1(0.0f);
    for (c = 0; c + 4 * VW <= C; c += 4 * VW) {
        vf d0 = vsub(vload(x + c), vm), d1 = vsub(vload(x + c + VW), vm);
        vf d2 = vsub(vload(x + c + 2 * VW), vm), d3 = vsub(vload(x + c + 3 * VW), vm);
        a0 = vfma(d0, d0, a0), a1 = vfma(d1, d1, a1), a2 = vfma(d2, d2, a2), a3 = vfma(d3, d3, a3);
    }
    for (; c < C; c += VW) {
        vf d = vsub(vload_k(x + c, SWL_MIN(VW, C - c), m), vm);  // fill lanes give d = 0
        a0 = vfma(d, d, a0);
    }
    vf acc = vadd(vadd(a0, a1), vadd(a2, a3));
    float s = 1.0f / sqrtf(vsum(acc) / (float)C + eps);
    // Elementwise from here: peel to the first aligned output vector.
    c = (int)valign_head(out, (size_t)C);
    if (c > 0) VEC(layernorm_forward_step)(out, x, weight, bias, m, s, 0, c);
    for (; c + VW <= C; c += VW) VEC(layernorm_forward_step)(out, x, weight, bias, m, s, c, VW);
    if (c < C) VEC(layernorm_forward_step)(out, x, weight, bias, m, s, c, C - c);
    *mean = m;
    *rstd = s;
}

// Columns c…c+lanes of the backward's second pass (see below).
VEC_FN void VEC(layernorm_backward_step)(float *dx, float *dw, float *db, const float *dout,
                                          const float *x, const float *weight, float mean,
                                          float rstd, vf dnorm_mean, vf dnorm_norm_mean, int c,
                                          int lanes) {
    vf vs = vset1(rstd);
    vf g = vload_k(dout + c, lanes, 0.0f);
    vf norm = vmul(vsub(vload_k(x + c, lanes, mean), vset1(mean)), vs);
    vf dnorm = vmul(vload_k(weight + c, lanes, 0.0f), g);
    vstore_k(dw + c, vfma(g, norm, vload_k(dw + c, lanes, 0.0f)), lanes);
    if (db != NULL) vstore_k(db + c, vadd(vload_k(db + c, lanes, 0.0f), g), lanes);
    vf d = vmul(vsub(vsub(dnorm, dnorm_mean), vmul(norm, dnorm_norm_mean)), vs);
    vstore_k(dx + c, vadd(vload_k(dx + c, lanes, 0.0f), d), lanes);
}

// The backward's first-pass sums over columns c…c+lanes: Σ dnorm and Σ dnorm·norm (see below).
// Fill lanes: w = dout = 0 give dnorm = 0, so they add nothing to either sum.
VEC_FN void VEC(layernorm_backward_sums)(vf *sum_dnorm, vf *sum_dnorm_norm, const float *dout,
                                          const float *x, const float *weight, vf vm, vf vs, int c,
                                          int lanes) {
    vf norm = vmul(vsub(vload_k(x + c, lanes, 0.0f), vm), vs);
    vf dnorm = vmul(vload_k(weight + c, lanes, 0.0f), vload_k(dout + c, lanes, 0.0f));
    *sum_dnorm = vadd(*sum_dnorm, dnorm);
    *sum_dnorm_norm = vfma(dnorm, norm, *sum_dnorm_norm);
}

// One row of the backward, with dnorm = w·dout and norm = (x − mean)·rstd:
// dx += (dnorm − mean(dnorm) − norm·mean(dnorm·norm))·rstd, dw += dout·norm, db += dout.
// dw and db (NULL: no bias) are the row block's partial sums.
VEC_KERNEL void VEC(layernorm_row_backward)(float *dx, float *dw, float *db, const float *dout,
                                             const float *x, const float *weight, float mean,
                                             float rstd, int C) {
    // Four chains per sum: one FMA after another on a single accumulator waited on its latency.
    vf vm = vset1(mean), vs = vset1(rstd);
    vf sd0 = vset1(0.0f), sd1 = sd0, sd2 = sd0, sd3 = sd0, sn0 = sd0, sn1 = sd0, sn2 = sd0, sn3 = sd0;
    int c = 0;
    for (; c + 4 * VW <= C; c += 4 * VW) {
        VEC(layernorm_backward_sums)(&sd0, &sn0, dout, x, weight, vm, vs, c, VW);
        VEC(layernorm_backward_sums)(&sd1, &sn1, dout, x, weight, vm, vs, c + VW, VW);
        VEC(layernorm_backward_sums)(&sd2, &sn2, dout, x, weight, vm, vs, c + 2 * VW, VW);
        VEC(layernorm_backward_sums)(&sd3, &sn3, dout, x, weight, vm, vs, c + 3 * VW, VW);
    }
    for (; c < C; c += VW) VEC(layernorm_backward_sums)(&sd0, &sn0, dout, x, weight, vm, vs, c, SWL_MIN(VW, C - c));
    vf sum_dnorm = vadd(vadd(sd0, sd1), vadd(sd2, sd3));
    vf sum_dnorm_norm = vadd(vadd(sn0, sn1), vadd(sn2, sn3));
    vf dnorm_mean = vset1(vsum(sum_dnorm) / (float)C);
    vf dnorm_norm_mean = vset1(vsum(sum_dnorm_norm) / (float)C);
    c = (int)valign_head(dx, (size_t)C);
    if (c > 0) VEC(layernorm_backward_step)(dx, dw, db, dout, x, weight, mean, rstd, dnorm_mean, dnorm_norm_mean, 0, c);
    for (; c + VW <= C; c += VW)
        VEC(layernorm_backward_step)(dx, dw, db, dout, x, weight, mean, rstd, dnorm_mean, dnorm_norm_mean, c, VW);
    if (c < C)
        VEC(layernorm_backward_step)(dx, dw, db, dout, x, weight, mean, rstd, dnorm_mean, dnorm_norm_mean, c, C - c);
}
