import SwiftletKernels

/// The feed-forward sublayer, nanoGPT's `MLP`: `c_fc` → activation → `c_proj` → residual dropout.
struct MLP {
    let cFc: Linear            // (hidden, C)
    let cProj: Linear          // (C, hidden)
    let activation: GPTConfig.Activation
    let layer: Int

    private var channels: Int { cFc.inputs }
    private var hidden: Int { cFc.outputs }

    /// Runs the MLP on `input` (N,C) and returns the sublayer output (N,C) (after dropout).
    func forward(_ a: BlockActivations, input: UnsafePointer<Float>, rows: Int, dropout: DropoutPlan?)
        -> UnsafeMutablePointer<Float>
    {
        let fc = a.fc!, activated = a.fcActivated!, projection = a.mlpProjection!
        cFc.forward(fc, input, rows: rows)
        let n = rows * hidden
        switch activation {
        case .geluTanh: swl_gelu_tanh_forward(activated, fc, n)
        case .geluErf: swl_gelu_erf_forward(activated, fc, n)
        case .relu: swl_relu_forward(activated, fc, n)
        }
        cProj.forward(projection, activated, rows: rows)
        guard let dropout, let dropped = a.mlpDropped else { return projection }
        dropout.forward(dropped, projection, count: rows * channels, site: .mlpResidual(layer: layer))
        return dropped
    }

    /// dInput (N,C) += ∂L/∂input given dOutput (N,C), or with `inputGradient: .overwrite` dInput =
    /// ∂L/∂input (nothing in it read). dInput may be the same buffer as dOutput: dOutput is
    /// consumed before dInput is written.
    func backward(
        dInput: UnsafeMutablePointer<Float>, dOutput: UnsafePointer<Float>, _ a: BlockActivations,
        input: UnsafePointer<Float>, rows: Int, dropout: DropoutPlan?, scratch g: ActivationGradients,
        inputGradient dInputWrite: GradientWrite, weightGradients write: GradientWrite
    ) {
        let count = rows * channels, n = rows * hidden
        var dProjection = dOutput
        if let dropout, a.mlpDropped != nil {
            g.projection.clear(count)
            dropout.backward(g.projection, dOutput, count: count, site: .mlpResidual(layer: layer))
            dProjection = UnsafePointer(g.projection)
        }
        // The hidden gradients are written over the scratch, not added into it: no clearing first.
        let dActivated = g.hiddenActivated!, dFc = g.hidden!
        cProj.backward(dx: dActivated, dProjection, a.fcActivated!, rows: rows, inputGradient: .overwrite,
                       weightGradient: write)
        switch activation {
        case .geluTanh: swl_gelu_tanh_input_gradient(dFc, dActivated, a.fc, n)
        case .geluErf: swl_gelu_erf_input_gradient(dFc, dActivated, a.fc, n)
        case .relu: swl_relu_input_gradient(dFc, dActivated, a.fc, n)
        }
        cFc.backward(dx: dInput, dFc, input, rows: rows, inputGradient: dInputWrite, weightGradient: write)
    }
}
