import Foundation
import SwiftletKernels
import Testing

/// Flash attention with dropout on the probabilities (`swl_attention_flash_*_dropout`), against a
/// Float64 reference that takes its mask from `swl_dropout_forward`: so the test also proves that
/// the kernel drops exactly the entries the materialized path drops.
@Suite("Attention dropout inside flash", .serialized) struct AttentionDropoutTests {
    /// q, k, v, dout (B,H,T,hs) and what the kernels return for them.
    struct Problem {
        let b, h, t, hs: Int
        let q, k, v, dout: [Float]
        var count: Int { b * h * t * hs }

        init(_ b: Int, _ h: Int, _ t: Int, _ hs: Int, seed: UInt64) {
            (self.b, self.h, self.t, self.hs) = (b, h, t, hs)
            var random = TestRandom(seed: seed)
            let n = b * h * t * hs
            q = random.normals(n, std: 1.5); k = random.normals(n, std: 1.5)
            v = random.normals(n); dout = random.normals(n)
        }

        func forward(dropout: Float, seed: UInt64, q: [Float]? = nil, k: [Float]? = nil, v: [Float]? = nil)
            -> (out: [Float], lse: [Float]) {
            var out = [Float](repeating: 0, count: count), lse = [Float](repeating: 0, count: b * h * t)
            swl_attention_flash_forward_dropout(&out, &lse, q ?? self.q, k ?? self.k, v ?? self.v,
                                                Int32(b), Int32(h), Int32(t), Int32(hs), dropout, seed)
            return (out, lse)
        }

        func backward(dropout: Float, seed: UInt64, upstream: [Float]? = nil) -> (dq: [Float], dk: [Float], dv: [Float]) {
            let (out, lse) = forward(dropout: dropout, seed: seed)
            var dq = [Float](repeating: 0, count: count), dk = dq, dv = dq
            swl_attention_flash_backward_dropout(&dq, &dk, &dv, upstream ?? dout, q, k, v, out, lse,
                                                 Int32(b), Int32(h), Int32(t), Int32(hs), dropout, seed)
            return (dq, dk, dv)
        }

        /// The dropout factors z (B,H,T,T) the materialized path applies: swl_dropout_forward of ones.
        func mask(dropout: Float, seed: UInt64) -> [Float] {
            let ones = [Float](repeating: 1, count: b * h * t * t)
            var z = ones
            swl_dropout_forward(&z, ones, ones.count, dropout, seed)
            return z
        }

        /// out, dq, dk, dv in Double: p = softmax over j ≤ i, out = Σ z·p·v,
        /// dS = p∘(z∘dP − Σ_j p·z·dP) with dP = dout·vᵀ.
        func reference(dropout: Float, seed: UInt64) -> (out: [Float], dq: [Float], dk: [Float], dv: [Float]) {
            let z = mask(dropout: dropout, seed: seed).map(Double.init)
            let scale = 1 / Double(hs).squareRoot()
            var out = [Double](repeating: 0, count: count), dq = out, dk = out, dv = out
            func at(_ x: [Float], _ head: Int, _ row: Int, _ d: Int) -> Double { Double(x[(head * t + row) * hs + d]) }
            for head in 0..<(b * h) {
                for i in 0..<t {
                    let scores = (0...i).map { j in (0..<hs).reduce(0.0) { $0 + at(q, head, i, $1) * at(k, head, j, $1) } * scale }
                    let top = scores.max()!
                    let weights = scores.map { exp($0 - top) }
                    let total = weights.reduce(0, +)
                    let p = weights.map { $0 / total }
                    let keep = (0...i).map { z[(head * t + i) * t + $0] }
                    let dP = (0...i).map { j in (0..<hs).reduce(0.0) { $0 + at(dout, head, i, $1) * at(v, head, j, $1) } }
                    let delta = (0...i).reduce(0.0) { $0 + p[$1] * keep[$1] * dP[$1] }
                    for j in 0...i {
                        let dS = p[j] * (keep[j] * dP[j] - delta) * scale
                        for d in 0..<hs {
                            out[(head * t + i) * hs + d] += keep[j] * p[j] * at(v, head, j, d)
                            dv[(head * t + j) * hs + d] += keep[j] * p[j] * at(dout, head, i, d)
                            dq[(head * t + i) * hs + d] += dS * at(k, head, j, d)
                            dk[(head * t + j) * hs + d] += dS * at(q, head, i, d)
                        }
                    }
                }
            }
            return (out.map(Float.init), dq.map(Float.init), dk.map(Float.init), dv.map(Float.init))
        }
    }

