import SwiftletKernels

extension Kernels {
    /// What a LayerNorm forward returns: the output and the per-row statistics its backward needs.
    public struct LayerNormForward: Sendable {
        /// Normalized, scaled and shifted input, same shape as the input.
        public var output: Tensor
        /// Per-row mean, shape `(N)` with N the product of all but the last dimension.
        public var mean: Tensor
        /// Per-row `1/sqrt(var + eps)` with biased variance, shape `(N)`.
        public var rstd: Tensor
    }

    /// Gradients of a LayerNorm.
    public struct LayerNormGradients: Sendable {
        public var input: Tensor
        public var weight: Tensor
        /// `nil` when the LayerNorm has no bias.
        public var bias: Tensor?
    }

    /// LayerNorm over the last dimension: `(x − mean)·rstd·weight + bias`.
    ///
    /// - Parameters:
    ///   - x: input of any rank ≥ 1; the last dimension C is normalized.
    ///   - weight: shape `(C)`.
    ///   - bias: shape `(C)`, or `nil` for a LayerNorm without bias.
    ///   - eps: added to the biased variance before the square root.
    public static func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor?, eps: Float = 1e-5) throws -> LayerNormForward {
        let (rows, channels) = try rowsAndChannels(x, "x")
        try require(weight, shape: [channels], "weight")
        if let bias { try require(bias, shape: [channels], "bias") }
        guard eps >= 0, eps.isFinite else { throw KernelError.invalidArgument("eps must be finite and ≥ 0, got \(eps)") }
        var output = [Float](repeating: 0, count: x.count)
        var mean = [Float](repeating: 0, count: rows)
        var rstd = [Float](repeating: 0, count: rows)
        let n = try int32(rows, "rows"), c = try int32(channels, "channels")
        withOptionalPointer(bias?.values) { biasPointer in
            swl_layernorm_forward(&output, &mean, &rstd, x.values, weight.values, biasPointer, n, c, eps)
        }
        return LayerNormForward(
            output: try Tensor(shape: x.shape, values: output),
            mean: try Tensor(shape: [rows], values: mean),
            rstd: try Tensor(shape: [rows], values: rstd))
    }

    /// Gradients of `layerNorm` given the gradient of its output and the saved statistics.
    public static func layerNormBackward(
        outputGradient: Tensor, input x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, hasBias: Bool = true
    ) throws -> LayerNormGradients {
        let (rows, channels) = try rowsAndChannels(x, "x")
        try require(outputGradient, shape: x.shape, "outputGradient")
        try require(weight, shape: [channels], "weight")
        try require(mean, shape: [rows], "mean")
        try require(rstd, shape: [rows], "rstd")
        var dx = [Float](repeating: 0, count: x.count)
        var dweight = [Float](repeating: 0, count: channels)
        var dbias = [Float](repeating: 0, count: hasBias ? channels : 0)
        let n = try int32(rows, "rows"), c = try int32(channels, "channels")
        dbias.withUnsafeMutableBufferPointer { dbiasBuffer in
            swl_layernorm_backward(&dx, &dweight, hasBias ? dbiasBuffer.baseAddress : nil, outputGradient.values,
                                   x.values, weight.values, mean.values, rstd.values, n, c)
        }
        return LayerNormGradients(
            input: try Tensor(shape: x.shape, values: dx),
            weight: try Tensor(shape: [channels], values: dweight),
            bias: hasBias ? try Tensor(shape: [channels], values: dbias) : nil)
    }

    /// Splits a tensor of rank ≥ 1 into (rows, last dimension), both at least 1.
    static func rowsAndChannels(_ x: Tensor, _ name: String) throws -> (rows: Int, channels: Int) {
        guard let channels = x.shape.last else {
            throw KernelError.invalidShape("\(name) must have at least 1 dimension, got a scalar")
        }
        try requirePositive(channels, "\(name)'s last dimension")
        let rows = x.shape.dropLast().reduce(1, *)
        try requirePositive(rows, "\(name)'s row count (product of all but the last dimension)")
        return (rows, channels)
    }

    /// Calls `body` with a pointer to `values`, or with `nil` when `values` is `nil`.
    static func withOptionalPointer<R>(_ values: [Float]?, _ body: (UnsafePointer<Float>?) throws -> R) rethrows -> R {
        guard let values else { return try body(nil) }
        return try values.withUnsafeBufferPointer { try body($0.baseAddress) }
    }
}
