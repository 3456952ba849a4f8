import Foundation
import Swiftlet
import SwiftletKernels
import Testing

@Suite("Causal attention", .serialized) struct AttentionTests {
    /// Random q, k, v and an upstream gradient of shape (B,H,T,hs).
    struct Inputs {
        let q: Tensor, k: Tensor, v: Tensor, dout: Tensor

        init(_ b: Int, _ h: Int, _ t: Int, _ hs: Int, seed: UInt64, std: Float = 1) throws {
            var random = TestRandom(seed: seed)
            let shape = [b, h, t, hs], n = b * h * t * hs
            q = try Tensor(shape: shape, values: random.normals(n, std: std))
            k = try Tensor(shape: shape, values: random.normals(n, std: std))
            v = try Tensor(shape: shape, values: random.normals(n))
            dout = try Tensor(shape: shape, values: random.normals(n))
        }

        func run(_ kernel: AttentionKernel) throws -> (Kernels.AttentionOutput, Kernels.AttentionGradients) {
            let forward = try Kernels.attention(query: q, key: k, value: v, kernel: kernel)
            let grads = try Kernels.attentionBackward(dout, query: q, key: k, value: v, forward: forward)
            return (forward, grads)
        }
    }

    @Test(arguments: ["small", "gpt2"], AttentionKernel.allCases)
    func goldenOnEveryPath(caseName: String, kernel: AttentionKernel) throws {
        let golden = try Golden("attention").case(caseName)
        let q = try golden.tensor("q"), k = try golden.tensor("k"), v = try golden.tensor("v")
        let dout = try golden.tensor("dout")
        try forEachConfiguration { _, _ in
            let forward = try Kernels.attention(query: q, key: k, value: v, kernel: kernel)
            try golden.expectClose(forward.output.values, "out")
            if case .probabilities(let att) = forward.saved, golden.has("att") {
                try golden.expectClose(att.values, "att")
            }
            let grads = try Kernels.attentionBackward(dout, query: q, key: k, value: v, forward: forward)
            try golden.expectClose(grads.query.values, "dq")
            try golden.expectClose(grads.key.values, "dk")
            try golden.expectClose(grads.value.values, "dv")
        }
    }

    /// Shapes around the 64-wide tiles: T = 1, partial tiles, several tiles, every head size.
    /// `std` 4 makes peaked rows whose running max changes often and whose small terms underflow.
    static let shapes: [(b: Int, h: Int, t: Int, hs: Int, std: Float)] = [
        (1, 1, 1, 16, 1.5), (2, 3, 5, 32, 1.5), (1, 2, 64, 64, 1.5), (2, 2, 65, 16, 1.5),
        (1, 3, 130, 128, 1.5), (2, 1, 200, 64, 1.5), (1, 2, 97, 32, 1.5), (1, 1, 70, 5, 1.5),
        (1, 2, 150, 16, 4),
    ]

    @Test func flashMatchesNaive() throws {
        for (index, s) in Self.shapes.enumerated() {
            let inputs = try Inputs(s.b, s.h, s.t, s.hs, seed: UInt64(100 + index), std: s.std)
            try forEachConfiguration(threads: [2]) { isa, _ in
                let (naive, naiveGrads) = try inputs.run(.naive)
                let (flash, flashGrads) = try inputs.run(.flash)
                let label = "\(s) on \(isa)"
                // float32 rounding grows with the magnitude: atol relative to max |naive|
                func check(_ got: Tensor, _ reference: Tensor, _ relative: Float, _ name: String) {
                    let magnitude = max(1, reference.values.map(abs).max() ?? 0)
                    expectClose(got.values, reference.values, atol: relative * magnitude, "\(name) \(label)")
                }
                check(flash.output, naive.output, 4e-6, "out")
                check(flashGrads.query, naiveGrads.query, 1e-5, "dq")
                check(flashGrads.key, naiveGrads.key, 1e-5, "dk")
                check(flashGrads.value, naiveGrads.value, 1e-5, "dv")
            }
        }
    }

