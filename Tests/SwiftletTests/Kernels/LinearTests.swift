import Swiftlet
import SwiftletKernels
import Testing

/// Which C entry points a check calls: the fast kernels (on the active ISA path) or the reference.
enum LinearKernel: CustomStringConvertible {
    case fast, reference

    var description: String { self == .fast ? "fast" : "reference" }
}

/// One linear problem: sizes and inputs, with helpers that call the C kernels on plain arrays.
private struct LinearProblem {
    let N: Int, C: Int, OC: Int
    var x: [Float], weight: [Float], bias: [Float], dout: [Float]

    init(N: Int, C: Int, OC: Int, seed: UInt64) {
        var random = TestRandom(seed: seed)
        self.N = N; self.C = C; self.OC = OC
        x = random.normals(N * C)
        weight = random.normals(OC * C, std: 0.5)
        bias = random.normals(OC)
        dout = random.normals(N * OC)
    }

    init(golden: Golden.Case) throws {
        (N, C, OC) = (golden.shape("x")[0], golden.shape("x")[1], golden.shape("W")[0])
        x = try golden.floats("x")
        weight = try golden.floats("W")
        bias = golden.has("b") ? try golden.floats("b") : []
        dout = try golden.floats("dout")
    }

    /// out (N,OC); `withBias: false` passes NULL.
    func forward(_ kernel: LinearKernel, withBias: Bool = true) -> [Float] {
        var out = [Float](repeating: .nan, count: N * OC)
        let forward = kernel == .fast ? swl_linear_forward : swl_linear_forward_reference
        let bias: [Float]? = withBias && !self.bias.isEmpty ? self.bias : nil
        withOptionalPointer(bias) { b in
            forward(&out, x, weight, b, Int32(N), Int32(C), Int32(OC))
        }
        return out
    }

    /// Accumulates into the given gradients; a nil gradient is passed as NULL and comes back nil.
    func backward(
        _ kernel: LinearKernel, dx: [Float]?, dweight: [Float]?, dbias: [Float]?
    ) -> (dx: [Float]?, dweight: [Float]?, dbias: [Float]?) {
        var (dx, dweight, dbias) = (dx, dweight, dbias)
        let backward = kernel == .fast ? swl_linear_backward : swl_linear_backward_reference
        withOptionalMutablePointer(&dx) { dx in
            withOptionalMutablePointer(&dweight) { dweight in
                withOptionalMutablePointer(&dbias) { dbias in
                    backward(dx, dweight, dbias, dout, x, weight, Int32(N), Int32(C), Int32(OC))
                }
            }
        }
        return (dx, dweight, dbias)
    }

    /// dx alone, accumulated from zero (dW and db passed as NULL, so those products are skipped).
    func inputGradient(_ kernel: LinearKernel) -> [Float] {
        backward(kernel, dx: [Float](repeating: 0, count: N * C), dweight: nil, dbias: nil).dx ?? []
    }

    /// dx, dW, db accumulated from zero.
    func gradients(_ kernel: LinearKernel) -> (dx: [Float], dweight: [Float], dbias: [Float]) {
        let zeros = self.zeros
        let result = backward(kernel, dx: zeros.dx, dweight: zeros.dweight, dbias: zeros.dbias)
        return (result.dx ?? [], result.dweight ?? [], result.dbias ?? [])
    }

    /// dW written by swl_linear_weight_gradient over a buffer of NaN.
    func weightGradientOverwritten() -> [Float] {
        var dweight = [Float](repeating: .nan, count: OC * C)
        swl_linear_weight_gradient(&dweight, dout, x, Int32(N), Int32(C), Int32(OC))
        return dweight
    }

    /// dx written by swl_linear_input_gradient over a buffer of NaN.
    func inputGradientOverwritten() -> [Float] {
        var dx = [Float](repeating: .nan, count: N * C)
        swl_linear_input_gradient(&dx, dout, weight, Int32(N), Int32(C), Int32(OC))
        return dx
    }

