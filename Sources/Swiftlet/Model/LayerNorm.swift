import SwiftletKernels

/// LayerNorm over the channels, biased variance, eps 1e-5 (PyTorch `nn.LayerNorm`, GPT-2).
struct LayerNorm {
    let weight: ParameterView   // (channels)
    let bias: ParameterView?    // (channels) or none (nanoGPT bias=False)
    let channels: Int
    static let epsilon: Float = 1e-5

    /// out (rows, C) ← normalized x; saves mean and rstd (rows) for backward.
    func forward(
        _ out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        _ x: UnsafePointer<Float>, rows: Int
    ) {
        swl_layernorm_forward(out, mean, rstd, x, weight.value, bias?.value, Int32(rows), Int32(channels), Self.epsilon)
    }

    /// dx (rows, C) += ∂L/∂x; dweight and dbias accumulate.
    func backward(
        dx: UnsafeMutablePointer<Float>, _ dout: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, rows: Int
    ) {
        swl_layernorm_backward(dx, weight.gradient, bias?.gradient, dout, x, weight.value, mean, rstd,
                               Int32(rows), Int32(channels))
    }
}
