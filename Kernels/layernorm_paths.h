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
    int full = C - C % VW, tail = C - full;
    vf acc = vset1(0.0f);
    for (int c = 0; c < full; c += VW) acc = vadd(acc, vload(x + c));
    if (tail > 0) acc = vadd(acc, vload_n(x + full, tail, 0.0f));
    float m = vsum(acc) / (float)C;
    vf vm = vset1(m);
    acc = vset1(0.0f);
    for (int c = 0; c < full; c += VW) {
        vf d = vsub(vload(x + c), vm);
        acc = vfma(d, d, acc);
    }
    if (tail > 0) {
        vf d = vsub(vload_n(x + full, tail, m), vm);
        acc = vfma(d, d, acc);
    }
    float s = 1.0f / sqrtf(vsum(acc) / (float)C + eps);
    // Elementwise from here: peel to the first aligned output vector.
    int c = (int)valign_head(out, (size_t)C);
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

// One row of the backward, with dnorm = w·dout and norm = (x − mean)·rstd:
// dx += (dnorm − mean(dnorm) − norm·mean(dnorm·norm))·rstd, dw += dout·norm, db += dout.
// dw and db (NULL: no bias) are the row block's partial sums.
VEC_KERNEL void VEC(layernorm_row_backward)(float *dx, float *dw, float *db, const float *dout,
                                             const float *x, const float *weight, float mean,
                                             float rstd, int C) {
    int full = C - C % VW, tail = C - full;
    vf vm = vset1(mean), vs = vset1(rstd);
    vf sum_dnorm = vset1(0.0f), sum_dnorm_norm = vset1(0.0f);
    for (int c = 0; c < full; c += VW) {
        vf norm = vmul(vsub(vload(x + c), vm), vs);
        vf dnorm = vmul(vload(weight + c), vload(dout + c));
        sum_dnorm = vadd(sum_dnorm, dnorm);
        sum_dnorm_norm = vfma(dnorm, norm, sum_dnorm_norm);
    }
    if (tail > 0) {
        vf norm = vmul(vsub(vload_n(x + full, tail, mean), vm), vs);
        vf dnorm = vmul(vload_n(weight + full, tail, 0.0f), vload_n(dout + full, tail, 0.0f));
        sum_dnorm = vadd(sum_dnorm, dnorm);
        sum_dnorm_norm = vfma(dnorm, norm, sum_dnorm_norm);
    }
    vf dnorm_mean = vset1(vsum(sum_dnorm) / (float)C);
    vf dnorm_norm_mean = vset1(vsum(sum_dnorm_norm) / (float)C);
    int c = (int)valign_head(dx, (size_t)C);
    if (c > 0) VEC(layernorm_backward_step)(dx, dw, db, dout, x, weight, mean, rstd, dnorm_mean, dnorm_norm_mean, 0, c);
    for (; c + VW <= C; c += VW)
        VEC(layernorm_backward_step)(dx, dw, db, dout, x, weight, mean, rstd, dnorm_mean, dnorm_norm_mean, c, VW);
    if (c < C)
        VEC(layernorm_backward_step)(dx, dw, db, dout, x, weight, mean, rstd, dnorm_mean, dnorm_norm_mean, c, C - c);
}
