import Foundation
import Swiftlet
import SwiftletKernels
import Testing

@Suite("Causal softmax", .serialized) struct SoftmaxTests {
    @Test(arguments: ["small", "gpt2"]) func goldenOnEveryPath(caseName: String) throws {
        let golden = try Golden("softmax").case(caseName)
        let scores = try golden.tensor("s"), dprobs = try golden.tensor("dp")
        let scale = try golden.scalar("scale")
        try forEachConfiguration { isa, threads in
            let probs = try Kernels.causalSoftmax(scores, scale: scale)
            try golden.expectClose(probs.values, "p")
            let dscores = try Kernels.causalSoftmaxBackward(dprobs, probabilities: probs, scale: scale)
            try golden.expectClose(dscores.values, "ds")
            let t = scores.shape[3]
            #expect(aboveDiagonal(probs.values, t).allSatisfy { $0 == 0 }, "p above the diagonal on \(isa), \(threads) threads")
            #expect(aboveDiagonal(dscores.values, t).allSatisfy { $0 == 0 }, "ds above the diagonal on \(isa), \(threads) threads")
        }
    }

    /// Scores and upstream gradients above the diagonal must never be read: NaN there changes nothing.
    @Test func neverReadsAboveTheDiagonal() throws {
        let (bh, t) = (3, 37)
        var random = TestRandom(seed: 11)
        let clean = try Tensor(shape: [bh, t, t], values: random.normals(bh * t * t, std: 3))
        let upstream = try Tensor(shape: [bh, t, t], values: random.normals(bh * t * t))
        var dirty = clean, dirtyUpstream = upstream
        for m in 0..<bh { for i in 0..<t { for j in (i + 1)..<t {
            dirty.values[(m * t + i) * t + j] = .nan
            dirtyUpstream.values[(m * t + i) * t + j] = i % 2 == 0 ? .infinity : 1e30
        } } }
        try forEachConfiguration(threads: [2]) { isa, _ in
            let expected = try Kernels.causalSoftmax(clean, scale: 0.5)
            let got = try Kernels.causalSoftmax(dirty, scale: 0.5)
            expectBitwiseEqual(got.values, expected.values, "probabilities with junk above the diagonal on \(isa)")
            let expectedGradient = try Kernels.causalSoftmaxBackward(upstream, probabilities: expected, scale: 0.5)
            let gotGradient = try Kernels.causalSoftmaxBackward(dirtyUpstream, probabilities: got, scale: 0.5)
            expectBitwiseEqual(gotGradient.values, expectedGradient.values, "gradient with junk above the diagonal on \(isa)")
        }
    }

    /// Probabilities of 8 MiB and more are streamed from a scratch row: the values must be the
    /// ones each plane gets on its own (cached, built in place), zeros above the diagonal included.
    /// T = 1021 leaves rows off the vector boundary, so the masked head and tail run too.
    @Test func streamedProbabilitiesEqualCachedOnes() throws {
        let (bh, t) = (3, 1021)  // 12.5 MB in all, 4.2 MB per plane
        var random = TestRandom(seed: 17)
        let scores = random.normals(bh * t * t, std: 3)
        let plane = t * t
        try forEachConfiguration(threads: [1, 2]) { isa, threads in
            let streamed = try Kernels.causalSoftmax(try Tensor(shape: [bh, t, t], values: scores), scale: 0.125).values
            for m in 0..<bh {
                let one = try Tensor(shape: [1, t, t], values: Array(scores[(m * plane)..<((m + 1) * plane)]))
                let cached = try Kernels.causalSoftmax(one, scale: 0.125).values
                expectBitwiseEqual(Array(streamed[(m * plane)..<((m + 1) * plane)]), cached,
                                   "plane \(m) streamed on \(isa), \(threads) threads")
            }
        }
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        let (bh, t) = (2, 7)
        let scale: Float = 0.7
        var random = TestRandom(seed: 3)
        let scores = random.normals(bh * t * t)
        let weights = random.normals(bh * t * t)
        let shape = [bh, t, t]
        try forEachConfiguration(threads: [1]) { isa, _ in
            let probs = try Kernels.causalSoftmax(try Tensor(shape: shape, values: scores), scale: scale)
            let analytic = try Kernels.causalSoftmaxBackward(try Tensor(shape: shape, values: weights),
                                                             probabilities: probs, scale: scale)
            try expectGradientMatchesFiniteDifferences("softmax ds on \(isa)", at: scores, analytic: analytic.values,
                                                       count: 40) { x in
                let p = try Kernels.causalSoftmax(try Tensor(shape: shape, values: x), scale: scale)
                return zip(p.values, weights).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            }
        }
    }

