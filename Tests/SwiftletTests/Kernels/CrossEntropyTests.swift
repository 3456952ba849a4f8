import Foundation
import Testing
import Swiftlet
import SwiftletKernels

@Suite("Cross-entropy kernels", .serialized) struct CrossEntropyTests {
    @Test func goldenOnEveryPath() throws {
        let golden = try Golden("crossentropy")
        for name in golden.caseNames {
            let c = golden.case(name)
            let logits = try c.tensor("logits"), targets = try c.int32s("targets")
            try forEachConfiguration { _, _ in
                let forward = try Kernels.crossEntropy(logits: logits, targets: targets)
                try c.expectClose([forward.loss], "loss")
                try c.expectClose(forward.losses.values, "losses")
                let dlogits = try Kernels.crossEntropyBackward(logits: logits, logSumExp: forward.logSumExp, targets: targets)
                try c.expectClose(dlogits.values, "dlogits")
            }
        }
    }

    @Test func backwardMatchesFiniteDifferences() throws {
        var random = TestRandom(seed: 31)
        let (rows, vocabulary) = (4, 23)
        let logits = try Tensor(shape: [rows, vocabulary], values: random.normals(rows * vocabulary, std: 2))
        let targets: [Int32] = [3, -1, 22, 0]
        try forEachConfiguration(threads: [1]) { isa, _ in
            let forward = try Kernels.crossEntropy(logits: logits, targets: targets)
            let analytic = try Kernels.crossEntropyBackward(
                logits: logits, logSumExp: forward.logSumExp, targets: targets, lossGradient: 1.5).values
            try expectGradientMatchesFiniteDifferences("cross-entropy \(isa)", at: logits.values, analytic: analytic,
                                                        epsilon: 1e-2, atol: 1e-4, count: 40) {
                1.5 * Double(try Kernels.crossEntropy(logits: Tensor(shape: logits.shape, values: $0), targets: targets).loss)
            }
            // The ignored row gets exactly zero gradient.
            #expect(analytic[vocabulary..<(2 * vocabulary)].allSatisfy { $0 == 0 })
        }
    }

    /// Logits with a padded row stride give the unpadded results and leave the padding alone.
    @Test func paddedVocabulary() throws {
        var random = TestRandom(seed: 32)
        let (rows, vocabulary, padded) = (9, 50, 64)
        let tight = random.normals(rows * vocabulary, std: 3)
        var wide = [Float](repeating: .nan, count: rows * padded)  // padding is never read
        for r in 0..<rows { for j in 0..<vocabulary { wide[r * padded + j] = tight[r * vocabulary + j] } }
        let targets = (0..<rows).map { Int32($0 == 4 ? -1 : ($0 * 7) % vocabulary) }
        try forEachConfiguration(threads: [1]) { isa, _ in
            let plain = try Kernels.crossEntropy(logits: Tensor(shape: [rows, vocabulary], values: tight), targets: targets)
            let padLogits = try Tensor(shape: [rows, padded], values: wide)
            let pad = try Kernels.crossEntropy(logits: padLogits, targets: targets, vocabularySize: vocabulary)
            #expect(plain.loss == pad.loss, "\(isa)")
            expectBitwiseEqual(plain.losses.values, pad.losses.values, "losses with padding on \(isa)")
            let dPlain = try Kernels.crossEntropyBackward(
                logits: Tensor(shape: [rows, vocabulary], values: tight), logSumExp: plain.logSumExp, targets: targets)
            let dPad = try Kernels.crossEntropyBackward(
                logits: padLogits, logSumExp: pad.logSumExp, targets: targets, vocabularySize: vocabulary)
            for r in 0..<rows {
                expectBitwiseEqual(Array(dPad.values[(r * padded)..<(r * padded + vocabulary)]),
                                   Array(dPlain.values[(r * vocabulary)..<((r + 1) * vocabulary)]), "row \(r) on \(isa)")
                #expect(dPad.values[(r * padded + vocabulary)..<((r + 1) * padded)].allSatisfy { $0 == 0 })
            }
        }
    }

    /// The backward overwrites dlogits (the model no longer clears it first): a buffer full of NaN
    /// comes out as the gradient, with 0 on the padding and on ignored rows, bitwise what the
    /// wrapper returns, both below and above the size that is written with streaming stores.
    @Test(arguments: [(5, 50, 64), (44, 50_257, 50_304)])
    func backwardOverwritesItsOutput(rows: Int, vocabulary: Int, padded: Int) throws {
        var random = TestRandom(seed: 35)
        let logits = try Tensor(shape: [rows, padded], values: random.normals(rows * padded, std: 3))
        let targets = (0..<rows).map { Int32($0 % 4 == 1 ? -1 : ($0 * 7919) % vocabulary) }
        try forEachConfiguration(threads: [1, 2, 3]) { isa, threads in
            let forward = try Kernels.crossEntropy(logits: logits, targets: targets, vocabularySize: vocabulary)
            let expected = try Kernels.crossEntropyBackward(
                logits: logits, logSumExp: forward.logSumExp, targets: targets, vocabularySize: vocabulary, lossGradient: 0.5)
            var dlogits = [Float](repeating: .nan, count: rows * padded)
            swl_crossentropy_backward(&dlogits, logits.values, forward.logSumExp.values, targets, Int32(rows),
                                      Int32(vocabulary), Int32(padded), 0.5)
            expectBitwiseEqual(dlogits, expected.values, "\(rows)×\(padded) on \(isa), \(threads) threads")
            // Row 1 is ignored: +0 throughout; the padding of row 0 is 0.
            #expect(dlogits[padded..<(2 * padded)].allSatisfy { $0 == 0 && $0.sign == .plus })
            #expect(dlogits[(padded - 3)..<padded].allSatisfy { $0 == 0 })
        }
    }

