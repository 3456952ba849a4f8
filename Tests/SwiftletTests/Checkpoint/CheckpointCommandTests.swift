import Foundation
import Swiftlet
import Testing

/// `swiftlet eval` and `swiftlet inspect`, run as a user runs them.
@Suite("eval and inspect commands") struct CheckpointCommandTests {
    /// A small model with a character tokenizer saved to `directory/model.safetensors`.
    static func savedModel(in directory: TemporaryDirectory) throws -> (GPT, URL, String) {
        let text = String(repeating: "the quick brown fox jumps over the lazy dog. ", count: 20)
        let tokenizer = AnyTokenizer.character(try CharacterTokenizer(corpus: text))
        let model = try GPT(config: GPTConfig(vocabularySize: tokenizer.vocabularySize, blockSize: 16, layerCount: 1,
                                              headCount: 2, embeddingSize: 8), seed: 3)
        let url = directory.file("model.safetensors")
        try ModelCheckpoint.save(model, tokenizer: tokenizer, to: url)
        return (model, url, text)
    }

    /// The `loss` of the command's JSON, parsed from its digits (`Double(String)` rounds
    /// correctly, so the printed shortest form gives back the exact value).
    static func loss(_ output: String) throws -> Double {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        #expect(object["tokens"] is NSNumber)
        let text = try #require(output.split(separator: ":").dropFirst().first?.split(separator: ",").first)
        return try #require(Double(text.trimmingCharacters(in: .whitespaces)))
    }

    @Test func evalOnABatchMatchesTheLibraryBitForBit() throws {
        let directory = try TemporaryDirectory()
        let (model, url, _) = try Self.savedModel(in: directory)
        let ids: [Int32] = (0..<32).map { Int32($0 % model.config.vocabularySize) }
        var targets = Array(ids.dropFirst()) + [0]
        targets[5] = -1
        var writer = SafeTensorsWriter()
        try writer.add("idx", int32s: ids, shape: [2, 16])
        try writer.add("targets", int32s: targets, shape: [2, 16])
        try writer.write(to: directory.file("batch.safetensors"))

        let result = try CommandLineTool.run([
            "eval", "--checkpoint", url.path, "--batch", directory.file("batch.safetensors").path,
            "--dump-logits", directory.file("logits.safetensors").path,
        ])
        #expect(result.status == 0, "\(result.error)")
        let expected = try model.forward(tokens: ids, targets: targets, batchSize: 2, sequenceLength: 16, mode: .evaluation)
        #expect(Float(try Self.loss(result.output)) == expected)
        let logits = try SafeTensors(contentsOf: directory.file("logits.safetensors"))
        #expect(try logits.floats("logits").map(\.bitPattern) == model.logits().values.map(\.bitPattern))

        // Every target ignored: loss 0 over 0 tokens, and a note that nothing was scored.
        var ignored = SafeTensorsWriter()
        try ignored.add("idx", int32s: ids, shape: [2, 16])
        try ignored.add("targets", int32s: [Int32](repeating: -1, count: 32), shape: [2, 16])
        try ignored.write(to: directory.file("ignored.safetensors"))
        let none = try CommandLineTool.run(["eval", "--checkpoint", url.path, "--batch", directory.file("ignored.safetensors").path])
        #expect(none.status == 0 && none.output.contains("\"tokens\": 0") && none.error.contains("nothing was scored"), "\(none.error)")
    }

    @Test func evalOnTextUsesTheCheckpointTokenizer() throws {
        let directory = try TemporaryDirectory()
        let (model, url, text) = try Self.savedModel(in: directory)
        try Data(text.utf8).write(to: directory.file("data.txt"))
        let result = try CommandLineTool.run(["eval", "--checkpoint", url.path, "--data", directory.file("data.txt").path, "--split", "val"])
        #expect(result.status == 0, "\(result.error)")
        let tokenizer = try #require(try ModelCheckpoint(contentsOf: url).tokenizer())
        let data = DataSplit.split(try TokenDataset.tokenize(text: text, tokenizer: tokenizer)).validation
        let expected = try Evaluation.meanLoss(of: model, on: data)
        #expect(try Self.loss(result.output) == expected.loss, "\(result.output) vs \(expected)")
    }

