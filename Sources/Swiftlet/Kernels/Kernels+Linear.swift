import SwiftletKernels

extension Kernels {
    /// Gradients of a linear layer, freshly allocated.
    public struct LinearGradients: Equatable, Sendable {
        /// dL/dx, shaped like the input.
        public var input: Tensor
        /// dL/dW, (outputFeatures, inputFeatures).
        public var weight: Tensor
        /// dL/db, (outputFeatures): the row sums of the output gradient.
        public var bias: Tensor
    }

    /// A linear layer: `out = x·Wᵀ + b`.
    ///
    /// - Parameters:
    ///   - x: input of shape (…, C); every leading dimension is treated as a row.
    ///   - weight: (OC, C), PyTorch's (out_features, in_features) layout.
    ///   - bias: (OC), or nil for no bias.
    /// - Returns: (…, OC).
    /// - Throws: `KernelError` if the shapes disagree or a size is zero.
    public static func linearForward(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let size = try linearSize(x, weight: weight)
        if let bias { try require(bias, shape: [size.outputs], "bias") }
        var out = try Tensor(zeros: Array(x.shape.dropLast()) + [size.outputs])
        let (n, c, oc) = try size.kernelArguments()
        x.values.withUnsafeBufferPointer { x in
            weight.values.withUnsafeBufferPointer { weight in
                out.values.withUnsafeMutableBufferPointer { out in
                    guard let bias else {
                        return swl_linear_forward(out.baseAddress, x.baseAddress, weight.baseAddress, nil, n, c, oc)
                    }
                    bias.values.withUnsafeBufferPointer { bias in
                        swl_linear_forward(out.baseAddress, x.baseAddress, weight.baseAddress, bias.baseAddress,
                                           n, c, oc)
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
    /// - Returns: fresh gradients for the input, the weight and the bias.
    /// - Throws: `KernelError` if the shapes disagree or a size is zero.
    public static func linearBackward(
        _ outputGradient: Tensor, input x: Tensor, weight: Tensor
    ) throws -> LinearGradients {
        let size = try linearSize(x, weight: weight)
        try require(outputGradient, shape: Array(x.shape.dropLast()) + [size.outputs], "outputGradient")
        var gradients = LinearGradients(
            input: try Tensor(zeros: x.shape), weight: try Tensor(zeros: weight.shape),
            bias: try Tensor(zeros: [size.outputs]))
        let (n, c, oc) = try size.kernelArguments()
        outputGradient.values.withUnsafeBufferPointer { dout in
            x.values.withUnsafeBufferPointer { x in
                weight.values.withUnsafeBufferPointer { weight in
                    gradients.input.values.withUnsafeMutableBufferPointer { dx in
                        gradients.weight.values.withUnsafeMutableBufferPointer { dweight in
                            gradients.bias.values.withUnsafeMutableBufferPointer { dbias in
                                swl_linear_backward(dx.baseAddress, dweight.baseAddress, dbias.baseAddress,
                                                    dout.baseAddress, x.baseAddress, weight.baseAddress, n, c, oc)
                            }
                        }
                    }
                }
            }
        }
        return gradients
    }

    /// Rows, input and output features of a linear layer, each at least 1.
    private struct LinearSize {
        var rows: Int, inputs: Int, outputs: Int

        func kernelArguments() throws -> (Int32, Int32, Int32) {
            (try int32(rows, "rows of x"), try int32(inputs, "C"), try int32(outputs, "OC"))
        }
    }

    /// Checks x (…, C) against weight (OC, C).
    private static func linearSize(_ x: Tensor, weight: Tensor) throws -> LinearSize {
        guard x.rank >= 2 else {
            throw KernelError.invalidShape("x must have at least 2 dimensions (rows, C), got shape \(x.shape)")
        }
        let weightShape = try require(weight, rank: 2, "weight")
        let inputs = x.shape[x.rank - 1]
        guard weightShape[1] == inputs else {
            throw KernelError.invalidShape(
                "weight has shape \(weightShape), expected (OC, \(inputs)) to match x of shape \(x.shape)")
        }
        let size = LinearSize(rows: x.shape.dropLast().reduce(1, *), inputs: inputs, outputs: weightShape[0])
        try requirePositive(size.rows, "rows of x")
        try requirePositive(size.inputs, "C (last dimension of x)")
        try requirePositive(size.outputs, "OC (first dimension of weight)")
        return size
    }
}
