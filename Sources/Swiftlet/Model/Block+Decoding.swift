import SwiftletKernels

extension Block {
    /// `forward` for one new token at absolute `position` (B = T = 1), attending over the layer's
    /// cached keys and values (see `CausalSelfAttention.decode`). Returns the block output (1,C),
    /// a buffer in `a`. The same sequence of operations as `forward` (pre/post-LN, attention-only),
    /// with the one-row kernels: results agree with a full pass up to summation order.
    func decode(
        _ a: BlockActivations, input: UnsafePointer<Float>, position: Int,
        keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>, capacity: Int,
        scratch: UnsafeMutablePointer<Float>
    ) -> UnsafeMutablePointer<Float> {
        func attend(_ x: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
            attention.decode(a, input: x, position: position, keys: keys, values: values, capacity: capacity,
                             scratch: scratch)
        }
        switch normalization {
        case .pre:
            ln1.forward(a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, input, rows: 1)
            swl_residual_forward(a.residual1, input, attend(a.ln1), channels)
            guard let mlp, let ln2, let normalized = a.ln2, let residual2 = a.residual2 else { return a.residual1 }
            ln2.forward(normalized, mean: a.ln2Mean!, rstd: a.ln2Rstd!, a.residual1, rows: 1)
            let transformed = mlp.decode(a, input: normalized)
            swl_residual_forward(residual2, a.residual1, transformed, channels)
            return residual2
        case .post:
            swl_residual_forward(a.residual1, input, attend(input), channels)
            ln1.forward(a.ln1, mean: a.ln1Mean, rstd: a.ln1Rstd, a.residual1, rows: 1)
            guard let mlp, let ln2, let normalized = a.ln2, let residual2 = a.residual2 else { return a.ln1 }
            let transformed = mlp.decode(a, input: a.ln1)
            swl_residual_forward(residual2, a.ln1, transformed, channels)
            ln2.forward(normalized, mean: a.ln2Mean!, rstd: a.ln2Rstd!, residual2, rows: 1)
            return normalized
        }
    }
}