    var zeros: (dx: [Float], dweight: [Float], dbias: [Float]) {
        ([Float](repeating: 0, count: N * C), [Float](repeating: 0, count: OC * C), [Float](repeating: 0, count: OC))
    }

    var label: String { "N=\(N) C=\(C) OC=\(OC)" }
}

private func withOptionalPointer(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
    guard let array else { return body(nil) }
    array.withUnsafeBufferPointer { body($0.baseAddress) }
}

private func withOptionalMutablePointer(_ array: inout [Float]?, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
    guard array != nil else { return body(nil) }
    array!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}

/// Two float32 sums of `length` unit-scale products in different orders differ by a few ulps per
/// term at most; a missing or doubled term is off by order one.
private func tolerance(sumLength length: Int) -> Float { 2e-6 * Float(max(length, 8)) }

/// Checks the fast kernels against the reference on one problem (on the active ISA path).
private func expectFastMatchesReference(_ p: LinearProblem, _ label: String) {
    for withBias in [true, false] {
        expectClose(p.forward(.fast, withBias: withBias), p.forward(.reference, withBias: withBias),
                    atol: tolerance(sumLength: p.C), "\(label) out (bias: \(withBias))")
    }
    let fast = p.gradients(.fast), reference = p.gradients(.reference)
    expectClose(fast.dx, reference.dx, atol: tolerance(sumLength: p.OC), "\(label) dx")
    expectClose(fast.dweight, reference.dweight, atol: tolerance(sumLength: p.N), "\(label) dW")
    expectClose(fast.dbias, reference.dbias, atol: tolerance(sumLength: p.N), "\(label) db")
}

/// Computes one output of `p` with the fast kernels on every ISA path, on 1 and 2 threads: each
/// must match `reference` within the tolerance of sums of `sumLength` terms, and the two thread
/// counts must agree bit for bit.
private func expectFastMatchesReferenceOnBothThreadCounts(
    _ p: LinearProblem, _ name: String, sumLength: Int, reference: [Float], _ fast: () -> [Float]
) throws {
    try expectThreadIndependent("linear \(p.label)") {
        let output = fast()
        let label = "\(Runtime.instructionSet.rawValue) \(Runtime.threads) threads"
        expectClose(output, reference, atol: tolerance(sumLength: sumLength), "\(label) \(name)")
        return [output]
    }
}

/// Runs `body` with the packed GEMM allowed to read a row-major weight in place (where the path
/// and the shape allow it) whatever this CPU's default, then puts the default back: the in-place
/// path is tested on every machine, not only on those where it is the default (AMD).
private func withWeightReadInPlace<T>(_ body: () throws -> T) rethrows -> T {
    swl_gemm_set_b_in_place(SWL_GEMM_B_IN_PLACE_ALLOWED)
    defer { swl_gemm_set_b_in_place(SWL_GEMM_B_IN_PLACE_AUTO) }
    return try body()
}

@Suite("Linear kernels", .serialized) struct LinearTests {
    @Test(arguments: ["small", "small_nobias", "one_row", "gpt2"])
    func goldenOnEveryPath(caseName: String) throws {
        let golden = try Golden("linear").case(caseName)
        let p = try LinearProblem(golden: golden)
        // The reference once, then the fast kernels on every ISA path.
        let runs: [(LinearKernel, InstructionSet)] = [(.reference, .best)] + InstructionSet.supported.map { (.fast, $0) }
        for (kernel, isa) in runs {
            let path = kernel == .reference ? "reference" : isa.rawValue
            func check(_ got: [Float], _ name: String) throws {
                expectClose(got, try golden.floats(name), atol: golden.atol(name), "\(caseName)/\(name) on \(path)")
            }
            try Runtime.with(instructionSet: isa) {
                try check(p.forward(kernel), "out")
                let gradients = p.gradients(kernel)
                try check(gradients.dx, "dx")
                try check(gradients.dweight, "dW")
                if golden.has("db") { try check(gradients.dbias, "db") }
            }
        }
    }

