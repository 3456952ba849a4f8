import SwiftletKernels

extension MLP {
    /// `forward` for one row (a decode step, no dropout), with the matrix-vector kernel.
    /// Returns the sublayer output (1,C), a buffer in `a`.
    func decode(_ a: BlockActivations, input: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        let fc = a.fc!, activated = a.fcActivated!, projection = a.mlpProjection!
        cFc.decode(fc, input)
        let n = cFc.outputs
        switch activation {
        case .geluTanh: swl_gelu_tanh_forward(activated, fc, n)
        case .geluErf: swl_gelu_erf_forward(activated, fc, n)
        case .relu: swl_relu_forward(activated, fc, n)
        }
        cProj.decode(projection, activated)
        return projection
    }
}