    @Test func threadCountDoesNotChangeResults() throws {
        let (bh, t) = (3, 90)
        var random = TestRandom(seed: 5)
        let scores = try Tensor(shape: [bh, t, t], values: random.normals(bh * t * t, std: 2))
        let upstream = try Tensor(shape: [bh, t, t], values: random.normals(bh * t * t))
        try expectThreadIndependent("causal softmax") {
            let probs = try Kernels.causalSoftmax(scores, scale: 0.125)
            let dscores = try Kernels.causalSoftmaxBackward(upstream, probabilities: probs, scale: 0.125)
            return [probs.values, dscores.values]
        }
    }

    /// The C backward writes all of dscores (junk there changes nothing) and may run in place,
    /// with dscores the same buffer as dprobs.
    @Test func backwardOverwritesAndRunsInPlace() throws {
        let (bh, t) = (2, 37)
        var random = TestRandom(seed: 9)
        let scores = random.normals(bh * t * t), upstream = random.normals(bh * t * t)
        let probs = try Kernels.causalSoftmax(try Tensor(shape: [bh, t, t], values: scores), scale: 1).values
        try forEachConfiguration(threads: [1, 2]) { isa, threads in
            var clean = [Float](repeating: 0, count: scores.count)
            swl_causal_softmax_backward(&clean, upstream, probs, Int32(bh), Int32(t), 1)
            var dirty = [Float](repeating: .nan, count: scores.count)
            swl_causal_softmax_backward(&dirty, upstream, probs, Int32(bh), Int32(t), 1)
            expectBitwiseEqual(dirty, clean, "backward over NaN on \(isa), \(threads) threads")
            var inPlace = upstream
            inPlace.withUnsafeMutableBufferPointer { buffer in
                swl_causal_softmax_backward(buffer.baseAddress, buffer.baseAddress, probs, Int32(bh), Int32(t), 1)
            }
            expectBitwiseEqual(inPlace, clean, "backward in place on \(isa), \(threads) threads")
        }
    }

    /// Score gradients of 8 MiB and more are streamed: the values must be the ones each plane gets
    /// on its own (cached), zeros above the diagonal included, out of place and in place.
    /// T = 1021 leaves rows off the vector boundary, so the masked head and tail run too.
    @Test func streamedGradientsEqualCachedOnes() throws {
        let (bh, t) = (3, 1021)  // 12.5 MB in all, 4.2 MB per plane
        var random = TestRandom(seed: 19)
        let probs = try Kernels.causalSoftmax(try Tensor(shape: [bh, t, t], values: random.normals(bh * t * t, std: 3)),
                                              scale: 0.125).values
        let upstream = random.normals(bh * t * t)
        let plane = t * t
        try forEachConfiguration(threads: [1, 2]) { isa, threads in
            var streamed = [Float](repeating: .nan, count: bh * plane)
            swl_causal_softmax_backward(&streamed, upstream, probs, Int32(bh), Int32(t), 0.125)
            var inPlace = upstream
            inPlace.withUnsafeMutableBufferPointer { buffer in
                swl_causal_softmax_backward(buffer.baseAddress, buffer.baseAddress, probs, Int32(bh), Int32(t), 0.125)
            }
            expectBitwiseEqual(inPlace, streamed, "streamed in place on \(isa), \(threads) threads")
            for m in 0..<bh {
                let range = (m * plane)..<((m + 1) * plane)
                var cached = [Float](repeating: .nan, count: plane)
                swl_causal_softmax_backward(&cached, Array(upstream[range]), Array(probs[range]), 1, Int32(t), 0.125)
                expectBitwiseEqual(Array(streamed[range]), cached, "plane \(m) streamed on \(isa), \(threads) threads")
            }
        }
    }

