import Foundation

/// Loss of a model on data, as `swiftlet eval` reports it.
public enum Evaluation {
    /// The mean loss over every predicted token of `data` (dropout off).
    ///
    /// Every token after the first is a target exactly once (see `SequentialBatches`); each
    /// batch's mean loss is weighted by its number of targets, in double precision.
    ///
    /// - Parameters:
    ///   - batchSize: windows per forward pass.
    ///   - blockSize: tokens per window; nil or larger than the model's block_size means block_size.
    /// - Returns: the mean loss and the number of targets.
    public static func meanLoss(
        of model: GPT, on data: TokenDataset, batchSize: Int = 8, blockSize: Int? = nil
    ) throws -> (loss: Double, tokens: Int) {
        try data.validate(vocabularySize: model.config.vocabularySize)
        let length = min(blockSize ?? model.config.blockSize, model.config.blockSize)
        var sum: Double = 0
        var counted = 0
        for batch in try SequentialBatches(data: data, batchSize: batchSize, blockSize: length) {
            let count = batch.targets.reduce(0) { $0 + ($1 == -1 ? 0 : 1) }
            let loss = try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                                         sequenceLength: batch.sequenceLength, mode: .evaluation) ?? 0
            sum += Double(loss) * Double(count)
            counted += count
        }
        return (sum / Double(max(counted, 1)), counted)
    }

    /// One exact batch from a safetensors file with int32 tensors `idx` and `targets`, both (B,T),
    /// targets -1 ignored.
    public struct BatchFile: Sendable {
        public let batch: TrainingBatch

        /// Reads and checks the file against a model's vocabulary and block size.
        public init(contentsOf url: URL, vocabularySize: Int, blockSize: Int) throws {
            func fail(_ reason: String) -> DataError { DataError(source: url.path, reason: reason) }
            let file: SafeTensors
            do { file = try SafeTensors(contentsOf: url) } catch let error as SafeTensorsError {
                throw fail(error.reason)
            }
            guard file.contains("idx"), file.contains("targets") else {
                throw fail("needs int32 tensors idx and targets (B,T); it has \(file.names.joined(separator: ", "))")
            }
            let idx = try file.entry("idx"), targets = try file.entry("targets")
            guard idx.dtype == .int32, targets.dtype == .int32 else {
                throw fail("idx and targets must be I32, got \(idx.dtype.rawValue) and \(targets.dtype.rawValue)")
            }
            guard idx.shape.count == 2, idx.shape == targets.shape, idx.count > 0 else {
                throw fail("idx and targets must both be (B,T) and non-empty, got \(idx.shape) and \(targets.shape)")
            }
            let (b, t) = (idx.shape[0], idx.shape[1])
            guard t <= blockSize else { throw fail("T = \(t) is longer than the model's block_size \(blockSize)") }
            let ids = try file.int32s("idx"), targetIds = try file.int32s("targets")
            if let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
                throw fail("idx holds \(bad), outside 0..<\(vocabularySize) (vocab_size)")
            }
            if let bad = targetIds.first(where: { $0 < -1 || Int($0) >= vocabularySize }) {
                throw fail("targets holds \(bad), outside -1..<\(vocabularySize) (vocab_size; -1 = ignored)")
            }
            batch = TrainingBatch(inputs: ids, targets: targetIds, batchSize: b, sequenceLength: t)
        }
    }

    /// The model's loss on one exact batch (float32, as the model computes it), and optionally
    /// its (B,T,V) logits written to `logitsURL` as tensor `logits` of a safetensors file.
    public static func loss(
        of model: GPT, onBatchFile url: URL, writingLogitsTo logitsURL: URL? = nil
    ) throws -> (loss: Float, tokens: Int) {
        let batch = try BatchFile(contentsOf: url, vocabularySize: model.config.vocabularySize,
                                  blockSize: model.config.blockSize).batch
        let loss = try model.forward(tokens: batch.inputs, targets: batch.targets, batchSize: batch.batchSize,
                                     sequenceLength: batch.sequenceLength, mode: .evaluation) ?? 0
        if let logitsURL {
            var writer = SafeTensorsWriter(metadata: ["source": url.lastPathComponent])
            try writer.add("logits", tensor: try model.logits())
            try writer.write(to: logitsURL)
        }
        return (loss, batch.targets.reduce(0) { $0 + ($1 == -1 ? 0 : 1) })
    }
}
