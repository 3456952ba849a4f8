import Foundation
import Testing
import Swiftlet

@Suite("Embedding kernels", .serialized) struct EmbeddingTests {
    @Test func goldenOnEveryPath() throws {
        let golden = try Golden("embedding")
        for name in golden.caseNames {
            let c = golden.case(name)
            let ids = try c.int32s("idx"), wte = try c.tensor("wte"), wpe = try c.tensor("wpe"), dout = try c.tensor("dout")
            let (batch, time) = (c.shape("idx")[0], c.shape("idx")[1])
            try forEachConfiguration { _, _ in
                let out = try Kernels.embedding(ids: ids, batch: batch, time: time, tokenTable: wte, positionTable: wpe)
                try c.expectClose(out.values, "out")
                let grads = try Kernels.embeddingBackward(
                    outputGradient: dout, ids: ids, vocabularySize: wte.shape[0], positionRows: wpe.shape[0])
                try c.expectClose(grads.tokenTable.values, "dwte")
                try c.expectClose(grads.positionTable?.values ?? [], "dwpe")
            }
        }
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var random = TestRandom(seed: 41)
        let (batch, time, vocabulary, channels) = (2, 5, 4, 6)
        let ids: [Int32] = [0, 3, 3, 1, 0, 3, 3, 2, 0, 0]  // repeats on purpose; id 3 is repeated 4 times
        let wte = try Tensor(shape: [vocabulary, channels], values: random.normals(vocabulary * channels))
        let wpe = try Tensor(shape: [7, channels], values: random.normals(7 * channels))
        let probe = random.normals(batch * time * channels)
        let grads = try Kernels.embeddingBackward(
            outputGradient: Tensor(shape: [batch, time, channels], values: probe), ids: ids,
            vocabularySize: vocabulary, positionRows: 7)
        try expectGradientMatchesFiniteDifferences("dwte", at: wte.values, analytic: grads.tokenTable.values) {
            try dot(Kernels.embedding(ids: ids, batch: batch, time: time,
                                      tokenTable: Tensor(shape: wte.shape, values: $0), positionTable: wpe).values, probe)
        }
        try expectGradientMatchesFiniteDifferences("dwpe", at: wpe.values, analytic: grads.positionTable!.values) {
            try dot(Kernels.embedding(ids: ids, batch: batch, time: time,
                                      tokenTable: wte, positionTable: Tensor(shape: wpe.shape, values: $0)).values, probe)
        }
        #expect(grads.positionTable!.values[(time * channels)...].allSatisfy { $0 == 0 }, "rows t ≥ T stay 0")
    }

    @Test func withoutPositionTable() throws {
        let wte = try Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        let out = try Kernels.embedding(ids: [2, 0, 2], batch: 1, time: 3, tokenTable: wte, positionTable: nil)
        #expect(out.values == [5, 6, 1, 2, 5, 6])
        let grads = try Kernels.embeddingBackward(outputGradient: out, ids: [2, 0, 2], vocabularySize: 3, positionRows: nil)
        #expect(grads.tokenTable.values == [1, 2, 0, 0, 10, 12])
        #expect(grads.positionTable == nil)
    }

    @Test func sinusoidalTableMatchesFormula() throws {
        let (length, channels) = (50, 33)  // odd C: the last column is a lone sine
        let table = try Kernels.sinusoidalTable(length: length, channels: channels, base: 10_000)
        var worst = 0.0
        for t in 0..<length {
            for c in 0..<channels {
                let angle = Double(t) / pow(10_000, Double(c - c % 2) / Double(channels))
                let expected = c % 2 == 0 ? sin(angle) : cos(angle)
                worst = max(worst, abs(expected - Double(table.values[t * channels + c])))
            }
        }
        #expect(worst < 1e-7, "sinusoidal table max error \(worst)")
        #expect(table.values[0] == 0 && table.values[1] == 1)
    }

    @Test func ropeIsARotationWithPositionOffset() throws {
        var random = TestRandom(seed: 42)
        let (b, h, t, hs) = (2, 3, 9, 8)
        let x = try Tensor(shape: [b, h, t, hs], values: random.normals(b * h * t * hs))
        try forEachConfiguration(threads: [1]) { isa, _ in
            let y = try Kernels.rope(x, base: 10_000, positionOffset: 0)
            // Position 0 is not rotated; norms of pairs are preserved.
            for row in 0..<(b * h) {
                let o = row * t * hs
                expectBitwiseEqual(Array(y.values[o..<(o + hs)]), Array(x.values[o..<(o + hs)]), "t = 0 on \(isa)")
            }
            for pair in stride(from: 0, to: x.count, by: 2) {
                let before = x.values[pair] * x.values[pair] + x.values[pair + 1] * x.values[pair + 1]
                let after = y.values[pair] * y.values[pair] + y.values[pair + 1] * y.values[pair + 1]
                #expect(abs(before - after) <= 1e-5 * max(1, before))
            }
            // The backward is the inverse rotation: backward(forward(x)) = x.
            let back = try Kernels.ropeBackward(outputGradient: y, base: 10_000, positionOffset: 0)
            expectClose(back.values, x.values, atol: 1e-6, "rope backward ∘ forward on \(isa)")
            // A direct check of one pair: t = 5, i = 1 rotates by 5·10000^(−2/8).
            let angle = 5 * pow(10_000.0, -2.0 / 8.0)
            let (x0, x1) = (Double(x.values[5 * hs + 2]), Double(x.values[5 * hs + 3]))
            expectClose([y.values[5 * hs + 2], y.values[5 * hs + 3]],
                        [Float(x0 * cos(angle) - x1 * sin(angle)), Float(x0 * sin(angle) + x1 * cos(angle))],
                        atol: 1e-6, "rope pair on \(isa)")
            // Offset k on positions 0…T−1 equals positions k…k+T−1 of a longer sequence.
            let k = 4
            var long = [Float](repeating: 0, count: b * h * (t + k) * hs)
            for row in 0..<(b * h) {
                for time in 0..<t {
                    for d in 0..<hs { long[(row * (t + k) + time + k) * hs + d] = x.values[(row * t + time) * hs + d] }
                }
            }
            let longOut = try Kernels.rope(Tensor(shape: [b, h, t + k, hs], values: long))
            let shifted = try Kernels.rope(x, positionOffset: k)
            for row in 0..<(b * h) {
                let got = Array(shifted.values[(row * t * hs)..<((row + 1) * t * hs)])
                let want = Array(longOut.values[((row * (t + k) + k) * hs)..<((row + 1) * (t + k) * hs)])
                expectBitwiseEqual(got, want, "position offset on \(isa)")
            }
        }
    }

