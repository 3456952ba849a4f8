import Foundation
@testable import Swiftlet
import Testing

/// `CheckpointLoader` reads a checkpoint straight into a model's and AdamW's buffers; it must
/// build exactly what the in-memory path (`ModelCheckpoint` / `TrainingCheckpoint`) builds, and
/// refuse exactly what it refuses, with the same words.
@Suite("Checkpoints loaded straight into the model") struct CheckpointLoaderTests {
    static let corpus = "abcdefghijklmnopqrstuvwxyz .,!?0123456789"

    /// A trainer that has taken two steps (so its moments are not zero), with dropout and padding.
    static func trainedTrainer() throws -> (Trainer, TrainingState) {
        let data = try ToyDatasets.copy(examples: 40, length: 5, symbols: 36, seed: 8).dataset
        let trainer = try Trainer(model: GPT(config: ModelCheckpointTests.config(dropout: 0.1), seed: 5),
                                  schedule: .constant(3e-3), gradientAccumulation: 2, maxGradientNorm: 1)
        var sampler = try BatchSampler(data: data, batchSize: 2, blockSize: 12, seed: 77)
        _ = try ModelCheckpointTests.train(trainer, &sampler, steps: 2)
        let state = TrainingState(step: 0, optimizerStep: 0, schedulePosition: 0, trainSampler: sampler.state,
                                  bestValidationLoss: 1.5, settings: ["configuration": "{}"])
        return (trainer, state)
    }

    /// The run saved by `swiftlet train`'s path, in a fresh directory.
    static func savedRun() throws -> (TemporaryDirectory, URL, Trainer) {
        let (trainer, state) = try trainedTrainer()
        let directory = try TemporaryDirectory()
        let run = CheckpointDirectory(directory.url)
        let tokenizer = AnyTokenizer.character(try CharacterTokenizer(corpus: corpus))
        try run.save(trainer, tokenizer: tokenizer, state: state, isBest: false)
        return (directory, run.last, trainer)
    }

    static func resume(_ url: URL, expecting expected: GPTConfig? = nil) throws -> Trainer {
        try CheckpointLoader(contentsOf: url).makeTrainer(expecting: expected)
    }

    @Test func aTrainingRunLoadsAsTheInMemoryPathBuildsIt() throws {
        let (directory, url, saved) = try Self.savedRun()
        _ = directory
        let loader = try CheckpointLoader(contentsOf: url)
        let state = try loader.trainingState()
        let streamed = try loader.makeTrainer(expecting: saved.model.config)
        let checkpoint = try TrainingCheckpoint(contentsOf: url)
        let inMemory = try checkpoint.makeTrainer(expecting: saved.model.config, source: url.path)
        #expect(state == checkpoint.state)
        for (a, b) in [(streamed, inMemory), (streamed, saved)] {
            #expect(ModelCheckpointTests.bits(a.model.parameters) == ModelCheckpointTests.bits(b.model.parameters))
            #expect(ModelCheckpointTests.bits(a.optimizer.firstMoment) == ModelCheckpointTests.bits(b.optimizer.firstMoment))
            #expect(ModelCheckpointTests.bits(a.optimizer.secondMoment) == ModelCheckpointTests.bits(b.optimizer.secondMoment))
            #expect(a.optimizer.step == b.optimizer.step && a.optimizer.step == 2)
            #expect(a.model.dropoutSeed == b.model.dropoutSeed && a.model.dropoutPassCount == b.model.dropoutPassCount)
            #expect(TrainerSettings(a) == TrainerSettings(b))
        }
        #expect(try loader.tokenizer()?.json == checkpoint.tokenizer()?.json)
        #expect(try loader.config() == saved.model.config)
        // The moments were read, not left at zero.
        #expect(ModelCheckpointTests.bits(streamed.optimizer.secondMoment).contains { $0 != 0 })
    }

    @Test func aModelLoadsFromATrainingRunAndFromAModelFile() throws {
        let (directory, url, saved) = try Self.savedRun()
        let modelURL = directory.file("model.safetensors")
        try ModelCheckpoint.save(saved.model, to: modelURL)
        for file in [url, modelURL] {
            let model = try CheckpointLoader(contentsOf: file).makeModel()
            #expect(model.config == saved.model.config)
            #expect(ModelCheckpointTests.bits(model.parameters) == ModelCheckpointTests.bits(saved.model.parameters))
        }
    }

