import Foundation
import Swiftlet
import Testing

/// The checkpoint file layer on its own (no model): round trips, metadata, and refusals.
@Suite("Checkpoint files") struct CheckpointFileTests {
    /// Floats with awkward bit patterns: -0, subnormals, the largest finite, random bits.
    static func awkwardFloats(_ count: Int, seed: UInt64) -> [Float] {
        var generator = RandomGenerator(seed: seed)
        let special: [Float] = [-0.0, .leastNonzeroMagnitude, -.leastNormalMagnitude, .greatestFiniteMagnitude, Float(bitPattern: 0x0001_0000)]
        return (0..<count).map { i in
            i < special.count ? special[i] : Float(bitPattern: UInt32(truncatingIfNeeded: generator.next()) & 0xBFFF_FFFF)
        }
    }

    static func model(seed: UInt64 = 1) throws -> ModelCheckpoint {
        ModelCheckpoint(
            configJSON: "{\"vocab_size\":5,\"n_embd\":4}",
            tokenizerJSON: "{\"kind\":\"character\"}",
            tensors: [
                NamedTensor(name: "transformer.wte.weight", tensor: try Tensor(shape: [5, 4], values: awkwardFloats(20, seed: seed))),
                NamedTensor(name: "transformer.ln_f.weight", tensor: try Tensor(shape: [4], values: awkwardFloats(4, seed: seed + 1))),
            ])
    }

    static func training() throws -> TrainingCheckpoint {
        let model = try model()
        var sampler = RandomGenerator(seed: 5)
        _ = sampler.next()
        let state = TrainingState(
            step: 7, optimizerStep: 7, schedulePosition: 7,
            trainSampler: BatchSampler.State(generator: sampler, batchesDrawn: 7),
            validationSampler: BatchSampler.State(generator: RandomGenerator(seed: 6), batchesDrawn: 2),
            generators: ["dropout": RandomGenerator(seed: 9)],
            bestValidationLoss: Float(bitPattern: 0x3F9D_70A4),  // 1.23 with its exact bits
            settings: ["learning_rate": "0.001"])
        func moment(_ seed: UInt64) throws -> [NamedTensor] {
            try model.tensors.map { NamedTensor(name: $0.name, tensor: try Tensor(shape: $0.tensor.shape, values: awkwardFloats($0.tensor.count, seed: seed))) }
        }
        return TrainingCheckpoint(model: model, firstMoment: try moment(10), secondMoment: try moment(11), state: state)
    }

