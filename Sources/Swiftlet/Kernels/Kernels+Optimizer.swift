import SwiftletKernels

extension Kernels {
    /// One AdamW update in place, with PyTorch semantics (decoupled weight decay, bias correction).
    ///
    /// `p ← p·(1 − lr·wd)`; `m ← β1·m + (1−β1)·g`; `v ← β2·v + (1−β2)·g²`;
    /// `p ← p − lr·(m/(1−β1ᵗ)) / (sqrt(v/(1−β2ᵗ)) + eps)`.
    /// - Parameter step: t, the 1-based number of this update.
    public static func adamWUpdate(
        parameters: inout Tensor, gradients: Tensor, firstMoment m: inout Tensor, secondMoment v: inout Tensor,
        step: Int, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
        weightDecay: Float = 0.01
    ) throws {
        let n = try elementCount(parameters, "parameters")
        try require(gradients, shape: parameters.shape, "gradients")
        try require(m, shape: parameters.shape, "firstMoment")
        try require(v, shape: parameters.shape, "secondMoment")
        guard step >= 1 else { throw KernelError.invalidArgument("step is 1-based, got \(step)") }
        guard (0..<1).contains(beta1), (0..<1).contains(beta2) else {
            throw KernelError.invalidArgument("beta1 and beta2 must be in [0, 1), got \(beta1), \(beta2)")
        }
        let t = try int32(step, "step")
        swl_adamw_update(&parameters.values, &m.values, &v.values, gradients.values, n, 1,
                         learningRate, beta1, beta2, eps, weightDecay, t)
    }

    /// Σ x², accumulated in double in a fixed order.
    public static func sumOfSquares(_ x: Tensor) -> Double {
        swl_sum_of_squares(x.values, x.count)
    }

    /// Multiplies every element of `x` by `factor` in place.
    public static func scale(_ x: inout Tensor, by factor: Float) {
        swl_scale(&x.values, x.count, factor)
    }

    /// Clips the global L2 norm of `gradients` to `maxNorm`, as PyTorch's `clip_grad_norm_`.
    ///
    /// `norm = sqrt(Σ over all tensors Σ g²)`, `coef = maxNorm/(norm + 1e-6)`; when `coef < 1`
    /// every gradient is multiplied by it, otherwise nothing is touched (bit-identical).
    /// A `maxNorm` that is not positive (or NaN) disables clipping: the norm is still returned.
    /// - Returns: the norm before clipping.
    @discardableResult
    public static func clipGradientNorm(_ gradients: inout [Tensor], maxNorm: Float) -> Float {
        let norm = gradients.reduce(0.0) { $0 + sumOfSquares($1) }.squareRoot()
        let coefficient = Double(maxNorm) / (norm + 1e-6)
        if maxNorm > 0, coefficient < 1 {
            for index in gradients.indices { scale(&gradients[index], by: Float(coefficient)) }
        }
        return Float(norm)
    }
}
