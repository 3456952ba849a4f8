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
        // Its weights file alone is not a Swiftlet checkpoint, and the error says what to give instead.
        let weightsOnly = try CommandLineTool.run(["eval", "--checkpoint", directory.file("model.safetensors").path, "--data", directory.file("tokens.bin").path])
        #expect(weightsOnly.status != 0 && weightsOnly.error.contains("give the directory"))
    }
}