    @Test func stableForLargeLogits() throws {
        let logits = try Tensor(shape: [2, 4], values: [1000, -1000, 999, 0, -90, -90, -90, -90])
        try forEachConfiguration(threads: [1]) { isa, _ in
            let forward = try Kernels.crossEntropy(logits: logits, targets: [2, 1])
            let expected0 = Float(1.3132616875182228)  // 1000 + log(1 + e⁻¹ + …) − 999; lse ≈ 1000 has ulp 6e-5
            expectClose(forward.losses.values, [expected0, 1.3862944], atol: 1e-4, "large logits on \(isa)")
            let d = try Kernels.crossEntropyBackward(logits: logits, logSumExp: forward.logSumExp, targets: [2, 1])
            #expect(d.values.allSatisfy { $0.isFinite })
        }
    }

    /// The forward sums each block against the largest logit before it and rebases when that
    /// grows: rows whose largest logit comes late, rises block after block, jumps by far more than
    /// exp's range, or follows a −∞ (masked) first logit, against log-sum-exp in double.
    @Test func logSumExpWhenTheLargestLogitComesLate() throws {
        var random = TestRandom(seed: 34)
        let vocabulary = 5000  // several blocks of the row kernel
        var rows = [[Float]]()
        var late = random.normals(vocabulary, std: 1)
        late[0] = -200
        late[3500] = 50
        rows.append(late)
        rows.append((0..<vocabulary).map { Float($0) * 0.01 })
        var jump = random.normals(vocabulary, std: 1)
        jump[2100] = 500
        rows.append(jump)
        var masked = random.normals(vocabulary, std: 3)
        masked[0] = -.infinity
        rows.append(masked)
        let logits = try Tensor(shape: [rows.count, vocabulary], values: rows.flatMap { $0 })
        let expected = rows.map { row -> Float in
            let top = Double(row.max()!)
            return Float(top + Foundation.log(row.reduce(0.0) { $0 + Foundation.exp(Double($1) - top) }))
        }
        try forEachConfiguration(threads: [1, 2]) { isa, threads in
            let forward = try Kernels.crossEntropy(logits: logits, targets: [1, 2, 3, 4])
            for (r, (got, want)) in zip(forward.logSumExp.values, expected).enumerated() {
                #expect(abs(got - want) <= 2e-6 * max(1, abs(want)), "row \(r) on \(isa), \(threads) threads: \(got) vs \(want)")
            }
            let d = try Kernels.crossEntropyBackward(logits: logits, logSumExp: forward.logSumExp, targets: [1, 2, 3, 4])
            #expect(d.values.allSatisfy { $0.isFinite }, "\(isa)")
        }
    }

    @Test func threadIndependent() throws {
        var random = TestRandom(seed: 33)
        let (rows, vocabulary, padded) = (37, 5003, 5008)
        let logits = try Tensor(shape: [rows, padded], values: random.normals(rows * padded, std: 4))
        let targets = (0..<rows).map { Int32($0 % 5 == 0 ? -1 : random.int(below: vocabulary)) }
        try expectThreadIndependent("cross-entropy") {
            let forward = try Kernels.crossEntropy(logits: logits, targets: targets, vocabularySize: vocabulary)
            let d = try Kernels.crossEntropyBackward(
                logits: logits, logSumExp: forward.logSumExp, targets: targets, vocabularySize: vocabulary)
            return [[forward.loss], forward.losses.values, forward.logSumExp.values, d.values]
        }
    }

    @Test func rejectsBadInput() throws {
        let logits = try Tensor(zeros: [3, 10])
        #expect(throws: KernelError.self) { try Kernels.crossEntropy(logits: logits, targets: [0, 1]) }
        #expect(throws: KernelError.self) { try Kernels.crossEntropy(logits: logits, targets: [0, 1, 10]) }
        #expect(throws: KernelError.self) { try Kernels.crossEntropy(logits: logits, targets: [0, -2, 1]) }
        #expect(throws: KernelError.self) { try Kernels.crossEntropy(logits: logits, targets: [0, 9, 1], vocabularySize: 9) }
        #expect(throws: KernelError.self) { try Kernels.crossEntropy(logits: logits, targets: [0, 1, 2], vocabularySize: 11) }
        #expect(throws: KernelError.self) { try Kernels.crossEntropy(logits: Tensor(zeros: [0, 10]), targets: []) }
        #expect(throws: KernelError.self) {
            try Kernels.crossEntropyBackward(logits: logits, logSumExp: Tensor(zeros: [2]), targets: [0, 1, 2])
        }
    }
}
