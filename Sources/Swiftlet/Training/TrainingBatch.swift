/// B sequences of T token ids and their next-token targets, row-major (B,T).
public struct TrainingBatch: Equatable, Sendable {
    /// B·T input ids.
    public var inputs: [Int32]
    /// B·T target ids (−1 = ignored position).
    public var targets: [Int32]
    /// B, the number of sequences.
    public var batchSize: Int
    /// T, the tokens per sequence (≤ block_size).
    public var sequenceLength: Int

    /// A batch of `batchSize` sequences of `sequenceLength` ids; the model checks the counts.
    public init(inputs: [Int32], targets: [Int32], batchSize: Int, sequenceLength: Int) {
        self.inputs = inputs
        self.targets = targets
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
    }
}
