import SwiftletKernels

/// A parameter tensor and its gradient, as pointers into the model's two flat stores.
struct ParameterView {
    let value: UnsafeMutablePointer<Float>
    let gradient: UnsafeMutablePointer<Float>

    init(_ slot: ParameterSlot, parameters: ParameterStore, gradients: ParameterStore) {
        value = parameters.pointer(slot)
        gradient = gradients.pointer(slot)
    }
}

/// `out = x·Wᵀ + b` on (rows, inputs) → (rows, outputs), PyTorch's `nn.Linear`.
struct Linear {
    let weight: ParameterView   // (outputs, inputs)
    let bias: ParameterView?    // (outputs) or none
    let inputs: Int
    let outputs: Int

    /// out (rows, outputs) ← x (rows, inputs)·Wᵀ + b.
    func forward(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, rows: Int) {
        swl_linear_forward(out, x, weight.value, bias?.value, Int32(rows), Int32(inputs), Int32(outputs))
    }

    /// dx (rows, inputs) += dout·W, unless dx is nil (with `inputGradient: .overwrite`, dx = dout·W,
    /// nothing in it read); dW += doutᵀ·x (with `weightGradient: .overwrite`, dW = doutᵀ·x);
    /// db += Σ dout. An overwrite leaves the bits of adding into zeros.
    func backward(
        dx: UnsafeMutablePointer<Float>?, _ dout: UnsafePointer<Float>, _ x: UnsafePointer<Float>, rows: Int,
        inputGradient dxWrite: GradientWrite, weightGradient write: GradientWrite
    ) {
        let (n, c, oc) = (Int32(rows), Int32(inputs), Int32(outputs))
        var dxAdded = dx
        if let dx, dxWrite == .overwrite {
            swl_linear_input_gradient(dx, dout, weight.value, n, c, oc)
            dxAdded = nil
        }
        switch write {
        case .accumulate:
            swl_linear_backward(dxAdded, weight.gradient, bias?.gradient, dout, x, weight.value, n, c, oc)
        case .overwrite:
            swl_linear_backward(dxAdded, nil, bias?.gradient, dout, x, weight.value, n, c, oc)
            swl_linear_weight_gradient(weight.gradient, dout, x, n, c, oc)
        }
    }
}
