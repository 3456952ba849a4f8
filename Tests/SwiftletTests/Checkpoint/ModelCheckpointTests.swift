import Foundation
import Swiftlet
import Testing

/// Checkpoints with the real model, optimizer and trainer.
@Suite("Model and training checkpoints") struct ModelCheckpointTests {
    static func config(dropout: Float = 0, layers: Int = 2, bias: Bool = true, tied: Bool = true) throws -> GPTConfig {
        // 37 tokens pad to 64 LM-head rows, so padding is exercised too.
        try GPTConfig(vocabularySize: 37, blockSize: 16, layerCount: layers, headCount: 2, embeddingSize: 16,
                      dropout: dropout, bias: bias, tieEmbeddings: tied)
    }

    /// The whole flat buffer, padding and gaps included, as bit patterns.
    static func bits(_ store: ParameterStore) -> [UInt32] {
        store.withUnsafeMutableBufferPointer { $0.map(\.bitPattern) }
    }

    @Test(arguments: [true, false])
    func savedModelLoadsBitIdentical(tied: Bool) throws {
        let directory = try TemporaryDirectory()
        let url = directory.file("model.safetensors")
        let model = try GPT(config: Self.config(tied: tied), seed: 42)
        let tokenizer = AnyTokenizer.character(try CharacterTokenizer(corpus: "abcdefghijklmnopqrstuvwxyz .,!?0123456789"))
        try ModelCheckpoint.save(model, tokenizer: tokenizer, to: url)

        let (loaded, loadedTokenizer) = try ModelCheckpoint.load(url)
        #expect(loaded.config == model.config)
        #expect(Self.bits(loaded.parameters) == Self.bits(model.parameters))
        #expect(try loadedTokenizer?.json == tokenizer.json)
        // Same logits, bit for bit.
        let tokens: [Int32] = (0..<32).map { Int32($0 % 37) }
        try model.forward(tokens: tokens, batchSize: 2, sequenceLength: 16, mode: .evaluation)
        try loaded.forward(tokens: tokens, batchSize: 2, sequenceLength: 16, mode: .evaluation)
        #expect(try model.logits().values.map(\.bitPattern) == loaded.logits().values.map(\.bitPattern))
        // nanoGPT names, config JSON as the model defines it.
        let file = try SafeTensors(contentsOf: url)
        #expect(file.names.contains("transformer.h.1.mlp.c_fc.weight"))
        #expect(file.names.contains("lm_head.weight") == !tied)
        #expect(try file.entry("transformer.wte.weight").shape == [37, 16])
        let config = try JSONDecoder().decode(GPTConfig.self, from: Data(try #require(file.metadata["config"]).utf8))
        #expect(config == model.config)
    }

    @Test func configMismatchesAreNamed() throws {
        let model = try GPT(config: Self.config(), seed: 1)
        let checkpoint = try ModelCheckpoint(model: model)
        let mismatch = try #require(throws: CheckpointError.self) {
            try checkpoint.makeModel(expecting: try Self.config(layers: 3), source: "run.safetensors")
        }
        #expect(mismatch.description.contains("run.safetensors") && mismatch.reason.contains("n_layer: expected 3, file has 2"))
        // A config that does not match the tensors in the file.
        var lying = checkpoint
        lying.configJSON = lying.configJSON.replacingOccurrences(of: "\"n_layer\":2", with: "\"n_layer\":3")
        let missing = try #require(throws: CheckpointError.self) { try lying.makeModel(source: "x") }
        #expect(missing.reason.contains("missing tensor transformer.h.2."))
        var noBias = checkpoint
        noBias.configJSON = noBias.configJSON.replacingOccurrences(of: "\"bias\":true", with: "\"bias\":false")
        let extra = try #require(throws: CheckpointError.self) { try noBias.makeModel(source: "x") }
        #expect(extra.reason.contains(".bias") && extra.reason.contains("config does not have"))
        var invalid = checkpoint
        invalid.configJSON = invalid.configJSON.replacingOccurrences(of: "\"n_head\":2", with: "\"n_head\":3")
        #expect(try #require(throws: CheckpointError.self) { try invalid.makeModel(source: "x") }.reason.contains("n_embd"))
        var garbage = checkpoint
        garbage.configJSON = "{not json"
        #expect(throws: CheckpointError.self) { try garbage.makeModel(source: "x") }
    }

    /// Trains `steps` steps, returning each loss's bits.
    static func train(_ trainer: Trainer, _ sampler: inout BatchSampler, steps: Int) throws -> [UInt32] {
        var losses: [UInt32] = []
        for _ in 0..<steps {
            losses.append(try trainer.step { sampler.next() }.loss.bitPattern)
        }
        return losses
    }

    @Test func resumeIsBitExact() throws {
        let data = try ToyDatasets.copy(examples: 40, length: 5, symbols: 36, seed: 8).dataset
        let config = try Self.config(dropout: 0.1)
        let schedule = LearningRateSchedule.warmupCosine(maxLR: 3e-3, minLR: 3e-4, warmupSteps: 2, decaySteps: 8)
        func freshRun() throws -> (Trainer, BatchSampler) {
            let trainer = try Trainer(model: GPT(config: config, seed: 5), schedule: schedule, gradientAccumulation: 2)
            return (trainer, try BatchSampler(data: data, batchSize: 2, blockSize: 12, seed: 77))
        }
        let n = 3
        var (straight, straightSampler) = try freshRun()
        let straightLosses = try Self.train(straight, &straightSampler, steps: 2 * n)

        var (first, firstSampler) = try freshRun()
        let firstLosses = try Self.train(first, &firstSampler, steps: n)
        let bytes = try TrainingCheckpoint(
            trainer: first, state: TrainingState(step: 0, optimizerStep: 0, schedulePosition: 0, trainSampler: firstSampler.state)
        ).serialized()
        _ = first  // the first run is done; everything below comes from the bytes

        let checkpoint = try TrainingCheckpoint(bytes: bytes, source: "resume")
        #expect(checkpoint.state.step == n && checkpoint.state.trainSampler.batchesDrawn == 2 * n)
        let resumed = try checkpoint.makeTrainer(expecting: config, source: "resume")
        var resumedSampler = try BatchSampler(data: data, batchSize: 2, blockSize: 12, state: checkpoint.state.trainSampler)
        let resumedLosses = try Self.train(resumed, &resumedSampler, steps: n)

        #expect(firstLosses + resumedLosses == straightLosses)
        #expect(Self.bits(resumed.model.parameters) == Self.bits(straight.model.parameters))
        #expect(Self.bits(resumed.optimizer.firstMoment) == Self.bits(straight.optimizer.firstMoment))
        #expect(Self.bits(resumed.optimizer.secondMoment) == Self.bits(straight.optimizer.secondMoment))
        #expect(resumed.optimizer.step == 2 * n && resumed.model.dropoutPassCount == straight.model.dropoutPassCount)
        // Training did something, so the equality above is not vacuous.
        #expect(Set(straightLosses).count == 2 * n)
    }

    /// A run's checkpoint written straight from the trainer's buffers (what `swiftlet train`
    /// saves) is the same file, byte for byte, as the one written from a snapshot.
    @Test func savingFromTheTrainersBuffersWritesTheSnapshotsBytes() throws {
        let data = try ToyDatasets.copy(examples: 40, length: 5, symbols: 36, seed: 8).dataset
        let trainer = try Trainer(model: GPT(config: Self.config(dropout: 0.1), seed: 5), schedule: .constant(3e-3))
        var sampler = try BatchSampler(data: data, batchSize: 2, blockSize: 12, seed: 77)
        _ = try Self.train(trainer, &sampler, steps: 2)
        let tokenizer = AnyTokenizer.character(try CharacterTokenizer(corpus: "abcdefghijklmnopqrstuvwxyz .,!?0123456789"))
        let state = TrainingState(step: 0, optimizerStep: 0, schedulePosition: 0, trainSampler: sampler.state,
                                  bestValidationLoss: 1.5, settings: ["configuration": "{}"])
        let snapshot = try TrainingCheckpoint(trainer: trainer, tokenizer: tokenizer, state: state).serialized()

        let directory = try TemporaryDirectory()
        let run = CheckpointDirectory(directory.url)
        try run.save(trainer, tokenizer: tokenizer, state: state, isBest: true)
        #expect(try Data(contentsOf: run.last) == snapshot)
        #expect(try Data(contentsOf: run.best) == snapshot)
        let loaded = try TrainingCheckpoint(contentsOf: run.last)
        #expect(loaded.state.step == 2 && loaded.firstMoment.contains { $0.tensor.values.contains { $0 != 0 } })
    }

    @Test func resumeRefusesAnotherConfig() throws {
        let trainer = try Trainer(model: GPT(config: Self.config(), seed: 5), schedule: .constant(1e-3))
        let state = TrainingState(step: 0, optimizerStep: 0, schedulePosition: 0, trainSampler: BatchSampler.State(generator: RandomGenerator(seed: 1)))
        let checkpoint = try TrainingCheckpoint(bytes: TrainingCheckpoint(trainer: trainer, state: state).serialized())
        let error = try #require(throws: CheckpointError.self) {
            try checkpoint.makeTrainer(expecting: try Self.config(dropout: 0.2))
        }
        #expect(error.reason.contains("dropout"))
    }

