import SwiftletKernels

extension Kernels {
    /// Gradients of a linear layer, freshly allocated.
    public struct LinearGradients: Equatable, Sendable {
        /// dL/dx, shaped like the input.
        public var input: Tensor
        /// dL/dW, (outputFeatures, inputFeatures).
        public var weight: Tensor
        /// dL/db, (outputFeatures); the row sums of the output gradient.
        public var bias: Tensor
    }

    /// A linear layer: `out = x·Wᵀ + b`.
    ///
    /// - Parameters:
    ///   - x: input of shape (…, C); every leading dimension is treated as a row.
    ///   - weight: (OC, C), PyTorch's (out_features, in_features) layout.
    ///   - bias: (OC), or nil for no bias.
    /// - Returns: (…, OC).
    public static func linearForward(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let shape = try linearShape(x, weight: weight)
        if let bias { try require(bias, shape: [shape.outputs], "bias") }
        var out = try Tensor(zeros: Array(x.shape.dropLast()) + [shape.outputs])
        let (n, c, oc) = (try int32(shape.rows, "rows"), try int32(shape.inputs, "C"), try int32(shape.outputs, "OC"))
        x.values.withUnsafeBufferPointer { xp in
            weight.values.withUnsafeBufferPointer { wp in
                out.values.withUnsafeMutableBufferPointer { op in
                    if let bias {
                        bias.values.withUnsafeBufferPointer { bp in
                            swl_linear_forward(op.baseAddress, xp.baseAddress, wp.baseAddress, bp.baseAddress, n, c, oc)
                        }
                    } else {
                        swl_linear_forward(op.baseAddress, xp.baseAddress, wp.baseAddress, nil, n, c, oc)
                    }
                }
            }
        }
        return out
    }

    /// Backward of `linearForward`: dx = dout·W, dW = doutᵀ·x, db = Σ_rows dout.
    ///
    /// - Parameters:
    ///   - outputGradient: dL/dout, shaped like the forward's output (…, OC).
    ///   - x: the forward's input (…, C).
    ///   - weight: the forward's weight (OC, C).
    public static func linearBackward(
        _ outputGradient: Tensor, input x: Tensor, weight: Tensor
    ) throws -> LinearGradients {
        let shape = try linearShape(x, weight: weight)
        try require(outputGradient, shape: Array(x.shape.dropLast()) + [shape.outputs], "outputGradient")
        var dx = try Tensor(zeros: x.shape)
        var dweight = try Tensor(zeros: weight.shape)
        var dbias = try Tensor(zeros: [shape.outputs])
        let (n, c, oc) = (try int32(shape.rows, "rows"), try int32(shape.inputs, "C"), try int32(shape.outputs, "OC"))
        outputGradient.values.withUnsafeBufferPointer { gp in
            x.values.withUnsafeBufferPointer { xp in
                weight.values.withUnsafeBufferPointer { wp in
                    dx.values.withUnsafeMutableBufferPointer { dxp in
                        dweight.values.withUnsafeMutableBufferPointer { dwp in
                            dbias.values.withUnsafeMutableBufferPointer { dbp in
                                swl_linear_backward(dxp.baseAddress, dwp.baseAddress, dbp.baseAddress,
                                                    gp.baseAddress, xp.baseAddress, wp.baseAddress, n, c, oc)
                            }
                        }
                    }
                }
            }
        }
        return LinearGradients(input: dx, weight: dweight, bias: dbias)
    }

    /// Checks x (…, C) against weight (OC, C); returns rows, C and OC, each at least 1.
    private static func linearShape(_ x: Tensor, weight: Tensor) throws -> (rows: Int, inputs: Int, outputs: Int) {
        guard x.rank >= 2 else {
            throw KernelError.invalidShape("x must have at least 2 dimensions (rows, C), got shape \(x.shape)")
        }
        let weightShape = try require(weight, rank: 2, "weight")
        let inputs = x.shape[x.rank - 1]
        let rows = x.shape.dropLast().reduce(1, *)
        guard weightShape[1] == inputs else {
            throw KernelError.invalidShape("weight has shape \(weightShape), expected (OC, \(inputs)) to match x \(x.shape)")
        }
        try requirePositive(rows, "rows of x")
        try requirePositive(inputs, "C (last dimension of x)")
        try requirePositive(weightShape[0], "OC (first dimension of weight)")
        return (rows, inputs, weightShape[0])
    }
}