    @Test func ropeBackwardMatchesFiniteDifferences() throws {
        var random = TestRandom(seed: 43)
        let shape = [1, 2, 5, 6]
        let x = random.normals(60)
        let probe = random.normals(60)
        let analytic = try Kernels.ropeBackward(outputGradient: Tensor(shape: shape, values: probe), positionOffset: 3)
        try expectGradientMatchesFiniteDifferences("rope", at: x, analytic: analytic.values) {
            try dot(Kernels.rope(Tensor(shape: shape, values: $0), positionOffset: 3).values, probe)
        }
    }

    @Test func threadIndependent() throws {
        var random = TestRandom(seed: 44)
        let (batch, time, vocabulary, channels) = (8, 64, 50, 200)
        let ids = (0..<(batch * time)).map { _ in Int32(random.int(below: vocabulary)) }
        let wte = try Tensor(shape: [vocabulary, channels], values: random.normals(vocabulary * channels))
        let wpe = try Tensor(shape: [time, channels], values: random.normals(time * channels))
        let dout = try Tensor(shape: [batch, time, channels], values: random.normals(batch * time * channels))
        let heads = try Tensor(shape: [2, 4, 64, 32], values: random.normals(2 * 4 * 64 * 32))
        try expectThreadIndependent("embedding") {
            let out = try Kernels.embedding(ids: ids, batch: batch, time: time, tokenTable: wte, positionTable: wpe)
            let grads = try Kernels.embeddingBackward(outputGradient: dout, ids: ids, vocabularySize: vocabulary, positionRows: time)
            return [out.values, grads.tokenTable.values, grads.positionTable!.values,
                    try Kernels.sinusoidalTable(length: 300, channels: 64).values,
                    try Kernels.rope(heads, positionOffset: 7).values,
                    try Kernels.ropeBackward(outputGradient: heads, positionOffset: 7).values]
        }
    }

    @Test func rejectsBadInput() throws {
        let wte = try Tensor(zeros: [10, 4]), wpe = try Tensor(zeros: [3, 4])
        #expect(throws: KernelError.self) { try Kernels.embedding(ids: [0, 10], batch: 1, time: 2, tokenTable: wte, positionTable: wpe) }
        #expect(throws: KernelError.self) { try Kernels.embedding(ids: [0, -1], batch: 1, time: 2, tokenTable: wte, positionTable: wpe) }
        #expect(throws: KernelError.self) { try Kernels.embedding(ids: [0, 1, 2], batch: 1, time: 2, tokenTable: wte, positionTable: wpe) }
        #expect(throws: KernelError.self) { try Kernels.embedding(ids: [], batch: 0, time: 2, tokenTable: wte, positionTable: wpe) }
        #expect(throws: KernelError.self) {
            try Kernels.embedding(ids: [0, 1, 2, 3], batch: 1, time: 4, tokenTable: wte, positionTable: wpe)  // wpe too short
        }
        #expect(throws: KernelError.self) {
            try Kernels.embedding(ids: [0], batch: 1, time: 1, tokenTable: wte, positionTable: Tensor(zeros: [3, 5]))
        }
        #expect(throws: KernelError.self) {
            try Kernels.embeddingBackward(outputGradient: Tensor(zeros: [1, 2, 4]), ids: [0, 12], vocabularySize: 10, positionRows: 3)
        }
        #expect(throws: KernelError.self) {
            try Kernels.embeddingBackward(outputGradient: Tensor(zeros: [1, 2, 4]), ids: [0, 1], vocabularySize: 10, positionRows: 1)
        }
        #expect(throws: KernelError.self) { try Kernels.rope(Tensor(zeros: [1, 1, 2, 5])) }
        #expect(throws: KernelError.self) { try Kernels.rope(Tensor(zeros: [1, 2, 4])) }
        #expect(throws: KernelError.self) { try Kernels.rope(Tensor(zeros: [1, 1, 2, 4]), positionOffset: -1) }
        #expect(throws: KernelError.self) { try Kernels.ropeBackward(outputGradient: Tensor(zeros: [1, 1, 2, 3])) }
        #expect(throws: KernelError.self) { try Kernels.sinusoidalTable(length: 0, channels: 4) }
    }
}
