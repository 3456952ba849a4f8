import Foundation
import Testing
import Swiftlet

@Suite("GPT training", .serialized) struct GPTTrainingTests {
    @Test func smallModelOverfitsOneBatch() throws {
        let config = try GPTConfig(vocabularySize: 32, blockSize: 16, layerCount: 2, headCount: 4, embeddingSize: 32,
                                   bias: false, vocabularyPaddingMultiple: 64)
        let model = try GPT(config: config, seed: 42)
        let batch = randomBatch(vocabulary: 32, batch: 2, time: 16, seed: 8, ignoring: [])
        let trainer = try Trainer(model: model, optimizer: AdamW(model: model, weightDecay: 0),
                                  schedule: .constant(1e-2), maxGradientNorm: 1)
        let first = try trainer.step(batch: batch)
        #expect(abs(first.loss - log(32)) < 0.2, "initial loss near ln(V), got \(first.loss)")
        var last = first
        for _ in 0..<250 { last = try trainer.step(batch: batch) }
        #expect(try trainer.evaluate(batch) < 0.02, "loss after 250 steps: \(last.loss)")
    }

    @Test func lossesAndGradientsAreThreadIndependent() throws {
        for dropout: Float in [0, 0.2] {
            for attention in AttentionKernel.allCases {
                let batch = randomBatch(vocabulary: 11, batch: 3, time: 8)
                try expectThreadIndependent("dropout \(dropout) \(attention)") {
                    let model = try GPT(config: try tinyConfig { $0.dropout = dropout; $0.attention = attention; $0.bias = true },
                                        seed: 4)
                    randomizeParameters(model)
                    let (loss, gradients) = try lossAndGradients(model, batch)
                    let trainer = try Trainer(model: model, schedule: .constant(1e-3))
                    let step = try trainer.step(batch: batch)
                    let parameters = model.parameters.withUnsafeMutableBufferPointer { Array($0) }
                    return [[loss], gradients, [step.loss, step.gradientNorm], parameters]
                }
            }
        }
    }

    @Test func gradientAccumulationMatchesOneLargeBatch() throws {
        let config = try tinyConfig()
        let whole = randomBatch(vocabulary: 11, batch: 2, time: 8, ignoring: [])
        let halves = [0, 1].map { b in
            TrainingBatch(inputs: Array(whole.inputs[(b * 8)..<(b * 8 + 8)]), targets: Array(whole.targets[(b * 8)..<(b * 8 + 8)]),
                          batchSize: 1, sequenceLength: 8)
        }
        let big = try GPT(config: config, seed: 6), small = try GPT(config: config, seed: 6)
        let bigTrainer = try Trainer(model: big, schedule: .constant(1e-2))
        let smallTrainer = try Trainer(model: small, schedule: .constant(1e-2), gradientAccumulation: 2)
        for _ in 0..<3 {
            let a = try bigTrainer.step(batch: whole)
            var next = 0
            let b = try smallTrainer.step { defer { next += 1 }; return halves[next % 2] }
            #expect(abs(a.loss - b.loss) < 1e-5)
            #expect(abs(a.gradientNorm - b.gradientNorm) < 1e-5)
        }
        expectClose(small.parameters.withUnsafeMutableBufferPointer { Array($0) },
                    big.parameters.withUnsafeMutableBufferPointer { Array($0) }, atol: 1e-5, "accumulated vs whole batch")
    }

    @Test func resumingFromSavedStateReplaysTrainingBitForBit() throws {
        let config = try tinyConfig { $0.dropout = 0.2 }
        let batch = randomBatch(vocabulary: 11, batch: 2, time: 8)
        let schedule = LearningRateSchedule.warmupCosine(maxLR: 1e-2, minLR: 1e-3, warmupSteps: 2, decaySteps: 6)
        let model = try GPT(config: config, seed: 12)
        let trainer = try Trainer(model: model, schedule: schedule, gradientAccumulation: 2)
        for _ in 0..<2 { try trainer.step(batch: batch) }

        // What a checkpoint saves: parameters, moments, step, dropout seed and pass counter.
        let resumed = try GPT(config: config, seed: 99, randomInitialization: false)
        try resumed.parameters.copy(from: model.parameters)
        resumed.dropoutSeed = model.dropoutSeed
        resumed.dropoutPassCount = model.dropoutPassCount
        let optimizer = AdamW(model: resumed)
        try optimizer.firstMoment.copy(from: trainer.optimizer.firstMoment)
        try optimizer.secondMoment.copy(from: trainer.optimizer.secondMoment)
        optimizer.step = trainer.optimizer.step
        let resumedTrainer = try Trainer(model: resumed, optimizer: optimizer, schedule: schedule, gradientAccumulation: 2)

        for step in 3...5 {
            let a = try trainer.step(batch: batch), b = try resumedTrainer.step(batch: batch)
            #expect(a == b, "step \(step)")
            #expect(a.step == step && a.learningRate == schedule(step - 1))
        }
        expectBitwiseEqual(model.parameters.withUnsafeMutableBufferPointer { Array($0) },
                           resumed.parameters.withUnsafeMutableBufferPointer { Array($0) }, "parameters after resuming")
    }

