import Foundation
import Testing
import Swiftlet
import SwiftletKernels

@Suite("Activation kernels", .serialized) struct ActivationTests {
    @Test func geluGoldenOnEveryPath() throws {
        let golden = try Golden("gelu")
        for name in golden.caseNames {
            let c = golden.case(name)
            let x = try c.tensor("x"), dout = try c.tensor("dout")
            try forEachConfiguration { _, _ in
                try c.expectClose(Kernels.activation(x, .geluTanh).values, "out_tanh")
                try c.expectClose(Kernels.activationBackward(outputGradient: dout, input: x, .geluTanh).values, "dx_tanh")
                try c.expectClose(Kernels.activation(x, .geluErf).values, "out_erf")
                try c.expectClose(Kernels.activationBackward(outputGradient: dout, input: x, .geluErf).values, "dx_erf")
            }
        }
    }

    /// Far tails and non-vector-multiple lengths: exact saturation, no NaN or Inf.
    @Test func geluSaturatesAtExtremes() throws {
        let x = try Tensor(shape: [11], values: [-1e4, -500, -88, -40, -30, 0, 30, 40, 88, 500, 1e4])
        let ones = try Tensor(shape: [11], values: Array(repeating: 1, count: 11))
        try forEachConfiguration(threads: [1]) { isa, _ in
            for function in [Kernels.Activation.geluTanh, .geluErf] {
                let out = try Kernels.activation(x, function).values
                let dx = try Kernels.activationBackward(outputGradient: ones, input: x, function).values
                for i in 0..<11 {
                    #expect(out[i].isFinite && dx[i].isFinite, "\(function) \(isa) at \(x.values[i])")
                    if x.values[i] < 0 { #expect(abs(out[i]) < 1e-30 && abs(dx[i]) < 1e-30, "\(function) \(isa) at \(x.values[i])") }
                    if x.values[i] > 0 { #expect(out[i] == x.values[i] && dx[i] == 1, "\(function) \(isa) at \(x.values[i])") }
                }
            }
        }
    }

    @Test func backwardsMatchFiniteDifferences() throws {
        var random = TestRandom(seed: 21)
        // Keep ReLU's inputs away from its kink at 0.
        let x = try Tensor(shape: [37], values: random.normals(37, std: 2).map { $0 >= 0 ? $0 + 0.05 : $0 - 0.05 })
        let probe = random.normals(37)
        let dout = try Tensor(shape: [37], values: probe)
        try forEachConfiguration(threads: [1]) { isa, _ in
            for function in Kernels.Activation.allCases {
                let analytic = try Kernels.activationBackward(outputGradient: dout, input: x, function).values
                try expectGradientMatchesFiniteDifferences("\(function) \(isa)", at: x.values, analytic: analytic, epsilon: 1e-2) {
                    try dot(Kernels.activation(Tensor(shape: [37], values: $0), function).values, probe)
                }
            }
            let other = try Tensor(shape: [37], values: random.normals(37))
            let (da, db) = try Kernels.residualBackward(outputGradient: dout)
            try expectGradientMatchesFiniteDifferences("residual a \(isa)", at: x.values, analytic: da.values) {
                try dot(Kernels.residual(Tensor(shape: [37], values: $0), other).values, probe)
            }
            try expectGradientMatchesFiniteDifferences("residual b \(isa)", at: other.values, analytic: db.values) {
                try dot(Kernels.residual(x, Tensor(shape: [37], values: $0)).values, probe)
            }
            let dx = try Kernels.dropoutBackward(outputGradient: dout, probability: 0.3, seed: 5)
            try expectGradientMatchesFiniteDifferences("dropout \(isa)", at: x.values, analytic: dx.values) {
                try dot(Kernels.dropout(Tensor(shape: [37], values: $0), probability: 0.3, seed: 5).values, probe)
            }
        }
    }

    @Test func reluAndResidualValues() throws {
        let x = try Tensor(shape: [5], values: [-2, -0.0, 0, 0.5, 3])
        #expect(try Kernels.activation(x, .relu).values == [0, 0, 0, 0.5, 3])
        let ones = try Tensor(shape: [5], values: [1, 1, 1, 1, 1])
        #expect(try Kernels.activationBackward(outputGradient: ones, input: x, .relu).values == [0, 0, 0, 1, 1])
        #expect(try Kernels.residual(x, ones).values == [-1, 1, 1, 1.5, 4])
    }

    @Test func dropoutMaskProperties() throws {
        var random = TestRandom(seed: 22)
        let n = 200_003
        let x = try Tensor(shape: [n], values: random.normals(n).map { $0 == 0 ? 1 : $0 })
        try forEachConfiguration(threads: [2]) { isa, _ in
            // p = 0 copies.
            expectBitwiseEqual(try Kernels.dropout(x, probability: 0, seed: 1).values, x.values, "p = 0 on \(isa)")
            for p: Float in [0.1, 0.5, 0.9] {
                let out = try Kernels.dropout(x, probability: p, seed: 42).values
                let kept = (0..<n).filter { out[$0] != 0 }
                let rate = Double(kept.count) / Double(n)
                #expect(abs(rate - Double(1 - p)) < 0.005, "keep rate \(rate) for p = \(p) on \(isa)")
                let scale = 1 / (1 - p)
                #expect(kept.allSatisfy { out[$0] == x.values[$0] * scale }, "kept elements scaled by 1/(1−p)")
                // Deterministic per seed; another seed gives another mask.
                expectBitwiseEqual(try Kernels.dropout(x, probability: p, seed: 42).values, out, "same seed")
                let other = try Kernels.dropout(x, probability: p, seed: 43).values
                #expect(zip(out, other).contains { ($0 == 0) != ($1 == 0) }, "seeds 42 and 43 give the same mask")
                // The backward applies the forward's mask.
                let dx = try Kernels.dropoutBackward(outputGradient: x, probability: p, seed: 42).values
                expectBitwiseEqual(dx, out, "backward mask = forward mask (p = \(p), \(isa))")
            }
        }
    }

    /// Outputs of 8 MiB and more are written with streaming stores: the values must be the ones
    /// the cached path writes, also from an output that does not start on a vector boundary.
    @Test func streamedOutputsEqualCachedOnes() throws {
        var random = TestRandom(seed: 29)
        let n = 2_300_001  // 9.2 MB: streamed; each half alone is cached
        let x = random.normals(n, std: 3)
        let half = n / 2
        try forEachConfiguration(threads: [2]) { isa, _ in
            for (name, kernel) in [("tanh", swl_gelu_tanh_forward), ("erf", swl_gelu_erf_forward)] {
                var streamed = [Float](repeating: .nan, count: n + 1)
                var cached = [Float](repeating: .nan, count: n + 1)
                streamed.withUnsafeMutableBufferPointer { out in kernel(out.baseAddress! + 1, x, n) }
                cached.withUnsafeMutableBufferPointer { out in
                    x.withUnsafeBufferPointer { input in
                        kernel(out.baseAddress! + 1, input.baseAddress!, half)
                        kernel(out.baseAddress! + 1 + half, input.baseAddress! + half, n - half)
                    }
                }
                expectBitwiseEqual(Array(streamed[1...]), Array(cached[1...]), "GELU \(name) streamed on \(isa)")
            }
        }
    }

    /// The input gradients the model writes into scratch give the bits of the backwards adding
    /// into zeros, over NaN (a value read or left unwritten would show), from an output that does
    /// not start on a vector boundary, with a signed zero among dout, on every path and thread count.
    @Test func inputGradientsGiveTheBitsOfAddingIntoZeros() throws {
        var random = TestRandom(seed: 31)
        let n = 70_003  // more than one chunk per thread (parallel), a ragged tail
        var x = random.normals(n, std: 3)
        var dout = random.normals(n)
        (x[5], dout[5]) = (1, -0.0)  // −0 · f′(1) = −0 for all three
        (x[6], dout[6]) = (-2, 0.0)  // +0 · f′(−2) = −0 for the GELUs, whose slope there is negative
        let kernels: [(String, Kernel3, Kernel3)] = [
            ("GELU tanh", swl_gelu_tanh_backward, swl_gelu_tanh_input_gradient),
            ("GELU erf", swl_gelu_erf_backward, swl_gelu_erf_input_gradient),
            ("ReLU", swl_relu_backward, swl_relu_input_gradient),
        ]
        try expectThreadIndependent("activation input gradients") {
            var outputs: [[Float]] = []
            for (name, backward, inputGradient) in kernels {
                var added = [Float](repeating: 0, count: n + 2)
                var written = [Float](repeating: .nan, count: n + 2)
                added.withUnsafeMutableBufferPointer { backward($0.baseAddress! + 1, dout, x, n) }
                written.withUnsafeMutableBufferPointer { inputGradient($0.baseAddress! + 1, dout, x, n) }
                #expect(written[0].isNaN && written[n + 1].isNaN, "\(name): wrote outside its output")
                let result = Array(written[1...n])
                #expect(result.allSatisfy { $0.isFinite }, "\(name): input gradient has values that are not finite")
                expectBitwiseEqual(result, Array(added[1...n]), "\(name) on \(Runtime.instructionSet.rawValue): written vs added into zeros")
                outputs.append(result)
            }
            return outputs
        }
    }

    private typealias Kernel3 = (UnsafeMutablePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, Int) -> Void

    @Test func threadIndependent() throws {
        var random = TestRandom(seed: 23)
        let n = 300_001  // several chunks per thread and a ragged tail
        let x = try Tensor(shape: [n], values: random.normals(n, std: 3))
        let y = try Tensor(shape: [n], values: random.normals(n))
        try expectThreadIndependent("activations") {
            var outputs: [[Float]] = []
            for function in Kernels.Activation.allCases {
                outputs.append(try Kernels.activation(x, function).values)
                outputs.append(try Kernels.activationBackward(outputGradient: y, input: x, function).values)
            }
            outputs.append(try Kernels.residual(x, y).values)
            let (da, db) = try Kernels.residualBackward(outputGradient: y)
            outputs += [da.values, db.values]
            outputs.append(try Kernels.dropout(x, probability: 0.25, seed: 9).values)
            outputs.append(try Kernels.dropoutBackward(outputGradient: y, probability: 0.25, seed: 9).values)
            return outputs
        }
    }

    @Test func rejectsBadInput() throws {
        let x = try Tensor(zeros: [4])
        #expect(throws: KernelError.self) { try Kernels.activation(Tensor(zeros: [0]), .relu) }
        #expect(throws: KernelError.self) { try Kernels.activationBackward(outputGradient: Tensor(zeros: [5]), input: x, .geluTanh) }
        #expect(throws: KernelError.self) { try Kernels.residual(x, Tensor(zeros: [2, 2])) }
        #expect(throws: KernelError.self) { try Kernels.dropout(x, probability: 1, seed: 0) }
        #expect(throws: KernelError.self) { try Kernels.dropout(x, probability: -0.1, seed: 0) }
        #expect(throws: KernelError.self) { try Kernels.dropout(x, probability: .nan, seed: 0) }
    }
}
