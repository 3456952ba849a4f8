import Swiftlet
import SwiftletKernels
import Testing

/// Calls the C linear kernels on plain arrays: the fast path (on the active ISA) or the reference.
private enum LinearKernel {
    case fast, reference

    func forward(x: [Float], weight: [Float], bias: [Float]?, N: Int, C: Int, OC: Int) -> [Float] {
        var out = [Float](repeating: .nan, count: N * OC)
        let forward = self == .fast ? swl_linear_forward : swl_linear_forward_reference
        out.withUnsafeMutableBufferPointer { o in
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { w in
                    if let bias {
                        bias.withUnsafeBufferPointer { b in
                            forward(o.baseAddress, xp.baseAddress, w.baseAddress, b.baseAddress, Int32(N), Int32(C), Int32(OC))
                        }
                    } else {
                        forward(o.baseAddress, xp.baseAddress, w.baseAddress, nil, Int32(N), Int32(C), Int32(OC))
                    }
                }
            }
        }
        return out
    }

    /// Accumulates into the given gradients; a nil gradient is passed as NULL and comes back nil.
    func backward(
        dx: [Float]?, dweight: [Float]?, dbias: [Float]?, dout: [Float], x: [Float], weight: [Float],
        N: Int, C: Int, OC: Int
    ) -> (dx: [Float]?, dweight: [Float]?, dbias: [Float]?) {
        var (dx, dweight, dbias) = (dx, dweight, dbias)
        let backward = self == .fast ? swl_linear_backward : swl_linear_backward_reference
        withOptionalPointer(&dx) { dxp in
            withOptionalPointer(&dweight) { dwp in
                withOptionalPointer(&dbias) { dbp in
                    backward(dxp, dwp, dbp, dout, x, weight, Int32(N), Int32(C), Int32(OC))
                }
            }
        }
        return (dx, dweight, dbias)
    }

    /// Fresh gradients: dx, dW, db from zero.
    func gradients(dout: [Float], x: [Float], weight: [Float], N: Int, C: Int, OC: Int) -> (dx: [Float], dweight: [Float], dbias: [Float]) {
        let result = backward(
            dx: [Float](repeating: 0, count: N * C), dweight: [Float](repeating: 0, count: OC * C),
            dbias: [Float](repeating: 0, count: OC), dout: dout, x: x, weight: weight, N: N, C: C, OC: OC)
        return (result.dx ?? [], result.dweight ?? [], result.dbias ?? [])
    }
}

private func withOptionalPointer(_ array: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
    if array == nil { body(nil); return }
    array!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}

/// Random inputs of one linear problem.
private struct LinearProblem {
    let N: Int, C: Int, OC: Int
    let x: [Float], weight: [Float], bias: [Float], dout: [Float]

    init(N: Int, C: Int, OC: Int, seed: UInt64) {
        var random = TestRandom(seed: seed)
        self.N = N; self.C = C; self.OC = OC
        x = random.normals(N * C)
        weight = random.normals(OC * C, std: 0.5)
        bias = random.normals(OC)
        dout = random.normals(N * OC)
    }
}

@Suite("Linear kernels", .serialized) struct LinearTests {
    static let oddShapes: [(N: Int, C: Int, OC: Int)] = [
        (1, 5, 3), (1, 300, 257), (2, 70, 33), (3, 37, 71), (4, 33, 70), (5, 40, 130), (17, 129, 97), (64, 19, 33), (64, 300, 41),
        (129, 257, 130), (129, 75, 300), (7, 1000, 2),
    ]