    @Test func warmupCosineMatchesNanoGPTGetLR() {
        let schedule = LearningRateSchedule.warmupCosine(maxLR: 6e-4, minLR: 6e-5, warmupSteps: 10, decaySteps: 100)
        func nanoGPT(_ it: Int) -> Double {
            if it < 10 { return 6e-4 * Double(it + 1) / 11 }
            if it > 100 { return 6e-5 }
            let ratio = Double(it - 10) / 90
            return 6e-5 + 0.5 * (1 + cos(.pi * ratio)) * (6e-4 - 6e-5)
        }
        for it in [0, 1, 5, 9, 10, 11, 40, 55, 99, 100, 101, 5000] {
            #expect(abs(Double(schedule(it)) - nanoGPT(it)) <= 1e-10, "step \(it)")
        }
        #expect(abs(schedule(0) - 6e-4 / 11) < 1e-10)
        #expect(schedule(10) == 6e-4)
        #expect(abs(schedule(55) - 3.3e-4) < 1e-9)
        #expect(schedule(100) == 6e-5 && schedule(101) == 6e-5)
        #expect(LearningRateSchedule.constant(3e-4)(12345) == 3e-4)
        #expect(throws: ModelError.self) { try LearningRateSchedule.constant(-1).validate() }
    }

    @Test func clipMatchesGoldenThroughParameterStore() throws {
        let golden = try Golden("clip")
        for name in golden.caseNames {
            let c = golden.case(name)
            let layout = try ParameterLayout(["g0", "g1", "g2"].map { ($0, c.shape($0)) })
            let store = ParameterStore(layout: layout)
            for slot in store.slots { try store.setTensor(try c.tensor(slot.name), named: slot.name) }
            let norm = store.clipGlobalNorm(maxNorm: 1)
            try c.expectClose([norm], "total_norm")
            for slot in store.slots { try c.expectClose(try store.tensor(named: slot.name).values, slot.name + "_out") }
        }
    }

    /// The Trainer applies clipping's factor inside AdamW instead of scaling the gradients
    /// first: the update must be the same, bit for bit, whether the factor is below 1 or not.
    @Test(arguments: [Float(0.5), 1e6]) func clippingInsideAdamWEqualsClippingFirst(maxNorm: Float) throws {
        let config = try tinyConfig { $0.bias = true }
        let (first, inside) = (try GPT(config: config, seed: 3), try GPT(config: config, seed: 3))
        var random = TestRandom(seed: 5)
        let (optimizerFirst, optimizerInside) = (AdamW(model: first), AdamW(model: inside))
        for _ in 0..<2 {
            let gradients = random.normals(first.gradients.count)
            for model in [first, inside] {
                model.gradients.withUnsafeMutableBufferPointer { buffer in
                    for index in buffer.indices { buffer[index] = gradients[index] }
                }
            }
            let norm = first.gradients.clipGlobalNorm(maxNorm: maxNorm)
            try optimizerFirst.update(parameters: first.parameters, gradients: first.gradients, learningRate: 1e-2)
            let (insideNorm, factor) = inside.gradients.clippingFactor(maxNorm: maxNorm)
            #expect(insideNorm == norm)
            #expect(maxNorm < 1 ? factor < 1 : factor == 1)
            try optimizerInside.update(parameters: inside.parameters, gradients: inside.gradients, learningRate: 1e-2,
                                       gradientScale: factor)
        }
        let values = { (store: ParameterStore) in store.withUnsafeMutableBufferPointer { Array($0) } }
        expectBitwiseEqual(values(inside.parameters), values(first.parameters), "parameters")
        expectBitwiseEqual(values(optimizerInside.firstMoment), values(optimizerFirst.firstMoment), "m")
        expectBitwiseEqual(values(optimizerInside.secondMoment), values(optimizerFirst.secondMoment), "v")
        #expect(throws: ModelError.self) {
            try optimizerInside.update(parameters: inside.parameters, gradients: inside.gradients, learningRate: 1e-2,
                                       gradientScale: .nan)
        }
    }

    @Test func adamWDecaysOnlyMatrices() throws {
        let model = try GPT(config: try tinyConfig { $0.bias = true; $0.tieEmbeddings = false }, seed: 1)
        let optimizer = AdamW(model: model)
        // With zero gradients the only change is p·(1 − lr·wd) on the decayed group.
        let before = model.parameters.withUnsafeMutableBufferPointer { Array($0) }
        try optimizer.update(parameters: model.parameters, gradients: model.gradients, learningRate: 0.5)
        #expect(optimizer.step == 1)
        for slot in model.parameters.slots {
            let after = try model.parameters.tensor(named: slot.name).values
            let factor: Float = slot.rank >= 2 ? 1 - 0.5 * 0.1 : 1
            let expected = before[slot.offset..<(slot.offset + slot.count)].map { $0 * factor }
            expectClose(after, expected, atol: 1e-7, slot.name)
        }
    }
}

