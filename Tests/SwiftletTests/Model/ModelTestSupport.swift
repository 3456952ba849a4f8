import Foundation
import Testing
import Swiftlet

/// The nanoGPT model of `gpt_model.safetensors` with its initial parameters loaded.
func goldenModel(attention: AttentionKernel = .flash, paddingMultiple: Int = 64) throws -> (GPT, Golden.Case) {
    let golden = try Golden("gpt_model").case("model")
    let config = try GPTConfig(vocabularySize: 65, blockSize: 32, layerCount: 2, headCount: 4, embeddingSize: 32,
                               dropout: 0, bias: false, activation: .geluTanh, attention: attention,
                               vocabularyPaddingMultiple: paddingMultiple)
    let model = try GPT(config: config, seed: 0)
    for slot in model.parameters.slots {
        try model.parameters.setTensor(try golden.tensor("init/" + slot.name), named: slot.name)
    }
    return (model, golden)
}

/// A small config for gradient checks: every variant switch applied on top.
func tinyConfig(_ change: (inout GPTConfig) -> Void = { _ in }) throws -> GPTConfig {
    var config = try GPTConfig(vocabularySize: 11, blockSize: 8, layerCount: 2, headCount: 2, embeddingSize: 8,
                               bias: false, mlpHiddenSize: 12, vocabularyPaddingMultiple: 8)
    change(&config)
    try config.validate()
    return config
}

/// Random ids (B·T) and targets with a few ignored positions.
func randomBatch(vocabulary: Int, batch: Int, time: Int, seed: UInt64 = 3, ignoring: Set<Int> = [1])
    -> TrainingBatch
{
    var random = TestRandom(seed: seed)
    let inputs = (0..<batch * time).map { _ in Int32(random.int(below: vocabulary)) }
    let targets = (0..<batch * time).map { i in ignoring.contains(i) ? -1 : Int32(random.int(below: vocabulary)) }
    return TrainingBatch(inputs: inputs, targets: targets, batchSize: batch, sequenceLength: time)
}

/// Redraws every parameter ~ N(0, std) (LayerNorm weights around 1) so gradient checks see a
/// strongly nonlinear model rather than GPT-2's near-uniform initial attention.
func randomizeParameters(_ model: GPT, std: Float = 0.4, seed: UInt64 = 11) {
    var random = TestRandom(seed: seed)
    for slot in model.parameters.slots {
        let isNorm = slot.name.contains(".ln_")
        model.parameters.withValues(of: slot) { values in
            for i in values.indices { values[i] = (isNorm && !slot.name.hasSuffix(".bias") ? 1 : 0) + random.normal() * std }
        }
    }
}

/// Forward + backward on `batch`; returns the loss and a copy of the whole gradient buffer.
@discardableResult
func lossAndGradients(_ model: GPT, _ batch: TrainingBatch, mode: ForwardMode = .training) throws -> (Float, [Float]) {
    model.zeroGradients()
    let loss = try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                                 sequenceLength: batch.sequenceLength, mode: mode) ?? .nan
    try model.backward()
    return (loss, model.gradients.withUnsafeMutableBufferPointer { Array($0) })
}