    @Test(arguments: ["small", "small_nobias", "one_row", "gpt2"])
    func goldenOnEveryPath(caseName: String) throws {
        let golden = try Golden("linear").case(caseName)
        let (x, weight, dout) = (try golden.floats("x"), try golden.floats("W"), try golden.floats("dout"))
        let bias = golden.has("b") ? try golden.floats("b") : nil
        let xShape = golden.shape("x")
        let (N, C, OC) = (xShape[0], xShape[1], golden.shape("W")[0])
        // The reference once, then the fast kernels on every ISA path.
        let runs: [(LinearKernel, InstructionSet)] = [(.reference, .best)] + InstructionSet.supported.map { (.fast, $0) }
        for (kernel, isa) in runs {
            let path = kernel == .reference ? "reference" : isa.rawValue
            func check(_ got: [Float], _ name: String) throws {
                expectClose(got, try golden.floats(name), atol: golden.atol(name), "\(caseName)/\(name) on \(path)")
            }
            try Runtime.with(instructionSet: isa) {
                try check(kernel.forward(x: x, weight: weight, bias: bias, N: N, C: C, OC: OC), "out")
                let grads = kernel.gradients(dout: dout, x: x, weight: weight, N: N, C: C, OC: OC)
                try check(grads.dx, "dx")
                try check(grads.dweight, "dW")
                if golden.has("db") { try check(grads.dbias, "db") }
            }
        }
    }

