import SwiftletKernels

extension Linear {
    /// out (1, outputs) ← x (1, inputs)·Wᵀ + b with the matrix-vector kernel, which streams W at
    /// memory speed (the GEMM's packing does not pay off for one row).
    func decode(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>) {
        swl_matvec_forward(out, x, weight.value, bias?.value, 1, Int32(inputs), Int32(outputs))
    }
}
