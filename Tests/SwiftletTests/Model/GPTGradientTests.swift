import Foundation
import Testing
@testable import Swiftlet

/// Finite-difference checks of the whole model's backward pass for every architecture variant,
/// and agreement between the naive and flash attention kernels.
@Suite("GPT gradients", .serialized) struct GPTGradientTests {
    static let variants: [(String, @Sendable (inout GPTConfig) -> Void)] = [
        ("pre-LN gelu_tanh learned tied", { _ in }),
        ("post-LN", { $0.normalization = .post }),
        ("relu", { $0.activation = .relu }),
        ("gelu_erf", { $0.activation = .geluErf }),
        ("sinusoidal", { $0.position = .sinusoidal }),
        ("rope", { $0.position = .rope }),
        ("untied", { $0.tieEmbeddings = false }),
        ("bias", { $0.bias = true }),
        ("attention-only", { $0.mlpHiddenSize = 0 }),
        ("position none", { $0.position = .none }),
        ("naive attention", { $0.attention = .naive }),
        ("post-LN rope bias untied attention-only", {
            $0.normalization = .post; $0.position = .rope; $0.bias = true; $0.tieEmbeddings = false; $0.mlpHiddenSize = 0
        }),
        ("dropout (inside flash)", { $0.dropout = 0.2 }),
        ("dropout naive", { $0.dropout = 0.2; $0.attention = .naive }),
        ("dropout post-LN rope bias", { $0.dropout = 0.3; $0.normalization = .post; $0.position = .rope; $0.bias = true }),
    ]

    @Test(arguments: variants.indices)
    func gradientsMatchFiniteDifferences(variant: Int) throws {
        let (label, change) = Self.variants[variant]
        let model = try GPT(config: try tinyConfig(change), seed: 5)
        randomizeParameters(model)
        let batch = randomBatch(vocabulary: 11, batch: 2, time: 7, ignoring: [3, 9])
        try expectModelGradientsMatchFiniteDifferences(label, model: model, batch: batch,
                                                       allowKinks: model.config.activation == .relu)
    }

