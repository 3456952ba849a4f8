import ArgumentParser
import Foundation
import Swiftlet

/// `swiftlet eval`: the mean loss of a model on a data file or on one exact batch.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Mean cross-entropy loss of a checkpoint on a data file or one exact batch; prints JSON.",
        discussion: """
            --checkpoint is a Swiftlet checkpoint (model or training) or a Hugging Face GPT-2 directory
            (config.json + model.safetensors).

            --data FILE: a Swiftlet token file, or UTF-8 text tokenized with the checkpoint's tokenizer
            (GPT-2's for a Hugging Face directory). Every token after the first is predicted exactly once,
            in consecutive windows of --block-size tokens; the loss is the mean over all of them.

            --batch FILE: a safetensors file with int32 tensors `idx` and `targets`, both (B,T); targets
            of -1 are ignored. The loss is the model's loss on exactly that batch, so it can be compared
            with another implementation; --dump-logits OUT writes the (B,T,V) F32 logits as tensor
            `logits` of a safetensors file.

            Output: {"loss": L, "tokens": N} (N = targets counted).
            """
    )

    @Option(help: "Checkpoint file or Hugging Face GPT-2 directory.")
    var checkpoint: String

    @Option(help: "Text or token file to evaluate on.")
    var data: String?

    @Option(help: "Safetensors file with int32 idx and targets (B,T).")
    var batch: String?

    @Option(help: "Write the logits of --batch to this safetensors file.")
    var dumpLogits: String?

    @Option(help: "Which part of --data: all, train (first 90%) or val (last 10%).")
    var split: SplitChoice = .all

    @Option(help: "Sequences per forward pass for --data.")
    var batchSize: Int = 8

    @Option(help: "Tokens per sequence for --data (default and maximum: the model's block_size).")
    var blockSize: Int?

    @OptionGroup var runtime: RuntimeOptions

    enum SplitChoice: String, ExpressibleByArgument, CaseIterable { case all, train, val }

    func validate() throws {
        guard (data == nil) != (batch == nil) else { throw ValidationError("give exactly one of --data FILE or --batch FILE") }
        if dumpLogits != nil, batch == nil { throw ValidationError("--dump-logits needs --batch (one exact batch)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let blockSize, blockSize < 1 { throw ValidationError("--block-size must be at least 1, got \(blockSize)") }
    }

    func run() throws {
        try runtime.apply()
        let (model, tokenizer) = try ModelCheckpoint.load(URL(fileURLWithPath: checkpoint))
        let result: (loss: Double, tokens: Int)
        if let batch {
            result = try evaluateBatch(model, URL(fileURLWithPath: batch))
        } else if let data {
            result = try evaluateData(model, tokenizer: tokenizer, URL(fileURLWithPath: data))
        } else {
            return
        }
        print("{\"loss\": \(result.loss), \"tokens\": \(result.tokens)}")
    }

    /// The loss on one exact batch, as the model computes it (float32).
    func evaluateBatch(_ model: GPT, _ url: URL) throws -> (loss: Double, tokens: Int) {
        let file = try SafeTensors(contentsOf: url)
        let idx = try file.entry("idx"), targets = try file.entry("targets")
        guard idx.dtype == .int32, targets.dtype == .int32 else {
            throw DataError(source: url.path, reason: "idx and targets must be I32, got \(idx.dtype.rawValue) and \(targets.dtype.rawValue)")
        }
        guard idx.shape.count == 2, idx.shape == targets.shape else {
            throw DataError(source: url.path, reason: "idx and targets must both be (B,T), got \(idx.shape) and \(targets.shape)")
        }
        let (b, t) = (idx.shape[0], idx.shape[1])
        guard t <= model.config.blockSize else {
            throw DataError(source: url.path, reason: "T = \(t) is longer than the model's block_size \(model.config.blockSize)")
        }
        let vocabulary = model.config.vocabularySize
        let ids = try file.int32s("idx"), targetIds = try file.int32s("targets")
        if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw DataError(source: url.path, reason: "idx holds \(bad), outside 0..<\(vocabulary) (vocab_size)")
        }
        if let bad = targetIds.first(where: { $0 < -1 || Int($0) >= vocabulary }) {
            throw DataError(source: url.path, reason: "targets holds \(bad), outside -1..<\(vocabulary) (vocab_size; -1 = ignored)")
        }
        let loss = try model.forward(tokens: ids, targets: targetIds, batchSize: b, sequenceLength: t, mode: .evaluation) ?? 0
        if let dumpLogits {
            var writer = SafeTensorsWriter(metadata: ["source": url.lastPathComponent])
            try writer.add("logits", tensor: try model.logits())
            try writer.write(to: URL(fileURLWithPath: dumpLogits))
        }
        return (Double(loss), targetIds.filter { $0 != -1 }.count)
    }

    /// The token-weighted mean loss over every window of a data file.
    func evaluateData(_ model: GPT, tokenizer: AnyTokenizer?, _ url: URL) throws -> (loss: Double, tokens: Int) {
        var dataset = try TokenDataset.load(url, tokenizer: tokenizer)
        switch split {
        case .all: break
        case .train: dataset = DataSplit.split(dataset).train
        case .val: dataset = DataSplit.split(dataset).validation
        }
        try dataset.validate(vocabularySize: model.config.vocabularySize)
        let length = min(blockSize ?? model.config.blockSize, model.config.blockSize)
        let batches = try SequentialBatches(data: dataset, batchSize: batchSize, blockSize: length)
        var sum: Double = 0
        var counted = 0
        for batch in batches {
            let count = batch.targets.filter { $0 != -1 }.count
            let loss = try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                                         sequenceLength: batch.sequenceLength, mode: .evaluation) ?? 0
            sum += Double(loss) * Double(count)
            counted += count
        }
        return (sum / Double(max(counted, 1)), counted)
    }
}
