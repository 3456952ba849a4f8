import Testing
import Swiftlet

@Suite("LayerNorm kernels", .serialized) struct LayerNormTests {
    @Test func goldenOnEveryPath() throws {
        let golden = try Golden("layernorm")
        for name in golden.caseNames {
            let c = golden.case(name)
            let x = try c.tensor("x"), w = try c.tensor("w"), b = try c.tensor("b"), dout = try c.tensor("dout")
            try forEachConfiguration { _, _ in
                let forward = try Kernels.layerNorm(x, weight: w, bias: b, eps: 1e-5)
                try c.expectClose(forward.output.values, "out")
                try c.expectClose(forward.mean.values, "mean")
                try c.expectClose(forward.rstd.values, "rstd")
                let grads = try Kernels.layerNormBackward(
                    outputGradient: dout, input: x, weight: w, mean: forward.mean, rstd: forward.rstd)
                try c.expectClose(grads.input.values, "dx")
                try c.expectClose(grads.weight.values, "dw")
                try c.expectClose(grads.bias?.values ?? [], "db")
            }
        }
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var random = TestRandom(seed: 11)
        let (rows, channels) = (5, 19)
        let x = try Tensor(shape: [rows, channels], values: random.normals(rows * channels, std: 1.5).map { $0 + 0.3 })
        let w = try Tensor(shape: [channels], values: random.normals(channels, std: 0.1).map { $0 + 1 })
        let b = try Tensor(shape: [channels], values: random.normals(channels, std: 0.1))
        let probe = random.normals(rows * channels)
        func loss(_ x: Tensor, _ w: Tensor, _ b: Tensor) throws -> Double {
            try dot(Kernels.layerNorm(x, weight: w, bias: b).output.values, probe)
        }
        try forEachConfiguration(threads: [1]) { isa, _ in
            let forward = try Kernels.layerNorm(x, weight: w, bias: b)
            let grads = try Kernels.layerNormBackward(
                outputGradient: Tensor(shape: x.shape, values: probe), input: x, weight: w,
                mean: forward.mean, rstd: forward.rstd)
            try expectGradientMatchesFiniteDifferences("layernorm dx \(isa)", at: x.values, analytic: grads.input.values) {
                try loss(Tensor(shape: x.shape, values: $0), w, b)
            }
            try expectGradientMatchesFiniteDifferences("layernorm dweight \(isa)", at: w.values, analytic: grads.weight.values) {
                try loss(x, Tensor(shape: w.shape, values: $0), b)
            }
            try expectGradientMatchesFiniteDifferences("layernorm dbias \(isa)", at: b.values, analytic: grads.bias!.values) {
                try loss(x, w, Tensor(shape: b.shape, values: $0))
            }
        }
    }

    @Test func withoutBiasEqualsZeroBias() throws {
        var random = TestRandom(seed: 12)
        let x = try Tensor(shape: [3, 7, 40], values: random.normals(840))
        let w = try Tensor(shape: [40], values: random.normals(40))
        let dout = try Tensor(shape: x.shape, values: random.normals(840))
        let zero = try Tensor(zeros: [40])
        let plain = try Kernels.layerNorm(x, weight: w, bias: nil)
        let zeroed = try Kernels.layerNorm(x, weight: w, bias: zero)
        expectBitwiseEqual(plain.output.values, zeroed.output.values, "layernorm without bias")
        let grads = try Kernels.layerNormBackward(
            outputGradient: dout, input: x, weight: w, mean: plain.mean, rstd: plain.rstd, hasBias: false)
        let withBias = try Kernels.layerNormBackward(
            outputGradient: dout, input: x, weight: w, mean: plain.mean, rstd: plain.rstd, hasBias: true)
        #expect(grads.bias == nil)
        expectBitwiseEqual(grads.input.values, withBias.input.values, "dx without bias")
        expectBitwiseEqual(grads.weight.values, withBias.weight.values, "dweight without bias")
    }

    @Test func threadIndependent() throws {
        var random = TestRandom(seed: 13)
        let (rows, channels) = (301, 768)  // ten row blocks of the backward, an odd last one
        let x = try Tensor(shape: [rows, channels], values: random.normals(rows * channels, std: 2).map { $0 + 1 })
        let w = try Tensor(shape: [channels], values: random.normals(channels))
        let b = try Tensor(shape: [channels], values: random.normals(channels))
        let dout = try Tensor(shape: x.shape, values: random.normals(rows * channels))
        try expectThreadIndependent("layernorm") {
            let forward = try Kernels.layerNorm(x, weight: w, bias: b)
            let grads = try Kernels.layerNormBackward(
                outputGradient: dout, input: x, weight: w, mean: forward.mean, rstd: forward.rstd)
            return [forward.output.values, forward.mean.values, forward.rstd.values,
                    grads.input.values, grads.weight.values, grads.bias!.values]
        }
    }

    @Test func rejectsBadShapes() throws {
        let x = try Tensor(zeros: [4, 8])
        let w = try Tensor(zeros: [8])
        #expect(throws: KernelError.self) { try Kernels.layerNorm(x, weight: Tensor(zeros: [7]), bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.layerNorm(x, weight: w, bias: Tensor(zeros: [9])) }
        #expect(throws: KernelError.self) { try Kernels.layerNorm(Tensor(scalar: 1), weight: w, bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.layerNorm(Tensor(zeros: [0, 8]), weight: w, bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.layerNorm(x, weight: w, bias: nil, eps: -1) }
        let stats = try Kernels.layerNorm(x, weight: w, bias: nil)
        #expect(throws: KernelError.self) {
            try Kernels.layerNormBackward(outputGradient: Tensor(zeros: [4, 7]), input: x, weight: w,
                                          mean: stats.mean, rstd: stats.rstd)
        }
        #expect(throws: KernelError.self) {
            try Kernels.layerNormBackward(outputGradient: x, input: x, weight: w, mean: Tensor(zeros: [3]), rstd: stats.rstd)
        }
    }
}

/// Σ a·b in Double: the scalar loss of finite-difference checks.
func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
}