    /// A backward with `gradients: .overwrite` leaves every float of the gradient buffer (slots,
    /// the LM head's padding rows, alignment gaps) as `zeroGradients()` and an accumulating pass
    /// do, bit for bit, whatever it held before (NaN here: a float read or left unwritten would
    /// show); an accumulating pass after it adds into it as before. On the tiny config (partial
    /// micro-tiles) and on one 48 wide (whole AVX-512 tiles in the weight products).
    @Test(arguments: variants.indices)
    func overwritingGradientsGivesTheBitsOfZeroingFirst(variant: Int) throws {
        let (label, change) = Self.variants[variant]
        let wide: @Sendable (inout GPTConfig) -> Void = { change(&$0); $0.embeddingSize = 48; $0.mlpHiddenSize = $0.hasMLP ? 96 : 0 }
        for (size, config) in [("tiny", try tinyConfig(change)), ("wide", try tinyConfig(wide))] {
            let model = try GPT(config: config, seed: 5)
            randomizeParameters(model)
            let batches = [randomBatch(vocabulary: 11, batch: 2, time: 7, ignoring: [3, 9]),
                           randomBatch(vocabulary: 11, batch: 2, time: 7, seed: 4)]
            func twoPasses(firstWrite: GradientWrite) throws -> [Float] {
                model.dropoutPassCount = 0
                for (index, batch) in batches.enumerated() {
                    _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                                          sequenceLength: batch.sequenceLength, mode: .training)
                    try model.backward(lossScale: 0.5, gradients: index == 0 ? firstWrite : .accumulate)
                }
                return model.gradients.withUnsafeMutableBufferPointer { Array($0) }
            }
            model.zeroGradients()
            let zeroedFirst = try twoPasses(firstWrite: .accumulate)
            let finite = zeroedFirst.allSatisfy { $0.isFinite }
            #expect(finite, "\(label) \(size): gradients not finite")
            model.gradients.withUnsafeMutableBufferPointer { $0.update(repeating: .nan) }
            let overwritten = try twoPasses(firstWrite: .overwrite)
            expectBitwiseEqual(overwritten, zeroedFirst, "\(label) \(size): overwriting vs zeroing first")
        }
    }

    /// The backward writes the scratch it no longer clears before it reads it: a pass over scratch
    /// full of NaN gives the bits of a pass over fresh (zeroed) scratch, in every variant, on the
    /// tiny config and on one 48 wide.
    @Test(arguments: variants.indices)
    func backwardWritesItsScratchBeforeReadingIt(variant: Int) throws {
        let (label, change) = Self.variants[variant]
        let wide: @Sendable (inout GPTConfig) -> Void = { change(&$0); $0.embeddingSize = 48; $0.mlpHiddenSize = $0.hasMLP ? 96 : 0 }
        let batch = randomBatch(vocabulary: 11, batch: 2, time: 7, ignoring: [3, 9])
        for (size, config) in [("tiny", try tinyConfig(change)), ("wide", try tinyConfig(wide))] {
            func gradients(scratch: Float?) throws -> [Float] {
                let model = try GPT(config: config, seed: 5)
                randomizeParameters(model)
                _ = try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                                      sequenceLength: batch.sequenceLength, mode: .training)
                if let scratch { model.fillBackwardScratch(with: scratch, batch: batch.batchSize, time: batch.sequenceLength) }
                model.zeroGradients()
                try model.backward()
                return model.gradients.withUnsafeMutableBufferPointer { Array($0) }
            }
            let fresh = try gradients(scratch: nil)
            let finite = fresh.allSatisfy { $0.isFinite }
            #expect(finite, "\(label) \(size): gradients not finite")
            expectBitwiseEqual(try gradients(scratch: .nan), fresh, "\(label) \(size): scratch of NaN vs fresh scratch")
        }
    }

    @Test(arguments: variants.indices)
    func logitsMatchAnIndependentFloat64Forward(variant: Int) throws {
        let (label, change) = Self.variants[variant]
        let model = try GPT(config: try tinyConfig(change), seed: 5)
        randomizeParameters(model)
        let tokens = randomBatch(vocabulary: 11, batch: 1, time: 8).inputs
        try model.forward(tokens: tokens, batchSize: 1, sequenceLength: 8, mode: .evaluation)
        let reference = ReferenceGPT(config: model.config, parameters: model.parameters).logits(tokens)
        expectClose(try model.logits().values, reference.joined().map { Float($0) }, atol: 2e-4, "\(label): logits")
    }

    /// Builds the model of `change` twice, with flash and with naive attention, from the same
    /// seed and randomized parameters, and checks one training pass gives both the same loss and
    /// gradients. Returns the flash model, the batch and its loss.
    @discardableResult
    private func expectFlashAndNaiveAgree(_ label: String, time: Int, batchSize: Int,
                                          _ change: @escaping (inout GPTConfig) -> Void) throws -> (GPT, TrainingBatch, Float) {
        let flash = try GPT(config: try tinyConfig { change(&$0); $0.blockSize = time }, seed: 9)
        let naive = try GPT(config: try tinyConfig { change(&$0); $0.blockSize = time; $0.attention = .naive }, seed: 9)
        randomizeParameters(flash)
        randomizeParameters(naive)
        let batch = randomBatch(vocabulary: 11, batch: batchSize, time: time)
        let (lossF, gradF) = try lossAndGradients(flash, batch)
        let (lossN, gradN) = try lossAndGradients(naive, batch)
        #expect(flash.lastAttentionKernel == .flash && naive.lastAttentionKernel == .naive)
        #expect(abs(lossF - lossN) <= 1e-5 * abs(lossN), "\(label): loss")
        let scale = gradN.map(abs).max() ?? 1
        expectClose(gradF, gradN, atol: 1e-5 * scale, "flash vs naive gradients (\(label))")
        return (flash, batch, lossF)
    }

    @Test func naiveAndFlashGiveTheSameLossAndGradients() throws {
        for position in [GPTConfig.PositionEncoding.learned, .rope] {
            try expectFlashAndNaiveAgree("\(position)", time: 24, batchSize: 3) { $0.position = position }
        }
    }

    @Test func dropoutKeepsTheConfiguredKernel() throws {
        for attention in AttentionKernel.allCases {
            let model = try GPT(config: try tinyConfig { $0.dropout = 0.1; $0.attention = attention }, seed: 1)
            for mode in [ForwardMode.training, .evaluation, .inference] {
                #expect(model.effectiveAttentionKernel(for: mode) == attention)
            }
            let batch = randomBatch(vocabulary: 11, batch: 2, time: 8)
            try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: 2, sequenceLength: 8)
            #expect(model.lastAttentionKernel == attention)
        }
    }

    /// Attention dropout inside the flash kernel draws the mask the materialized path draws, so
    /// with the same seed the two configurations train the same model.
    @Test func flashAndNaiveDropTheSameAttentionProbabilities() throws {
        for position in [GPTConfig.PositionEncoding.learned, .rope] {
            let (flash, batch, loss) = try expectFlashAndNaiveAgree("dropout, \(position)", time: 70, batchSize: 2) {
                $0.position = position; $0.dropout = 0.3
            }
            // and not merely because dropout was off: the loss differs from an evaluation pass
            let evaluation = try flash.forward(tokens: batch.inputs, targets: batch.targets, batchSize: 2,
                                               sequenceLength: 70, mode: .evaluation)!
            #expect(abs(loss - evaluation) > 1e-3)
        }
    }

    @Test func dropoutIsSeededAndOffInEvaluation() throws {
        let withDropout = try GPT(config: try tinyConfig { $0.dropout = 0.3 }, seed: 2)
        let without = try GPT(config: try tinyConfig(), seed: 2)
        let batch = randomBatch(vocabulary: 11, batch: 2, time: 8)
        func loss(_ model: GPT, _ mode: ForwardMode) throws -> Float {
            try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: 2, sequenceLength: 8, mode: mode)!
        }
        // Same initialization, and evaluation ignores dropout.
        #expect(try loss(withDropout, .evaluation) == loss(without, .evaluation))
        #expect(withDropout.dropoutPassCount == 0)
        let first = try loss(withDropout, .training)
        let second = try loss(withDropout, .training)
        #expect(withDropout.dropoutPassCount == 2)
        #expect(first != second, "each training pass draws new masks")
        #expect(first != (try loss(without, .training)))
        withDropout.dropoutPassCount = 0
        #expect(try loss(withDropout, .training) == first, "restoring the counter replays the masks")
    }
}