    /// The harness's traffic baselines move the data the kernels move: a masked copy of the lower
    /// triangle forward, its product with a second triangle backward, zeros above the diagonal,
    /// on every path. T = 37 leaves rows off the vector boundary.
    @Test func trafficBaselinesTouchTheTrianglesOnly() throws {
        let (bh, t) = (3, 37)
        var random = TestRandom(seed: 21)
        let input = random.normals(bh * t * t), a = random.normals(bh * t * t), b = random.normals(bh * t * t)
        try forEachConfiguration { isa, threads in
            var copy = [Float](repeating: .nan, count: input.count), c = copy
            swl_causal_softmax_traffic_forward(&copy, input, Int32(bh), Int32(t))
            swl_causal_softmax_traffic_backward(&c, a, b, Int32(bh), Int32(t))
            // In place (c = a), as the harness's bwd_in_place baseline runs it: the same values.
            var inPlace = a
            inPlace.withUnsafeMutableBufferPointer { buffer in
                swl_causal_softmax_traffic_backward(buffer.baseAddress, buffer.baseAddress, b, Int32(bh), Int32(t))
            }
            expectBitwiseEqual(inPlace, c, "in place on \(isa), \(threads) threads")
            for index in input.indices {
                let (i, j) = ((index / t) % t, index % t)
                let below = j <= i
                #expect(copy[index].bitPattern == (below ? input[index] : 0).bitPattern,
                        "copy at \(index) on \(isa), \(threads) threads")
                #expect(c[index].bitPattern == (below ? a[index] * b[index] : 0).bitPattern,
                        "product at \(index) on \(isa), \(threads) threads")
            }
        }
    }

    /// The rows-only baseline multiplies in place over each row's lower triangle (or whole rows)
    /// and leaves every other entry as it was, on every path.
    @Test func rowsTrafficTouchesItsRowsOnly() throws {
        let (bh, t) = (2, 37)
        var random = TestRandom(seed: 22)
        let a = random.normals(bh * t * t), b = random.normals(bh * t * t)
        try forEachConfiguration { isa, threads in
            for wholeRows in [false, true] {
                var product = a
                swl_causal_rows_traffic(&product, b, Int32(bh), Int32(t), wholeRows ? 1 : 0)
                for index in a.indices {
                    let (i, j) = ((index / t) % t, index % t)
                    let visited = wholeRows || j <= i
                    #expect(product[index].bitPattern == (visited ? a[index] * b[index] : a[index]).bitPattern,
                            "at \(index), whole rows \(wholeRows), on \(isa), \(threads) threads")
                }
            }
        }
    }

    @Test func rejectsBadShapes() throws {
        let square = try Tensor(zeros: [2, 3, 3])
        #expect(throws: KernelError.self) { try Kernels.causalSoftmax(try Tensor(zeros: [2, 3, 4]), scale: 1) }
        #expect(throws: KernelError.self) { try Kernels.causalSoftmax(try Tensor(zeros: [3]), scale: 1) }
        #expect(throws: KernelError.self) { try Kernels.causalSoftmax(try Tensor(zeros: [0, 3, 3]), scale: 1) }
        #expect(throws: KernelError.self) { try Kernels.causalSoftmax(try Tensor(zeros: [2, 0, 0]), scale: 1) }
        #expect(throws: KernelError.self) { try Kernels.causalSoftmax(square, scale: .nan) }
        #expect(throws: KernelError.self) {
            try Kernels.causalSoftmaxBackward(try Tensor(zeros: [2, 4, 4]), probabilities: square, scale: 1)
        }
    }

    private func aboveDiagonal(_ values: [Float], _ t: Int) -> [Float] {
        var result: [Float] = []
        for m in 0..<(values.count / (t * t)) { for i in 0..<t { for j in (i + 1)..<t {
            result.append(values[(m * t + i) * t + j])
        } } }
        return result
    }
}