    /// lse[i] = log Σ_{j≤i} exp(q_i·k_j/√hs), checked in Double.
    @Test func flashSavesLogSumExp() throws {
        let (b, h, t, hs) = (1, 2, 75, 16)
        let inputs = try Inputs(b, h, t, hs, seed: 21, std: 2)
        let forward = try Kernels.attention(query: inputs.q, key: inputs.k, value: inputs.v, kernel: .flash)
        guard case .logSumExp(let lse) = forward.saved else {
            Issue.record("flash must save the logsumexp")
            return
        }
        var expected = [Float]()
        let scale = 1 / Double(hs).squareRoot()
        for head in 0..<(b * h) {
            for i in 0..<t {
                let scores = (0...i).map { j in
                    (0..<hs).reduce(0.0) { sum, d in
                        sum + Double(inputs.q.values[(head * t + i) * hs + d]) * Double(inputs.k.values[(head * t + j) * hs + d])
                    } * scale
                }
                let max = scores.max() ?? 0
                expected.append(Float(max + log(scores.reduce(0.0) { $0 + exp($1 - max) })))
            }
        }
        expectClose(lse.values, expected, atol: 2e-5, "flash lse")
    }

    @Test(arguments: AttentionKernel.allCases) func backwardMatchesFiniteDifferences(kernel: AttentionKernel) throws {
        // T = 70 crosses a tile boundary of the flash kernel.
        let inputs = try Inputs(1, 2, 70, 8, seed: 31)
        var random = TestRandom(seed: 32)
        let weights = random.normals(inputs.q.count)
        func loss(q: Tensor, k: Tensor, v: Tensor) throws -> Double {
            let out = try Kernels.attention(query: q, key: k, value: v, kernel: kernel).output.values
            return zip(out, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        let shape = inputs.q.shape
        let upstream = try Tensor(shape: shape, values: weights)
        try forEachConfiguration(threads: [2]) { isa, _ in
            let forward = try Kernels.attention(query: inputs.q, key: inputs.k, value: inputs.v, kernel: kernel)
            let grads = try Kernels.attentionBackward(upstream, query: inputs.q, key: inputs.k, value: inputs.v,
                                                      forward: forward)
            try expectGradientMatchesFiniteDifferences("\(kernel) dq on \(isa)", at: inputs.q.values,
                                                       analytic: grads.query.values) { x in
                try loss(q: Tensor(shape: shape, values: x), k: inputs.k, v: inputs.v)
            }
            try expectGradientMatchesFiniteDifferences("\(kernel) dk on \(isa)", at: inputs.k.values,
                                                       analytic: grads.key.values) { x in
                try loss(q: inputs.q, k: Tensor(shape: shape, values: x), v: inputs.v)
            }
            try expectGradientMatchesFiniteDifferences("\(kernel) dv on \(isa)", at: inputs.v.values,
                                                       analytic: grads.value.values) { x in
                try loss(q: inputs.q, k: inputs.k, v: Tensor(shape: shape, values: x))
            }
        }
    }

    @Test(arguments: AttentionKernel.allCases) func threadCountDoesNotChangeResults(kernel: AttentionKernel) throws {
        // 2·3 heads × 3 tiles: both threads get work. With one head, flash backward runs whole-head
        // tasks on 1 thread and the split dk/dv and dq passes on 2: their bits must agree too.
        for (b, h, t, hs) in [(2, 3, 150, 32), (1, 1, 300, 64)] {
            let inputs = try Inputs(b, h, t, hs, seed: 41)
            try expectThreadIndependent("\(kernel) attention (\(b),\(h),\(t),\(hs))") {
                let (forward, grads) = try inputs.run(kernel)
                var saved: [Float]
                switch forward.saved {
                case .probabilities(let att): saved = att.values
                case .logSumExp(let lse): saved = lse.values
                }
                return [forward.output.values, saved, grads.query.values, grads.key.values, grads.value.values]
            }
        }
    }

    /// The C backward kernels add into dq, dk, dv (+=).
    @Test func backwardsAccumulate() throws {
        let (b, h, t, hs) = (1, 2, 70, 16)
        let inputs = try Inputs(b, h, t, hs, seed: 51)
        let n = inputs.q.count
        let (q, k, v, dout) = (inputs.q.values, inputs.k.values, inputs.v.values, inputs.dout.values)
        let (B, H, T, HS) = (Int32(b), Int32(h), Int32(t), Int32(hs))
        var out = [Float](repeating: 0, count: n), lse = [Float](repeating: 0, count: b * h * t)
        swl_attention_flash_forward(&out, &lse, q, k, v, B, H, T, HS)
        var att = [Float](repeating: 0, count: b * h * t * t), scratch = att
        var naiveOut = out
        swl_attention_naive_forward(&naiveOut, &att, q, k, v, B, H, T, HS)
        for kernel in AttentionKernel.allCases {
            var dq = [Float](repeating: 0, count: n), dk = dq, dv = dq
            func backward() {
                switch kernel {
                case .flash: swl_attention_flash_backward(&dq, &dk, &dv, dout, q, k, v, out, lse, B, H, T, HS)
                case .naive: swl_attention_naive_backward(&dq, &dk, &dv, &scratch, dout, q, k, v, att, B, H, T, HS)
                }
            }
            backward()
            let (dq1, dk1, dv1) = (dq, dk, dv)
            backward()
            // the naive kernel adds term by term, so the sums round differently: close, not bitwise
            expectClose(dq, dq1.map { $0 + $0 }, atol: 1e-5, "\(kernel) dq accumulates")
            expectClose(dk, dk1.map { $0 + $0 }, atol: 1e-5, "\(kernel) dk accumulates")
            expectClose(dv, dv1.map { $0 + $0 }, atol: 1e-5, "\(kernel) dv accumulates")
        }
    }

    // MARK: Head layout

    @Test func splitAndMergeHeadsFollowPyTorchLayout() throws {
        let (b, t, h, hs) = (2, 5, 3, 4)
        let c = h * hs
        let qkv = try Tensor(shape: [b, t, 3 * c], values: (0..<(b * t * 3 * c)).map { Float($0) })
        try forEachConfiguration { _, _ in
            let (q, k, v) = try Kernels.splitHeads(qkv, heads: h)
            #expect(q.shape == [b, h, t, hs])
            for bi in 0..<b { for hi in 0..<h { for ti in 0..<t { for d in 0..<hs {
                let at = ((bi * h + hi) * t + ti) * hs + d
                let column = (bi * t + ti) * 3 * c + hi * hs + d
                #expect(q.values[at] == qkv.values[column])
                #expect(k.values[at] == qkv.values[column + c])
                #expect(v.values[at] == qkv.values[column + 2 * c])
            } } } }
            // split's backward is its inverse; so is merge's
            let back = try Kernels.splitHeadsBackward(query: q, key: k, value: v)
            expectBitwiseEqual(back.values, qkv.values, "split heads round trip")
            let merged = try Kernels.mergeHeads(q)
            #expect(merged.shape == [b, t, c])
            for bi in 0..<b { for ti in 0..<t { for column in 0..<c {
                #expect(merged.values[(bi * t + ti) * c + column] == qkv.values[(bi * t + ti) * 3 * c + column])
            } } }
            let unmerged = try Kernels.mergeHeadsBackward(merged, heads: h)
            expectBitwiseEqual(unmerged.values, q.values, "merge heads round trip")
        }
    }

    @Test func headLayoutIsThreadIndependent() throws {
        let (b, t, h, hs) = (2, 33, 3, 8)
        var random = TestRandom(seed: 71)
        let qkv = try Tensor(shape: [b, t, 3 * h * hs], values: random.normals(b * t * 3 * h * hs))
        try expectThreadIndependent("split and merge heads") {
            let (q, k, v) = try Kernels.splitHeads(qkv, heads: h)
            let merged = try Kernels.mergeHeads(v)
            let back = try Kernels.splitHeadsBackward(query: q, key: k, value: v)
            let unmerged = try Kernels.mergeHeadsBackward(merged, heads: h)
            return [q.values, k.values, v.values, merged.values, back.values, unmerged.values]
        }
    }

    @Test func headBackwardsAccumulate() throws {
        let (b, t, h, hs) = (2, 3, 2, 5)
        let n = b * t * h * hs
        var random = TestRandom(seed: 61)
        let dq = random.normals(n), dk = random.normals(n), dv = random.normals(n), dout = random.normals(n)
        var dqkv = random.normals(3 * n)
        let start = dqkv
        swl_split_heads_backward(&dqkv, dq, dk, dv, Int32(b), Int32(t), Int32(h), Int32(hs))
        let split = try Kernels.splitHeadsBackward(query: Tensor(shape: [b, h, t, hs], values: dq),
                                                   key: Tensor(shape: [b, h, t, hs], values: dk),
                                                   value: Tensor(shape: [b, h, t, hs], values: dv))
        expectBitwiseEqual(dqkv, zip(start, split.values).map { $0 + $1 }, "split heads backward adds")
        var dy = random.normals(n)
        let dyStart = dy
        swl_merge_heads_backward(&dy, dout, Int32(b), Int32(t), Int32(h), Int32(hs))
        let merged = try Kernels.mergeHeadsBackward(Tensor(shape: [b, t, h * hs], values: dout), heads: h)
        expectBitwiseEqual(dy, zip(dyStart, merged.values).map { $0 + $1 }, "merge heads backward adds")
    }

    /// The head layouts' input gradients, written over NaN, give the bits of the backwards adding
    /// into zeros (a signed zero among the inputs included).
    @Test func headInputGradientsGiveTheBitsOfAddingIntoZeros() throws {
        let (b, t, h, hs) = (2, 5, 3, 4)
        let n = b * t * h * hs
        var random = TestRandom(seed: 62)
        var dq = random.normals(n)
        let dk = random.normals(n), dv = random.normals(n)
        var dout = random.normals(n)
        dq[3] = -0.0
        dout[7] = -0.0
        try expectThreadIndependent("head input gradients") {
            var added = [Float](repeating: 0, count: 3 * n), written = [Float](repeating: .nan, count: 3 * n)
            swl_split_heads_backward(&added, dq, dk, dv, Int32(b), Int32(t), Int32(h), Int32(hs))
            swl_split_heads_input_gradient(&written, dq, dk, dv, Int32(b), Int32(t), Int32(h), Int32(hs))
            expectBitwiseEqual(written, added, "split heads: written vs added into zeros")
            var dyAdded = [Float](repeating: 0, count: n), dyWritten = [Float](repeating: .nan, count: n)
            swl_merge_heads_backward(&dyAdded, dout, Int32(b), Int32(t), Int32(h), Int32(hs))
            swl_merge_heads_input_gradient(&dyWritten, dout, Int32(b), Int32(t), Int32(h), Int32(hs))
            expectBitwiseEqual(dyWritten, dyAdded, "merge heads: written vs added into zeros")
            return [written, dyWritten]
        }
    }

    // MARK: Errors

    @Test func rejectsBadShapes() throws {
        let good = try Tensor(zeros: [1, 2, 3, 4])
        for kernel in AttentionKernel.allCases {
            #expect(throws: KernelError.self) {
                try Kernels.attention(query: good, key: try Tensor(zeros: [1, 2, 4, 4]), value: good, kernel: kernel)
            }
            #expect(throws: KernelError.self) {
                try Kernels.attention(query: good, key: good, value: try Tensor(zeros: [1, 2, 3, 5]), kernel: kernel)
            }
            #expect(throws: KernelError.self) {
                let flat = try Tensor(zeros: [2, 3, 4])
                return try Kernels.attention(query: flat, key: flat, value: flat, kernel: kernel)
            }
            #expect(throws: KernelError.self) {
                let noHead = try Tensor(zeros: [1, 2, 3, 0])
                return try Kernels.attention(query: noHead, key: noHead, value: noHead, kernel: kernel)
            }
            #expect(throws: KernelError.self) {
                let noTime = try Tensor(zeros: [1, 2, 0, 4])
                return try Kernels.attention(query: noTime, key: noTime, value: noTime, kernel: kernel)
            }
            let forward = try Kernels.attention(query: good, key: good, value: good, kernel: kernel)
            #expect(throws: KernelError.self) {
                try Kernels.attentionBackward(try Tensor(zeros: [1, 2, 3, 5]), query: good, key: good, value: good,
                                              forward: forward)
            }
        }
        let wrongSaved = Kernels.AttentionOutput(output: good, saved: .logSumExp(try Tensor(zeros: [1, 2, 4])))
        #expect(throws: KernelError.self) {
            try Kernels.attentionBackward(good, query: good, key: good, value: good, forward: wrongSaved)
        }
        let wrongProbabilities = Kernels.AttentionOutput(output: good, saved: .probabilities(try Tensor(zeros: [1, 2, 3])))
        #expect(throws: KernelError.self) {
            try Kernels.attentionBackward(good, query: good, key: good, value: good, forward: wrongProbabilities)
        }
        #expect(throws: KernelError.self) { try Kernels.splitHeads(try Tensor(zeros: [1, 3, 12]), heads: 3) }
        #expect(throws: KernelError.self) { try Kernels.splitHeads(try Tensor(zeros: [1, 3, 12]), heads: 0) }
        #expect(throws: KernelError.self) { try Kernels.splitHeads(try Tensor(zeros: [3, 12]), heads: 2) }
        #expect(throws: KernelError.self) { try Kernels.mergeHeads(try Tensor(zeros: [2, 3, 4])) }
        #expect(throws: KernelError.self) { try Kernels.mergeHeadsBackward(try Tensor(zeros: [1, 3, 10]), heads: 4) }
        #expect(throws: KernelError.self) {
            try Kernels.splitHeadsBackward(query: good, key: good, value: try Tensor(zeros: [1, 2, 3, 5]))
        }
    }
}
