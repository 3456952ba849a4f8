import Foundation
import Swiftlet
import SwiftletKernels
import Testing

/// The decode matrix-vector kernel against a double-precision x·Wᵀ + b, on every ISA path.
@Suite(.serialized) struct MatvecTests {
    /// (N, C, OC): C around the 8/16-lane widths and their tails, OC with and without a partial
    /// block of 4 rows, a GPT-2-sized row.
    static let shapes: [(Int, Int, Int)] = [(1, 1, 1), (1, 7, 3), (1, 16, 4), (1, 17, 9), (2, 33, 13), (3, 64, 70),
                                            (1, 768, 2304)]

    func run(N: Int, C: Int, OC: Int, bias: Bool, seed: UInt64) -> (out: [Float], expected: [Float]) {
        var random = TestRandom(seed: seed)
        let x = random.normals(N * C), w = random.normals(OC * C), b = random.normals(OC)
        var out = [Float](repeating: .nan, count: N * OC)
        b.withUnsafeBufferPointer { bp in
            swl_matvec_forward(&out, x, w, bias ? bp.baseAddress : nil, Int32(N), Int32(C), Int32(OC))
        }
        var expected = [Float](repeating: 0, count: N * OC)
        for n in 0..<N {
            for o in 0..<OC {
                var sum = bias ? Double(b[o]) : 0
                for c in 0..<C { sum += Double(x[n * C + c]) * Double(w[o * C + c]) }
                expected[n * OC + o] = Float(sum)
            }
        }
        return (out, expected)
    }

    @Test func matchesDoublePrecisionOnEveryPath() throws {
        try forEachConfiguration { isa, threads in
            for (index, (n, c, oc)) in Self.shapes.enumerated() {
                for bias in [false, true] {
                    let (out, expected) = run(N: n, C: c, OC: oc, bias: bias, seed: UInt64(index) + 1)
                    // fp32 dot products of length C with unit-normal terms: error grows like √C·ε.
                    let atol = Float(c).squareRoot() * 2e-6 + 1e-6
                    let worst = zip(out, expected).map { abs($0 - $1) }.max() ?? 0
                    #expect(worst <= atol && out.allSatisfy(\.isFinite),
                            "\(isa.rawValue) \(threads) threads N \(n) C \(c) OC \(oc) bias \(bias): error \(worst)")
                }
            }
        }
    }

    @Test func agreesWithTheLinearKernel() throws {
        // The model's full forward uses swl_linear_forward; decode uses this kernel on the same weights.
        var random = TestRandom(seed: 9)
        let (c, oc) = (96, 50)
        let x = random.normals(c), w = random.normals(oc * c), b = random.normals(oc)
        var viaLinear = [Float](repeating: 0, count: oc), viaMatvec = [Float](repeating: 0, count: oc)
        swl_linear_forward(&viaLinear, x, w, b, 1, Int32(c), Int32(oc))
        swl_matvec_forward(&viaMatvec, x, w, b, 1, Int32(c), Int32(oc))
        for (a, e) in zip(viaMatvec, viaLinear) { #expect(abs(a - e) <= 1e-4) }
    }

    @Test func threadCountDoesNotChangeResults() throws {
        try expectThreadIndependent("matvec") {
            [run(N: 1, C: 300, OC: 257, bias: true, seed: 4).out, run(N: 2, C: 768, OC: 130, bias: false, seed: 5).out]
        }
    }
}
