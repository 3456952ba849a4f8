import Foundation
import Swiftlet
import SwiftletKernels
import Testing

/// The KV-cache decode kernel against attention computed directly in double precision.
@Suite(.serialized) struct DecodeAttentionTests {
    /// Runs the kernel on random data: q (B,H,hs), caches (B,H,maxT,hs) with L valid positions.
    func decode(B: Int, H: Int, L: Int, maxT: Int, hs: Int, seed: UInt64) -> (out: [Float], expected: [Float]) {
        var random = TestRandom(seed: seed)
        let q = random.normals(B * H * hs)
        let k = random.normals(B * H * maxT * hs)
        let v = random.normals(B * H * maxT * hs)
        var out = [Float](repeating: .nan, count: B * H * hs)
        var scratch = [Float](repeating: 0, count: swl_attention_decode_scratch_floats(Int32(B), Int32(H), Int32(L), Int32(hs)))
        swl_attention_decode(&out, &scratch, q, k, v, Int32(B), Int32(H), Int32(L), Int32(maxT), Int32(hs))

        var expected = [Float](repeating: 0, count: B * H * hs)
        let scale = 1 / Double(hs).squareRoot()
        for bh in 0..<(B * H) {
            let scores = (0..<L).map { j in
                (0..<hs).reduce(0.0) { $0 + Double(q[bh * hs + $1]) * Double(k[(bh * maxT + j) * hs + $1]) } * scale
            }
            let maximum = scores.max()!
            let weights = scores.map { exp($0 - maximum) }
            let total = weights.reduce(0, +)
            for d in 0..<hs {
                let value = (0..<L).reduce(0.0) { $0 + weights[$1] * Double(v[(bh * maxT + $1) * hs + d]) }
                expected[bh * hs + d] = Float(value / total)
            }
        }
        return (out, expected)
    }

    @Test(arguments: [(1, 1, 1, 16), (1, 4, 7, 16), (2, 3, 300, 64), (1, 12, 513, 64), (1, 2, 1024, 128)])
    func matchesDirectAttention(shape: (Int, Int, Int, Int)) {
        let (B, H, L, hs) = shape
        let result = decode(B: B, H: H, L: L, maxT: L + 5, hs: hs, seed: UInt64(L))
        expectClose(result.out, result.expected, atol: 2e-5, "decode B\(B) H\(H) L\(L) hs\(hs)")
    }

    @Test func threadCountDoesNotChangeBits() throws {
        try expectThreadIndependent("decode attention") {
            [decode(B: 1, H: 4, L: 777, maxT: 800, hs: 64, seed: 3).out]
        }
    }
}
