import Foundation
import Testing
import Swiftlet
import SwiftletKernels

@Suite("Optimizer kernels", .serialized) struct OptimizerTests {
    @Test func adamWGoldenOnEveryPath() throws {
        let golden = try Golden("adamw")
        for name in golden.caseNames {
            let c = golden.case(name)
            let config = c.config
            let step = Int(try c.int32s("t")[0])
            try forEachConfiguration { _, _ in
                var parameters = try c.tensor("param"), m = try c.tensor("m_in"), v = try c.tensor("v_in")
                try Kernels.adamWUpdate(
                    parameters: &parameters, gradients: try c.tensor("grad"), firstMoment: &m, secondMoment: &v,
                    step: step, learningRate: Float(config["lr"] as! Double), beta1: Float(config["beta1"] as! Double),
                    beta2: Float(config["beta2"] as! Double), eps: Float(config["eps"] as! Double),
                    weightDecay: Float(config["wd"] as! Double))
                try c.expectClose(parameters.values, "param_out")
                try c.expectClose(m.values, "m_out")
                try c.expectClose(v.values, "v_out")
            }
        }
    }

    /// t is the 1-based number of this update: at t = 1 from zero moments the bias corrections
    /// cancel exactly, so each parameter moves by lr·g/(|g| + eps) after decay.
    @Test func adamWStepSemantics() throws {
        let g: [Float] = [0.5, -2, 1e-3, 0]
        try forEachConfiguration(threads: [1]) { isa, _ in
            var p = try Tensor(shape: [4], values: [1, 1, 1, 1])
            var m = try Tensor(zeros: [4]), v = try Tensor(zeros: [4])
            try Kernels.adamWUpdate(parameters: &p, gradients: Tensor(shape: [4], values: g), firstMoment: &m,
                                    secondMoment: &v, step: 1, learningRate: 0.01, beta1: 0.9, beta2: 0.95,
                                    eps: 1e-8, weightDecay: 0.1)
            let expected = g.map { Float(0.999 - 0.01 * Double($0) / (abs(Double($0)) + 1e-8)) }
            expectClose(p.values, expected, atol: 2e-7, "AdamW t = 1 on \(isa)")
            expectClose(m.values, g.map { 0.1 * $0 }, atol: 1e-7, "m after t = 1")
            expectClose(v.values, g.map { 0.05 * $0 * $0 }, atol: 1e-7, "v after t = 1")
            // The same state at t = 2 uses other bias corrections, so it moves differently than t = 1 would.
            var p1 = p, m1 = m, v1 = v, p2 = p, m2 = m, v2 = v
            let grads = try Tensor(shape: [4], values: g)
            try Kernels.adamWUpdate(parameters: &p1, gradients: grads, firstMoment: &m1, secondMoment: &v1, step: 1,
                                    learningRate: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
            try Kernels.adamWUpdate(parameters: &p2, gradients: grads, firstMoment: &m2, secondMoment: &v2, step: 2,
                                    learningRate: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
            #expect(p1.values != p2.values)
            // At t = 2: m = 0.19·g, v = 0.0975·g², corrections 0.19 and 0.0975 → step lr·g/(|g| + eps) again.
            var expected2: [Float] = []
            for (before, gradient) in zip(p.values, g) {
                let step = 0.01 * Double(gradient) / (abs(Double(gradient)) + 1e-8)
                expected2.append(Float(Double(before) * 0.999 - step))
            }
            expectClose(p2.values, expected2, atol: 2e-7, "AdamW t = 2 on \(isa)")
        }
    }

    @Test func clipGoldenOnEveryPath() throws {
        let golden = try Golden("clip")
        for name in golden.caseNames {
            let c = golden.case(name)
            let inputs = try ["g0", "g1", "g2"].map { try c.tensor($0) }
            try forEachConfiguration { _, _ in
                var gradients = inputs
                let norm = Kernels.clipGradientNorm(&gradients, maxNorm: 1)
                try c.expectClose([norm], "total_norm")
                for (index, gradient) in gradients.enumerated() {
                    try c.expectClose(gradient.values, "g\(index)_out")
                }
                if name == "below" {
                    for (got, input) in zip(gradients, inputs) { expectBitwiseEqual(got.values, input.values, "below: untouched") }
                }
            }
        }
    }

    @Test func sumOfSquaresAndScale() throws {
        var random = TestRandom(seed: 51)
        let values = random.normals(100_003)
        let exact = values.reduce(0.0) { $0 + Double($1) * Double($1) }
        try forEachConfiguration { isa, threads in
            let sum = Kernels.sumOfSquares(try Tensor(shape: [values.count], values: values))
            #expect(abs(sum - exact) <= 1e-9 * exact, "sum of squares on \(isa), \(threads) threads")
            var x = try Tensor(shape: [values.count], values: values)
            Kernels.scale(&x, by: 0.37)
            #expect(x.values == values.map { $0 * 0.37 })
        }
    }

    /// ParameterStore.zero (the gradients before every step) zeroes every element on every thread,
    /// NaN and inf included, over a count that does not split evenly.
    @Test func zeroingClearsEverything() throws {
        let layout = try ParameterLayout([("a", [70_001]), ("b", [3, 11])])
        let store = ParameterStore(layout: layout)
        try forEachConfiguration { isa, threads in
            store.withUnsafeMutableBufferPointer { buffer in
                for index in buffer.indices { buffer[index] = index % 3 == 0 ? .nan : index % 3 == 1 ? -.infinity : 2 }
            }
            store.zero()
            let values = store.withUnsafeMutableBufferPointer { Array($0) }
            #expect(values.count == store.count && values.allSatisfy { $0.bitPattern == 0 },
                    "zeroed on \(isa), \(threads) threads")
        }
    }

    /// swl_zero writes exactly its range, with plain stores for short runs and streaming stores
    /// for runs of 8 MiB and more (each thread's share of 7M floats), from starts that are not
    /// vector-aligned (offsets 1–3 floats), and leaves its neighbours alone.
    @Test(arguments: [1_003, 7_000_003]) func zeroWritesExactlyItsRange(count: Int) throws {
        var buffer = [Float](repeating: .nan, count: count + 8)
        try forEachConfiguration(threads: [1, 2, 3]) { isa, threads in
            for offset in 1...3 {
                for index in buffer.indices { buffer[index] = index % 2 == 0 ? .nan : -3 }
                buffer.withUnsafeMutableBufferPointer { swl_zero($0.baseAddress! + offset, count) }
                let inside = buffer[offset..<(offset + count)]
                #expect(inside.allSatisfy { $0.bitPattern == 0 }, "\(count) at +\(offset) on \(isa), \(threads) threads")
                let outside = Array(buffer[..<offset]) + Array(buffer[(offset + count)...])
                let expected = (Array(0..<offset) + Array((offset + count)..<buffer.count)).map { $0 % 2 == 0 ? Float.nan : -3 }
                #expect(zip(outside, expected).allSatisfy { $0.bitPattern == $1.bitPattern }, "neighbours of \(count) at +\(offset)")
            }
        }
    }

    @Test func threadIndependent() throws {
        var random = TestRandom(seed: 52)
        let n = 300_007
        let params = try Tensor(shape: [n], values: random.normals(n))
        let grads = try Tensor(shape: [n], values: random.normals(n, std: 0.01))
        let m0 = try Tensor(shape: [n], values: random.normals(n, std: 0.001))
        let v0 = try Tensor(shape: [n], values: random.normals(n, std: 1e-4).map { $0 * $0 })
        try expectThreadIndependent("optimizer") {
            var p = params, m = m0, v = v0
            try Kernels.adamWUpdate(parameters: &p, gradients: grads, firstMoment: &m, secondMoment: &v, step: 7,
                                    learningRate: 3e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1)
            let sum = Kernels.sumOfSquares(params)
            var scaled = params
            Kernels.scale(&scaled, by: 0.5)
            let sumBits = sum.bitPattern
            return [p.values, m.values, v.values, scaled.values,
                    [Float(bitPattern: UInt32(truncatingIfNeeded: sumBits)), Float(bitPattern: UInt32(truncatingIfNeeded: sumBits >> 32))]]
        }
    }

    @Test func rejectsBadInput() throws {
        var p = try Tensor(zeros: [4]), m = try Tensor(zeros: [4]), v = try Tensor(zeros: [4])
        let g = try Tensor(zeros: [4])
        #expect(throws: KernelError.self) {
            try Kernels.adamWUpdate(parameters: &p, gradients: g, firstMoment: &m, secondMoment: &v, step: 0)
        }
        #expect(throws: KernelError.self) {
            try Kernels.adamWUpdate(parameters: &p, gradients: Tensor(zeros: [5]), firstMoment: &m, secondMoment: &v, step: 1)
        }
        var shortMoment = try Tensor(zeros: [3])
        #expect(throws: KernelError.self) {
            try Kernels.adamWUpdate(parameters: &p, gradients: g, firstMoment: &shortMoment, secondMoment: &v, step: 1)
        }
        #expect(throws: KernelError.self) {
            try Kernels.adamWUpdate(parameters: &p, gradients: g, firstMoment: &m, secondMoment: &v, step: 1, beta1: 1)
        }
    }
}