    /// Every kind of bad file, through both paths: the same error, word for word.
    @Test func damagedAndForeignFilesGiveTheInMemoryPathsErrors() throws {
        let (directory, url, trainer) = try Self.savedRun()
        let good = try Data(contentsOf: url)
        let config = trainer.model.config
        /// The saved run rewritten: its tensors and state edited, its metadata edited, one
        /// parameter stored as I32, a stray optimizer tensor added; sealed unless `seal` is false.
        func rewritten(
            _ edit: (inout TrainingCheckpoint) throws -> Void = { _ in },
            metadata editMetadata: (inout [String: String]) -> Void = { _ in },
            int32Parameter: String? = nil, strayTensor: Bool = false, seal: Bool = true
        ) throws -> Data {
            var checkpoint = try TrainingCheckpoint(contentsOf: url)
            try edit(&checkpoint)
            let template = try checkpoint.model.writer(
                format: ModelCheckpoint.trainingFormat,
                extraMetadata: [ModelCheckpoint.Key.training: try TrainingCheckpoint.json(checkpoint.state)])
            var writer = SafeTensorsWriter(metadata: template.metadata)
            editMetadata(&writer.metadata)
            for named in checkpoint.model.tensors {
                if named.name == int32Parameter {
                    try writer.add(named.name, int32s: [Int32](repeating: 1, count: named.tensor.count), shape: named.tensor.shape)
                } else {
                    try writer.add(named.name, tensor: named.tensor)
                }
            }
            for named in checkpoint.firstMoment { try writer.add(TrainingCheckpoint.firstMomentPrefix + named.name, tensor: named.tensor) }
            for named in checkpoint.secondMoment { try writer.add(TrainingCheckpoint.secondMomentPrefix + named.name, tensor: named.tensor) }
            if strayTensor { try writer.add("optimizer.step", floats: [3], shape: [1]) }
            if seal { CheckpointChecksum.seal(&writer) }
            return writer.serialized()
        }
        var cases: [(String, Data)] = [
            ("truncated", good.prefix(good.count / 2)),
            ("empty", Data()),
            ("text", Data("hello, world, this is text".utf8)),
            ("model file", try ModelCheckpoint(model: trainer.model).serialized()),
            ("v missing", try rewritten { $0.secondMoment.removeLast() }),
            ("extra tensor", try rewritten { $0.model.tensors.append(NamedTensor(name: "extra", tensor: try Tensor(zeros: [2]))) }),
            ("no trainer settings", try rewritten { $0.state.trainer = nil }),
            ("I32 weight", try rewritten(int32Parameter: "transformer.h.0.mlp.c_fc.weight")),
            ("stray optimizer tensor", try rewritten(strayTensor: true)),
            ("format version 2", try rewritten(metadata: { $0[ModelCheckpoint.Key.formatVersion] = "2" })),
            ("unknown format", try rewritten(metadata: { $0[ModelCheckpoint.Key.format] = "swiftlet.other" })),
            ("no config", try rewritten(metadata: { $0[ModelCheckpoint.Key.config] = nil })),
            ("unsealed", try rewritten(seal: false)),
            ("sha1 checksum", try rewritten(metadata: { $0[CheckpointChecksum.metadataKey] = "sha1:00" }, seal: false)),
        ]
        var foreign = SafeTensorsWriter()
        try foreign.add("wte.weight", floats: [1, 2], shape: [2])
        cases.append(("foreign", foreign.serialized()))
        let dataStart = 8 + Int(good.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for (label, offset) in [("flipped weight", dataStart + 5), ("flipped moment", good.count - 3)] {
            var flipped = good
            flipped[offset] ^= 0x40
            cases.append((label, flipped))
        }
        // A flipped digit in the config JSON: parses as another model, so only the checksum tells.
        let digit = try #require(good.range(of: Data("n_embd\\\":16".utf8))?.upperBound)
        var flippedConfig = good
        flippedConfig[digit - 1] = UInt8(ascii: "2")
        cases.append(("flipped config", flippedConfig))

        for (label, bytes) in cases {
            let file = directory.file("\(label).safetensors")
            try bytes.write(to: file)
            let expected = try #require(throws: CheckpointError.self, "\(label)") {
                try TrainingCheckpoint(contentsOf: file).makeTrainer(expecting: config, source: file.path)
            }
            let got = try #require(throws: CheckpointError.self, "\(label)") { try Self.resume(file, expecting: config) }
            #expect(got.path == file.path, "\(label)")
            #expect(got.reason == expected.reason, "\(label)")
            let expectedModel = try? ModelCheckpoint(contentsOf: file).makeModel(source: file.path)
            let gotModel = try? CheckpointLoader(contentsOf: file).makeModel()
            #expect((expectedModel == nil) == (gotModel == nil), "\(label)")
            if expectedModel == nil {
                let a = try #require(throws: CheckpointError.self) { try ModelCheckpoint(contentsOf: file).makeModel(source: file.path) }
                let b = try #require(throws: CheckpointError.self) { try CheckpointLoader(contentsOf: file).makeModel() }
                #expect(a.reason == b.reason, "\(label)")
            }
        }
        // Reading only the moments' names is not enough: a run from another config is refused.
        let other = try #require(throws: CheckpointError.self) {
            try Self.resume(url, expecting: try ModelCheckpointTests.config(dropout: 0.2))
        }
        #expect(other.reason.contains("config mismatch") && other.reason.contains("dropout"))
        let missing = try #require(throws: CheckpointError.self) { try CheckpointLoader(contentsOf: directory.file("missing.safetensors")) }
        #expect(missing.reason.contains("cannot read the file"))
    }

    /// A file cut short after its header was read (another process truncating it) is an error
    /// naming the file, not a crash and not a model with zeros in it.
    @Test func aFileCutShortWhileBeingReadIsAnError() throws {
        let (directory, url, _) = try Self.savedRun()
        _ = directory
        let size = try Data(contentsOf: url).count
        let trainerLoader = try CheckpointLoader(contentsOf: url)
        let modelLoader = try CheckpointLoader(contentsOf: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        let error = try #require(throws: CheckpointError.self) { try trainerLoader.makeTrainer() }
        #expect(error.path == url.path && error.reason.contains("cut short"))
        // Loading only the model still reads the moments to hash them: the same error.
        let modelError = try #require(throws: CheckpointError.self) { try modelLoader.makeModel() }
        #expect(modelError == error)
    }

    /// `swiftlet train --resume` reads the run's settings from the file before its tensors; a
    /// damaged byte there is still reported as damage, as it was when the whole file was verified
    /// first.
    @Test func resumingADamagedRunReportsTheDamage() throws {
        let (directory, url, _) = try Self.savedRun()
        var bytes = try Data(contentsOf: url)
        // The settings key the run's configuration is stored under, with one letter changed.
        let key = try #require(bytes.range(of: Data(TrainingRun.settingsKey.utf8)))
        bytes[key.lowerBound] ^= 0x20
        try bytes.write(to: url)
        let error = try #require(throws: CheckpointError.self) { try TrainingRun.resume(directory: directory.url) }
        #expect(error.reason.contains("checksum mismatch"), "\(error)")
    }

    /// The reader reads its header with `SafeTensors`' own checks: every truncation of a file is
    /// refused with the same words, and an intact file's tensors read back byte for byte.
    @Test func theReaderRefusesWhatSafeTensorsRefuses() throws {
        let bytes = try SafeTensorsFuzzTests.sealedFile()
        let directory = try TemporaryDirectory()
        let url = directory.file("file.safetensors")
        for length in 0..<bytes.count {
            try bytes.prefix(length).write(to: url)
            let expected = try #require(throws: SafeTensorsError.self) { try SafeTensors(bytes: bytes.prefix(length), source: url.path) }
            let got = try #require(throws: SafeTensorsError.self) { try SafeTensorsReader(contentsOf: url) }
            #expect(got == expected, "truncated to \(length) bytes")
        }
        try bytes.write(to: url)
        let (reader, file) = (try SafeTensorsReader(contentsOf: url), try SafeTensors(bytes: bytes))
        #expect(reader.metadata == file.metadata && reader.entries.map(\.name) == file.entries.map(\.name))
        for entry in reader.entries {
            var read = Data(count: entry.byteRange.count)
            try read.withUnsafeMutableBytes { try reader.read(entry, into: $0) }
            #expect(read == (try file.bytes(entry.name)), "\(entry.name)")
        }
        var pieces = Data()
        try reader.forEachPiece(of: 0..<reader.dataCount, pieceSize: 7) { pieces.append(contentsOf: $0) }
        #expect(pieces == file.withUnsafeDataSection { Data($0) })
    }
}