@Suite("GPT API") struct GPTAPITests {
    @Test func inferenceLogitsAreTheLastPositionOfEvaluation() throws {
        let model = try GPT(config: try tinyConfig(), seed: 3)
        randomizeParameters(model)
        let batch = randomBatch(vocabulary: 11, batch: 2, time: 6)
        try model.forward(tokens: batch.inputs, batchSize: 2, sequenceLength: 6, mode: .evaluation)
        let all = try model.logits()
        #expect(all.shape == [2, 6, 11])
        try model.forward(tokens: batch.inputs, batchSize: 2, sequenceLength: 6, mode: .inference)
        let last = try model.logits()
        #expect(last.shape == [2, 1, 11])
        for b in 0..<2 {
            let row = Array(all.values[((b * 6 + 5) * 11)..<((b * 6 + 6) * 11)])
            expectClose(Array(last.values[(b * 11)..<((b + 1) * 11)]), row, atol: 1e-6, "sequence \(b)")
        }
        // A shorter sequence reuses the buffers and is unaffected by the longer one before it.
        try model.forward(tokens: Array(batch.inputs[0..<3]), batchSize: 1, sequenceLength: 3, mode: .inference)
        let fresh = try GPT(config: try tinyConfig(), seed: 3)
        try fresh.parameters.copy(from: model.parameters)
        try fresh.forward(tokens: Array(batch.inputs[0..<3]), batchSize: 1, sequenceLength: 3, mode: .inference)
        #expect(try model.logits() == fresh.logits())
    }

    @Test func growingPrefixesMatchTheFullSequenceCausally() throws {
        for position in GPTConfig.PositionEncoding.allCases {
            let model = try GPT(config: try tinyConfig { $0.position = position }, seed: 8)
            randomizeParameters(model)
            let tokens = randomBatch(vocabulary: 11, batch: 1, time: 8).inputs
            try model.forward(tokens: tokens, batchSize: 1, sequenceLength: 8, mode: .evaluation)
            let all = try model.logits().values
            // As a sampler does: T grows by one token per call, reusing or growing the buffers.
            let fresh = try GPT(config: model.config, seed: 8)
            try fresh.parameters.copy(from: model.parameters)
            for t in 1...8 {
                try fresh.forward(tokens: Array(tokens[0..<t]), batchSize: 1, sequenceLength: t, mode: .inference)
                expectClose(try fresh.logits().values, Array(all[((t - 1) * 11)..<(t * 11)]), atol: 1e-5,
                            "\(position): prefix of length \(t)")
            }
        }
    }

