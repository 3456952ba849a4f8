import Foundation
import Testing
import Swiftlet

/// The whole model against nanoGPT in float64 (`gpt_model.safetensors`): logits, loss,
/// activations, every gradient, and three clipped AdamW steps.
@Suite("GPT golden", .serialized) struct GPTGoldenTests {
    @Test func layoutIsNanoGPTNamedParameters() throws {
        let (model, golden) = try goldenModel()
        let order = golden.config["param_order"] as! [String]
        #expect(model.parameters.slots.map(\.name) == order)
        for slot in model.parameters.slots { #expect(slot.shape == golden.shape("init/" + slot.name), "\(slot.name)") }
        #expect(model.totalParameterCount == 27_840)
        #expect(model.parameterCount == 27_840 - 32 * 32)
    }

    @Test(arguments: AttentionKernel.allCases)
    func forwardAndBackwardOnEveryPath(attention: AttentionKernel) throws {
        try forEachConfiguration(threads: [2]) { _, _ in
            let (model, golden) = try goldenModel(attention: attention)
            let idx = try golden.int32s("idx"), targets = try golden.int32s("targets")
            let loss = try model.forward(tokens: idx, targets: targets, batchSize: 3, sequenceLength: 17)
            #expect(model.lastAttentionKernel == attention)
            try golden.expectClose([loss ?? .nan], "loss")
            try golden.expectClose(try model.logits().values, "logits")
            for name in model.activationNames where golden.has("act/" + name.replacingOccurrences(of: "fc_act", with: "fc_gelu")) {
                let short = "act/" + name.replacingOccurrences(of: "fc_act", with: "fc_gelu")
                try golden.expectClose(try model.activation(named: name).values, short)
            }
            model.zeroGradients()
            try model.backward()
            for slot in model.gradients.slots {
                try golden.expectClose(try model.gradients.tensor(named: slot.name).values, "grad/" + slot.name)
            }
        }
    }

    @Test(arguments: AttentionKernel.allCases)
    func threeClippedAdamWSteps(attention: AttentionKernel) throws {
        let (model, golden) = try goldenModel(attention: attention)
        let batch = TrainingBatch(inputs: try golden.int32s("idx"), targets: try golden.int32s("targets"),
                                  batchSize: 3, sequenceLength: 17)
        let trainer = try Trainer(model: model, optimizer: AdamW(model: model, beta1: 0.9, beta2: 0.95, epsilon: 1e-8,
                                                                 weightDecay: 0.1),
                                  schedule: .constant(1e-3), maxGradientNorm: 1)
        var losses: [Float] = [], norms: [Float] = []
        for step in 1...3 {
            let result = try trainer.step(batch: batch)
            #expect(result.step == step)
            #expect(result.learningRate == 1e-3)
            losses.append(result.loss)
            norms.append(result.gradientNorm)
            for slot in model.parameters.slots {
                try golden.expectClose(try model.parameters.tensor(named: slot.name).values, "step\(step)/" + slot.name)
            }
        }
        try golden.expectClose(losses, "train/loss")
        try golden.expectClose(norms, "train/grad_norm")
    }

    @Test func vocabularyPaddingChangesNothing() throws {
        let (padded, golden) = try goldenModel(paddingMultiple: 64)
        let (unpadded, _) = try goldenModel(paddingMultiple: 1)
        #expect(padded.config.paddedVocabularySize == 128)
        #expect(unpadded.config.paddedVocabularySize == 65)
        let batch = TrainingBatch(inputs: try golden.int32s("idx"), targets: try golden.int32s("targets"),
                                  batchSize: 3, sequenceLength: 17)
        let (lossA, _) = try lossAndGradients(padded, batch)
        let (lossB, _) = try lossAndGradients(unpadded, batch)
        #expect(abs(lossA - lossB) <= 1e-6)
        for slot in padded.gradients.slots {
            expectClose(try padded.gradients.tensor(named: slot.name).values,
                        try unpadded.gradients.tensor(named: slot.name).values, atol: 1e-7, slot.name)
        }
        // Padding columns of the logits stay exactly 0, and so do the padding rows of wte.
        try padded.withLogits { values, rows, stride in
            for row in 0..<rows { for column in 65..<stride { #expect(values[row * stride + column] == 0) } }
        }
        let wte = try padded.parameters.slot(named: "transformer.wte.weight")
        padded.gradients.withUnsafeMutableBufferPointer { g in
            #expect(g[(wte.offset + wte.count)..<(wte.offset + 128 * 32)].allSatisfy { $0 == 0 })
        }
    }
}
