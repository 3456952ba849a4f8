// Row kernels of softmax.c, written once over the vocabulary of pointwise_simd.h and included
// once per ISA path: softmax_forward_row_<path>, softmax_backward_row_<path>.
// Row i of a (T,T) plane uses columns j ≤ i only: the row's last partial vector is loaded with
// vload_n, so nothing above the diagonal is ever read.

// p[j] = e[j]·inverse for j < n and 0 for n ≤ j < T, one vector of the row starting at j.
VEC_FN vf VEC(softmax_normalized)(const float *e, int j, int n, vf inverse) {
    if (j + VW <= n) return vmul(vload(e + j), inverse);
    if (j >= n) return vset1(0.0f);
    return vmul(vload_n(e + j, n - j, 0.0f), inverse);
}

// p[j] = exp(scale·s[j] − max) / Σ_{j'≤i} exp(scale·s[j'] − max) for j ≤ i, and 0 for i < j < T.
// `ahead` is how far (in floats) the row two rows on lies, or 0 on the last two rows: its
// scores are prefetched, which the hardware prefetcher alone did too late (one thread waited
// on memory, 1.5× slower at T=1024). With a `scratch` row of T floats the exps are kept there
// and p is written once, streamed past the caches (for outputs too big to stay cached);
// without, they are kept in p itself, whose lines are then prefetched too.
VEC_KERNEL void VEC(softmax_forward_row)(float *p, const float *s, int i, int T, float scale,
                                         size_t ahead, float *scratch) {
    const int n = i + 1;
    for (int j = 0; j < T; j += 16) {
        if (j < n + 2) __builtin_prefetch(s + j + ahead);
        if (scratch == NULL) __builtin_prefetch(p + j + ahead, 1);
    }
    const vf vscale = vset1(scale);
    // Four chains: one vmax after another would wait on its latency for every vector.
    vf m0 = vset1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int j = 0;
    for (; j + 4 * VW <= n; j += 4 * VW) {
        m0 = vmax(vmul(vscale, vload(s + j)), m0);
        m1 = vmax(vmul(vscale, vload(s + j + VW)), m1);
        m2 = vmax(vmul(vscale, vload(s + j + 2 * VW)), m2);
        m3 = vmax(vmul(vscale, vload(s + j + 3 * VW)), m3);
    }
    vf m = vmax(vmax(m0, m1), vmax(m2, m3));
    for (; j + VW <= n; j += VW) m = vmax(vmul(vscale, vload(s + j)), m);
    if (j < n) m = vmax(vmul(vscale, vload_n(s + j, n - j, -INFINITY)), m);

    // exp and its sum in one pass; two chains keep exps in flight. exp(scale·s − max) is taken
    // as 2^(s·scale·log2 e − max·log2 e): one FMA (the sum absorbs the shift's rounding).
    float *e = scratch != NULL ? scratch : p;
    const vf scale2 = vset1(scale * SWL_LOG2E), shift = vset1(-vhmax(m) * SWL_LOG2E);
    vf sum0 = vset1(0.0f), sum1 = vset1(0.0f);
    for (j = 0; j + 2 * VW <= n; j += 2 * VW) {
        vf e0 = vexp2(vfma(scale2, vload(s + j), shift));
        vf e1 = vexp2(vfma(scale2, vload(s + j + VW), shift));
        vstore(e + j, e0);
        vstore(e + j + VW, e1);
        sum0 = vadd(sum0, e0);
        sum1 = vadd(sum1, e1);
    }
    for (; j + VW <= n; j += VW) {
        vf x = vexp2(vfma(scale2, vload(s + j), shift));
        vstore(e + j, x);
        sum0 = vadd(sum0, x);
    }
    if (j < n) {  // the fill lanes give exp(−∞) = 0
        vf x = vexp2(vfma(scale2, vload_n(s + j, n - j, -INFINITY), shift));
        vstore_n(e + j, x, n - j);
        sum1 = vadd(sum1, x);
    }
    const vf inverse = vset1(1.0f / vsum(vadd(sum0, sum1)));
    if (scratch == NULL) {
        for (j = 0; j + VW <= n; j += VW) vstore(p + j, vmul(vload(p + j), inverse));
        if (j < n) vstore_n(p + j, vmul(vload_n(p + j, n - j, 0.0f), inverse), n - j);
        memset(p + n, 0, sizeof(float) * (size_t)(T - n));
        return;
    }
    // Streamed: masked stores up to the first aligned vector and after the last, whole aligned
    // vectors (the zeros above the diagonal included) in between.
    j = (int)valign_head(p, (size_t)T);
    if (j > 0) vstore_n(p, VEC(softmax_normalized)(e, 0, n, inverse), j);
    for (; j + VW <= T; j += VW) vstream(p + j, VEC(softmax_normalized)(e, j, n, inverse));
    if (j < T) vstore_n(p + j, VEC(softmax_normalized)(e, j, n, inverse), T - j);
}

// ds[j] += scale·p[j]·(dp[j] − Σ_{j'≤i} p[j']·dp[j']) for j ≤ i; dp above the diagonal is never read.
// The three rows two rows on (`ahead` floats, 0 on the last two rows) are prefetched: each row
// is a short run of its own, which the hardware prefetcher picks up too late.
VEC_KERNEL void VEC(softmax_backward_row)(float *ds, const float *dp, const float *p, int i,
                                          float scale, size_t ahead) {
    const int n = i + 1;
    for (int j = 0; j < n + 2; j += 16) {
        __builtin_prefetch(p + j + ahead);
        __builtin_prefetch(dp + j + ahead);
        __builtin_prefetch(ds + j + ahead, 1);
    }
    vf dot0 = vset1(0.0f), dot1 = vset1(0.0f);
    int j = 0;
    for (; j + 2 * VW <= n; j += 2 * VW) {
        dot0 = vfma(vload(p + j), vload(dp + j), dot0);
        dot1 = vfma(vload(p + j + VW), vload(dp + j + VW), dot1);
    }
    for (; j + VW <= n; j += VW) dot0 = vfma(vload(p + j), vload(dp + j), dot0);
    if (j < n) dot1 = vfma(vload_n(p + j, n - j, 0.0f), vload_n(dp + j, n - j, 0.0f), dot1);
    const vf dot = vset1(vsum(vadd(dot0, dot1))), vscale = vset1(scale);
    for (j = 0; j + VW <= n; j += VW)
        vstore(ds + j, vfma(vmul(vscale, vload(p + j)), vsub(vload(dp + j), dot), vload(ds + j)));
    if (j < n) {
        const int lanes = n - j;
        vf g = vmul(vmul(vscale, vload_n(p + j, lanes, 0.0f)), vsub(vload_n(dp + j, lanes, 0.0f), dot));
        vstore_n(ds + j, vadd(g, vload_n(ds + j, lanes, 0.0f)), lanes);
    }
}