    /// Around the 64-wide tiles: T = 1, partial tiles, several tiles; odd head sizes.
    static let shapes: [(b: Int, h: Int, t: Int, hs: Int)] = [(1, 1, 1, 8), (2, 3, 5, 16), (1, 2, 70, 32), (1, 1, 150, 5)]

    @Test func matchesTheMaterializedPathsMask() throws {
        for (index, s) in Self.shapes.enumerated() {
            let problem = Problem(s.b, s.h, s.t, s.hs, seed: UInt64(300 + index))
            for dropout: Float in [0.1, 0.5] {
                let seed = UInt64(0xD5 + index)
                let expected = problem.reference(dropout: dropout, seed: seed)
                let magnitude = { (x: [Float]) in max(1, x.map(abs).max() ?? 0) }
                try forEachConfiguration(threads: [2]) { isa, _ in
                    let label = "\(s) dropout \(dropout) on \(isa)"
                    let out = problem.forward(dropout: dropout, seed: seed).out
                    let grads = problem.backward(dropout: dropout, seed: seed)
                    expectClose(out, expected.out, atol: 1e-5 * magnitude(expected.out), "out \(label)")
                    expectClose(grads.dq, expected.dq, atol: 2e-5 * magnitude(expected.dq), "dq \(label)")
                    expectClose(grads.dk, expected.dk, atol: 2e-5 * magnitude(expected.dk), "dk \(label)")
                    expectClose(grads.dv, expected.dv, atol: 2e-5 * magnitude(expected.dv), "dv \(label)")
                }
            }
        }
    }

    @Test func dropsAboutTheRequestedShare() {
        // With T = 1 a head's one probability is 1, so out = z·v: with v = 1 the kernel's output
        // is its mask, one element per head.
        let heads = 20_000
        let ones = [Float](repeating: 1, count: heads)
        for dropout: Float in [0.1, 0.5, 0.9] {
            var out = [Float](repeating: .nan, count: heads), lse = out
            swl_attention_flash_forward_dropout(&out, &lse, ones, ones, ones, 1, Int32(heads), 1, 1, dropout, 42)
            let dropped = Double(out.filter { $0 == 0 }.count) / Double(heads)
            #expect(abs(dropped - Double(dropout)) < 0.015, "dropped \(dropped) for p = \(dropout)")
            #expect(Set(out).isSubset(of: [0, 1 / (1 - dropout)]))
        }
    }

    /// The dropout kernel's hash, written again here: lowbias32 twice over the index's two words.
    static func reference(_ seed: UInt64, _ index: UInt64, dropout: Float) -> Float {
        func mix(_ value: UInt32) -> UInt32 {
            var h = value
            h ^= h >> 16; h &*= 0x7feb_352d; h ^= h >> 15; h &*= 0x846c_a68b; h ^= h >> 16
            return h
        }
        let low = mix(UInt32(truncatingIfNeeded: seed) ^ 0x9e37_79b9), high = mix(UInt32(seed >> 32) ^ 0x85eb_ca6b)
        let h = mix(mix(UInt32(truncatingIfNeeded: index) ^ low) ^ UInt32(index >> 32) ^ high)
        return Float(h >> 8) * 0x1p-24 >= dropout ? 1 / (1 - dropout) : 0
    }

    @Test func factorsMatchTheDropoutHashOnBothSidesOf2To32() {
        let (dropout, seed): (Float, UInt64) = (0.5, 0xFEED_0000_0001)
        // The rewritten hash is the dropout kernel's: first 4,096 elements.
        let ones = [Float](repeating: 1, count: 4096)
        var kernel = ones
        swl_dropout_forward(&kernel, ones, ones.count, dropout, seed)
        #expect(kernel == (0..<4096).map { Self.reference(seed, UInt64($0), dropout: dropout) })
        // Rows of 64 lanes as the tiles draw them: below, across (the 64-bit path) and above 2^32,
        // with stride 1 (key lanes) and T-like strides (query lanes).
        for stride in [1, 7, 1024] {
            for first in [(1 << 32) - 64 * stride, (1 << 32) - 10 * stride - 3, (1 << 32) - 1, 1 << 32, 3 << 32] {
                var z = [Float](repeating: .nan, count: 64)
                swl_attention_dropout_factors(&z, first, stride, dropout, seed)
                let expected = (0..<64).map { Self.reference(seed, UInt64(first + $0 * stride), dropout: dropout) }
                #expect(z == expected, "first \(first), stride \(stride)")
            }
        }
    }