    @Test func badInputsThrowClearErrors() throws {
        let model = try GPT(config: try tinyConfig(), seed: 3)
        #expect(throws: ModelError.self) { try model.backward() }
        #expect(throws: ModelError.invalidArgument("tokens[1] = 11 is outside 0..<11 (vocab_size)")) {
            try model.forward(tokens: [0, 11], batchSize: 1, sequenceLength: 2)
        }
        #expect(throws: ModelError.invalidArgument("sequenceLength must be in 1...8 (block_size), got 9")) {
            try model.forward(tokens: [Int32](repeating: 0, count: 9), batchSize: 1, sequenceLength: 9)
        }
        #expect(throws: ModelError.self) { try model.forward(tokens: [0, 1, 2], batchSize: 1, sequenceLength: 2) }
        #expect(throws: ModelError.self) { try model.forward(tokens: [0, 1], targets: [1, -2], batchSize: 1, sequenceLength: 2) }
        #expect(throws: ModelError.self) {
            try model.forward(tokens: [0, 1], targets: [1, 2], batchSize: 1, sequenceLength: 2, mode: .inference)
        }
        try model.forward(tokens: [0, 1], batchSize: 1, sequenceLength: 2, mode: .evaluation)
        #expect(throws: ModelError.self) { try model.backward() }  // no targets
        #expect(throws: ModelError.self) { try model.parameters.setTensor(try Tensor(zeros: [3]), named: "transformer.wte.weight") }
        #expect(throws: ModelError.unknownParameter("nope")) { try model.parameters.tensor(named: "nope") }
        #expect(throws: ModelError.self) { try model.attentionProbabilities(for: [1, 2], layer: 2) }
    }

    @Test func attentionProbabilitiesAreCausalRowsSummingToOne() throws {
        let flash = try GPT(config: try tinyConfig { $0.position = .rope }, seed: 7)
        let naive = try GPT(config: try tinyConfig { $0.position = .rope; $0.attention = .naive }, seed: 7)
        randomizeParameters(flash)
        randomizeParameters(naive)
        let tokens: [Int32] = [3, 1, 4, 1, 5, 9]
        for layer in 0..<2 {
            let p = try flash.attentionProbabilities(for: tokens, layer: layer)
            #expect(p.shape == [2, 6, 6])
            for h in 0..<2 {
                for i in 0..<6 {
                    let row = p.values[((h * 6 + i) * 6)..<((h * 6 + i + 1) * 6)]
                    #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                    #expect(row.dropFirst(i + 1).allSatisfy { $0 == 0 })
                }
            }
            expectClose(p.values, try naive.attentionProbabilities(for: tokens, layer: layer).values, atol: 1e-6,
                        "layer \(layer): flash-config vs naive-config model")
            let head1 = try flash.attentionProbabilities(for: tokens, layer: layer, head: 1)
            #expect(head1.values == Array(p.values[36..<72]))
        }
    }

    @Test func parameterStoreRoundTripsTensorsByName() throws {
        let model = try GPT(config: try tinyConfig { $0.bias = true }, seed: 3)
        let other = try GPT(config: try tinyConfig { $0.bias = true }, seed: 4)
        #expect(model.parameters.withUnsafeMutableBufferPointer { Array($0) }
                != other.parameters.withUnsafeMutableBufferPointer { Array($0) })
        for slot in model.parameters.slots {
            #expect(slot.offset % 16 == 0)
            try other.parameters.setTensor(try model.parameters.tensor(named: slot.name), named: slot.name)
        }
        #expect(model.parameters.withUnsafeMutableBufferPointer { Array($0) }
                == other.parameters.withUnsafeMutableBufferPointer { Array($0) })
        // GPT-2 init: biases 0, LayerNorm weights 1, c_proj weights narrower than the rest.
        #expect(try model.parameters.tensor(named: "transformer.h.0.attn.c_attn.bias").values.allSatisfy { $0 == 0 })
        #expect(try model.parameters.tensor(named: "transformer.h.1.ln_2.weight").values.allSatisfy { $0 == 1 })
        let wide = try GPT(config: try GPTConfig(vocabularySize: 512, blockSize: 8, layerCount: 2, headCount: 2,
                                                 embeddingSize: 64), seed: 1)
        func std(_ name: String) throws -> Float {
            let v = try wide.parameters.tensor(named: name).values
            return (v.map { $0 * $0 }.reduce(0, +) / Float(v.count)).squareRoot()
        }
        #expect(abs(try std("transformer.wte.weight") - 0.02) < 0.001)
        #expect(abs(try std("transformer.h.0.mlp.c_fc.weight") - 0.02) < 0.001)
        #expect(abs(try std("transformer.h.1.mlp.c_proj.weight") - 0.01) < 0.0005)  // 0.02/√(2·2)
        #expect(abs(try std("transformer.h.0.attn.c_proj.weight") - 0.01) < 0.0005)
    }
}