    /// Rows around the skinny thresholds (≤ 4) and the micro-tiles (6, 8 rows; 8, 16, 48
    /// columns); sums shorter and longer than one K block (256).
    static let oddShapes: [(N: Int, C: Int, OC: Int)] = [
        (1, 5, 3), (1, 300, 257), (2, 70, 33), (3, 37, 71), (4, 33, 70), (5, 40, 130), (7, 1000, 2),
        (17, 129, 97), (64, 19, 33), (64, 300, 41), (129, 257, 130), (129, 75, 300),
    ]

    @Test func fastMatchesReferenceOnOddShapes() throws {
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                for (index, shape) in Self.oddShapes.enumerated() {
                    let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: UInt64(100 + index))
                    expectFastMatchesReference(p, "\(isa.rawValue) \(p.label)")
                }
            }
        }
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var p = LinearProblem(N: 3, C: 7, OC: 5, seed: 11)
        var random = TestRandom(seed: 12)
        let probe = random.normals(p.N * p.OC)
        p.dout = probe  // loss = Σ out·probe, so dL/dout = probe
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                func loss(_ changed: LinearProblem) -> Double {
                    zip(changed.forward(.fast), probe).reduce(0) { $0 + Double($1.0) * Double($1.1) }
                }
                let gradients = p.gradients(.fast)
                expectGradientMatchesFiniteDifferences("\(isa.rawValue) dx", at: p.x, analytic: gradients.dx) {
                    var changed = p; changed.x = $0; return loss(changed)
                }
                expectGradientMatchesFiniteDifferences("\(isa.rawValue) dW", at: p.weight, analytic: gradients.dweight) {
                    var changed = p; changed.weight = $0; return loss(changed)
                }
                expectGradientMatchesFiniteDifferences("\(isa.rawValue) db", at: p.bias, analytic: gradients.dbias) {
                    var changed = p; changed.bias = $0; return loss(changed)
                }
            }
        }
    }

    /// Shapes that give both threads several output tiles of every product, with several K
    /// blocks, plus the skinny paths (1 and 4 rows).
    @Test(arguments: [
        (N: 129, C: 257, OC: 130), (N: 256, C: 520, OC: 700), (N: 1, C: 768, OC: 2304), (N: 4, C: 300, OC: 1000),
    ])
    func threadIndependent(shape: (N: Int, C: Int, OC: Int)) throws {
        let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: 21)
        try expectThreadIndependent("linear \(p.label)") {
            let gradients = p.gradients(.fast)
            return [p.forward(.fast), gradients.dx, gradients.dweight, gradients.dbias]
        }
    }

    /// Operands too large to pack whole (over 4M floats each) take the shared-B-block path: the
    /// forward of a 66k-input layer (B stored transposed) and dx of a 66k-output layer like the
    /// LM head's (B row-major), with row and column counts that leave partial micro-tiles.
    @Test(arguments: [(N: 64, C: 66_000, OC: 72), (N: 61, C: 72, OC: 66_000)])
    func largeOperandsMatchReferenceAndAreThreadIndependent(shape: (N: Int, C: Int, OC: Int)) throws {
        let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: 61)
        let reference = (out: p.forward(.reference), gradients: p.gradients(.reference))
        try expectThreadIndependent("linear \(p.label)") {
            let (out, gradients) = (p.forward(.fast), p.gradients(.fast))
            let label = "\(Runtime.instructionSet.rawValue) \(Runtime.threads) threads"
            expectClose(out, reference.out, atol: tolerance(sumLength: p.C), "\(label) out")
            expectClose(gradients.dx, reference.gradients.dx, atol: tolerance(sumLength: p.OC), "\(label) dx")
            expectClose(gradients.dweight, reference.gradients.dweight, atol: tolerance(sumLength: p.N), "\(label) dW")
            return [out, gradients.dx, gradients.dweight]
        }
    }

    /// Both operands too large to pack whole, and C wide enough for strips of 8 panels per thread:
    /// dx on 2 threads takes the column-strip path (gemm_column_strips), on 1 thread the shared-B-
    /// block path, and the two agree bit for bit. 500 rows and 776 columns leave partial micro-tiles;
    /// K = 9,000 ends in a partial K block. Where a path has a micro-kernel that reads A in place,
    /// columns 384–767 (all rows but the last, partial MR panel) come from it on 1 thread (whole
    /// panels of a 768-column block) and from packed A on 2 (the second strip ends in a partial
    /// panel), so the two are compared bit for bit too.
    @Test func columnStripsMatchReferenceAndSharedBlocks() throws {
        let p = LinearProblem(N: 500, C: 776, OC: 9_000, seed: 63)
        try expectFastMatchesReferenceOnBothThreadCounts(p, "dx", sumLength: p.OC, reference: p.gradients(.reference).dx) {
            p.gradients(.fast).dx
        }
    }

    /// dx of an LM-head-like layer with few rows: where a path reads B in place (the AVX-512 path's
    /// shared-B block, up to 256 rows a thread; reads_b_in_place in gemm.c), the weight's whole
    /// 48-column panels are read where they lie and the rest is packed. 256 rows: on 1 thread the
    /// shared-B path reads columns 0–767 in place and packs the last 8; on 2, column strips pack
    /// both strips. 512 rows and 384 columns: on 2 threads the shared-B path (strips too narrow)
    /// reads B in place with 256 rows each and no barrier, on 1 thread it packs. 17,000 outputs end
    /// in a partial K block. Both thread counts must agree bit for bit and match the reference.
    @Test(arguments: [(N: 256, C: 776, OC: 17_000), (N: 512, C: 384, OC: 17_000)])
    func weightReadInPlaceMatchesReferenceAndPackedBlocks(shape: (N: Int, C: Int, OC: Int)) throws {
        let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: 64)
        try withWeightReadInPlace {
            try expectFastMatchesReferenceOnBothThreadCounts(p, "dx", sumLength: p.OC, reference: p.inputGradient(.reference)) {
                p.inputGradient(.fast)
            }
        }
    }

    /// Reading the weight in place or packing it changes where the micro-kernel reads B, never
    /// what it sums: the 256-row dx of a 17,000-output layer on 1 thread (the shared-B path; on
    /// AVX-512 columns 0–767 in place where allowed) is bit for bit the packed one, on every path.
    @Test func weightReadInPlaceGivesThePackedBits() throws {
        let p = LinearProblem(N: 256, C: 776, OC: 17_000, seed: 66)
        for isa in InstructionSet.supported {
            let packed = try Runtime.with(threads: 1, instructionSet: isa) { () -> [Float] in
                swl_gemm_set_b_in_place(SWL_GEMM_B_IN_PLACE_NEVER)
                defer { swl_gemm_set_b_in_place(SWL_GEMM_B_IN_PLACE_AUTO) }
                return p.inputGradient(.fast)
            }
            let inPlace = try withWeightReadInPlace {
                try Runtime.with(threads: 1, instructionSet: isa) { p.inputGradient(.fast) }
            }
            expectBitwiseEqual(inPlace, packed, "linear \(p.label) dx on \(isa.rawValue), in place vs packed")
        }
    }

    /// Four threads (more than the cores here; the split, not the speed, is what counts): 1,024
    /// rows give each thread 256, so on the AVX-512 path the shared-B path reads columns 0–767 of
    /// the weight in place with no barrier, then packs the last 8 columns with a barrier per K
    /// block. Bit for bit what one thread computes, packing all of it.
    @Test func weightReadInPlaceThenPackedOnFourThreads() throws {
        let p = LinearProblem(N: 1024, C: 776, OC: 5_500, seed: 65)
        for isa in InstructionSet.supported {
            func dx(threads: Int) throws -> [Float] {
                try withWeightReadInPlace {
                    try Runtime.with(threads: threads, instructionSet: isa) { p.inputGradient(.fast) }
                }
            }
            expectBitwiseEqual(try dx(threads: 4), try dx(threads: 1), "linear \(p.label) dx on \(isa.rawValue), 4 vs 1 threads")
        }
    }

    /// Tiles are handed out by work stealing (gemm_tiles). Every tile must still be computed once,
    /// by one thread, the same way: x·Wᵀ, dout·W and doutᵀ·x (both accumulating, where a tile
    /// computed twice would be added twice; all three on the tile path) bit for bit what one thread
    /// computes, on four threads over two cores (runs finishing unevenly) and with every tile
    /// starting in the first thread's run (every other thread's tiles taken from it), five times.
    @Test func stolenTilesGiveTheOneThreadBits() throws {
        let p = LinearProblem(N: 520, C: 328, OC: 700, seed: 67)
        for isa in InstructionSet.supported {
            func products(threads: Int) throws -> [[Float]] {
                try Runtime.with(threads: threads, instructionSet: isa) {
                    let gradients = p.gradients(.fast)
                    return [p.forward(.fast), gradients.dx, gradients.dweight]
                }
            }
            let one = try products(threads: 1)
            for allOnFirstThread in [false, true] {
                swl_gemm_set_first_thread_takes_all_tiles(allOnFirstThread ? 1 : 0)
                defer { swl_gemm_set_first_thread_takes_all_tiles(0) }
                for _ in 0..<5 {
                    for (index, (four, single)) in zip(try products(threads: 4), one).enumerated() {
                        expectBitwiseEqual(four, single, "linear \(p.label) product \(index) on \(isa.rawValue), 4 vs 1 threads, all tiles on the first: \(allOnFirstThread)")
                    }
                }
            }
        }
    }

    /// Overwriting dW (a step's first backward) gives the bits of adding into zeros, over a buffer
    /// of NaN (a value read or left unwritten would show), on every path and on 1 and 2 threads:
    /// B packed whole with partial micro-tiles and three K blocks (600 rows, the last partial); A
    /// packed whole with one partial K block; whole micro-tiles (the overwriting micro-kernel)
    /// over two K blocks; both operands too big to pack whole (over 4M floats), which takes the
    /// shared-B path (1,100 outputs) and, on 2 threads, the column strips (500 outputs). An
    /// empty sum (no rows) writes zeros.
    @Test(arguments: [
        (N: 600, C: 100, OC: 130), (N: 37, C: 520, OC: 70), (N: 260, C: 96, OC: 1_000), (N: 0, C: 20, OC: 9),
        (N: 4_200, C: 1_000, OC: 1_100), (N: 8_500, C: 800, OC: 500),
    ])
    func overwrittenWeightGradientGivesTheBitsOfAddingIntoZeros(shape: (N: Int, C: Int, OC: Int)) throws {
        let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: 71)
        try expectThreadIndependent("linear \(p.label) dW overwritten") {
            let written = p.weightGradientOverwritten(), added = p.gradients(.fast).dweight
            let finite = written.allSatisfy { $0.isFinite }
            #expect(finite, "linear \(p.label): dW overwritten has values that are not finite")
            expectBitwiseEqual(written, added, "linear \(p.label) on \(Runtime.instructionSet.rawValue) \(Runtime.threads) threads: dW overwritten vs added into zeros")
            return [written]
        }
    }

    /// Overwriting dx (the model's backward writing into scratch) gives the bits of adding into
    /// zeros, over a buffer of NaN, on every path and on 1 and 2 threads: the skinny product (1
    /// and 2 rows); on the tile path partial micro-tiles over one K block, three K blocks (the
    /// last partial), whole micro-tiles over four K blocks, and B packed whole (4,200 rows); an
    /// empty sum (OC = 0) writes zeros. Both operands too big to pack whole: 61 rows take the
    /// shared-B path; 500 rows × 776 columns the column strips on 2 threads (shared B on 1); 256
    /// rows of 17,000 outputs, with the weight read in place where the policy allows (the AVX-512
    /// shared-B path on 1 thread), as the LM head's dx does. dout, row-major, is read in place
    /// (`kernel_rows_of_a`) on those paths.
    @Test(arguments: [
        (N: 1, C: 50, OC: 70, inPlace: false), (N: 2, C: 33, OC: 300, inPlace: false),
        (N: 37, C: 100, OC: 130, inPlace: false), (N: 37, C: 520, OC: 700, inPlace: false),
        (N: 256, C: 96, OC: 1_000, inPlace: false), (N: 9, C: 20, OC: 0, inPlace: false),
        (N: 4_200, C: 1_100, OC: 1_000, inPlace: false), (N: 61, C: 72, OC: 66_000, inPlace: false),
        (N: 500, C: 776, OC: 9_000, inPlace: false), (N: 256, C: 776, OC: 17_000, inPlace: true),
    ])
    func overwrittenInputGradientGivesTheBitsOfAddingIntoZeros(shape: (N: Int, C: Int, OC: Int, inPlace: Bool)) throws {
        let p = LinearProblem(N: shape.N, C: shape.C, OC: shape.OC, seed: 74)
        if shape.inPlace { swl_gemm_set_b_in_place(SWL_GEMM_B_IN_PLACE_ALLOWED) }
        defer { swl_gemm_set_b_in_place(SWL_GEMM_B_IN_PLACE_AUTO) }
        try expectThreadIndependent("linear \(p.label) dx overwritten") {
            let written = p.inputGradientOverwritten(), added = p.inputGradient(.fast)
            let finite = written.allSatisfy { $0.isFinite }
            #expect(finite, "linear \(p.label): dx overwritten has values that are not finite")
            expectBitwiseEqual(written, added, "linear \(p.label) on \(Runtime.instructionSet.rawValue) \(Runtime.threads) threads: dx overwritten vs added into zeros")
            return [written]
        }
    }

    /// An empty sum (no inputs, C = 0, through the packed GEMM): the forward is the bias on
    /// every row.
    @Test func emptyInnerDimensionGivesTheBias() throws {
        let p = LinearProblem(N: 9, C: 0, OC: 50, seed: 68)
        let expected = (0..<p.N).flatMap { _ in p.bias }
        expectBitwiseEqual(p.forward(.fast), expected, "linear \(p.label) forward with C = 0")
    }

    /// A weight too big to stay cached, with the input packed whole: the forward packs each column
    /// block of the weight once and keeps it for the next row of tiles (keep_b in gemm.c). 264 rows
    /// make two rows of tiles, the second a partial micro-tile; 520 inputs make three K blocks, the
    /// last one partial.
    @Test func forwardKeepsPackedWeightAcrossRowTiles() throws {
        let p = LinearProblem(N: 264, C: 520, OC: 8_200, seed: 62)
        try expectFastMatchesReferenceOnBothThreadCounts(p, "out", sumLength: p.C, reference: p.forward(.reference)) {
            p.forward(.fast)
        }
    }

    /// A whole A (x: 264 × 4,000, 1.06M floats) is packed by every thread for itself while the
    /// copies together stay within the bound of one shared copy (4M floats: 1 to 3 threads), and
    /// once by all the threads together beyond it (4 threads). 264 rows leave a partial micro-tile
    /// and 4,000 inputs a partial K block. Every thread count gives the one-thread bits, which
    /// match the reference. Each run follows products of other values on its own thread count
    /// (every thread's copy, or the shared one) and on 1 thread (where the shared copy lies): a
    /// part of the buffers left unwritten would hold those values, not the ones the run before
    /// packed.
    @Test func wholeInputPackedPerThreadOrSharedGivesTheSameBits() throws {
        let p = LinearProblem(N: 264, C: 4_000, OC: 300, seed: 69)
        let other = LinearProblem(N: 264, C: 4_000, OC: 300, seed: 70)
        let reference = p.forward(.reference)
        for isa in InstructionSet.supported {
            func forward(threads: Int) throws -> [Float] {
                for count in [threads, 1] {
                    _ = try Runtime.with(threads: count, instructionSet: isa) { other.forward(.fast) }
                }
                return try Runtime.with(threads: threads, instructionSet: isa) { p.forward(.fast) }
            }
            let one = try forward(threads: 1)
            expectClose(one, reference, atol: tolerance(sumLength: p.C), "linear \(p.label) out on \(isa.rawValue)")
            for threads in [2, 3, 4] {
                let many = try forward(threads: threads)
                expectBitwiseEqual(many, one, "linear \(p.label) out on \(isa.rawValue), \(threads) vs 1 threads")
            }
        }
    }

    /// Two Swift threads inside the fast kernels at once (one gets the shared pack buffer cache,
    /// the other its own buffers) compute exactly what each computes alone.
    @Test func concurrentCallsMatchSerialCalls() async throws {
        let problems = [LinearProblem(N: 256, C: 768, OC: 2304, seed: 71), LinearProblem(N: 96, C: 3072, OC: 768, seed: 72)]
        let serial = problems.map { p in [p.forward(.fast), p.gradients(.fast).dx, p.gradients(.fast).dweight] }
        for round in 0..<4 {
            let concurrent = await withTaskGroup(of: (Int, [[Float]]).self) { group in
                for (index, p) in problems.enumerated() {
                    group.addTask {
                        let gradients = p.gradients(.fast)
                        return (index, [p.forward(.fast), gradients.dx, gradients.dweight])
                    }
                }
                var results = [[[Float]]](repeating: [], count: problems.count)
                for await (index, outputs) in group { results[index] = outputs }
                return results
            }
            for (index, p) in problems.enumerated() {
                for (output, name) in ["out", "dx", "dW"].enumerated() {
                    expectBitwiseEqual(concurrent[index][output], serial[index][output], "round \(round) \(p.label) \(name)")
                }
            }
        }
    }

    @Test(arguments: [LinearKernel.fast, .reference])
    func backwardAccumulates(kernel: LinearKernel) throws {
        let p = LinearProblem(N: 17, C: 37, OC: 45, seed: 31)
        var random = TestRandom(seed: 32)
        let (dx, dweight, dbias) = (random.normals(p.N * p.C), random.normals(p.OC * p.C), random.normals(p.OC))
        for isa in InstructionSet.supported {
            try Runtime.with(instructionSet: isa) {
                let fresh = p.gradients(kernel)
                let accumulated = p.backward(kernel, dx: dx, dweight: dweight, dbias: dbias)
                let label = "\(kernel) on \(isa.rawValue)"
                expectClose(accumulated.dx ?? [], zip(dx, fresh.dx).map(+), atol: 1e-4, "\(label) dx")
                expectClose(accumulated.dweight ?? [], zip(dweight, fresh.dweight).map(+), atol: 1e-4, "\(label) dW")
                expectClose(accumulated.dbias ?? [], zip(dbias, fresh.dbias).map(+), atol: 1e-4, "\(label) db")
            }
        }
    }

    @Test(arguments: [LinearKernel.fast, .reference])
    func nullGradientsAreSkipped(kernel: LinearKernel) throws {
        for (N, C, OC) in [(19, 41, 23), (1, 41, 23)] {
            let p = LinearProblem(N: N, C: C, OC: OC, seed: 41)
            let zeros = p.zeros
            for isa in InstructionSet.supported {
                try Runtime.with(instructionSet: isa) {
                    let all = p.gradients(kernel)
                    let label = "\(kernel) on \(isa.rawValue) \(p.label)"
                    let onlyDx = p.backward(kernel, dx: zeros.dx, dweight: nil, dbias: nil)
                    expectBitwiseEqual(onlyDx.dx ?? [], all.dx, "\(label) dx alone")
                    let onlyDweight = p.backward(kernel, dx: nil, dweight: zeros.dweight, dbias: nil)
                    expectBitwiseEqual(onlyDweight.dweight ?? [], all.dweight, "\(label) dW alone")
                    let onlyDbias = p.backward(kernel, dx: nil, dweight: nil, dbias: zeros.dbias)
                    expectBitwiseEqual(onlyDbias.dbias ?? [], all.dbias, "\(label) db alone")
                    let noDbias = p.backward(kernel, dx: zeros.dx, dweight: zeros.dweight, dbias: nil)
                    expectBitwiseEqual(noDbias.dx ?? [], all.dx, "\(label) dx without db")
                    expectBitwiseEqual(noDbias.dweight ?? [], all.dweight, "\(label) dW without db")
                    _ = p.backward(kernel, dx: nil, dweight: nil, dbias: nil)  // nothing to do: returns
                }
            }
        }
    }

    @Test func wrappersMatchGolden() throws {
        let golden = try Golden("linear").case("small")
        let (x, weight) = (try golden.tensor("x"), try golden.tensor("W"))
        let out = try Kernels.linearForward(x, weight: weight, bias: golden.tensor("b"))
        #expect(out.shape == golden.shape("out"))
        try golden.expectClose(out.values, "out")
        let gradients = try Kernels.linearBackward(golden.tensor("dout"), input: x, weight: weight)
        #expect(gradients.input.shape == x.shape && gradients.weight.shape == weight.shape)
        try golden.expectClose(gradients.input.values, "dx")
        try golden.expectClose(gradients.weight.values, "dW")
        try golden.expectClose(gradients.bias.values, "db")
    }

    @Test func wrapperTreatsLeadingDimensionsAsRows() throws {
        let p = LinearProblem(N: 6, C: 5, OC: 4, seed: 51)
        let x = try Tensor(shape: [2, 3, 5], values: p.x)
        let weight = try Tensor(shape: [4, 5], values: p.weight)
        let out = try Kernels.linearForward(x, weight: weight, bias: nil)
        #expect(out.shape == [2, 3, 4])
        expectBitwiseEqual(out.values, p.forward(.fast, withBias: false), "rank-3 forward")
        let gradients = try Kernels.linearBackward(try Tensor(shape: [2, 3, 4], values: p.dout), input: x, weight: weight)
        #expect(gradients.input.shape == [2, 3, 5] && gradients.weight.shape == [4, 5] && gradients.bias.shape == [4])
        expectBitwiseEqual(gradients.input.values, p.gradients(.fast).dx, "rank-3 dx")
    }

    @Test func wrappersRejectBadShapes() throws {
        let x = try Tensor(zeros: [3, 5]), weight = try Tensor(zeros: [4, 5]), dout = try Tensor(zeros: [3, 4])
        func zeros(_ shape: [Int]) throws -> Tensor { try Tensor(zeros: shape) }
        let badCalls: [(String, () throws -> Tensor)] = [
            ("weight has shape [4, 6]", { try Kernels.linearForward(x, weight: zeros([4, 6]), bias: nil) }),
            ("bias has shape [5]", { try Kernels.linearForward(x, weight: weight, bias: zeros([5])) }),
            ("x must have", { try Kernels.linearForward(zeros([5]), weight: weight, bias: nil) }),
            ("weight must have 2 dimensions", { try Kernels.linearForward(x, weight: zeros([4, 5, 1]), bias: nil) }),
            ("rows of x", { try Kernels.linearForward(zeros([0, 5]), weight: weight, bias: nil) }),
            ("C (last dimension of x)", { try Kernels.linearForward(zeros([3, 0]), weight: zeros([4, 0]), bias: nil) }),
            ("OC (first dimension of weight)", { try Kernels.linearForward(x, weight: zeros([0, 5]), bias: zeros([0])) }),
            ("outputGradient", { try Kernels.linearBackward(zeros([3, 5]), input: x, weight: weight).input }),
            ("weight has shape [4, 6]", { try Kernels.linearBackward(dout, input: x, weight: zeros([4, 6])).input }),
            ("rows of x", { try Kernels.linearBackward(zeros([0, 4]), input: zeros([0, 5]), weight: weight).input }),
        ]
        for (message, call) in badCalls {
            do {
                _ = try call()
                Issue.record("expected a KernelError saying \"\(message)\"")
            } catch let error as KernelError {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
        #expect(throws: Never.self) { try Kernels.linearBackward(dout, input: x, weight: weight) }
    }
}