    @Test func aDropoutThatKeepsEverythingIsThePlainKernelBitForBit() throws {
        // p = 1e-10: the scale 1/(1−p) rounds to 1 and only a hash of exactly 0 would drop, so
        // the dropout branches run with z = 1 and must give the plain kernel's bits.
        let problem = Problem(2, 3, 130, 16, seed: 11)
        let (dropout, seed): (Float, UInt64) = (1e-10, 99)
        #expect(problem.mask(dropout: dropout, seed: seed).allSatisfy { $0 == 1 }, "this seed keeps every element")
        let (b, h, t, hs) = (Int32(problem.b), Int32(problem.h), Int32(problem.t), Int32(problem.hs))
        try forEachConfiguration { isa, threads in
            var out = [Float](repeating: 0, count: problem.count), lse = [Float](repeating: 0, count: problem.b * problem.h * problem.t)
            swl_attention_flash_forward(&out, &lse, problem.q, problem.k, problem.v, b, h, t, hs)
            var dq = [Float](repeating: 0, count: problem.count), dk = dq, dv = dq
            swl_attention_flash_backward(&dq, &dk, &dv, problem.dout, problem.q, problem.k, problem.v, out, lse, b, h, t, hs)
            let label = "\(isa) \(threads) threads"
            let forward = problem.forward(dropout: dropout, seed: seed)
            let grads = problem.backward(dropout: dropout, seed: seed)
            expectBitwiseEqual(forward.out, out, "out \(label)")
            expectBitwiseEqual(forward.lse, lse, "lse \(label)")
            expectBitwiseEqual(grads.dq, dq, "dq \(label)")
            expectBitwiseEqual(grads.dk, dk, "dk \(label)")
            expectBitwiseEqual(grads.dv, dv, "dv \(label)")
        }
    }

    @Test func lseIsTheUndroppedLogSumExp() throws {
        let problem = Problem(1, 2, 90, 16, seed: 12)
        let plain = problem.forward(dropout: 0, seed: 0).lse
        let dropped = problem.forward(dropout: 0.4, seed: 5)
        expectBitwiseEqual(dropped.lse, plain, "lse with and without dropout")
        #expect(dropped.out != problem.forward(dropout: 0.4, seed: 6).out, "another seed draws another mask")
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        // T = 70 crosses a tile boundary; the mask is fixed by the seed, so the loss is smooth.
        let problem = Problem(1, 2, 70, 8, seed: 13)
        var random = TestRandom(seed: 14)
        let weights = random.normals(problem.count)
        let (dropout, seed): (Float, UInt64) = (0.3, 77)
        func loss(q: [Float]? = nil, k: [Float]? = nil, v: [Float]? = nil) -> Double {
            let out = problem.forward(dropout: dropout, seed: seed, q: q, k: k, v: v).out
            return zip(out, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        }
        try forEachConfiguration(threads: [2]) { isa, _ in
            let grads = problem.backward(dropout: dropout, seed: seed, upstream: weights)
            expectGradientMatchesFiniteDifferences("dq on \(isa)", at: problem.q, analytic: grads.dq) { loss(q: $0) }
            expectGradientMatchesFiniteDifferences("dk on \(isa)", at: problem.k, analytic: grads.dk) { loss(k: $0) }
            expectGradientMatchesFiniteDifferences("dv on \(isa)", at: problem.v, analytic: grads.dv) { loss(v: $0) }
        }
    }

    @Test func threadCountDoesNotChangeResults() throws {
        // Six heads (whole-head backward on both thread counts) and one head (split passes on 2).
        for (b, h, t, hs) in [(2, 3, 150, 32), (1, 1, 300, 64)] {
            let problem = Problem(b, h, t, hs, seed: 15)
            try expectThreadIndependent("flash dropout (\(b),\(h),\(t),\(hs))") {
                let forward = problem.forward(dropout: 0.2, seed: 3)
                let grads = problem.backward(dropout: 0.2, seed: 3)
                return [forward.out, forward.lse, grads.dq, grads.dk, grads.dv]
            }
        }
    }
}
