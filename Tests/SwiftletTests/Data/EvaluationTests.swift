import Foundation
import Swiftlet
import Testing

@Suite("Evaluation") struct EvaluationTests {
    static func model() throws -> GPT {
        try GPT(config: GPTConfig(vocabularySize: 29, blockSize: 16, layerCount: 1, headCount: 2, embeddingSize: 8), seed: 4)
    }

    @Test func meanLossWeighsEveryTargetOnce() throws {
        let model = try Self.model()
        let tokens = (0..<33).map { Int32(($0 * 5) % 29) }
        let (loss, count) = try Evaluation.meanLoss(of: model, on: TokenDataset(tokens: tokens), batchSize: 1)
        #expect(count == 32)
        // The same two windows by hand.
        var expected: Double = 0
        for start in [0, 16] {
            let window = Array(tokens[start..<(start + 17)])
            let windowLoss = try model.forward(tokens: Array(window.dropLast()), targets: Array(window.dropFirst()),
                                               batchSize: 1, sequenceLength: 16, mode: .evaluation) ?? .nan
            expected += Double(windowLoss) * 16
        }
        #expect(loss == expected / 32)
        // A ragged last window (padded with ignored targets) and batching barely change the mean.
        let ragged = TokenDataset(tokens: Array(tokens.prefix(30)))
        let one = try Evaluation.meanLoss(of: model, on: ragged, batchSize: 1)
        let two = try Evaluation.meanLoss(of: model, on: ragged, batchSize: 2)
        #expect(one.tokens == 29 && two.tokens == 29)
        #expect(abs(one.loss - two.loss) < 1e-5)
        #expect(throws: DataError.self) { try Evaluation.meanLoss(of: model, on: TokenDataset(tokens: [1, 29])) }
    }

    @Test func batchFileLossMatchesGolden() throws {
        let golden = try Golden("gpt_model").case("model")
        let config = try GPTConfig(vocabularySize: 65, blockSize: 32, layerCount: 2, headCount: 4, embeddingSize: 32, bias: false)
        let model = try GPT(config: config, seed: 0)
        for slot in model.parameters.slots { try model.parameters.setTensor(golden.tensor("init/" + slot.name), named: slot.name) }
        let directory = try TemporaryDirectory()
        var writer = SafeTensorsWriter()
        try writer.add("idx", int32s: golden.int32s("idx"), shape: [3, 17])
        try writer.add("targets", int32s: golden.int32s("targets"), shape: [3, 17])
        try writer.write(to: directory.file("batch.safetensors"))

        let (loss, tokens) = try Evaluation.loss(of: model, onBatchFile: directory.file("batch.safetensors"),
                                                 writingLogitsTo: directory.file("logits.safetensors"))
        #expect(tokens == 51 - 4)  // four ignored positions
        #expect(abs(loss - (try golden.scalar("loss"))) <= golden.atol("loss"))
        let logits = try SafeTensors(contentsOf: directory.file("logits.safetensors"))
        #expect(try logits.entry("logits").shape == [3, 17, 65])
        let worst = zip(try logits.floats("logits"), try golden.floats("logits")).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= golden.atol("logits"))
    }

    @Test func badBatchFilesNameTheProblem() throws {
        let model = try Self.model()
        let directory = try TemporaryDirectory()
        func reason(_ build: (inout SafeTensorsWriter) throws -> Void) throws -> String {
            var writer = SafeTensorsWriter()
            try build(&writer)
            let url = directory.file("b-\(UUID().uuidString).safetensors")
            try writer.write(to: url)
            let error = try #require(throws: DataError.self) { try Evaluation.loss(of: model, onBatchFile: url) }
            #expect(error.source == url.path)
            return error.reason
        }
        #expect(try reason { try $0.add("idx", int32s: [1, 2], shape: [1, 2]) }.contains("idx and targets"))
        #expect(try reason {
            try $0.add("idx", floats: [1, 2], shape: [1, 2]); try $0.add("targets", int32s: [1, 2], shape: [1, 2])
        }.contains("I32"))
        #expect(try reason {
            try $0.add("idx", int32s: [1, 2], shape: [2]); try $0.add("targets", int32s: [1, 2], shape: [2])
        }.contains("(B,T)"))
        #expect(try reason {
            try $0.add("idx", int32s: [1, 29], shape: [1, 2]); try $0.add("targets", int32s: [1, 2], shape: [1, 2])
        }.contains("idx holds 29"))
        #expect(try reason {
            try $0.add("idx", int32s: [1, 2], shape: [1, 2]); try $0.add("targets", int32s: [-2, 2], shape: [1, 2])
        }.contains("targets holds -2"))
        #expect(try reason {
            let ids = [Int32](repeating: 1, count: 17)
            try $0.add("idx", int32s: ids, shape: [1, 17]); try $0.add("targets", int32s: ids, shape: [1, 17])
        }.contains("block_size 16"))
        let text = directory.file("text.txt")
        try Data("not safetensors at all".utf8).write(to: text)
        #expect(throws: DataError.self) { try Evaluation.loss(of: model, onBatchFile: text) }
    }

    @Test func textFilesAreTokenizedWithTheGivenTokenizer() throws {
        let directory = try TemporaryDirectory()
        let text = "hello world, hello model. "
        let url = directory.file("data.txt")
        try Data(text.utf8).write(to: url)
        let tokenizer = try CharacterTokenizer(corpus: text)
        let data = try TokenDataset.load(url, tokenizer: tokenizer)
        #expect(data.tokens().map(Int.init) == (try tokenizer.encodeOrdinary(text)))
        #expect(throws: DataError.self) { try TokenDataset.load(url, tokenizer: nil) }
        let empty = directory.file("empty.txt")
        try Data().write(to: empty)
        #expect(try #require(throws: DataError.self) { try TokenDataset.load(empty, tokenizer: tokenizer) }.reason.contains("empty"))
        let tokens = directory.file("data.bin")
        try TokenFile.write(text: text, tokenizer: tokenizer, to: tokens)
        #expect(try TokenDataset.load(tokens, tokenizer: nil).tokens() == data.tokens())
    }
}