    @Test func modelRoundTripIsBitExact() throws {
        let directory = try TemporaryDirectory()
        let url = directory.file("model.safetensors")
        let original = try Self.model()
        try original.write(to: url)
        let loaded = try ModelCheckpoint(contentsOf: url)
        #expect(loaded.configJSON == original.configJSON)
        #expect(loaded.tokenizerJSON == original.tokenizerJSON)
        #expect(loaded.tensors.map(\.name) == original.tensors.map(\.name))
        for (a, b) in zip(loaded.tensors, original.tensors) {
            #expect(a.tensor.shape == b.tensor.shape)
            #expect(a.tensor.values.map(\.bitPattern) == b.tensor.values.map(\.bitPattern))
        }
        // Only the file itself is left in the directory (the temporary file was renamed).
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.url.path) == ["model.safetensors"])
        // Any safetensors reader sees the documented metadata.
        let raw = try SafeTensors(contentsOf: url)
        #expect(raw.metadata["format"] == "swiftlet.model")
        #expect(raw.metadata["format_version"] == "1")
        #expect(raw.metadata["config"] == original.configJSON)
        #expect(raw.metadata["checksum"]?.hasPrefix("sha256:") == true)
    }

    @Test func trainingRoundTripIsBitExact() throws {
        let original = try Self.training()
        let loaded = try TrainingCheckpoint(bytes: original.serialized(), source: "t")
        #expect(loaded.state == original.state)
        #expect(loaded.state.bestValidationLoss?.bitPattern == 0x3F9D_70A4)
        #expect(loaded.firstMoment == original.firstMoment && loaded.secondMoment == original.secondMoment)
        #expect(loaded.model.tensors == original.model.tensors)
        // A training checkpoint is also a model file.
        let asModel = try ModelCheckpoint(bytes: original.serialized(), source: "t")
        #expect(asModel.tensors.map(\.name) == original.model.tensors.map(\.name))
        // A model file cannot be resumed.
        let error = try #require(throws: CheckpointError.self) {
            try TrainingCheckpoint(bytes: try Self.model().serialized(), source: "weights.safetensors")
        }
        #expect(error.description.contains("weights.safetensors") && error.description.contains("not resumed"))
    }

    @Test func nonFiniteLossesRoundTrip() throws {
        var checkpoint = try Self.training()
        for loss: Float in [.infinity, -.infinity] {
            checkpoint.state.bestValidationLoss = loss
            #expect(try TrainingCheckpoint(bytes: checkpoint.serialized()).state.bestValidationLoss == loss)
        }
        checkpoint.state.bestValidationLoss = .nan
        #expect(try TrainingCheckpoint(bytes: checkpoint.serialized()).state.bestValidationLoss?.isNaN == true)
    }

    @Test func malformedTrainingStateIsRefused() throws {
        let good = try String(decoding: JSONEncoder().encode(Self.training().state), as: UTF8.self)
        #expect(try TrainingState(json: good) == Self.training().state)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(good.utf8)) as? [String: Any])
        func mutated(_ change: (inout [String: Any]) -> Void) throws -> String {
            var copy = object
            change(&copy)
            return String(decoding: try JSONSerialization.data(withJSONObject: copy), as: UTF8.self)
        }
        let shortState = try mutated { $0["generators"] = ["dropout": ["state": [1, 2, 3]]] }
        #expect(throws: (any Error).self) { try TrainingState(json: shortState) }
        let negative = try mutated { $0["step"] = -1 }
        #expect(throws: (any Error).self) { try TrainingState(json: negative) }
        let missing = try mutated { $0.removeValue(forKey: "train_sampler") }
        #expect(throws: (any Error).self) { try TrainingState(json: missing) }
    }

    @Test func momentsMustMatchTheParameters() throws {
        var checkpoint = try Self.training()
        checkpoint.secondMoment.removeLast()
        let error = try #require(throws: CheckpointError.self) { try checkpoint.serialized() }
        #expect(error.reason.contains("AdamW v"))
    }

    @Test func lastAndBestAreKept() throws {
        let directory = try TemporaryDirectory()
        let run = CheckpointDirectory(directory.url)
        var checkpoint = try Self.training()
        try run.save(checkpoint, isBest: true)
        checkpoint.state.step = 8
        try run.save(checkpoint, isBest: false)
        #expect(try TrainingCheckpoint(contentsOf: run.last).state.step == 8)
        #expect(try TrainingCheckpoint(contentsOf: run.best).state.step == 7)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory.url.path)) == ["last.safetensors", "best.safetensors"])
    }

    /// A write killed midway leaves its temporary file; the next run's start removes those of
    /// processes no longer running and leaves a live writer's alone. The file itself stays.
    @Test func leftoverTemporaryFilesOfDeadWritersAreRemoved() throws {
        let directory = try TemporaryDirectory()
        let target = directory.file("last.safetensors")
        try AtomicFile.write(Data([1, 2, 3]), to: target)
        var dead: Int32 = 999_999
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let deadFile = directory.file(".last.safetensors.tmp-\(dead)-17")
        let liveFile = directory.file(".last.safetensors.tmp-\(getpid())-18")
        let otherFile = directory.file(".best.safetensors.tmp-\(dead)-19")
        for file in [deadFile, liveFile, otherFile] { try Data([9]).write(to: file) }
        AtomicFile.removeLeftovers(of: target)
        #expect(!FileManager.default.fileExists(atPath: deadFile.path))
        #expect(FileManager.default.fileExists(atPath: liveFile.path) && FileManager.default.fileExists(atPath: otherFile.path))
        #expect(try Data(contentsOf: target) == Data([1, 2, 3]))
    }

    @Test func damagedFilesNameTheFileAndTheProblem() throws {
        let directory = try TemporaryDirectory()
        let good = try Self.training().serialized()
        func reason(_ bytes: Data, _ name: String = "bad.safetensors") throws -> String {
            let url = directory.file(name)
            try bytes.write(to: url)
            let error = try #require(throws: CheckpointError.self) { try TrainingCheckpoint(contentsOf: url) }
            #expect(error.path == url.path)
            let modelError = try #require(throws: CheckpointError.self) { try ModelCheckpoint(contentsOf: url) }
            #expect(modelError.path == url.path)
            return error.reason
        }
        #expect(try reason(good.prefix(good.count / 2)).contains("truncated"))
        #expect(try reason(Data()).contains("too short"))
        #expect(try reason(Data("hello, world, this is text".utf8)).contains("not a valid safetensors"))
        var flipped = good
        flipped[good.count - 3] ^= 0x40
        #expect(try reason(flipped).contains("checksum mismatch"))
        // A plain safetensors file (e.g. Hugging Face weights) is recognized as foreign.
        var foreign = SafeTensorsWriter()
        try foreign.add("wte.weight", floats: [1, 2], shape: [2])
        #expect(try reason(foreign.serialized()).contains("not a Swiftlet checkpoint"))
        #expect(throws: CheckpointError.self) { try ModelCheckpoint(contentsOf: directory.file("missing.safetensors")) }
    }

    @Test func wrongDtypeIsRefused() throws {
        // A sealed file whose weight is I32: structurally fine, checksum fine, dtype wrong.
        var writer = SafeTensorsWriter(metadata: ["format": "swiftlet.model", "format_version": "1", "config": "{}"])
        try writer.add("transformer.wte.weight", int32s: [1, 2], shape: [2])
        CheckpointChecksum.seal(&writer)
        let error = try #require(throws: CheckpointError.self) { try ModelCheckpoint(bytes: writer.serialized(), source: "x") }
        #expect(error.reason.contains("I32") && error.reason.contains("transformer.wte.weight"))
    }

    @Test func unknownFormatOrVersionIsRefused() throws {
        for (format, version, expected) in [("other", "1", "has format"), ("swiftlet.model", "2", "format_version 2")] {
            var writer = SafeTensorsWriter(metadata: ["format": format, "format_version": version, "config": "{}"])
            try writer.add("a", floats: [1], shape: [1])
            CheckpointChecksum.seal(&writer)
            let error = try #require(throws: CheckpointError.self) { try ModelCheckpoint(bytes: writer.serialized(), source: "x") }
            #expect(error.reason.contains(expected))
        }
    }

    @Test func validateAgainstALayoutNamesTheMismatch() throws {
        let model = try Self.model()
        try model.validate(against: [("transformer.wte.weight", [5, 4]), ("transformer.ln_f.weight", [4])], source: "m")
        let missing = try #require(throws: CheckpointError.self) {
            try model.validate(against: [("transformer.wte.weight", [5, 4]), ("transformer.ln_f.weight", [4]), ("transformer.ln_f.bias", [4])], source: "m")
        }
        #expect(missing.reason.contains("missing tensor transformer.ln_f.bias"))
        let shape = try #require(throws: CheckpointError.self) {
            try model.validate(against: [("transformer.wte.weight", [6, 4]), ("transformer.ln_f.weight", [4])], source: "m")
        }
        #expect(shape.reason.contains("[5, 4]") && shape.reason.contains("[6, 4]"))
        let extra = try #require(throws: CheckpointError.self) {
            try model.validate(against: [("transformer.wte.weight", [5, 4])], source: "m")
        }
        #expect(extra.reason.contains("transformer.ln_f.weight"))
    }

    @Test func fuzzedCheckpointsAlwaysFailCleanly() throws {
        let good = try Self.training().serialized()
        var generator = RandomGenerator(seed: 77)
        for trial in 0..<1500 {
            var bytes = good
            if trial % 2 == 0 {
                bytes = bytes.prefix(generator.nextInt(below: bytes.count))
            } else {
                let position = generator.nextInt(below: bytes.count)
                bytes[position] ^= UInt8(1 + generator.nextInt(below: 255))
            }
            #expect(throws: CheckpointError.self, "trial \(trial)") { try TrainingCheckpoint(bytes: bytes, source: "fuzz") }
        }
    }
}
