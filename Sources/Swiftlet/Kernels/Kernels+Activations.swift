import SwiftletKernels

extension Kernels {
    /// Pointwise activation functions.
    public enum Activation: String, CaseIterable, Codable, Sendable {
        /// `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`: GPT-2, llm.c, PyTorch `approximate='tanh'`.
        case geluTanh = "gelu_tanh"
        /// `0.5·x·(1 + erf(x/√2))`: PyTorch's default `nn.GELU()`, used by nanoGPT.
        case geluErf = "gelu"
        /// `max(0, x)`.
        case relu
    }

    /// Applies `function` to every element of `x`.
    public static func activation(_ x: Tensor, _ function: Activation) throws -> Tensor {
        let n = try elementCount(x, "x")
        var out = [Float](repeating: 0, count: n)
        switch function {
        case .geluTanh: swl_gelu_tanh_forward(&out, x.values, n)
        case .geluErf: swl_gelu_erf_forward(&out, x.values, n)
        case .relu: swl_relu_forward(&out, x.values, n)
        }
        return try Tensor(shape: x.shape, values: out)
    }

    /// Gradient of `activation`: `outputGradient·f′(x)`.
    public static func activationBackward(outputGradient: Tensor, input x: Tensor, _ function: Activation) throws -> Tensor {
        let n = try elementCount(x, "x")
        try require(outputGradient, shape: x.shape, "outputGradient")
        var dx = [Float](repeating: 0, count: n)
        switch function {
        case .geluTanh: swl_gelu_tanh_backward(&dx, outputGradient.values, x.values, n)
        case .geluErf: swl_gelu_erf_backward(&dx, outputGradient.values, x.values, n)
        case .relu: swl_relu_backward(&dx, outputGradient.values, x.values, n)
        }
        return try Tensor(shape: x.shape, values: dx)
    }

    /// The residual connection `a + b`.
    public static func residual(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let n = try elementCount(a, "a")
        try require(b, shape: a.shape, "b")
        var out = [Float](repeating: 0, count: n)
        swl_residual_forward(&out, a.values, b.values, n)
        return try Tensor(shape: a.shape, values: out)
    }

    /// Gradients of `residual`: both inputs receive `outputGradient`.
    public static func residualBackward(outputGradient: Tensor) throws -> (a: Tensor, b: Tensor) {
        let n = try elementCount(outputGradient, "outputGradient")
        var da = [Float](repeating: 0, count: n), db = [Float](repeating: 0, count: n)
        swl_residual_backward(&da, &db, outputGradient.values, n)
        return (try Tensor(shape: outputGradient.shape, values: da), try Tensor(shape: outputGradient.shape, values: db))
    }

    /// Inverted dropout: zeroes each element with probability `probability` and scales the
    /// others by `1/(1 − probability)`. The mask is a pure function of `(seed, index)`, so the
    /// backward recomputes it and the result does not depend on the thread count.
    public static func dropout(_ x: Tensor, probability: Float, seed: UInt64) throws -> Tensor {
        let n = try elementCount(x, "x")
        try requireProbability(probability)
        var out = [Float](repeating: 0, count: n)
        swl_dropout_forward(&out, x.values, n, probability, seed)
        return try Tensor(shape: x.shape, values: out)
    }

    /// Gradient of `dropout` with the same `probability` and `seed`.
    public static func dropoutBackward(outputGradient: Tensor, probability: Float, seed: UInt64) throws -> Tensor {
        let n = try elementCount(outputGradient, "outputGradient")
        try requireProbability(probability)
        var dx = [Float](repeating: 0, count: n)
        swl_dropout_backward(&dx, outputGradient.values, n, probability, seed)
        return try Tensor(shape: outputGradient.shape, values: dx)
    }

    /// Throws unless the tensor has at least one element; returns the count.
    static func elementCount(_ x: Tensor, _ name: String) throws -> Int {
        guard x.count >= 1 else { throw KernelError.invalidShape("\(name) is empty (shape \(x.shape))") }
        return x.count
    }

    static func requireProbability(_ p: Float) throws {
        guard p >= 0, p < 1 else {
            throw KernelError.invalidArgument("dropout probability must be in [0, 1), got \(p)")
        }
    }
}