    @Test func fastMatchesReferenceOnOddShapes() throws {
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                for (index, s) in Self.oddShapes.enumerated() {
                    let p = LinearProblem(N: s.N, C: s.C, OC: s.OC, seed: UInt64(100 + index))
                    let label = "\(isa.rawValue) N=\(s.N) C=\(s.C) OC=\(s.OC)"
                    for bias in [p.bias, nil] {
                        expectClose(
                            LinearKernel.fast.forward(x: p.x, weight: p.weight, bias: bias, N: p.N, C: p.C, OC: p.OC),
                            LinearKernel.reference.forward(x: p.x, weight: p.weight, bias: bias, N: p.N, C: p.C, OC: p.OC),
                            atol: Self.tolerance(sumLength: p.C), "\(label) out (bias \(bias != nil))")
                    }
                    let fast = LinearKernel.fast.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                    let reference = LinearKernel.reference.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                    expectClose(fast.dx, reference.dx, atol: Self.tolerance(sumLength: p.OC), "\(label) dx")
                    expectClose(fast.dweight, reference.dweight, atol: Self.tolerance(sumLength: p.N), "\(label) dW")
                    expectClose(fast.dbias, reference.dbias, atol: Self.tolerance(sumLength: p.N), "\(label) db")
                }
            }
        }
    }

    /// Two float32 sums of `sumLength` products of unit-scale terms, in different orders, differ by
    /// a few ulps per term at most; a missing or doubled term is off by order one.
    static func tolerance(sumLength: Int) -> Float { 2e-6 * Float(max(sumLength, 8)) }

    @Test func backwardMatchesFiniteDifferences() throws {
        let p = LinearProblem(N: 3, C: 7, OC: 5, seed: 11)
        var random = TestRandom(seed: 12)
        let probe = random.normals(p.N * p.OC)  // loss = Σ out·probe, so dout = probe
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                func loss(x: [Float], weight: [Float], bias: [Float]) -> Double {
                    let out = LinearKernel.fast.forward(x: x, weight: weight, bias: bias, N: p.N, C: p.C, OC: p.OC)
                    return zip(out, probe).reduce(0) { $0 + Double($1.0) * Double($1.1) }
                }
                let grads = LinearKernel.fast.gradients(dout: probe, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                expectGradientMatchesFiniteDifferences("\(isa.rawValue) dx", at: p.x, analytic: grads.dx) {
                    loss(x: $0, weight: p.weight, bias: p.bias)
                }
                expectGradientMatchesFiniteDifferences("\(isa.rawValue) dW", at: p.weight, analytic: grads.dweight) {
                    loss(x: p.x, weight: $0, bias: p.bias)
                }
                expectGradientMatchesFiniteDifferences("\(isa.rawValue) db", at: p.bias, analytic: grads.dbias) {
                    loss(x: p.x, weight: p.weight, bias: $0)
                }
            }
        }
    }

    /// Shapes big enough that both threads get several output tiles of every product.
    @Test(arguments: [
        (N: 129, C: 257, OC: 130), (N: 256, C: 520, OC: 700), (N: 1, C: 768, OC: 2304), (N: 4, C: 300, OC: 1000),
    ])
    func threadIndependent(shape: (N: Int, C: Int, OC: Int)) throws {
        let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: 21)
        try expectThreadIndependent("linear N=\(p.N) C=\(p.C) OC=\(p.OC)") {
            let out = LinearKernel.fast.forward(x: p.x, weight: p.weight, bias: p.bias, N: p.N, C: p.C, OC: p.OC)
            let grads = LinearKernel.fast.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
            return [out, grads.dx, grads.dweight, grads.dbias]
        }
    }

    /// Operands too large to pack whole (over 4M floats each) take the pack-per-tile path.
    @Test func largeOperandsMatchReferenceAndAreThreadIndependent() throws {
        let p = LinearProblem(N: 64, C: 66_000, OC: 72, seed: 61)
        let reference = LinearKernel.reference.forward(x: p.x, weight: p.weight, bias: p.bias, N: p.N, C: p.C, OC: p.OC)
        let referenceGrads = LinearKernel.reference.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
        try expectThreadIndependent("linear N=64 C=66000 OC=72") {
            let out = LinearKernel.fast.forward(x: p.x, weight: p.weight, bias: p.bias, N: p.N, C: p.C, OC: p.OC)
            let grads = LinearKernel.fast.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
            expectClose(out, reference, atol: Self.tolerance(sumLength: p.C), "\(Runtime.instructionSet) out")
            expectClose(grads.dx, referenceGrads.dx, atol: Self.tolerance(sumLength: p.OC), "\(Runtime.instructionSet) dx")
            expectClose(grads.dweight, referenceGrads.dweight, atol: Self.tolerance(sumLength: p.N), "\(Runtime.instructionSet) dW")
            return [out, grads.dx, grads.dweight]
        }
    }

    @Test(arguments: [LinearKernel.fast, .reference])
    fileprivate func backwardAccumulates(kernel: LinearKernel) throws {
        let p = LinearProblem(N: 17, C: 37, OC: 45, seed: 31)
        var random = TestRandom(seed: 32)
        let (dx0, dw0, db0) = (random.normals(p.N * p.C), random.normals(p.OC * p.C), random.normals(p.OC))
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                let fresh = kernel.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                let accumulated = kernel.backward(
                    dx: dx0, dweight: dw0, dbias: db0, dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                let label = "\(kernel) on \(isa.rawValue)"
                expectClose(accumulated.dx ?? [], zip(dx0, fresh.dx).map(+), atol: 1e-4, "\(label) dx += ")
                expectClose(accumulated.dweight ?? [], zip(dw0, fresh.dweight).map(+), atol: 1e-4, "\(label) dW += ")
                expectClose(accumulated.dbias ?? [], zip(db0, fresh.dbias).map(+), atol: 1e-4, "\(label) db += ")
            }
        }
    }

    @Test(arguments: [LinearKernel.fast, .reference])
    fileprivate func nullGradientsAreSkipped(kernel: LinearKernel) throws {
        let p = LinearProblem(N: 19, C: 41, OC: 23, seed: 41)
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                let all = kernel.gradients(dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                let zeros = (dx: [Float](repeating: 0, count: p.N * p.C), dw: [Float](repeating: 0, count: p.OC * p.C),
                             db: [Float](repeating: 0, count: p.OC))
                let label = "\(kernel) on \(isa.rawValue)"
                let onlyDx = kernel.backward(dx: zeros.dx, dweight: nil, dbias: nil, dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                expectBitwiseEqual(onlyDx.dx ?? [], all.dx, "\(label) dx alone")
                let onlyDw = kernel.backward(dx: nil, dweight: zeros.dw, dbias: nil, dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                expectBitwiseEqual(onlyDw.dweight ?? [], all.dweight, "\(label) dW alone")
                let onlyDb = kernel.backward(dx: nil, dweight: nil, dbias: zeros.db, dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                expectBitwiseEqual(onlyDb.dbias ?? [], all.dbias, "\(label) db alone")
                let noDb = kernel.backward(dx: zeros.dx, dweight: zeros.dw, dbias: nil, dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
                expectBitwiseEqual(noDb.dx ?? [], all.dx, "\(label) dx without db")
                expectBitwiseEqual(noDb.dweight ?? [], all.dweight, "\(label) dW without db")
                // Nothing to compute: must simply return.
                _ = kernel.backward(dx: nil, dweight: nil, dbias: nil, dout: p.dout, x: p.x, weight: p.weight, N: p.N, C: p.C, OC: p.OC)
            }
        }
    }

    @Test func wrappersMatchGolden() throws {
        let golden = try Golden("linear").case("small")
        let x = try golden.tensor("x")
        let out = try Kernels.linearForward(x, weight: golden.tensor("W"), bias: golden.tensor("b"))
        #expect(out.shape == golden.shape("out"))
        try golden.expectClose(out.values, "out")
        let grads = try Kernels.linearBackward(golden.tensor("dout"), input: x, weight: golden.tensor("W"))
        #expect(grads.input.shape == x.shape)
        try golden.expectClose(grads.input.values, "dx")
        try golden.expectClose(grads.weight.values, "dW")
        try golden.expectClose(grads.bias.values, "db")
    }

    @Test func wrapperTreatsLeadingDimensionsAsRows() throws {
        let p = LinearProblem(N: 6, C: 5, OC: 4, seed: 51)
        let x = try Tensor(shape: [2, 3, 5], values: p.x)
        let weight = try Tensor(shape: [4, 5], values: p.weight)
        let out = try Kernels.linearForward(x, weight: weight, bias: nil)
        #expect(out.shape == [2, 3, 4])
        expectBitwiseEqual(out.values, LinearKernel.fast.forward(x: p.x, weight: p.weight, bias: nil, N: 6, C: 5, OC: 4), "rank-3 forward")
        let grads = try Kernels.linearBackward(try Tensor(shape: [2, 3, 4], values: p.dout), input: x, weight: weight)
        #expect(grads.input.shape == [2, 3, 5] && grads.weight.shape == [4, 5] && grads.bias.shape == [4])
    }

    @Test func wrappersRejectBadShapes() throws {
        let x = try Tensor(zeros: [3, 5])
        let weight = try Tensor(zeros: [4, 5])
        let dout = try Tensor(zeros: [3, 4])
        #expect(throws: KernelError.self) { try Kernels.linearForward(x, weight: try Tensor(zeros: [4, 6]), bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.linearForward(x, weight: weight, bias: try Tensor(zeros: [5])) }
        #expect(throws: KernelError.self) { try Kernels.linearForward(try Tensor(zeros: [5]), weight: weight, bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.linearForward(x, weight: try Tensor(zeros: [4, 5, 1]), bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.linearForward(try Tensor(zeros: [0, 5]), weight: weight, bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.linearForward(try Tensor(zeros: [3, 0]), weight: try Tensor(zeros: [4, 0]), bias: nil) }
        #expect(throws: KernelError.self) { try Kernels.linearForward(x, weight: try Tensor(zeros: [0, 5]), bias: try Tensor(zeros: [0])) }
        #expect(throws: KernelError.self) { try Kernels.linearBackward(try Tensor(zeros: [3, 5]), input: x, weight: weight) }
        #expect(throws: KernelError.self) { try Kernels.linearBackward(dout, input: x, weight: try Tensor(zeros: [4, 6])) }
        #expect(throws: KernelError.self) { try Kernels.linearBackward(try Tensor(zeros: [0, 4]), input: try Tensor(zeros: [0, 5]), weight: weight) }
        #expect(throws: Never.self) { try Kernels.linearBackward(dout, input: x, weight: weight) }
        do {
            _ = try Kernels.linearForward(x, weight: try Tensor(zeros: [4, 6]), bias: nil)
        } catch {
            #expect("\(error)".contains("weight"), "message names the argument: \(error)")
        }
    }
}