    /// The golden nanoGPT model, written as Hugging Face GPT-2 files (Conv1D layout, zero
    /// biases), imported, must reproduce the golden logits: this checks every rename and transpose.
    @Test func importedHuggingFaceWeightsReproduceGoldenLogits() throws {
        let golden = try Golden("gpt_model").case("model")
        let (V, T, C, L) = (65, 32, 32, 2)
        let directory = try TemporaryDirectory()
        var writer = SafeTensorsWriter()
        func add(_ name: String, conv1D: Bool = false, zeros: [Int]? = nil) throws {
            if let zeros { try writer.add("transformer." + name, tensor: try Tensor(zeros: zeros)); return }
            let tensor = try golden.tensor("init/transformer." + name)
            try writer.add("transformer." + name, tensor: conv1D ? try HuggingFaceGPT2Tests.transpose(tensor) : tensor)
        }
        try add("wte.weight"); try add("wpe.weight")
        for layer in 0..<L {
            let h = "h.\(layer)."
            try add(h + "ln_1.weight"); try add(h + "ln_1.bias", zeros: [C])
            try add(h + "attn.c_attn.weight", conv1D: true); try add(h + "attn.c_attn.bias", zeros: [3 * C])
            try add(h + "attn.c_proj.weight", conv1D: true); try add(h + "attn.c_proj.bias", zeros: [C])
            try add(h + "ln_2.weight"); try add(h + "ln_2.bias", zeros: [C])
            try add(h + "mlp.c_fc.weight", conv1D: true); try add(h + "mlp.c_fc.bias", zeros: [4 * C])
            try add(h + "mlp.c_proj.weight", conv1D: true); try add(h + "mlp.c_proj.bias", zeros: [C])
        }
        try add("ln_f.weight"); try add("ln_f.bias", zeros: [C])
        try writer.add("lm_head.weight", tensor: try golden.tensor("init/transformer.wte.weight"))
        try writer.write(to: directory.file("model.safetensors"))
        let config = "{\"model_type\":\"gpt2\",\"n_embd\":\(C),\"n_layer\":\(L),\"n_head\":4,\"n_positions\":\(T),\"vocab_size\":\(V),\"layer_norm_epsilon\":1e-05,\"activation_function\":\"gelu_new\"}"
        try Data(config.utf8).write(to: directory.file("config.json"))

        let checkpoint = try HuggingFaceGPT2.load(directory: directory.url)
        #expect(checkpoint.tokenizerJSON == nil)  // not GPT-2's vocabulary
        let model = try checkpoint.makeModel(source: directory.url.path)
        let loss = try model.forward(tokens: try golden.int32s("idx"), targets: try golden.int32s("targets"),
                                     batchSize: 3, sequenceLength: 17, mode: .evaluation)
        let logits = try model.logits().values
        let expected = try golden.floats("logits")
        let worst = zip(logits, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= golden.atol("logits"), "max |logits - golden| = \(worst)")
        #expect(abs((loss ?? .nan) - (try golden.scalar("loss"))) <= golden.atol("loss"))
        // And it saves as a Swiftlet checkpoint that loads identically.
        let saved = try ModelCheckpoint(bytes: try ModelCheckpoint(model: model).serialized())
        #expect(Self.bits(try saved.makeModel().parameters) == Self.bits(model.parameters))
    }
}