    @Test func inspectReportsAndVerifies() throws {
        let directory = try TemporaryDirectory()
        let (model, url, _) = try Self.savedModel(in: directory)
        let good = try CommandLineTool.run(["inspect", url.path])
        #expect(good.status == 0)
        #expect(good.output.contains("swiftlet.model"))
        #expect(good.output.contains("(verified)"))
        #expect(good.output.contains("\"n_layer\":1"))
        #expect(good.output.contains(model.totalParameterCount.formatted()))
        #expect(good.output.contains("transformer.h.0.attn.c_attn.weight  F32  [24, 8]"))

        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 10] ^= 0x08
        try bytes.write(to: directory.file("damaged.safetensors"))
        let damaged = try CommandLineTool.run(["inspect", directory.file("damaged.safetensors").path])
        #expect(damaged.status == 1)
        #expect(damaged.output.contains("MISMATCH"))
        let evalDamaged = try CommandLineTool.run(["eval", "--checkpoint", directory.file("damaged.safetensors").path, "--data", url.path])
        #expect(evalDamaged.status != 0)
        #expect(evalDamaged.error.contains("damaged.safetensors") && evalDamaged.error.contains("checksum mismatch"))
    }

    /// A run directory names its best checkpoint, else its last, in the library and in every
    /// command; a directory with neither (nor Hugging Face weights) is refused with a clear error.
    @Test func runDirectoriesNameTheirBestCheckpoint() throws {
        let directory = try TemporaryDirectory()
        let (model, saved, text) = try Self.savedModel(in: directory)
        let run = directory.url.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let last = run.appendingPathComponent("last.safetensors"), best = run.appendingPathComponent("best.safetensors")
        try FileManager.default.copyItem(at: saved, to: last)
        #expect(try ModelCheckpoint.location(of: run).standardizedFileURL == last.standardizedFileURL)
        try FileManager.default.copyItem(at: saved, to: best)
        #expect(try ModelCheckpoint.location(of: run).standardizedFileURL == best.standardizedFileURL)
        #expect(try ModelCheckpoint.location(of: saved) == saved)

        try Data(text.utf8).write(to: directory.file("data.txt"))
        let eval = try CommandLineTool.run(["eval", "--checkpoint", run.path, "--data", directory.file("data.txt").path])
        #expect(eval.status == 0, "\(eval.error)")
        let tokenizer = try #require(try ModelCheckpoint(contentsOf: saved).tokenizer())
        let expected = try Evaluation.meanLoss(of: model, on: TokenDataset.tokenize(text: text, tokenizer: tokenizer))
        #expect(try Self.loss(eval.output) == expected.loss)
        let inspect = try CommandLineTool.run(["inspect", run.path, "--summary"])
        #expect(inspect.status == 0 && inspect.output.contains("best.safetensors"), "\(inspect.error)")

        let empty = directory.url.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let refused = try #require(throws: CheckpointError.self) { try ModelCheckpoint.location(of: empty) }
        #expect(refused.reason.contains("no checkpoint") && refused.reason.contains("best.safetensors"))
        let evalEmpty = try CommandLineTool.run(["eval", "--checkpoint", empty.path, "--data", directory.file("data.txt").path])
        #expect(evalEmpty.status != 0 && evalEmpty.error.contains("is a directory with no checkpoint"), "\(evalEmpty.error)")
        #expect(throws: CheckpointError.self) { try ModelCheckpoint.location(of: directory.file("missing")) }
    }

    @Test func huggingFaceDirectoriesCanBeInspectedAndEvaluated() throws {
        let directory = try TemporaryDirectory()
        _ = try HuggingFaceGPT2Tests.writeDirectory(directory.url)
        let inspect = try CommandLineTool.run(["inspect", directory.url.path, "--summary"])
        #expect(inspect.status == 0, "\(inspect.error)")
        #expect(inspect.output.contains("Hugging Face GPT-2"))
        try TokenFile.write((0..<40).map { Int32($0 % 11) }, vocabularySize: 11, to: directory.file("tokens.bin"))
        let eval = try CommandLineTool.run(["eval", "--checkpoint", directory.url.path, "--data", directory.file("tokens.bin").path])
        #expect(eval.status == 0, "\(eval.error)")
        let model = try HuggingFaceGPT2.load(directory: directory.url).makeModel()
        #expect(try Self.loss(eval.output) == Evaluation.meanLoss(of: model, on: TokenDataset(contentsOf: directory.file("tokens.bin"))).loss)
        // With GPT-2's vocabulary it brings GPT-2's tokenizer, and `sample` takes it as well.
        let gpt2 = directory.url.appendingPathComponent("gpt2")
        try FileManager.default.createDirectory(at: gpt2, withIntermediateDirectories: true)
        _ = try HuggingFaceGPT2Tests.writeDirectory(gpt2, vocabularySize: 50_257)
        let sample = try CommandLineTool.run(["sample", "--checkpoint", gpt2.path, "--prompt", "Hello", "--max-new-tokens", "3"])
        #expect(sample.status == 0 && sample.output.hasPrefix("Hello"), "\(sample.error)")
        // Its weights file alone is not a Swiftlet checkpoint, and the error says what to give instead.
        let weightsOnly = try CommandLineTool.run(["eval", "--checkpoint", directory.file("model.safetensors").path, "--data", directory.file("tokens.bin").path])
        #expect(weightsOnly.status != 0 && weightsOnly.error.contains("give the directory"))
    }
}
